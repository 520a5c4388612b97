//! `ferry run`: the plan pass (every copy resolved and checked, nothing written, every
//! problem reported at once), then, for a clean job, the real pass, then the summary.
//! `ferry verify`: the same plan pass, then the verify pass, in which each copy compares
//! its source and target (`crate::verify`), then the report's summary.

mod check;
mod explain;
mod saved;
pub use check::check_job;
pub use explain::{explain_job, ExplainConfig};
pub use saved::saved_state;

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::conn_spec::ConnSpec;
use crate::db::state::{CopyState, StateHandle};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::job::{CopyResult, Job, Pass, Replay, RunFlags};
use crate::lua;
use crate::progress::Display;
use crate::table_fmt::render;

pub struct RunConfig {
    pub job: PathBuf,
    pub source: Option<ConnSpec>,
    pub target: Option<ConnSpec>,
    pub log: PathBuf,
    pub vars: Vec<(String, String)>,
    pub dry_run: bool,
    pub quiet: bool,
    pub flags: RunFlags,
    /// `--replay FILE`.
    pub replay: Option<PathBuf>,
    /// A run started by another face (`ferry ui`): its own stop token, pause and rate,
    /// and progress sink, in place of the signal handlers and the terminal.
    pub control: Option<RunControl>,
}

/// What a face that runs a job in-process (`ferry ui`) holds on the run: a stop after
/// the current page (as Ctrl-C), a pause and rows-per-second limit taken between pages,
/// and where the copies report their progress.
#[derive(Clone)]
pub struct RunControl {
    pub stop: crate::engine::Stop,
    pub pace: std::sync::Arc<crate::engine::Pace>,
    pub progress: std::sync::Arc<dyn crate::engine::ProgressSink>,
}

impl RunControl {
    fn apply(&self, ctx: &Job) {
        *ctx.stop.borrow_mut() = Some(self.stop.clone());
        *ctx.pace.borrow_mut() = Some(self.pace.clone());
        *ctx.progress.borrow_mut() = Some(self.progress.clone());
    }
}

/// Where a job's code comes from: a file, or text built into the binary (the demo).
pub struct JobSource<'a> {
    pub name: String,
    pub dir: Option<&'a Path>,
    pub code: Vec<u8>,
}

impl JobSource<'_> {
    /// A job script file.
    pub fn read(path: &Path) -> Result<JobSource<'_>> {
        let code = std::fs::read(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot read the job script: {e}"),
        })?;
        Ok(JobSource {
            name: path.display().to_string(),
            dir: path.parent(),
            code,
        })
    }
}

/// What every pass of a job gets: the connection overrides and the `--var` pairs.
pub struct JobArgs<'a> {
    /// `run` or `verify`, for the log.
    pub command: &'static str,
    pub source: &'a Option<ConnSpec>,
    pub target: &'a Option<ConnSpec>,
    pub vars: &'a [(String, String)],
    pub display: Display,
    /// `--resume`, `--force`, `--full`.
    pub flags: RunFlags,
    /// Take the job's run lock (`crate::job::lock`): `ferry run`, not a dry run.
    pub lock: bool,
    /// `--replay FILE`, read.
    pub replay: Option<Rc<Replay>>,
}

impl JobArgs<'_> {
    fn job(&self, job: &JobSource, pass: Pass) -> Job {
        let mut ctx = Job::new(
            pass,
            self.source.clone(),
            self.target.clone(),
            self.vars.to_vec(),
            self.display,
        )
        .for_job(&job.name, job.dir, self.flags);
        ctx.host.locking = self.lock;
        ctx.host.replay = self.replay.clone();
        ctx
    }
}

/// Runs the job in plan mode: copies are resolved, reads run, writes do not; every
/// problem of every copy is reported at once (`Error::Plan`). Returns the plan pass's
/// context: its plans, and the sessions and sample fields the next pass reuses.
pub fn plan_pass(job: &JobSource, args: &JobArgs) -> Result<Rc<Job>> {
    plan_pass_tolerating(job, args, false).map(|(ctx, _)| ctx)
}

/// `plan_pass`; with `rows_ok`, problems of rows alone (row code that fails on a
/// sample row) come back as messages instead of failing the pass (`ferry explain`
/// shows those rows).
fn plan_pass_tolerating(
    job: &JobSource,
    args: &JobArgs,
    rows_ok: bool,
) -> Result<(Rc<Job>, Vec<String>)> {
    log::info!(
        target: crate::progress::FILE_ONLY,
        "{} {}: plan pass",
        args.command,
        job.name
    );
    let plan_ctx = Rc::new(args.job(job, Pass::Plan));
    {
        let state = lua::new_state(plan_ctx.clone(), job.dir)?;
        lua::run_chunk(&state, &job.name, &job.code).inspect_err(|e| log::error!("{e}"))?;
    }
    let problems = plan_ctx.take_problems();
    if !problems.is_empty() {
        let rows_only = problems.iter().all(|p| p.data);
        if rows_only && rows_ok {
            return Ok((plan_ctx, problems.into_iter().map(|p| p.message).collect()));
        }
        let e = Error::Plan {
            problems: problems.into_iter().map(|p| p.message).collect(),
            rows_only,
        };
        log::error!("{e}");
        return Err(e);
    }
    Ok((plan_ctx, Vec::new()))
}

/// The context of the pass after the plan pass, on the plan pass's connections.
fn next_pass(job: &JobSource, plan_ctx: &Job, args: &JobArgs, pass: Pass) -> Rc<Job> {
    Rc::new(args.job(job, pass).after(plan_ctx))
}

pub fn run(cfg: RunConfig) -> Result<Vec<CopyResult>> {
    crate::logging::init(&cfg.log, cfg.quiet)?;
    run_job(&JobSource::read(&cfg.job)?, &cfg)
}

pub fn run_job(job: &JobSource, cfg: &RunConfig) -> Result<Vec<CopyResult>> {
    let mut results = Vec::new();
    run_job_into(job, cfg, &mut results).map(|()| results)
}

/// `run_job`, keeping the copies' results in `out` whether the run ends well or not (a
/// stopped or failed run still has its summary).
pub fn run_job_into(job: &JobSource, cfg: &RunConfig, out: &mut Vec<CopyResult>) -> Result<()> {
    let args = JobArgs {
        command: "run",
        source: &cfg.source,
        target: &cfg.target,
        vars: &cfg.vars,
        display: Display::detect(cfg.quiet),
        flags: cfg.flags,
        lock: !cfg.dry_run,
        replay: match &cfg.replay {
            Some(path) => Some(Rc::new(Replay::read(path)?)),
            None => None,
        },
    };
    let plan_ctx = plan_pass(job, &args)?;
    let plans = plan_ctx.take_plans();
    if cfg.dry_run {
        if plans.is_empty() {
            log::warn!("{}", no_copy(&job.name, "copied"));
        }
        let job_hooks = plan_ctx.job_hook_lines();
        if !job_hooks.is_empty() {
            println!("job (hooks not run in a dry run)");
            for h in &job_hooks {
                println!("  {h}");
            }
        }
        for set in plan_ctx.take_table_sets() {
            println!("{set}");
        }
        for sample in plan_ctx.take_samples() {
            println!("{sample}");
        }
        for p in &plans {
            println!("{p}");
        }
        println!(
            "plan OK: {} cop{}; nothing was written (dry run)",
            plans.len(),
            if plans.len() == 1 { "y" } else { "ies" }
        );
        return Ok(());
    }
    for set in plan_ctx.take_table_sets() {
        for o in &set.not_copied {
            log::info!("copy of many tables ({}): {o} is not copied", set.location);
        }
    }
    for p in &plans {
        for w in &p.warnings {
            log::warn!("copy {}: {w}", p.name);
        }
    }
    if !cfg.flags.no_check {
        check::before_run(&plan_ctx, &plans, &job.name).inspect_err(|e| log::error!("{e}"))?;
    }
    log::info!(
        target: crate::progress::FILE_ONLY,
        "run {}: plan OK ({} copies), real pass",
        job.name,
        plans.len()
    );
    // Taken at the plan pass's first copy; a script that caught (pcall) the refusal
    // must not go on to the real pass without it. (On the plan pass's context, whose
    // job{} settings are known.) A job without copies keeps no state and takes none.
    if !plans.is_empty() || plan_ctx.any_copy() {
        crate::job::lock::hold(&plan_ctx).inspect_err(|e| log::error!("{e}"))?;
    }
    let ctx = next_pass(job, &plan_ctx, &args, Pass::Real);
    if let Some(control) = &cfg.control {
        control.apply(&ctx);
    }
    let result = {
        let state = lua::new_state(ctx.clone(), job.dir)?;
        let ran = lua::run_chunk(&state, &job.name, &job.code);
        // Copies still running in the background (parallel jobs) end with the script.
        let waited = ctx.wait_all();
        // The job's `after` hooks and checks, once every copy ended well.
        ran.and(waited).and_then(|()| ctx.job_after())
    };
    // A stop by a signal decides the exit status, but never hides the error it met.
    let stopped = match &cfg.control {
        Some(control) => control.stop.signal(),
        None => crate::signals::stopped(),
    };
    let result = match (result, stopped) {
        (Err(e), Some(signal)) => Err(Error::Interrupted {
            signal,
            met: match e {
                Error::Interrupted { met, .. } => met,
                other => Some(Box::new(other)),
            },
        }),
        (r, _) => r,
    };
    *out = ctx.take_results();
    let results = &*out;
    // A copy a signal stopped stays in the engine with its transform, which holds the
    // Lua state and, through it, the sessions: drop the engine so every session ends
    // with COM_QUIT before the process exits.
    ctx.stop_engine();
    ctx.close_sessions();
    // Every copy has ended: the next run of the job may start.
    ctx.release_locks();
    if results.is_empty() && result.is_ok() {
        log::warn!("{}", no_copy(&job.name, "copied"));
    }
    let table = summary(results);
    if !results.is_empty() {
        print!("{table}");
    }
    log::info!(target: crate::progress::FILE_ONLY, "summary:\n{table}");
    match result {
        Ok(()) => {
            log::info!(target: crate::progress::FILE_ONLY, "run {}: done", job.name);
            Ok(())
        }
        Err(e) => {
            log::error!("{e}");
            Err(e)
        }
    }
}

/// The warning for a job that copied nothing: a script without `copy`, or one whose
/// copies all sit behind a condition that was false.
fn no_copy(job: &str, done: &str) -> String {
    format!("the job ran no copy: {job} reached no `copy` call, so nothing was {done}")
}

/// `ferry state JOB.lua [--clear]`: the job's saved state, one line per copy.
pub fn state(cfg: RunConfig, clear: bool) -> Result<()> {
    let (ctx, handle) = saved::job_state(&cfg)?;
    let dst = ctx.session(crate::db::Role::Target, None)?;
    let mut dst = dst.borrow_mut();
    if clear {
        clear_state(&handle, &mut dst)
    } else {
        show_state(&handle, &mut dst)
    }
}

/// `ferry state --clear`: puts back the indexes a dead run took off, then drops the
/// job's saved state; refused while a run holds the job.
fn clear_state(handle: &StateHandle, dst: &mut Db) -> Result<()> {
    // Held for the clear: refused while a run holds it, and no run starts meanwhile.
    let _lock =
        crate::job::lock::RunLock::acquire(handle, &dst.spec, false, "--clear dropped nothing")?;
    // Indexes a dead run took off for its load come back before the record of
    // them goes.
    for (id, c) in handle.load(dst)?.copies {
        if let Some(d) = &c.deferred {
            let added = crate::db::indexes::rebuild(dst, d)?;
            if !added.is_empty() {
                println!(
                    "copy {id}: added the secondary indexes {} back to {}",
                    added.join(", "),
                    d.table
                );
            }
        }
    }
    let n = handle.clear(dst)?;
    println!(
        "job {}: state dropped ({n} cop{}) from the {}",
        handle.job,
        if n == 1 { "y" } else { "ies" },
        handle.store.describe()
    );
    Ok(())
}

/// `ferry state`: the run holding the job, if any, and each copy's saved state.
fn show_state(handle: &StateHandle, dst: &mut Db) -> Result<()> {
    let saved = handle.load(dst)?;
    if let Some(r) = crate::job::lock::running(handle, dst)? {
        println!("job {}: running now: {}", handle.job, r.describe());
    }
    if saved.copies.is_empty() {
        println!(
            "job {}: no saved state in the {}",
            handle.job,
            handle.store.describe()
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = saved
        .copies
        .iter()
        .map(|(id, c)| state_row(id, c))
        .collect();
    println!(
        "job {}: state in the {}",
        handle.job,
        handle.store.describe()
    );
    print!(
        "{}",
        render(
            &["copy", "status", "read", "written", "since mark"],
            &rows,
            &[false, false, true, true, false],
        )
    );
    Ok(())
}

/// One copy's line in `ferry state`.
fn state_row(id: &str, c: &CopyState) -> Vec<String> {
    let s = saved::SavedCopy::of(id, c);
    vec![
        s.copy,
        s.status,
        s.read.to_string(),
        s.written.to_string(),
        s.mark.unwrap_or_default(),
    ]
}

pub struct VerifyConfig {
    pub job: PathBuf,
    pub source: Option<ConnSpec>,
    pub target: Option<ConnSpec>,
    pub log: PathBuf,
    pub vars: Vec<(String, String)>,
    /// Check only this many chunks per copy.
    pub sample: Option<u64>,
    pub quiet: bool,
}

/// `ferry verify`: the plan pass, then the verify pass; prints each copy's report as it
/// is done and the summary. Differences are an error (exit 1) after the report.
pub fn verify(cfg: VerifyConfig) -> Result<Vec<crate::verify::CopyReport>> {
    crate::logging::init(&cfg.log, cfg.quiet)?;
    let job = JobSource::read(&cfg.job)?;
    let args = JobArgs {
        command: "verify",
        source: &cfg.source,
        target: &cfg.target,
        vars: &cfg.vars,
        display: Display::detect(cfg.quiet),
        flags: RunFlags {
            verify: true,
            ..RunFlags::default()
        },
        lock: false,
        replay: None,
    };
    let plan_ctx = plan_pass(&job, &args)?;
    log::info!(
        target: crate::progress::FILE_ONLY,
        "verify {}: plan OK ({} copies), verify pass",
        job.name,
        plan_ctx.plan_count()
    );
    let ctx = next_pass(&job, &plan_ctx, &args, Pass::Verify);
    ctx.set_verify_options(crate::verify::VerifyOptions {
        sample: cfg.sample,
        display: args.display,
        ..Default::default()
    });
    let result = {
        let state = lua::new_state(ctx.clone(), job.dir)?;
        lua::run_chunk(&state, &job.name, &job.code)
    };
    let reports = ctx.take_reports();
    if let Err(e) = result {
        log::error!("{e}");
        return Err(e);
    }
    if reports.is_empty() {
        log::warn!("{}", no_copy(&job.name, "verified"));
    }
    let summary = crate::verify::summary(&reports);
    println!("{summary}");
    log::info!(target: crate::progress::FILE_ONLY, "{summary}");
    let differ = reports.iter().filter(|r| !r.is_equal()).count();
    if differ > 0 {
        return Err(Error::Check {
            message: format!(
                "{differ} of {} cop{} differ{} between source and target",
                reports.len(),
                if reports.len() == 1 { "y" } else { "ies" },
                if differ == 1 { "s" } else { "" }
            ),
        });
    }
    Ok(reports)
}

/// The end-of-run table: one line per copy (with a `rejected` column when a copy sets
/// rows aside, `on_error = "reject"`), then where each copy's rejected rows are.
pub fn summary(results: &[CopyResult]) -> String {
    let rejects = results.iter().any(|r| r.stats.rejects_file.is_some());
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let s = &r.stats;
            let mut row = vec![
                r.name.clone(),
                r.mode.name().to_string(),
                r.status.to_string(),
                s.read.to_string(),
                s.written.to_string(),
                s.inserted.to_string(),
                s.updated.to_string(),
                s.unchanged.to_string(),
                s.ignored.to_string(),
                s.conflicts.to_string(),
                s.skipped.to_string(),
            ];
            if rejects {
                row.push(s.rejected.to_string());
            }
            row.push(format!("{:.2}", s.seconds));
            row.push(format!("{:.0}", s.read as f64 / s.seconds.max(1e-6)));
            row
        })
        .collect();
    let mut heads = vec![
        "copy",
        "mode",
        "status",
        "read",
        "written",
        "inserted",
        "updated",
        "unchanged",
        "ignored",
        "conflicts",
        "skipped",
    ];
    if rejects {
        heads.push("rejected");
    }
    heads.extend(["seconds", "rows/s"]);
    let right: Vec<bool> = (0..heads.len()).map(|i| i >= 3).collect();
    let mut out = render(&heads, &rows, &right);
    for r in results {
        for (table, c) in &r.stats.emitted {
            out.push_str(&format!(
                "copy {}: emitted into {table}: {} written ({} inserted, {} updated), {} \
                 unchanged, {} ignored\n",
                r.name, c.written, c.inserted, c.updated, c.unchanged, c.ignored
            ));
        }
        let Some(path) = &r.stats.rejects_file else {
            continue;
        };
        // Entries of earlier runs (--resume) count too.
        let entries = std::fs::read(path)
            .map(|b| b.iter().filter(|&&c| c == b'\n').count())
            .unwrap_or(0);
        if entries > 0 || r.stats.rejected > 0 {
            out.push_str(&format!(
                "copy {}: {} rows rejected; the rejects file {} holds {entries} (`ferry run \
                 JOB --replay FILE` copies them again)\n",
                r.name,
                r.stats.rejected,
                path.display()
            ));
        }
    }
    out
}
