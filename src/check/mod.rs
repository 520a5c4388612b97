//! `ferry check JOB.lua`: the plan pass (`run::plan_pass`), then, for every copy, one
//! aggregate query on the source that counts the values each target column would
//! refuse or change, and a small query per hazard found for its first rows. What a
//! column pair needs is decided from the definitions alone (`policy`); a column whose
//! target holds every source value costs nothing, so a copy between identical schemas
//! sends no query. Nothing is written; a blocking hazard is exit 2 after the report
//! (`report`).

mod keys;
mod policy;
mod report;
mod shape;

use std::path::PathBuf;

use crate::conn_spec::ConnSpec;
use crate::db::hazards::Probe;
use crate::db::schema::ColumnInfo;
use crate::db::value::show;
use crate::db::{Db, Role};
use crate::error::{Error, Result};
use crate::job::Job;
use crate::plan::{CopyPlan, Fill};

pub use report::{CheckReport, CopyCheck, Example, Hazard};

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
    if !plans.is_empty() {
        let dst = job.session(Role::Target, None)?;
        let mut dst = dst.borrow_mut();
        let server = policy::Server {
            version: dst.version.clone(),
        };
        let src = job.session(Role::Source, None)?;
        let mut src = src.borrow_mut();
        for plan in plans {
            let mut copy = check_copy(&mut src, &server, plan)?;
            keys::check(&mut src, &mut dst, plan, plans, &mut copy)?;
            copies.push(copy);
        }
    }
    Ok(CheckReport::new(copies))
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

/// One copy's scan: which column pairs need a test, one count query for them all, and
/// the example rows of each hazard found.
fn check_copy(src: &mut Db, server: &policy::Server, plan: &CopyPlan) -> Result<CopyCheck> {
    let mut out = CopyCheck {
        copy: plan.name.clone(),
        location: plan.location.clone(),
        source: format!("{}.{}", plan.source.database, plan.source.name),
        target: format!("{}.{}", plan.target.database, plan.target.name),
        queries: 0,
        target_queries: 0,
        hazards: Vec::new(),
        notes: Vec::new(),
    };
    let mut probes = Vec::new();
    let mut planned = Vec::new();
    let (mut by_function, mut by_transform) = (Vec::new(), Vec::new());
    for c in &plan.columns {
        let Some(target) = plan.target.column(&c.name) else {
            continue;
        };
        match &c.fill {
            Fill::Source(i) => {
                let source = &plan.source.columns[*i];
                for p in policy::column_checks(server, source, target) {
                    probes.push(Probe {
                        column: source.name.clone(),
                        test: p.test.clone(),
                    });
                    planned.push((c.name.clone(), source, target, p));
                }
            }
            Fill::Function => by_function.push(format!("`{}`", c.name)),
            Fill::Field(_) => by_transform.push(format!("`{}`", c.name)),
            Fill::Value(_) | Fill::Sql(_) => {}
        }
    }
    for (columns, maker) in [
        (by_function, "map functions"),
        (by_transform, "the transform"),
    ] {
        if !columns.is_empty() {
            out.notes.push(format!(
                "not scanned: {} {} made by {maker}, whose values exist only when the row \
                 code runs (a run refuses those the target would change, page by page, \
                 before it commits)",
                if columns.len() == 1 {
                    "column"
                } else {
                    "columns"
                },
                columns.join(", ") + if columns.len() == 1 { " is" } else { " are" },
            ));
        }
    }
    if probes.is_empty() {
        return Ok(out);
    }
    // One pass over the source table: say so before a long scan starts.
    log::info!(
        "copy {}: checking {} column test{} in one scan of {} (~{} rows)",
        plan.name,
        probes.len(),
        if probes.len() == 1 { "" } else { "s" },
        plan.source.name,
        plan.source.estimated_rows
    );
    let filter = plan.filter.as_deref();
    let counts = src.hazard_counts(&plan.source, filter, &probes)?;
    out.queries += 1;
    let key = plan.key_names();
    for ((probe, count), (column, source, target, p)) in probes.iter().zip(counts).zip(planned) {
        if count == 0 {
            continue;
        }
        let rows = src.hazard_examples(&plan.source, filter, &key, probe, EXAMPLES)?;
        out.queries += 1;
        let examples = rows
            .into_iter()
            .map(|(key_values, value)| Example {
                // A keyless source has no key to name a row by: its value says which.
                key: if key_values.is_empty() {
                    "(no key)".to_string()
                } else {
                    plan.row_label(Some(&key_values), 0)
                },
                value: shown(&value, source),
            })
            .collect();
        let accepted = plan.accept.accepts_value(p.kind, &column);
        out.hazards.push(Hazard {
            kind: p.kind,
            column,
            source_column: source.name.clone(),
            source_type: type_of(source, target),
            target_type: type_of(target, source),
            count,
            blocking: p.blocking && !accepted,
            accepted,
            examples,
            fix: p.fix,
            key: None,
            effect: None,
        });
    }
    Ok(out)
}

/// A value for the report: as messages show it, a large or tiny DOUBLE in exponent form.
fn shown(value: &crate::db::Value, column: &ColumnInfo) -> String {
    match value {
        crate::db::Value::Double(d) if *d != 0.0 && !(1e-6..1e15).contains(&d.abs()) => {
            format!("{d:e}")
        }
        v => show(v, column.kind()),
    }
}

/// A column's type, with its character set when the other column's differs.
fn type_of(column: &ColumnInfo, other: &ColumnInfo) -> String {
    match (&column.charset, &other.charset) {
        (Some(a), Some(b)) if a != b => format!("{} {a}", column.column_type),
        _ => column.column_type.clone(),
    }
}
