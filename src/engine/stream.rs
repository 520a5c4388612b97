//! A keyless table's reader: one streamed pass over the source's rows, cut into pages
//! as they come (such a copy cannot resume part-way). A stop kills the query from a
//! second session, so the stream ends after a page instead of the rest of the table
//! (the streaming itself is `Db::stream_rows`).

use crate::db::stream::RowSink;
use crate::db::value::wire_size;
use crate::db::{Db, Role, Value};
use crate::error::Result;

use super::page::Rows;
use super::reader::ReaderCtx;

/// The stream's rows gathered into pages, each sent on when full.
struct Pages<'a> {
    ctx: &'a mut ReaderCtx,
    buf: Vec<Vec<Value>>,
    bytes: usize,
    page: usize,
}

impl RowSink for Pages<'_> {
    fn stopping(&self) -> bool {
        self.ctx.shared.stopping()
    }

    fn kill(&self, connection: u32) -> bool {
        self.ctx.kill_query(connection)
    }

    fn row(&mut self, row: Vec<Value>) -> Result<()> {
        self.bytes += row.iter().map(wire_size).sum::<usize>();
        self.buf.push(row);
        if self.buf.len() >= self.page || self.bytes >= self.ctx.shared.cfg.page_bytes {
            self.ctx
                .send(Rows::Decoded(std::mem::take(&mut self.buf)), self.bytes)?;
            self.bytes = 0;
        }
        Ok(())
    }
}

impl ReaderCtx {
    /// A keyless table's rows, in one streamed pass cut into pages.
    pub(super) fn stream(&mut self, db: &mut Db) -> Result<()> {
        let plan = self.shared.plan.clone();
        let (sql, p) = self.query.stream_sql();
        let mut pages = Pages {
            ctx: self,
            buf: Vec::new(),
            bytes: 0,
            page: plan.page,
        };
        if db.stream_rows(sql, p, &plan.source.name, &mut pages)? {
            return Ok(());
        }
        let Pages { buf, bytes, .. } = pages;
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
        other.kill_query(id).is_ok()
    }
}
