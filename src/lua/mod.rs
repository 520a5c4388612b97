//! The Lua layer: a Lua 5.4 state per pass with ferry's job API registered, scripts
//! loaded by path (so errors read `jobs/users.lua:12:`), `require` served from the
//! user's directory first and then from `stdlib/` compiled into the binary, and Lua
//! errors rendered as one clean message. Each `copy` becomes a `CopyPlan` here; the
//! engine runs it.

pub mod api;
pub mod handles;
pub mod job;
pub mod processor;
pub mod stdlib;
pub mod values;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use mlua::Lua;

use crate::conn_spec::ConnSpec;
use crate::db::Db;
use crate::engine::CopyStats;
use crate::error::Error;
use crate::plan::{CopyPlan, Mode};
use crate::progress::Display;

/// Which pass a script runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Copies are resolved and checked, not executed; reads run, writes do not.
    Plan,
    /// Everything runs.
    Real,
    /// `ferry verify`: copies compare source and target instead of copying; reads
    /// run, writes do not.
    Verify,
}

/// The open sessions, kept across the plan and the real pass.
#[derive(Default)]
pub struct Sessions {
    pub source: Option<Rc<RefCell<Db>>>,
    pub target: Option<Rc<RefCell<Db>>>,
}

/// A problem the plan pass found. `data`: a row failed (exit 1), else the job is wrong.
#[derive(Debug, Clone)]
pub struct Problem {
    pub message: String,
    pub data: bool,
}

#[derive(Debug, Clone)]
pub struct CopyResult {
    pub name: String,
    pub mode: Mode,
    /// `ok`, `done before` (--resume), `failed` or `stopped`; a copy that did not end
    /// ok shows what it committed.
    pub status: &'static str,
    pub stats: CopyStats,
}

/// What the job API needs from the host, shared by every API function.
pub struct JobContext {
    pub pass: Pass,
    pub source_override: Option<ConnSpec>,
    pub target_override: Option<ConnSpec>,
    pub vars: Vec<(String, String)>,
    pub display: Display,
    pub sessions: RefCell<Sessions>,
    pub problems: RefCell<Vec<Problem>>,
    pub plans: RefCell<Vec<CopyPlan>>,
    pub results: RefCell<Vec<CopyResult>>,
    /// The verify pass's options and reports.
    pub verify: RefCell<crate::verify::Verification>,
    /// Fields of the transformed sample row per copy (`file:line|from|to`), found in
    /// the plan pass and reused by the real pass.
    pub sample_fields: RefCell<HashMap<String, Option<Vec<String>>>>,
    /// `job{...}` settings.
    pub settings: RefCell<job::JobSettings>,
    pub flags: job::RunFlags,
    /// The job script's directory (state files live there).
    pub job_dir: Option<PathBuf>,
    /// Copies seen so far in this pass, by name (for copy ids).
    pub copy_ids: RefCell<HashMap<String, usize>>,
    /// The state earlier runs left, loaded at the first copy.
    pub saved: RefCell<Option<crate::state::JobState>>,
    pub engine: RefCell<Option<crate::engine::Engine>>,
    /// Copies started and not yet waited for: (handle, name, mode).
    pub pending: RefCell<Vec<(usize, String, Mode)>>,
    /// Results of copies waited for, by handle.
    pub collected: RefCell<HashMap<usize, Result<CopyStats, Error>>>,
    /// Whether this pass takes the job's run lock (`ferry run`, not a dry run).
    pub locking: bool,
    /// The run locks held (`crate::lock`); last, so they outlive the engine.
    pub locks: RefCell<Vec<crate::lock::RunLock>>,
}

impl JobContext {
    pub fn new(
        pass: Pass,
        source_override: Option<ConnSpec>,
        target_override: Option<ConnSpec>,
        vars: Vec<(String, String)>,
        display: Display,
    ) -> JobContext {
        JobContext {
            pass,
            source_override,
            target_override,
            vars,
            display,
            sessions: RefCell::new(Sessions::default()),
            problems: RefCell::new(Vec::new()),
            plans: RefCell::new(Vec::new()),
            results: RefCell::new(Vec::new()),
            verify: RefCell::default(),
            sample_fields: RefCell::new(HashMap::new()),
            settings: RefCell::new(job::JobSettings::new("job")),
            flags: job::RunFlags::default(),
            job_dir: None,
            copy_ids: RefCell::new(HashMap::new()),
            saved: RefCell::new(None),
            engine: RefCell::new(None),
            pending: RefCell::new(Vec::new()),
            collected: RefCell::new(HashMap::new()),
            locking: false,
            locks: RefCell::new(Vec::new()),
        }
    }

    /// For a job file: its name and directory (state), and the run's flags.
    pub fn for_job(mut self, name: &str, dir: Option<&Path>, flags: job::RunFlags) -> JobContext {
        self.settings = RefCell::new(job::JobSettings::new(name));
        self.job_dir = dir.map(Path::to_path_buf);
        self.flags = flags;
        self
    }
}

/// A Lua state with the whole job API registered. `script_dir` is searched by
/// `require` before the built-in stdlib.
pub fn new_state(ctx: Rc<JobContext>, script_dir: Option<&Path>) -> Result<Lua, Error> {
    let lua = Lua::new();
    let setup = || -> mlua::Result<()> {
        lua.set_app_data(values::Sentinels::new(&lua)?);
        stdlib::register(&lua, script_dir)?;
        api::register(&lua, ctx.clone())?;
        Ok(())
    };
    setup().map_err(|e| Error::Script {
        message: format!("setting up the Lua state: {}", render_error(&e)),
    })?;
    Ok(lua)
}

/// Runs a job script file in `lua`.
pub fn run_file(lua: &Lua, path: &Path) -> Result<(), Error> {
    let code = std::fs::read(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("cannot read the job script: {e}"),
    })?;
    run_chunk(lua, &path.display().to_string(), &code)
}

/// Runs job code under the chunk name `@name`, so errors read `name:12:`.
pub fn run_chunk(lua: &Lua, name: &str, code: &[u8]) -> Result<(), Error> {
    lua.load(code)
        .set_name(format!("@{name}"))
        .exec()
        .map_err(|e| to_error(&e))
}

/// Turns a Lua error into ferry's error: ferry errors raised inside API calls keep their
/// kind (and exit status), anything else is a script error.
pub fn to_error(e: &mlua::Error) -> Error {
    if let Some(inner) = e.downcast_ref::<Error>() {
        let loc = error_location(e);
        return match (inner.clone(), loc) {
            (Error::Database { context, message }, Some(loc)) => Error::Database {
                context: format!("{loc}: {context}"),
                message,
            },
            (Error::Usage { message }, Some(loc)) => Error::Usage {
                message: format!("{loc}: {message}"),
            },
            (other, _) => other,
        };
    }
    Error::Script {
        // A syntax error quotes the script's text, a URL's password with it.
        message: crate::conn_spec::mask_urls(&render_error(e)),
    }
}

fn error_location(e: &mlua::Error) -> Option<String> {
    match e {
        mlua::Error::CallbackError { traceback, cause } => {
            location_in(traceback).or_else(|| error_location(cause))
        }
        mlua::Error::WithContext { cause, .. } => error_location(cause),
        _ => None,
    }
}

/// The first `file:line` of a traceback that is not a C function.
fn location_in(traceback: &str) -> Option<String> {
    traceback.lines().skip(1).find_map(|l| {
        let l = l.trim();
        if l.starts_with("[C]") || l.starts_with('[') {
            return None;
        }
        let mut parts = l.splitn(3, ':');
        let file = parts.next()?;
        let line = parts.next()?;
        line.parse::<u32>().ok()?;
        Some(format!("{file}:{line}"))
    })
}

/// One readable message for a Lua error, with its `file:line`, without Rust wrapping.
pub fn render_error(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { traceback, cause } => {
            let inner = render_error(cause);
            match location_in(traceback) {
                Some(loc) if !inner.starts_with(&loc) => format!("{loc}: {inner}"),
                _ => inner,
            }
        }
        mlua::Error::RuntimeError(m) => strip_traceback(m),
        mlua::Error::SyntaxError { message, .. } => strip_traceback(message),
        mlua::Error::ExternalError(x) => x.to_string(),
        mlua::Error::WithContext { context, cause } => {
            format!("{context}: {}", render_error(cause))
        }
        mlua::Error::BadArgument {
            to,
            pos,
            name,
            cause,
        } => format!(
            "bad argument #{pos}{} to {}: {}",
            name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
            to.as_deref().unwrap_or("?"),
            render_error(cause)
        ),
        other => strip_traceback(&other.to_string()),
    }
}

fn strip_traceback(m: &str) -> String {
    match m.find("\nstack traceback:") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}
