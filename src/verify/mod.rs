//! `ferry verify`'s verifier: proves that a copy's target holds what its source holds,
//! or lists exactly what differs. It compares the mapped columns (target columns filled
//! from a source column, or by the transform and map functions), never the ones left
//! to defaults or the server.
//!
//! Rows are matched by the source's paging key. The source key range is cut into
//! chunks of about 10,000 rows (boundaries found by keyset reads of the key alone); for
//! each chunk both servers compute the row count and two sums of 60-bit slices of a
//! SHA-256 per row (`db::checksum::rowtext` builds the row text), so rows do not cross
//! the wire and changes cannot cancel out. A chunk whose numbers differ is drilled into: (key, row
//! hash) from both sides, diffed into missing, extra and changed keys, and for changed
//! rows the differing columns. A copy with a transform or map functions cannot be
//! computed by the source server: its source rows run through the copy's
//! `RowProcessor` and the target server renders the values it produced (cast to the
//! target column types) into the same row hashes. Without a key to match by, the whole
//! table is compared at once by content (a multiset of row hashes).
//!
//! Independent of Lua: it takes a `CopyPlan`, the two sessions and, for a copy that
//! runs code, the processor.
//!
//! Here: the options, `verify_copy` and the `Verifier` it runs, and what is compared
//! (`Compared`, `KeyMap`). The keyed comparison chunk by chunk is `chunks`; a chunk's
//! differences `diff`; the comparison by content `content`; the table each side hashes
//! `side`. The SQL they send is `db::checksum`'s: verify decides what to compare, how to
//! drill down and how to report.

mod chunks;
mod content;
mod diff;
mod progress;
mod report;
mod side;

pub use report::{summary, CopyReport, Matching, Rows};

use std::time::Instant;

use crate::db::checksum::{self, Common, Family, HashedTable, RenderColumn, RowHash};
use crate::db::schema::ColumnInfo;
use crate::db::{Db, Value};
use crate::engine::RowProcessor;
use crate::error::{Error, Result};
use crate::plan::{CopyPlan, Fill};
use crate::progress::{Display, FILE_ONLY};

/// Source rows per chunk.
pub const CHUNK_ROWS: u64 = 10_000;
/// Keys shown per kind of difference and copy.
const SHOWN: usize = 20;
/// Rows shown per kind when rows are matched by content.
const SHOWN_BY_CONTENT: usize = 5;

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
        src_side: side::source(plan, &cols),
        dst_side: side::target(plan, &cols, keys.as_ref()),
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
                v.dst_side = side::target(plan, &v.cols, None);
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

/// Why rows cannot be matched by key (a note of the report).
#[derive(Debug, Clone, PartialEq, Eq)]
enum NoKeyMap {
    /// The source table (named) has no key to page by.
    Keyless(String),
    /// This source key column is in no target column.
    KeyNotCopied(String),
}

impl std::fmt::Display for NoKeyMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoKeyMap::Keyless(table) => write!(
                f,
                "source table {table} has no primary key or NOT NULL unique key"
            ),
            NoKeyMap::KeyNotCopied(column) => write!(
                f,
                "source key column `{column}` is not copied into a target column"
            ),
        }
    }
}

fn key_map(plan: &CopyPlan, cols: &[Compared]) -> std::result::Result<KeyMap, NoKeyMap> {
    let Some(key) = &plan.key else {
        return Err(NoKeyMap::Keyless(plan.source.name.clone()));
    };
    let compared = key
        .iter()
        .map(|&k| {
            cols.iter()
                .position(|c| c.carries == Some(k))
                .ok_or_else(|| NoKeyMap::KeyNotCopied(plan.source.columns[k].name.clone()))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(KeyMap {
        source: key.clone(),
        compared,
    })
}

struct Verifier<'a> {
    plan: &'a CopyPlan,
    cols: Vec<Compared>,
    keys: Option<KeyMap>,
    src_side: HashedTable,
    dst_side: HashedTable,
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

    /// The compared columns as the target renders rows a processor produced.
    fn render_columns(&self) -> Vec<RenderColumn> {
        self.cols
            .iter()
            .map(|c| RenderColumn {
                family: c.family.clone(),
                at: c.value_index,
            })
            .collect()
    }

    /// Has the target render rows a processor produced, each value cast to its target
    /// column's type: per row, its key text (when `with_key`) and hash.
    fn render_hashes(
        &self,
        dst: &mut Db,
        rows: &[Vec<Value>],
        with_key: bool,
    ) -> Result<Vec<(Vec<u8>, RowHash)>> {
        let key: Vec<usize> = match (&self.keys, with_key) {
            (Some(k), true) => k.compared.clone(),
            _ => Vec::new(),
        };
        checksum::render_hashes(dst, &self.render_columns(), &key, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::NoKeyMap;

    #[test]
    fn why_rows_are_not_matched_by_key() {
        assert_eq!(
            NoKeyMap::Keyless("log".into()).to_string(),
            "source table log has no primary key or NOT NULL unique key"
        );
        assert_eq!(
            NoKeyMap::KeyNotCopied("id".into()).to_string(),
            "source key column `id` is not copied into a target column"
        );
    }
}
