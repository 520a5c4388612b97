//! A job's saved state as data, for `ferry state` and for the page (`ferry ui`): the
//! script runs in plan mode to learn its target and its `job{}` settings (its copies'
//! problems do not matter here), then the state store is read.

use std::rc::Rc;

use serde::Serialize;

use crate::db::state::{CopyState, StateHandle};
use crate::error::Result;
use crate::job::{Job, Pass};
use crate::lua;
use crate::progress::Display;

use super::{JobSource, RunConfig};

/// The job's state as its target holds it.
#[derive(Debug, Serialize)]
pub struct SavedState {
    /// The job's name in the store.
    pub job: String,
    /// `state table ferry_state in shop` or the state file.
    pub store: String,
    /// The run holding the job now, if any.
    pub running: Option<String>,
    pub copies: Vec<SavedCopy>,
}

/// One copy's line of `ferry state`.
#[derive(Debug, Serialize)]
pub struct SavedCopy {
    pub copy: String,
    /// `done`, `part-way (1/1 ranges done)`, `not started`, with indexes and rejects.
    pub status: String,
    pub done: bool,
    /// Stopped midway: `ferry run --resume` goes on from its last committed page.
    pub resumable: bool,
    pub read: u64,
    pub written: u64,
    pub mark: Option<String>,
}

impl SavedCopy {
    /// Copy `id`'s line from its saved state: a finished copy's totals, or the sum of
    /// its ranges' so far.
    pub(super) fn of(id: &str, c: &CopyState) -> SavedCopy {
        let parts = c.bounds.len() + 1;
        let done_parts = c.parts.values().filter(|p| p.done).count();
        let sum = |f: fn(&crate::db::state::PartState) -> u64| c.parts.values().map(f).sum();
        let (read, written, rejected) = match c.done {
            true => (c.read, c.written, c.rejected),
            false => (sum(|p| p.read), sum(|p| p.written), sum(|p| p.rejected)),
        };
        let started = c.parts.values().any(|p| p.pages > 0);
        let mut status = if c.done {
            "done".to_string()
        } else if started {
            format!("part-way ({done_parts}/{parts} ranges done)")
        } else {
            "not started".to_string()
        };
        if let Some(d) = &c.deferred {
            status.push_str(&format!("; indexes off the table: {}", d.names()));
        }
        if rejected > 0 {
            status.push_str(&format!("; {rejected} rows rejected"));
        }
        SavedCopy {
            copy: id.to_string(),
            status,
            done: c.done,
            resumable: !c.done && started,
            read,
            written,
            mark: c.mark.clone(),
        }
    }
}

/// The job's plan-mode context (its sessions open) and its state handle.
pub(super) fn job_state(cfg: &RunConfig) -> Result<(Rc<Job>, StateHandle)> {
    let job = JobSource::read(&cfg.job)?;
    let ctx = Rc::new(
        Job::new(
            Pass::Plan,
            cfg.source.clone(),
            cfg.target.clone(),
            cfg.vars.clone(),
            Display::detect(true),
        )
        .for_job(&job.name, job.dir, cfg.flags),
    );
    {
        let state = lua::new_state(ctx.clone(), job.dir)?;
        lua::run_chunk(&state, &job.name, &job.code)?;
    }
    let handle = ctx.state_handle()?;
    Ok((ctx, handle))
}

/// The job's saved state, each copy as `ferry state` shows it.
pub fn saved_state(cfg: &RunConfig) -> Result<SavedState> {
    let (ctx, handle) = job_state(cfg)?;
    let saved = {
        let dst = ctx.session(crate::db::Role::Target, None)?;
        let mut dst = dst.borrow_mut();
        let running = crate::job::lock::running(&handle, &mut dst)?.map(|r| r.describe());
        let saved = handle.load(&mut dst)?;
        let copies = saved
            .copies
            .iter()
            .map(|(id, c)| SavedCopy::of(id, c))
            .collect();
        SavedState {
            job: handle.job.clone(),
            store: handle.store.describe(),
            running,
            copies,
        }
    };
    ctx.close_sessions();
    Ok(saved)
}
