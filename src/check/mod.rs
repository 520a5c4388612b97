//! `ferry check JOB.lua`: the plan pass (`run::plan_pass`), then, for every copy, one
//! aggregate query on the source that counts the values each target column would
//! refuse or change, and a small query per hazard found for its first rows. What a
//! column pair needs is decided from the definitions alone (`policy`); a column whose
//! target holds every source value costs nothing, so a copy between identical schemas
//! sends no query. Nothing is written; a blocking hazard is exit 2 after the report
//! (`report`).

mod environment;
mod key_hazards;
mod keys;
mod policy;
mod report;
mod values;

use std::path::PathBuf;

use crate::conn_spec::ConnSpec;
use crate::db::Role;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::plan::CopyPlan;

pub use report::{CheckReport, Example};

/// Example rows shown per hazard.
const EXAMPLES: u32 = 5;

pub struct CheckConfig {
    pub job: PathBuf,
    pub source: Option<ConnSpec>,
    pub target: Option<ConnSpec>,
    pub log: PathBuf,
    pub vars: Vec<(String, String)>,
    /// Print the report as JSON.
    pub json: bool,
}

/// Scans the source of every copy in `plans` on the sessions of `job`'s plan pass.
pub fn scan(job: &Job, plans: &[CopyPlan]) -> Result<CheckReport> {
    let mut copies = Vec::new();
    let mut notes = Vec::new();
    if !plans.is_empty() {
        let dst = job.session(Role::Target, None)?;
        let mut dst = dst.borrow_mut();
        let src = job.session(Role::Source, None)?;
        let mut src = src.borrow_mut();
        let env = environment::Sides::read(&mut src, &mut dst)?;
        notes = env.notes();
        for plan in plans {
            let mut copy = values::check(&mut src, &mut dst, &env, plan)?;
            let exists = keys::check(&mut src, &mut dst, plan, plans, &mut copy)?;
            environment::check(&env, plan, exists, &mut copy);
            copies.push(copy);
        }
    }
    Ok(CheckReport::new(copies, notes))
}

/// The error of a report with blocking hazards (exit 2), or none.
pub fn blocking_error(report: &CheckReport, then: &str) -> Option<Error> {
    (report.blocking > 0).then(|| Error::Hazards {
        message: format!(
            "{}: the target would refuse or change these source values; fix them (see \
             each hazard's fix), or accept them in the copy (`accept`), {then}; nothing \
             was written",
            if report.blocking == 1 {
                "1 blocking hazard".to_string()
            } else {
                format!("{} blocking hazards", report.blocking)
            }
        ),
    })
}
