//! The writer thread of a part: its own target session writes each page in one
//! transaction together with the part's checkpoint, riding out transient faults (a
//! page in doubt after a lost connection is written again unless its checkpoint says
//! it landed), names the row a page failed on (or, with `on_error = "reject"`, sets
//! the rows the target refuses apart and commits the rest), and counts what each page
//! did.

use std::sync::Arc;

use crate::db::Value;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::db::state::{key_to_state, PartState};
use crate::db::write::{Also, Counts, RowCheck, Unit, WriteError, Writer};
use crate::db::{Db, Role};
use crate::error::{Error, Result, RowError};

use super::fanout::Fanout;
use super::page::Page;
use super::pipeline::{Event, Shared};
use super::rejects::Reject;
use super::retry::Retry;
use super::transform::Emitted;

pub(super) struct WriterCtx {
    pub shared: Arc<Shared>,
    pub copy: usize,
    pub part: u32,
    pub state: PartState,
    pub events: Sender<Event>,
    /// Gives a page's slot back to the reader once the page is written.
    pub slots: Sender<()>,
    /// The checkpoint of a page written row by row whose commit is in doubt.
    pub pending: std::cell::RefCell<Option<PartState>>,
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
        let fit = self
            .shared
            .fit
            .clone()
            .map(|f| Box::new(f) as Box<dyn RowCheck>);
        let writer = Writer::new(&plan.write_target(), &db, self.shared.method, fit);
        let mut fanout = Fanout::new(self.shared.emits.clone(), plan.accept.clone());
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
            self.page(&mut db, &writer, &mut fanout, msg)?;
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

    fn page(
        &mut self,
        db: &mut Db,
        writer: &Writer,
        fanout: &mut Fanout,
        mut page: Page,
    ) -> Result<()> {
        let mut next = self.state.clone();
        next.pages += 1;
        if page.last_key.is_some() {
            next.last_key = page.last_key.as_ref().map(|k| key_to_state(k));
        }
        next.read += page.read;
        next.skipped += page.skipped;
        next.written += page.len() as u64;
        // Rows the processor refused go to the rejects file before the page commits.
        let mut entries = Vec::new();
        if let Some(file) = &self.shared.rejects {
            let rejects = std::mem::take(&mut page.rejects);
            entries = self.entries(next.pages, rejects);
            file.write(self.part, next.pages, &entries)?;
            next.rejected += entries.len() as u64;
        }
        // Rows emitted into other tables commit in the page's transaction.
        let groups = fanout.groups(db, &page.emitted)?;
        let also = Also {
            writes: groups
                .iter()
                .map(|(k, rows)| (fanout.get(k), rows.as_slice()))
                .collect(),
            ..Also::default()
        };
        let fan = (&*fanout, &also);
        let counts = self.write_page(db, writer, &mut page, &mut next, &mut entries, fan)?;
        // (Counted already when the page was written row by row.)
        if !groups.is_empty() && also.counts.borrow().len() == groups.len() {
            let mut s = self.shared.stats.lock().unwrap_or_else(|e| e.into_inner());
            super::fanout::count(&mut s.emitted, &groups, &also.counts.borrow());
        }
        let rejected = next.rejected - self.state.rejected;
        self.state = next;
        let shared = &self.shared;
        shared.store.part_file(&shared.id, self.part, &self.state)?;
        self.count(&page, &counts, rejected);
        if rejected > 0 {
            self.past_max_rejects()?;
        }
        Ok(())
    }

    /// The rejects file's entries for `rejects`, rows of the part's `page`th page.
    fn entries(&self, page: u64, rejects: Vec<Reject>) -> Vec<String> {
        let shared = &self.shared;
        rejects
            .iter()
            .map(|r| super::rejects::entry(&shared.plan, &shared.id, self.part, page, r))
            .collect()
    }

    /// An error when the copy has set aside more rows than `max_rejects` allows.
    fn past_max_rejects(&self) -> Result<()> {
        let shared = &self.shared;
        let Some(file) = &shared.rejects else {
            return Ok(());
        };
        let Some(limit) = file.limit(shared.total) else {
            return Ok(());
        };
        let rejected = file.before
            + shared
                .stats
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .rejected;
        if rejected <= limit {
            return Ok(());
        }
        Err(Error::Database {
            context: "on_error = \"reject\"".into(),
            message: format!(
                "{rejected} rows rejected, more than max_rejects allows ({limit}); they are in \
                 {}; the copy stopped after the page that went past it, which is committed \
                 with the pages before it: fix the job or the data, then run again \
                 (--resume continues after the last committed page)",
                file.spec.path.display()
            ),
            cause: None,
        })
    }

    /// Writes a page with the part's checkpoint `next`, trying again after transient
    /// faults.
    fn write_page(
        &self,
        db: &mut Db,
        writer: &Writer,
        page: &mut Page,
        next: &mut PartState,
        entries: &mut Vec<String>,
        (fanout, also): (&Fanout, &Also<'_>),
    ) -> Result<Counts> {
        let shared = &self.shared;
        let mut retry = Retry::new(shared.cfg.retries);
        self.pending.take();
        loop {
            let checkpoint = shared.store.checkpoint_sql(&shared.id, self.part, next);
            let e = match page.write(writer, db, checkpoint, also) {
                Ok(c) => return Ok(c),
                Err(e) => e,
            };
            // `on_error = "reject"`: the rows the target refuses are set apart and the
            // rest of the page commits.
            let e = if shared.rejects.is_some() && !e.transient && self.about_rows(&e) {
                match self.apart(db, writer, page, next, entries, fanout) {
                    Ok(c) => {
                        also.counts.borrow_mut().clear();
                        return Ok(c);
                    }
                    // The rejects file could not be written: about no row.
                    Err(e) if matches!(e.error, Error::Io { .. }) => return Err(e.error),
                    Err(e) => e,
                }
            } else {
                e
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
                if let Some(g) = e.also.map(usize::from) {
                    return Err(self.refused_emitted(db, page, next.pages, e, (fanout, also), g));
                }
                return Err(self.refused(db, writer, page, next.pages, e));
            }
            *db = shared.connect(Role::Target)?;
            if self.landed(db, next.pages)? {
                log::info!(
                    "copy {}: page {} had landed before the connection was lost",
                    shared.plan.name,
                    next.pages
                );
                // Its exact counts were lost with the connection. Written row by row,
                // it committed the checkpoint made for it, which counts its rejects.
                if let Some(landed) = self.pending.take() {
                    let inserted = landed.written - self.state.written;
                    *next = landed;
                    also.counts.borrow_mut().clear();
                    return Ok(Counts {
                        inserted,
                        ..Default::default()
                    });
                }
                *also.counts.borrow_mut() = also
                    .writes
                    .iter()
                    .map(|(_, rows)| Counts {
                        inserted: rows.len() as u64,
                        ..Default::default()
                    })
                    .collect();
                return Ok(Counts {
                    inserted: page.len() as u64,
                    ..Default::default()
                });
            }
        }
    }

    /// Whether a failed page's error may be about some of its rows (not about the
    /// statement, the table or the session, which every row would meet alike).
    fn about_rows(&self, e: &WriteError) -> bool {
        e.row.is_some()
            || match &e.error {
                Error::Database { message, .. } => super::row_error::is_about_values(message),
                _ => true,
            }
    }

    /// Writes a refused page row by row (each source row's rows, its emitted ones
    /// included, under a savepoint): the source rows the target refuses go to the
    /// rejects file (before the page commits), the rest commit with the checkpoint,
    /// which counts them (`next` becomes the checkpoint that committed).
    fn apart(
        &self,
        db: &mut Db,
        writer: &Writer,
        page: &Page,
        next: &mut PartState,
        entries: &mut Vec<String>,
        fanout: &Fanout,
    ) -> std::result::Result<Counts, WriteError> {
        let shared = &self.shared;
        let file = shared
            .rejects
            .as_ref()
            .expect("rows are set apart with a rejects file");
        let rows = page.rows.decoded();
        let emitted: Vec<Vec<&Emitted>> = (0..page.origins.len())
            .map(|o| {
                let of = page.emitted.iter().zip(&page.emitted_origin);
                of.filter(|(_, &eo)| eo == o).map(|(e, _)| e).collect()
            })
            .collect();
        let units: Vec<Unit> = emitted
            .iter()
            .enumerate()
            .map(|(o, es)| Unit {
                rows: (0..rows.len())
                    .filter(|&i| page.row_origin[i] == o)
                    .collect(),
                also: es.iter().map(|e| fanout.row(e)).collect(),
            })
            .collect();
        let mut after = next.clone();
        let mut all = entries.clone();
        let ((counts, others), _) = writer.write_apart(db, rows, &units, &mut |refused| {
            all = entries.clone();
            for r in refused {
                let (key, source) = page.origins[r.unit].clone();
                let reject = Reject {
                    key,
                    source,
                    row: units[r.unit].rows.first().map(|&i| rows[i].clone()),
                    error: r.message.clone(),
                };
                all.extend(self.entries(next.pages, vec![reject]));
            }
            file.write(self.part, next.pages, &all)?;
            after = next.clone();
            after.rejected += refused.len() as u64;
            after.written -= refused
                .iter()
                .map(|r| units[r.unit].rows.len() as u64)
                .sum::<u64>();
            // Kept until the commit is known (see `write_page`).
            *self.pending.borrow_mut() = Some(after.clone());
            Ok(shared.store.checkpoint_sql(&shared.id, self.part, &after))
        })?;
        self.pending.take();
        *next = after;
        *entries = all;
        let mut s = shared.stats.lock().unwrap_or_else(|e| e.into_inner());
        for (es, cs) in emitted.iter().zip(&others) {
            for (e, c) in es.iter().zip(cs) {
                s.emitted.entry(e.table.clone()).or_default().add(c);
            }
        }
        Ok(counts)
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

    /// The error of a page whose emitted rows (group `g` of `also`) the target
    /// refused, naming the source row that emitted the row at fault when it can be
    /// found (the group's rows written again one at a time and rolled back).
    fn refused_emitted(
        &self,
        db: &mut Db,
        page: &Page,
        pages: u64,
        e: WriteError,
        (fanout, also): (&Fanout, &Also<'_>),
        g: usize,
    ) -> Error {
        let plan = &self.shared.plan;
        let server = match &e.error {
            Error::Database { message, .. } => message.clone(),
            other => other.to_string(),
        };
        let Some(&(w, rows)) = also.writes.get(g) else {
            return e.error;
        };
        let row = e.row.or_else(|| {
            (super::row_error::is_about_values(&server) && !rows.is_empty())
                .then(|| w.locate_row(db, rows))
                .flatten()
        });
        let members = super::fanout::members(&page.emitted);
        let at = row.and_then(|r| members.get(g)?.get(r).copied());
        let Some(((k, n), emitted)) =
            at.and_then(|i| Some((page.emitted_keys.get(i)?, page.emitted.get(i)?)))
        else {
            return e.error;
        };
        Error::Row(Box::new(RowError {
            copy: plan.name.clone(),
            location: plan.location.clone(),
            page: pages,
            key: plan.row_label(Some(k), *n),
            culprits: fanout.culprits(emitted, &server),
            message: format!(
                "emitting into {}.{}: {}",
                plan.target.database,
                emitted.table,
                crate::db::write::without_row_number(&server)
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
    fn count(&self, page: &Page, counts: &Counts, rejected: u64) {
        let shared = &self.shared;
        let (read, written) = {
            let mut s = shared.stats.lock().unwrap_or_else(|e| e.into_inner());
            s.read += page.read;
            s.skipped += page.skipped;
            s.rejected += rejected;
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
