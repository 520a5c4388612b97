//! Streaming a query's rows in one pass (`Db::stream_rows`), for a keyless table's
//! reader: each row goes to a `RowSink` as it arrives; a stop kills the query from a
//! second session (the sink's `kill`), so the stream ends after the rows in flight
//! instead of the rest of the table.

use mysql::prelude::Queryable;

use crate::db::read::params;
use crate::db::{error_text, Db, Value};
use crate::error::{Error, Result};

/// Where a streamed query's rows go.
pub trait RowSink {
    /// Asked as each row arrives: `true` stops the stream.
    fn stopping(&self) -> bool;
    /// Ends the query of session `connection` from another session (`KILL QUERY`);
    /// `true` when it did.
    fn kill(&self, connection: u32) -> bool;
    /// One row of the stream.
    fn row(&mut self, row: Vec<Value>) -> Result<()>;
}

impl Db {
    /// Streams the rows of `sql` into `sink`; `table` names them in messages. Returns
    /// whether a stop ended the stream early.
    pub fn stream_rows(
        &mut self,
        sql: String,
        p: Vec<Value>,
        table: &str,
        sink: &mut dyn RowSink,
    ) -> Result<bool> {
        let spec = self.spec.clone();
        let context = format!("source {spec}: reading {table}");
        let err = |e: mysql::Error| Error::Database {
            context: context.clone(),
            message: spec.scrub(&error_text(&e)),
            cause: Some(std::sync::Arc::new(e)),
        };
        let id = self.conn.connection_id();
        let mut result = self.conn.exec_iter(sql, params(p)).map_err(err)?;
        let mut stopped = false;
        let mut killed = false;
        if let Some(mut set) = result.iter() {
            while let Some(row) = set.next() {
                if sink.stopping() {
                    stopped = true;
                    // The server stops sending at once; what is in flight is read
                    // (dropping the set), and the session ends with COM_QUIT.
                    killed = sink.kill(id);
                    if !killed {
                        std::mem::forget(set);
                    }
                    break;
                }
                sink.row(row.map_err(err)?.unwrap())?;
            }
        }
        if stopped {
            // Dropping an unfinished result makes the driver read the rest of the
            // table first; unless the query was killed, abandon it (and its
            // connection, which the caller drops) instead, so a stop takes a page,
            // not the rest of the table.
            if killed {
                drop(result);
            } else {
                std::mem::forget(result);
            }
            return Ok(true);
        }
        drop(result);
        Ok(false)
    }
}
