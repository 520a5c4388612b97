//! A server or driver error handed to the layers above `db` without the mysql crate
//! (`Fault`): whether trying again may pass, what it says (as the client library
//! words it), and the crate `Error` it becomes with what was being done.

use std::fmt;

use crate::db::{is_transient, Db};
use crate::error::Error;

/// One failed statement's error, as the client library reported it.
#[derive(Debug)]
pub struct Fault(mysql::Error);

impl Fault {
    /// Whether the statement may pass on a fresh connection (`db::is_transient`).
    pub fn transient(&self) -> bool {
        is_transient(&self.0)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Fault {}

impl From<mysql::Error> for Fault {
    fn from(e: mysql::Error) -> Self {
        Fault(e)
    }
}

impl Db {
    /// A fault on this session as the crate's error, with what was being done (as
    /// `Db::err`).
    pub fn fault(&self, context: &str, f: Fault) -> Error {
        self.err(context, f.0)
    }
}
