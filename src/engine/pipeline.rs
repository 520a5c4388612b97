//! The threads and channels of a copy: per key range (part) a reader and a writer
//! with a queue between them, and the slots that bound the pages in flight. What the
//! threads of a copy share is `Shared`; what the engine keeps of a running copy is
//! `Running`. Threads report to the engine through `Event`s, and a locally processed
//! copy's readers send their pages through the engine's thread (`RawPage`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::db::Value;
use crossbeam_channel::{bounded, unbounded, Sender};

use crate::db::read::SourceQuery;
use crate::db::state::{key_from_state, CopyState, PartState};
use crate::db::wire::RawLayout;
use crate::db::write::Method;
use crate::db::{Db, Role};
use crate::error::{Error, Result, RowError};
use crate::plan::CopyPlan;
use crate::throttle::Throttle;

use super::checkpoint::Store;
use super::config::{CopyProgressSink, CopyStats, CopyTask, EngineConfig, Processing};
use super::fanout::EmitSpec;
use super::page::Page;
use super::prepare::Prepared;
use super::reader::ReaderCtx;
use super::rejects::RejectFile;
use super::retry;
use super::row_path::RowPath;
use super::transform::{DirectProcessor, RowProcessor};
use super::writer::WriterCtx;

/// Pages of one part between its reader and the end of its writer, at most.
pub const PAGES_IN_FLIGHT: usize = 3;

/// Pages of one copy between its readers and the end of its writers, at most (but one
/// per key range at least).
const PAGES_PER_COPY: usize = 6;

pub(super) enum Event {
    /// A part's writer finished (done or stopped).
    PartEnded {
        copy: usize,
        part: u32,
    },
    Failed {
        copy: usize,
        error: Error,
    },
}

/// A page for the copy with this handle, to be processed on the engine's thread.
pub(super) type RawPage = (usize, Page);

/// Shared by the threads of one copy.
pub(super) struct Shared {
    pub plan: CopyPlan,
    pub id: String,
    pub stats: Mutex<CopyStats>,
    pub progress: Mutex<Box<dyn CopyProgressSink>>,
    pub cancel: AtomicBool,
    /// Pages handed to the processor so far (to number a failing row's page).
    pub pages_seen: AtomicU64,
    pub limit: Option<Throttle>,
    pub cfg: EngineConfig,
    pub store: Store,
    pub keyless_target: bool,
    pub method: Method,
    pub rows: RowPath,
    /// `on_error = "reject"`: the copy's rejects file.
    pub rejects: Option<RejectFile>,
    /// Rows to copy, exactly or as estimated (for `max_rejects` as a fraction).
    pub total: u64,
    /// The tables the copy emits rows into.
    pub emits: Vec<EmitSpec>,
    /// The checks of values the target would change (`fit`), made once for the copy.
    pub fit: Option<super::fit::Fit>,
}

impl Shared {
    /// A new session for one of this copy's threads, riding out a restarting server.
    pub fn connect(&self, role: Role) -> Result<Db> {
        let spec = match role {
            Role::Source => &self.cfg.source,
            Role::Target => &self.cfg.target,
        };
        retry::connect(
            spec,
            role,
            self.cfg.retries,
            &format!("copy {}", self.plan.name),
            &|| !self.stopping(),
        )
    }

    /// The copy failed elsewhere, or the run was asked to stop.
    pub fn stopping(&self) -> bool {
        self.cancel.load(Ordering::SeqCst) || self.cfg.stop.is_set()
    }

    pub fn row_error(&self, page: u64, key: &(Vec<Value>, u64), message: String) -> Error {
        Error::Row(Box::new(RowError {
            copy: self.plan.name.clone(),
            location: self.plan.location.clone(),
            page,
            key: self.plan.row_label(Some(&key.0), key.1),
            culprits: Vec::new(),
            message,
        }))
    }
}

/// What the engine keeps of a running copy.
pub(super) struct Running {
    pub shared: Arc<Shared>,
    pub processor: Option<Box<dyn RowProcessor>>,
    /// The queues of a locally processed copy's writers, by part.
    pub writers: HashMap<u32, Sender<Page>>,
    pub open_parts: usize,
    pub error: Option<Error>,
    pub start: Instant,
    pub state: CopyState,
    /// How untouched undecoded rows are arranged for the target (made from the first
    /// undecoded page).
    pub out_layout: Option<Arc<RawLayout>>,
}

/// The engine's ends of the channels a copy's threads report through.
pub(super) struct Channels {
    pub raw: Sender<RawPage>,
    pub events: Sender<Event>,
}

/// Starts the threads of a prepared copy, one reader and one writer for each part
/// not yet done.
pub(super) fn launch(
    handle: usize,
    task: CopyTask,
    prepared: Prepared,
    cfg: &EngineConfig,
    store: &Store,
    channels: Channels,
) -> Result<Running> {
    let Prepared {
        started,
        state,
        query,
        total,
        splits,
        resumed,
        keyless_target,
        rows,
        ..
    } = prepared;
    let nparts = splits.len() + 1;
    let rejects = match task.rejects.clone() {
        Some(spec) => Some(RejectFile::open(
            spec,
            task.resume.as_ref().map(|_| &state),
        )?),
        None => None,
    };
    let progress = cfg
        .progress
        .start(&task.plan.name, total, nparts as u32, resumed);
    let fit = super::fit::Fit::new(&task.plan);
    let shared = Arc::new(Shared {
        fit,
        plan: task.plan,
        id: task.id,
        stats: Mutex::new(CopyStats {
            resumed,
            rejects_file: task.rejects.as_ref().map(|r| r.path.clone()),
            ..CopyStats::default()
        }),
        progress: Mutex::new(progress),
        cancel: AtomicBool::new(false),
        pages_seen: AtomicU64::new(0),
        limit: task.limits.is_set().then(|| Throttle::new(task.limits)),
        cfg: cfg.clone(),
        store: store.clone(),
        keyless_target,
        method: task.method,
        rows,
        rejects,
        total,
        emits: task.emits.clone(),
    });
    let (direct, processor) = match task.processing {
        Processing::Direct(d) => (Some(d), None),
        Processing::Local(p) => (None, Some(p)),
    };
    let mut running = Running {
        shared: shared.clone(),
        processor,
        writers: HashMap::new(),
        open_parts: 0,
        error: None,
        start: started,
        state: state.clone(),
        out_layout: None,
    };
    let part_queries = super::ranges::part_queries(&query, &splits)?;
    // Pages in flight are shared out among a copy's key ranges, so memory does not
    // grow with `workers`: 3 each for one or two ranges, fewer for more.
    let slots = (PAGES_PER_COPY / nparts).clamp(1, PAGES_IN_FLIGHT);
    for (part, query) in (0..nparts as u32).zip(part_queries) {
        let state = state.parts.get(&part).cloned().unwrap_or_default();
        if state.done {
            continue;
        }
        let threads = Part {
            copy: handle,
            part,
            query,
            state,
        };
        let to_writer = spawn_part(&shared, threads, direct.clone(), slots, &channels)?;
        if direct.is_none() {
            // A locally processed copy's pages reach its writers through this
            // thread; a direct copy's readers feed their writers themselves.
            running.writers.insert(part, to_writer);
        }
        running.open_parts += 1;
    }
    Ok(running)
}

/// One part of a copy to start threads for.
struct Part {
    copy: usize,
    part: u32,
    /// The part's key range.
    query: SourceQuery,
    /// Where an earlier run left the part.
    state: PartState,
}

/// Starts a part's reader and writer, with `slots` pages in flight between them;
/// returns the writer's queue.
fn spawn_part(
    shared: &Arc<Shared>,
    part: Part,
    direct: Option<DirectProcessor>,
    slots: usize,
    channels: &Channels,
) -> Result<Sender<Page>> {
    let Part {
        copy,
        part,
        query,
        state,
    } = part;
    let (wtx, wrx) = unbounded::<Page>();
    let (slot_tx, slot_rx) = bounded::<()>(slots);
    for _ in 0..slots {
        let _ = slot_tx.send(());
    }
    let reader = ReaderCtx {
        shared: shared.clone(),
        copy,
        part,
        query,
        after: state.last_key.as_ref().map(|k| key_from_state(k)),
        ordinal: state.read,
        direct,
        layout: None,
        to_writer: wtx.clone(),
        slots: slot_rx,
        raw: channels.raw.clone(),
        events: channels.events.clone(),
    };
    let writer = WriterCtx {
        shared: shared.clone(),
        copy,
        part,
        state,
        events: channels.events.clone(),
        slots: slot_tx,
        pending: std::cell::RefCell::new(None),
    };
    // The threads end on their own: a writer when its part is done or stopped, a
    // reader when its range is read or its copy stops.
    std::thread::Builder::new()
        .name(format!("ferry-w{copy}.{part}"))
        .spawn(move || writer.run(wrx))
        .map_err(|e| Error::System {
            what: "cannot start a writer thread".into(),
            message: e.to_string(),
        })?;
    std::thread::Builder::new()
        .name(format!("ferry-r{copy}.{part}"))
        .spawn(move || reader.run())
        .map_err(|e| Error::System {
            what: "cannot start a reader thread".into(),
            message: e.to_string(),
        })?;
    Ok(wtx)
}
