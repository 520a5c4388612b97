//! `copy`, `map` and `default`: a copy's arguments become a `CopyRequest`, its
//! `transform` and `map` functions a `Transform` (`LuaCode`), and the job runs it
//! (`Job::copy`); what comes back becomes the stats table the script sees, which with
//! `job{parallel > 1}` fills itself when first read.

use std::rc::Rc;

use crate::db::Value;
use mlua::{Function, Lua, Table, Value as LuaValue};

use crate::db::schema::TableInfo;
use crate::engine::{CopyStats, RowProcessor};
use crate::error::Result;
use crate::job::{
    CopyOptions, CopyOutcome, CopyRequest, Job, Started, TableCopy, Transform, DEFAULT_PAGE,
};
use crate::lua::errors::DefaultError;
use crate::lua::options::{show, Options};
use crate::lua::processor::LuaProcessor;
use crate::lua::row_builder::RowBuilder;
use crate::lua::values::{from_lua, Sql};
use crate::plan::{CopyPlan, CopySpec, DefaultValue, MapSource, Mode, TableSelection};

const COPY_OPTIONS: &[&str] = &[
    "from",
    "to",
    "mode",
    "page",
    "where",
    "map",
    "default",
    "transform",
    "mask",
    "mask_strict",
    "workers",
    "since",
    "max_rows_per_second",
    "max_bytes_per_second",
    "write",
    "defer_indexes",
    "accept",
    "since_overlap",
    "before",
    "after",
    "check",
    "tables",
    "exclude",
    "create",
    "objects",
    "background",
];

pub fn register(lua: &Lua, job: &Rc<Job>) -> mlua::Result<()> {
    let g = lua.globals();
    g.set("map", lua.create_function(map)?)?;
    g.set("default", lua.create_function(default)?)?;
    let j = job.clone();
    g.set(
        "copy",
        lua.create_function(move |lua, arg: LuaValue| copy(lua, &j, arg))?,
    )
}

/// Lua: `map{target = "source" | function(row) ... end}` -> the same table, checked
fn map(_: &Lua, t: Table) -> mlua::Result<Table> {
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
}

/// Lua: `default{target = value | null | sql "EXPR"}` -> the same table, checked
fn default(_: &Lua, t: Table) -> mlua::Result<Table> {
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        let key = key_name(&k, "default")?;
        default_value(&key, &v).map_err(mlua::Error::runtime)?;
    }
    Ok(t)
}

/// Lua: `copy(name)` / `copy{from=, to=, mode=, page=, where=, map=, default=,
/// transform=, workers=, since=, since_overlap=, max_rows_per_second=,
/// max_bytes_per_second=, write=, defer_indexes=, accept=, before=, after=, check=,
/// on_error=, rejects=, max_rejects=, background=}` -> `{read, written, inserted,
/// updated, unchanged, ignored, conflicts, skipped, rejected, rejects, seconds, resumed}`
/// (in the verify pass also `equal, missing, extra, changed`); with `background = true`
/// (the REPL) a handle (`lua/background.rs`) at once
fn copy(lua: &Lua, job: &Rc<Job>, arg: LuaValue) -> mlua::Result<LuaValue> {
    let loc = location(lua);
    let arg = crate::lua::tables::masks_by_table(lua, arg, true)?;
    let args = match parse_copy_args(lua, &arg, &loc) {
        Ok(a) => a,
        Err(problems) => {
            job.refuse(&loc, &name_of(&arg), problems)
                .map_err(mlua::Error::external)?;
            return stats_table(lua, &CopyStats::default()).map(LuaValue::Table);
        }
    };
    if let Some(selection) = &args.selection {
        if args.options.background {
            return Err(mlua::Error::runtime(
                "copy: `background = true` takes one table (from/to), not `tables`",
            ));
        }
        let request = CopyRequest {
            spec: args.spec,
            options: args.options,
            hooks: args.hooks,
        };
        let own = match crate::lua::tables::own_options(lua, &arg, &loc) {
            Ok(own) => own,
            Err(problems) => {
                job.refuse(&loc, &name_of(&arg), problems)
                    .map_err(mlua::Error::external)?;
                return stats_table(lua, &CopyStats::default()).map(LuaValue::Table);
            }
        };
        let codes: Vec<(String, CopyRequest, Option<LuaCode>)> = own
            .into_iter()
            .map(|(name, a)| {
                let code = code_of(lua, a.transform, a.functions);
                let request = CopyRequest {
                    spec: a.spec,
                    options: a.options,
                    hooks: a.hooks,
                };
                (name, request, code)
            })
            .collect();
        let overrides = codes
            .iter()
            .map(|(name, request, code)| {
                let t = code.as_ref().map(|c| c as &dyn Transform);
                (
                    name.clone(),
                    TableCopy {
                        request,
                        transform: t,
                    },
                )
            })
            .collect();
        let outcomes = job
            .copy_tables(request, selection, &overrides)
            .map_err(mlua::Error::external)?;
        return crate::lua::tables::stats(lua, job, outcomes).map(LuaValue::Table);
    }
    let code = code_of(lua, args.transform, args.functions);
    let request = CopyRequest {
        spec: args.spec,
        options: args.options,
        hooks: args.hooks,
    };
    let outcome = job
        .copy(request, code.as_ref().map(|c| c as &dyn Transform))
        .map_err(mlua::Error::external)?;
    let table = match outcome {
        CopyOutcome::Planned => stats_table(lua, &CopyStats::default()),
        CopyOutcome::Done(stats) => stats_table(lua, &stats),
        CopyOutcome::Running(started) => lazy_stats(lua, job, started),
        CopyOutcome::Background(b) => {
            let h = crate::lua::background::BackgroundHandle(b);
            return lua.create_userdata(h).map(LuaValue::UserData);
        }
        CopyOutcome::Verified(v) => {
            let t = stats_table(lua, &v.stats)?;
            t.set("equal", v.equal)?;
            t.set("missing", v.missing)?;
            t.set("extra", v.extra)?;
            t.set("changed", v.changed)?;
            Ok(t)
        }
    };
    table.map(LuaValue::Table)
}

/// The copy's Lua code, when it has a transform or map functions.
pub(crate) fn code_of(
    lua: &Lua,
    transform: Option<Function>,
    functions: Vec<(String, Function)>,
) -> Option<LuaCode<'_>> {
    (transform.is_some() || !functions.is_empty()).then_some(LuaCode {
        lua,
        transform,
        functions,
    })
}

/// A copy's Lua code: its `transform` and its `map` functions.
pub(crate) struct LuaCode<'a> {
    lua: &'a Lua,
    transform: Option<Function>,
    functions: Vec<(String, Function)>,
}

impl Transform for LuaCode<'_> {
    fn sample_fields(
        &self,
        source: &TableInfo,
        rows: &[Vec<Value>],
    ) -> Result<Option<Vec<String>>> {
        let Some(tf) = &self.transform else {
            return Ok(None);
        };
        let lua_err = |e: mlua::Error| crate::lua::to_error(&e);
        let names: Vec<String> = source.columns.iter().map(|c| c.name.clone()).collect();
        let kinds: Vec<_> = source.columns.iter().map(|c| c.kind()).collect();
        let builder = RowBuilder::new(self.lua, &names, &kinds).map_err(lua_err)?;
        for row in rows {
            let (t, _) = builder.build(row).map_err(lua_err)?;
            // Skipped rows and errors are looked at later, with row keys. Of a list of
            // rows, the first; rows emitted are not written.
            let out = crate::lua::emit::discarding(self.lua, || tf.call::<LuaValue>(t));
            if let Ok(LuaValue::Table(out)) = out {
                let first = crate::lua::emit::list_of_rows(&out).ok().flatten();
                let out = first
                    .and_then(|rows| rows.into_iter().next())
                    .unwrap_or(out);
                let mut fields = Vec::new();
                for pair in out.pairs::<LuaValue, LuaValue>() {
                    if let (LuaValue::String(k), _) = pair.map_err(lua_err)? {
                        fields.push(k.to_string_lossy());
                    }
                }
                return Ok(Some(fields));
            }
        }
        Ok(None)
    }

    fn processor(&self, plan: &CopyPlan) -> Result<Box<dyn RowProcessor>> {
        let p = LuaProcessor::new(self.lua, plan, self.transform.clone(), &self.functions)
            .map_err(|e| crate::lua::to_error(&e))?;
        Ok(Box::new(p))
    }
}

/// The copy's name for a problem in its arguments (`from -> to`, or `from`).
fn name_of(arg: &LuaValue) -> String {
    let LuaValue::Table(t) = arg else {
        return String::new();
    };
    match t.get::<LuaValue>("tables") {
        Ok(LuaValue::String(s)) => return format!("tables {}", s.to_string_lossy()),
        Ok(LuaValue::Table(list)) => {
            let names: Vec<String> = list.sequence_values::<String>().flatten().collect();
            return format!("tables {}", names.join(", "));
        }
        _ => {}
    }
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

fn key_name(k: &LuaValue, what: &str) -> mlua::Result<String> {
    match k {
        LuaValue::String(s) => Ok(s.to_string_lossy()),
        other => Err(mlua::Error::runtime(format!(
            "{what}: keys must be target column names, not a {}",
            other.type_name()
        ))),
    }
}

fn default_value(key: &str, v: &LuaValue) -> std::result::Result<DefaultValue, DefaultError> {
    match v {
        LuaValue::UserData(ud) if ud.is::<Sql>() => Ok(DefaultValue::Sql(
            ud.borrow::<Sql>().map_err(DefaultError::Lua)?.0.clone(),
        )),
        LuaValue::Function(_) => Err(DefaultError::Function { key: key.into() }),
        other => from_lua(other, &format!("default `{key}`"))
            .map(DefaultValue::Value)
            .map_err(DefaultError::Value),
    }
}

/// The `copy` arguments, parsed.
pub(crate) struct CopyArgs {
    pub(crate) spec: CopySpec,
    pub(crate) transform: Option<Function>,
    pub(crate) functions: Vec<(String, Function)>,
    pub(crate) options: CopyOptions,
    pub(crate) hooks: crate::job::Hooks,
    /// `tables = ...`: a copy of many tables.
    pub(crate) selection: Option<TableSelection>,
}

/// `file:line` of the script line calling the API function.
pub(crate) fn location(lua: &Lua) -> String {
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

pub(crate) fn function_label(f: &Function) -> String {
    let info = f.info();
    format!(
        "function at {}:{}",
        info.short_src.unwrap_or_default(),
        info.line_defined.unwrap_or(0)
    )
}

fn new_spec(loc: &str) -> CopySpec {
    CopySpec::new("", "", DEFAULT_PAGE, loc)
}

pub(crate) fn parse_copy_args(
    lua: &Lua,
    arg: &LuaValue,
    loc: &str,
) -> std::result::Result<CopyArgs, Vec<String>> {
    let mut spec = new_spec(loc);
    let t = match arg {
        LuaValue::String(s) => {
            spec.from = s.to_string_lossy();
            spec.to = spec.from.clone();
            return Ok(CopyArgs {
                spec,
                transform: None,
                functions: Vec::new(),
                options: CopyOptions::default(),
                hooks: crate::job::Hooks::default(),
                selection: None,
            });
        }
        LuaValue::Table(t) => t.clone(),
        other => {
            return Err(vec![format!(
                "copy takes a table name or a table of options, not a {}",
                other.type_name()
            )])
        }
    };
    let known = [COPY_OPTIONS, crate::lua::rejects::OPTIONS, &["emit"]].concat();
    let mut o = Options::new("copy", t.clone(), &known, true);
    let selection = crate::lua::tables::read_selection(&t, &mut o);
    spec.from = o.string("from").or_else(|| o.first()).unwrap_or_default();
    if spec.from.is_empty() && selection.is_none() {
        o.problem("copy: `from` (the source table) is missing".into());
    }
    spec.to = o.string("to").unwrap_or_else(|| spec.from.clone());
    if let Some(m) = o.string("mode") {
        match Mode::parse(&m) {
            Some(mode) => spec.mode = mode,
            None => o.problem(format!(
                "copy: unknown mode `{m}` (use \"insert\", \"overwrite\" or \"upsert\")"
            )),
        }
    }
    if let Some(n) = o.whole("page", 1, "rows") {
        spec.page = n as usize;
    }
    spec.filter = o.string("where");
    if let Some(Err(m)) = spec
        .filter
        .as_deref()
        .map(crate::db::predicate::check_where)
    {
        o.problem(m.to_string());
    }
    for name in o.names("accept", "hazard names", crate::plan::Accept::NAMES) {
        if let Err(m) = spec.accept.add(&name) {
            o.problem(format!("copy: {m}"));
        }
    }
    let mut functions = Vec::new();
    if let Some(m) = o.table("map") {
        read_map(&m, &mut spec, &mut functions, &mut o);
    }
    if let Some(d) = o.table("default") {
        read_defaults(&d, &mut spec, &mut o);
    }
    let transform = o.function("transform");
    let transform = match o.table("mask") {
        Some(rules) => crate::lua::mask::read(lua, &rules, &mut spec, transform, &mut o),
        None => transform,
    };
    spec.mask_strict = o.boolean("mask_strict").unwrap_or(false);
    spec.has_transform = transform.is_some();
    let options = crate::lua::run_options::read(&mut o);
    let hooks = crate::lua::hooks::read(lua, "copy", &mut o);
    o.finish()?;
    Ok(CopyArgs {
        spec,
        transform,
        functions,
        options,
        hooks,
        selection,
    })
}

fn read_map(
    m: &Table,
    spec: &mut CopySpec,
    functions: &mut Vec<(String, Function)>,
    o: &mut Options,
) {
    for pair in m.pairs::<LuaValue, LuaValue>() {
        match pair {
            Ok((LuaValue::String(k), LuaValue::String(v))) => spec
                .map
                .push((k.to_string_lossy(), MapSource::Column(v.to_string_lossy()))),
            Ok((LuaValue::String(k), LuaValue::Function(f))) => {
                let k = k.to_string_lossy();
                let label = function_label(&f);
                spec.map.push((k.clone(), MapSource::Function { label }));
                functions.push((k, f));
            }
            Ok((k, v)) => o.problem(format!(
                "map: {} -> {} is not a column name or a function",
                show(&k),
                show(&v)
            )),
            Err(e) => o.problem(e.to_string()),
        }
    }
    spec.map.sort_by(|a, b| a.0.cmp(&b.0));
}

fn read_defaults(d: &Table, spec: &mut CopySpec, o: &mut Options) {
    for pair in d.pairs::<LuaValue, LuaValue>() {
        match pair {
            Ok((LuaValue::String(k), v)) => {
                let k = k.to_string_lossy();
                match default_value(&k, &v) {
                    Ok(dv) => spec.defaults.push((k, dv)),
                    Err(e) => o.problem(e.to_string()),
                }
            }
            Ok((k, _)) => o.problem(format!("default: bad key {}", show(&k))),
            Err(e) => o.problem(e.to_string()),
        }
    }
    spec.defaults.sort_by(|a, b| a.0.cmp(&b.0));
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
    t.set("rejected", s.rejected)?;
    let rejects = s.rejects_file.as_ref().map(|p| p.display().to_string());
    t.set("rejects", rejects)?;
    t.set("emitted", crate::lua::emit::stats(lua, &s.emitted)?)?;
    t.set("seconds", s.seconds)?;
    t.set("resumed", s.resumed)?;
    Ok(t)
}

/// The stats table `copy` returns while the copy runs in the background: reading a
/// field waits for the copy.
fn lazy_stats(lua: &Lua, job: &Rc<Job>, started: Started) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let meta = lua.create_table()?;
    let j = job.clone();
    meta.set(
        "__index",
        lua.create_function(move |lua, (t, key): (Table, LuaValue)| {
            let stats = j
                .wait(started.handle, &started.name, started.mode)
                .map_err(mlua::Error::external)?;
            let filled = stats_table(lua, &stats)?;
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
    Ok(t)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::Overlap;

    pub(crate) fn parse(code: &str) -> std::result::Result<CopyArgs, Vec<String>> {
        let lua = Lua::new();
        lua.set_app_data(crate::lua::values::Sentinels::new(&lua).unwrap());
        let v: LuaValue = lua.load(code).eval().unwrap();
        parse_copy_args(&lua, &v, "job.lua:1")
    }

    #[test]
    fn copy_arguments_become_a_spec_and_options() {
        let a = parse(
            "return { 'users', to = 'people', mode = 'upsert', page = 100, since = 'at', \
               since_overlap = '10 minutes', workers = 3, map = { b = 'a' }, \
               default = { c = 1 } }",
        )
        .ok()
        .unwrap();
        assert_eq!(
            (a.spec.from.as_str(), a.spec.to.as_str()),
            ("users", "people")
        );
        assert_eq!((a.spec.mode, a.spec.page), (Mode::Upsert, 100));
        assert_eq!(a.spec.map.len() + a.spec.defaults.len(), 2);
        assert_eq!(a.options.workers, Some(3));
        assert!(matches!(
            a.options.since_overlap,
            Some(Overlap::Interval(10, "MINUTE"))
        ));
        assert!(!a.spec.has_transform && a.transform.is_none());
    }

    #[test]
    fn every_problem_of_a_copy_is_reported() {
        let p = parse("return { to = 't', mode = 'merge', sinec = 'x', since_overlap = 5 }")
            .err()
            .unwrap();
        assert!(
            p[0].starts_with("copy: unknown option `sinec` (did you mean `since`?)"),
            "{p:?}"
        );
        assert!(p.contains(&"copy: `from` (the source table) is missing".to_string()));
        assert!(p
            .iter()
            .any(|m| m.starts_with("copy: unknown mode `merge`")));
        assert!(p.contains(&"copy: `since_overlap` needs `since`".to_string()));
        let p = parse("return 5").err().unwrap();
        assert_eq!(
            p,
            vec!["copy takes a table name or a table of options, not a integer"]
        );
    }
}
