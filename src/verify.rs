//! `ferry verify`'s verifier: proves that a copy's target holds what its source holds,
//! or lists exactly what differs. It compares the mapped columns (target columns filled
//! from a source column, or by the transform and map functions), never the ones left
//! to defaults or the server.
//!
//! Rows are matched by the source's paging key. The source key range is cut into
//! chunks of about 10,000 rows (boundaries found by keyset reads of the key alone); for
//! each chunk both servers compute the row count and two sums of 60-bit slices of a
//! SHA-256 per row (`rowtext` builds the row text), so rows do not cross the wire and
//! changes cannot cancel out. A chunk whose numbers differ is drilled into: (key, row
//! hash) from both sides, diffed into missing, extra and changed keys, and for changed
//! rows the differing columns. A copy with a transform or map functions cannot be
//! computed by the source server: its source rows run through the copy's
//! `RowProcessor` and the target server renders the values it produced (cast to the
//! target column types) into the same row hashes. Without a key to match by, the whole
//! table is compared at once by content (a multiset of row hashes).
//!
//! Independent of Lua: it takes a `CopyPlan`, the two sessions and, for a copy that
//! runs code, the processor.

mod content;
mod progress;
mod report;
mod rowtext;
mod side;

pub use report::{summary, CopyReport, Matching, Rows};

use std::collections::HashMap;
use std::time::Instant;

use mysql::Value;

use crate::db::Db;
use crate::engine::RowProcessor;
use crate::error::{Error, Result};
use crate::plan::{CopyPlan, Fill};
use crate::progress::{Display, FILE_ONLY};
use crate::schema::ColumnInfo;
use crate::value::{printable, show, to_text, Kind};
use progress::ChunkProgress;
use rowtext::{Common, Family};
use side::{query, untoken, Entry, Range, RowHash, Side, Summary, Tokens};

/// Source rows per chunk.
pub const CHUNK_ROWS: u64 = 10_000;
/// Keys shown per kind of difference and copy.
const SHOWN: usize = 20;
/// Rows shown per kind when rows are matched by content.
const SHOWN_BY_CONTENT: usize = 5;
/// Produced rows the target renders per statement.
const RENDER_BATCH: usize = 200;

#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    pub chunk_rows: u64,
    /// Check only this many chunks, spread over the key range.
    pub sample: Option<u64>,
    pub display: Display,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            chunk_rows: CHUNK_ROWS,
            sample: None,
            display: Display {
                quiet: true,
                tty: false,
            },
        }
    }
}

/// The verify pass: its options and the reports so far.
#[derive(Default)]
pub struct Verification {
    pub options: VerifyOptions,
    pub reports: Vec<CopyReport>,
}

impl Verification {
    /// Prints a copy's report (stdout), logs it and keeps it for the summary.
    pub fn record(&mut self, report: CopyReport) {
        let text = report.to_string();
        print!("{text}");
        log::info!(target: FILE_ONLY, "verify {}", text.trim_end());
        self.reports.push(report);
    }
}

/// Whether a copy's target values come from code (transform, map functions), so the
/// verifier needs its processor.
pub fn needs_processor(plan: &CopyPlan) -> bool {
    plan.columns
        .iter()
        .any(|c| c.mapped && !matches!(c.fill, Fill::Source(_)))
}

/// Compares one copy's source and target. `processor`: the copy's row processor,
/// for copies that `needs_processor`.
pub fn verify_copy(
    plan: &CopyPlan,
    src: &mut Db,
    dst: &mut Db,
    processor: Option<&mut dyn RowProcessor>,
    opts: &VerifyOptions,
) -> Result<CopyReport> {
    let start = Instant::now();
    let cols = compared_columns(plan, processor.is_some());
    let mut notes = Vec::new();
    let keys = match key_map(plan, &cols) {
        Ok(k) => Some(k),
        Err(why) => {
            notes.push(format!("{why}: rows are matched by content, not by key"));
            None
        }
    };
    let mut v = Verifier {
        plan,
        src_side: Side::source(plan, &cols),
        dst_side: Side::target(plan, &cols, keys.as_ref()),
        cols,
        keys,
        opts,
    };
    let mut report = match processor {
        None if v.keys.is_some() => v.keyed(src, dst, None)?,
        None => v.whole_direct(src, dst)?,
        Some(p) if v.keys.is_some() => match v.keyed(src, dst, Some(&mut *p)) {
            Err(Stop::KeyChanged(why)) => {
                notes.push(format!("{why}: rows are matched by content, not by key"));
                v.keys = None;
                v.dst_side = Side::target(plan, &v.cols, None);
                v.whole_processor(src, dst, p)?
            }
            other => other?,
        },
        Some(p) => v.whole_processor(src, dst, p)?,
    };
    if let (Some(n), Matching::Whole) = (opts.sample, &report.matching) {
        notes.push(format!(
            "--sample {n} does not apply without a key: the whole table was compared"
        ));
    }
    notes.extend(v.uncompared());
    report.notes = notes;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Why the keyed comparison stopped.
enum Stop {
    /// The transform changes key values, so target rows cannot be found by the
    /// source key.
    KeyChanged(String),
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Failed(e)
    }
}

impl From<Stop> for Error {
    fn from(s: Stop) -> Error {
        match s {
            Stop::Failed(e) => e,
            Stop::KeyChanged(why) => Error::Check { message: why },
        }
    }
}

/// A target column the verifier compares.
struct Compared {
    target: ColumnInfo,
    family: Family,
    /// The source column it is copied from as is, and the common form of the two
    /// types (direct copies).
    source: Option<(ColumnInfo, Common)>,
    /// Its position among the plan's value columns, where a processor puts its value.
    value_index: usize,
    /// The source column whose value it carries (a source column, or a transform
    /// field of that name): how rows are matched by key.
    carries: Option<usize>,
}

fn compared_columns(plan: &CopyPlan, processor: bool) -> Vec<Compared> {
    plan.value_columns()
        .enumerate()
        .filter(|(_, c)| c.mapped)
        .filter_map(|(value_index, c)| {
            let target = plan.target.column(&c.name)?.clone();
            let carries = match &c.fill {
                Fill::Source(i) => Some(*i),
                Fill::Field(f) => plan.source.position(f),
                _ => None,
            };
            let source = match &c.fill {
                Fill::Source(i) if !processor => {
                    let s = plan.source.columns[*i].clone();
                    let common = Common::of(&s, &target);
                    Some((s, common))
                }
                _ => None,
            };
            if !processor && source.is_none() {
                return None;
            }
            Some(Compared {
                family: Family::of(&target),
                target,
                source,
                value_index,
                carries,
            })
        })
        .collect()
}

/// How rows are matched: the source key columns and, for each, the compared column
/// that carries it into the target.
struct KeyMap {
    source: Vec<usize>,
    compared: Vec<usize>,
}

fn key_map(plan: &CopyPlan, cols: &[Compared]) -> std::result::Result<KeyMap, String> {
    let Some(key) = &plan.key else {
        return Err(format!(
            "source table {} has no primary key or NOT NULL unique key",
            plan.source.name
        ));
    };
    let compared = key
        .iter()
        .map(|&k| {
            cols.iter()
                .position(|c| c.carries == Some(k))
                .ok_or_else(|| {
                    format!(
                        "source key column `{}` is not copied into a target column",
                        plan.source.columns[k].name
                    )
                })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(KeyMap {
        source: key.clone(),
        compared,
    })
}

/// The keys that differ in one chunk.
#[derive(Default)]
struct Diff {
    missing: Vec<Entry>,
    extra: Vec<Entry>,
    /// (expected, found)
    changed: Vec<(Entry, Entry)>,
}

/// Matches expected rows and target rows by key. A key found twice in the target
/// counts as extra the second time.
fn diff_by_key(expected: Vec<Entry>, found: Vec<Entry>) -> Diff {
    let mut by_key: HashMap<Vec<u8>, usize> = HashMap::with_capacity(expected.len());
    for (i, e) in expected.iter().enumerate() {
        by_key.insert(e.key_text.clone(), i);
    }
    let mut expected: Vec<Option<Entry>> = expected.into_iter().map(Some).collect();
    let mut d = Diff::default();
    for f in found {
        match by_key.get(&f.key_text).and_then(|&i| expected[i].take()) {
            Some(e) if e.hash == f.hash => {}
            Some(e) => d.changed.push((e, f)),
            None => d.extra.push(f),
        }
    }
    d.missing = expected.into_iter().flatten().collect();
    d
}

struct Verifier<'a> {
    plan: &'a CopyPlan,
    cols: Vec<Compared>,
    keys: Option<KeyMap>,
    src_side: Side,
    dst_side: Side,
    opts: &'a VerifyOptions,
}

impl Verifier<'_> {
    fn label(&self, key: &[Value]) -> String {
        self.plan.row_label(Some(key), 0)
    }

    /// Target columns not compared, for the report.
    fn uncompared(&self) -> Option<String> {
        let mut names: Vec<String> = self
            .plan
            .columns
            .iter()
            .filter(|c| !self.cols.iter().any(|k| k.target.name == c.name))
            .map(|c| format!("{} ({})", c.name, c.origin))
            .collect();
        names.extend(
            self.plan
                .server_filled
                .iter()
                .map(|c| format!("{c} (left to the server)")),
        );
        (!names.is_empty()).then(|| format!("not compared: {}", names.join(", ")))
    }

    // ---- keyed: chunks of the source key range ----

    fn keyed(
        &mut self,
        src: &mut Db,
        dst: &mut Db,
        mut processor: Option<&mut dyn RowProcessor>,
    ) -> std::result::Result<CopyReport, Stop> {
        let bounds = self.boundaries(src)?;
        let total = bounds.len() + 1;
        let chunk = |i: usize| Range {
            lower: i.checked_sub(1).map(|j| bounds[j].clone()),
            upper: bounds.get(i).cloned(),
        };
        let picked = self
            .opts
            .sample
            .and_then(|n| pick(total, n))
            .map(|v| v.into_iter().map(|i| i + 1).collect::<Vec<_>>());
        let order: Vec<usize> = match &picked {
            Some(p) => p.iter().map(|n| n - 1).collect(),
            None => (0..total).collect(),
        };
        let mut report = CopyReport::new(
            &self.plan.name,
            Matching::Chunks {
                total,
                sampled: picked,
            },
        );
        let mut progress = ChunkProgress::start(&self.plan.name, order.len(), self.opts.display);
        for (done, &i) in order.iter().enumerate() {
            let range = chunk(i);
            let before = report.differing();
            let what = format!("chunk {} of {total}", i + 1);
            match processor.as_deref_mut() {
                None => self.direct_chunk(src, dst, &range, &what, &mut report)?,
                Some(p) => self.processor_chunk(src, dst, p, &range, &what, &mut report)?,
            }
            let differ = report.differing() - before;
            if differ > 0 {
                report.differing_chunks += 1;
            }
            progress.chunk(done + 1, &what, differ);
        }
        progress.finish();
        Ok(report)
    }

    /// The last key of every full chunk, by keyset reads of the key alone.
    fn boundaries(&self, src: &mut Db) -> Result<Vec<Vec<Value>>> {
        let side = &self.src_side;
        let keys = side.key.join(", ");
        let mut out: Vec<Vec<Value>> = Vec::new();
        loop {
            let range = Range {
                lower: out.last().cloned(),
                upper: None,
            };
            let (cond, params) = side.conditions(&range)?;
            let sql = format!(
                "SELECT {keys} FROM {}{cond} ORDER BY {keys} LIMIT 1 OFFSET {}",
                side.table,
                self.opts.chunk_rows.max(1) - 1
            );
            let rows = query(src, "finding chunk boundaries", &sql, params)?;
            match rows.rows.into_iter().next() {
                Some(r) => out.push(r),
                None => break,
            }
        }
        // A boundary on the very last row would leave an empty last chunk.
        if let Some(last) = out.last() {
            let (cond, params) = side.conditions(&Range {
                lower: Some(last.clone()),
                upper: None,
            })?;
            let sql = format!("SELECT 1 FROM {}{cond} LIMIT 1", side.table);
            if query(src, "finding chunk boundaries", &sql, params)?
                .rows
                .is_empty()
            {
                out.pop();
            }
        }
        Ok(out)
    }

    fn direct_chunk(
        &self,
        src: &mut Db,
        dst: &mut Db,
        range: &Range,
        what: &str,
        report: &mut CopyReport,
    ) -> Result<()> {
        let s = self.src_side.summary(src, range, what)?;
        let t = self.dst_side.summary(dst, range, what)?;
        report.source_rows += s.rows;
        report.target_rows += t.rows;
        if s == t {
            return Ok(());
        }
        let expected = self.src_side.entries(src, range, what)?;
        let found = self.dst_side.entries(dst, range, what)?;
        let diff = diff_by_key(expected, found);
        self.record(src, dst, None, diff, report)
    }

    fn processor_chunk(
        &self,
        src: &mut Db,
        dst: &mut Db,
        processor: &mut dyn RowProcessor,
        range: &Range,
        what: &str,
        report: &mut CopyReport,
    ) -> std::result::Result<(), Stop> {
        let keys = self.keys.as_ref().expect("keyed");
        let (cond, params) = self.src_side.conditions(range)?;
        let all = self.plan.source.quoted_columns();
        let sql = format!(
            "SELECT {} FROM {}{cond}{}",
            all.join(", "),
            self.src_side.table,
            self.src_side.order_by()
        );
        let rows = query(src, &format!("reading {what}"), &sql, params)?.rows;
        let mut produced = Vec::with_capacity(rows.len());
        let mut row_keys = Vec::with_capacity(rows.len());
        for row in rows {
            report.source_rows += 1;
            let key = self.plan.key_values(&row);
            let values = match processor.process(row) {
                Ok(Some(v)) => v,
                Ok(None) => {
                    report.skipped += 1;
                    continue;
                }
                Err(message) => {
                    return Err(Stop::Failed(Error::Check {
                        message: format!(
                            "copy {}, row {}: {message}",
                            self.plan.name,
                            self.label(&key)
                        ),
                    }))
                }
            };
            for (j, &c) in keys.compared.iter().enumerate() {
                let col = &self.cols[c];
                if values[col.value_index] != key[j] {
                    return Err(Stop::KeyChanged(format!(
                        "the transform changes key column `{}` (row {})",
                        self.plan.source.columns[keys.source[j]].name,
                        self.label(&key)
                    )));
                }
            }
            produced.push(values);
            row_keys.push(key);
        }
        let hashes = self.render_hashes(dst, &produced, true)?;
        let mut s = Summary::default();
        let expected: Vec<Entry> = hashes
            .into_iter()
            .zip(row_keys)
            .enumerate()
            .map(|(row, ((key_text, hash), key))| {
                s.add(&hash);
                Entry {
                    key,
                    key_text,
                    hash,
                    row,
                }
            })
            .collect();
        let t = self.dst_side.summary(dst, range, what)?;
        report.target_rows += t.rows;
        if s == t {
            return Ok(());
        }
        let found = self.dst_side.entries(dst, range, what)?;
        let diff = diff_by_key(expected, found);
        self.record(src, dst, Some(&produced), diff, report)?;
        Ok(())
    }

    /// Has the target render rows a processor produced, each value cast to its target
    /// column's type: per row, its key text (when `with_key`) and hash.
    fn render_hashes(
        &self,
        dst: &mut Db,
        rows: &[Vec<Value>],
        with_key: bool,
    ) -> Result<Vec<(Vec<u8>, RowHash)>> {
        let tokens: Vec<String> = self
            .cols
            .iter()
            .map(|c| rowtext::param_token(&c.family))
            .collect();
        let key_cols: Vec<usize> = match (&self.keys, with_key) {
            (Some(k), true) => k.compared.clone(),
            _ => Vec::new(),
        };
        let key_tokens: Vec<String> = key_cols.iter().map(|&i| tokens[i].clone()).collect();
        let select = format!(
            "SELECT {} AS k, {} AS h",
            rowtext::join(&key_tokens),
            rowtext::hash(&tokens)
        );
        let out = self.render(dst, rows, &select, &key_cols)?;
        out.into_iter()
            .map(|r| {
                let hash = RowHash::parse(&r[1]).ok_or_else(|| {
                    Error::database("rendering produced rows on the target", "not a SHA-256")
                })?;
                Ok((to_text(&r[0], Kind::Bytes).unwrap_or_default(), hash))
            })
            .collect()
    }

    /// Runs `select` (with `?` for the key columns `key_cols`, then for every compared
    /// column) on the target once per produced row, in batches of UNION ALL.
    fn render(
        &self,
        dst: &mut Db,
        rows: &[Vec<Value>],
        select: &str,
        key_cols: &[usize],
    ) -> Result<Vec<Vec<Value>>> {
        let per_row = key_cols.len() + self.cols.len();
        let batch = RENDER_BATCH.min(60_000 / per_row.max(1)).max(1);
        let mut out = Vec::with_capacity(rows.len());
        for part in rows.chunks(batch) {
            let sql = vec![select; part.len()].join(" UNION ALL ");
            let mut params = Vec::with_capacity(per_row * part.len());
            for row in part {
                for &k in key_cols {
                    params.push(row[self.cols[k].value_index].clone());
                }
                for c in &self.cols {
                    params.push(row[c.value_index].clone());
                }
            }
            let r = query(
                dst,
                "rendering the transformed rows on the target",
                &sql,
                params,
            )?;
            out.extend(r.rows);
        }
        Ok(out)
    }

    /// Adds a chunk's differences to the report, naming the differing columns of the
    /// changed rows shown.
    fn record(
        &self,
        src: &mut Db,
        dst: &mut Db,
        produced: Option<&[Vec<Value>]>,
        diff: Diff,
        report: &mut CopyReport,
    ) -> Result<()> {
        for e in &diff.missing {
            report.missing.add(SHOWN, || self.label(&e.key));
        }
        for e in &diff.extra {
            report.extra.add(SHOWN, || self.label(&e.key));
        }
        let room = SHOWN.saturating_sub(report.changed.shown.len());
        let shown = &diff.changed[..room.min(diff.changed.len())];
        let expected: HashMap<Vec<u8>, Tokens> = match produced {
            None => {
                let keys: Vec<&[Value]> = shown.iter().map(|(e, _)| e.key.as_slice()).collect();
                self.src_side.tokens_by_key(src, &keys)?
            }
            Some(rows) => {
                let picked: Vec<Vec<Value>> =
                    shown.iter().map(|(e, _)| rows[e.row].clone()).collect();
                let tokens: Vec<String> = self
                    .cols
                    .iter()
                    .map(|c| rowtext::param_token(&c.family))
                    .collect();
                let select = format!("SELECT {}", tokens.join(", "));
                let out = self.render(dst, &picked, &select, &[])?;
                shown
                    .iter()
                    .zip(out)
                    .map(|((e, _), r)| (e.key_text.clone(), r.iter().map(untoken).collect()))
                    .collect()
            }
        };
        let keys: Vec<&[Value]> = shown.iter().map(|(_, f)| f.key.as_slice()).collect();
        let found = self.dst_side.tokens_by_key(dst, &keys)?;
        for (e, f) in &diff.changed {
            report.changed.add(SHOWN, || {
                let cols = match (expected.get(&e.key_text), found.get(&f.key_text)) {
                    (Some(a), Some(b)) => self.column_changes(a, b),
                    _ => String::new(),
                };
                if cols.is_empty() {
                    self.label(&e.key)
                } else {
                    format!("{}: {cols}", self.label(&e.key))
                }
            });
        }
        Ok(())
    }

    /// `v: 'abc' -> 'abd', n: 1 -> 2` for the columns that differ.
    fn column_changes(&self, a: &[Option<Vec<u8>>], b: &[Option<Vec<u8>>]) -> String {
        self.cols
            .iter()
            .zip(a.iter().zip(b))
            .filter(|(_, (x, y))| x != y)
            .map(|(c, (x, y))| {
                format!(
                    "{}: {} -> {}{}",
                    c.target.name,
                    shown_value(c, x.as_deref()),
                    shown_value(c, y.as_deref()),
                    where_they_differ(x.as_deref(), y.as_deref())
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A compared value for the report: numbers and dates as they print, text quoted,
/// bytes that are not text as hex; long values cut short.
fn shown_value(c: &Compared, v: Option<&[u8]>) -> String {
    match v {
        None => "NULL".into(),
        Some(b) => match c.family {
            Family::Text { .. } | Family::Binary { .. } | Family::Other => {
                let text = printable(b);
                if text.starts_with("0x") && std::str::from_utf8(b).is_err() {
                    cut(&text, 66)
                } else {
                    show(&Value::Bytes(b.to_vec()), Kind::Bytes)
                }
            }
            _ => String::from_utf8_lossy(b).into_owned(),
        },
    }
}

/// For long values, where the first differing byte is: ` (bytes differ from byte
/// 5001; 64000 and 64000 bytes)`; nothing for short ones, which show whole.
fn where_they_differ(a: Option<&[u8]>, b: Option<&[u8]>) -> String {
    let (Some(a), Some(b)) = (a, b) else {
        return String::new();
    };
    if a.len().max(b.len()) <= 30 {
        return String::new();
    }
    let at = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    format!(
        " (bytes differ from byte {}; {} and {} bytes)",
        at + 1,
        a.len(),
        b.len()
    )
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// `n` chunk indices (0-based) spread evenly over `total`, or `None` for all.
fn pick(total: usize, n: u64) -> Option<Vec<usize>> {
    let n = n.max(1) as usize;
    if n >= total {
        return None;
    }
    if n == 1 {
        return Some(vec![total / 2]);
    }
    Some((0..n).map(|i| i * (total - 1) / (n - 1)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_say_where_they_first_differ() {
        let a = vec![7u8; 64];
        let mut b = a.clone();
        b[40] = 8;
        assert_eq!(
            where_they_differ(Some(&a), Some(&b)),
            " (bytes differ from byte 41; 64 and 64 bytes)"
        );
        assert_eq!(where_they_differ(Some(b"ab"), Some(b"ac")), "");
        assert_eq!(where_they_differ(None, Some(&a)), "");
    }

    fn entry(key: i64, hash: u8) -> Entry {
        Entry {
            key: vec![Value::Int(key)],
            key_text: key.to_string().into_bytes(),
            hash: RowHash([hash; 32]),
            row: 0,
        }
    }

    #[test]
    fn diff_by_key_finds_each_kind() {
        let expected = vec![entry(1, 1), entry(2, 2), entry(3, 3)];
        let found = vec![entry(1, 1), entry(2, 9), entry(4, 4), entry(1, 1)];
        let d = diff_by_key(expected, found);
        let keys = |v: &[Entry]| v.iter().map(|e| e.key_text.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&d.missing), vec![b"3".to_vec()]);
        // The second row with key 1 is a duplicate: extra.
        assert_eq!(keys(&d.extra), vec![b"4".to_vec(), b"1".to_vec()]);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].0.key_text, b"2");
    }

    #[test]
    fn samples_spread_over_the_range() {
        assert_eq!(pick(11, 3), Some(vec![0, 5, 10]));
        assert_eq!(pick(11, 1), Some(vec![5]));
        assert_eq!(pick(3, 5), None);
    }
}
