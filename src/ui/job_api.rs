//! The job file from the page: GET /api/transforms, POST /api/job/diff (the new text
//! and its unified diff, nothing written) and POST /api/job/save (written atomically,
//! refused with 409 when the file changed on disk since the page read it, then the job
//! loaded again by the plan pass). Passwords never reach the file: see
//! `job_file/new_file.rs`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::job_file::{self, JobEdits};
use super::job_view::{self, sha256};
use super::App;
use crate::conn_spec::mask_urls;

pub async fn transforms() -> Response {
    Json(job_file::transforms::list()).into_response()
}

/// The body of POST /api/job/diff and /api/job/save.
#[derive(Debug, Deserialize)]
pub struct SaveRequest {
    #[serde(default)]
    pub edits: JobEdits,
    /// GET /api/job's `sha` (null for a file that does not exist yet).
    #[serde(default)]
    pub base: Option<String>,
    /// Only when `ferry ui` was started without a JOB: where to create it.
    #[serde(default)]
    pub path: Option<String>,
}

/// A refusal: its status and message.
type Refused = (StatusCode, String);

fn refuse(r: Refused) -> Response {
    (r.0, Json(json!({ "error": mask_urls(&r.1) }))).into_response()
}

/// The edited job, not yet written.
#[derive(Debug)]
pub struct Rendered {
    pub path: PathBuf,
    /// Whether the file is there now.
    pub exists: bool,
    pub old: String,
    pub new: String,
    /// What the user must do (set a password variable...), for a new file.
    pub notes: Vec<String>,
}

/// Reads the job file (or starts a new one), checks `base`, applies the edits.
pub fn render(app: &App, req: &SaveRequest, saving: bool) -> Result<Rendered, Refused> {
    let view = app.job.read().unwrap_or_else(|e| e.into_inner()).clone();
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let conflict = |m: String| (StatusCode::CONFLICT, m);
    let (path, chosen) = match (&view.path, &req.path) {
        (Some(p), None) => (PathBuf::from(p), false),
        (Some(p), Some(q)) if Path::new(p) == Path::new(q) => (PathBuf::from(p), false),
        (Some(p), Some(_)) => {
            return Err(bad(format!(
                "this page edits {p}; `path` is only for a page started without a job file"
            )))
        }
        (None, Some(q)) if !q.trim().is_empty() => (PathBuf::from(q), true),
        (None, _) => {
            return Err(bad(
                "`ferry ui` was started without a job file: give `path`, the file to create".into(),
            ))
        }
    };
    if chosen && path.extension().is_none_or(|e| e != "lua") {
        return Err(bad(format!(
            "{}: a job file's name ends in .lua",
            path.display()
        )));
    }
    let bytes = match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(bad(format!("{}: cannot read it: {e}", path.display()))),
    };
    let sha = bytes.as_deref().map(sha256);
    if chosen && bytes.is_some() {
        return Err(conflict(format!(
            "{} exists already: the page does not overwrite a file it did not open (start `ferry ui {}` to edit it)",
            path.display(),
            path.display()
        )));
    }
    if (saving || req.base.is_some()) && sha != req.base {
        return Err(conflict(match (&sha, &req.base) {
            (None, Some(_)) => format!("{} is gone from the disk since the page read it", path.display()),
            _ => format!(
                "{} changed on disk since the page read it: nothing was written; read the file again \
                 (the page's edits are dropped) and make the edits again",
                path.display()
            ),
        }));
    }
    let (old, notes) = match &bytes {
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => (s.to_string(), Vec::new()),
            Err(_) => {
                return Err(bad(format!(
                    "{} is not UTF-8 text; the page does not rewrite it",
                    path.display()
                )))
            }
        },
        None => job_file::new_file::header(app.source.as_ref(), app.target.as_ref()),
    };
    let lines = if sha.is_some() && sha == view.sha {
        view.lines()
    } else {
        // the view is of another text (none yet): its copies' lines come from this one
        match job_view::plan(
            &path,
            Some(old.as_bytes()),
            app.given_source.clone(),
            app.given_target.clone(),
        ) {
            Ok(l) => l.job.lines(),
            Err(e) => return Err(bad(e.to_string())),
        }
    };
    let new = job_file::apply_at(&old, &lines, &req.edits).map_err(|e| bad(e.to_string()))?;
    Ok(Rendered {
        path,
        exists: bytes.is_some(),
        old,
        new,
        notes,
    })
}

/// The unified diff of the old and new text, labelled with the file's name.
/// A file that does not exist yet is diffed from `/dev/null`, as git shows a new file.
pub fn unified(path: &Path, old: Option<&str>, new: &str) -> String {
    let name = path.display().to_string();
    // git's a/ and b/ go before a relative path; an absolute one is shown as it is
    // (`b//srv/jobs/x.lua` reads as a typo).
    let (a, b) = if path.is_absolute() {
        (name.clone(), name)
    } else {
        (format!("a/{name}"), format!("b/{name}"))
    };
    let from = if old.is_some() {
        a
    } else {
        "/dev/null".to_string()
    };
    similar::TextDiff::from_lines(old.unwrap_or(""), new)
        .unified_diff()
        .context_radius(3)
        .header(&from, &b)
        .to_string()
}

/// The plan-pass problems of a text, as if it were the job file.
fn problems(app: &App, path: &Path, text: &str) -> Vec<String> {
    match job_view::plan(
        path,
        Some(text.as_bytes()),
        app.given_source.clone(),
        app.given_target.clone(),
    ) {
        Ok(l) => l.job.problems,
        Err(e) => vec![mask_urls(&e.to_string())],
    }
}

pub async fn diff(State(app): State<Arc<App>>, Json(req): Json<SaveRequest>) -> Response {
    let answer = tokio::task::spawn_blocking(move || {
        let r = render(&app, &req, false)?;
        let problems = problems(&app, &r.path, &r.new);
        Ok::<_, Refused>(json!({
            "path": r.path.display().to_string(),
            "diff": unified(&r.path, r.exists.then_some(r.old.as_str()), &r.new),
            "text": r.new,
            "problems": problems,
            "notes": r.notes,
        }))
    })
    .await;
    match answer {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(r)) => refuse(r),
        Err(e) => refuse((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

pub async fn save(State(app): State<Arc<App>>, Json(req): Json<SaveRequest>) -> Response {
    let answer = tokio::task::spawn_blocking(move || {
        let _one = app.saving.lock().unwrap_or_else(|e| e.into_inner());
        let r = render(&app, &req, true)?;
        write_atomically(&r.path, r.new.as_bytes(), r.exists).map_err(|e| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{}: cannot write it: {e}", r.path.display()),
            )
        })?;
        let loaded = job_view::load(
            Some(&r.path),
            app.given_source.clone(),
            app.given_target.clone(),
        )
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let view = loaded.job;
        *app.job.write().unwrap_or_else(|e| e.into_inner()) = view.clone();
        let mut answer = serde_json::to_value(&view)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        answer["notes"] = json!(r.notes);
        Ok::<_, Refused>(answer)
    })
    .await;
    match answer {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(r)) => refuse(r),
        Err(e) => refuse((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

/// A temporary file beside `path`, then a rename over it: a reader sees the old text or
/// the new one, never half. An existing file keeps its permissions.
fn write_atomically(path: &Path, bytes: &[u8], exists: bool) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ferry-ui-")
        .suffix(".lua.tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    let perms = if exists {
        std::fs::metadata(path)?.permissions()
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o644)
    };
    std::fs::set_permissions(tmp.path(), perms)?;
    if exists {
        tmp.persist(path).map_err(|e| e.error)?;
    } else {
        // a file made meanwhile by someone else is not replaced
        tmp.persist_noclobber(path).map_err(|e| e.error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::unified;
    use std::path::Path;

    #[test]
    fn the_diff_labels_a_relative_path_as_git_does_and_an_absolute_one_as_it_is() {
        let d = unified(Path::new("jobs/x.lua"), Some("a\n"), "b\n");
        assert!(d.starts_with("--- a/jobs/x.lua\n+++ b/jobs/x.lua\n"), "{d}");
        let d = unified(Path::new("/srv/jobs/x.lua"), Some("a\n"), "b\n");
        assert!(
            d.starts_with("--- /srv/jobs/x.lua\n+++ /srv/jobs/x.lua\n"),
            "{d}"
        );
        let d = unified(Path::new("/srv/new.lua"), None, "b\n");
        assert!(d.starts_with("--- /dev/null\n+++ /srv/new.lua\n"), "{d}");
    }
}
