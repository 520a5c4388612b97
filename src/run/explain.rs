//! `ferry explain JOB.lua [--copy NAME] [--key K | --rows N]`: the plan pass (a wrong
//! job is reported as `ferry run` reports it, exit 2; row code failing on a sample row
//! is only a warning here), then the explain pass, in which
//! each chosen copy explains a few of its rows (`crate::explain`) instead of copying;
//! the reports print at the end. Nothing is written.

use std::path::PathBuf;

use crate::conn_spec::ConnSpec;
use crate::error::{Error, Result};
use crate::explain::{unknown_copies, CopyExplain, ExplainOptions, Selection};
use crate::job::{Pass, RunFlags};
use crate::progress::Display;

use super::{next_pass, plan_pass_tolerating, JobArgs, JobSource};

pub struct ExplainConfig {
    pub job: PathBuf,
    pub source: Option<ConnSpec>,
    pub target: Option<ConnSpec>,
    pub log: PathBuf,
    pub vars: Vec<(String, String)>,
    /// `--copy NAME`, repeatable; empty: every copy.
    pub copies: Vec<String>,
    pub selection: Selection,
    pub json: bool,
}

/// `ferry explain`: prints each chosen copy's rows, explained.
pub fn explain_job(cfg: ExplainConfig) -> Result<Vec<CopyExplain>> {
    crate::logging::init(&cfg.log, true)?;
    let job = JobSource::read(&cfg.job)?;
    let args = JobArgs {
        command: "explain",
        source: &cfg.source,
        target: &cfg.target,
        vars: &cfg.vars,
        display: Display::detect(true),
        flags: RunFlags::default(),
        lock: false,
        replay: None,
    };
    // Row code that fails on a sample row is what explain is for: those rows show.
    let (plan_ctx, row_problems) = plan_pass_tolerating(&job, &args, true)?;
    for p in &row_problems {
        log::warn!("{p}");
    }
    let names: Vec<String> = plan_ctx.take_plans().into_iter().map(|p| p.name).collect();
    if names.is_empty() {
        return Err(Error::usage(format!(
            "the job {} reached no `copy` call: there is nothing to explain",
            job.name
        )));
    }
    unknown_copies(&cfg.copies, &names)?;
    let chosen = names
        .iter()
        .filter(|n| {
            cfg.copies.is_empty() || cfg.copies.iter().any(|c| c.split('#').next() == Some(n))
        })
        .count();
    if matches!(cfg.selection, Selection::Keys(_)) && chosen > 1 {
        return Err(Error::usage(format!(
            "--key picks rows of one copy: name it with --copy (the job's copies: {})",
            names.join(", ")
        )));
    }
    let ctx = next_pass(&job, &plan_ctx, &args, Pass::Explain);
    // The explain pass only reads; the target session refuses writes to be sure.
    crate::db::write::read_only(&mut ctx.session(crate::db::Role::Target, None)?.borrow_mut())?;
    ctx.set_explain_options(ExplainOptions {
        copies: cfg.copies.clone(),
        selection: cfg.selection.clone(),
    });
    let ran = {
        let state = crate::lua::new_state(ctx.clone(), job.dir)?;
        crate::lua::run_chunk(&state, &job.name, &job.code)
    };
    let reports = ctx.take_explains();
    ctx.close_sessions();
    ran.inspect_err(|e| log::error!("{e}"))?;
    if cfg.json {
        println!("{}", crate::explain::json(&reports));
    } else {
        for (i, r) in reports.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print!("{r}");
        }
    }
    for r in &reports {
        log::info!(target: crate::progress::FILE_ONLY, "explain {}: {}", job.name, r.summary());
    }
    Ok(reports)
}
