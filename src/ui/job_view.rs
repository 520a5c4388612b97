//! The job as the page shows it: the file run in the plan pass (connections opened,
//! copies resolved, nothing written), as the REPL loads a job, kept as plain data: the
//! sides' specs and each copy's tables, mode, page and column map. The mapping of any
//! pair of tables is found the same way: a one-line job, `copy { from = .., to = .. }`,
//! resolved in the plan pass, so the page shows exactly what `copy` would do.

use std::path::Path;
use std::rc::Rc;

use serde::Serialize;

use crate::conn_spec::ConnSpec;
use crate::error::Result;
use crate::job::{Job, Pass};
use crate::progress::Display;

#[derive(Debug, Default, Serialize)]
pub struct JobView {
    /// The job file, as given; `None` without one.
    pub path: Option<String>,
    pub copies: Vec<CopyView>,
    /// Plan problems and the script's error, if any (URLs masked).
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CopyView {
    pub name: String,
    /// `job.lua:12`
    pub location: String,
    pub from: String,
    pub to: String,
    pub mode: String,
    pub page: usize,
    pub key: Vec<String>,
    pub transform: bool,
    /// Target columns in order, each with where its value comes from.
    pub columns: Vec<ColumnView>,
    pub server_filled: Vec<String>,
    pub unused_source: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ColumnView {
    pub name: String,
    /// The source column copied into it as it is, if any.
    pub source: Option<String>,
    /// How the plan words where the value comes from (`same name`, `default ...`).
    pub origin: String,
}

/// The sides and the job view.
#[derive(Debug)]
pub struct Loaded {
    pub source: Option<ConnSpec>,
    pub target: Option<ConnSpec>,
    pub job: JobView,
}

/// Runs the job file (if any) in the plan pass; the sides are its connections, or
/// `--source`/`--target` (which win, as everywhere).
pub fn load(
    job: Option<&Path>,
    source: Option<ConnSpec>,
    target: Option<ConnSpec>,
) -> Result<Loaded> {
    let Some(path) = job else {
        return Ok(Loaded {
            source,
            target,
            job: JobView::default(),
        });
    };
    let ctx = Rc::new(Job::new(
        Pass::Plan,
        source.clone(),
        target.clone(),
        Vec::new(),
        Display::detect(false),
    ));
    let state = crate::lua::new_state(ctx.clone(), path.parent())?;
    let mut problems = Vec::new();
    if let Err(e) = crate::lua::run_file(&state, path) {
        problems.push(crate::conn_spec::mask_urls(&e.to_string()));
    }
    problems.extend(
        ctx.take_problems()
            .into_iter()
            .map(|p| crate::conn_spec::mask_urls(&p.message)),
    );
    let copies = ctx.take_plans().iter().map(copy_view).collect();
    let (job_source, job_target) = {
        let sessions = ctx.sessions.borrow();
        let spec = |s: &Option<Rc<std::cell::RefCell<crate::db::Db>>>| {
            s.as_ref().map(|d| d.borrow().spec.clone())
        };
        (spec(&sessions.source), spec(&sessions.target))
    };
    ctx.release_locks();
    Ok(Loaded {
        source: job_source.or(source),
        target: job_target.or(target),
        job: JobView {
            path: Some(path.display().to_string()),
            copies,
            problems,
        },
    })
}

/// How `copy { from = FROM, to = TO }` would map the two tables (the names reach the
/// script as `vars`, never as code). Nothing is written.
pub fn mapping(source: &ConnSpec, target: &ConnSpec, from: &str, to: &str) -> Result<JobView> {
    let vars = vec![
        ("from".to_string(), from.to_string()),
        ("to".to_string(), to.to_string()),
    ];
    let ctx = Rc::new(Job::new(
        Pass::Plan,
        Some(source.clone()),
        Some(target.clone()),
        vars,
        Display::detect(true),
    ));
    let state = crate::lua::new_state(ctx.clone(), None)?;
    let code = b"copy { from = vars.from, to = vars.to }\n";
    let mut problems = Vec::new();
    if let Err(e) = crate::lua::run_chunk(&state, "mapping", code) {
        problems.push(crate::conn_spec::mask_urls(&e.to_string()));
    }
    problems.extend(
        ctx.take_problems()
            .into_iter()
            .map(|p| crate::conn_spec::mask_urls(&p.message)),
    );
    let copies = ctx.take_plans().iter().map(copy_view).collect();
    ctx.release_locks();
    Ok(JobView {
        path: None,
        copies,
        problems,
    })
}

fn copy_view(p: &crate::plan::CopyPlan) -> CopyView {
    CopyView {
        name: p.name.clone(),
        location: p.location.clone(),
        from: p.source.name.clone(),
        to: p.target.name.clone(),
        mode: format!("{:?}", p.mode).to_lowercase(),
        page: p.page,
        key: p.key_names(),
        transform: p.has_transform,
        columns: p
            .columns
            .iter()
            .map(|c| ColumnView {
                name: c.name.clone(),
                source: match c.fill {
                    crate::plan::Fill::Source(i) => p.source.columns.get(i).map(|s| s.name.clone()),
                    _ => None,
                },
                origin: c.origin.clone(),
            })
            .collect(),
        server_filled: p.server_filled.clone(),
        unused_source: p.unused_source.clone(),
        warnings: p.warnings.clone(),
    }
}
