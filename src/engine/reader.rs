//! The reader thread of a part: its own source session reads the part's key range in
//! keyset pages (bounded by rows and bytes, each checked to start after the page
//! before: the page guard), or, for a keyless table, in one streamed pass; it takes a
//! slot for each page, converts a direct copy's rows itself, and hands pages on to
//! the part's writer (or to the engine's thread, for a locally processed copy).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::db::Value;
use crossbeam_channel::{Receiver, Sender};

use crate::db::read::{read_page, read_raw_page, RawReadError, SourceQuery};
use crate::db::wire::{RawLayout, RawRows};
use crate::db::{Db, Role};
use crate::error::{Error, Result};

use super::page::{Page, Rows};
use super::pipeline::{Event, RawPage, Shared};
use super::process::process_page;
use super::retry::{self, Retry};
use super::transform::DirectProcessor;

pub(super) struct ReaderCtx {
    pub shared: Arc<Shared>,
    pub copy: usize,
    pub part: u32,
    pub query: SourceQuery,
    pub after: Option<Vec<Value>>,
    /// Rows of this part read before (stream positions continue from here).
    pub ordinal: u64,
    pub direct: Option<DirectProcessor>,
    /// The raw layout of this part's result, once known (see `RowPath::undecoded`).
    pub layout: Option<Arc<RawLayout>>,
    pub to_writer: Sender<Page>,
    /// A slot per page in flight; the writer gives them back.
    pub slots: Receiver<()>,
    pub raw: Sender<RawPage>,
    pub events: Sender<Event>,
}

impl ReaderCtx {
    pub fn run(mut self) {
        if let Err(error) = self.read() {
            let _ = self.events.send(Event::Failed {
                copy: self.copy,
                error,
            });
        }
    }

    fn read(&mut self) -> Result<()> {
        let mut db = self.shared.connect(Role::Source)?;
        let shared = self.shared.clone();
        let plan = &shared.plan;
        if plan.key.is_none() {
            return self.stream(&mut db);
        }
        let page = plan.page;
        let max_bytes = self.shared.cfg.page_bytes;
        // Rows per read: the page, or fewer when rows are big (from the server's
        // estimate at first, then from the rows read).
        let est = plan.source.avg_row_bytes as usize;
        let mut limit = max_bytes
            .checked_div(est)
            .map_or(page, |n| page.min(n.max(1)));
        let mut retry = Retry::new(self.shared.cfg.retries);
        loop {
            if self.shared.stopping() {
                return Ok(());
            }
            let sql = self.query.page_sql(self.after.as_deref(), limit)?;
            let read = match &shared.rows.undecoded {
                Some(sources) => read_raw_page(&mut db, sql, max_bytes, sources, &mut self.layout)
                    .map(|(rows, bytes)| (Rows::Undecoded(rows), bytes)),
                None => read_page(&mut db, sql, max_bytes)
                    .map(|(rows, bytes)| (Rows::Decoded(rows), bytes))
                    .map_err(RawReadError::Db),
            };
            let (rows, bytes) = match read {
                Ok(r) => r,
                Err(RawReadError::Layout(e)) => {
                    return Err(Error::database_caused(
                        format!("source {}: reading {}", db.spec, plan.source.name),
                        e,
                    ))
                }
                Err(RawReadError::Db(e))
                    if retry::transient(&e)
                        && retry.again(|n, of| {
                            log::warn!(
                                "copy {}: reading the source failed ({}); reconnecting, try \
                                 {n} of {of}",
                                plan.name,
                                crate::db::error_text(&e),
                            )
                        }) =>
                {
                    db = self.shared.connect(Role::Source)?;
                    continue;
                }
                Err(RawReadError::Db(e)) => {
                    return Err(db.err(&format!("reading {}", plan.source.name), e))
                }
            };
            retry.reset();
            let n = rows.len();
            let end = n < limit && bytes < max_bytes;
            if let Some(avg) = bytes.checked_div(n) {
                limit = page.min((max_bytes / avg.max(1)).max(1));
                self.guard(&mut db, &rows)?;
                self.after = match &rows {
                    Rows::Undecoded(raw) => Some(self.key_at(raw, raw.len() - 1)?),
                    Rows::Decoded(rows) => rows.last().map(|r| plan.key_values(r)),
                };
                self.send(rows, bytes)?;
            }
            if end || n == 0 {
                let _ = self.to_writer_end();
                return Ok(());
            }
        }
    }

    /// The page guard: a page must start after the last key of the page before, in
    /// the key's order, or paging would repeat rows (or never end).
    fn guard(&self, db: &mut Db, rows: &Rows) -> Result<()> {
        let Some(before) = &self.after else {
            return Ok(());
        };
        let plan = &self.shared.plan;
        let first = match rows {
            Rows::Undecoded(raw) => self.key_at(raw, 0)?,
            Rows::Decoded(rows) => match rows.first() {
                Some(r) => plan.key_values(r),
                None => return Ok(()),
            },
        };
        if crate::db::keyset::order(self.query.key(), &first, before, db)?
            == std::cmp::Ordering::Greater
        {
            return Ok(());
        }
        Err(Error::Database {
            cause: None,
            context: format!(
                "copy {} ({}), reading {}",
                plan.name, plan.location, plan.source.name
            ),
            message: format!(
                "paging does not advance: a page starts at {}, which is not after {}, the last \
                 key of the page before; the copy stopped so that no row is read twice. Check \
                 the copy's `where` (it must be one predicate) and the key's collation",
                plan.row_label(Some(&first), 0),
                plan.row_label(Some(before), 0),
            ),
        })
    }

    /// The key of an undecoded page's row `i` (its key columns are in the row).
    fn key_at(&self, raw: &RawRows, i: usize) -> Result<Vec<Value>> {
        let at = &self.shared.rows.undecoded_key;
        let row = raw.layout.decode(raw.row(i)).map_err(|e| {
            Error::database_caused(format!("reading {}", self.shared.plan.source.name), e)
        })?;
        Ok(at.iter().map(|&j| row[j].clone()).collect())
    }

    pub(super) fn to_writer_end(&self) -> std::result::Result<(), ()> {
        if self.direct.is_some() {
            self.to_writer.send(Page::end(self.part)).map_err(|_| ())
        } else {
            // Through the local thread, so the end follows every page.
            self.raw
                .send((self.copy, Page::end(self.part)))
                .map_err(|_| ())
        }
    }

    pub(super) fn send(&mut self, rows: Rows, bytes: usize) -> Result<()> {
        // Wait for a slot: at most this part's share of pages between here and
        // the end of its writer. A writer that is gone (failed or stopped) leaves
        // none: stop quietly, it reports why.
        if self.slots.recv().is_err() {
            self.shared.cancel.store(true, Ordering::SeqCst);
            return Ok(());
        }
        let plan = &self.shared.plan;
        let read = rows.len() as u64;
        if let Some(t) = &self.shared.limit {
            t.take(read, bytes as u64);
        }
        if let Some(t) = &self.shared.cfg.job_limit {
            t.take(read, bytes as u64);
        }
        if let Some(p) = &self.shared.cfg.pace {
            p.take(read, &self.shared.cfg.stop);
        }
        let first_ordinal = self.ordinal + 1;
        let mut page = Page {
            part: self.part,
            rows,
            keys: Vec::new(),
            first_ordinal,
            last_key: self.after.clone(),
            read,
            skipped: 0,
            origins: Vec::new(),
            row_origin: Vec::new(),
            emitted_origin: Vec::new(),
            emitted_keys: Vec::new(),
            rejects: Vec::new(),
            emitted: Vec::new(),
            end: false,
        };
        if let (Some(d), Some(_)) = (&mut self.direct, &self.shared.rows.key_in_row) {
            // Direct rows name themselves: their key is in the target row.
            self.ordinal += read;
            if let Rows::Decoded(rows) = page.rows {
                page.rows = Rows::Decoded(rows.into_iter().map(|r| d.convert(r)).collect());
            }
            // A closed queue means the writer failed or stopped; it reports why.
            let _ = self.to_writer.send(page);
            return Ok(());
        }
        match &page.rows {
            Rows::Decoded(rows) => {
                page.keys = rows
                    .iter()
                    .map(|r| {
                        self.ordinal += 1;
                        (plan.key_values(r), self.ordinal)
                    })
                    .collect();
            }
            // Undecoded rows get their keys when they need them (see
            // `process::process_undecoded_page`).
            Rows::Undecoded(_) => self.ordinal += read,
        }
        match &mut self.direct {
            Some(d) => {
                let out = process_page(&self.shared, d, page)?;
                // A closed queue means the writer failed or stopped; it reports why.
                let _ = self.to_writer.send(out);
            }
            None => {
                let _ = self.raw.send((self.copy, page));
            }
        }
        Ok(())
    }
}
