//! A copy's fan-out as the job checks it in the plan pass: each table it `emit`s into
//! must be a target table (its rows are mapped onto its columns by name when they are
//! written, `crate::engine`'s fan-out).

use crate::db::Role;
use crate::error::Result;
use crate::job::{CopyOptions, Job};

impl Job {
    /// What is wrong with a copy's `emit`: tables the target lacks.
    pub(super) fn emit_problems(&self, o: &CopyOptions) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        if o.emits.is_empty() {
            return Ok(problems);
        }
        let dst = self.session(Role::Target, None)?;
        for e in &o.emits {
            let mut db = dst.borrow_mut();
            if db.table_info(&e.table)?.is_none() {
                problems.push(format!(
                    "emit: unknown target table `{}` in database {}",
                    e.table,
                    db.database()
                ));
            }
        }
        Ok(problems)
    }
}
