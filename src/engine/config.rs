//! What the engine is given and what it gives back: the settings shared by a run's
//! copies (`EngineConfig`), among them the stop token (`Stop`) and the progress sink
//! (`ProgressSink`) that the command line layer hands in, so the engine reads no
//! global signal flag and draws no terminal; one copy to run (`CopyTask`, with how its
//! rows become target rows, `Processing`); and what a copy did (`CopyStats`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::conn_spec::ConnSpec;
use crate::db::state::{CopyState, StateHandle};
use crate::db::write::Method;
use crate::plan::CopyPlan;
use crate::throttle::{Limits, Throttle};

use super::transform::{DirectProcessor, RowProcessor};
use super::window::Since;

/// What a copy did.
#[derive(Debug, Default, Clone)]
pub struct CopyStats {
    pub read: u64,
    /// inserted + updated.
    pub written: u64,
    pub inserted: u64,
    pub updated: u64,
    /// Existing rows already as given (see `writer::Counts`).
    pub unchanged: u64,
    pub ignored: u64,
    /// Rows that met a different target row through another unique key (accepted).
    pub conflicts: u64,
    pub skipped: u64,
    /// Rows set aside with `on_error = "reject"` (this run).
    pub rejected: u64,
    /// Where they are (`on_error = "reject"`).
    pub rejects_file: Option<std::path::PathBuf>,
    /// Rows emitted into other tables, by table.
    pub emitted: std::collections::BTreeMap<String, super::fanout::EmitCounts>,
    pub seconds: f64,
    /// Rows copied by earlier runs this run resumed after.
    pub resumed: u64,
    /// The copy was finished by an earlier run (`--resume`): nothing was done.
    pub already_done: bool,
}

impl CopyStats {
    /// Adds another copy's counts to these (a copy of many tables sums its tables').
    pub fn add(&mut self, other: &CopyStats) {
        self.read += other.read;
        self.written += other.written;
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.ignored += other.ignored;
        self.conflicts += other.conflicts;
        self.skipped += other.skipped;
        self.rejected += other.rejected;
        if self.rejects_file.is_none() {
            self.rejects_file = other.rejects_file.clone();
        }
        for (table, c) in &other.emitted {
            self.emitted.entry(table.clone()).or_default().add_all(c);
        }
        self.seconds += other.seconds;
        self.resumed += other.resumed;
    }
}

/// How a copy's rows become target rows.
pub enum Processing {
    /// In the reader threads.
    Direct(DirectProcessor),
    /// On the thread that owns the engine, while it waits (e.g. Lua, which is not Send).
    Local(Box<dyn RowProcessor>),
}

/// One copy to run.
pub struct CopyTask {
    pub plan: CopyPlan,
    /// The copy's id in the job state.
    pub id: String,
    pub processing: Processing,
    /// Key ranges copied at once.
    pub workers: usize,
    pub limits: Limits,
    pub since: Option<Since>,
    /// Continue from this state (`--resume`); `None` starts over.
    pub resume: Option<CopyState>,
    /// The high-water mark kept from earlier runs (written back when `since` is unset
    /// or `--full` ignored it).
    pub kept_mark: Option<String>,
    /// How pages reach the target.
    pub method: Method,
    /// Whether to build the target's plain secondary indexes after the load (`None`:
    /// when the target is empty and the copy is big, `DEFER_FROM_ROWS`).
    pub defer_indexes: Option<bool>,
    /// Indexes an earlier run of this copy took off and did not add back (from its
    /// state, resumed or not): added back when this run ends.
    pub deferred_before: Option<crate::db::indexes::Deferred>,
    /// `on_error = "reject"`: rows that fail are set aside here (`None`: a row that
    /// fails fails the copy).
    pub rejects: Option<super::rejects::RejectSpec>,
    /// The tables the copy's transform emits rows into (`emit`).
    pub emits: Vec<super::fanout::EmitSpec>,
}

/// A `CopyTask` whose rows are turned into target rows in the reader threads (no Lua),
/// so it can move to another thread: a background copy's engine (`job::background`).
pub struct SendTask {
    plan: CopyPlan,
    id: String,
    processing: DirectProcessor,
    workers: usize,
    limits: Limits,
    since: Option<Since>,
    resume: Option<CopyState>,
    kept_mark: Option<String>,
    method: Method,
    defer_indexes: Option<bool>,
    deferred_before: Option<crate::db::indexes::Deferred>,
    rejects: Option<super::rejects::RejectSpec>,
    emits: Vec<super::fanout::EmitSpec>,
}

impl CopyTask {
    /// The task as one that can move to another thread; `None` when its rows go
    /// through a processor that must stay on this one (Lua).
    pub fn into_send(self) -> Option<SendTask> {
        let Processing::Direct(processing) = self.processing else {
            return None;
        };
        Some(SendTask {
            plan: self.plan,
            id: self.id,
            processing,
            workers: self.workers,
            limits: self.limits,
            since: self.since,
            resume: self.resume,
            kept_mark: self.kept_mark,
            method: self.method,
            defer_indexes: self.defer_indexes,
            deferred_before: self.deferred_before,
            rejects: self.rejects,
            emits: self.emits,
        })
    }
}

impl SendTask {
    pub fn into_task(self) -> CopyTask {
        CopyTask {
            plan: self.plan,
            id: self.id,
            processing: Processing::Direct(self.processing),
            workers: self.workers,
            limits: self.limits,
            since: self.since,
            resume: self.resume,
            kept_mark: self.kept_mark,
            method: self.method,
            defer_indexes: self.defer_indexes,
            deferred_before: self.deferred_before,
            rejects: self.rejects,
            emits: self.emits,
        }
    }
}

/// Settings shared by every copy of a run.
#[derive(Clone)]
pub struct EngineConfig {
    pub source: ConnSpec,
    pub target: ConnSpec,
    pub state: Option<StateHandle>,
    /// Where copies report their progress.
    pub progress: Arc<dyn ProgressSink>,
    /// Set when the run is asked to stop: every copy stops after its current page.
    pub stop: Stop,
    /// Tries for a page (or a connection) before a transient fault fails the copy.
    pub retries: u32,
    /// Upper bound of a page in bytes.
    pub page_bytes: usize,
    /// The job-wide rate limit, shared by every copy.
    pub job_limit: Option<Arc<Throttle>>,
    /// A background copy's pause and changing rate (`pace.rs`), taken between pages.
    pub pace: Option<Arc<super::pace::Pace>>,
}

/// Asks every copy to stop after the page it is writing. Whoever owns the run sets it
/// (the command line, from its signal handler); the engine's threads read it. It holds
/// the number of the signal that asked (any non-zero number: a stop).
#[derive(Clone, Default, Debug)]
pub struct Stop(Arc<AtomicUsize>);

impl Stop {
    /// A token that reads `flag`: zero goes on, anything else is the signal that
    /// asked to stop.
    pub fn from_flag(flag: Arc<AtomicUsize>) -> Stop {
        Stop(flag)
    }

    /// Asks the copies to stop, as `signal` would (the signal handler sets the flag
    /// itself; a face that stops copies without a signal calls this).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn stop(&self, signal: i32) {
        self.0.store(signal.max(1) as usize, Ordering::SeqCst);
    }

    /// The signal that asked to stop, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }

    pub fn is_set(&self) -> bool {
        self.signal().is_some()
    }
}

/// Where copies report their progress (the terminal and the log: `crate::progress`).
pub trait ProgressSink: Send + Sync {
    /// A copy starts: about `total` rows in `parts` key ranges, of which `resumed` were
    /// copied by earlier runs.
    fn start(&self, copy: &str, total: u64, parts: u32, resumed: u64) -> Box<dyn CopyProgressSink>;
}

/// The progress of one copy, from `ProgressSink::start`.
pub trait CopyProgressSink: Send {
    /// After each committed page of `part` (its `page`th): `done` source rows read so
    /// far, this run and earlier ones, and `written` rows written.
    fn page(&mut self, part: u32, page: u64, done: u64, written: u64);
    /// A step after the rows that has no row count (building indexes).
    fn phase(&mut self, what: &str);
    /// The copy succeeded: `summary` says what it did.
    fn finish(&mut self, summary: &str);
    /// The copy failed or stopped.
    fn abandon(&mut self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_reads_the_flag_it_was_made_from() {
        let flag = Arc::new(AtomicUsize::new(0));
        let stop = Stop::from_flag(flag.clone());
        let seen_by_a_thread = stop.clone();
        assert_eq!(stop.signal(), None);
        flag.store(15, Ordering::SeqCst);
        assert_eq!(seen_by_a_thread.signal(), Some(15));
        let own = Stop::default();
        assert!(!own.is_set());
        own.stop(2);
        assert_eq!(own.signal(), Some(2));
    }
}
