//! `ferry check JOB.lua` and the check `ferry run` makes first: the plan pass, then
//! `check::scan` over every copy; a blocking hazard is `Error::Hazards` (exit 2) after
//! the report, before anything is written. Accepted hazards and notes go to the log.

use crate::check::{blocking_error, scan, CheckConfig, CheckReport};
use crate::error::Result;
use crate::job::{Job, RunFlags};
use crate::plan::CopyPlan;
use crate::progress::Display;

use super::{plan_pass, JobArgs, JobSource};

/// `ferry check`: prints the report; a blocking hazard is `Error::Hazards` (exit 2).
pub fn check_job(cfg: CheckConfig) -> Result<CheckReport> {
    crate::logging::init(&cfg.log, cfg.json)?;
    let job = JobSource::read(&cfg.job)?;
    let args = JobArgs {
        command: "check",
        source: &cfg.source,
        target: &cfg.target,
        vars: &cfg.vars,
        display: Display::detect(true),
        flags: RunFlags::default(),
        lock: false,
        replay: None,
    };
    let plan_ctx = plan_pass(&job, &args)?;
    let plans = plan_ctx.take_plans();
    if plans.is_empty() {
        log::warn!(
            "the job ran no copy: {} reached no `copy` call, so nothing was checked",
            job.name
        );
    }
    let report = scan(&plan_ctx, &plans)?;
    plan_ctx.close_sessions();
    if cfg.json {
        println!("{}", report.json());
    } else {
        print!("{report}");
    }
    log::info!(target: crate::progress::FILE_ONLY, "check {}: {}", job.name, report.summary());
    match blocking_error(&report, "before `ferry run`") {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// The check of a run, after its plan pass: the report and an error when a hazard
/// blocks (nothing written yet); what was accepted or noted, in the log.
pub(super) fn before_run(plan_ctx: &Job, plans: &[CopyPlan], job: &str) -> Result<()> {
    let report = rejected_not_blocking(plan_ctx, scan(plan_ctx, plans)?);
    let queries: u32 = report.copies.iter().map(|c| c.queries).sum();
    log::info!(
        target: crate::progress::FILE_ONLY,
        "run {job}: checked before writing: {} blocking hazard(s), {} query(ies) on the source",
        report.blocking,
        queries
    );
    for c in &report.copies {
        for h in c.hazards.iter().filter(|h| !h.blocking) {
            log::info!(
                "copy {}: check: {} in column `{}` ({} rows){}",
                c.copy,
                h.kind,
                h.column,
                h.count,
                if h.accepted { ", accepted" } else { "" }
            );
        }
    }
    if let Some(e) = blocking_error(&report, "or run with --no-check to let each page decide") {
        log::warn!(target: crate::log_target::CHECK_REPORT, "{report}");
        print!("{report}");
        return Err(e);
    }
    Ok(())
}

/// Hazards a rejecting copy cannot set aside row by row: a missing privilege refuses
/// every row, and the target session writes without foreign key checks, so an orphan
/// would be written, not refused.
const NOT_REJECTABLE: &[&str] = &["foreign_key", "privilege"];

/// A copy with `on_error = "reject"` sets aside the rows a blocking hazard would fail
/// or change: for it those hazards are notes (in the log), not a reason to stop, except
/// the kinds in `NOT_REJECTABLE`.
fn rejected_not_blocking(plan_ctx: &Job, mut report: CheckReport) -> CheckReport {
    let rejecting = plan_ctx.rejecting_copies();
    for c in report.copies.iter_mut() {
        if !rejecting.contains(&c.copy) {
            continue;
        }
        for h in c.hazards.iter_mut() {
            if !h.blocking || NOT_REJECTABLE.contains(&h.kind) {
                continue;
            }
            h.blocking = false;
            log::info!(
                "copy {}: check: {} row(s) with a {} value in column `{}` will be rejected \
                 (on_error = \"reject\")",
                c.copy,
                h.count,
                h.kind,
                h.column
            );
        }
    }
    CheckReport::new(report.copies, report.environment)
}
