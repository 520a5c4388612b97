//! Named locks on the server (`GET_LOCK`), as the job's run lock uses them: who holds
//! one, taking one, checking this session still holds it, and letting it go.

use mysql::prelude::Queryable;

use crate::db::Db;
use crate::error::{Error, Result};

impl Db {
    /// The session holding lock `name` (`IS_USED_LOCK`), `None` when it is free.
    pub fn lock_holder(&mut self, name: &str) -> Result<Option<u64>> {
        let session: Option<Option<u64>> = self
            .conn
            .exec_first("SELECT IS_USED_LOCK(?)", (name,))
            .map_err(|e| self.err("reading the job's lock", e))?;
        Ok(session.flatten())
    }

    /// `GET_LOCK(name, wait)`: `Some(this session's id)` when taken, `None` when
    /// another session holds it.
    pub fn get_lock(&mut self, name: &str, wait: u32) -> Result<Option<u64>> {
        let row: Option<(Option<i64>, u64)> = self
            .conn
            .exec_first("SELECT GET_LOCK(?, ?), CONNECTION_ID()", (name, wait))
            .map_err(|e| self.err(&format!("taking the job's lock `{name}`"), e))?;
        match row {
            Some((Some(1), session)) => Ok(Some(session)),
            Some((Some(0), _)) => Ok(None),
            _ => Err(Error::Database {
                context: format!("taking the job's lock `{name}`"),
                message: "GET_LOCK returned NULL".into(),
                cause: None,
            }),
        }
    }

    /// Whether this session (still) holds lock `name`.
    pub fn holds_lock(&mut self, name: &str) -> Result<bool> {
        let held: Option<Option<i64>> = self
            .conn
            .exec_first("SELECT IS_USED_LOCK(?) = CONNECTION_ID()", (name,))
            .map_err(|e| self.err(&format!("checking the job's lock `{name}`"), e))?;
        Ok(held == Some(Some(1)))
    }

    /// Lets lock `name` go (`RELEASE_LOCK`); ending the session would too.
    pub fn release_lock(&mut self, name: &str) -> Result<()> {
        self.conn
            .exec_drop("DO RELEASE_LOCK(?)", (name,))
            .map_err(|e| self.err(&format!("releasing the job's lock `{name}`"), e))
    }
}
