//! What a copy's options and saved state refuse, as plan problems: a table that is not
//! there, `since` against the source's columns, `background` outside the REPL or with
//! Lua code, a `--resume` that cannot continue.

use std::cell::RefCell;
use std::rc::Rc;

use crate::db::schema::{did_you_mean, TableInfo};
use crate::db::state::CopyState;
use crate::db::{Db, Role};
use crate::engine::Overlap;
use crate::error::Result;
use crate::job::copy::CopyOptions;
use crate::job::{Hooks, Pass};
use crate::plan::CopyPlan;

/// Why a copy cannot run with `background = true`: only the REPL runs it, without Lua
/// code (the Lua state stays on the prompt's thread) and without `after` hooks or checks
/// (they run when the copy ends, on that thread).
pub(super) fn background(name: &str, direct: bool, hooks: &Hooks, pass: Pass) -> Vec<String> {
    let mut problems = Vec::new();
    if pass != Pass::Real {
        problems.push(format!(
            "copy {name}: `background = true` is for ferry repl; job{{parallel = N}} runs a \
         job's copies side by side"
        ));
    }
    if !direct {
        problems.push(format!(
            "copy {name}: `background = true` runs copies without Lua code; its transform, \
             map functions or mask need the prompt's Lua state: run it without `background`"
        ));
    }
    if !hooks.after.is_empty() || !hooks.checks.is_empty() {
        problems.push(format!(
            "copy {name}: `background = true` cannot run `after` hooks or checks: run them \
         once h:wait() returns"
        ));
    }
    problems
}

pub(super) fn table_or_problem(
    db: &Rc<RefCell<Db>>,
    name: &str,
    role: Role,
    problems: &mut Vec<String>,
) -> Result<Option<TableInfo>> {
    let mut db = db.borrow_mut();
    match db.table_info(name)? {
        Some(t) => Ok(Some(t)),
        None => {
            let tables = db.tables()?;
            let hint = did_you_mean(name, tables.iter().map(|t| t.name.as_str()));
            problems.push(format!(
                "unknown {} table `{name}` in database {}{hint}",
                role.name(),
                db.database()
            ));
            Ok(None)
        }
    }
}

/// Problems of `since` and `since_overlap` against the source's columns.
pub(super) fn since(plan: &CopyPlan, options: &CopyOptions) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(col) = &options.since else {
        return problems;
    };
    let Some(c) = plan.source.column(col) else {
        let hint = did_you_mean(col, plan.source.columns.iter().map(|c| c.name.as_str()));
        problems.push(format!(
            "`since` names {col}, which is not a column of the source table {}{hint}",
            plan.source.name
        ));
        return problems;
    };
    let temporal = c.kind().is_temporal();
    let numeric = !matches!(c.kind(), crate::db::value::Kind::Bytes)
        || c.data_type.eq_ignore_ascii_case("decimal");
    match &options.since_overlap {
        Some(Overlap::Interval(..)) if !temporal => problems.push(format!(
            "`since_overlap` is an interval, but `since` column {col} is a {}: give a number \
             to subtract from the mark",
            c.column_type
        )),
        Some(Overlap::Amount(_)) if !temporal && !numeric => problems.push(format!(
            "`since_overlap` needs a number or date/time `since` column; {col} is a {}",
            c.column_type
        )),
        _ => {}
    }
    problems
}

/// Why `--resume` cannot continue this copy from `resume`, its saved state (after
/// `--force` emptied a changed copy's): found in the plan pass, before anything is
/// written.
pub(super) fn resume_refusal(
    plan: &CopyPlan,
    resume: Option<&CopyState>,
    file_store: bool,
) -> Option<String> {
    let r = resume.filter(|r| !r.done)?;
    let keyless_target = !plan.target.has_not_null_unique_key();
    if plan.key.is_none() && keyless_target {
        if let Some(p) = r.parts.get(&0).filter(|p| p.pages > 0 && !p.done) {
            return Some(format!(
                "cannot resume: its source table {} has no key, so it is read in one pass \
                 and cannot continue part-way, and its target {} has no unique key, so \
                 starting it over would duplicate the {} rows already written; empty the \
                 target table and run without --resume",
                plan.source.name, plan.target.name, p.written
            ));
        }
    }
    // The file is saved after each page commits, so whatever it says (no page yet
    // included), one more page may have landed. Only `--force` starting a changed
    // copy over (an empty state) is not a resume.
    if file_store && keyless_target && r.plan == plan.fingerprint() {
        return Some(format!(
            "cannot resume from a state file into {}, which has no unique key: the last \
             page may or may not have landed, and writing it again would duplicate it; use \
             the state table (the default), or empty the target and run without --resume",
            plan.target.name
        ));
    }
    None
}
