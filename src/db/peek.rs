//! The first rows of a table, as the REPL's and the Lua handles' `peek` shows them.

use crate::db::schema::quote_ident;
use crate::db::{Db, Rows};
use crate::error::Result;

impl Db {
    /// The first `n` rows of `table` in this session's database.
    pub fn peek(&mut self, table: &str, n: u32) -> Result<Rows> {
        let sql = format!(
            "SELECT * FROM {}.{} LIMIT {n}",
            quote_ident(self.database()),
            quote_ident(table)
        );
        self.query(&sql, vec![])
    }
}
