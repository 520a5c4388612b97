//! Hooks: SQL (or host code, a Lua function) a copy or the whole job runs on the
//! target before and after its rows, and `check` queries that fail the run when the
//! target is not as the job expects. This file decides when: only in the real pass
//! (the plan pass lists them, verify runs none); a copy's `before` when it starts from
//! its first row (never when `--resume` continues it part-way, or finds it done, so a
//! `before` that empties the target cannot wipe committed pages); its `after` and
//! checks each time it ends in a run, a copy `--resume` finds done included (so a
//! failed check is asked again once the data is fixed); the job's `before` at its first
//! copy (not on a `--resume` that continues a run that committed pages), its `after`
//! and checks when every copy has ended well. The SQL runs through `crate::db::hooks`.

use std::fmt;
use std::rc::Rc;

use crate::db::hooks::Expect;
use crate::db::state::CopyState;
use crate::db::Role;
use crate::engine::CopyStats;
use crate::error::{Error, Result};
use crate::job::{Job, Pass};

/// A hook written in the host's language: called with the copy's stats for `after`.
pub trait HookCode {
    fn call(&self, stats: Option<&CopyStats>) -> Result<()>;
    /// Where it is written (`function at job.lua:3`), for the plan.
    fn label(&self) -> String;
}

/// One `before` or `after` hook.
#[derive(Clone)]
pub enum Hook {
    Sql(String),
    Code(Rc<dyn HookCode>),
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hook::Sql(sql) => write!(f, "{}", crate::db::short_sql(sql)),
            Hook::Code(c) => write!(f, "{}", c.label()),
        }
    }
}

/// One `check` query and what it must return.
#[derive(Debug, Clone)]
pub struct Check {
    pub sql: String,
    pub expect: Expect,
}

/// The hooks of a copy or of the job.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    pub before: Vec<Hook>,
    pub after: Vec<Hook>,
    pub checks: Vec<Check>,
}

impl Hooks {
    /// One line per hook, in the order they run, for the plan (`--dry-run`).
    pub fn lines(&self) -> Vec<String> {
        let hooks = |what: &str, list: &[Hook]| -> Vec<String> {
            list.iter().map(|h| format!("{what}: {h}")).collect()
        };
        let mut lines = hooks("before", &self.before);
        lines.extend(hooks("after", &self.after));
        lines.extend(self.checks.iter().map(|c| {
            format!(
                "check: {} (expect {})",
                crate::db::short_sql(&c.sql),
                c.expect.name()
            )
        }));
        lines
    }
}

/// Whose hooks run: a copy (its name and line) or the job.
pub(crate) struct Owner<'a> {
    pub copy: Option<&'a str>,
    pub location: &'a str,
}

impl Owner<'_> {
    fn wrap(&self, e: Error) -> Error {
        match (self.copy, e) {
            (Some(c), e) => e.in_copy(c, self.location),
            (
                None,
                Error::Database {
                    context,
                    message,
                    cause,
                },
            ) => Error::Database {
                context: format!("{}: job: {context}", self.location),
                message,
                cause,
            },
            (None, e) => e,
        }
    }

    fn describe(&self) -> String {
        match self.copy {
            Some(c) => format!("{}: copy {c}", self.location),
            None => format!("{}: job", self.location),
        }
    }
}

/// Whether a saved state shows the copy committed something (`--resume` then does
/// not run its `before` again).
pub(crate) fn started(state: Option<&CopyState>) -> bool {
    state.is_some_and(|s| s.done || s.parts.values().any(|p| p.pages > 0))
}

impl Job {
    /// Runs `hooks` (`what`: `before`, `after`) on the target, in order.
    pub(crate) fn run_hooks(
        &self,
        what: &str,
        hooks: &[Hook],
        owner: &Owner,
        stats: Option<&CopyStats>,
    ) -> Result<()> {
        if self.host.pass != Pass::Real {
            return Ok(());
        }
        for hook in hooks {
            log::info!(
                target: crate::progress::FILE_ONLY,
                "{}: {what} hook: {hook}",
                owner.describe()
            );
            let ran = match hook {
                Hook::Sql(sql) => {
                    let dst = self.session(Role::Target, None)?;
                    let mut db = dst
                        .try_borrow_mut()
                        .map_err(|_| Error::usage("a hook ran inside a transform"))?;
                    db.run_hook(what, sql).map(|_| ())
                }
                Hook::Code(code) => code.call(stats),
            };
            ran.map_err(|e| owner.wrap(e))?;
        }
        Ok(())
    }

    /// Runs `checks` on the target: the first that fails is the error.
    pub(crate) fn run_checks(&self, checks: &[Check], owner: &Owner) -> Result<()> {
        if self.host.pass != Pass::Real {
            return Ok(());
        }
        for check in checks {
            let found = {
                let dst = self.session(Role::Target, None)?;
                let mut db = dst
                    .try_borrow_mut()
                    .map_err(|_| Error::usage("a check ran inside a transform"))?;
                db.run_check(&check.sql, check.expect)
                    .map_err(|e| owner.wrap(e))?
            };
            if let Some(found) = found {
                return Err(Error::CheckFailed {
                    owner: owner.describe(),
                    query: check.sql.clone(),
                    expect: check.expect.name(),
                    found,
                });
            }
        }
        Ok(())
    }

    /// The syntax errors of `hooks`' SQL (plan pass: prepared on the target, not run).
    pub(crate) fn hook_problems(&self, hooks: &Hooks) -> Result<Vec<String>> {
        let dst = self.session(Role::Target, None)?;
        let mut db = dst.borrow_mut();
        let sql = |what: &'static str, list: &[Hook]| -> Vec<(&'static str, String)> {
            list.iter()
                .filter_map(|h| match h {
                    Hook::Sql(s) => Some((what, s.clone())),
                    Hook::Code(_) => None,
                })
                .collect()
        };
        let mut all = sql("before hook", &hooks.before);
        all.extend(sql("after hook", &hooks.after));
        all.extend(hooks.checks.iter().map(|c| ("check", c.sql.clone())));
        let mut problems = Vec::new();
        for (what, s) in all {
            if let Some(e) = db.syntax_error(&s)? {
                problems.push(format!("{what} `{}`: {e}", crate::db::short_sql(&s)));
            }
        }
        Ok(problems)
    }

    /// The job's hooks checked in the plan pass, once, at its first copy.
    pub(crate) fn plan_job_hooks(&self) -> Result<()> {
        if self.job_hooks_started.replace(true) {
            return Ok(());
        }
        let hooks = self.job_hooks.borrow().clone();
        let location = self.job_hooks_location.borrow().clone();
        let problems = self.hook_problems(&hooks)?;
        self.record
            .borrow_mut()
            .problems
            .extend(problems.into_iter().map(|p| crate::job::Problem {
                message: format!("{location}: job: {p}"),
                data: false,
            }));
        Ok(())
    }

    /// A copy's `after` hooks, then its checks.
    pub(crate) fn finish_copy(
        &self,
        hooks: &Hooks,
        owner: &Owner,
        stats: &CopyStats,
    ) -> Result<()> {
        self.run_hooks("after", &hooks.after, owner, Some(stats))?;
        self.run_checks(&hooks.checks, owner)
    }

    /// The job's `before` hooks, once per run, at its first copy (or at its end when
    /// it has none); skipped on a `--resume` of a run that committed pages.
    pub(crate) fn job_before(&self) -> Result<()> {
        if self.host.pass != Pass::Real || self.job_hooks_started.replace(true) {
            return Ok(());
        }
        let hooks = self.job_hooks.borrow().clone();
        if hooks.before.is_empty() {
            return Ok(());
        }
        let location = self.job_hooks_location.borrow().clone();
        if self.host.flags.resume
            && self
                .saved_state()?
                .copies
                .values()
                .any(|c| started(Some(c)))
        {
            log::info!(
                "{location}: job: --resume continues a run: its before hooks do not run again"
            );
            return Ok(());
        }
        let owner = Owner {
            copy: None,
            location: &location,
        };
        self.run_hooks("before", &hooks.before, &owner, None)
    }

    /// The job's `after` hooks and checks, when every copy has ended well.
    pub fn job_after(&self) -> Result<()> {
        self.job_before()?;
        let hooks = self.job_hooks.borrow().clone();
        let location = self.job_hooks_location.borrow().clone();
        let owner = Owner {
            copy: None,
            location: &location,
        };
        self.run_hooks("after", &hooks.after, &owner, None)?;
        self.run_checks(&hooks.checks, &owner)
    }

    /// The job's hooks, from `job{...}` at `location`.
    pub fn set_job_hooks(&self, hooks: Hooks, location: &str) {
        *self.job_hooks.borrow_mut() = hooks;
        *self.job_hooks_location.borrow_mut() = location.to_string();
    }

    /// Drops the job's hooks (a Lua hook holds the Lua state).
    pub(crate) fn clear_job_hooks(&self) {
        self.job_hooks.take();
    }

    /// The job's hooks, one line each, for the plan.
    pub fn job_hook_lines(&self) -> Vec<String> {
        self.job_hooks.borrow().lines()
    }
}
