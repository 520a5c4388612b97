//! The keyed comparison: the source key range cut into chunks (boundaries by keyset
//! reads of the key alone), optionally a sample of them, and each chunk compared by
//! count and hash sums, directly or through the copy's processor, then drilled into
//! when they differ.

use super::diff::diff_by_key;
use super::progress::ChunkProgress;
use super::{CopyReport, Matching, Stop, Verifier};
use crate::db::checksum::{Entry, Range, Summary};
use crate::db::{Db, Value};
use crate::engine::RowProcessor;
use crate::error::{Error, Result};

impl Verifier<'_> {
    pub(super) fn keyed(
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
        let offset = self.opts.chunk_rows.max(1) - 1;
        let mut out: Vec<Vec<Value>> = Vec::new();
        while let Some(r) = side.key_at_offset(src, out.last().cloned(), offset)? {
            out.push(r);
        }
        // A boundary on the very last row would leave an empty last chunk.
        if let Some(last) = out.last() {
            if !side.has_rows_after(src, last)? {
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
        let all = self.plan.source.quoted_columns();
        let rows = self.src_side.rows(src, &all, range, what)?;
        let mut produced = Vec::with_capacity(rows.len());
        let mut row_keys = Vec::with_capacity(rows.len());
        let keys_of: Vec<Vec<Value>> = rows.iter().map(|r| self.plan.key_values(r)).collect();
        // The chunk's rows run as a page's do (a lookup's keys asked together).
        let made = processor.process_rows(rows, true).map_err(|e| {
            Stop::Failed(Error::Check {
                message: format!("copy {}, {what}: {e}", self.plan.name),
            })
        })?;
        for ((made, _), key) in made.into_iter().zip(keys_of) {
            report.source_rows += 1;
            let values = match made {
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
    fn samples_spread_over_the_range() {
        assert_eq!(pick(11, 3), Some(vec![0, 5, 10]));
        assert_eq!(pick(11, 1), Some(vec![5]));
        assert_eq!(pick(3, 5), None);
    }
}
