//! A copy of many tables in Lua (`copy{tables = "*", exclude = {...}, create = true}`):
//! `tables`, `exclude` and `create` read into a `TableSelection`, the options that
//! would apply to every table alike refused beside `tables` and read as a table's own
//! options inside it (`tables = { "*", users = { where = ... } }`), and the outcomes of
//! its copies turned into one stats table (the sums, and each table's own under
//! `tables`).

use std::rc::Rc;

use mlua::{Lua, Table, Value as LuaValue};

use crate::engine::CopyStats;
use crate::job::{CopyOutcome, Job};
use crate::lua::copy::{parse_copy_args, stats_table, CopyArgs};
use crate::lua::options::{show, Options};
use crate::plan::{Create, TableSelection};

/// Options a copy of many tables (`tables = ...`) refuses: they would apply to every
/// table alike.
const NOT_WITH_TABLES: &[&str] = &[
    "from",
    "to",
    "where",
    "map",
    "default",
    "transform",
    "before",
    "after",
    "check",
    "mask",
    "mask_strict",
];

/// What a table's own options (`tables = { "*", users = {...} }`) may not say: the
/// table is the key.
const NOT_OWN: &[&str] = &["from", "to", "tables", "exclude", "create", "objects"];

/// `mask = { users = { email = "email" }, ... }` (a mask per table, the whole-database
/// form) as each table's own option: `tables = { ..., users = { mask = {...} } }`, with
/// `mask_strict` given to each masked table. `arg` is returned as it is when it has no
/// such mask, or (`copy`) no `tables`. A table named in `mask` is copied with its mask,
/// as a table given options of its own is.
pub(crate) fn masks_by_table(
    lua: &Lua,
    arg: LuaValue,
    needs_tables: bool,
) -> mlua::Result<LuaValue> {
    let LuaValue::Table(outer) = &arg else {
        return Ok(arg);
    };
    let Ok(LuaValue::Table(mask)) = outer.get::<LuaValue>("mask") else {
        return Ok(arg);
    };
    let tables: LuaValue = outer.get("tables")?;
    if needs_tables && tables.is_nil() {
        return Ok(arg);
    }
    let mut per_table = Vec::new();
    for pair in mask.pairs::<LuaValue, LuaValue>() {
        match pair? {
            (LuaValue::String(t), LuaValue::Table(rules)) => per_table.push((t, rules)),
            // A plain mask (`mask = { email = "email" }`): refused or taken as it is.
            _ => return Ok(arg),
        }
    }
    if per_table.is_empty() {
        return Ok(arg);
    }
    let copy = lua.create_table()?;
    for pair in outer.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        copy.set(k, v)?;
    }
    let strict: LuaValue = outer.get("mask_strict")?;
    copy.set("mask", LuaValue::Nil)?;
    copy.set("mask_strict", LuaValue::Nil)?;
    let list = lua.create_table()?;
    match tables {
        LuaValue::Table(t) => {
            for pair in t.pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair?;
                list.set(k, v)?;
            }
        }
        LuaValue::Nil => {}
        other => list.push(other)?,
    }
    for (name, rules) in per_table {
        let own = match list.get::<LuaValue>(name.clone())? {
            LuaValue::Table(t) => {
                let c = lua.create_table()?;
                for pair in t.pairs::<LuaValue, LuaValue>() {
                    let (k, v) = pair?;
                    c.set(k, v)?;
                }
                c
            }
            _ => lua.create_table()?,
        };
        if own.get::<LuaValue>("mask")?.is_nil() {
            own.set("mask", rules)?;
        }
        if own.get::<LuaValue>("mask_strict")?.is_nil() && !strict.is_nil() {
            own.set("mask_strict", strict.clone())?;
        }
        list.set(name, own)?;
    }
    copy.set("tables", list)?;
    Ok(LuaValue::Table(copy))
}

/// The tables given options of their own in `tables` (`users = { mode = "upsert" }`),
/// each read as a copy of that table with the copy's other options and its own on top.
pub(crate) fn own_options(
    lua: &Lua,
    arg: &LuaValue,
    loc: &str,
) -> Result<Vec<(String, CopyArgs)>, Vec<String>> {
    let LuaValue::Table(outer) = arg else {
        return Ok(Vec::new());
    };
    let Ok(LuaValue::Table(list)) = outer.get::<LuaValue>("tables") else {
        return Ok(Vec::new());
    };
    let mut own = Vec::new();
    let mut problems = Vec::new();
    for pair in list.pairs::<LuaValue, LuaValue>() {
        let (name, options) = match pair {
            Ok((LuaValue::String(k), LuaValue::Table(t))) => (k.to_string_lossy(), t),
            Ok((LuaValue::String(k), v)) => {
                problems.push(format!(
                    "tables.{}: a table's own options are a table ({{ mode = \"upsert\", \
                     ... }}), not {}",
                    k.to_string_lossy(),
                    show(&v)
                ));
                continue;
            }
            Ok(_) => continue,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        match own_copy(lua, outer, &name, &options, loc) {
            Ok(Ok(a)) => own.push((name, a)),
            Ok(Err(p)) => problems.extend(p.into_iter().map(|m| format!("tables.{name}: {m}"))),
            Err(e) => problems.push(e.to_string()),
        }
    }
    own.sort_by(|a, b| a.0.cmp(&b.0));
    if problems.is_empty() {
        Ok(own)
    } else {
        Err(problems)
    }
}

/// The copy of `name`: the copy's options but `tables`, `exclude` and `create`, then
/// the table's own.
fn own_copy(
    lua: &Lua,
    outer: &Table,
    name: &str,
    options: &Table,
    loc: &str,
) -> mlua::Result<Result<CopyArgs, Vec<String>>> {
    let merged = lua.create_table()?;
    for pair in outer.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        if let LuaValue::String(s) = &k {
            if !NOT_OWN.contains(&s.to_string_lossy().as_str()) {
                merged.set(k, v)?;
            }
        }
    }
    let mut problems = Vec::new();
    for pair in options.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        if let LuaValue::String(s) = &k {
            let key = s.to_string_lossy();
            if NOT_OWN.contains(&key.as_str()) {
                problems.push(format!(
                    "`{key}` cannot be one table's option (the table is named by its key)"
                ));
                continue;
            }
        }
        merged.set(k, v)?;
    }
    merged.set("from", name)?;
    match parse_copy_args(lua, &LuaValue::Table(merged), loc) {
        Ok(args) if problems.is_empty() => Ok(Ok(args)),
        Ok(_) => Ok(Err(problems)),
        Err(more) => {
            problems.extend(more);
            Ok(Err(problems))
        }
    }
}

/// `tables`, `exclude` and `create`: a copy of many tables, with what it refuses.
pub(crate) fn read_selection(t: &Table, o: &mut Options) -> Option<TableSelection> {
    let given = |k: &str| !matches!(t.get::<LuaValue>(k), Ok(LuaValue::Nil) | Err(_));
    if !given("tables") {
        for k in ["exclude", "create", "objects"] {
            if given(k) {
                let hint = match (k, t.get::<String>("from")) {
                    ("create", Ok(from)) => format!(
                        ": for one table, name it in `tables` (copy{{tables = {{\"{from}\"}}, \
                         create = true}}; its options go in `tables = {{{from} = {{...}}}}`), \
                         which makes it under the same name; a target of another name must \
                         exist first"
                    ),
                    _ => String::new(),
                };
                o.problem(format!(
                    "copy: `{k}` needs `tables` (a copy of many tables){hint}"
                ));
            }
        }
        return None;
    }
    let noun = "table names or globs";
    let mut include = o.names("tables", noun, &["\"*\"", "\"order_*\""]);
    // A table with options of its own is named by its key.
    if let Ok(LuaValue::Table(list)) = t.get::<LuaValue>("tables") {
        for (k, _) in list.pairs::<LuaValue, LuaValue>().flatten() {
            if let LuaValue::String(k) = k {
                include.push(k.to_string_lossy());
            }
        }
    }
    let exclude = o.names("exclude", noun, &["\"audit\"", "\"*_log\""]);
    let first = matches!(t.raw_get::<LuaValue>(1), Ok(LuaValue::String(_)));
    for k in NOT_WITH_TABLES {
        if given(k) || (*k == "from" && first) {
            o.problem(format!(
                "copy: `{k}` is not allowed with `tables` (it would apply to every table \
                 alike); give it to one table: tables = {{ \"*\", users = {{ {k} = ... }} }}"
            ));
        }
    }
    let create = match o.value("create") {
        None | Some(LuaValue::Boolean(false)) => Create::No,
        Some(LuaValue::Boolean(true)) => Create::Missing,
        Some(LuaValue::String(s)) if s.to_string_lossy() == "replace" => Create::Replace,
        Some(other) => {
            o.problem(format!(
                "copy: `create` must be true, false or \"replace\", not {}",
                show(&other)
            ));
            Create::No
        }
    };
    let objects = o.boolean("objects").unwrap_or(false);
    Some(TableSelection {
        include,
        exclude,
        create,
        objects,
    })
}

/// A copy of many tables' stats: the sums, and `tables`, each table's own stats (in
/// the verify pass, `equal` is whether every table is).
pub(crate) fn stats(
    lua: &Lua,
    job: &Rc<Job>,
    outcomes: Vec<(String, CopyOutcome)>,
) -> mlua::Result<Table> {
    let each = lua.create_table()?;
    let mut total = CopyStats::default();
    let (mut equal, mut missing, mut extra, mut changed) = (true, 0, 0, 0);
    for (name, outcome) in outcomes {
        let stats = match outcome {
            CopyOutcome::Planned => CopyStats::default(),
            CopyOutcome::Done(s) => s,
            CopyOutcome::Running(s) => job
                .wait(s.handle, &s.name, s.mode)
                .map_err(mlua::Error::external)?,
            CopyOutcome::Background(b) => b.wait().map_err(mlua::Error::external)?,
            CopyOutcome::Verified(v) => {
                equal &= v.equal;
                missing += v.missing;
                extra += v.extra;
                changed += v.changed;
                v.stats
            }
        };
        total.add(&stats);
        each.set(name, stats_table(lua, &stats)?)?;
    }
    let t = stats_table(lua, &total)?;
    t.set("tables", each)?;
    if job.pass() == crate::job::Pass::Verify {
        t.set("equal", equal)?;
        t.set("missing", missing)?;
        t.set("extra", extra)?;
        t.set("changed", changed)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use crate::lua::copy::tests::parse;
    use crate::plan::{Create, Mode};

    #[test]
    fn tables_make_a_selection_and_refuse_what_cannot_apply_to_every_table() {
        let a = parse(
            "return { tables = {'users', 'order_*'}, exclude = '*_log', create = 'replace', \
               mode = 'upsert', page = 10 }",
        )
        .ok()
        .unwrap();
        let sel = a.selection.unwrap();
        assert_eq!(sel.include, ["users", "order_*"]);
        assert_eq!(sel.exclude, ["*_log"]);
        assert_eq!(sel.create, Create::Replace);
        assert_eq!((a.spec.mode, a.spec.page), (Mode::Upsert, 10));
        let p = parse("return { 'users', tables = '*', transform = function(r) return r end }")
            .err()
            .unwrap();
        assert!(
            p[0].starts_with("copy: `from` is not allowed with `tables`"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("copy: `transform` is not allowed with `tables`"),
            "{p:?}"
        );
        let p = parse("return { from = 'users', exclude = 'x', create = true }")
            .err()
            .unwrap();
        assert_eq!(
            p[0],
            "copy: `exclude` needs `tables` (a copy of many tables)"
        );
        assert!(
            p[1].starts_with(
                "copy: `create` needs `tables` (a copy of many tables): for one table, \
                 name it in `tables` (copy{tables = {\"users\"}, create = true}"
            ),
            "{p:?}"
        );
        assert_eq!(p.len(), 2);
        let p = parse("return { tables = 5 }").err().unwrap();
        assert!(p[0].contains("tables"), "{p:?}");
    }

    #[test]
    fn a_tables_own_options_go_on_top_of_the_copys() {
        let lua = mlua::Lua::new();
        lua.set_app_data(crate::lua::values::Sentinels::new(&lua).unwrap());
        let code = "return { tables = { '*', users = { mode = 'upsert', where = 'id > 1', \
                      map = { name = 'full_name' } } }, page = 7, create = true }";
        let v: mlua::Value = lua.load(code).eval().unwrap();
        let own = super::own_options(&lua, &v, "job.lua:1").ok().unwrap();
        assert_eq!(own.len(), 1);
        let (name, a) = &own[0];
        assert_eq!(name, "users");
        assert_eq!(
            (a.spec.from.as_str(), a.spec.to.as_str()),
            ("users", "users")
        );
        assert_eq!((a.spec.mode, a.spec.page), (Mode::Upsert, 7));
        assert_eq!(a.spec.filter.as_deref(), Some("id > 1"));
        assert_eq!(a.spec.map.len(), 1);
        let sel = parse(code).ok().unwrap().selection.unwrap();
        assert_eq!(sel.include, ["*", "users"]);
        let bad = "return { tables = { '*', users = { to = 'x', mod = 'upsert' }, orders = 5 } }";
        let v: mlua::Value = lua.load(bad).eval().unwrap();
        let mut p = super::own_options(&lua, &v, "job.lua:1").err().unwrap();
        p.sort();
        assert!(
            p[0].starts_with("tables.orders: a table's own options are a table"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("tables.users: `to` cannot be one table's option"),
            "{p:?}"
        );
    }
}
