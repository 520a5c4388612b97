//! Job-wide settings (`job{...}`: name, state store, parallel copies, retries, rate
//! limits) and the bridge from `copy` to the engine: the engine is created at the
//! first copy of the real pass, copies are started on it, and their results are
//! collected in script order, at once (`parallel = 1`) or when the script reads them or
//! ends.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use mlua::{Lua, Table, Value as LuaValue};

use crate::db::Role;
use crate::engine::{CopyStats, CopyTask, Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::lua::{api, CopyResult, JobContext};
use crate::plan::Mode;
use crate::state::{JobState, StateHandle, StateStore, DEFAULT_TABLE};
use crate::throttle::{Limits, Throttle};
use crate::writer::Method;

/// Key ranges a copy reads and writes at once unless it says otherwise.
pub const DEFAULT_WORKERS: usize = 2;
/// Tries for a page or a connection before a transient fault fails the copy.
pub const DEFAULT_RETRIES: u32 = 10;
/// How pages reach the target unless a copy says otherwise.
pub const DEFAULT_METHOD: Method = Method::Bulk;
/// Upper bound of a page in bytes (pages are bounded by rows and by bytes).
pub const DEFAULT_PAGE_BYTES: usize = 8 << 20;

const JOB_OPTIONS: &[&str] = &[
    "name",
    "state",
    "state_table",
    "state_file",
    "parallel",
    "workers",
    "retries",
    "page_bytes",
    "max_rows_per_second",
    "max_bytes_per_second",
    "write",
    "defer_indexes",
];

/// What `job{...}` set, with defaults.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// The job's name in the state (default: the script's file name without `.lua`).
    pub name: String,
    pub store: StateStore,
    pub parallel: usize,
    pub workers: usize,
    pub retries: u32,
    pub page_bytes: usize,
    pub limits: Limits,
    pub method: Method,
    /// `defer_indexes` for every copy that does not say (`None`: decided per copy).
    pub defer_indexes: Option<bool>,
}

impl JobSettings {
    pub fn new(job_path: &str) -> JobSettings {
        let path = Path::new(job_path);
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "job".into());
        JobSettings {
            name,
            store: StateStore::Table(DEFAULT_TABLE.into()),
            parallel: 1,
            workers: DEFAULT_WORKERS,
            retries: DEFAULT_RETRIES,
            page_bytes: DEFAULT_PAGE_BYTES,
            limits: Limits::default(),
            method: DEFAULT_METHOD,
            defer_indexes: None,
        }
    }
}

/// `--resume`, `--force`, `--full`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFlags {
    pub resume: bool,
    pub force: bool,
    pub full: bool,
}

/// Lua: job{name=, state="table"|"file", state_table=, state_file=, parallel=, workers=,
/// retries=, page_bytes=, max_rows_per_second=, max_bytes_per_second=, write=,
/// defer_indexes=}
pub fn job(ctx: &Rc<JobContext>, t: Table) -> mlua::Result<()> {
    if !ctx.copy_ids.borrow().is_empty() {
        return Err(mlua::Error::runtime(
            "job{...} must come before the first copy",
        ));
    }
    let mut s = ctx.settings.borrow_mut();
    let mut problems = Vec::new();
    let mut default_file = false;
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        let k = match k {
            LuaValue::String(k) => k.to_string_lossy(),
            other => {
                problems.push(format!("job: unexpected key {other:?}"));
                continue;
            }
        };
        let num = |min: f64| -> std::result::Result<f64, String> {
            match &v {
                LuaValue::Integer(n) if *n as f64 >= min => Ok(*n as f64),
                LuaValue::Number(n) if *n >= min => Ok(*n),
                other => Err(format!(
                    "job: `{k}` must be a number >= {min}, not {}",
                    other.type_name()
                )),
            }
        };
        let text = || -> std::result::Result<String, String> {
            match &v {
                LuaValue::String(x) => Ok(x.to_string_lossy()),
                other => Err(format!(
                    "job: `{k}` must be a string, not a {}",
                    other.type_name()
                )),
            }
        };
        let r: std::result::Result<(), String> = (|| {
            match k.as_str() {
                "name" => s.name = text()?,
                "state" => match text()?.as_str() {
                    "table" => {
                        if !matches!(s.store, StateStore::Table(_)) {
                            s.store = StateStore::Table(DEFAULT_TABLE.into())
                        }
                    }
                    // Named after the job once every option is read (`name` may follow).
                    "file" => default_file = true,
                    other => {
                        return Err(format!(
                            "job: unknown state store `{other}` (use \"table\" or \"file\")"
                        ))
                    }
                },
                "state_table" => s.store = StateStore::Table(text()?),
                "state_file" => {
                    let p = PathBuf::from(text()?);
                    s.store = StateStore::File(match &ctx.job_dir {
                        Some(d) if p.is_relative() => d.join(p),
                        _ => p,
                    })
                }
                "parallel" => s.parallel = num(1.0)? as usize,
                "workers" => s.workers = num(1.0)? as usize,
                "retries" => s.retries = num(0.0)? as u32,
                "page_bytes" => s.page_bytes = num(1024.0)? as usize,
                "max_rows_per_second" => s.limits.rows_per_second = Some(num(1.0)?),
                "max_bytes_per_second" => s.limits.bytes_per_second = Some(num(1.0)?),
                "defer_indexes" => s.defer_indexes = crate::lua::api::boolean_opt("job", &k, &v)?,
                "write" => {
                    let w = text()?;
                    s.method = Method::parse(&w).map_err(|m| format!("job: {m}"))?
                }
                _ => {
                    let hint = crate::schema::did_you_mean(&k, JOB_OPTIONS.iter().copied());
                    return Err(format!(
                        "job: unknown option `{k}`{hint}; known: {}",
                        JOB_OPTIONS.join(", ")
                    ));
                }
            }
            Ok(())
        })();
        if let Err(p) = r {
            problems.push(p);
        }
    }
    if default_file && !matches!(s.store, StateStore::File(_)) {
        s.store = StateStore::File(default_state_file(ctx, &s.name));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(mlua::Error::runtime(problems.join("; ")))
    }
}

/// `<dir>/<job>.state.json`: the state file next to the job.
fn default_state_file(ctx: &JobContext, job: &str) -> PathBuf {
    let name = format!("{job}.state.json");
    match &ctx.job_dir {
        Some(d) => d.join(name),
        None => PathBuf::from(name),
    }
}

/// The job's state handle (the target session must be open).
pub fn state_handle(ctx: &Rc<JobContext>) -> Result<StateHandle> {
    let dst = api::session(ctx, Role::Target, None)?;
    let database = dst.borrow().database().to_string();
    let s = ctx.settings.borrow();
    Ok(StateHandle {
        store: s.store.clone(),
        job: s.name.clone(),
        database,
    })
}

/// The state earlier runs left (loaded once per pass).
pub fn saved_state(ctx: &Rc<JobContext>) -> Result<JobState> {
    // A run reads its state, and then writes, only once it holds the job's lock.
    crate::lock::hold(ctx)?;
    if let Some(s) = ctx.saved.borrow().as_ref() {
        return Ok(s.clone());
    }
    let handle = state_handle(ctx)?;
    let dst = api::session(ctx, Role::Target, None)?;
    let state = handle.load(&mut dst.borrow_mut())?;
    *ctx.saved.borrow_mut() = Some(state.clone());
    Ok(state)
}

/// The id of the next copy named `name` in this pass: `name`, then `name#2`, ...
pub fn copy_id(ctx: &JobContext, name: &str) -> String {
    let mut ids = ctx.copy_ids.borrow_mut();
    let n = ids.entry(name.to_string()).or_insert(0);
    *n += 1;
    if *n == 1 {
        name.to_string()
    } else {
        format!("{name}#{n}")
    }
}

fn engine_error() -> mlua::Error {
    mlua::Error::runtime("copy cannot run inside another copy's transform or map function")
}

/// Starts a copy on the engine (created at the first copy).
pub fn start(ctx: &Rc<JobContext>, task: CopyTask) -> mlua::Result<usize> {
    if ctx.engine.borrow().is_none() {
        let src = api::session(ctx, Role::Source, None).map_err(mlua::Error::external)?;
        let dst = api::session(ctx, Role::Target, None).map_err(mlua::Error::external)?;
        let state = state_handle(ctx).map_err(mlua::Error::external)?;
        let s = ctx.settings.borrow().clone();
        let file_state = match &state.store {
            StateStore::File(_) => Some(
                state
                    .load(&mut dst.borrow_mut())
                    .map_err(mlua::Error::external)?,
            ),
            StateStore::Table(_) => None,
        };
        crate::signals::install();
        let cfg = EngineConfig {
            source: src.borrow().spec.clone(),
            target: dst.borrow().spec.clone(),
            state: Some(state),
            progress: Arc::new(crate::progress::Terminal::new(ctx.display)),
            stop: crate::signals::stop(),
            retries: s.retries,
            page_bytes: s.page_bytes,
            job_limit: s.limits.is_set().then(|| Arc::new(Throttle::new(s.limits))),
        };
        *ctx.engine.borrow_mut() = Some(Engine::new(cfg, file_state));
    }
    let parallel = ctx.settings.borrow().parallel;
    let mut guard = ctx.engine.try_borrow_mut().map_err(|_| engine_error())?;
    let engine = guard.as_mut().expect("engine");
    engine.wait_below(parallel);
    engine.start(task).map_err(mlua::Error::external)
}

/// Waits for a started copy and records its result (once; later calls get it again).
pub fn wait(ctx: &Rc<JobContext>, handle: usize, name: &str, mode: Mode) -> Result<CopyStats> {
    if let Some(r) = ctx.collected.borrow().get(&handle) {
        return r.clone();
    }
    let result = {
        let mut guard = ctx.engine.try_borrow_mut().map_err(|_| Error::Usage {
            message: "a copy's result was read inside a transform".into(),
        })?;
        guard.as_mut().expect("engine").wait(handle)
    };
    ctx.pending.borrow_mut().retain(|p| p.0 != handle);
    ctx.collected.borrow_mut().insert(handle, result.clone());
    // Every copy is in the summary: a failed one with what it committed.
    let (status, stats) = match &result {
        Ok(s) if s.already_done => ("done before", s.clone()),
        Ok(s) => ("ok", s.clone()),
        Err(e) => (
            if matches!(e, Error::Interrupted { .. }) {
                "stopped"
            } else {
                "failed"
            },
            ctx.engine
                .borrow()
                .as_ref()
                .and_then(|en| en.committed(handle))
                .unwrap_or_default(),
        ),
    };
    ctx.results.borrow_mut().push(CopyResult {
        name: name.to_string(),
        mode,
        status,
        stats,
    });
    result
}

/// Waits for every copy still running (at the end of the script); the first error
/// wins, after all have ended.
pub fn wait_all(ctx: &Rc<JobContext>) -> Result<()> {
    let pending: Vec<(usize, String, Mode)> = ctx.pending.borrow().clone();
    let mut first = None;
    for (h, name, mode) in pending {
        if let Err(e) = wait(ctx, h, &name, mode) {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// The stats table `copy` returns while the copy runs in the background: reading a
/// field waits for the copy.
pub fn lazy_stats(
    lua: &Lua,
    ctx: &Rc<JobContext>,
    handle: usize,
    name: String,
    mode: Mode,
) -> mlua::Result<Table> {
    let name_for_pending = name.clone();
    let t = lua.create_table()?;
    let meta = lua.create_table()?;
    let c = ctx.clone();
    meta.set(
        "__index",
        lua.create_function(move |lua, (t, key): (Table, LuaValue)| {
            let stats = wait(&c, handle, &name, mode).map_err(mlua::Error::external)?;
            let filled = api::stats_table(lua, &stats)?;
            let value = filled.raw_get::<LuaValue>(key)?;
            // Fill the table so later reads (and pairs) need no wait; drop the hook.
            for pair in filled.pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair?;
                t.raw_set(k, v)?;
            }
            t.set_metatable(None)?;
            Ok(value)
        })?,
    )?;
    t.set_metatable(Some(meta))?;
    ctx.pending
        .borrow_mut()
        .push((handle, name_for_pending, mode));
    Ok(t)
}
