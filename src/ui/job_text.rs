//! A job given as text (the job file as saved, or as the page's edits would render it),
//! run in the plan pass as `ferry check` runs a file (`run::plan_pass`): connections
//! opened, copies resolved, nothing written. `job_view` shows its plans (GET /api/job,
//! a pair of tables' mapping), `check_view` scans them and `try_rows` explains one of
//! them; the text never touches the disk.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::job_file::edits::JobEdits;
use super::job_file::EditError;
use crate::conn_spec::{mask_urls, ConnSpec};
use crate::error::Result;
use crate::job::{Job, Pass, RunFlags};
use crate::plan::CopyPlan;
use crate::progress::Display;

/// The job's text and where it would live.
#[derive(Debug, Clone)]
pub struct JobText {
    /// The file's name as the plan's locations give it (`job.lua:12`).
    pub name: String,
    /// The file's folder, where its `require`s look.
    pub dir: Option<PathBuf>,
    pub code: Vec<u8>,
    /// The script's `vars` (`--var`): none for a job file.
    pub vars: Vec<(String, String)>,
}

impl JobText {
    /// The text for the job file at `path` (which may not exist yet: then no copies).
    pub fn new(path: Option<&Path>, code: Vec<u8>) -> JobText {
        JobText {
            name: path.map_or("new job".to_string(), |p| p.display().to_string()),
            dir: path.and_then(Path::parent).map(Path::to_path_buf),
            code,
            vars: Vec::new(),
        }
    }
}

/// A plan pass of a job text: its context (sessions open), its copies, and its problems
/// (masked). `blocked` when a problem other than a row's stops the job.
pub struct Planned {
    pub ctx: Rc<Job>,
    pub plans: Vec<CopyPlan>,
    pub problems: Vec<String>,
    pub blocked: bool,
}

/// Runs `text` in the plan pass with the page's sides (which win over the job's own
/// `source`/`target`, as `--source`/`--target` do).
pub fn plan(
    text: &JobText,
    source: &Option<ConnSpec>,
    target: &Option<ConnSpec>,
    pass: Pass,
) -> Result<Planned> {
    let ctx = Rc::new(job(text, source, target, pass));
    let mut problems = Vec::new();
    {
        let state = crate::lua::new_state(ctx.clone(), text.dir.as_deref())?;
        if let Err(e) = crate::lua::run_chunk(&state, &text.name, &text.code) {
            problems.push(mask_urls(&e.to_string()));
        }
    }
    let found = ctx.take_problems();
    let blocked = !problems.is_empty() || found.iter().any(|p| !p.data);
    problems.extend(found.into_iter().map(|p| mask_urls(&p.message)));
    let plans = ctx.take_plans();
    ctx.release_locks();
    Ok(Planned {
        ctx,
        plans,
        problems,
        blocked,
    })
}

/// The job context of one pass of `text`.
pub fn job(
    text: &JobText,
    source: &Option<ConnSpec>,
    target: &Option<ConnSpec>,
    pass: Pass,
) -> Job {
    Job::new(
        pass,
        source.clone(),
        target.clone(),
        text.vars.clone(),
        Display::detect(true),
    )
    .for_job(&text.name, text.dir.as_deref(), RunFlags::default())
}

/// The page's job text: the file as saved (none yet: empty), with `edits` (the
/// contract's edit model) applied as save would write them (`job_file::apply_at`,
/// each copy found at its plan-pass line); and how many copies the file has.
pub fn of_app(
    app: &super::App,
    edits: Option<&JobEdits>,
) -> std::result::Result<(JobText, usize), EditError> {
    // What is needed of the page's view of the job (not a copy of all of it).
    let (path, lines, existing) = {
        let view = app.job.read().unwrap_or_else(|e| e.into_inner());
        let path = view.path.as_ref().map(PathBuf::from);
        (path, view.lines(), view.copies.len())
    };
    let code = match &path {
        Some(p) if p.exists() => std::fs::read(p)
            .map_err(|e| EditError(format!("{}: cannot read the job: {e}", p.display())))?,
        _ => Vec::new(),
    };
    let code = match edits {
        Some(edits) => {
            let text = String::from_utf8(code).map_err(|_| {
                let file = path
                    .as_ref()
                    .map_or("the job file".into(), |p| p.display().to_string());
                EditError(format!(
                    "{file} is not UTF-8 text: the page cannot apply edits to it"
                ))
            })?;
            super::job_file::apply_at(&text, &lines, edits)?.into_bytes()
        }
        None => code,
    };
    Ok((JobText::new(path.as_deref(), code), existing))
}
