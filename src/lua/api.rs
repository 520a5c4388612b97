//! The job API globals: `source`, `target`, `copy`, `map`, `default`, `null`, `sql`,
//! `env`, `vars`, `log`, `planning`. `copy` turns its arguments into a `CopySpec`,
//! resolves it into a `CopyPlan` and, in the real pass, hands the plan to the engine; in
//! the plan pass it records the plan (or every problem) and returns zero counts; in the
//! verify pass it hands the plan to the verifier.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{AnyUserData, Function, Lua, Table, Value as LuaValue, Variadic};

use crate::conn_spec::ConnSpec;
use crate::db::{Db, Role};
use crate::engine::{
    CopyStats, CopyTask, DirectProcessor, Overlap, Processing, RowProcessor, Since,
};
use crate::error::Error;
use crate::lua::handles::DbHandle;
use crate::lua::job;
use crate::lua::processor::{LuaProcessor, RowBuilder};
use crate::lua::values::{from_lua, Sentinels, Sql};
use crate::lua::{JobContext, Pass, Problem};
use crate::plan::{resolve, CopyPlan, CopySpec, DefaultValue, MapSource, Mode};
use crate::reader::SourceQuery;
use crate::schema::{did_you_mean, TableInfo};
use crate::throttle::Limits;
use crate::writer::Method;

/// Rows per page (one transaction each) unless a copy says otherwise: measured, 5000
/// costs the target server less per row than 1000 (fewer commits and checkpoints)
/// while a page stays a few MB.
pub const DEFAULT_PAGE: usize = 5000;

/// Rows the plan pass runs the transform and map functions on.
const SAMPLE_ROWS: usize = 100;

const COPY_OPTIONS: &[&str] = &[
    "from",
    "to",
    "mode",
    "page",
    "where",
    "map",
    "default",
    "transform",
    "workers",
    "since",
    "max_rows_per_second",
    "max_bytes_per_second",
    "write",
    "defer_indexes",
    "accept",
    "since_overlap",
];

pub fn register(lua: &Lua, ctx: Rc<JobContext>) -> mlua::Result<()> {
    let g = lua.globals();
    let null = Sentinels::get(lua).null;
    g.set("null", null)?;
    g.set("planning", ctx.pass != Pass::Real)?;

    for role in [Role::Source, Role::Target] {
        let c = ctx.clone();
        // Lua: source(url | {host=, port=, user=, password=, database=, socket=,
        //     password_env=, password_file=, ssl_mode=, ssl_ca=, ssl_cert=, ssl_key=}) -> handle
        // target(...) likewise; with no argument, the current handle.
        g.set(
            role.name(),
            lua.create_function(move |lua, arg: LuaValue| open(lua, &c, role, arg))?,
        )?;
    }

    // Lua: sql(expr) -> a raw SQL expression for default{...}
    g.set("sql", lua.create_function(|_, expr: String| Ok(Sql(expr)))?)?;

    // Lua: map{target = "source" | function(row) ... end} -> the same table, checked
    g.set(
        "map",
        lua.create_function(|_, t: Table| {
            for pair in t.pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair?;
                let key = key_name(&k, "map")?;
                if !matches!(v, LuaValue::String(_) | LuaValue::Function(_)) {
                    return Err(mlua::Error::runtime(format!(
                        "map: `{key}` must name a source column (a string) or be a function of the row, not a {}",
                        v.type_name()
                    )));
                }
            }
            Ok(t)
        })?,
    )?;

    // Lua: default{target = value | null | sql "EXPR"} -> the same table, checked
    g.set(
        "default",
        lua.create_function(|_, t: Table| {
            for pair in t.pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair?;
                let key = key_name(&k, "default")?;
                default_value(&key, &v).map_err(mlua::Error::runtime)?;
            }
            Ok(t)
        })?,
    )?;

    // Lua: env(name [, fallback]) -> the environment variable; an error if unset without fallback
    g.set(
        "env",
        lua.create_function(|lua, (name, fallback): (String, Option<LuaValue>)| {
            match std::env::var(&name) {
                Ok(v) => Ok(LuaValue::String(lua.create_string(v)?)),
                Err(_) => match fallback {
                    Some(f) => Ok(f),
                    None => Err(mlua::Error::runtime(format!(
                        "environment variable {name} is not set (give env a fallback: env(\"{name}\", \"...\"))"
                    ))),
                },
            }
        })?,
    )?;

    let vars = lua.create_table()?;
    for (k, v) in &ctx.vars {
        vars.set(k.as_str(), v.as_str())?;
    }
    g.set("vars", vars)?;

    let log_table = lua.create_table()?;
    for level in ["info", "warn", "error"] {
        let c = ctx.clone();
        // Lua: log.info(fmt, ...), log.warn(fmt, ...), log.error(fmt, ...)
        log_table.set(
            level,
            lua.create_function(move |lua, args: Variadic<LuaValue>| {
                let format: Function = lua.globals().get::<Table>("string")?.get("format")?;
                let msg: String = if args.len() == 1 {
                    match &args[0] {
                        LuaValue::String(s) => s.to_string_lossy(),
                        other => lua
                            .globals()
                            .get::<Function>("tostring")?
                            .call::<String>(other.clone())?,
                    }
                } else {
                    format.call::<String>(args)?
                };
                if c.pass != Pass::Real {
                    return Ok(());
                }
                match level {
                    "info" => log::info!(target: "ferry::job", "{msg}"),
                    "warn" => log::warn!(target: "ferry::job", "{msg}"),
                    _ => log::error!(target: "ferry::job", "{msg}"),
                }
                Ok(())
            })?,
        )?;
    }
    g.set("log", log_table)?;

    let c = ctx.clone();
    // Lua: job{name=, state=, state_table=, state_file=, parallel=, workers=, retries=,
    //          page_bytes=, max_rows_per_second=, max_bytes_per_second=}
    g.set(
        "job",
        lua.create_function(move |_, t: Table| job::job(&c, t))?,
    )?;

    let c = ctx.clone();
    // Lua: copy(name) / copy{from=, to=, mode=, page=, where=, map=, default=, transform=}
    //      -> {read, written, inserted, updated, unchanged, ignored, conflicts, skipped, seconds}
    g.set(
        "copy",
        lua.create_function(move |lua, arg: LuaValue| copy(lua, &c, arg))?,
    )?;
    Ok(())
}

fn key_name(k: &LuaValue, what: &str) -> mlua::Result<String> {
    match k {
        LuaValue::String(s) => Ok(s.to_string_lossy()),
        other => Err(mlua::Error::runtime(format!(
            "{what}: keys must be target column names, not a {}",
            other.type_name()
        ))),
    }
}

fn default_value(key: &str, v: &LuaValue) -> Result<DefaultValue, String> {
    match v {
        LuaValue::UserData(ud) if ud.is::<Sql>() => Ok(DefaultValue::Sql(
            ud.borrow::<Sql>().map_err(|e| e.to_string())?.0.clone(),
        )),
        LuaValue::Function(_) => Err(format!(
            "default: `{key}` is a function; put functions in map{{...}}"
        )),
        other => from_lua(other, &format!("default `{key}`")).map(DefaultValue::Value),
    }
}

/// Opens (or returns) the source or target session.
fn open(lua: &Lua, ctx: &Rc<JobContext>, role: Role, arg: LuaValue) -> mlua::Result<AnyUserData> {
    let over = match role {
        Role::Source => ctx.source_override.clone(),
        Role::Target => ctx.target_override.clone(),
    };
    let asked =
        match &arg {
            LuaValue::Nil => None,
            LuaValue::String(s) => Some(ConnSpec::parse(&s.to_string_lossy()).map_err(|m| {
                mlua::Error::external(Error::usage(format!("{}: {m}", role.name())))
            })?),
            LuaValue::Table(t) => Some(spec_from_table(t).map_err(|m| {
                mlua::Error::external(Error::usage(format!("{}: {m}", role.name())))
            })?),
            other => {
                return Err(mlua::Error::external(Error::usage(format!(
                    "{}: expected a URL string or a table, not a {}",
                    role.name(),
                    other.type_name()
                ))))
            }
        };
    let db = session(ctx, role, over.or(asked)).map_err(mlua::Error::external)?;
    lua.create_userdata(DbHandle { db, pass: ctx.pass })
}

/// The open session, reconnected (with the engine's retries and backoff) when its
/// server went away since it was last used, e.g. a target that restarted mid-job.
fn alive(db: &Rc<RefCell<Db>>, role: Role) -> Result<Rc<RefCell<Db>>, Error> {
    let Ok(mut d) = db.try_borrow_mut() else {
        return Ok(db.clone());
    };
    if d.conn().ping().is_ok() {
        return Ok(db.clone());
    }
    let spec = d.spec.clone();
    *d = Db::connect_retrying(
        &spec,
        role,
        crate::lua::job::DEFAULT_RETRIES,
        role.name(),
        &|| true,
    )?;
    log::warn!("{} connection was lost; reconnected", role.name());
    Ok(db.clone())
}

/// The session for `role`: reuses the open one when `spec` is the same (or absent).
pub fn session(
    ctx: &JobContext,
    role: Role,
    spec: Option<ConnSpec>,
) -> Result<Rc<RefCell<Db>>, Error> {
    let mut sessions = ctx.sessions.borrow_mut();
    let slot = match role {
        Role::Source => &mut sessions.source,
        Role::Target => &mut sessions.target,
    };
    let fallback = match role {
        Role::Source => ctx.source_override.clone(),
        Role::Target => ctx.target_override.clone(),
    };
    match (slot.as_ref(), spec.or(fallback)) {
        (Some(db), None) => alive(db, role),
        // The open session holds its spec with the password read: compare like with like.
        (Some(db), Some(s))
            if s.resolve(role.password_env()).ok().as_ref() == Some(&db.borrow().spec) =>
        {
            alive(db, role)
        }
        (_, Some(s)) => {
            let db = Rc::new(RefCell::new(Db::connect(&s, role)?));
            {
                let d = db.borrow();
                let tls = match &d.cipher {
                    Some(c) => format!(" (TLS, {c})"),
                    None => String::new(),
                };
                log::info!(target: crate::progress::FILE_ONLY, "{} connected: {}{tls}", role.name(), d.spec);
            }
            *slot = Some(db.clone());
            Ok(db)
        }
        (None, None) => Err(Error::usage(format!(
            "no {r} database: call {r} \"mysql://user@host/db\" in the job, or pass --{r} URL \
             (or set FERRY_{R})",
            r = role.name(),
            R = role.name().to_uppercase()
        ))),
    }
}

fn spec_from_table(t: &Table) -> Result<ConnSpec, String> {
    let mut fields = Vec::new();
    for pair in t.pairs::<String, LuaValue>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let v = match v {
            LuaValue::String(s) => s.to_string_lossy(),
            LuaValue::Integer(i) => i.to_string(),
            LuaValue::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "`{k}` must be a string, not a {}",
                    other.type_name()
                ))
            }
        };
        fields.push((k, v));
    }
    ConnSpec::from_fields(&fields)
}

/// The `copy` arguments, parsed.
struct CopyArgs {
    spec: CopySpec,
    transform: Option<Function>,
    functions: Vec<(String, Function)>,
    run: CopyOptions,
}

/// How a copy runs (as opposed to what it copies).
#[derive(Debug, Clone, Default)]
struct CopyOptions {
    workers: Option<usize>,
    since: Option<String>,
    since_overlap: Option<Overlap>,
    limits: Limits,
    method: Option<Method>,
    defer_indexes: Option<bool>,
}

fn location(lua: &Lua) -> String {
    lua.inspect_stack(1, |d| {
        let src = d
            .source()
            .short_src
            .map(|s| s.into_owned())
            .unwrap_or_default();
        match d.current_line() {
            Some(l) => format!("{src}:{l}"),
            None => src,
        }
    })
    .unwrap_or_else(|| "?".into())
}

fn function_label(f: &Function) -> String {
    let info = f.info();
    format!(
        "function at {}:{}",
        info.short_src.unwrap_or_default(),
        info.line_defined.unwrap_or(0)
    )
}

fn parse_copy_args(arg: &LuaValue, loc: &str) -> Result<CopyArgs, Vec<String>> {
    let mut problems = Vec::new();
    let mut spec = CopySpec {
        from: String::new(),
        to: String::new(),
        mode: Mode::Insert,
        page: DEFAULT_PAGE,
        filter: None,
        map: Vec::new(),
        defaults: Vec::new(),
        has_transform: false,
        sample_fields: None,
        location: loc.to_string(),
        accept: Default::default(),
    };
    let mut transform = None;
    let mut functions = Vec::new();
    let t = match arg {
        LuaValue::String(s) => {
            spec.from = s.to_string_lossy();
            spec.to = spec.from.clone();
            return Ok(CopyArgs {
                spec,
                transform,
                functions,
                run: CopyOptions::default(),
            });
        }
        LuaValue::Table(t) => t,
        other => {
            return Err(vec![format!(
                "copy takes a table name or a table of options, not a {}",
                other.type_name()
            )])
        }
    };
    let string_opt = |k: &str, problems: &mut Vec<String>| -> Option<String> {
        match t.get::<LuaValue>(k) {
            Ok(LuaValue::String(s)) => Some(s.to_string_lossy()),
            Ok(LuaValue::Nil) => None,
            Ok(other) => {
                problems.push(format!(
                    "copy: `{k}` must be a string, not a {}",
                    other.type_name()
                ));
                None
            }
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        }
    };
    for pair in t.pairs::<LuaValue, LuaValue>() {
        match pair {
            Ok((LuaValue::String(k), _)) => {
                let k = k.to_string_lossy();
                if !COPY_OPTIONS.contains(&k.as_str()) {
                    let hint = did_you_mean(&k, COPY_OPTIONS.iter().copied());
                    problems.push(format!(
                        "copy: unknown option `{k}`{hint}; known: {}",
                        COPY_OPTIONS.join(", ")
                    ));
                }
            }
            Ok((LuaValue::Integer(1), _)) => {}
            Ok((k, _)) => problems.push(format!("copy: unexpected key {k:?}")),
            Err(e) => problems.push(e.to_string()),
        }
    }
    spec.from = string_opt("from", &mut problems)
        .or_else(|| t.raw_get::<Option<String>>(1).ok().flatten())
        .unwrap_or_default();
    if spec.from.is_empty() {
        problems.push("copy: `from` (the source table) is missing".into());
    }
    spec.to = string_opt("to", &mut problems).unwrap_or_else(|| spec.from.clone());
    if let Some(m) = string_opt("mode", &mut problems) {
        match Mode::parse(&m) {
            Some(mode) => spec.mode = mode,
            None => problems.push(format!(
                "copy: unknown mode `{m}` (use \"insert\", \"overwrite\" or \"upsert\")"
            )),
        }
    }
    match t.get::<LuaValue>("page") {
        Ok(LuaValue::Integer(n)) if n >= 1 => spec.page = n as usize,
        Ok(LuaValue::Number(n)) if n >= 1.0 && n.fract() == 0.0 => spec.page = n as usize,
        Ok(LuaValue::Nil) => {}
        Ok(other) => problems.push(format!(
            "copy: `page` must be a whole number of rows >= 1, not {}",
            show_lua(&other)
        )),
        Err(e) => problems.push(e.to_string()),
    }
    spec.filter = string_opt("where", &mut problems);
    if let Some(Err(m)) = spec.filter.as_deref().map(crate::predicate::check_where) {
        problems.push(m);
    }
    match t.get::<LuaValue>("accept") {
        Ok(LuaValue::Nil) => {}
        Ok(LuaValue::String(s)) => {
            if let Err(m) = spec.accept.add(&s.to_string_lossy()) {
                problems.push(format!("copy: {m}"));
            }
        }
        Ok(LuaValue::Table(list)) => {
            for v in list.sequence_values::<LuaValue>() {
                match v {
                    Ok(LuaValue::String(s)) => {
                        if let Err(m) = spec.accept.add(&s.to_string_lossy()) {
                            problems.push(format!("copy: {m}"));
                        }
                    }
                    Ok(other) => problems.push(format!(
                        "copy: `accept` lists hazard names, not {}",
                        show_lua(&other)
                    )),
                    Err(e) => problems.push(e.to_string()),
                }
            }
        }
        Ok(other) => problems.push(format!(
            "copy: `accept` must be a list of hazard names ({}), not {}",
            crate::plan::Accept::NAMES.join(", "),
            show_lua(&other)
        )),
        Err(e) => problems.push(e.to_string()),
    }
    match t.get::<LuaValue>("map") {
        Ok(LuaValue::Table(m)) => {
            for pair in m.pairs::<LuaValue, LuaValue>() {
                match pair {
                    Ok((LuaValue::String(k), LuaValue::String(v))) => spec
                        .map
                        .push((k.to_string_lossy(), MapSource::Column(v.to_string_lossy()))),
                    Ok((LuaValue::String(k), LuaValue::Function(f))) => {
                        let k = k.to_string_lossy();
                        spec.map.push((
                            k.clone(),
                            MapSource::Function {
                                label: function_label(&f),
                            },
                        ));
                        functions.push((k, f));
                    }
                    Ok((k, v)) => problems.push(format!(
                        "map: {} -> {} is not a column name or a function",
                        show_lua(&k),
                        show_lua(&v)
                    )),
                    Err(e) => problems.push(e.to_string()),
                }
            }
            spec.map.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(LuaValue::Nil) => {}
        Ok(other) => problems.push(format!(
            "copy: `map` must be a table, not a {}",
            other.type_name()
        )),
        Err(e) => problems.push(e.to_string()),
    }
    match t.get::<LuaValue>("default") {
        Ok(LuaValue::Table(d)) => {
            for pair in d.pairs::<LuaValue, LuaValue>() {
                match pair {
                    Ok((LuaValue::String(k), v)) => {
                        let k = k.to_string_lossy();
                        match default_value(&k, &v) {
                            Ok(dv) => spec.defaults.push((k, dv)),
                            Err(m) => problems.push(m),
                        }
                    }
                    Ok((k, _)) => problems.push(format!("default: bad key {}", show_lua(&k))),
                    Err(e) => problems.push(e.to_string()),
                }
            }
            spec.defaults.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(LuaValue::Nil) => {}
        Ok(other) => problems.push(format!(
            "copy: `default` must be a table, not a {}",
            other.type_name()
        )),
        Err(e) => problems.push(e.to_string()),
    }
    match t.get::<LuaValue>("transform") {
        Ok(LuaValue::Function(f)) => {
            spec.has_transform = true;
            transform = Some(f);
        }
        Ok(LuaValue::Nil) => {}
        Ok(other) => problems.push(format!(
            "copy: `transform` must be a function, not a {}",
            other.type_name()
        )),
        Err(e) => problems.push(e.to_string()),
    }
    let mut run = CopyOptions {
        since: string_opt("since", &mut problems),
        ..CopyOptions::default()
    };
    match t.get::<LuaValue>("since_overlap") {
        Ok(LuaValue::Nil) => {}
        Ok(v) => match overlap(&v) {
            Ok(o) if run.since.is_some() => run.since_overlap = Some(o),
            Ok(_) => problems.push("copy: `since_overlap` needs `since`".into()),
            Err(m) => problems.push(format!("copy: {m}")),
        },
        Err(e) => problems.push(e.to_string()),
    }
    if let Some(w) = string_opt("write", &mut problems) {
        match Method::parse(&w) {
            Ok(m) => run.method = Some(m),
            Err(m) => problems.push(format!("copy: {m}")),
        }
    }
    let mut number = |k: &str, min: f64| -> Option<f64> {
        match t.get::<LuaValue>(k) {
            Ok(LuaValue::Integer(n)) if n as f64 >= min => Some(n as f64),
            Ok(LuaValue::Number(n)) if n >= min => Some(n),
            Ok(LuaValue::Nil) => None,
            Ok(other) => {
                problems.push(format!(
                    "copy: `{k}` must be a number >= {min}, not {}",
                    show_lua(&other)
                ));
                None
            }
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        }
    };
    run.workers = number("workers", 1.0).map(|n| n as usize);
    run.limits.rows_per_second = number("max_rows_per_second", 1.0);
    run.limits.bytes_per_second = number("max_bytes_per_second", 1.0);
    match t.get::<LuaValue>("defer_indexes") {
        Ok(v) => match boolean_opt("copy", "defer_indexes", &v) {
            Ok(b) => run.defer_indexes = b,
            Err(m) => problems.push(m),
        },
        Err(e) => problems.push(e.to_string()),
    }
    if problems.is_empty() {
        Ok(CopyArgs {
            spec,
            transform,
            functions,
            run,
        })
    } else {
        Err(problems)
    }
}

/// `since_overlap`: a number (`5`, `0.5`) or an interval (`"10 minutes"`).
fn overlap(v: &LuaValue) -> Result<Overlap, String> {
    let bad = || {
        format!(
            "`since_overlap` must be a number >= 0 or an interval such as \"10 minutes\" \
             (second, minute, hour, day, week), not {}",
            show_lua(v)
        )
    };
    match v {
        LuaValue::Integer(n) if *n >= 0 => Ok(Overlap::Amount(n.to_string())),
        LuaValue::Number(n) if *n >= 0.0 && n.is_finite() => Ok(Overlap::Amount(n.to_string())),
        LuaValue::String(s) => {
            let s = s.to_string_lossy();
            let mut words = s.split_whitespace();
            let (Some(n), Some(unit), None) = (words.next(), words.next(), words.next()) else {
                return Err(bad());
            };
            let n: u64 = n.parse().map_err(|_| bad())?;
            let unit = unit.to_ascii_lowercase();
            let unit = match unit.trim_end_matches('s') {
                "second" | "sec" => "SECOND",
                "minute" | "min" => "MINUTE",
                "hour" => "HOUR",
                "day" => "DAY",
                "week" => "WEEK",
                _ => return Err(bad()),
            };
            Ok(Overlap::Interval(n, unit))
        }
        _ => Err(bad()),
    }
}

/// An optional true/false option of `copy{}` or `job{}` (`what`): `None` when unset.
pub(crate) fn boolean_opt(what: &str, key: &str, v: &LuaValue) -> Result<Option<bool>, String> {
    match v {
        LuaValue::Boolean(b) => Ok(Some(*b)),
        LuaValue::Nil => Ok(None),
        other => Err(format!(
            "{what}: `{key}` must be true or false, not {}",
            show_lua(other)
        )),
    }
}

fn show_lua(v: &LuaValue) -> String {
    match v {
        LuaValue::String(s) => format!("\"{}\"", s.to_string_lossy()),
        LuaValue::Integer(i) => i.to_string(),
        LuaValue::Number(n) => n.to_string(),
        other => other.type_name().to_string(),
    }
}

pub fn stats_table(lua: &Lua, s: &CopyStats) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("read", s.read)?;
    t.set("written", s.written)?;
    t.set("inserted", s.inserted)?;
    t.set("updated", s.updated)?;
    t.set("unchanged", s.unchanged)?;
    t.set("ignored", s.ignored)?;
    t.set("conflicts", s.conflicts)?;
    t.set("skipped", s.skipped)?;
    t.set("seconds", s.seconds)?;
    t.set("resumed", s.resumed)?;
    Ok(t)
}

/// The verify pass's `copy`: compares the copy's source and target and returns
/// `{read, written, skipped, seconds}` (source rows, target rows, rows the transform
/// skipped) plus `equal`, `missing`, `extra` and `changed`.
fn verify(
    lua: &Lua,
    ctx: &JobContext,
    plan: &CopyPlan,
    src: &Rc<RefCell<Db>>,
    dst: &Rc<RefCell<Db>>,
    processor: &mut dyn RowProcessor,
) -> mlua::Result<Table> {
    let busy = |_| mlua::Error::runtime("copy cannot run inside another copy's transform");
    let report = {
        let mut s = src.try_borrow_mut().map_err(busy)?;
        let mut d = dst.try_borrow_mut().map_err(busy)?;
        let options = ctx.verify.borrow().options;
        let processor = crate::verify::needs_processor(plan).then_some(processor);
        crate::verify::verify_copy(plan, &mut s, &mut d, processor, &options)
            .map_err(mlua::Error::external)?
    };
    let t = stats_table(
        lua,
        &CopyStats {
            read: report.source_rows,
            written: report.target_rows,
            skipped: report.skipped,
            seconds: report.seconds,
            ..CopyStats::default()
        },
    )?;
    t.set("equal", report.is_equal())?;
    t.set("missing", report.missing.count)?;
    t.set("extra", report.extra.count)?;
    t.set("changed", report.changed.count)?;
    ctx.verify.borrow_mut().record(report);
    Ok(t)
}

fn table_or_problem(
    db: &Rc<RefCell<Db>>,
    name: &str,
    role: Role,
    problems: &mut Vec<String>,
) -> Result<Option<TableInfo>, Error> {
    let mut db = db.borrow_mut();
    match db.table_info(name)? {
        Some(t) => Ok(Some(t)),
        None => {
            let tables = db.tables()?;
            let hint = did_you_mean(name, tables.iter().map(|t| t.name.as_str()));
            problems.push(format!(
                "unknown {} table `{name}` in database {}{hint}",
                role.name(),
                db.database()
            ));
            Ok(None)
        }
    }
}

fn copy(lua: &Lua, ctx: &Rc<JobContext>, arg: LuaValue) -> mlua::Result<Table> {
    let loc = location(lua);
    let zero = CopyStats::default();
    // A problem ends the copy: recorded (with the rest) in the plan pass, raised in
    // a later pass, where it can only mean the script took another path.
    let reject = |name: &str, problems: Vec<String>| -> mlua::Result<Table> {
        if ctx.pass != Pass::Plan {
            return Err(mlua::Error::external(Error::Plan {
                problems,
                rows_only: false,
            }));
        }
        ctx.problems
            .borrow_mut()
            .extend(problems.into_iter().map(|p| Problem {
                message: format!("{loc}: copy {name}: {p}"),
                data: false,
            }));
        stats_table(lua, &zero)
    };
    let args = match parse_copy_args(&arg, &loc) {
        Ok(a) => a,
        Err(problems) => {
            let name = match &arg {
                LuaValue::Table(t) => {
                    let from = t
                        .get::<Option<String>>("from")
                        .ok()
                        .flatten()
                        .unwrap_or_default();
                    match t.get::<Option<String>>("to").ok().flatten() {
                        Some(to) if to != from => format!("{from} -> {to}"),
                        _ => from,
                    }
                }
                _ => String::new(),
            };
            return reject(&name, problems);
        }
    };
    let mut spec = args.spec;
    let name = spec.name();
    let src = session(ctx, Role::Source, None).map_err(mlua::Error::external)?;
    let dst = session(ctx, Role::Target, None).map_err(mlua::Error::external)?;
    let mut problems = Vec::new();
    let source = table_or_problem(&src, &spec.from, Role::Source, &mut problems)
        .map_err(mlua::Error::external)?;
    let target = table_or_problem(&dst, &spec.to, Role::Target, &mut problems)
        .map_err(mlua::Error::external)?;
    let (Some(source), Some(target)) = (source, target) else {
        return reject(&name, problems);
    };

    // The plan pass reads a sample page: it checks `where`, shows which fields the
    // transform returns, and runs the transform and map functions before anything is
    // written.
    let fields_key = format!("{loc}|{}|{}", spec.from, spec.to);
    let known = ctx.sample_fields.borrow().get(&fields_key).cloned();
    let mut sample = Vec::new();
    if let Some(fields) = known.filter(|_| ctx.pass != Pass::Plan) {
        spec.sample_fields = fields;
    } else if ctx.pass == Pass::Plan || args.transform.is_some() {
        let query = SourceQuery::for_table(&source, spec.filter.clone(), spec.page);
        // Bounded by bytes as well as rows: 100 rows of 4 MB BLOBs are not a sample.
        let page_bytes = ctx.settings.borrow().page_bytes;
        let read = {
            let mut db = src.borrow_mut();
            query
                .page_sql(None, SAMPLE_ROWS.min(spec.page))
                .and_then(|sql| {
                    crate::reader::read_page(&mut db, sql, page_bytes)
                        .map_err(|e| db.err(&format!("reading {}", source.name), e))
                })
        };
        match read {
            Ok((rows, _)) => sample = rows,
            Err(Error::Database { message, .. }) => {
                return reject(
                    &name,
                    vec![format!(
                        "reading the source failed{}: {message}",
                        if spec.filter.is_some() {
                            " (check `where`)"
                        } else {
                            ""
                        }
                    )],
                );
            }
            Err(e) => return Err(mlua::Error::external(e)),
        }
        if let Some(tf) = &args.transform {
            let names: Vec<String> = source.columns.iter().map(|c| c.name.clone()).collect();
            let kinds: Vec<_> = source.columns.iter().map(|c| c.kind()).collect();
            let builder = RowBuilder::new(lua, &names, &kinds)?;
            for row in &sample {
                let (t, _) = builder.build(row)?;
                match tf.call::<LuaValue>(t) {
                    Ok(LuaValue::Table(out)) => {
                        let mut fields = Vec::new();
                        for pair in out.pairs::<LuaValue, LuaValue>() {
                            if let (LuaValue::String(k), _) = pair? {
                                fields.push(k.to_string_lossy());
                            }
                        }
                        spec.sample_fields = Some(fields);
                        break;
                    }
                    // Skipped rows and errors are looked at below, with row keys.
                    _ => continue,
                }
            }
        }
        ctx.sample_fields
            .borrow_mut()
            .insert(fields_key, spec.sample_fields.clone());
    }

    let plan = match resolve(&spec, &source, &target) {
        Ok(p) => p,
        Err(problems) => return reject(&name, problems),
    };

    let direct = DirectProcessor::new(&plan).filter(|_| args.transform.is_none());
    let local = || -> mlua::Result<Box<dyn RowProcessor>> {
        Ok(Box::new(LuaProcessor::new(
            lua,
            &plan,
            args.transform.clone(),
            &args.functions,
        )?))
    };

    // How it runs: workers, the incremental column, rate limits, and its state.
    let id = job::copy_id(ctx, &name);
    let mut run_problems = Vec::new();
    if let Some(col) = &args.run.since {
        match plan.source.column(col) {
            None => {
                let hint = did_you_mean(col, plan.source.columns.iter().map(|c| c.name.as_str()));
                run_problems.push(format!(
                    "`since` names {col}, which is not a column of the source table {}{hint}",
                    plan.source.name
                ));
            }
            Some(c) => {
                let temporal = c.kind().is_temporal();
                let numeric = !matches!(c.kind(), crate::value::Kind::Bytes)
                    || c.data_type.eq_ignore_ascii_case("decimal");
                match &args.run.since_overlap {
                    Some(Overlap::Interval(..)) if !temporal => run_problems.push(format!(
                        "`since_overlap` is an interval, but `since` column {col} is a {}: \
                         give a number to subtract from the mark",
                        c.column_type
                    )),
                    Some(Overlap::Amount(_)) if !temporal && !numeric => {
                        run_problems.push(format!(
                            "`since_overlap` needs a number or date/time `since` column; \
                             {col} is a {}",
                            c.column_type
                        ))
                    }
                    _ => {}
                }
            }
        }
    }
    let saved = job::saved_state(ctx)
        .map_err(mlua::Error::external)?
        .copies
        .get(&id)
        .cloned();
    let resume = match saved.clone() {
        Some(st) if ctx.flags.resume => {
            if st.plan != plan.fingerprint() && !ctx.flags.force {
                run_problems.push(format!(
                    "it changed since its state was written, so it cannot resume \
                     (state: {}; job now: {}); run with --force to start this copy over, or \
                     without --resume to start the job over",
                    st.plan,
                    plan.fingerprint()
                ));
                None
            } else if st.plan != plan.fingerprint() {
                log::warn!(
                    "copy {name}: changed since its state was written; --force: starting it over"
                );
                Some(crate::state::CopyState {
                    mark: st.mark,
                    ..Default::default()
                })
            } else {
                Some(st)
            }
        }
        _ => None,
    };
    let file_store = matches!(
        ctx.settings.borrow().store,
        crate::state::StateStore::File(_)
    );
    run_problems.extend(resume_refusal(&plan, resume.as_ref(), file_store));
    if !run_problems.is_empty() {
        return reject(&name, run_problems);
    }

    if ctx.pass == Pass::Plan {
        let mut processor: Box<dyn RowProcessor> = match &direct {
            Some(p) => Box::new(p.clone()),
            None => local()?,
        };
        for (i, row) in sample.into_iter().enumerate() {
            let key = plan.row_label(Some(&plan.key_values(&row)), i as u64 + 1);
            if let Err(message) = processor.process(row) {
                ctx.problems.borrow_mut().push(Problem {
                    message: format!("{loc}: copy {name}, row {key}: {message}"),
                    data: true,
                });
                break;
            }
        }
        ctx.plans.borrow_mut().push(plan);
        return stats_table(lua, &zero);
    }
    if ctx.pass == Pass::Verify {
        let mut processor: Box<dyn RowProcessor> = match &direct {
            Some(p) => Box::new(p.clone()),
            None => local()?,
        };
        return verify(lua, ctx, &plan, &src, &dst, processor.as_mut());
    }

    let kept_mark = saved.as_ref().and_then(|s| s.mark.clone());
    let since = args.run.since.clone().map(|column| Since {
        column,
        overlap: args.run.since_overlap.clone(),
        after: if ctx.flags.full {
            None
        } else {
            resume
                .as_ref()
                .and_then(|r| r.mark.clone())
                .or(kept_mark.clone())
        },
    });
    let processing = match direct {
        Some(d) => Processing::Direct(d),
        None => Processing::Local(local()?),
    };
    let mode = plan.mode;
    let workers = args
        .run
        .workers
        .unwrap_or_else(|| ctx.settings.borrow().workers);
    let task = CopyTask {
        plan,
        id,
        processing,
        workers,
        limits: args.run.limits,
        since,
        resume,
        kept_mark,
        method: args
            .run
            .method
            .unwrap_or_else(|| ctx.settings.borrow().method),
        defer_indexes: args
            .run
            .defer_indexes
            .or(ctx.settings.borrow().defer_indexes),
        deferred_before: saved.as_ref().and_then(|s| s.deferred.clone()),
    };
    let handle = job::start(ctx, task)?;
    if ctx.settings.borrow().parallel > 1 {
        return job::lazy_stats(lua, ctx, handle, name, mode);
    }
    let stats = job::wait(ctx, handle, &name, mode).map_err(mlua::Error::external)?;
    stats_table(lua, &stats)
}

/// Why `--resume` cannot continue this copy from `resume`, its saved state (after
/// `--force` emptied a changed copy's): found in the plan pass, before anything is
/// written. (`Engine::start` checked the same, in the real pass only.)
fn resume_refusal(
    plan: &CopyPlan,
    resume: Option<&crate::state::CopyState>,
    file_store: bool,
) -> Option<String> {
    let r = resume.filter(|r| !r.done)?;
    let keyless_target = !plan.target.has_not_null_unique_key();
    if plan.key.is_none() && keyless_target {
        if let Some(p) = r.parts.get(&0).filter(|p| p.pages > 0 && !p.done) {
            return Some(format!(
                "cannot resume: its source table {} has no key, so it is read in one pass \
                 and cannot continue part-way, and its target {} has no unique key, so \
                 starting it over would duplicate the {} rows already written; empty the \
                 target table and run without --resume",
                plan.source.name, plan.target.name, p.written
            ));
        }
    }
    // The file is saved after each page commits, so whatever it says (no page yet
    // included), one more page may have landed. Only `--force` starting a changed
    // copy over (an empty state) is not a resume.
    if file_store && keyless_target && r.plan == plan.fingerprint() {
        return Some(format!(
            "cannot resume from a state file into {}, which has no unique key: the last \
             page may or may not have landed, and writing it again would duplicate it; use \
             the state table (the default), or empty the target and run without --resume",
            plan.target.name
        ));
    }
    None
}
