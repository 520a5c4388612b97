//! `job{...}`: the job-wide settings, read with the option reader into the job's
//! `JobSettings`.

use std::path::PathBuf;
use std::rc::Rc;

use mlua::{Lua, Table};

use crate::db::write::Method;
use crate::job::Job;
use crate::lua::options::Options;

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
    "before",
    "after",
    "check",
    "mask_salt",
];

pub fn register(lua: &Lua, job: &Rc<Job>) -> mlua::Result<()> {
    let j = job.clone();
    lua.globals().set(
        "job",
        lua.create_function(move |lua, t: Table| settings(lua, &j, t))?,
    )
}

/// Lua: `job{name=, state="table"|"file", state_table=, state_file=, parallel=,
/// workers=, retries=, page_bytes=, max_rows_per_second=, max_bytes_per_second=,
/// write=, defer_indexes=, before=, after=, check=, mask_salt=}`; before the first copy
fn settings(lua: &Lua, job: &Job, t: Table) -> mlua::Result<()> {
    let location = crate::lua::copy::location(lua);
    if job.any_copy() {
        return Err(mlua::Error::runtime(
            "job{...} must come before the first copy",
        ));
    }
    let mut o = Options::new("job", t, JOB_OPTIONS, false);
    let mut s = job.settings.borrow_mut();
    let dir = job.host.job_dir.as_deref();
    if let Some(name) = o.string("name") {
        s.name = name;
    }
    let mut default_file = false;
    match o.string("state").as_deref() {
        None => {}
        Some("table") => s.use_state_table(),
        Some("file") => default_file = true,
        Some(other) => o.problem(format!(
            "job: unknown state store `{other}` (use \"table\" or \"file\")"
        )),
    }
    if let Some(table) = o.string("state_table") {
        s.store = crate::db::state::StateStore::Table(table);
    }
    if let Some(file) = o.string("state_file") {
        s.use_state_file(PathBuf::from(file), dir);
    }
    if let Some(n) = o.number("parallel", 1.0) {
        s.parallel = n as usize;
    }
    if let Some(n) = o.number("workers", 1.0) {
        s.workers = n as usize;
    }
    if let Some(n) = o.number("retries", 0.0) {
        s.retries = n as u32;
    }
    if let Some(n) = o.number("page_bytes", 1024.0) {
        s.page_bytes = n as usize;
    }
    if let Some(n) = o.number("max_rows_per_second", 1.0) {
        s.limits.rows_per_second = Some(n);
    }
    if let Some(n) = o.number("max_bytes_per_second", 1.0) {
        s.limits.bytes_per_second = Some(n);
    }
    if let Some(w) = o.string("write") {
        match Method::parse(&w) {
            Ok(m) => s.method = m,
            Err(m) => o.problem(format!("job: {m}")),
        }
    }
    if let Some(b) = o.boolean("defer_indexes") {
        s.defer_indexes = Some(b);
    }
    if default_file {
        s.use_default_state_file(dir);
    }
    drop(s);
    if let Some(salt) = o.string("mask_salt") {
        // ferry.mask's own check: at least 8 bytes.
        let set = lua
            .globals()
            .get::<mlua::Function>("require")
            .and_then(|r| r.call::<mlua::Table>("ferry.mask"))
            .and_then(|m| m.get::<mlua::Function>("salt"))
            .and_then(|f| f.call::<()>(salt));
        if set.is_err() {
            o.problem("job: mask_salt is a string of at least 8 bytes".into());
        }
    }
    let hooks = crate::lua::hooks::read(lua, "job", &mut o);
    job.set_job_hooks(hooks, &location);
    o.finish()
        .map_err(|problems| mlua::Error::runtime(problems.join("; ")))
}
