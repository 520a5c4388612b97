//! The job as the page shows it: the file run in the plan pass (connections opened,
//! copies resolved, nothing written), as the REPL loads a job, kept as plain data: the
//! sides' specs and each copy's tables, mode, page and column map. The mapping of any
//! pair of tables is found the same way: a one-line job, `copy { from = .., to = .. }`,
//! resolved in the plan pass, so the page shows exactly what `copy` would do.

use std::path::Path;
use std::rc::Rc;

use serde::Serialize;

use super::job_file::edits::ColumnEdit;
use super::job_file::state::states;
use super::job_text::JobText;
use crate::conn_spec::ConnSpec;
use crate::error::Result;
use crate::job::Pass;

#[derive(Debug, Default, Clone, Serialize)]
pub struct JobView {
    /// The job file, as given; `None` without one.
    pub path: Option<String>,
    /// The sha256 of the file's bytes as read (hex); `None` when it does not exist yet.
    pub sha: Option<String>,
    /// Whether saving can write the file (or create it).
    pub writable: bool,
    pub copies: Vec<CopyView>,
    /// Plan problems and the script's error, if any (URLs masked).
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CopyView {
    /// Its position in `copies`: what an edit's `index` names.
    pub index: usize,
    /// Whether the page may rewrite its copy{} (and why not).
    pub editable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The line of `location`.
    #[serde(skip)]
    pub line: Option<usize>,
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

#[derive(Debug, Clone, Serialize)]
pub struct ColumnView {
    pub name: String,
    /// The source column copied into it as it is, if any.
    pub source: Option<String>,
    /// How the plan words where the value comes from (`same name`, `default ...`).
    pub origin: String,
    /// The column's entry in the edit model as the file states it (`{"target"}` when
    /// the file says nothing explicit).
    pub edit: ColumnEdit,
}

/// The sides and the job view.
#[derive(Debug)]
pub struct Loaded {
    pub source: Option<ConnSpec>,
    pub target: Option<ConnSpec>,
    pub job: JobView,
}

/// Runs the job file (if any) in the plan pass; the sides are its connections, or
/// `--source`/`--target` (which win, as everywhere). A file that does not exist yet is
/// an empty job the page may create.
pub fn load(
    job: Option<&Path>,
    source: Option<ConnSpec>,
    target: Option<ConnSpec>,
) -> Result<Loaded> {
    let Some(path) = job else {
        return Ok(Loaded {
            source,
            target,
            job: JobView {
                writable: true,
                ..JobView::default()
            },
        });
    };
    let code = match std::fs::read(path) {
        Ok(code) => Some(code),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(crate::error::Error::Io {
                path: path.display().to_string(),
                message: format!("cannot read the job script: {e}"),
            })
        }
    };
    let mut loaded = plan(path, code.as_deref(), source, target)?;
    loaded.job.writable = writable(path);
    Ok(loaded)
}

/// The job `code` (the file's bytes, or an edited text; `None`: no file yet) run in the
/// plan pass as if it were `path`. Nothing is written.
pub fn plan(
    path: &Path,
    code: Option<&[u8]>,
    source: Option<ConnSpec>,
    target: Option<ConnSpec>,
) -> Result<Loaded> {
    let Some(code) = code else {
        return Ok(Loaded {
            source,
            target,
            job: JobView {
                path: Some(path.display().to_string()),
                ..JobView::default()
            },
        });
    };
    let text = JobText::new(Some(path), code.to_vec());
    let planned = super::job_text::plan(&text, &source, &target, Pass::Plan)?;
    let mut copies: Vec<CopyView> = planned.plans.iter().enumerate().map(copy_view).collect();
    let (job_source, job_target) = {
        let sessions = planned.ctx.sessions.borrow();
        let spec = |s: &Option<Rc<std::cell::RefCell<crate::db::Db>>>| {
            s.as_ref().map(|d| d.borrow().spec.clone())
        };
        (spec(&sessions.source), spec(&sessions.target))
    };
    let lines: Vec<Option<usize>> = copies.iter().map(|c| c.line).collect();
    for (c, st) in copies.iter_mut().zip(states(Some(code), &lines)) {
        c.editable = st.editable;
        c.why = st.why;
        for col in &mut c.columns {
            if let Some(e) = st.entries.get(&col.name) {
                col.edit = e.clone();
            }
        }
    }
    Ok(Loaded {
        source: job_source.or(source),
        target: job_target.or(target),
        job: JobView {
            path: Some(path.display().to_string()),
            sha: Some(sha256(code)),
            writable: false,
            copies,
            problems: planned.problems,
        },
    })
}

/// The hex sha256 of a file's bytes, as GET /api/job's `sha`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the file can be replaced: its folder takes a new file, and the file (if
/// there) is not read only.
fn writable(path: &Path) -> bool {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_ok = match std::fs::metadata(path) {
        Ok(m) => !m.permissions().readonly(),
        Err(_) => true,
    };
    file_ok && tempfile::NamedTempFile::new_in(dir).is_ok()
}

impl JobView {
    /// The plan-pass line of each copy, for `job_file::apply_at`.
    pub fn lines(&self) -> Vec<usize> {
        self.copies.iter().map(|c| c.line.unwrap_or(0)).collect()
    }
}

/// How `copy { from = FROM, to = TO }` would map the two tables (the names reach the
/// script as `vars`, never as code). Nothing is written.
pub fn mapping(source: &ConnSpec, target: &ConnSpec, from: &str, to: &str) -> Result<JobView> {
    let vars = vec![
        ("from".to_string(), from.to_string()),
        ("to".to_string(), to.to_string()),
    ];
    let text = JobText {
        name: "mapping".into(),
        dir: None,
        code: b"copy { from = vars.from, to = vars.to }\n".to_vec(),
        vars,
    };
    let planned = super::job_text::plan(
        &text,
        &Some(source.clone()),
        &Some(target.clone()),
        Pass::Plan,
    )?;
    let mut copies: Vec<CopyView> = planned.plans.iter().enumerate().map(copy_view).collect();
    for c in &mut copies {
        c.editable = true;
    }
    Ok(JobView {
        path: None,
        sha: None,
        writable: false,
        copies,
        problems: planned.problems,
    })
}

fn copy_view((index, p): (usize, &crate::plan::CopyPlan)) -> CopyView {
    CopyView {
        index,
        editable: false,
        why: None,
        line: p
            .location
            .rsplit_once(':')
            .and_then(|(_, l)| l.parse().ok()),
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
                edit: ColumnEdit {
                    target: c.name.clone(),
                    ..Default::default()
                },
            })
            .collect(),
        server_filled: p.server_filled.clone(),
        unused_source: p.unused_source.clone(),
        warnings: p.warnings.clone(),
    }
}
