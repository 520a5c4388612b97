//! Writing a copy part's checkpoint row outside a page's transaction (the statement
//! comes from the state table, `StateHandle::checkpoint_sql`); a failure comes back as
//! a `Fault`, so the engine's retry policy can tell a transient one.

use mysql::prelude::Queryable;

use crate::db::fault::Fault;
use crate::db::{Db, Value};

impl Db {
    /// Runs a checkpoint statement with its parameters.
    pub fn write_checkpoint(&mut self, sql: &str, params: Vec<Value>) -> Result<(), Fault> {
        self.conn.exec_drop(sql, params).map_err(Fault::from)
    }
}
