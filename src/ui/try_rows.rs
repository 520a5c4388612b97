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
