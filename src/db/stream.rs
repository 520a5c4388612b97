//! Streaming a query's rows in one pass (`Db::stream_rows`), for a keyless table's
//! reader: each row goes to a `RowSink` as it arrives. A stop kills the query from a
//! second session (`StreamStop::kill`), so the stream ends after the rows in flight
//! instead of the rest of the table. The server sends rows in bursts (it fills its
//! network buffer first), so a slow query's next row may be seconds away: a watcher
//! thread asks for the stop while the stream waits, and kills the query at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use mysql::prelude::Queryable;

use crate::db::read::params;
use crate::db::{error_text, Db, Value};
use crate::error::{Error, Result};

/// How often the watcher asks whether the stream is to stop.
const WATCH_EVERY: Duration = Duration::from_millis(10);

/// Where a streamed query's rows go.
pub trait RowSink {
    /// One row of the stream.
    fn row(&mut self, row: Vec<Value>) -> Result<()>;
}

/// What stops a stream, asked from the stream's watcher thread too.
pub trait StreamStop: Sync {
    /// `true` stops the stream.
    fn stopping(&self) -> bool;
    /// Ends the query of session `connection` from another session (`KILL QUERY`);
    /// `true` when it did.
    fn kill(&self, connection: u32) -> bool;
}

/// The watcher: until `done` says the stream is over, asks `stop` every
/// `WATCH_EVERY`; on a stop, kills the query of session `id` unless the stream has
/// `finished` already. Returns whether it killed the query.
fn watch(done: Receiver<()>, stop: &dyn StreamStop, finished: &AtomicBool, id: u32) -> bool {
    loop {
        let over = !matches!(
            done.recv_timeout(WATCH_EVERY),
            Err(RecvTimeoutError::Timeout)
        );
        if stop.stopping() && !finished.load(Ordering::SeqCst) {
            return stop.kill(id);
        }
        if over {
            return false;
        }
    }
}

impl Db {
    /// Streams the rows of `sql` into `sink` until `stop` says to stop; `table` names
    /// them in messages. Returns whether a stop ended the stream early.
    pub fn stream_rows(
        &mut self,
        sql: String,
        p: Vec<Value>,
        table: &str,
        sink: &mut dyn RowSink,
        stop: &dyn StreamStop,
    ) -> Result<bool> {
        let spec = self.spec.clone();
        let context = format!("source {spec}: reading {table}");
        let err = |e: mysql::Error| Error::Database {
            context: context.clone(),
            message: spec.scrub(&error_text(&e)),
            cause: Some(std::sync::Arc::new(e)),
        };
        let id = self.conn.connection_id();
        let conn = &mut *self.conn;
        let finished = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let (done, watching) = channel::<()>();
            let finished = &finished;
            let watcher = scope.spawn(move || watch(watching, stop, finished, id));
            // Ends the watcher (once); whether it killed the query.
            let mut ending = Some((done, watcher));
            let mut end = move || match ending.take() {
                Some((done, watcher)) => {
                    drop(done);
                    watcher.join().unwrap_or(false)
                }
                None => false,
            };
            let mut result = match conn.exec_iter(sql, params(p)) {
                Ok(r) => r,
                Err(e) => {
                    // Killed before its first row: stopped; else the query's error.
                    return if end() { Ok(true) } else { Err(err(e)) };
                }
            };
            let mut stopped = false;
            let mut killed = None;
            if let Some(mut set) = result.iter() {
                for row in set.by_ref() {
                    if stop.stopping() {
                        stopped = true;
                        break;
                    }
                    match row {
                        Ok(row) => sink.row(row.unwrap())?,
                        // The watcher's KILL ends the query with an error.
                        Err(_) if stop.stopping() => {
                            stopped = true;
                            break;
                        }
                        Err(e) => return Err(err(e)),
                    }
                }
                finished.store(!stopped, Ordering::SeqCst);
                // The watcher kills the query now if it has not yet: the server stops
                // sending at once, what is in flight is read (dropping the set), and
                // the session ends with COM_QUIT.
                let k = end();
                if stopped && !k {
                    std::mem::forget(set);
                }
                killed = Some(k);
            }
            let killed = match killed {
                Some(k) => k,
                None => {
                    finished.store(true, Ordering::SeqCst);
                    end()
                }
            };
            // A query the watcher killed ended early, whatever its rows said.
            if stopped || killed {
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
        })
    }
}
