//! A page the target refused, written again row by row to set the refused rows apart
//! (`on_error = "reject"`): in one transaction, each row under a savepoint, so a row
//! the server refuses (or warns about, or that collides with a different target row,
//! or whose value the target would change: `fit`) is rolled back alone and the rest
//! of the page commits, together with its checkpoint.

use mysql::prelude::Queryable;
use mysql::Value;

use super::{Counts, WriteError, Writer};
use crate::db::Db;
use crate::error::Error;

/// A row of a page that was not written, and why (the server's message, without its
/// "at row N").
#[derive(Debug)]
pub struct Refused {
    pub row: usize,
    pub message: String,
}

/// What runs once the refused rows are known, before the page commits: it records
/// them and gives the checkpoint statement to commit with the page.
pub type BeforeCommit<'a> =
    dyn FnMut(&[Refused]) -> Result<Option<(String, Vec<Value>)>, Error> + 'a;

impl Writer {
    /// Writes `rows` one at a time in one transaction, setting apart the rows the
    /// target refuses; `before_commit` gets them and gives the checkpoint.
    pub fn write_apart(
        &self,
        db: &mut Db,
        rows: &[Vec<Value>],
        before_commit: &mut BeforeCommit<'_>,
    ) -> Result<(Counts, Vec<Refused>), WriteError> {
        let plain = |db: &Db, ctx: &str, e| WriteError::server(db, ctx, e, None);
        if self.binary_params && !db.binary_params {
            db.conn()
                .query_drop("SET character_set_client = binary")
                .map_err(|e| plain(db, "setting up the session", e))?;
            db.binary_params = true;
        }
        db.conn()
            .query_drop("START TRANSACTION")
            .map_err(|e| plain(db, "starting a transaction", e))?;
        let written = self.rows_apart(db, rows).and_then(|(counts, refused)| {
            let checkpoint = before_commit(&refused).map_err(|e| WriteError::data(None, e))?;
            if let Some((sql, params)) = checkpoint {
                db.conn()
                    .exec_drop(sql, params)
                    .map_err(|e| plain(db, "writing the checkpoint", e))?;
            }
            Ok((counts, refused))
        });
        match written {
            Ok(out) => {
                db.conn()
                    .query_drop("COMMIT")
                    .map_err(|e| plain(db, "committing a page", e))?;
                Ok(out)
            }
            Err(e) => {
                let _ = db.conn().query_drop("ROLLBACK");
                Err(e)
            }
        }
    }

    /// The rows written one by one in the open transaction: their counts, and the
    /// rows refused.
    fn rows_apart(
        &self,
        db: &mut Db,
        rows: &[Vec<Value>],
    ) -> Result<(Counts, Vec<Refused>), WriteError> {
        let plain = |db: &Db, e| WriteError::server(db, "setting a row apart", e, None);
        let at = self.keys.as_ref().and_then(|k| k.at.clone());
        let mut total = Counts::default();
        let mut refused = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if let Some(Err(m)) = self
                .fit
                .as_ref()
                .map(|f| f.check_rows(std::slice::from_ref(row)))
            {
                refused.push(Refused {
                    row: i,
                    message: format!("{}: {}", self.writing(), m.message),
                });
                continue;
            }
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
            let outcome = self
                .execute(db, row.clone(), 1, i)
                .map(|answer| self.page_counts(answer, existing));
            // A row that meets a different target row through another unique key:
            // rolled back, and that row named.
            let outcome = match outcome {
                Ok(c) if c.conflicts > 0 && !self.accept_conflicts => {
                    db.conn()
                        .query_drop("ROLLBACK TO SAVEPOINT ferry_row")
                        .map_err(|e| plain(db, e))?;
                    let other = self.other_row(db, row)?;
                    Err(self.conflict_error(Some(i), 1, other))
                }
                r => r,
            };
            match outcome {
                Ok(c) => {
                    total.inserted += c.inserted;
                    total.updated += c.updated;
                    total.unchanged += c.unchanged;
                    total.ignored += c.ignored;
                    total.conflicts += c.conflicts;
                }
                Err(e) if e.transient => return Err(e),
                Err(e) => {
                    db.conn()
                        .query_drop("ROLLBACK TO SAVEPOINT ferry_row")
                        .map_err(|e| plain(db, e))?;
                    refused.push(Refused {
                        row: i,
                        message: super::without_row_number(&e.error.to_string()),
                    });
                }
            }
        }
        Ok((total, refused))
    }
}
