//! A keyless table's reader: one streamed pass over the source's rows, cut into pages
//! as they come (such a copy cannot resume part-way). A stop kills the query from a
//! second session, so the stream ends after a page instead of the rest of the table.

use mysql::prelude::Queryable;

use crate::db::read::params;
use crate::db::value::wire_size;
use crate::db::{Db, Role};
use crate::error::{Error, Result};

use super::page::Rows;
use super::reader::ReaderCtx;

impl ReaderCtx {
    /// A keyless table's rows, in one streamed pass cut into pages.
    pub(super) fn stream(&mut self, db: &mut Db) -> Result<()> {
        let plan = self.shared.plan.clone();
        let (sql, p) = self.query.stream_sql();
        let spec = db.spec.clone();
        let context = format!("source {spec}: reading {}", plan.source.name);
        let err = |e: mysql::Error| Error::Database {
            context: context.clone(),
            message: spec.scrub(&crate::db::error_text(&e)),
        };
        let id = db.conn().connection_id();
        let mut result = db.conn().exec_iter(sql, params(p)).map_err(err)?;
        let mut buf = Vec::new();
        let mut bytes = 0;
        let mut stopped = false;
        let mut killed = false;
        if let Some(mut set) = result.iter() {
            while let Some(row) = set.next() {
                if self.shared.stopping() {
                    stopped = true;
                    // The server stops sending at once; what is in flight is read
                    // (dropping the set), and the session ends with COM_QUIT.
                    killed = self.kill_query(id);
                    if !killed {
                        std::mem::forget(set);
                    }
                    break;
                }
                let row = row.map_err(err)?.unwrap();
                bytes += row.iter().map(wire_size).sum::<usize>();
                buf.push(row);
                if buf.len() >= plan.page || bytes >= self.shared.cfg.page_bytes {
                    self.send(Rows::Decoded(std::mem::take(&mut buf)), bytes)?;
                    bytes = 0;
                }
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
            return Ok(());
        }
        drop(result);
        if !buf.is_empty() {
            self.send(Rows::Decoded(buf), bytes)?;
        }
        let _ = self.to_writer_end();
        Ok(())
    }

    /// Ends the source's query on connection `id` (`KILL QUERY` from a second session),
    /// so a stopped stream's connection can be read to its end and closed cleanly
    /// instead of dropped mid-result (an "Aborted connection" on the server).
    fn kill_query(&self, id: u32) -> bool {
        let Ok(mut other) = self.shared.connect(Role::Source) else {
            return false;
        };
        other.exec(&format!("KILL QUERY {id}"), Vec::new()).is_ok()
    }
}
