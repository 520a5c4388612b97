//! Rows a processor produced, rendered by the target server: each value cast to its
//! target column's type and hashed (or shown) as the target's own rows are, in batches
//! of UNION ALL.

use crate::db::Value;

use super::rowtext;
use super::side::{query, RowHash};
use super::{Verifier, RENDER_BATCH};
use crate::db::value::{to_text, Kind};
use crate::db::Db;
use crate::error::{Error, Result};

impl Verifier<'_> {
    /// Has the target render rows a processor produced, each value cast to its target
    /// column's type: per row, its key text (when `with_key`) and hash.
    pub(super) fn render_hashes(
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
    pub(super) fn render(
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
}
