//! Rows that collide with a *different* target row through a unique key other than
//! the one the mode resolves on: the error that refuses them, and, for a page that
//! failed so, the row found by writing the rows again one at a time in a transaction
//! that is rolled back, with the other row's key and the unique key they meet on.

use mysql::prelude::Queryable;
use mysql::{Params, Value};

use super::Mode;
use super::{WriteError, Writer};
use crate::db::schema::quote_ident;
use crate::db::Db;
use crate::error::Error;

impl Writer {
    /// What the mode does to the other target row of a conflict.
    pub(super) fn conflict_effect(&self) -> &'static str {
        match self.mode {
            Mode::Insert => "were dropped",
            Mode::Overwrite => "deleted those rows",
            Mode::Upsert => "rewrote those rows, their keys included",
        }
    }

    /// The error for rows that collide with different target rows: `row` when known,
    /// and the other row's key and the unique key when found.
    pub(super) fn conflict_error(
        &self,
        row: Option<usize>,
        n: u64,
        other: Option<(String, String)>,
    ) -> WriteError {
        let rk = self.keys.as_ref().map_or("", |k| k.name.as_str());
        let effect = match self.mode {
            Mode::Insert => "insert would drop this row",
            Mode::Overwrite => "overwrite would delete that other row",
            Mode::Upsert => "upsert would rewrite that other row, its key included",
        };
        let what = match (&other, row) {
            (Some((key, label)), _) => format!(
                "it collides with a different target row, {label}, through unique key \
                 `{key}` (the mode resolves rows on `{rk}`)"
            ),
            (None, Some(_)) => format!(
                "it collides with a different target row through a unique key other than \
                 `{rk}`, which the mode resolves rows on"
            ),
            (None, None) => format!(
                "{n} row(s) collide with different target rows through a unique key other \
                 than `{rk}`, which the mode resolves rows on"
            ),
        };
        WriteError {
            row,
            error: Error::Database {
                context: self.writing(),
                message: format!(
                    "{what}: {effect}; fix the rows in the source or the target, or let the \
                     copy accept such rows with accept = {{\"unique_conflicts\"}} (they are \
                     then counted as conflicts)"
                ),
                cause: None,
            },
            transient: false,
            refused: false,
            conflict: row.is_none(),
            also: None,
        }
    }

    /// Finds the first row of a page whose rows collide with different target rows
    /// (`e`): the rows are written one at a time in a transaction that is rolled back,
    /// each counted as a page of one row.
    pub(super) fn diagnose(&self, db: &mut Db, rows: &[Vec<Value>], e: WriteError) -> WriteError {
        let found = self.find_conflict(db, rows);
        let _ = db.conn().query_drop("ROLLBACK");
        match found {
            Ok(Some(err)) => err,
            Ok(None) => e,
            Err(err) => err,
        }
    }

    fn find_conflict(
        &self,
        db: &mut Db,
        rows: &[Vec<Value>],
    ) -> Result<Option<WriteError>, WriteError> {
        let plain = |db: &Db, e| WriteError::server(db, "finding the row that collides", e, None);
        db.conn()
            .query_drop("START TRANSACTION")
            .map_err(|e| plain(db, e))?;
        let stmt = self.statement(db, 1)?;
        let at = self.keys.as_ref().and_then(|k| k.at.clone());
        for (i, row) in rows.iter().enumerate() {
            let existing = match (&at, self.count_existing) {
                (Some(at), true) => {
                    let key: Vec<Value> = at.iter().map(|&j| row[j].clone()).collect();
                    Some(self.count_rows(db, &[key])?)
                }
                _ => None,
            };
            db.conn()
                .query_drop("SAVEPOINT ferry_row")
                .map_err(|e| plain(db, e))?;
            let params = if row.is_empty() {
                Params::Empty
            } else {
                Params::Positional(row.clone())
            };
            db.conn()
                .exec_drop(&stmt, params)
                .map_err(|e| WriteError::server(db, &self.writing(), e, Some(i)))?;
            let answer = self.answer(db, 1, i)?;
            if self.page_counts(answer, existing).conflicts > 0 {
                db.conn()
                    .query_drop("ROLLBACK TO SAVEPOINT ferry_row")
                    .map_err(|e| plain(db, e))?;
                let other = self.other_row(db, row)?;
                return Ok(Some(self.conflict_error(Some(i), 1, other)));
            }
        }
        Ok(None)
    }

    /// The unique key through which `row` meets a different target row, and that
    /// row's key (resolving key columns and values).
    pub(super) fn other_row(
        &self,
        db: &mut Db,
        row: &[Value],
    ) -> Result<Option<(String, String)>, WriteError> {
        let Some(k) = &self.keys else { return Ok(None) };
        let rk_cols: Vec<String> = k.cols.iter().map(|c| quote_ident(c)).collect();
        for (name, cols, at) in &k.others {
            let Some(at) = at else { continue };
            let vals: Vec<Value> = at.iter().map(|&j| row[j].clone()).collect();
            if vals.iter().any(|v| matches!(v, Value::NULL)) {
                continue;
            }
            let mut sql = format!(
                "SELECT {} FROM {} WHERE {}",
                rk_cols.join(", "),
                self.table,
                self.match_sql(db, cols, 1)?
            );
            let mut params = vals;
            if let Some(rk_at) = &k.at {
                sql.push_str(&format!(" AND NOT ({})", self.match_sql(db, &k.cols, 1)?));
                params.extend(rk_at.iter().map(|&j| row[j].clone()));
            }
            sql.push_str(" LIMIT 1");
            let found: Option<mysql::Row> = db
                .conn()
                .exec_first(sql, params)
                .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
            if let Some(r) = found {
                let values = r.unwrap();
                return Ok(Some((
                    name.clone(),
                    crate::db::value::show_key(&k.cols, &values, &k.kinds),
                )));
            }
        }
        Ok(None)
    }
}
