//! Finding the row a failed page's error belongs to when the server did not name it:
//! the page's rows written again one at a time in a transaction that is rolled back.

use mysql::prelude::Queryable;
use mysql::Value;

use super::Writer;
use crate::db::Db;

impl Writer {
    /// The row of a failed page that the server refused without naming it (a multi-
    /// row statement's NULL into a NOT NULL column, duplicate entry or CHECK
    /// constraint): the page's rows are written again one at a time, in a transaction
    /// that is rolled back, and the first that fails is the one. Only for a page that
    /// failed, so only then costs a statement per row.
    pub fn locate_row(&self, db: &mut Db, rows: &[Vec<Value>]) -> Option<usize> {
        if rows.len() == 1 {
            return Some(0);
        }
        db.conn().query_drop("START TRANSACTION").ok()?;
        let mut found = None;
        for (i, row) in rows.iter().enumerate() {
            match self.execute(db, row.clone(), 1, 0) {
                Ok(_) => {}
                // A lost connection says nothing about the row.
                Err(e) if e.transient => break,
                Err(_) => {
                    found = Some(i);
                    break;
                }
            }
        }
        let _ = db.conn().query_drop("ROLLBACK");
        found
    }
}
