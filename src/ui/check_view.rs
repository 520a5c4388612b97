//! `POST /api/check`: `ferry check` on the page. The job's text (the file as saved, or
//! as the page's edits render it) runs in the plan pass (`job_text`) and then through
//! the same scans `ferry check` runs (`crate::check::scan`); nothing is written. The
//! answer is the check report as `ferry check --json` prints it, plus each finding
//! placed for the grid: in the cell of its target column (`cells`), or above the copy
//! when it names no column of it (`copy_findings`).

use serde::Serialize;

use super::job_text::{plan, JobText};
use crate::check::{scan, CheckReport};
use crate::conn_spec::{mask_urls, ConnSpec};
use crate::error::Result;
use crate::job::Pass;

#[derive(Debug, Serialize)]
pub struct CheckView {
    #[serde(flatten)]
    pub report: CheckReport,
    /// `check: 1 blocking hazard, 0 notes in 2 copies; nothing was written`
    pub summary: String,
    /// The plan pass's problems (a script error, a column that does not exist...):
    /// with one, nothing was scanned.
    pub problems: Vec<String>,
    pub cells: Vec<Finding>,
    pub copy_findings: Vec<Finding>,
}

/// One finding, placed: which copy (`index` in GET /api/job's copies, null for a copy
/// the edits add; with its tables), which target column (none: the copy's own).
#[derive(Debug, Serialize)]
pub struct Finding {
    pub index: Option<usize>,
    pub from: String,
    pub to: String,
    pub column: Option<String>,
    pub kind: String,
    pub blocking: bool,
    pub accepted: bool,
    pub count: u64,
    pub message: String,
    pub examples: Vec<crate::check::Example>,
    pub fix: String,
}

/// Checks `text`; `existing` is how many copies the job file has (the rendered text
/// keeps them first, in order, and appends the new ones).
pub fn check_text(
    text: &JobText,
    source: &Option<ConnSpec>,
    target: &Option<ConnSpec>,
    existing: usize,
) -> Result<CheckView> {
    let planned = plan(text, source, target, Pass::Plan)?;
    if planned.blocked {
        planned.ctx.close_sessions();
        return Ok(CheckView {
            summary: "check: not run; the job has problems".into(),
            report: CheckReport::new(Vec::new(), Vec::new()),
            problems: planned.problems,
            cells: Vec::new(),
            copy_findings: Vec::new(),
        });
    }
    let scanned = scan(&planned.ctx, &planned.plans);
    planned.ctx.close_sessions();
    let report = scanned?;
    let mut cells = Vec::new();
    let mut copy_findings = Vec::new();
    for (i, (plan, copy)) in planned.plans.iter().zip(&report.copies).enumerate() {
        for h in &copy.hazards {
            let in_grid = plan.columns.iter().any(|c| c.name == h.column);
            let types = match &h.key {
                Some(k) if h.source_type.is_empty() => k.clone(),
                _ => format!("{} -> {}", h.source_type, h.target_type),
            };
            let finding = Finding {
                index: (i < existing).then_some(i),
                from: plan.source.name.clone(),
                to: plan.target.name.clone(),
                column: in_grid.then(|| h.column.clone()),
                kind: h.kind.to_string(),
                blocking: h.blocking,
                accepted: h.accepted,
                count: h.count,
                message: mask_urls(&format!(
                    "{} row{} of `{}` ({types}){}",
                    h.count,
                    if h.count == 1 { "" } else { "s" },
                    h.source_column,
                    h.effect
                        .as_ref()
                        .map(|e| format!("; {e}"))
                        .unwrap_or_default()
                )),
                examples: h.examples.clone(),
                fix: h.fix.clone(),
            };
            if in_grid {
                cells.push(finding);
            } else {
                copy_findings.push(finding);
            }
        }
    }
    Ok(CheckView {
        summary: report.summary(),
        report,
        problems: planned.problems,
        cells,
        copy_findings,
    })
}

/// The body of POST /api/check: the page's edits, or none (the job file as saved).
#[derive(Debug, Default, serde::Deserialize)]
pub struct CheckBody {
    #[serde(default)]
    pub edits: Option<super::job_file::edits::JobEdits>,
}

/// POST /api/check.
pub async fn check(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<super::App>>,
    body: Option<axum::Json<CheckBody>>,
) -> axum::response::Response {
    let edits = body.and_then(|b| b.0.edits);
    super::api::on_job_text(&app, edits.as_ref(), check_text).await
}
