//! Matching by content, for a copy without a key to match rows by (a keyless source,
//! a key the target does not get, a transform that changes keys): the whole table's
//! count and hash sums on each side, and on a difference the multiset of row hashes,
//! diffed into rows missing and extra (a duplicate counts), the first few shown.

use std::collections::HashMap;

use super::diff::shown_value;
use super::progress::ChunkProgress;
use super::{CopyReport, Matching, Rows, Verifier, SHOWN_BY_CONTENT};
use crate::db::checksum::{HashedTable, Range, RowHash, Summary, RENDER_BATCH};
use crate::db::{Db, Value};
use crate::engine::RowProcessor;
use crate::error::{Error, Result};

impl Verifier<'_> {
    pub(super) fn whole_direct(&self, src: &mut Db, dst: &mut Db) -> Result<CopyReport> {
        let mut report = CopyReport::new(&self.plan.name, Matching::Whole);
        let all = Range::default();
        let mut progress = ChunkProgress::start(&self.plan.name, 1, self.opts.display);
        let s = self.src_side.summary(src, &all, "the table")?;
        let t = self.dst_side.summary(dst, &all, "the table")?;
        report.source_rows = s.rows;
        report.target_rows = t.rows;
        if s != t {
            let mut counts: HashMap<RowHash, i64> = HashMap::new();
            self.src_side
                .each_hash(src, |h| *counts.entry(h).or_default() += 1)?;
            self.dst_side
                .each_hash(dst, |h| *counts.entry(h).or_default() -= 1)?;
            let (missing, extra) = split_counts(counts);
            self.record_by_content(src, &self.src_side, &missing, &mut report.missing)?;
            self.record_by_content(dst, &self.dst_side, &extra, &mut report.extra)?;
        }
        progress.chunk(1, "the whole table", report.differing());
        progress.finish();
        Ok(report)
    }

    pub(super) fn whole_processor(
        &self,
        src: &mut Db,
        dst: &mut Db,
        processor: &mut dyn RowProcessor,
    ) -> Result<CopyReport> {
        let mut report = CopyReport::new(&self.plan.name, Matching::Whole);
        let mut progress = ChunkProgress::start(&self.plan.name, 1, self.opts.display);
        let mut counts: HashMap<RowHash, i64> = HashMap::new();
        // The first source row that produced each hash, to name missing rows.
        let mut first: HashMap<RowHash, (Vec<Value>, u64)> = HashMap::new();
        let mut expected = Summary::default();
        let mut batch: Vec<(Vec<Value>, Vec<Value>, u64)> = Vec::with_capacity(RENDER_BATCH);
        let mut flush =
            |batch: &mut Vec<(Vec<Value>, Vec<Value>, u64)>, dst: &mut Db| -> Result<()> {
                let rows: Vec<Vec<Value>> = batch.iter().map(|(_, v, _)| v.clone()).collect();
                let hashes = self.render_hashes(dst, &rows, false)?;
                for ((key, _, n), (_, h)) in batch.drain(..).zip(hashes) {
                    expected.add(&h);
                    *counts.entry(h).or_default() += 1;
                    first.entry(h).or_insert((key, n));
                }
                Ok(())
            };
        let all = self.plan.source.quoted_columns();
        let what = format!("reading {}", self.plan.source.name);
        self.src_side.each_row(src, &all, &what, |row| {
            report.source_rows += 1;
            let key = self.plan.key_values(&row);
            match processor.process(row) {
                Ok(Some(values)) => batch.push((key, values, report.source_rows)),
                Ok(None) => report.skipped += 1,
                Err(message) => {
                    return Err(Error::Check {
                        message: format!(
                            "copy {}, row {}: {message}",
                            self.plan.name,
                            self.plan.row_label(Some(&key), report.source_rows)
                        ),
                    })
                }
            }
            if batch.len() == RENDER_BATCH {
                flush(&mut batch, dst)?;
            }
            Ok(())
        })?;
        flush(&mut batch, dst)?;
        let t = self.dst_side.summary(dst, &Range::default(), "the table")?;
        report.target_rows = t.rows;
        if expected != t {
            self.dst_side
                .each_hash(dst, |h| *counts.entry(h).or_default() -= 1)?;
            let (missing, extra) = split_counts(counts);
            for (h, n) in &missing {
                let (key, ordinal) = &first[h];
                let label = self.plan.row_label(Some(key), *ordinal);
                report.missing.count += n;
                if report.missing.shown.len() < SHOWN_BY_CONTENT {
                    report.missing.shown.push(times(label, *n));
                }
            }
            self.record_by_content(dst, &self.dst_side, &extra, &mut report.extra)?;
        }
        progress.chunk(1, "the whole table", report.differing());
        progress.finish();
        Ok(report)
    }

    /// Counts rows matched by content and shows the first few, read back by hash.
    fn record_by_content(
        &self,
        db: &mut Db,
        side: &HashedTable,
        hashes: &[(RowHash, u64)],
        rows: &mut Rows,
    ) -> Result<()> {
        rows.count += hashes.iter().map(|(_, n)| n).sum::<u64>();
        let shown = &hashes[..hashes.len().min(SHOWN_BY_CONTENT)];
        let wanted: Vec<RowHash> = shown.iter().map(|(h, _)| *h).collect();
        let mut by_hash: HashMap<RowHash, String> = HashMap::new();
        for (h, tokens) in side.tokens_by_hash(db, &wanted)? {
            let values: Vec<String> = self
                .cols
                .iter()
                .zip(&tokens)
                .map(|(c, v)| format!("{}={}", c.target.name, shown_value(c, v.as_deref())))
                .collect();
            by_hash.insert(h, format!("({})", values.join(", ")));
        }
        for (h, n) in shown {
            if let Some(label) = by_hash.remove(h) {
                rows.shown.push(times(label, *n));
            }
        }
        Ok(())
    }
}

/// Hashes left over after source rows count up and target rows count down: missing
/// (more in the source) and extra (more in the target), with how many of each.
type Counted = Vec<(RowHash, u64)>;

fn split_counts(counts: HashMap<RowHash, i64>) -> (Counted, Counted) {
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    for (h, n) in counts {
        match n {
            n if n > 0 => missing.push((h, n as u64)),
            n if n < 0 => extra.push((h, n.unsigned_abs())),
            _ => {}
        }
    }
    // Stable output for a given difference.
    missing.sort_by_key(|(h, _)| h.0);
    extra.sort_by_key(|(h, _)| h.0);
    (missing, extra)
}

fn times(label: String, n: u64) -> String {
    if n == 1 {
        label
    } else {
        format!("{label} (x{n})")
    }
}
