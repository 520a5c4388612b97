//! Database handles in Lua (`source()`, `target()`, and `src`/`dst` in the REPL):
//! `tables`, `columns`, `count`, `query`, `exec`, `peek`. Rows come back as Lua tables
//! keyed by column name, with SPEC.md's value conversions. In the plan and verify
//! passes `exec` does not run.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue, Variadic};

use crate::db::{Db, Rows};
use crate::error::Error;
use crate::job::Pass;
use crate::lua::values::{from_lua, to_lua, Sentinels};

pub struct DbHandle {
    pub db: Rc<RefCell<Db>>,
    pub pass: Pass,
}

impl DbHandle {
    fn with<R>(&self, f: impl FnOnce(&mut Db) -> Result<R, Error>) -> mlua::Result<R> {
        let mut db = self.db.try_borrow_mut().map_err(|_| {
            mlua::Error::runtime(
                "this connection is busy running a copy; use it before or after the copy",
            )
        })?;
        f(&mut db).map_err(mlua::Error::external)
    }
}

/// Rows as an array of Lua tables.
pub fn rows_to_lua(lua: &Lua, rows: &Rows) -> mlua::Result<Table> {
    let null = Sentinels::get(lua).null;
    let names: Vec<mlua::LuaString> = rows
        .columns
        .iter()
        .map(|c| lua.create_string(&c.name))
        .collect::<mlua::Result<_>>()?;
    let out = lua.create_table_with_capacity(rows.rows.len(), 0)?;
    for row in &rows.rows {
        let t = lua.create_table_with_capacity(0, row.len())?;
        for ((name, v), col) in names.iter().zip(row).zip(&rows.columns) {
            t.raw_set(name.clone(), to_lua(lua, &null, v, col.kind)?)?;
        }
        out.raw_push(t)?;
    }
    // Remember the column order for printing (REPL, peek).
    let order = lua.create_table()?;
    for c in &rows.columns {
        order.raw_push(c.name.as_str())?;
    }
    // And which columns hold binary bytes (shown as hex).
    let binary = lua.create_table()?;
    for c in rows.columns.iter().filter(|c| c.binary) {
        binary.raw_set(c.name.as_str(), true)?;
    }
    let mt = lua.create_table()?;
    mt.raw_set("__columns", order)?;
    mt.raw_set("__binary", binary)?;
    out.set_metatable(Some(mt))?;
    Ok(out)
}

fn params(args: Variadic<LuaValue>) -> mlua::Result<Vec<crate::db::Value>> {
    args.iter()
        .enumerate()
        .map(|(i, v)| from_lua(v, &format!("parameter {}", i + 1)).map_err(mlua::Error::runtime))
        .collect()
}

impl UserData for DbHandle {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("tables", tables);
        methods.add_method("columns", columns);
        methods.add_method("count", count);
        methods.add_method("query", query);
        methods.add_method("exec", exec);
        methods.add_method("peek", peek);
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            let db = this.db.borrow();
            Ok(format!("{} {}", db.role.name(), db.spec))
        });
    }
}

/// Lua: `db:tables()` -> `{ "name", ... }`
fn tables(lua: &Lua, this: &DbHandle, (): ()) -> mlua::Result<Table> {
    let tables = this.with(|db| db.tables())?;
    lua.create_sequence_from(tables.into_iter().map(|t| t.name))
}

/// Lua: `db:columns(table)` -> `{ {name=, type=, nullable=, default=, key=, extra=}, ... }`
fn columns(lua: &Lua, this: &DbHandle, table: String) -> mlua::Result<Table> {
    let info = this.with(|db| {
        let name = db.database().to_string();
        db.table_info(&table)?.ok_or_else(|| Error::Usage {
            message: format!("no table `{table}` in database {name}"),
        })
    })?;
    let null = Sentinels::get(lua).null;
    let out = lua.create_table()?;
    for c in info.columns {
        let t = lua.create_table()?;
        t.set("name", c.name)?;
        t.set("type", c.column_type)?;
        t.set("nullable", c.nullable)?;
        match c.default {
            Some(d) => t.set("default", d)?,
            None => t.set("default", null.clone())?,
        }
        t.set("key", c.key)?;
        t.set("extra", c.extra)?;
        out.raw_push(t)?;
    }
    // The order the REPL prints them in, as `ferry columns` does.
    let order =
        lua.create_sequence_from(["name", "type", "nullable", "default", "key", "extra"])?;
    let mt = lua.create_table()?;
    mt.raw_set("__columns", order)?;
    out.set_metatable(Some(mt))?;
    Ok(out)
}

/// Lua: `db:count(table [, where])` -> integer
fn count(_: &Lua, this: &DbHandle, (table, filter): (String, Option<String>)) -> mlua::Result<u64> {
    this.with(|db| db.count(&table, filter.as_deref()))
}

/// Lua: `db:query(sql, ...)` -> `{ row, ... }`, with `?` placeholders bound
fn query(
    lua: &Lua,
    this: &DbHandle,
    (sql, args): (String, Variadic<LuaValue>),
) -> mlua::Result<Table> {
    let p = params(args)?;
    let rows = this.with(|db| db.query(&sql, p))?;
    rows_to_lua(lua, &rows)
}

/// Lua: `db:exec(sql, ...)` -> affected rows; does not run in the plan or verify pass
fn exec(_: &Lua, this: &DbHandle, (sql, args): (String, Variadic<LuaValue>)) -> mlua::Result<u64> {
    let p = params(args)?;
    if this.pass != Pass::Real {
        log::debug!("plan pass: not running `{}`", crate::db::short_sql(&sql));
        return Ok(0);
    }
    this.with(|db| db.exec(&sql, p))
}

/// Lua: `db:peek(table [, n = 10])` -> the first n rows
fn peek(lua: &Lua, this: &DbHandle, (table, n): (String, Option<u32>)) -> mlua::Result<Table> {
    let n = n.unwrap_or(10);
    let rows = this.with(|db| db.peek(&table, n))?;
    rows_to_lua(lua, &rows)
}
