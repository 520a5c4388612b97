//! A keyless table's reader: one streamed pass over the source's rows, cut into pages
//! as they come (such a copy cannot resume part-way). A stop kills the query from a
//! second session as soon as it is asked (not when the next row arrives), so the
//! stream ends after a page instead of the rest of the table (the streaming itself is
//! `Db::stream_rows`).

use std::sync::Arc;

use crate::db::stream::{RowSink, StreamStop};
use crate::db::value::wire_size;
use crate::db::{Db, Role, Value};
use crate::error::Result;

use super::page::Rows;
use super::pipeline::Shared;
use super::reader::ReaderCtx;

/// The stream's rows gathered into pages, each sent on when full.
struct Pages<'a> {
    ctx: &'a mut ReaderCtx,
    buf: Vec<Vec<Value>>,
    bytes: usize,
    page: usize,
}

impl RowSink for Pages<'_> {
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
        let stop = Stopper(self.shared.clone());
        let mut pages = Pages {
            ctx: self,
            buf: Vec::new(),
            bytes: 0,
            page: plan.page,
        };
        if db.stream_rows(sql, p, &plan.source.name, &mut pages, &stop)? {
            return Ok(());
        }
        let Pages { buf, bytes, .. } = pages;
        if !buf.is_empty() {
            self.send(Rows::Decoded(buf), bytes)?;
        }
        let _ = self.to_writer_end();
        Ok(())
    }
}

/// What stops a copy's stream: its copy stopping (a signal, or a failure elsewhere).
struct Stopper(Arc<Shared>);

impl StreamStop for Stopper {
    fn stopping(&self) -> bool {
        self.0.stopping()
    }

    /// Ends the source's query on connection `id` (`KILL QUERY` from a second session),
    /// so a stopped stream's connection can be read to its end and closed cleanly
    /// instead of dropped mid-result (an "Aborted connection" on the server).
    fn kill(&self, id: u32) -> bool {
        let Ok(mut other) = self.0.connect(Role::Source) else {
            return false;
        };
        other.kill_query(id).is_ok()
    }
}
