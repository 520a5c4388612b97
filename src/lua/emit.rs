//! Fan-out in Lua: the `emit(to_table, row)` global, which a transform calls to write
//! a row into another target table (named in the copy's `emit = {...}` option with its
//! mode), and a transform that returns a list of rows; the `emit` option read; and the
//! per-table counts `copy` returns (`emitted`).

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Lua, Table, Value as LuaValue};

use crate::db::write::Mode;
use crate::engine::{EmitCounts, EmitSpec, Emitted};
use crate::lua::options::{show, Options};
use crate::lua::values::from_lua;

/// Where `emit` puts rows: the rows of the transform call running now; `None` outside
/// one (an error), `Discard` while the plan pass looks at what a transform returns.
/// Where `emit` puts rows: the Lua state's, kept in its app data and by the
/// processors that run transforms (`Sink::of`).
#[derive(Default, Clone)]
pub struct Sink(Rc<RefCell<State>>);

#[derive(Default)]
enum State {
    #[default]
    Closed,
    Discard,
    Open(Vec<Emitted>),
}

/// Lua: `emit(to_table, row)`: `row` (a table of fields by target column name) goes
/// into `to_table` with the page of the source row being transformed.
fn emit(lua: &Lua, (table, row): (String, Table)) -> mlua::Result<()> {
    let sink = lua
        .app_data_ref::<Sink>()
        .ok_or_else(|| mlua::Error::runtime("emit is only for a copy's transform"))?;
    let mut state = sink.0.borrow_mut();
    let rows = match &mut *state {
        State::Open(rows) => rows,
        State::Discard => return Ok(()),
        State::Closed => {
            return Err(mlua::Error::runtime(format!(
                "emit(\"{table}\", ...) writes a row from inside a copy's transform, not here"
            )))
        }
    };
    if row.metatable().is_some() {
        return Err(mlua::Error::runtime(format!(
            "emit(\"{table}\", row): give a table of your own ({{ id = r.id, ... }}), not \
             the row being transformed"
        )));
    }
    let mut fields = Vec::new();
    for pair in row.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        let LuaValue::String(k) = k else {
            return Err(mlua::Error::runtime(format!(
                "emit(\"{table}\", row): a row's fields are named by strings, not {}",
                show(&k)
            )));
        };
        let name = k.to_string_lossy();
        let value = from_lua(&v, &format!("emit(\"{table}\", ...) field `{name}`"))
            .map_err(mlua::Error::external)?;
        fields.push((name, value));
    }
    if fields.is_empty() {
        return Err(mlua::Error::runtime(format!(
            "emit(\"{table}\", row): the row has no fields"
        )));
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    rows.push(Emitted { table, fields });
    Ok(())
}

pub fn register(lua: &Lua) -> mlua::Result<()> {
    lua.set_app_data(Sink::default());
    lua.globals().set("emit", lua.create_function(emit)?)
}

impl Sink {
    /// The sink of `lua` (made on first use).
    pub fn of(lua: &Lua) -> Sink {
        if let Some(sink) = lua.app_data_ref::<Sink>() {
            return sink.clone();
        }
        let sink = Sink::default();
        lua.set_app_data(sink.clone());
        sink
    }

    /// Runs `f` (a transform call) with `emit` open; returns what it gave and the rows
    /// emitted meanwhile.
    pub fn collecting<R>(&self, f: impl FnOnce() -> R) -> (R, Vec<Emitted>) {
        let before = std::mem::replace(&mut *self.0.borrow_mut(), State::Open(Vec::new()));
        let out = f();
        let rows = match std::mem::replace(&mut *self.0.borrow_mut(), before) {
            State::Open(rows) => rows,
            _ => Vec::new(),
        };
        (out, rows)
    }
}

/// Runs `f` (a transform on a sample row) with emitted rows thrown away.
pub fn discarding<R>(lua: &Lua, f: impl FnOnce() -> R) -> R {
    if lua.app_data_ref::<Sink>().is_none() {
        lua.set_app_data(Sink::default());
    }
    let before = swap(lua, State::Discard);
    let out = f();
    swap(lua, before);
    out
}

fn swap(lua: &Lua, state: State) -> State {
    match lua.app_data_ref::<Sink>() {
        Some(sink) => std::mem::replace(&mut *sink.0.borrow_mut(), state),
        None => State::Closed,
    }
}

/// The rows of a list a transform returned (`{ row1, row2 }`; `{}`: none, the row is
/// skipped), or `None` for one row.
pub fn list_of_rows(out: &Table) -> mlua::Result<Option<Vec<Table>>> {
    if out.metatable().is_some() {
        return Ok(None);
    }
    if out.raw_len() == 0 {
        let empty = out.pairs::<LuaValue, LuaValue>().next().is_none();
        return Ok(empty.then(Vec::new));
    }
    let mut rows = Vec::new();
    for v in out.sequence_values::<LuaValue>() {
        match v? {
            LuaValue::Table(t) => rows.push(t),
            other => {
                return Err(mlua::Error::runtime(format!(
                    "a transform returned a list with {}, not a row table",
                    show(&other)
                )))
            }
        }
    }
    Ok(Some(rows))
}

/// The copy option `emit = { table = "mode" | { mode = "mode" } }`.
pub fn read(o: &mut Options) -> Vec<EmitSpec> {
    let Some(t) = o.table("emit") else {
        return Vec::new();
    };
    let mut specs = Vec::new();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = match pair {
            Ok(p) => p,
            Err(e) => {
                o.problem(e.to_string());
                continue;
            }
        };
        let LuaValue::String(table) = k else {
            o.problem(format!(
                "copy: `emit` names target tables, not {}",
                show(&k)
            ));
            continue;
        };
        let table = table.to_string_lossy();
        let mode = match &v {
            LuaValue::String(m) => Some(m.to_string_lossy()),
            LuaValue::Table(t) => t.get::<Option<String>>("mode").ok().flatten(),
            _ => None,
        };
        match mode.as_deref().map(Mode::parse) {
            Some(Some(mode)) => specs.push(EmitSpec { table, mode }),
            _ => o.problem(format!(
                "copy: emit.{table} is a mode (\"insert\", \"overwrite\" or \"upsert\") or \
                 {{ mode = ... }}, not {}",
                show(&v)
            )),
        }
    }
    specs.sort_by(|a, b| a.table.cmp(&b.table));
    specs
}

/// `emitted = { table = { written, inserted, updated, unchanged, ignored } }`.
pub fn stats(
    lua: &Lua,
    emitted: &std::collections::BTreeMap<String, EmitCounts>,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (table, c) in emitted {
        let s = lua.create_table()?;
        s.set("written", c.written)?;
        s.set("inserted", c.inserted)?;
        s.set("updated", c.updated)?;
        s.set("unchanged", c.unchanged)?;
        s.set("ignored", c.ignored)?;
        t.set(table.as_str(), s)?;
    }
    Ok(t)
}
