//! Rows a processor produced, rendered by the target server: each value cast to its
//! target column's type and hashed (or shown) as the target's own rows are, in batches
//! of UNION ALL.

use super::{query, rowtext, untoken, Family, RowHash, Tokens};
use crate::db::value::{to_text, Kind};
use crate::db::{Db, Value};
use crate::error::{Error, Result};

/// Produced rows the target renders per statement.
pub const RENDER_BATCH: usize = 200;

/// A compared column of produced rows: its target column's family, and where its
/// value sits in a produced row.
#[derive(Debug, Clone)]
pub struct RenderColumn {
    pub family: Family,
    pub at: usize,
}

/// Has the target render rows a processor produced, each value cast to its target
/// column's type: per row, its key text (of the columns `key`, indices into `cols`;
/// empty text without) and hash.
pub fn render_hashes(
    dst: &mut Db,
    cols: &[RenderColumn],
    key: &[usize],
    rows: &[Vec<Value>],
) -> Result<Vec<(Vec<u8>, RowHash)>> {
    let tokens: Vec<String> = cols
        .iter()
        .map(|c| rowtext::param_token(&c.family))
        .collect();
    let key_tokens: Vec<String> = key.iter().map(|&i| tokens[i].clone()).collect();
    let select = format!(
        "SELECT {} AS k, {} AS h",
        rowtext::join(&key_tokens),
        rowtext::hash(&tokens)
    );
    let out = render(dst, cols, rows, &select, key)?;
    out.into_iter()
        .map(|r| {
            let hash = RowHash::parse(&r[1]).ok_or_else(|| {
                Error::database("rendering produced rows on the target", "not a SHA-256")
            })?;
            Ok((to_text(&r[0], Kind::Bytes).unwrap_or_default(), hash))
        })
        .collect()
}

/// Has the target render rows a processor produced: per row, per compared column, the
/// value's text as it would read back once stored (`None`: NULL).
pub fn render_tokens(
    dst: &mut Db,
    cols: &[RenderColumn],
    rows: &[Vec<Value>],
) -> Result<Vec<Tokens>> {
    let tokens: Vec<String> = cols
        .iter()
        .map(|c| rowtext::param_token(&c.family))
        .collect();
    let select = format!("SELECT {}", tokens.join(", "));
    let out = render(dst, cols, rows, &select, &[])?;
    Ok(out
        .into_iter()
        .map(|r| r.iter().map(untoken).collect())
        .collect())
}

/// Runs `select` (with `?` for the key columns `key_cols`, then for every compared
/// column) on the target once per produced row, in batches of UNION ALL.
fn render(
    dst: &mut Db,
    cols: &[RenderColumn],
    rows: &[Vec<Value>],
    select: &str,
    key_cols: &[usize],
) -> Result<Vec<Vec<Value>>> {
    let per_row = key_cols.len() + cols.len();
    let batch = RENDER_BATCH.min(60_000 / per_row.max(1)).max(1);
    let mut out = Vec::with_capacity(rows.len());
    for part in rows.chunks(batch) {
        let sql = vec![select; part.len()].join(" UNION ALL ");
        let mut params = Vec::with_capacity(per_row * part.len());
        for row in part {
            for &k in key_cols {
                params.push(row[cols[k].at].clone());
            }
            for c in cols {
                params.push(row[c.at].clone());
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
