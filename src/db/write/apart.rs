//! A page the target refused, written again row by row to set the refused rows apart
//! (`on_error = "reject"`): in one transaction, each unit (the rows one source row
//! made: its row of this table and those it emitted into others) under a savepoint,
//! so a unit the server refuses (a row it refuses or warns about, that collides with a
//! different target row, or whose value the target would change: `fit`) is rolled
//! back alone and the rest of the page commits, together with its checkpoint.

use mysql::prelude::Queryable;
use mysql::Value;

use super::{Counts, WriteError, Writer};
use crate::db::Db;
use crate::error::Error;

/// A unit of a page that was not written, and why (the server's message, without its
/// "at row N").
#[derive(Debug)]
pub struct Refused {
    pub unit: usize,
    pub message: String,
}

/// The rows one source row made: rows of the writer's table (indices in the page),
/// and rows of other tables with their writers.
pub struct Unit<'a> {
    pub rows: Vec<usize>,
    pub also: Vec<(&'a Writer, Vec<Value>)>,
}

/// What the units that were written did: this table's counts, and each other row's
/// (per unit, in order; none for a refused unit).
pub type Written = (Counts, Vec<Vec<Counts>>);

/// What runs once the refused rows are known, before the page commits: it records
/// them and gives the checkpoint statement to commit with the page.
pub type BeforeCommit<'a> =
    dyn FnMut(&[Refused]) -> Result<Option<(String, Vec<Value>)>, Error> + 'a;

impl Writer {
    /// Writes `units` of `rows` one at a time in one transaction, setting apart the
    /// units the target refuses; `before_commit` gets them and gives the checkpoint.
    pub fn write_apart(
        &self,
        db: &mut Db,
        rows: &[Vec<Value>],
        units: &[Unit<'_>],
        before_commit: &mut BeforeCommit<'_>,
    ) -> Result<(Written, Vec<Refused>), WriteError> {
        let plain = |db: &Db, ctx: &str, e| WriteError::server(db, ctx, e, None);
        self.begin_page(db)?;
        let written = self
            .units_apart(db, rows, units)
            .and_then(|(counts, refused)| {
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

    /// The units written one by one in the open transaction: their counts, and the
    /// units refused.
    fn units_apart(
        &self,
        db: &mut Db,
        rows: &[Vec<Value>],
        units: &[Unit<'_>],
    ) -> Result<(Written, Vec<Refused>), WriteError> {
        let plain = |db: &Db, e| WriteError::server(db, "setting a row apart", e, None);
        let mut total = Counts::default();
        let mut others = Vec::with_capacity(units.len());
        let mut refused = Vec::new();
        for (u, unit) in units.iter().enumerate() {
            let misfit = unit.rows.iter().find_map(|&i| {
                let f = self.fit.as_ref()?;
                f.check_rows(std::slice::from_ref(&rows[i])).err()
            });
            if let Some(m) = misfit {
                refused.push(Refused {
                    unit: u,
                    message: format!("{}: {}", self.writing(), m.message),
                });
                others.push(Vec::new());
                continue;
            }
            db.conn()
                .query_drop("SAVEPOINT ferry_row")
                .map_err(|e| plain(db, e))?;
            match self.unit(db, rows, unit) {
                Ok((c, also)) => {
                    total.inserted += c.inserted;
                    total.updated += c.updated;
                    total.unchanged += c.unchanged;
                    total.ignored += c.ignored;
                    total.conflicts += c.conflicts;
                    others.push(also);
                }
                Err(e) if e.transient => return Err(e),
                Err(e) => {
                    db.conn()
                        .query_drop("ROLLBACK TO SAVEPOINT ferry_row")
                        .map_err(|e| plain(db, e))?;
                    refused.push(Refused {
                        unit: u,
                        message: super::without_row_number(&e.error.to_string()),
                    });
                    others.push(Vec::new());
                }
            }
        }
        Ok(((total, others), refused))
    }

    /// One unit's rows, under its savepoint.
    fn unit(
        &self,
        db: &mut Db,
        rows: &[Vec<Value>],
        unit: &Unit<'_>,
    ) -> Result<(Counts, Vec<Counts>), WriteError> {
        let at = self.keys.as_ref().and_then(|k| k.at.clone());
        let mut total = Counts::default();
        for &i in &unit.rows {
            let row = &rows[i];
            let existing = match (&at, self.count_existing) {
                (Some(at), true) => {
                    let key: Vec<Value> = at.iter().map(|&j| row[j].clone()).collect();
                    Some(self.count_rows(db, &[key])?)
                }
                _ => None,
            };
            let answer = self.execute(db, row.clone(), 1, i)?;
            let c = self.page_counts(answer, existing);
            // A row that meets a different target row through another unique key:
            // that row named.
            if c.conflicts > 0 && !self.accept_conflicts {
                let _ = db.conn().query_drop("ROLLBACK TO SAVEPOINT ferry_row");
                let other = self.other_row(db, row)?;
                return Err(self.conflict_error(Some(i), 1, other));
            }
            total.inserted += c.inserted;
            total.updated += c.updated;
            total.unchanged += c.unchanged;
            total.ignored += c.ignored;
            total.conflicts += c.conflicts;
        }
        let mut also = Vec::with_capacity(unit.also.len());
        for (w, row) in &unit.also {
            also.push(w.write_more(db, std::slice::from_ref(row))?);
        }
        Ok((total, also))
    }
}
