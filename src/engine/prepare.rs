//! Every decision made before a copy's threads start, returned as plain data
//! (`Prepared`): whether an earlier run already did the copy, its incremental window
//! (`window`), its progress total, its key ranges, whether it may resume as its state says, which
//! secondary indexes it takes off for the load, and how its rows cross (`row_path`).

use std::time::Instant;

use crate::db::indexes::Deferred;
use crate::db::read::SourceQuery;
use crate::db::state::{key_from_state, key_to_state, CopyState};
use crate::db::{Role, Value};
use crate::error::Result;
use crate::plan::CopyPlan;

use super::config::{CopyStats, CopyTask};
use super::control::Control;
use super::ranges::{self, MIN_RANGE_ROWS};
use super::row_path::{self, RowPath};
use super::window;

/// Tables the server estimates below this many rows are counted exactly before copying.
const EXACT_COUNT_BELOW: u64 = 50_000;

/// What `prepare` found: nothing to do, or a copy ready to start.
pub(super) enum Start {
    /// An earlier run finished the copy (`--resume`).
    Done(CopyStats),
    Go(Box<Prepared>),
}

/// A copy ready for its threads.
pub(super) struct Prepared {
    pub started: Instant,
    /// The copy's state as this run starts it.
    pub state: CopyState,
    /// The rows to copy (the incremental window applied), before key ranges.
    pub query: SourceQuery,
    /// Rows to copy, exactly or as the server estimates.
    pub total: u64,
    /// Split points on the first key column: one key range more than points.
    pub splits: Vec<Option<Vec<Value>>>,
    /// Rows copied by earlier runs.
    pub resumed: u64,
    /// The target has no NOT NULL unique key: a page written twice doubles its rows.
    pub keyless_target: bool,
    /// Indexes this run takes off for its load (recorded in `state` first).
    pub newly_deferred: Option<Deferred>,
    pub rows: RowPath,
}

pub(super) fn prepare(control: &mut Control, task: &CopyTask) -> Result<Start> {
    let plan = &task.plan;
    let resume = task.resume.as_ref();
    if let Some(stats) = already_done(plan, resume) {
        return Ok(Start::Done(stats));
    }
    let started = Instant::now();
    let mut query = SourceQuery::for_table(&plan.source, plan.filter.clone());
    let mut state = resume.cloned().unwrap_or_default();
    state.plan = plan.fingerprint();
    state.mark = resume
        .and_then(|s| s.mark.clone())
        .or(task.kept_mark.clone());
    if let Some(since) = &task.since {
        state.next_mark = window::window(control, plan, since, resume, &mut query)?;
    }
    let total = total(control, task, &query)?;
    let splits = key_ranges(control, task, &query, total)?;
    state.bounds = splits
        .iter()
        .map(|b| b.as_ref().map(|k| key_to_state(k)))
        .collect();
    let resumed: u64 = state.parts.values().map(|p| p.read).sum();
    if resumed > 0 {
        log::info!(
            "copy {}: resuming: {resumed} rows were copied by an earlier run",
            plan.name
        );
    }
    for w in &plan.warnings {
        log::warn!("copy {}: {w}", plan.name);
    }
    keyless_source_restarts(plan, &mut state);
    let keyless_target = !plan.target.has_not_null_unique_key();
    // Secondary indexes: an earlier run's that are still off the table come back
    // when this run ends; else an empty target may load without its plain ones.
    let newly_deferred = match &task.deferred_before {
        Some(_) => None,
        None => indexes_to_defer(control, plan, task.defer_indexes, total)?,
    };
    state.deferred = task.deferred_before.clone().or(newly_deferred.clone());
    let rows = row_path::decide(control, task)?;
    Ok(Start::Go(Box::new(Prepared {
        started,
        state,
        query,
        total,
        splits,
        resumed,
        keyless_target,
        newly_deferred,
        rows,
    })))
}

/// The stats of a copy an earlier run finished, which this one skips.
fn already_done(plan: &CopyPlan, resume: Option<&CopyState>) -> Option<CopyStats> {
    let state = resume.filter(|s| s.done)?;
    log::info!(
        "copy {}: already done by an earlier run, skipped (--resume)",
        plan.name
    );
    Some(CopyStats {
        already_done: true,
        resumed: state.parts.values().map(|p| p.read).sum(),
        ..CopyStats::default()
    })
}

/// The progress total: the server's estimate for a big table (counting 500,000 rows
/// would hold the copy back by a tenth of a second, and more for bigger ones), an
/// exact count for small or filtered ones, whose estimate says little.
fn total(control: &mut Control, task: &CopyTask, query: &SourceQuery) -> Result<u64> {
    let plan = &task.plan;
    let filtered = plan.filter.is_some() || task.since.is_some();
    if !filtered && plan.source.estimated_rows >= EXACT_COUNT_BELOW {
        return Ok(plan.source.estimated_rows);
    }
    let src = control.get(Role::Source)?;
    src.count_rows(query, &plan.source.name)
}

/// Split points: a resumed copy's own, else new ones on the first key column for
/// big tables (at least `MIN_RANGE_ROWS` rows a range pays off).
fn key_ranges(
    control: &mut Control,
    task: &CopyTask,
    query: &SourceQuery,
    total: u64,
) -> Result<Vec<Option<Vec<Value>>>> {
    match &task.resume {
        Some(s) if !s.bounds.is_empty() || !s.parts.is_empty() => Ok(s
            .bounds
            .iter()
            .map(|b| b.as_ref().map(|k| key_from_state(k)))
            .collect()),
        _ => {
            let workers = task.workers.min((total / MIN_RANGE_ROWS) as usize).max(1);
            ranges::split(control, &task.plan, query, workers, total)
        }
    }
}

/// A keyless source cannot resume part-way: it starts over (the job refused, in the
/// plan pass, a resume into a target without a unique key that keeps rows from
/// doubling: `job::copy`'s `resume_refusal`).
fn keyless_source_restarts(plan: &CopyPlan, state: &mut CopyState) {
    if plan.key.is_some() || !state.parts.get(&0).is_some_and(|p| p.pages > 0 && !p.done) {
        return;
    }
    log::warn!(
        "copy {}: its source has no key, so it cannot resume part-way: it starts \
         over (the target's unique key keeps rows from doubling)",
        plan.name
    );
    state.parts.clear();
}

/// The plain secondary indexes a copy into an empty target should take off for its
/// load: `defer` as the copy or job says, else when it is big (`DEFER_FROM_ROWS`).
/// `None` when it keeps them; the log says why when it was told to defer.
fn indexes_to_defer(
    control: &mut Control,
    plan: &CopyPlan,
    defer: Option<bool>,
    total: u64,
) -> Result<Option<Deferred>> {
    if !defer.unwrap_or(total >= crate::db::indexes::DEFER_FROM_ROWS) {
        return Ok(None);
    }
    let dst = control.get(Role::Target)?;
    Ok(match crate::db::indexes::deferrable(dst, &plan.target)? {
        Ok(d) => {
            log::info!("copy {}: {}", plan.name, d.describe(&plan.target.name));
            Some(d)
        }
        Err(why) if defer == Some(true) => {
            log::info!(
                "copy {}: the indexes of {} are kept during the load: {why}",
                plan.name,
                plan.target.name
            );
            None
        }
        Err(why) => {
            log::debug!(
                "copy {}: indexes of {} kept: {why}",
                plan.name,
                plan.target.name
            );
            None
        }
    })
}
