//! `try{...}` and `explain{...}`: a copy's options (those of `copy{}`) plus `rows` or
//! `key`, explained instead of run (`Job::explain`): the chosen source rows, the rows
//! the copy's row code makes of them, the statement, and what the target would do
//! with each, printed; nothing is written. Meant for the REPL (`ferry explain` is the
//! same from the command line).

use std::rc::Rc;

use mlua::{Lua, Table, Value as LuaValue};

use crate::explain::{Selection, DEFAULT_ROWS};
use crate::job::{CopyRequest, Job, Pass, Transform};
use crate::lua::copy::{code_of, location, parse_copy_args};

pub fn register(lua: &Lua, job: &Rc<Job>) -> mlua::Result<()> {
    let g = lua.globals();
    for name in ["try", "explain"] {
        let j = job.clone();
        g.set(
            name,
            lua.create_function(move |lua, arg: LuaValue| {
                // `try "users"`: the same-named table, as `copy "users"`.
                let arg = match arg {
                    LuaValue::Table(t) => t,
                    LuaValue::String(s) => lua.create_sequence_from([s])?,
                    other => {
                        return Err(mlua::Error::runtime(format!(
                            "{name} takes a table name or a table of copy options, not a {}",
                            other.type_name()
                        )))
                    }
                };
                explain(lua, &j, name, arg)
            })?,
        )?;
    }
    Ok(())
}

/// Lua: `try(table)` / `try{from=, to=, mode=, map=, default=, transform=, where=, ...,
/// rows = N | key = K | key = {K1, K2}}` (also `explain`) -> nothing; prints what the
/// copy would do with the first `rows` source rows (5) or the rows with the keys `key`
fn explain(lua: &Lua, job: &Rc<Job>, what: &str, arg: Table) -> mlua::Result<()> {
    // In a job script it prints once, in the real pass (`ferry run`).
    if job.pass() != Pass::Real {
        return Ok(());
    }
    let loc = location(lua);
    let selection = selection(&arg, what)?;
    // The rest are copy's options, read as copy reads them.
    let options = lua.create_table()?;
    for pair in arg.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        if !matches!(&k, LuaValue::String(s) if s == "rows" || s == "key") {
            options.raw_set(k, v)?;
        }
    }
    let args = parse_copy_args(lua, &LuaValue::Table(options), &loc)
        .map_err(|problems| mlua::Error::runtime(format!("{what}: {}", problems.join("; "))))?;
    if args.selection.is_some() {
        return Err(mlua::Error::runtime(format!(
            "{what}: explains one table's copy: give `from` (not `tables`)"
        )));
    }
    let code = code_of(lua, args.transform, args.functions);
    let request = CopyRequest {
        spec: args.spec,
        options: args.options,
        hooks: args.hooks,
    };
    let report = job
        .explain(
            request,
            code.as_ref().map(|c| c as &dyn Transform),
            &selection,
        )
        .map_err(mlua::Error::external)?;
    print!("{report}");
    Ok(())
}

/// `rows = N` or `key = K` / `key = {parts}`.
fn selection(arg: &Table, what: &str) -> mlua::Result<Selection> {
    let rows: LuaValue = arg.raw_get("rows")?;
    let key: LuaValue = arg.raw_get("key")?;
    let part = |v: &LuaValue| -> mlua::Result<String> {
        match v {
            LuaValue::Integer(i) => Ok(i.to_string()),
            LuaValue::Number(n) => Ok(n.to_string()),
            LuaValue::String(s) => Ok(s.to_string_lossy()),
            other => Err(mlua::Error::runtime(format!(
                "{what}: `key` takes key values (numbers or strings), not a {}",
                other.type_name()
            ))),
        }
    };
    match (rows, key) {
        (LuaValue::Nil, LuaValue::Nil) => Ok(Selection::First(DEFAULT_ROWS)),
        (LuaValue::Integer(n), LuaValue::Nil) if n > 0 => Ok(Selection::First(n as usize)),
        (LuaValue::Nil, LuaValue::Table(t)) => Ok(Selection::Keys(
            t.sequence_values::<LuaValue>()
                .map(|v| v.and_then(|v| part(&v)))
                .collect::<mlua::Result<_>>()?,
        )),
        (LuaValue::Nil, k) => Ok(Selection::Keys(vec![part(&k)?])),
        (_, LuaValue::Nil) => Err(mlua::Error::runtime(format!(
            "{what}: `rows` takes a whole number of rows, 1 or more"
        ))),
        _ => Err(mlua::Error::runtime(format!(
            "{what}: give `rows` or `key`, not both"
        ))),
    }
}
