//! A run's thread: `ferry run JOB [--resume] [--no-check]` of the job file as saved,
//! through `crate::run::run_job_into` with the page's stop token, pace and progress
//! sink; then the end: its state, exit status (as `ferry run` would exit), error,
//! summary table and rejects.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::{feed, Run, Runs, State};
use crate::conn_spec::mask_urls;
use crate::error::Error;
use crate::job::{CopyResult, RunFlags};
use crate::run::{run_job_into, JobSource, RunConfig, RunControl};

/// Rejects shown per copy.
const REJECTS_SHOWN: usize = 50;

/// The log file the page's runs append to, as `ferry run`'s default: `ferry.log` in
/// the directory `ferry ui` was started in.
pub const LOG_FILE: &str = "ferry.log";

impl Runs {
    /// What `ferry state JOB` would be given: the job and the command line's sides.
    pub fn state_config(&self, job: PathBuf) -> RunConfig {
        RunConfig {
            job,
            source: self.source.clone(),
            target: self.target.clone(),
            log: PathBuf::from(LOG_FILE),
            vars: Vec::new(),
            dry_run: true,
            quiet: true,
            flags: RunFlags::default(),
            replay: None,
            control: None,
        }
    }

    /// Starts a run of `job` on its own thread (`ferry run`: `state_config`'s, not a dry
    /// run, with the flags and the page's control); `Err(id)` while run `id` is going.
    pub fn start(&self, job: PathBuf, resume: bool, no_check: bool) -> Result<Arc<Run>, u64> {
        let run = self.begin(job.clone(), resume, no_check)?;
        let cfg = RunConfig {
            dry_run: false,
            flags: RunFlags {
                resume,
                no_check,
                ..RunFlags::default()
            },
            control: Some(RunControl {
                stop: run.stop.clone(),
                pace: run.pace.clone(),
                progress: Arc::new(feed::Progress(run.clone())),
            }),
            ..self.state_config(job)
        };
        let on_thread = run.clone();
        let spawned = std::thread::Builder::new()
            .name("ferry-run".into())
            .spawn(move || execute(&on_thread, &cfg));
        if let Err(e) = spawned {
            run.end(
                State::Failed,
                1,
                Some(format!("cannot start the run's thread: {e}")),
                json!({"copies": [], "table": "", "rejects": []}),
            );
        }
        Ok(run)
    }
}

fn execute(run: &Arc<Run>, cfg: &RunConfig) {
    let mut results = Vec::new();
    let result = feed::attach(run.clone(), &cfg.log).and_then(|()| {
        log::info!(
            target: crate::log_target::FILE_ONLY,
            "ui: run {} of {} started from the page{}{}",
            run.id,
            cfg.job.display(),
            if cfg.flags.resume { " (--resume)" } else { "" },
            if cfg.flags.no_check { " (--no-check)" } else { "" },
        );
        run.state_changed();
        let job = JobSource::read(&cfg.job).inspect_err(|e| log::error!("{e}"))?;
        // A panic in the run ends the run, not the page: it is said, and the next run
        // may start.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_job_into(&job, cfg, &mut results)
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            Err(Error::System {
                what: "the run".into(),
                message: format!("ferry failed inside: {what}"),
            })
        })
    });
    feed::detach();
    let (state, exit, error) = match &result {
        Ok(()) => (State::Done, 0, None),
        Err(e @ Error::Interrupted { met, .. }) => {
            // The page's Stop, not a signal: said as the page says it.
            let mut said = "stopped from the page after the pages in flight; every committed \
                            page is checkpointed: Resume (`ferry run --resume`) goes on from there"
                .to_string();
            if let Some(met) = met {
                said.push_str(&format!(
                    "\nbefore the stop, the run had met this error: {met}"
                ));
            }
            (State::Stopped, e.exit_code(), Some(mask_urls(&said)))
        }
        Err(e) => (
            State::Failed,
            e.exit_code(),
            Some(mask_urls(&e.to_string())),
        ),
    };
    run.end(state, exit, error, summary(&results));
}

/// The summary table as data (and as `ferry run` prints it), with each rejects file
/// and its first entries.
fn summary(results: &[CopyResult]) -> Json {
    let copies: Vec<Json> = results
        .iter()
        .map(|r| {
            let s = &r.stats;
            json!({
                "copy": r.name,
                "mode": r.mode.name(),
                "status": r.status,
                "read": s.read,
                "written": s.written,
                "inserted": s.inserted,
                "updated": s.updated,
                "unchanged": s.unchanged,
                "ignored": s.ignored,
                "conflicts": s.conflicts,
                "skipped": s.skipped,
                "rejected": s.rejected,
                "seconds": (s.seconds * 100.0).round() / 100.0,
                "rows_per_s": (s.read as f64 / s.seconds.max(1e-6)).round(),
            })
        })
        .collect();
    let rejects: Vec<Json> = results
        .iter()
        .filter_map(|r| Some((r, r.stats.rejects_file.as_deref()?)))
        .map(|(r, path)| {
            let (count, first) = rejects_of(path);
            json!({
                "copy": r.name,
                "path": path.display().to_string(),
                "rejected": r.stats.rejected,
                "entries": count,
                "first": first,
            })
        })
        .collect();
    json!({
        "copies": copies,
        "table": mask_urls(&crate::run::summary(results)),
        "rejects": rejects,
    })
}

/// A rejects file's entry count and its first entries: each its copy, source key and
/// error.
fn rejects_of(path: &Path) -> (usize, Vec<Json>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let first = text
        .lines()
        .take(REJECTS_SHOWN)
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .map(|e| {
            json!({
                "copy": e["copy"],
                "key": e["key"],
                "error": mask_urls(e["error"].as_str().unwrap_or("")),
            })
        })
        .collect();
    (text.lines().count(), first)
}
