//! The target's unique keys as the mode sees them (the key it resolves rows on, and
//! the others), and lookups of the page's rows already in the target by that key,
//! with text compared in each column's own character set and collation.

use mysql::prelude::Queryable;
use mysql::Value;

use super::page::Body;
use super::statement::MAX_PLACEHOLDERS;
use super::{Target, WriteError, Writer};
use crate::db::schema::quote_ident;
use crate::db::Db;
use crate::error::Error;

/// The target's unique keys as the mode sees them.
#[derive(Debug)]
pub(super) struct Keys {
    /// The key the mode resolves on: the primary key when every column of it is
    /// written, else the first unique key all of whose columns are written.
    pub(super) name: String,
    pub(super) cols: Vec<String>,
    /// Where its columns are among the written values (`None`: one is written by an
    /// SQL expression, so rows cannot be looked up by it).
    pub(super) at: Option<Vec<usize>>,
    pub(super) kinds: Vec<crate::db::value::Kind>,
    /// The other unique keys: name, columns, and where those are among the values.
    pub(super) others: Vec<(String, Vec<String>, Option<Vec<usize>>)>,
}

impl Keys {
    pub(super) fn new(target: &Target) -> Option<Keys> {
        let written = |c: &String| target.columns.iter().any(|t| &t.name == c);
        let idx = &target.table.indexes;
        let rk = idx
            .iter()
            .find(|i| i.name == "PRIMARY" && i.columns.iter().all(written))
            .or_else(|| {
                idx.iter()
                    .find(|i| i.unique && i.columns.iter().all(written))
            })?;
        let values: Vec<&str> = target.param_columns().map(|c| c.name.as_str()).collect();
        let at = |cols: &[String]| -> Option<Vec<usize>> {
            cols.iter()
                .map(|c| values.iter().position(|v| v == c))
                .collect()
        };
        Some(Keys {
            name: rk.name.clone(),
            cols: rk.columns.clone(),
            at: at(&rk.columns),
            kinds: rk
                .columns
                .iter()
                .map(|c| {
                    target
                        .table
                        .column(c)
                        .map_or(crate::db::value::Kind::Bytes, |c| c.kind())
                })
                .collect(),
            others: idx
                .iter()
                .filter(|i| i.unique && i.name != rk.name)
                .map(|i| (i.name.clone(), i.columns.clone(), at(&i.columns)))
                .collect(),
        })
    }
}

impl Writer {
    /// Rows of the page already in the target by the resolving key, when the mode needs
    /// that number (see `count_existing`).
    pub(super) fn existing_in(
        &self,
        db: &mut Db,
        body: &Body<'_>,
    ) -> Result<Option<u64>, WriteError> {
        let Some(at) = self
            .keys
            .as_ref()
            .and_then(|k| k.at.as_ref())
            .filter(|_| self.count_existing)
        else {
            return Ok(None);
        };
        let of_rows = |rows: &[Vec<Value>]| -> Vec<Vec<Value>> {
            rows.iter()
                .map(|r| at.iter().map(|&j| r[j].clone()).collect())
                .collect()
        };
        let keys = match body {
            Body::Bulk(rows) => of_rows(rows),
            Body::Chunks(rows) => of_rows(rows),
            Body::Raw(raw) => (0..raw.len())
                .map(|i| raw.layout.decode_some(raw.row(i), at))
                .collect::<Result<_, _>>()
                .map_err(|e: crate::db::wire::WireError| {
                    WriteError::data(None, Error::database_caused(self.writing(), e))
                })?,
        };
        self.count_rows(db, &keys).map(Some)
    }

    /// How target column `col` is compared with a parameter: text in the column's own
    /// character set and collation (the session may send strings as binary).
    fn lookup_expr(&self, db: &mut Db, col: &str) -> Result<String, WriteError> {
        if self.lookups.borrow().is_none() {
            let rows: Vec<(String, String, String)> = db
                .conn()
                .exec(
                    "SELECT COLUMN_NAME, CHARACTER_SET_NAME, COLLATION_NAME \
                     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                     AND COLLATION_NAME IS NOT NULL",
                    (&self.schema.0, &self.schema.1),
                )
                .map_err(|e| WriteError::server(db, "reading the target's collations", e, None))?;
            let map = rows
                .into_iter()
                .map(|(c, cs, coll)| {
                    (
                        c,
                        format!("CONVERT(CONVERT(? USING utf8mb4) USING {cs}) COLLATE {coll}"),
                    )
                })
                .collect();
            *self.lookups.borrow_mut() = Some(map);
        }
        Ok(self
            .lookups
            .borrow()
            .as_ref()
            .and_then(|m| m.get(col).cloned())
            .unwrap_or_else(|| "?".into()))
    }

    /// `(a = ? AND b = ?) OR ...` (or `a IN (?, ...)`) for `n` rows of `cols`.
    pub(super) fn match_sql(
        &self,
        db: &mut Db,
        cols: &[String],
        n: usize,
    ) -> Result<String, WriteError> {
        let exprs: Vec<String> = cols
            .iter()
            .map(|c| self.lookup_expr(db, c))
            .collect::<Result<_, _>>()?;
        let q: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
        if cols.len() == 1 {
            let list = vec![exprs[0].as_str(); n].join(", ");
            return Ok(format!("{} IN ({list})", q[0]));
        }
        let one = q
            .iter()
            .zip(&exprs)
            .map(|(c, e)| format!("{c} = {e}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        Ok(vec![format!("({one})"); n].join(" OR "))
    }

    /// How many of `keys` (values of the resolving key) the target holds.
    pub(super) fn count_rows(&self, db: &mut Db, keys: &[Vec<Value>]) -> Result<u64, WriteError> {
        let Some(k) = &self.keys else { return Ok(0) };
        let per = (MAX_PLACEHOLDERS / k.cols.len().max(1)).clamp(1, 5000);
        let start = std::time::Instant::now();
        let mut total = 0;
        // An integer key: when nothing in the target lies between the page's smallest
        // and largest key (a load into an empty or growing table), one index dive says
        // so, instead of a lookup per row.
        let ints: Option<Vec<i128>> = keys
            .iter()
            .map(|k| match k.as_slice() {
                [Value::Int(i)] => Some(i128::from(*i)),
                [Value::UInt(u)] => Some(i128::from(*u)),
                _ => None,
            })
            .collect();
        if let Some((lo, hi)) = ints
            .filter(|v| v.len() > 1)
            .and_then(|v| Some((*v.iter().min()?, *v.iter().max()?)))
        {
            let col = quote_ident(&k.cols[0]);
            let bound = |x: i128| match i64::try_from(x) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::UInt(x as u64),
            };
            let any: Option<u8> = db
                .conn()
                .exec_first(
                    format!(
                        "SELECT 1 FROM {} WHERE {col} >= ? AND {col} <= ? LIMIT 1",
                        self.table
                    ),
                    (bound(lo), bound(hi)),
                )
                .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
            if any.is_none() {
                let (made, took) = self.lookups_made.get();
                self.lookups_made.set((made + 1, took + start.elapsed()));
                return Ok(0);
            }
        }
        for chunk in keys.chunks(per) {
            let sql = format!(
                "SELECT COUNT(*) FROM {} WHERE {}",
                self.table,
                self.match_sql(db, &k.cols, chunk.len())?
            );
            let params: Vec<Value> = chunk.iter().flatten().cloned().collect();
            let n: Option<u64> = db
                .conn()
                .exec_first(sql, params)
                .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
            total += n.unwrap_or(0);
        }
        let (made, took) = self.lookups_made.get();
        self.lookups_made.set((made + 1, took + start.elapsed()));
        Ok(total)
    }
}
