//! The copy engine: runs `CopyPlan`s from a source server into a target server. It
//! knows nothing of Lua, of signals or of terminals: a stop token and a progress sink
//! come in with its `EngineConfig`.
//!
//! Each copy runs as one or more parts (key ranges, `workers`). A part is a pipeline
//! of two threads with a queue between them: a reader (its own source
//! connection: keyset pages in key order, bounded by rows and bytes, or one streamed
//! pass for a keyless table) and a writer (its own target connection: each page in one
//! transaction together with the part's checkpoint). Rows are turned into target rows
//! by the reader for direct copies, or, when a `RowProcessor` that must stay on the
//! caller's thread (Lua) is involved, by the caller's thread while it waits, between
//! reader and writer. So reading, converting and writing overlap, and a copy takes
//! about as long as its slowest stage. Memory is bounded by pages in flight: a reader
//! takes a slot before it reads a page and the writer gives it back once the page is
//! written, with `PAGES_PER_COPY` slots shared out among a copy's parts (at most
//! `PAGES_IN_FLIGHT` each), and each page is bounded in bytes.
//! No stage ever waits on another part's stage, so parts do not hold each other up.
//!
//! Faults: a lost connection, deadlock or lock wait timeout makes a part reconnect
//! with backoff and replay the page in doubt (`retry`); the checkpoint committed with
//! each page tells whether that page landed. A stop stops every part after its
//! current page.
//!
//! Here: the `Engine` itself, which starts copies (`prepare`, then `pipeline`), pumps
//! their pages and events on the caller's thread, and collects their results
//! (`finish`).

mod checkpoint;
mod config;
mod control;
mod fanout;
mod finish;
mod fit;
mod pace;
mod page;
mod pipeline;
mod prepare;
mod process;
mod ranges;
mod reader;
pub mod rejects;
mod retry;
mod row_error;
mod row_path;
mod stream;
mod transform;
mod window;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::db::state::JobState;
use crate::db::Role;
use crate::error::{Error, Result};

pub use config::{
    CopyProgressSink, CopyStats, CopyTask, EngineConfig, Processing, ProgressSink, Stop,
};
pub use fanout::{EmitCounts, EmitSpec};
pub use fit::{refused_row, Fit};
pub use pace::Pace;
pub use retry::connect as connect_retrying;
pub use transform::{
    rows_one_by_one, undecoded_one_by_one, DirectProcessor, Emitted, Extra, PageResult, Processed,
    RowProcessor, TransformError,
};
pub use window::{Overlap, Since};

use checkpoint::Store;
use control::Control;
use page::Page;
use pipeline::{Channels, Event, RawPage, Running};
use prepare::Start;

/// Runs copies: one at a time or several at once.
pub struct Engine {
    cfg: EngineConfig,
    next: usize,
    running: HashMap<usize, Running>,
    finished: HashMap<usize, Result<CopyStats>>,
    /// What failed copies had committed (their pages written before the failure).
    committed: HashMap<usize, CopyStats>,
    events: (Sender<Event>, Receiver<Event>),
    /// Raw pages for copies processed on this thread.
    raw: (Sender<RawPage>, Receiver<RawPage>),
    control: Control,
    store: Store,
}

impl Engine {
    pub fn new(cfg: EngineConfig, file_state: Option<JobState>) -> Engine {
        Engine {
            control: Control::new(&cfg),
            store: Store::new(cfg.state.clone(), file_state),
            cfg,
            next: 0,
            running: HashMap::new(),
            finished: HashMap::new(),
            committed: HashMap::new(),
            events: unbounded(),
            raw: unbounded(),
        }
    }

    /// Starts a copy and returns its handle. Its threads run until it is done; call
    /// `wait` (or `wait_below`) to process its rows when it needs this thread
    /// and to collect its result.
    pub fn start(&mut self, task: CopyTask) -> Result<usize> {
        let handle = self.next;
        self.next += 1;
        let prepared = match prepare::prepare(&mut self.control, &task)? {
            Start::Done(stats) => {
                self.finished.insert(handle, Ok(stats));
                return Ok(handle);
            }
            Start::Go(p) => *p,
        };
        self.store
            .copy_started(&mut self.control, &task.id, &prepared.state)?;
        // Recorded first, taken off second: a run that dies in between finds them
        // recorded and present, and adds back none.
        if let Some(d) = &prepared.newly_deferred {
            crate::db::indexes::drop_indexes(self.control.get(Role::Target)?, d)?;
        }
        let channels = Channels {
            raw: self.raw.0.clone(),
            events: self.events.0.clone(),
        };
        let running = pipeline::launch(handle, task, prepared, &self.cfg, &self.store, channels)?;
        let nothing_left = running.open_parts == 0;
        self.running.insert(handle, running);
        if nothing_left {
            self.finish(handle);
        }
        Ok(handle)
    }

    /// Processes and routes pages and events until `handle` is finished; returns its
    /// result.
    pub fn wait(&mut self, handle: usize) -> Result<CopyStats> {
        while !self.finished.contains_key(&handle) {
            if !self.running.contains_key(&handle) {
                return Err(Error::usage(format!("no copy #{handle}")));
            }
            self.pump();
        }
        self.finished.remove(&handle).expect("finished")
    }

    /// What a failed copy committed before it failed (after `wait` returned its error).
    pub fn committed(&self, handle: usize) -> Option<CopyStats> {
        self.committed.get(&handle).cloned()
    }

    /// Waits until fewer than `n` copies run.
    pub fn wait_below(&mut self, n: usize) {
        while self.running.len() >= n.max(1) {
            self.pump();
        }
    }

    /// One step: a raw page processed here, or an event.
    fn pump(&mut self) {
        crossbeam_channel::select! {
            recv(self.raw.1) -> msg => {
                if let Ok((copy, page)) = msg {
                    self.process_local(copy, page);
                }
            }
            recv(self.events.1) -> msg => {
                if let Ok(ev) = msg {
                    self.event(ev);
                }
            }
            default(std::time::Duration::from_millis(200)) => {
                // Stopped: readers stop by themselves; the writers this thread feeds
                // end once their queues close.
                if self.cfg.stop.is_set() {
                    for r in self.running.values_mut() {
                        r.writers.clear();
                    }
                }
            }
        }
    }

    /// Runs a locally processed copy's processor on a page and hands the result to
    /// the page's writer.
    fn process_local(&mut self, copy: usize, page: Page) {
        let Some(r) = self.running.get_mut(&copy) else {
            return;
        };
        if r.error.is_some() {
            return;
        }
        let processor = r.processor.as_mut().expect("a local copy has a processor");
        let part = page.part;
        match process::process(&r.shared, processor.as_mut(), page, &mut r.out_layout) {
            Ok(out) => {
                if let Some(w) = r.writers.get(&part) {
                    // A writer that has failed is gone; its failure arrives as an event.
                    let _ = w.send(out);
                }
            }
            Err(e) => {
                r.shared.cancel.store(true, Ordering::SeqCst);
                r.writers.clear();
                r.error.get_or_insert(e);
            }
        }
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Failed { copy, error } => {
                if let Some(r) = self.running.get_mut(&copy) {
                    r.shared.cancel.store(true, Ordering::SeqCst);
                    r.writers.clear();
                    r.error.get_or_insert(error);
                }
            }
            Event::PartEnded { copy, part } => {
                let done = match self.running.get_mut(&copy) {
                    Some(r) => {
                        r.writers.remove(&part);
                        r.open_parts -= 1;
                        r.open_parts == 0
                    }
                    None => false,
                };
                if done {
                    self.finish(copy);
                }
            }
        }
    }
}
