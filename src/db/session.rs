//! The state of a session itself: whether it still answers, and ending the statement
//! another session of the same server is running (`KILL QUERY`).

use mysql::prelude::Queryable;

use crate::db::Db;
use crate::error::Result;

impl Db {
    /// Whether the session still answers (a ping): `false` when its server went away
    /// since it was last used.
    pub fn is_alive(&mut self) -> bool {
        self.conn.ping().is_ok()
    }

    /// The server's id of this session (the `Id` of `SHOW PROCESSLIST`), for ending its
    /// statement from another session (`kill_query`).
    pub fn connection_id(&self) -> u32 {
        self.conn.connection_id()
    }

    /// Ends the statement session `id` is running (`KILL QUERY`), from this session.
    pub fn kill_query(&mut self, id: u32) -> Result<()> {
        self.conn
            .query_drop(format!("KILL QUERY {id}"))
            .map_err(|e| self.err(&format!("running `KILL QUERY {id}`"), e))
    }
}
