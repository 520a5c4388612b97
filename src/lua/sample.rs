//! `sample{}`: a subset for a test environment. Its own options (`from`, `where`,
//! `limit`, `percent`, `children`, `create`, `max_keys`) become a `SampleSpec`; the
//! options every table's copy shares (`mode`, `page`, ...) and a table's own
//! (`tables = { customers = { mask = {...} } }`) are read as the `copy{}` of that
//! table, so masks, transforms and maps work as they do there; `Job::sample` runs it
//! and its outcomes become one stats table (the sums, and each table's under `tables`).

use std::collections::HashMap;
use std::rc::Rc;

use mlua::{Lua, Table, Value as LuaValue};

use crate::engine::CopyStats;
use crate::job::sample::{OwnCopy, SampleRequest};
use crate::job::{CopyRequest, Job, Transform};
use crate::lua::copy::{code_of, location, parse_copy_args, stats_table, CopyArgs, LuaCode};
use crate::lua::options::{show, Options};
use crate::plan::sample::{SampleSpec, DEFAULT_MAX_KEYS};
use crate::plan::Create;

/// `sample{}`'s own options.
const OWN: &[&str] = &[
    "from", "where", "limit", "percent", "children", "create", "max_keys", "tables", "objects",
];

/// The copy options a sample hands to every table's copy.
const SHARED: &[&str] = &[
    "mode",
    "page",
    "write",
    "workers",
    "max_rows_per_second",
    "max_bytes_per_second",
    "defer_indexes",
    "accept",
];

/// What a table's own options (`tables = { t = {...} }`) may not say.
const NOT_OWN: &[&str] = &[
    "from", "to", "where", "tables", "exclude", "create", "since",
];

pub fn register(lua: &Lua, job: &Rc<Job>) -> mlua::Result<()> {
    let j = job.clone();
    lua.globals().set(
        "sample",
        lua.create_function(move |lua, arg: LuaValue| sample(lua, &j, arg))?,
    )
}

/// Lua: `sample{from=, where=, limit=, percent=, children=, create=, objects=, max_keys=,
/// tables = { t = {mask=, transform=, map=, default=, ...} }, mode=, page=, write=,
/// workers=, accept=, ...}` -> `{read, written, ..., tables = { t = {...} }}`
fn sample(lua: &Lua, job: &Rc<Job>, arg: LuaValue) -> mlua::Result<Table> {
    let loc = location(lua);
    let arg = crate::lua::tables::masks_by_table(lua, arg, false)?;
    let read = match &arg {
        LuaValue::Table(t) => read(lua, t, &loc),
        other => Err(vec![format!(
            "sample takes a table of options (sample{{ from = \"orders\", ... }}), not {}",
            show(other)
        )]),
    };
    let (spec, create, objects, base, own) = match read {
        Ok(r) => r,
        Err(problems) => {
            job.refuse(&loc, "sample", problems)
                .map_err(mlua::Error::external)?;
            return stats_table(lua, &CopyStats::default());
        }
    };
    let base = CopyRequest {
        spec: base.spec,
        options: base.options,
        hooks: base.hooks,
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
    let own: HashMap<String, OwnCopy<'_>> = codes
        .iter()
        .map(|(name, request, code)| {
            let o = OwnCopy {
                request: request.clone(),
                transform: code.as_ref().map(|c| c as &dyn Transform),
            };
            (name.clone(), o)
        })
        .collect();
    let req = SampleRequest {
        spec,
        create,
        objects,
        base,
    };
    let outcomes = job.sample(req, own).map_err(mlua::Error::external)?;
    crate::lua::tables::stats(lua, job, outcomes)
}

/// The spec, `create`, `objects`, the copy every table shares and the tables' own.
type Read = (SampleSpec, Create, bool, CopyArgs, Vec<(String, CopyArgs)>);

/// The sample's spec, `create`, the copy every table shares, and the tables' own
/// copies; or every problem.
fn read(lua: &Lua, t: &Table, loc: &str) -> Result<Read, Vec<String>> {
    let known: Vec<&str> = OWN.iter().chain(SHARED).copied().collect();
    let mut o = Options::new("sample", t.clone(), &known, true);
    let from = o.string("from").or_else(|| o.first()).unwrap_or_default();
    if from.is_empty() {
        o.problem("sample: `from` (the table the sample starts from) is missing".into());
    }
    let filter = o.string("where");
    if let Some(Err(m)) = filter.as_deref().map(crate::db::predicate::check_where) {
        o.problem(m.to_string());
    }
    let limit = o.whole("limit", 1, "rows").map(|n| n as u64);
    let percent = o.number("percent", 0.0);
    if percent.is_some_and(|p| p > 100.0) {
        o.problem("sample: `percent` must be between 0 and 100".into());
    }
    let children = o.names("children", "table names", &["\"order_items\""]);
    let max_keys = o
        .whole("max_keys", 1, "keys")
        .map_or(DEFAULT_MAX_KEYS, |n| n as usize);
    let create = match o.value("create") {
        None | Some(LuaValue::Boolean(false)) => Create::No,
        Some(LuaValue::Boolean(true)) => Create::Missing,
        Some(LuaValue::String(s)) if s.to_string_lossy() == "replace" => Create::Replace,
        Some(other) => {
            o.problem(format!(
                "sample: `create` must be true, false or \"replace\", not {}",
                show(&other)
            ));
            Create::No
        }
    };
    let objects = o.boolean("objects").unwrap_or(false);
    let own_tables = o.table("tables");
    let mut problems = o.finish().err().unwrap_or_default();
    let lua_err = |e: mlua::Error| vec![e.to_string()];
    let base_table = shared(lua, t, None, &from).map_err(lua_err)?;
    let base = parse_copy_args(lua, &LuaValue::Table(base_table), loc);
    let own = match &own_tables {
        Some(list) => own_copies(lua, t, list, loc, &mut problems).map_err(lua_err)?,
        None => Vec::new(),
    };
    let base = match base {
        Ok(b) => b,
        Err(p) => {
            problems.extend(p);
            return Err(problems);
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let spec = SampleSpec {
        from,
        filter,
        limit,
        percent,
        children,
        max_keys,
        location: loc.to_string(),
    };
    Ok((spec, create, objects, base, own))
}

/// The copy options every table shares (`SHARED` of `t`), `extra` on top, from `name`.
fn shared(lua: &Lua, t: &Table, extra: Option<&Table>, name: &str) -> mlua::Result<Table> {
    let merged = lua.create_table()?;
    for k in SHARED {
        merged.set(*k, t.get::<LuaValue>(*k)?)?;
    }
    if let Some(extra) = extra {
        for pair in extra.pairs::<LuaValue, LuaValue>() {
            let (k, v) = pair?;
            merged.set(k, v)?;
        }
    }
    merged.set("from", name)?;
    Ok(merged)
}

/// The tables' own copies (`tables = { name = {...} }`), by name; problems to
/// `problems`.
fn own_copies(
    lua: &Lua,
    t: &Table,
    list: &Table,
    loc: &str,
    problems: &mut Vec<String>,
) -> mlua::Result<Vec<(String, CopyArgs)>> {
    let mut own = Vec::new();
    for pair in list.pairs::<LuaValue, LuaValue>() {
        let (name, options) = match pair {
            Ok((LuaValue::String(k), LuaValue::Table(v))) => (k.to_string_lossy(), v),
            Ok((k, v)) => {
                problems.push(format!(
                    "sample: tables: a table's own options are `name = {{ mask = ..., ... }}`, \
                     not {} = {}",
                    show(&k),
                    show(&v)
                ));
                continue;
            }
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        for k in NOT_OWN {
            if !matches!(options.get::<LuaValue>(*k), Ok(LuaValue::Nil)) {
                problems.push(format!(
                    "sample: tables.{name}: `{k}` cannot be one table's option in a sample \
                     (the sample chooses its rows)"
                ));
            }
        }
        let merged = shared(lua, t, Some(&options), &name)?;
        match parse_copy_args(lua, &LuaValue::Table(merged), loc) {
            Ok(a) => own.push((name, a)),
            Err(p) => problems.extend(p.into_iter().map(|m| format!("tables.{name}: {m}"))),
        }
    }
    own.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(code: &str) -> Result<Read, Vec<String>> {
        let lua = Lua::new();
        lua.set_app_data(crate::lua::values::Sentinels::new(&lua).unwrap());
        crate::lua::stdlib::register(&lua, None).unwrap();
        lua.load("require('ferry.mask').salt('a salt of the test')")
            .exec()
            .unwrap();
        let v: LuaValue = lua.load(code).eval().unwrap();
        let LuaValue::Table(t) = crate::lua::tables::masks_by_table(&lua, v, false).unwrap() else {
            panic!("not a table");
        };
        read(&lua, &t, "job.lua:1")
    }

    #[test]
    fn a_mask_per_table_is_that_tables_own_mask() {
        let (.., own) = parse(
            "return { from = 'orders', mask = { customers = { email = 'email', name = 'name' } }, \
               tables = { customers = { page = 3 } } }",
        )
        .unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].0, "customers");
        assert_eq!(own[0].1.spec.page, 3);
        assert_eq!(own[0].1.spec.mask.len(), 2);
    }

    #[test]
    fn a_samples_options_become_its_spec_and_every_tables_copy() {
        let (spec, create, objects, base, own) = parse(
            "return { from = 'orders', where = 'id > 1', limit = 10, children = 'items', \
               create = true, mode = 'upsert', page = 7, \
               tables = { customers = { mask = { email = 'email' } } } }",
        )
        .unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(spec.from, "orders");
        assert_eq!(spec.filter.as_deref(), Some("id > 1"));
        assert_eq!((spec.limit, spec.percent), (Some(10), None));
        assert_eq!(spec.children, ["items"]);
        assert_eq!(spec.max_keys, DEFAULT_MAX_KEYS);
        assert_eq!((create, objects), (Create::Missing, false));
        assert_eq!((base.spec.page, base.spec.filter.clone()), (7, None));
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].0, "customers");
        assert_eq!(own[0].1.spec.page, 7);
        assert_eq!(own[0].1.spec.mask.len(), 1);
    }

    #[test]
    fn a_bad_sample_names_every_problem() {
        let p = parse(
            "return { where = 'a;b', percent = 120, limt = 3, \
               tables = { customers = { where = 'x', mod = 'upsert' } } }",
        )
        .err()
        .unwrap();
        let all = p.join("\n");
        assert!(
            all.contains("unknown option `limt` (did you mean `limit`?)"),
            "{all}"
        );
        assert!(
            all.contains("`from` (the table the sample starts from) is missing"),
            "{all}"
        );
        assert!(all.contains("`percent` must be between 0 and 100"), "{all}");
        assert!(
            all.contains("tables.customers: `where` cannot be one table's option"),
            "{all}"
        );
        assert!(
            all.contains("tables.customers: copy: unknown option `mod`"),
            "{all}"
        );
    }
}
