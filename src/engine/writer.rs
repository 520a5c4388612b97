//! The writer thread of a part: its own target session writes each page in one
//! transaction together with the part's checkpoint, riding out transient faults (a
//! page in doubt after a lost connection is written again unless its checkpoint says
//! it landed), names the row a page failed on, and counts what each page did.

use std::sync::Arc;

use crate::db::Value;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::db::state::{key_to_state, PartState};
use crate::db::write::{Counts, RowCheck, WriteError, Writer};
use crate::db::{Db, Role};
use crate::error::{Error, Result, RowError};

use super::page::Page;
use super::pipeline::{Event, Shared};
use super::retry::Retry;

pub(super) struct WriterCtx {
    pub shared: Arc<Shared>,
    pub copy: usize,
    pub part: u32,
    pub state: PartState,
    pub events: Sender<Event>,
    /// Gives a page's slot back to the reader once the page is written.
    pub slots: Sender<()>,
}

impl WriterCtx {
    pub fn run(mut self, rx: Receiver<Page>) {
        let result = self.write(rx);
        if let Err(error) = result {
            let _ = self.events.send(Event::Failed {
                copy: self.copy,
                error,
            });
        }
        let _ = self.events.send(Event::PartEnded {
            copy: self.copy,
            part: self.part,
        });
    }

    fn write(&mut self, rx: Receiver<Page>) -> Result<()> {
        let mut db = self.shared.connect(Role::Target)?;
        let plan = &self.shared.plan;
        let fit = super::fit::Fit::new(plan).map(|f| Box::new(f) as Box<dyn RowCheck>);
        let writer = Writer::new(&plan.write_target(), &db, self.shared.method, fit);
        let stop = self.shared.cfg.stop.clone();
        // Pages already queued are written even when the copy failed elsewhere (they
        // are whole and good); only a stop stops a writer before its queue is empty.
        loop {
            // A stop also stops a writer that waits: a stopped reader sends nothing
            // more, and a locally processed copy's queue stays open on the engine's
            // thread, so waiting for the queue to close would never end.
            let msg = match rx.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) if !stop.is_set() => continue,
                Err(_) => return Ok(()),
            };
            if stop.is_set() {
                return Ok(());
            }
            if msg.end {
                return self.end(&mut db);
            }
            self.page(&mut db, &writer, msg)?;
            let _ = self.slots.send(());
        }
    }

    /// Records that the part is done.
    fn end(&mut self, db: &mut Db) -> Result<()> {
        self.state.done = true;
        let shared = &self.shared;
        shared.store.commit_part(
            db,
            &|| shared.connect(Role::Target),
            shared.cfg.retries,
            &shared.id,
            self.part,
            &self.state,
        )
    }

    fn page(&mut self, db: &mut Db, writer: &Writer, mut page: Page) -> Result<()> {
        let mut next = self.state.clone();
        next.pages += 1;
        if page.last_key.is_some() {
            next.last_key = page.last_key.as_ref().map(|k| key_to_state(k));
        }
        next.read += page.read;
        next.skipped += page.skipped;
        next.written += page.len() as u64;
        let counts = self.write_page(db, writer, &mut page, &next)?;
        self.state = next;
        let shared = &self.shared;
        shared.store.part_file(&shared.id, self.part, &self.state)?;
        self.count(&page, &counts);
        Ok(())
    }

    /// Writes a page with the part's checkpoint `next`, trying again after transient
    /// faults.
    fn write_page(
        &self,
        db: &mut Db,
        writer: &Writer,
        page: &mut Page,
        next: &PartState,
    ) -> Result<Counts> {
        let shared = &self.shared;
        let mut retry = Retry::new(shared.cfg.retries);
        loop {
            let checkpoint = shared.store.checkpoint_sql(&shared.id, self.part, next);
            let e = match page.write(writer, db, checkpoint) {
                Ok(c) => return Ok(c),
                Err(e) => e,
            };
            let again = e.transient
                && retry.again(|n, of| {
                    log::warn!(
                        "copy {}: page {} failed ({}); reconnecting, try {n} of {of}",
                        shared.plan.name,
                        next.pages,
                        e.error,
                    )
                });
            if !again {
                return Err(self.refused(db, writer, page, next.pages, e));
            }
            *db = shared.connect(Role::Target)?;
            if self.landed(db, next.pages)? {
                log::info!(
                    "copy {}: page {} had landed before the connection was lost",
                    shared.plan.name,
                    next.pages
                );
                // Its exact counts were lost with the connection.
                return Ok(Counts {
                    inserted: page.len() as u64,
                    ..Default::default()
                });
            }
        }
    }

    /// After a reconnect: whether the page in doubt (the part's `pages`th) landed, as
    /// its checkpoint says; an error when nothing can tell and writing it again could
    /// double its rows.
    fn landed(&self, db: &mut Db, pages: u64) -> Result<bool> {
        let shared = &self.shared;
        match shared.store.committed_pages(db, &shared.id, self.part) {
            Some(Ok(Some(committed))) => Ok(committed >= pages),
            Some(Err(e)) => Err(e),
            _ if shared.keyless_target => Err(Error::Database {
                context: format!("copy {}, page {pages}", shared.plan.name),
                message: "the connection was lost while the page committed; \
                          without a state table ferry cannot tell whether it \
                          landed, and the target has no unique key"
                    .into(),
                cause: None,
            }),
            _ => Ok(false),
        }
    }

    /// The error of a page the target refused, naming its row when it can be found.
    fn refused(
        &self,
        db: &mut Db,
        writer: &Writer,
        page: &Page,
        pages: u64,
        e: WriteError,
    ) -> Error {
        let plan = &self.shared.plan;
        let server = match &e.error {
            Error::Database { message, .. } => message.clone(),
            other => other.to_string(),
        };
        let rows = page.rows.decoded();
        // A multi-row statement does not say which row the server refused (NULL into
        // NOT NULL, a duplicate entry, a CHECK constraint): the page's rows, written
        // again one at a time and rolled back, do.
        let row = e.row.or_else(|| {
            let about_values = super::row_error::is_about_values(&server);
            (about_values && !rows.is_empty())
                .then(|| writer.locate_row(db, rows))
                .flatten()
        });
        let Some((k, n)) = row.and_then(|r| self.key_of(page, r)) else {
            return e.error;
        };
        Error::Row(Box::new(RowError {
            copy: plan.name.clone(),
            location: plan.location.clone(),
            page: pages,
            key: plan.row_label(Some(&k), n),
            culprits: super::row_error::culprits(
                plan,
                &server,
                row.and_then(|r| rows.get(r)).map(Vec::as_slice),
            ),
            message: format!(
                "writing into {}.{}: {}{}",
                plan.target.database,
                plan.target.name,
                crate::db::write::without_row_number(&server),
                super::row_error::check_words(plan, &server)
                    .map(|w| format!(" {w}"))
                    .unwrap_or_default()
            ),
        }))
    }

    /// Key and stream position of a page's row `r`: carried by the page, or read from
    /// the row.
    fn key_of(&self, page: &Page, r: usize) -> Option<(Vec<Value>, u64)> {
        if let Some((k, n)) = page.keys.get(r) {
            return Some((k.clone(), *n));
        }
        let at = self.shared.rows.key_in_row.as_ref()?;
        let row = page.rows.decoded().get(r)?;
        Some((
            at.iter().map(|&j| row[j].clone()).collect(),
            page.first_ordinal + r as u64,
        ))
    }

    /// Adds a written page to the copy's counts and progress.
    fn count(&self, page: &Page, counts: &Counts) {
        let shared = &self.shared;
        let (read, written) = {
            let mut s = shared.stats.lock().unwrap_or_else(|e| e.into_inner());
            s.read += page.read;
            s.skipped += page.skipped;
            s.inserted += counts.inserted;
            s.updated += counts.updated;
            s.unchanged += counts.unchanged;
            s.ignored += counts.ignored;
            s.conflicts += counts.conflicts;
            s.written += counts.inserted + counts.updated;
            (s.read + s.resumed, s.written)
        };
        shared
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .page(self.part, self.state.pages, read, written);
    }
}
