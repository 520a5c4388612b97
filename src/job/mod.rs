//! The job layer: what a job is and does, without Lua. A `Job` holds one pass of a job
//! script: its settings (`job{...}`), the source and target sessions, the pass it runs
//! in, the problems the plan pass found, the copies' results and the engine that runs
//! them. `Job::copy` does everything one copy means (sample read, plan resolution,
//! resume reconciliation, incremental window, the engine's task, verify); the Lua
//! binding (`crate::lua`) only turns script values into its requests and its answers
//! back into script values.

pub mod background;
mod copy;
mod copy_problems;
mod emit;
mod explain;
mod hooks;
pub(crate) mod lock;
pub mod lookup;
mod objects;
mod rejects;
mod runner;
pub mod sample;
mod sessions;
mod settings;
mod tables;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::conn_spec::ConnSpec;
use crate::engine::{CopyStats, Engine};
use crate::error::Error;
use crate::plan::{CopyPlan, Mode};
use crate::progress::Display;

pub use copy::{CopyOptions, CopyOutcome, CopyRequest, Started, TableCopy, Transform};
pub use hooks::{Check, Hook, HookCode, Hooks};
pub use rejects::{RejectOptions, Replay};
pub use sessions::Sessions;
pub use settings::{JobSettings, DEFAULT_PAGE, DEFAULT_RETRIES};

/// Which pass a script runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Copies are resolved and checked, not executed; reads run, writes do not.
    Plan,
    /// Everything runs.
    Real,
    /// `ferry verify`: copies compare source and target instead of copying; reads
    /// run, writes do not.
    Verify,
    /// `ferry explain`: the chosen copies explain a few rows instead of copying; reads
    /// run, writes do not.
    Explain,
}

/// `--resume`, `--force`, `--full`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFlags {
    pub resume: bool,
    pub force: bool,
    pub full: bool,
    /// `--no-check`: no `ferry check` scan before the real pass.
    pub no_check: bool,
    /// `ferry verify`: nothing is written, so the target's triggers (which fire only
    /// on writes, and which `objects = true` made in the run being verified) are no
    /// problem.
    pub verify: bool,
}

/// A problem the plan pass found. `data`: a row failed (exit 1), else the job is wrong.
#[derive(Debug, Clone)]
pub struct Problem {
    pub message: String,
    pub data: bool,
}

/// One copy's line in the summary.
#[derive(Debug, Clone)]
pub struct CopyResult {
    pub name: String,
    pub mode: Mode,
    /// `ok`, `done before` (--resume), `failed`, `stopped`, or `check failed` /
    /// `hook failed` (its rows are in, an `after` hook or a check failed); a copy that
    /// failed or stopped shows what it committed.
    pub status: &'static str,
    pub stats: CopyStats,
}

/// What the host fixed before the script runs: the same for the whole pass.
#[derive(Debug, Clone)]
pub struct Host {
    pub pass: Pass,
    pub source_override: Option<ConnSpec>,
    pub target_override: Option<ConnSpec>,
    pub vars: Vec<(String, String)>,
    pub display: Display,
    pub flags: RunFlags,
    /// The job script's directory (state files live there).
    pub job_dir: Option<PathBuf>,
    /// Whether this pass takes the job's run lock (`ferry run`, not a dry run).
    pub locking: bool,
    /// `--replay FILE`: each copy reads just the rows of the file's entries for it.
    pub replay: Option<std::rc::Rc<Replay>>,
}

/// What one pass has found and made so far, kept apart from the engine so a
/// transform running inside a copy may still read it.
#[derive(Default)]
struct PassRecord {
    problems: Vec<Problem>,
    plans: Vec<CopyPlan>,
    results: Vec<CopyResult>,
    /// Fields of the transformed sample row per copy (`file:line|from|to`), found in
    /// the plan pass and reused by the real pass.
    sample_fields: HashMap<String, Option<Vec<String>>>,
    /// Copies seen so far in this pass, by name (for copy ids).
    copy_ids: HashMap<String, usize>,
    /// The state earlier runs left, loaded at the first copy.
    saved: Option<crate::db::state::JobState>,
    /// The verify pass's options and reports.
    verify: crate::verify::Verification,
    /// The explain pass's options and reports.
    explain: crate::explain::Explaining,
    /// Plan pass: target tables a copy of many tables will create, as they will be.
    planned_targets: HashMap<String, crate::db::schema::TableInfo>,
    /// Target triggers (table, trigger) a copy of many tables with `objects = true`
    /// drops before its data and makes again after it: they do not fire on its rows.
    remade_triggers: std::collections::BTreeSet<(String, String)>,
    /// Plan pass: the copies of many tables (`copy{tables = ...}`), as planned.
    table_sets: Vec<crate::plan::TableSetPlan>,
    /// Plan pass: the names of the copies with `on_error = "reject"`.
    rejecting: std::collections::BTreeSet<String>,
    /// Plan pass: the samples (`sample{}`), as planned.
    samples: Vec<crate::plan::sample::SamplePlan>,
    /// The key sets each sample chose (by id), found by the plan pass for the real
    /// pass, and whether they came frozen from an earlier run.
    found_samples: HashMap<String, (crate::db::sample_state::FrozenSample, bool)>,
}

/// The engine and the copies started on it (real pass).
#[derive(Default)]
struct Running {
    engine: Option<Engine>,
    /// Copies started and not yet waited for: (handle, name, mode).
    pending: Vec<(usize, String, Mode)>,
    /// Results of copies waited for, by handle.
    collected: HashMap<usize, Result<CopyStats, Error>>,
    /// The `after` hooks and checks of copies started and not yet waited for, with
    /// each copy's line in the job.
    hooks: HashMap<usize, (Hooks, String)>,
}

/// One pass of a job. Shared (`&self`) by every API call of the script; each part sits
/// in its own cell, so a transform that runs while the engine is busy can still open a
/// session or log, and a copy started from inside a transform is refused, not deadlocked.
pub struct Job {
    pub host: Host,
    /// `job{...}` settings.
    pub settings: RefCell<JobSettings>,
    /// The open sessions, kept across the plan and the real pass.
    pub sessions: RefCell<Sessions>,
    record: RefCell<PassRecord>,
    running: RefCell<Running>,
    /// `job{before=, after=, check=}` and the line of `job{...}`.
    job_hooks: RefCell<Hooks>,
    job_hooks_location: RefCell<String>,
    /// Whether the job's `before` hooks were considered in this pass.
    job_hooks_started: Cell<bool>,
    /// The stop token for this job's copies when it is not the signal handlers' (the
    /// REPL's Ctrl-C stops a copy without ending the prompt).
    pub stop: RefCell<Option<crate::engine::Stop>>,
    /// The pause and rate limit of every copy when a face controls the run (`ferry
    /// ui`), taken between pages.
    pub pace: RefCell<Option<std::sync::Arc<crate::engine::Pace>>>,
    /// Where copies report progress when not to the terminal (`ferry ui`).
    pub progress: RefCell<Option<std::sync::Arc<dyn crate::engine::ProgressSink>>>,
    /// The copies started with `background = true` (the REPL), oldest first.
    pub background: RefCell<Vec<std::sync::Arc<background::Background>>>,
    /// The run locks held (`crate::job::lock`); last, so they outlive the engine.
    pub locks: RefCell<Vec<crate::job::lock::RunLock>>,
}

impl Job {
    pub fn new(
        pass: Pass,
        source_override: Option<ConnSpec>,
        target_override: Option<ConnSpec>,
        vars: Vec<(String, String)>,
        display: Display,
    ) -> Job {
        Job {
            host: Host {
                pass,
                source_override,
                target_override,
                vars,
                display,
                flags: RunFlags::default(),
                job_dir: None,
                locking: false,
                replay: None,
            },
            settings: RefCell::new(JobSettings::new("job")),
            sessions: RefCell::new(Sessions::default()),
            record: RefCell::new(PassRecord::default()),
            running: RefCell::new(Running::default()),
            job_hooks: RefCell::new(Hooks::default()),
            job_hooks_location: RefCell::new(String::new()),
            job_hooks_started: Cell::new(false),
            stop: RefCell::new(None),
            pace: RefCell::new(None),
            progress: RefCell::new(None),
            background: RefCell::new(Vec::new()),
            locks: RefCell::new(Vec::new()),
        }
    }

    /// For a job file: its name and directory (state), and the run's flags.
    pub fn for_job(mut self, name: &str, dir: Option<&Path>, flags: RunFlags) -> Job {
        self.settings = RefCell::new(JobSettings::new(name));
        self.host.job_dir = dir.map(Path::to_path_buf);
        self.host.flags = flags;
        self
    }

    pub fn pass(&self) -> Pass {
        self.host.pass
    }

    /// Whether a copy has been seen in this pass (`job{}` must come first).
    pub fn any_copy(&self) -> bool {
        !self.record.borrow().copy_ids.is_empty()
    }

    /// The problems found so far, taken.
    pub fn take_problems(&self) -> Vec<Problem> {
        std::mem::take(&mut self.record.borrow_mut().problems)
    }

    /// The plans the plan pass resolved, taken.
    pub fn take_plans(&self) -> Vec<CopyPlan> {
        std::mem::take(&mut self.record.borrow_mut().plans)
    }

    /// The copies of many tables the plan pass resolved, taken.
    pub fn take_table_sets(&self) -> Vec<crate::plan::TableSetPlan> {
        std::mem::take(&mut self.record.borrow_mut().table_sets)
    }

    /// The samples the plan pass resolved, taken.
    pub fn take_samples(&self) -> Vec<crate::plan::sample::SamplePlan> {
        std::mem::take(&mut self.record.borrow_mut().samples)
    }

    /// How many plans the plan pass resolved.
    pub fn plan_count(&self) -> usize {
        self.record.borrow().plans.len()
    }

    /// The copies' results so far (the summary), taken.
    pub fn take_results(&self) -> Vec<CopyResult> {
        std::mem::take(&mut self.record.borrow_mut().results)
    }

    /// The verify pass's options.
    pub fn set_verify_options(&self, options: crate::verify::VerifyOptions) {
        self.record.borrow_mut().verify.options = options;
    }

    /// The verify pass's reports, taken.
    pub fn take_reports(&self) -> Vec<crate::verify::CopyReport> {
        std::mem::take(&mut self.record.borrow_mut().verify.reports)
    }

    /// Releases the run locks: the next run of the job may start.
    pub fn release_locks(&self) {
        drop(self.locks.take());
    }

    /// A copy's problems: recorded (with the rest) in the plan pass, an error in a
    /// later pass, where they can only mean the script took another path.
    pub fn refuse(&self, location: &str, name: &str, problems: Vec<String>) -> Result<(), Error> {
        if self.host.pass != Pass::Plan {
            return Err(Error::Plan {
                problems,
                rows_only: false,
            });
        }
        self.record
            .borrow_mut()
            .problems
            .extend(problems.into_iter().map(|p| Problem {
                message: format!("{location}: copy {name}: {p}"),
                data: false,
            }));
        Ok(())
    }

    /// This pass, on `earlier`'s sessions, sample fields and locks (the pass after the
    /// plan pass reuses them).
    pub fn after(self, earlier: &Job) -> Job {
        *self.sessions.borrow_mut() = earlier.sessions.take();
        *self.locks.borrow_mut() = earlier.locks.take();
        self.record.borrow_mut().sample_fields =
            std::mem::take(&mut earlier.record.borrow_mut().sample_fields);
        self.record.borrow_mut().found_samples =
            std::mem::take(&mut earlier.record.borrow_mut().found_samples);
        self
    }
}
