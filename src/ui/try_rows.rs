//! `try` on the page: the first rows of a pair of tables through the copy's own
//! processor, as `ferry explain` shows them (`crate::explain`): the one-line job
//! `copy { from = .., to = .. }` in the plan pass, then in the explain pass on the same
//! sessions, the target read-only. Nothing is written.

use std::rc::Rc;

use serde::Serialize;

use crate::conn_spec::{mask_urls, ConnSpec};
use crate::db::Role;
use crate::error::Result;
use crate::explain::{CopyExplain, ExplainOptions, Selection};
use crate::job::{Job, Pass};
use crate::progress::Display;

use super::job_text::{job, plan, JobText};

/// Rows `try` shows.
pub const TRY_ROWS: usize = 10;

#[derive(Debug, Serialize)]
pub struct TryView {
    pub copies: Vec<CopyExplain>,
    pub problems: Vec<String>,
}

const CODE: &[u8] = b"copy { from = vars.from, to = vars.to }\n";

pub fn try_pair(source: &ConnSpec, target: &ConnSpec, from: &str, to: &str) -> Result<TryView> {
    let vars = vec![
        ("from".to_string(), from.to_string()),
        ("to".to_string(), to.to_string()),
    ];
    let job = |pass| {
        Job::new(
            pass,
            Some(source.clone()),
            Some(target.clone()),
            vars.clone(),
            Display::detect(true),
        )
    };
    let plan = Rc::new(job(Pass::Plan));
    let mut problems = Vec::new();
    {
        let state = crate::lua::new_state(plan.clone(), None)?;
        if let Err(e) = crate::lua::run_chunk(&state, "try", CODE) {
            problems.push(mask_urls(&e.to_string()));
        }
    }
    let found = plan.take_problems();
    // Row code failing on a row is what try shows; any other problem stops here.
    let stop = !problems.is_empty() || found.iter().any(|p| !p.data);
    problems.extend(found.into_iter().map(|p| mask_urls(&p.message)));
    if stop {
        plan.close_sessions();
        return Ok(TryView {
            copies: Vec::new(),
            problems,
        });
    }
    let ctx = Rc::new(job(Pass::Explain).after(&plan));
    crate::db::write::read_only(&mut ctx.session(Role::Target, None)?.borrow_mut())?;
    ctx.set_explain_options(ExplainOptions {
        copies: Vec::new(),
        selection: Selection::First(TRY_ROWS),
    });
    let ran = {
        let state = crate::lua::new_state(ctx.clone(), None)?;
        crate::lua::run_chunk(&state, "try", CODE)
    };
    let copies = ctx.take_explains();
    ctx.close_sessions();
    if let Err(e) = ran {
        problems.push(mask_urls(&e.to_string()));
    }
    Ok(TryView { copies, problems })
}

/// `try` on one copy of a job text (the job with the page's edits applied): the plan
/// pass, then the explain pass on the same sessions with the target read-only, the
/// copy's first rows through everything the job gives it. The copy is the one at
/// `index` in the job file, or (`index` none) the first copy the edits add from `from`
/// to `to` (added copies come after the file's `existing` ones). Nothing is written.
pub fn try_text(
    text: &JobText,
    source: &Option<ConnSpec>,
    target: &Option<ConnSpec>,
    chosen: (Option<usize>, &str, &str),
    existing: usize,
) -> Result<TryView> {
    let planned = plan(text, source, target, Pass::Plan)?;
    let (index, from, to) = chosen;
    let position = match index {
        Some(i) => (i < planned.plans.len()).then_some(i),
        None => planned
            .plans
            .iter()
            .enumerate()
            .skip(existing)
            .find(|(_, p)| p.source.name == from && p.target.name == to)
            .map(|(i, _)| i),
    };
    let mut problems = planned.problems;
    let Some(position) = position.filter(|_| !planned.blocked) else {
        planned.ctx.close_sessions();
        if problems.is_empty() {
            problems.push(format!("the job has no copy of {from} -> {to} to try"));
        }
        return Ok(TryView {
            copies: Vec::new(),
            problems,
        });
    };
    let name = planned.plans[position].name.clone();
    let nth = planned.plans[..position]
        .iter()
        .filter(|p| p.name == name)
        .count();
    let ctx = Rc::new(job(text, source, target, Pass::Explain).after(&planned.ctx));
    crate::db::write::read_only(&mut ctx.session(Role::Target, None)?.borrow_mut())?;
    ctx.set_explain_options(ExplainOptions {
        copies: vec![name],
        selection: Selection::First(TRY_ROWS),
    });
    let ran = {
        let state = crate::lua::new_state(ctx.clone(), text.dir.as_deref())?;
        crate::lua::run_chunk(&state, &text.name, &text.code)
    };
    let copies = ctx.take_explains().into_iter().skip(nth).take(1).collect();
    ctx.close_sessions();
    if let Err(e) = ran {
        problems.push(mask_urls(&e.to_string()));
    }
    Ok(TryView { copies, problems })
}
