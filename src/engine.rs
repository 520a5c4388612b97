//! The copy engine: runs `CopyPlan`s from a source server into a target server. It
//! knows nothing of Lua.
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
//! with backoff and replay the page in doubt; the checkpoint committed with each page
//! tells whether that page landed. Ctrl-C/SIGTERM stop every part after its current
//! page.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};
use mysql::prelude::Queryable;
use mysql::Value;

use crate::conn_spec::ConnSpec;
use crate::db::{backoff, is_transient, Db, Role};
use crate::error::{Error, Result, RowError};
use crate::keyset::Op;
use crate::plan::{CopyPlan, Fill};
use crate::progress::{CopyProgress, Display};
use crate::raw::{raw_sources, RawLayout, RawRows, RawSource};
use crate::reader::{params, read_page, read_raw_page, RawReadError, SourceQuery};
use crate::schema::quote_ident;
use crate::state::{key_from_state, key_to_state, CopyState, JobState, PartState, StateHandle};
use crate::throttle::{Limits, Throttle};
use crate::value::wire_size;
use crate::writer::{Method, Writer};

/// Turns one source row into the values of the plan's value columns
/// (`CopyPlan::value_columns`, in order), or `None` to skip the row.
pub trait RowProcessor {
    fn process(&mut self, row: Vec<Value>) -> std::result::Result<Option<Vec<Value>>, String>;

    /// The same for an undecoded source row: a parameter row of `layout`, every source
    /// column in order (see `raw`).
    fn process_undecoded(
        &mut self,
        layout: &Arc<RawLayout>,
        row: &[u8],
    ) -> std::result::Result<Processed, String> {
        Ok(match self.process(layout.decode(row)?)? {
            Some(values) => Processed::Row(values),
            None => Processed::Skip,
        })
    }

    /// Where the target values of a row that comes back `Processed::Untouched` come
    /// from; `None` when rows never do.
    fn untouched(&self) -> Option<Vec<RawSource>> {
        None
    }
}

/// What a processor made of an undecoded row.
pub enum Processed {
    Row(Vec<Value>),
    /// The source row as read, its values arranged by `RowProcessor::untouched`.
    Untouched,
    Skip,
}

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
    pub seconds: f64,
    /// Rows copied by earlier runs this run resumed after.
    pub resumed: u64,
    /// The copy was finished by an earlier run (`--resume`): nothing was done.
    pub already_done: bool,
}

/// Builds target rows straight from source rows: source columns and fixed defaults.
/// A source value is moved into its (last) target column rather than copied.
#[derive(Clone)]
pub struct DirectProcessor {
    cells: Vec<DirectCell>,
    /// Every source column once, in order: the source row is the target row.
    identity: bool,
}

#[derive(Clone)]
enum DirectCell {
    /// Copy source column i (a later cell still needs it).
    Copy(usize),
    /// Move source column i out of the row.
    Take(usize),
    Value(Value),
}

impl DirectProcessor {
    /// `None` when the plan needs a processor that runs code (transform, map functions).
    pub fn new(plan: &CopyPlan) -> Option<DirectProcessor> {
        let mut cells = Vec::new();
        for c in plan.value_columns() {
            cells.push(match &c.fill {
                Fill::Source(i) => DirectCell::Take(*i),
                Fill::Value(v) => DirectCell::Value(v.clone()),
                _ => return None,
            });
        }
        // Every use of a column but its last copies it.
        for i in 0..cells.len() {
            if let DirectCell::Take(col) = cells[i] {
                if cells[i + 1..]
                    .iter()
                    .any(|c| matches!(c, DirectCell::Take(later) if *later == col))
                {
                    cells[i] = DirectCell::Copy(col);
                }
            }
        }
        let identity = cells
            .iter()
            .enumerate()
            .all(|(n, c)| matches!(c, DirectCell::Take(i) if *i == n));
        Some(DirectProcessor { cells, identity })
    }
}

impl DirectProcessor {
    /// The target row of a source row (a direct copy never skips or fails a row).
    pub fn convert(&self, mut row: Vec<Value>) -> Vec<Value> {
        if self.identity && row.len() == self.cells.len() {
            return row;
        }
        self.cells
            .iter()
            .map(|c| match c {
                DirectCell::Copy(i) => row[*i].clone(),
                DirectCell::Take(i) => std::mem::replace(&mut row[*i], Value::NULL),
                DirectCell::Value(v) => v.clone(),
            })
            .collect()
    }
}

impl RowProcessor for DirectProcessor {
    fn process(&mut self, row: Vec<Value>) -> std::result::Result<Option<Vec<Value>>, String> {
        Ok(Some(self.convert(row)))
    }
}

/// Pages of one part between its reader and the end of its writer, at most.
pub const PAGES_IN_FLIGHT: usize = 3;

/// Pages of one copy between its readers and the end of its writers, at most (but one
/// per key range at least).
const PAGES_PER_COPY: usize = 6;

/// Rows per key range at least: smaller tables are read by one worker.
pub const MIN_RANGE_ROWS: u64 = 25_000;

/// Tables the server estimates below this many rows are counted exactly before copying.
const EXACT_COUNT_BELOW: u64 = 50_000;

/// How a copy's rows become target rows.
pub enum Processing {
    /// In the reader threads.
    Direct(DirectProcessor),
    /// On the thread that owns the engine, while it waits (e.g. Lua, which is not Send).
    Local(Box<dyn RowProcessor>),
}

/// An incremental copy's window on its `since` column.
#[derive(Debug, Clone)]
pub struct Since {
    pub column: String,
    /// The last run's mark: rows at it or above it are read (`None`: all rows).
    pub after: Option<String>,
    /// How far below the mark to read again, for rows whose transactions committed
    /// after the last run read past their value (`since_overlap`).
    pub overlap: Option<Overlap>,
}

/// `since_overlap`: a window below the mark.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlap {
    /// A number subtracted from the mark (integer or decimal columns), or seconds for
    /// a temporal column.
    Amount(String),
    /// `N UNIT` (`SECOND`, `MINUTE`, `HOUR`, `DAY`, `WEEK`) for a temporal column.
    Interval(u64, &'static str),
}

impl Since {
    /// `col >= mark` (less the overlap), with its parameter; `None` with no mark.
    fn condition(&self, temporal: bool) -> Option<(String, Vec<Value>)> {
        let after = self.after.as_ref()?;
        let col = quote_ident(&self.column);
        let bound = match (&self.overlap, temporal) {
            (None, _) => "?".to_string(),
            (Some(Overlap::Amount(n)), false) => format!("CAST(? AS DECIMAL(65,30)) - {n}"),
            (Some(Overlap::Amount(n)), true) => {
                format!("CAST(? AS DATETIME(6)) - INTERVAL {n} SECOND")
            }
            (Some(Overlap::Interval(n, unit)), _) => {
                format!("CAST(? AS DATETIME(6)) - INTERVAL {n} {unit}")
            }
        };
        Some((
            format!("{col} >= {bound}"),
            vec![Value::from(after.as_str())],
        ))
    }
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
    pub deferred_before: Option<crate::indexes::Deferred>,
}

/// Settings shared by every copy of a run.
#[derive(Clone)]
pub struct EngineConfig {
    pub source: ConnSpec,
    pub target: ConnSpec,
    pub state: Option<StateHandle>,
    pub display: Display,
    /// Tries for a page (or a connection) before a transient fault fails the copy.
    pub retries: u32,
    /// Upper bound of a page in bytes.
    pub page_bytes: usize,
    /// The job-wide rate limit, shared by every copy.
    pub job_limit: Option<Arc<Throttle>>,
}

/// A page on its way from reader to writer.
struct Page {
    part: u32,
    rows: Vec<Vec<Value>>,
    /// The rows as bulk parameter rows, never decoded (`rows` is then empty until a
    /// writer needs values; see `raw`).
    undecoded: Option<RawRows>,
    /// Key and stream position of each row, to name a failing row; empty when the
    /// key can be read from the target row (`Shared::key_in_row`).
    keys: Vec<(Vec<Value>, u64)>,
    /// Stream position of the page's first row.
    first_ordinal: u64,
    /// Key of the last source row read (the checkpoint).
    last_key: Option<Vec<Value>>,
    read: u64,
    skipped: u64,
    /// The reader got to the end of its range: no rows, the part is done.
    end: bool,
}

impl Page {
    /// Rows in the page, decoded or not.
    fn len(&self) -> usize {
        self.undecoded
            .as_ref()
            .map_or(self.rows.len(), RawRows::len)
    }

    /// This page with its rows replaced by what a processor made of them, `skipped`
    /// rows fewer.
    fn processed(
        self,
        rows: Vec<Vec<Value>>,
        undecoded: Option<RawRows>,
        keys: Vec<(Vec<Value>, u64)>,
        skipped: u64,
    ) -> Page {
        Page {
            rows,
            undecoded,
            keys,
            skipped: self.skipped + skipped,
            ..self
        }
    }

    fn end(part: u32) -> Page {
        Page {
            part,
            rows: Vec::new(),
            undecoded: None,
            keys: Vec::new(),
            first_ordinal: 0,
            last_key: None,
            read: 0,
            skipped: 0,
            end: true,
        }
    }
}

enum Event {
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
type RawPage = (usize, Page);

/// Shared by the threads of one copy.
struct Shared {
    plan: CopyPlan,
    id: String,
    stats: Mutex<CopyStats>,
    progress: Mutex<CopyProgress>,
    cancel: AtomicBool,
    /// Pages handed to the processor so far (to number a failing row's page).
    pages_seen: AtomicU64,
    limit: Option<Throttle>,
    cfg: EngineConfig,
    /// The whole job state, for a file store (saved after each page).
    file_state: Option<Arc<Mutex<JobState>>>,
    keyless_target: bool,
    method: Method,
    /// Where each key column is in a target row, when every key column is written as
    /// is: for a direct copy, and for a processed one read undecoded (its untouched
    /// pages). Pages with such rows need not carry keys to name a row.
    key_in_row: Option<Vec<usize>>,
    /// What the readers make of undecoded rows (see `raw`): for a direct copy, the
    /// target values; for a processed one, every source column. `None`: rows are
    /// decoded as read.
    undecoded: Option<Vec<RawSource>>,
    /// Where the key columns are in the readers' undecoded rows.
    undecoded_key: Vec<usize>,
    /// For a processed copy read undecoded: where an untouched row's target values
    /// come from.
    untouched: Option<Vec<RawSource>>,
}

impl Shared {
    /// A new session for one of this copy's threads, riding out a restarting server.
    fn connect(&self, role: Role) -> Result<Db> {
        let spec = match role {
            Role::Source => &self.cfg.source,
            Role::Target => &self.cfg.target,
        };
        Db::connect_retrying(
            spec,
            role,
            self.cfg.retries,
            &format!("copy {}", self.plan.name),
            &|| !self.stopping(),
        )
    }

    fn stopping(&self) -> bool {
        self.cancel.load(Ordering::SeqCst) || crate::signals::stopped().is_some()
    }

    fn row_error(&self, page: u64, key: &(Vec<Value>, u64), message: String) -> Error {
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

struct Running {
    shared: Arc<Shared>,
    processor: Option<Box<dyn RowProcessor>>,
    writers: HashMap<u32, Sender<Page>>,
    open_parts: usize,
    error: Option<Error>,
    start: Instant,
    state: CopyState,
    /// How untouched undecoded rows are arranged for the target (made from the first
    /// undecoded page).
    out_layout: Option<Arc<RawLayout>>,
}

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
    control_src: Option<Db>,
    control_dst: Option<Db>,
    file_state: Option<Arc<Mutex<JobState>>>,
}

impl Engine {
    pub fn new(cfg: EngineConfig, file_state: Option<JobState>) -> Engine {
        Engine {
            cfg,
            next: 0,
            running: HashMap::new(),
            finished: HashMap::new(),
            committed: HashMap::new(),
            events: unbounded(),
            raw: unbounded(),
            control_src: None,
            control_dst: None,
            file_state: file_state.map(|s| Arc::new(Mutex::new(s))),
        }
    }

    fn control(&mut self, role: Role) -> Result<&mut Db> {
        let (slot, spec) = match role {
            Role::Source => (&mut self.control_src, &self.cfg.source),
            Role::Target => (&mut self.control_dst, &self.cfg.target),
        };
        // A server restarted since this session's last use (a copy ago) left it dead.
        if slot.as_mut().is_some_and(|db| db.conn().ping().is_err()) {
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(Db::connect_retrying(
                spec,
                role,
                self.cfg.retries,
                role.name(),
                &|| crate::signals::stopped().is_none(),
            )?);
        }
        Ok(slot.as_mut().expect("connected"))
    }

    /// Starts a copy and returns its handle. Its threads run until it is done; call
    /// `wait` (or `wait_below`) to process its rows when it needs this thread
    /// and to collect its result.
    pub fn start(&mut self, task: CopyTask) -> Result<usize> {
        let handle = self.next;
        self.next += 1;
        let plan = &task.plan;
        let resume = task.resume.clone();
        if let Some(state) = &resume {
            if state.done {
                log::info!(
                    "copy {}: already done by an earlier run, skipped (--resume)",
                    plan.name
                );
                let resumed = state.parts.values().map(|p| p.read).sum();
                self.finished.insert(
                    handle,
                    Ok(CopyStats {
                        already_done: true,
                        resumed,
                        ..CopyStats::default()
                    }),
                );
                return Ok(handle);
            }
        }
        let start = Instant::now();
        let mut query = SourceQuery::new(plan);

        // The incremental window: rows past the last run's mark, up to the column's
        // maximum now (rows changed while this run goes are the next run's).
        let mut state = resume.clone().unwrap_or_default();
        state.plan = plan.fingerprint();
        state.mark = resume
            .as_ref()
            .and_then(|s| s.mark.clone())
            .or(task.kept_mark.clone());
        if let Some(since) = &task.since {
            let col = quote_ident(&since.column);
            let temporal = plan
                .source
                .column(&since.column)
                .is_some_and(|c| c.kind().is_temporal());
            let from = since.condition(temporal);
            let next_mark = match resume.as_ref().and_then(|s| s.next_mark.clone()) {
                Some(m) => Some(m),
                None => {
                    let mut q = query.clone();
                    if let Some((cond, p)) = from.clone() {
                        q.and(cond, p);
                    }
                    let (sql, p) = q.aggregate_sql(&format!("CAST(MAX({col}) AS CHAR)"));
                    let src = self.control(Role::Source)?;
                    let max: Option<Option<String>> =
                        src.conn().exec_first(sql, params(p)).map_err(|e| {
                            src.err(
                                &format!("reading MAX({}) of {}", since.column, plan.source.name),
                                e,
                            )
                        })?;
                    max.flatten().or(since.after.clone())
                }
            };
            if let Some((cond, p)) = from {
                query.and(cond, p);
            }
            // A run without a mark (the first, or --full) also reads the rows whose
            // column is NULL, which no mark can bound.
            let nulls = since.after.is_none();
            let upto = |m: &String| vec![Value::from(m.as_str())];
            match (&next_mark, nulls) {
                (Some(m), false) => query.and(format!("{col} <= ?"), upto(m)),
                (Some(m), true) => query.and(format!("({col} <= ? OR {col} IS NULL)"), upto(m)),
                (None, true) => query.and(format!("{col} IS NULL"), vec![]),
                (None, false) => query.and("FALSE".into(), vec![]),
            }
            if plan
                .source
                .column(&since.column)
                .is_some_and(|c| c.nullable)
            {
                log::warn!(
                    "copy {}: `since` column {} is nullable: rows where it is NULL are read \
                     only by a run without a mark (the first, or --full)",
                    plan.name,
                    since.column
                );
            }
            let overlap = match &since.overlap {
                Some(Overlap::Amount(n)) => format!(" less {n}"),
                Some(Overlap::Interval(n, u)) => format!(" less {n} {u}"),
                None => String::new(),
            };
            log::info!(
                "copy {}: incremental on {}: rows from {}{overlap} up to {}",
                plan.name,
                since.column,
                since.after.as_deref().unwrap_or("the start"),
                next_mark.as_deref().unwrap_or("(none)")
            );
            state.next_mark = next_mark;
        }

        // The progress total: the server's estimate for a big table (counting 500,000
        // rows would hold the copy back by a tenth of a second, and more for bigger
        // ones), an exact count for small or filtered ones, whose estimate says little.
        let total = {
            let filtered = plan.filter.is_some() || task.since.is_some();
            if filtered || plan.source.estimated_rows < EXACT_COUNT_BELOW {
                let (sql, p) = query.aggregate_sql("COUNT(*)");
                let src = self.control(Role::Source)?;
                let n: Option<u64> = src
                    .conn()
                    .exec_first(sql, params(p))
                    .map_err(|e| src.err(&format!("counting {}", plan.source.name), e))?;
                n.unwrap_or(0)
            } else {
                plan.source.estimated_rows
            }
        };
        // Key ranges: split on the first key column when it is an integer.
        let splits = match &resume {
            Some(s) if !s.bounds.is_empty() || !s.parts.is_empty() => s
                .bounds
                .iter()
                .map(|b| b.as_ref().map(|k| key_from_state(k)))
                .collect(),
            // Ranges pay off on big tables only: at least MIN_RANGE_ROWS rows each.
            _ => {
                let workers = task.workers.min((total / MIN_RANGE_ROWS) as usize).max(1);
                self.split(plan, &query, workers, total)?
            }
        };
        state.bounds = splits
            .iter()
            .map(|b: &Option<Vec<Value>>| b.as_ref().map(|k| key_to_state(k)))
            .collect();

        let already: u64 = state.parts.values().map(|p| p.read).sum();
        let mut progress = CopyProgress::start(&plan.name, total, self.cfg.display);
        progress.parts = splits.len() as u32 + 1;
        if already > 0 {
            log::info!(
                "copy {}: resuming: {already} rows were copied by an earlier run",
                plan.name
            );
            progress.resume(already);
        }
        for w in &plan.warnings {
            log::warn!("copy {}: {w}", plan.name);
        }

        // A keyless source cannot resume part-way.
        if plan.key.is_none() {
            if let Some(p) = state.parts.get(&0).filter(|p| p.pages > 0 && !p.done) {
                if !plan.target.has_not_null_unique_key() {
                    return Err(Error::usage(format!(
                        "copy {}: cannot resume: its source table {} has no key, so it is read \
                         in one pass and cannot continue part-way, and its target {} has no \
                         unique key, so starting it over would duplicate the {} rows already \
                         written; empty the target table and run without --resume",
                        plan.name, plan.source.name, plan.target.name, p.written
                    )));
                }
                log::warn!(
                    "copy {}: its source has no key, so it cannot resume part-way: it starts \
                     over (the target's unique key keeps rows from doubling)",
                    plan.name
                );
                state.parts.clear();
            }
        }

        // A page written twice doubles its rows unless a NOT NULL unique key stops it.
        let keyless_target = !plan.target.has_not_null_unique_key();
        if let (Some(st), Some(_)) = (&self.cfg.state, &resume) {
            if keyless_target && matches!(st.store, crate::state::StateStore::File(_)) {
                // The file is saved after each page commits, so whatever it says (no
                // page yet included), one more page may have landed. Only `--force`
                // starting a changed copy over (an empty state) is not a resume.
                let part_way = resume
                    .as_ref()
                    .is_some_and(|r| r.plan == plan.fingerprint());
                if part_way {
                    return Err(Error::usage(format!(
                        "copy {}: cannot resume from a state file into {}, which has no unique \
                         key: the last page may or may not have landed, and writing it again \
                         would duplicate it; use the state table (the default), or empty the \
                         target and run without --resume",
                        plan.name, plan.target.name
                    )));
                }
            }
        }

        // Secondary indexes: an earlier run's that are still off the table come back
        // when this run ends; else an empty target may load without its plain ones.
        let newly_deferred = match &task.deferred_before {
            Some(_) => None,
            None => self.indexes_to_defer(plan, task.defer_indexes, total)?,
        };
        state.deferred = task.deferred_before.clone().or(newly_deferred.clone());

        if let Some(st) = self.cfg.state.clone() {
            let dst = self.control(Role::Target)?;
            st.ensure(dst)?;
            st.save_copy(dst, &task.id, &state)?;
            self.save_file_copy(&task.id, &state, false)?;
        }
        // Recorded first, taken off second: a run that dies in between finds them
        // recorded and present, and adds back none.
        if let Some(d) = &newly_deferred {
            let dst = self.control(Role::Target)?;
            crate::indexes::drop_indexes(dst, d)?;
        }

        // Rows cross undecoded into a MariaDB target written in bulk, read in key
        // order: a direct copy's always (its rows name themselves), a processed
        // copy's when its processor can hand rows back untouched, which are then
        // written as read (a transform that returns its row without setting a field).
        // Not when a column pair may narrow silently: those values are checked decoded
        // (see `fit`).
        let bulk_target = task.method == Method::Bulk
            && task.plan.key.is_some()
            && self.control(Role::Target)?.is_mariadb();
        let plan = &task.plan;
        let narrowing = |sources: &[RawSource]| match crate::fit::narrowing_pair(plan, sources) {
            Some(pair) => {
                log::info!(
                    "copy {}: rows are decoded to check values that may not fit ({pair})",
                    plan.name
                );
                true
            }
            None => false,
        };
        let (key_in_row, undecoded, undecoded_key, untouched) = match &task.processing {
            Processing::Direct(_) => {
                let at = key_in_row(plan, &plan_sources(plan));
                match (
                    &at,
                    raw_sources(plan).filter(|s| bulk_target && !narrowing(s)),
                ) {
                    (Some(k), Some(sources)) if bulk_target => {
                        let k = k.clone();
                        (at, Some(sources), k, None)
                    }
                    _ => (at, None, Vec::new(), None),
                }
            }
            Processing::Local(p) if bulk_target => {
                // Keys are read from the target rows of untouched pages.
                let untouched = p
                    .untouched()
                    .filter(|sources| !narrowing(sources))
                    .and_then(|sources| {
                        key_in_row(plan, &raw_columns(&sources)).map(|at| (at, sources))
                    });
                match untouched {
                    Some((at, sources)) => {
                        let all = (0..plan.source.columns.len())
                            .map(RawSource::Column)
                            .collect();
                        let key = plan.key.clone().unwrap_or_default();
                        (Some(at), Some(all), key, Some(sources))
                    }
                    None => (None, None, Vec::new(), None),
                }
            }
            Processing::Local(_) => (None, None, Vec::new(), None),
        };
        if undecoded.is_some() {
            log::info!(
                "copy {}: rows cross undecoded (bulk requests built from the source's row packets)",
                plan.name
            );
        }
        let shared = Arc::new(Shared {
            plan: task.plan,
            id: task.id,
            stats: Mutex::new(CopyStats {
                resumed: already,
                ..CopyStats::default()
            }),
            progress: Mutex::new(progress),
            cancel: AtomicBool::new(false),
            pages_seen: AtomicU64::new(0),
            limit: task.limits.is_set().then(|| Throttle::new(task.limits)),
            cfg: self.cfg.clone(),
            file_state: self.file_state.clone(),
            keyless_target,
            method: task.method,
            key_in_row,
            undecoded,
            undecoded_key,
            untouched,
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
            start,
            state: state.clone(),
            out_layout: None,
        };
        let nparts = splits.len() + 1;
        // Each key range: its first key column from the split before it (included) up
        // to the next (excluded), compared in the key's order.
        let mut part_queries = Vec::with_capacity(nparts);
        for part in 0..nparts {
            let mut q = query.clone();
            if let Some(Some(lo)) = part.checked_sub(1).map(|i| &splits[i]) {
                q.and_key(Op::Ge, &lo[0])?;
            }
            if let Some(Some(hi)) = splits.get(part) {
                q.and_key(Op::Lt, &hi[0])?;
            }
            part_queries.push(q);
        }
        // Pages in flight are shared out among a copy's key ranges, so memory does not
        // grow with `workers`: 3 each for one or two ranges, fewer for more.
        let slots = (PAGES_PER_COPY / nparts).clamp(1, PAGES_IN_FLIGHT);
        for part in 0..nparts as u32 {
            let ps = state.parts.get(&part).cloned().unwrap_or_default();
            if ps.done {
                continue;
            }
            let q = part_queries[part as usize].clone();
            let (wtx, wrx) = unbounded::<Page>();
            let (slot_tx, slot_rx) = bounded::<()>(slots);
            for _ in 0..slots {
                let _ = slot_tx.send(());
            }
            if direct.is_none() {
                // A locally processed copy's pages reach its writers through this
                // thread; a direct copy's readers feed their writers themselves.
                running.writers.insert(part, wtx.clone());
            }
            running.open_parts += 1;
            let after = ps.last_key.as_ref().map(|k| key_from_state(k));
            let reader = ReaderCtx {
                shared: shared.clone(),
                copy: handle,
                part,
                query: q,
                after,
                ordinal: ps.read,
                direct: direct.clone(),
                layout: None,
                to_writer: wtx,
                slots: slot_rx,
                raw: self.raw.0.clone(),
                events: self.events.0.clone(),
            };
            let writer = WriterCtx {
                shared: shared.clone(),
                copy: handle,
                part,
                state: ps,
                events: self.events.0.clone(),
                slots: slot_tx,
            };
            // The threads end on their own: a writer when its part is done or stopped, a
            // reader when its range is read or its copy stops.
            std::thread::Builder::new()
                .name(format!("ferry-w{handle}.{part}"))
                .spawn(move || writer.run(wrx))
                .map_err(|e| Error::usage(format!("cannot start a writer thread: {e}")))?;
            std::thread::Builder::new()
                .name(format!("ferry-r{handle}.{part}"))
                .spawn(move || reader.run())
                .map_err(|e| Error::usage(format!("cannot start a reader thread: {e}")))?;
        }
        let nothing_left = running.open_parts == 0;
        self.running.insert(handle, running);
        if nothing_left {
            self.finish(handle);
        }
        Ok(handle)
    }

    /// Split points on the first key column for `workers` ranges: evenly between the
    /// smallest and largest value of an integer, by rows for any other type.
    fn split(
        &mut self,
        plan: &CopyPlan,
        query: &SourceQuery,
        workers: usize,
        total: u64,
    ) -> Result<Vec<Option<Vec<Value>>>> {
        let Some(key) = &plan.key else {
            return Ok(Vec::new());
        };
        if workers <= 1 {
            return Ok(Vec::new());
        }
        let col = &plan.source.columns[key[0]];
        if !col.data_type.ends_with("int") {
            let name = col.name.clone();
            return self.split_by_rows(plan, query, workers, total, &name);
        }
        let q = quote_ident(&col.name);
        let (sql, p) = query.aggregate_sql(&format!(
            "CAST(MIN({q}) AS DECIMAL(20,0)), CAST(MAX({q}) AS DECIMAL(20,0))"
        ));
        let src = self.control(Role::Source)?;
        let row: Option<(Option<String>, Option<String>)> =
            src.conn().exec_first(sql, params(p)).map_err(|e| {
                src.err(&format!("reading the key range of {}", plan.source.name), e)
            })?;
        let (Some(Some(lo)), Some(Some(hi))) =
            (row.as_ref().map(|r| r.0.clone()), row.map(|r| r.1))
        else {
            return Ok(Vec::new());
        };
        let (lo, hi): (i128, i128) = match (lo.parse(), hi.parse()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return Ok(Vec::new()),
        };
        let span = hi - lo + 1;
        let n = (workers as i128).min(span.max(1));
        let mut splits = Vec::new();
        for i in 1..n {
            let at = lo + span * i / n;
            let v = if at < 0 {
                Value::Int(at as i64)
            } else if at > i64::MAX as i128 {
                Value::UInt(at as u64)
            } else {
                Value::Int(at as i64)
            };
            splits.push(Some(vec![v]));
        }
        Ok(splits)
    }

    /// Split points for a key whose first column is not an integer (text, bytes, dates,
    /// decimals): the first column's value every `total / workers` rows in key order,
    /// read with `LIMIT 1 OFFSET n` on the key's index (a walk over that many index
    /// entries, far less than a worker's share of the copy). A value equal to the one
    /// before is dropped, so ranges never overlap; `total` is an estimate, so a point
    /// past the end is dropped too.
    fn split_by_rows(
        &mut self,
        plan: &CopyPlan,
        query: &SourceQuery,
        workers: usize,
        total: u64,
        column: &str,
    ) -> Result<Vec<Option<Vec<Value>>>> {
        let t = Instant::now();
        let src = self.control(Role::Source)?;
        let mut splits: Vec<Option<Vec<Value>>> = Vec::new();
        for i in 1..workers as u64 {
            let (sql, p) = query.key_at_sql(total * i / workers as u64);
            let at: Option<Value> = src.conn().exec_first(sql, params(p)).map_err(|e| {
                src.err(
                    &format!("splitting {} into key ranges", plan.source.name),
                    e,
                )
            })?;
            let Some(at) = at.filter(|v| *v != Value::NULL) else {
                break;
            };
            if splits.last().and_then(|s| s.as_ref()).map(|s| &s[0]) != Some(&at) {
                splits.push(Some(vec![at]));
            }
        }
        log::info!(
            "copy {}: {} key ranges by rows on {column} (split in {:.2}s)",
            plan.name,
            splits.len() + 1,
            t.elapsed().as_secs_f64()
        );
        Ok(splits)
    }

    /// The plain secondary indexes a copy into an empty target should take off for its
    /// load: `defer` as the copy or job says, else when it is big (`DEFER_FROM_ROWS`).
    /// `None` when it keeps them; the log says why when it was told to defer.
    fn indexes_to_defer(
        &mut self,
        plan: &CopyPlan,
        defer: Option<bool>,
        total: u64,
    ) -> Result<Option<crate::indexes::Deferred>> {
        if !defer.unwrap_or(total >= crate::indexes::DEFER_FROM_ROWS) {
            return Ok(None);
        }
        let dst = self.control(Role::Target)?;
        Ok(match crate::indexes::deferrable(dst, &plan.target)? {
            Ok(d) => {
                log::info!("copy {}: {}", plan.name, d.describe(&plan.target.name));
                Some(d)
            }
            Err(why) => {
                if defer == Some(true) {
                    log::info!(
                        "copy {}: the indexes of {} are kept during the load: {why}",
                        plan.name,
                        plan.target.name
                    );
                } else {
                    log::debug!(
                        "copy {}: indexes of {} kept: {why}",
                        plan.name,
                        plan.target.name
                    );
                }
                None
            }
        })
    }

    /// Adds back the secondary indexes a copy took off its target. A lost connection
    /// (or a restarted server) is ridden out like a page's: reconnect with backoff and
    /// add what is still missing (`rebuild` skips indexes that are present, so an ALTER
    /// that finished as the connection went is not run twice).
    fn add_back(&mut self, copy: &str, d: &crate::indexes::Deferred) -> Result<()> {
        let t = Instant::now();
        let mut tries = 0;
        let added = loop {
            let dst = self.control(Role::Target)?;
            match crate::indexes::rebuild(dst, d) {
                Ok(added) => break added,
                Err(crate::indexes::RebuildError::Transient(e)) if tries < self.cfg.retries => {
                    tries += 1;
                    log::warn!(
                        "copy {copy}: adding the secondary indexes back failed ({e}); \
                         reconnecting, try {tries} of {}",
                        self.cfg.retries
                    );
                    std::thread::sleep(backoff(tries));
                    self.control_dst = None;
                }
                Err(e) => return Err(e.into()),
            }
        };
        if !added.is_empty() {
            log::info!(
                "copy {copy}: built {} in {:.1}s",
                added.join(", "),
                t.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }

    /// Rewrites a copy's own state, not its parts' (which its writers keep).
    fn save_head(&mut self, id: &str, state: &CopyState) -> Result<()> {
        if let Some(st) = self.cfg.state.clone() {
            let dst = self.control(Role::Target)?;
            st.save_head(dst, id, state)?;
            self.save_file_copy(id, state, true)?;
        }
        Ok(())
    }

    /// Writes a copy's state into the state file (`state = "file"`); `keep_parts` keeps
    /// the parts the file already holds instead of `state`'s.
    fn save_file_copy(&self, id: &str, state: &CopyState, keep_parts: bool) -> Result<()> {
        if let (Some(fs), Some(st)) = (&self.file_state, &self.cfg.state) {
            let mut js = fs.lock().unwrap_or_else(|e| e.into_inner());
            let old = js.copies.insert(id.to_string(), state.clone());
            if let (true, Some(old), Some(new)) = (keep_parts, old, js.copies.get_mut(id)) {
                new.parts = old.parts;
            }
            st.save_file(&js)?;
        }
        Ok(())
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

    /// Waits until fewer than `n` copies run.
    /// What a failed copy committed before it failed (after `wait` returned its error).
    pub fn committed(&self, handle: usize) -> Option<CopyStats> {
        self.committed.get(&handle).cloned()
    }

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
                // Stopped by a signal: readers stop by themselves; the writers this
                // thread feeds end once their queues close.
                if crate::signals::stopped().is_some() {
                    for r in self.running.values_mut() {
                        r.writers.clear();
                    }
                }
            }
        }
    }

    fn process_local(&mut self, copy: usize, page: Page) {
        let Some(r) = self.running.get_mut(&copy) else {
            return;
        };
        if r.error.is_some() {
            return;
        }
        let processor = r.processor.as_mut().expect("a local copy has a processor");
        let part = page.part;
        let out = if page.undecoded.is_some() {
            process_undecoded_page(&r.shared, processor.as_mut(), page, &mut r.out_layout)
        } else {
            process_page(&r.shared, processor.as_mut(), page)
        };
        match out {
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

    /// Adds back the indexes a running copy took off its target, if any, and forgets
    /// them. A copy that `failed` saves that now (a copy that succeeds saves its whole
    /// state next); when they cannot be added back, the log says how they will be.
    fn restore_indexes(&mut self, r: &mut Running, failed: bool) -> Result<()> {
        let Some(d) = r.state.deferred.clone() else {
            return Ok(());
        };
        let name = &r.shared.plan.name;
        r.shared
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .phase(&format!("building the secondary indexes {} ...", d.names()));
        if let Err(e) = self.add_back(name, &d) {
            log::error!(
                "copy {name}: the secondary indexes {} are still off {}: {e}; the next \
                 run of this job adds them back, and so does `ferry state --clear`",
                d.names(),
                r.shared.plan.target.name
            );
            return Err(e);
        }
        r.state.deferred = None;
        if failed {
            if let Err(e) = self.save_head(&r.shared.id, &r.state) {
                log::warn!("copy {name}: {e}");
            }
        }
        Ok(())
    }

    /// Records a copy's result once all its parts have ended.
    fn finish(&mut self, copy: usize) {
        let Some(mut r) = self.running.remove(&copy) else {
            return;
        };
        let mut result = match r.error.take() {
            Some(e) => Err(e),
            None => match crate::signals::stopped() {
                Some(sig) => Err(Error::Interrupted { signal: sig }),
                None => Ok(()),
            },
        };
        // Indexes taken off for the load come back however the copy ended: a failed
        // or stopped copy leaves its committed pages, on a table defined as before.
        if let Err(e) = self.restore_indexes(&mut r, result.is_err()) {
            if result.is_ok() {
                result = Err(e);
            }
        }
        let mut stats = r.shared.stats.lock().map(|s| s.clone()).unwrap_or_default();
        stats.seconds = r.start.elapsed().as_secs_f64();
        let mut progress = r.shared.progress.lock().unwrap_or_else(|e| e.into_inner());
        let result = match result {
            Ok(()) => {
                // All parts are done: the copy is, and its mark moves on.
                let mut state = r.state.clone();
                state.done = true;
                state.read = stats.read + stats.resumed;
                state.written =
                    stats.written + r.state.parts.values().map(|p| p.written).sum::<u64>();
                if state.next_mark.is_some() {
                    state.mark = state.next_mark.take();
                }
                state.parts.clear();
                let saved = match self.cfg.state.clone() {
                    Some(st) => self
                        .control(Role::Target)
                        .and_then(|dst| st.save_copy(dst, &r.shared.id, &state))
                        .and_then(|_| self.save_file_copy(&r.shared.id, &state, false)),
                    None => Ok(()),
                };
                match saved {
                    Ok(()) => {
                        let conflicts = if stats.conflicts > 0 {
                            format!(", {} conflicts", stats.conflicts)
                        } else {
                            String::new()
                        };
                        progress.finish(&format!(
                            "done: {} read, {} written ({} inserted, {} updated), {} unchanged, \
                             {} ignored{conflicts}, {} skipped in {:.1}s",
                            stats.read,
                            stats.written,
                            stats.inserted,
                            stats.updated,
                            stats.unchanged,
                            stats.ignored,
                            stats.skipped,
                            stats.seconds
                        ));
                        Ok(stats.clone())
                    }
                    Err(e) => {
                        progress.abandon();
                        Err(e)
                    }
                }
            }
            Err(e) => {
                progress.abandon();
                Err(e)
            }
        };
        drop(progress);
        if result.is_err() {
            self.committed.insert(copy, stats);
        }
        // Named after the copy: with `parallel`, the script is elsewhere by now.
        let plan = &r.shared.plan;
        let result = result.map_err(|e| e.in_copy(&plan.name, &plan.location));
        self.finished.insert(copy, result);
    }
}

/// Where each source key column is in a target row whose values come from `sources`
/// (the source column of each target value, if any), when all are written as is.
fn key_in_row(plan: &CopyPlan, sources: &[Option<usize>]) -> Option<Vec<usize>> {
    let key = plan.key.as_ref()?;
    key.iter()
        .map(|&k| sources.iter().position(|s| *s == Some(k)))
        .collect()
}

/// The source column of each of a plan's target values, if any.
fn plan_sources(plan: &CopyPlan) -> Vec<Option<usize>> {
    plan.value_columns()
        .map(|c| match c.fill {
            Fill::Source(i) => Some(i),
            _ => None,
        })
        .collect()
}

/// The source column of each target value an untouched row gets, if any.
fn raw_columns(sources: &[RawSource]) -> Vec<Option<usize>> {
    sources
        .iter()
        .map(|s| match s {
            RawSource::Column(i) => Some(*i),
            RawSource::Value(_) => None,
        })
        .collect()
}

/// Turns a page of source rows into target rows with `processor`.
fn process_page(shared: &Shared, processor: &mut dyn RowProcessor, mut page: Page) -> Result<Page> {
    let page_no = shared.pages_seen.fetch_add(1, Ordering::SeqCst) + 1;
    let rows = std::mem::take(&mut page.rows);
    let mut out = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    let mut skipped = 0;
    for (row, key) in rows.into_iter().zip(std::mem::take(&mut page.keys)) {
        match processor.process(row) {
            Ok(Some(values)) => {
                out.push(values);
                keys.push(key);
            }
            Ok(None) => skipped += 1,
            Err(message) => return Err(shared.row_error(page_no, &key, message)),
        }
    }
    Ok(page.processed(out, None, keys, skipped))
}

/// Turns an undecoded page of source rows into target rows: still undecoded when every
/// row came back untouched (the common case of a transform that only reads, or skips),
/// as values otherwise.
fn process_undecoded_page(
    shared: &Shared,
    processor: &mut dyn RowProcessor,
    mut page: Page,
    out_layout: &mut Option<Arc<RawLayout>>,
) -> Result<Page> {
    let page_no = shared.pages_seen.fetch_add(1, Ordering::SeqCst) + 1;
    let raw = page.undecoded.take().expect("an undecoded page");
    let first = page.first_ordinal;
    let broken = |message: String| Error::Database {
        context: format!("copy {}, page {page_no}", shared.plan.name),
        message,
    };
    let source_row = |i: usize| raw.layout.decode(raw.row(i)).map_err(broken);
    // Row i's key and stream position, from its decoded source values.
    let key_of = |i: usize, row: &[Value]| -> (Vec<Value>, u64) {
        let key = shared
            .undecoded_key
            .iter()
            .map(|&j| row[j].clone())
            .collect();
        (key, first + i as u64)
    };
    let n = raw.len();
    // Per kept row: its values, or None when it came back untouched.
    let mut kept: Vec<(usize, Option<Vec<Value>>)> = Vec::with_capacity(n);
    let mut skipped = 0;
    for i in 0..n {
        match processor.process_undecoded(&raw.layout, raw.row(i)) {
            Ok(Processed::Untouched) => kept.push((i, None)),
            Ok(Processed::Row(values)) => kept.push((i, Some(values))),
            Ok(Processed::Skip) => skipped += 1,
            Err(message) => {
                let key = key_of(i, &source_row(i)?);
                return Err(shared.row_error(page_no, &key, message));
            }
        }
    }
    let sources = shared
        .untouched
        .as_ref()
        .expect("undecoded pages are processed by processors that leave rows untouched");
    let layout = match out_layout {
        Some(l) => l.clone(),
        None => {
            let l = Arc::new(raw.layout.remap(sources).map_err(broken)?);
            *out_layout = Some(l.clone());
            l
        }
    };
    let (rows, undecoded, keys) = if kept.iter().all(|(_, v)| v.is_none()) {
        let out = if layout.is_identity() && kept.len() == n {
            raw.with_layout(layout)
        } else {
            raw.remapped(kept.iter().map(|(i, _)| *i), &layout)
                .map_err(broken)?
        };
        (Vec::new(), Some(out), Vec::new())
    } else {
        let mut rows = Vec::with_capacity(kept.len());
        let mut keys = Vec::with_capacity(kept.len());
        for (i, values) in kept {
            let src = source_row(i)?;
            keys.push(key_of(i, &src));
            rows.push(values.unwrap_or_else(|| {
                sources
                    .iter()
                    .map(|s| match s {
                        RawSource::Column(c) => src[*c].clone(),
                        RawSource::Value(v) => v.clone(),
                    })
                    .collect()
            }));
        }
        (rows, None, keys)
    };
    Ok(page.processed(rows, undecoded, keys, skipped))
}

struct ReaderCtx {
    shared: Arc<Shared>,
    copy: usize,
    part: u32,
    query: SourceQuery,
    after: Option<Vec<Value>>,
    /// Rows of this part read before (stream positions continue from here).
    ordinal: u64,
    direct: Option<DirectProcessor>,
    /// The raw layout of this part's result, once known (see `Shared::passthrough`).
    layout: Option<Arc<RawLayout>>,
    to_writer: Sender<Page>,
    /// A slot per page in flight; the writer gives them back.
    slots: Receiver<()>,
    raw: Sender<RawPage>,
    events: Sender<Event>,
}

impl ReaderCtx {
    fn run(mut self) {
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
        let mut tries = 0;
        loop {
            if self.shared.stopping() {
                return Ok(());
            }
            let sql = self.query.page_sql(self.after.as_deref(), limit)?;
            let read = match &shared.undecoded {
                Some(sources) => read_raw_page(&mut db, sql, max_bytes, sources, &mut self.layout)
                    .map(|(rows, bytes)| (Vec::new(), Some(rows), bytes)),
                None => read_page(&mut db, sql, max_bytes)
                    .map(|(rows, bytes)| (rows, None, bytes))
                    .map_err(RawReadError::Db),
            };
            let (rows, undecoded, bytes) = match read {
                Ok(r) => r,
                Err(RawReadError::Layout(message)) => {
                    return Err(Error::Database {
                        context: format!("source {}: reading {}", db.spec, plan.source.name),
                        message,
                    })
                }
                Err(RawReadError::Db(e)) if is_transient(&e) && tries < self.shared.cfg.retries => {
                    tries += 1;
                    log::warn!(
                        "copy {}: reading the source failed ({}); reconnecting, try {tries} of {}",
                        plan.name,
                        crate::db::error_text(&e),
                        self.shared.cfg.retries
                    );
                    std::thread::sleep(backoff(tries));
                    db = self.shared.connect(Role::Source)?;
                    continue;
                }
                Err(RawReadError::Db(e)) => {
                    return Err(db.err(&format!("reading {}", plan.source.name), e))
                }
            };
            tries = 0;
            let n = undecoded.as_ref().map_or(rows.len(), |r| r.len());
            let end = n < limit && bytes < max_bytes;
            if let Some(avg) = bytes.checked_div(n) {
                limit = page.min((max_bytes / avg.max(1)).max(1));
                self.guard(&mut db, &rows, undecoded.as_ref())?;
                self.after = match &undecoded {
                    Some(raw) => Some(self.key_at(raw, raw.len() - 1)?),
                    None => rows.last().map(|r| plan.key_values(r)),
                };
                self.send(rows, undecoded, bytes)?;
            }
            if end || n == 0 {
                let _ = self.to_writer_end();
                return Ok(());
            }
        }
    }

    /// The page guard: a page must start after the last key of the page before, in
    /// the key's order, or paging would repeat rows (or never end).
    fn guard(&self, db: &mut Db, rows: &[Vec<Value>], undecoded: Option<&RawRows>) -> Result<()> {
        let Some(before) = &self.after else {
            return Ok(());
        };
        let plan = &self.shared.plan;
        let first = match undecoded {
            Some(raw) => self.key_at(raw, 0)?,
            None => match rows.first() {
                Some(r) => plan.key_values(r),
                None => return Ok(()),
            },
        };
        if crate::keyset::order(self.query.key(), &first, before, db)?
            == std::cmp::Ordering::Greater
        {
            return Ok(());
        }
        Err(Error::Database {
            context: format!(
                "copy {} ({}), reading {}",
                plan.name, plan.location, plan.source.name
            ),
            message: format!(
                "paging does not advance: a page starts at {}, which is not after {}, the last                  key of the page before; the copy stopped so that no row is read twice. Check                  the copy's `where` (it must be one predicate) and the key's collation",
                plan.row_label(Some(&first), 0),
                plan.row_label(Some(before), 0),
            ),
        })
    }

    /// The key of an undecoded page's row `i` (its key columns are in the row).
    fn key_at(&self, raw: &RawRows, i: usize) -> Result<Vec<Value>> {
        let at = &self.shared.undecoded_key;
        let row = raw
            .layout
            .decode(raw.row(i))
            .map_err(|message| Error::Database {
                context: format!("reading {}", self.shared.plan.source.name),
                message,
            })?;
        Ok(at.iter().map(|&j| row[j].clone()).collect())
    }

    fn stream(&mut self, db: &mut Db) -> Result<()> {
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
                    self.send(std::mem::take(&mut buf), None, bytes)?;
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
            self.send(buf, None, bytes)?;
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

    fn to_writer_end(&self) -> std::result::Result<(), ()> {
        if self.direct.is_some() {
            self.to_writer.send(Page::end(self.part)).map_err(|_| ())
        } else {
            // Through the local thread, so the end follows every page.
            self.raw
                .send((self.copy, Page::end(self.part)))
                .map_err(|_| ())
        }
    }

    fn send(
        &mut self,
        rows: Vec<Vec<Value>>,
        undecoded: Option<RawRows>,
        bytes: usize,
    ) -> Result<()> {
        // Wait for a slot: at most this part's share of pages between here and
        // the end of its writer. A writer that is gone (failed or stopped) leaves
        // none: stop quietly, it reports why.
        if self.slots.recv().is_err() {
            self.shared.cancel.store(true, Ordering::SeqCst);
            return Ok(());
        }
        let plan = &self.shared.plan;
        let read = undecoded.as_ref().map_or(rows.len(), |r| r.len()) as u64;
        if let Some(t) = &self.shared.limit {
            t.take(read, bytes as u64);
        }
        if let Some(t) = &self.shared.cfg.job_limit {
            t.take(read, bytes as u64);
        }
        let first_ordinal = self.ordinal + 1;
        if let (Some(d), Some(_)) = (&mut self.direct, &self.shared.key_in_row) {
            // Direct rows name themselves: their key is in the target row.
            self.ordinal += read;
            let page = Page {
                part: self.part,
                rows: rows.into_iter().map(|r| d.convert(r)).collect(),
                undecoded,
                keys: Vec::new(),
                first_ordinal,
                last_key: self.after.clone(),
                read,
                skipped: 0,
                end: false,
            };
            // A closed queue means the writer failed or stopped; it reports why.
            let _ = self.to_writer.send(page);
            return Ok(());
        }
        // Undecoded rows get their keys when they need them (see
        // `process_undecoded_page`).
        let keys: Vec<(Vec<Value>, u64)> = rows
            .iter()
            .map(|r| {
                self.ordinal += 1;
                (plan.key_values(r), self.ordinal)
            })
            .collect();
        if undecoded.is_some() {
            self.ordinal += read;
        }
        let page = Page {
            part: self.part,
            rows,
            undecoded,
            keys,
            first_ordinal,
            last_key: self.after.clone(),
            read,
            skipped: 0,
            end: false,
        };
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

struct WriterCtx {
    shared: Arc<Shared>,
    copy: usize,
    part: u32,
    state: PartState,
    events: Sender<Event>,
    /// Gives a page's slot back to the reader once the page is written.
    slots: Sender<()>,
}

impl WriterCtx {
    fn run(mut self, rx: Receiver<Page>) {
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
        let writer = Writer::new(&self.shared.plan, &db, self.shared.method);
        // Pages already queued are written even when the copy failed elsewhere (they
        // are whole and good); only a signal stops a writer before its queue is empty.
        loop {
            // A signal also stops a writer that waits: a stopped reader sends nothing
            // more, and a locally processed copy's queue stays open on the engine's
            // thread, so waiting for the queue to close would never end.
            let msg = match rx.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) if crate::signals::stopped().is_none() => continue,
                Err(_) => return Ok(()),
            };
            if crate::signals::stopped().is_some() {
                return Ok(());
            }
            if msg.end {
                return self.end(&mut db);
            }
            self.page(&mut db, &writer, msg)?;
            let _ = self.slots.send(());
        }
    }

    fn end(&mut self, db: &mut Db) -> Result<()> {
        self.state.done = true;
        self.commit_state(db)
    }

    /// Records the part's state outside a page (its end).
    fn commit_state(&mut self, db: &mut Db) -> Result<()> {
        let Some(st) = self.shared.cfg.state.clone() else {
            return Ok(());
        };
        if let Some((sql, p)) = st.checkpoint_sql(&self.shared.id, self.part, &self.state) {
            let mut tries = 0;
            loop {
                match db.conn().exec_drop(&sql, p.clone()) {
                    Ok(()) => break,
                    Err(e) if is_transient(&e) && tries < self.shared.cfg.retries => {
                        tries += 1;
                        std::thread::sleep(backoff(tries));
                        *db = self.shared.connect(Role::Target)?;
                    }
                    Err(e) => return Err(db.err("writing the job state", e)),
                }
            }
        }
        self.save_file()
    }

    fn save_file(&self) -> Result<()> {
        if let (Some(fs), Some(st)) = (&self.shared.file_state, &self.shared.cfg.state) {
            let mut js = fs.lock().unwrap_or_else(|e| e.into_inner());
            js.copies
                .entry(self.shared.id.clone())
                .or_default()
                .parts
                .insert(self.part, self.state.clone());
            st.save_file(&js)?;
        }
        Ok(())
    }

    fn page(&mut self, db: &mut Db, writer: &Writer, mut page: Page) -> Result<()> {
        let shared = self.shared.clone();
        let plan = &shared.plan;
        let mut next = self.state.clone();
        next.pages += 1;
        if page.last_key.is_some() {
            next.last_key = page.last_key.as_ref().map(|k| key_to_state(k));
        }
        next.read += page.read;
        next.skipped += page.skipped;
        next.written += page.len() as u64;
        let st = shared.cfg.state.clone();
        let mut tries = 0;
        let counts = loop {
            let checkpoint = st
                .as_ref()
                .and_then(|s| s.checkpoint_sql(&shared.id, self.part, &next));
            match writer.write_page(db, &mut page.rows, page.undecoded.as_ref(), checkpoint) {
                Ok(c) => break c,
                Err(e) if e.transient && tries < shared.cfg.retries => {
                    tries += 1;
                    log::warn!(
                        "copy {}: page {} failed ({}); reconnecting, try {tries} of {}",
                        plan.name,
                        next.pages,
                        e.error,
                        shared.cfg.retries
                    );
                    std::thread::sleep(backoff(tries));
                    *db = shared.connect(Role::Target)?;
                    // Did the page in doubt land? Its checkpoint says.
                    match st
                        .as_ref()
                        .map(|s| s.committed_pages(db, &shared.id, self.part))
                    {
                        Some(Ok(Some(pages))) if pages >= next.pages => {
                            log::info!(
                                "copy {}: page {} had landed before the connection was lost",
                                plan.name,
                                next.pages
                            );
                            // Its exact counts were lost with the connection.
                            break crate::writer::Counts {
                                inserted: page.len() as u64,
                                ..Default::default()
                            };
                        }
                        Some(Ok(Some(_))) => {}
                        Some(Err(e)) => return Err(e),
                        _ if shared.keyless_target => {
                            return Err(Error::Database {
                                context: format!("copy {}, page {}", plan.name, next.pages),
                                message: "the connection was lost while the page committed; \
                                          without a state table ferry cannot tell whether it \
                                          landed, and the target has no unique key"
                                    .into(),
                            })
                        }
                        _ => {}
                    }
                }
                Err(e) => {
                    let server = match &e.error {
                        Error::Database { message, .. } => message.clone(),
                        other => other.to_string(),
                    };
                    // A multi-row statement does not say which row the server refused
                    // (NULL into NOT NULL, a duplicate entry, a CHECK constraint): the
                    // page's rows, written again one at a time and rolled back, do.
                    let row = e.row.or_else(|| {
                        let about_values = crate::row_error::is_about_values(&server);
                        (about_values && !page.rows.is_empty())
                            .then(|| writer.locate_row(db, &page.rows))
                            .flatten()
                    });
                    let key = row.and_then(|r| {
                        if let Some((k, n)) = page.keys.get(r) {
                            return Some((k.clone(), *n));
                        }
                        let at = shared.key_in_row.as_ref()?;
                        let row = page.rows.get(r)?;
                        Some((
                            at.iter().map(|&j| row[j].clone()).collect(),
                            page.first_ordinal + r as u64,
                        ))
                    });
                    return Err(match key {
                        Some((k, n)) => Error::Row(Box::new(RowError {
                            copy: plan.name.clone(),
                            location: plan.location.clone(),
                            page: next.pages,
                            key: plan.row_label(Some(&k), n),
                            culprits: crate::row_error::culprits(
                                plan,
                                &server,
                                row.and_then(|r| page.rows.get(r)).map(Vec::as_slice),
                            ),
                            message: format!(
                                "writing into {}.{}: {}",
                                plan.target.database,
                                plan.target.name,
                                crate::row_error::without_row_number(&server)
                            ),
                        })),
                        None => e.error,
                    });
                }
            }
        };
        self.state = next;
        self.save_file()?;
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{resolve, CopySpec, MapSource, Mode};
    use crate::schema::{ColumnInfo, TableInfo};

    fn table(name: &str, cols: &[&str]) -> TableInfo {
        TableInfo {
            database: "d".into(),
            name: name.into(),
            columns: cols
                .iter()
                .map(|c| ColumnInfo {
                    name: c.to_string(),
                    column_type: "varchar(10)".into(),
                    data_type: "varchar".into(),
                    nullable: true,
                    default: None,
                    key: String::new(),
                    extra: String::new(),
                    charset: Some("utf8mb4".into()),
                    collation: None,
                })
                .collect(),
            indexes: Vec::new(),
            estimated_rows: 0,
            avg_row_bytes: 0,
            triggers: Vec::new(),
        }
    }

    #[test]
    fn direct_rows_copy_a_column_used_twice_and_move_the_rest() {
        let spec = CopySpec {
            from: "s".into(),
            to: "t".into(),
            mode: Mode::Insert,
            page: 10,
            filter: None,
            map: vec![
                ("a".into(), MapSource::Column("x".into())),
                ("b".into(), MapSource::Column("x".into())),
            ],
            defaults: Vec::new(),
            has_transform: false,
            sample_fields: None,
            location: "job.lua:1".into(),
            accept: Default::default(),
        };
        let plan = resolve(
            &spec,
            &table("s", &["x", "y"]),
            &table("t", &["a", "b", "y"]),
        )
        .unwrap();
        let mut p = DirectProcessor::new(&plan).unwrap();
        let out = p
            .process(vec![Value::from("one"), Value::from("two")])
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            vec![Value::from("one"), Value::from("one"), Value::from("two")]
        );
    }

    #[test]
    fn direct_rows_pass_through_only_when_the_columns_line_up() {
        let spec = |from: &str, to: &str| CopySpec {
            from: from.into(),
            to: to.into(),
            mode: Mode::Insert,
            page: 10,
            filter: None,
            map: Vec::new(),
            defaults: Vec::new(),
            has_transform: false,
            sample_fields: None,
            location: "job.lua:1".into(),
            accept: Default::default(),
        };
        let row = || vec![Value::from("x1"), Value::from("y1")];
        let same = resolve(
            &spec("s", "t"),
            &table("s", &["x", "y"]),
            &table("t", &["x", "y"]),
        );
        let p = DirectProcessor::new(&same.unwrap()).unwrap();
        assert!(p.identity);
        assert_eq!(p.convert(row()), row());
        let swapped = resolve(
            &spec("s", "t"),
            &table("s", &["x", "y"]),
            &table("t", &["y", "x"]),
        );
        let p = DirectProcessor::new(&swapped.unwrap()).unwrap();
        assert!(!p.identity);
        assert_eq!(p.convert(row()), vec![Value::from("y1"), Value::from("x1")]);
    }
}
