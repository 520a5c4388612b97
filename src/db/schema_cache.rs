//! The names the REPL completes: every table of the database with its columns in
//! order, read in one information_schema query (so a schema of thousands of tables is
//! one round trip).

use mysql::prelude::Queryable;

use super::Db;
use crate::error::Result;

impl Db {
    /// Every table and view of the database with its column names in order, sorted by
    /// table name.
    pub fn table_columns(&mut self) -> Result<Vec<(String, Vec<String>)>> {
        let db = self.database().to_string();
        let rows: Vec<(String, String)> = self
            .conn
            .exec(
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
                (db,),
            )
            .map_err(|e| self.err("listing tables and columns", e))?;
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for (table, column) in rows {
            match out.last_mut() {
                Some((t, cols)) if *t == table => cols.push(column),
                _ => out.push((table, vec![column])),
            }
        }
        Ok(out)
    }
}
