//! `lookup{db=, table=, key=, value=, cache=, required=}`: reads its options, makes the
//! job's `Lookup` on the handle's session, and returns a Lua function from a key to its
//! value (one value column) or to a row table (several). A `null` key gives `null`; a
//! missing key gives `null`, or an error naming the key with `required = true` (the
//! copy's transform error then names the row). A page's keys are asked together, one
//! query per page: with `from = "column"`, that column's values ahead; without, the
//! keys the page's transforms wait for (`crate::lua::lookup_batch`).

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{AnyUserData, Function, Lua, Table, Value as LuaValue};

use crate::db::{Db, Role};
use crate::job::lookup::{Cache, Lookup, LookupSpec};
use crate::job::Job;
use crate::lua::handles::DbHandle;
use crate::lua::options::{show, Options};
use crate::lua::values::{from_lua, is_null, to_lua, Sentinels};

const LOOKUP_OPTIONS: &[&str] = &["db", "table", "key", "value", "cache", "required", "from"];

pub fn register(lua: &Lua, job: &Rc<Job>) -> mlua::Result<()> {
    let j = job.clone();
    lua.globals().set(
        "lookup",
        lua.create_function(move |lua, t: Table| lookup(lua, &j, t))?,
    )
}

/// Lua: `lookup{db = target(), table = "countries", key = "code", value = "id" | {"id",
/// "name"}, cache = "keys" | "all", required = false, from = "country"}` ->
/// `function(key)` giving the value, a row table of the value columns, or `null`;
/// with `from`, each page of a copy whose source has that column asks its keys ahead
/// in one query (`lookup_batch`)
fn lookup(lua: &Lua, job: &Rc<Job>, t: Table) -> mlua::Result<Function> {
    let mut o = Options::new("lookup", t, LOOKUP_OPTIONS, false);
    let db = match o.value("db") {
        None => None,
        Some(LuaValue::UserData(ud)) if ud.is::<DbHandle>() => Some(ud),
        Some(other) => {
            o.problem(format!(
                "lookup: `db` must be a connection (source() or target()), not {}",
                show(&other)
            ));
            None
        }
    };
    let table = o.string("table");
    let key = o.string("key");
    for (name, v) in [("table", &table), ("key", &key)] {
        if v.is_none() {
            o.problem(format!("lookup: `{name}` is missing"));
        }
    }
    let (values, single) = value_names(&mut o);
    let cache = match o.string("cache") {
        None => Cache::Keys,
        Some(c) => Cache::parse(&c).unwrap_or_else(|| {
            o.problem(format!(
                "lookup: unknown cache `{c}` (use \"{}\")",
                Cache::NAMES.join("\" or \"")
            ));
            Cache::Keys
        }),
    };
    let required = o.boolean("required").unwrap_or(false);
    let from = o.string("from");
    o.finish()
        .map_err(|problems| mlua::Error::runtime(problems.join("; ")))?;
    let db = session(job, db)?;
    let spec = LookupSpec {
        table: table.unwrap_or_default(),
        key: key.unwrap_or_default(),
        values,
        cache,
    };
    let opened = {
        let mut d = busy(&db)?;
        Lookup::open(&mut d, spec).map_err(|e| match e {
            // A data problem (a key in two rows): exit 1, with the lookup's line.
            crate::error::Error::Check { message } => {
                mlua::Error::external(crate::error::Error::Check {
                    message: format!("{}: {message}", crate::lua::copy::location(lua)),
                })
            }
            e => mlua::Error::external(e),
        })?
    };
    let lookup = opened.map_err(|problems| mlua::Error::runtime(problems.join("; ")))?;
    if cache == Cache::Keys && !lookup.indexed && job.pass() == crate::job::Pass::Plan {
        log::warn!(
            "{}: lookup {}: no index starts with the key column, so each key asked is a \
             scan of the table: index it, or use cache = \"all\"",
            crate::lua::copy::location(lua),
            lookup.name()
        );
    }
    let lookup = Rc::new(RefCell::new(lookup));
    // Made once here, not per call: a clone of a Lua value is a new reference.
    let marks = Marks {
        null: Sentinels::get(lua).null,
        pending: crate::lua::lookup_batch::Yielding::get(lua)?.pending,
    };
    if cache == Cache::All {
        return lua.create_function(move |lua, key: LuaValue| {
            find(lua, &marks, &db, &lookup, single, required, key, None)
        });
    }
    let id = crate::lua::lookup_batch::remember(lua, from, &lookup, &db);
    let f = lua.create_function(move |lua, (key, direct): (LuaValue, bool)| {
        let waits = (!direct).then_some(id);
        find(lua, &marks, &db, &lookup, single, required, key, waits)
    })?;
    crate::lua::lookup_batch::wrap(lua, f)
}

/// `value`: one column name (the function gives the value) or a list (a row table).
fn value_names(o: &mut Options) -> (Vec<String>, bool) {
    match o.value("value") {
        Some(LuaValue::String(s)) => (vec![s.to_string_lossy()], true),
        Some(LuaValue::Table(list)) => {
            let names: Vec<String> = list
                .sequence_values::<LuaValue>()
                .filter_map(|v| match v {
                    Ok(LuaValue::String(s)) => Some(s.to_string_lossy()),
                    _ => None,
                })
                .collect();
            if names.is_empty() || names.len() != list.raw_len() {
                o.problem("lookup: `value` must list column names".into());
            }
            (names, false)
        }
        None => {
            o.problem("lookup: `value` (the column or columns to give) is missing".into());
            (Vec::new(), true)
        }
        Some(other) => {
            o.problem(format!(
                "lookup: `value` must be a column name or a list of them, not {}",
                show(&other)
            ));
            (Vec::new(), true)
        }
    }
}

/// The session of the `db` handle, or the target's.
fn session(job: &Job, db: Option<AnyUserData>) -> mlua::Result<Rc<RefCell<Db>>> {
    match db {
        Some(ud) => Ok(ud.borrow::<DbHandle>()?.db.clone()),
        None => job
            .session(Role::Target, None)
            .map_err(mlua::Error::external),
    }
}

fn busy(db: &Rc<RefCell<Db>>) -> mlua::Result<std::cell::RefMut<'_, Db>> {
    db.try_borrow_mut().map_err(|_| {
        mlua::Error::runtime("lookup: its connection is busy running a copy or another query")
    })
}

/// The values a lookup function gives back as they are: `null`, and the `pending` of
/// `lookup_batch::Yielding`.
struct Marks {
    null: AnyUserData,
    pending: Table,
}

/// One call of a lookup function; `waits = Some(id)` (the lookup's id in
/// `lookup_batch`): a key whose answer is not known is kept to be asked with the page's
/// others, and the call gives the `pending` value (`lookup_batch::Yielding`).
#[allow(clippy::too_many_arguments)]
fn find(
    lua: &Lua,
    marks: &Marks,
    db: &Rc<RefCell<Db>>,
    lookup: &RefCell<Lookup>,
    single: bool,
    required: bool,
    key: LuaValue,
    waits: Option<u64>,
) -> mlua::Result<LuaValue> {
    let null = &marks.null;
    if is_null(&key) || key.is_nil() {
        return Ok(LuaValue::UserData(null.clone()));
    }
    let key = from_lua(&key, "a lookup key").map_err(mlua::Error::external)?;
    let mut l = lookup.borrow_mut();
    let id = l.key_id(&key);
    let at = match l.locate_next(&id) {
        Some(at) => at,
        None => {
            if let Some(lookup_id) = waits.filter(|_| l.can_wait(&id)) {
                crate::lua::lookup_batch::note_wait(lua, lookup_id, key.clone());
                l.wait_for(id, key);
                return Ok(LuaValue::Table(marks.pending.clone()));
            }
            let mut d = busy(db)?;
            l.fetch(&mut d, &key, id).map_err(mlua::Error::external)?
        }
    };
    let Some(row) = l.answer(at) else {
        if required {
            return Err(mlua::Error::runtime(format!(
                "lookup {}: no row with {} (required = true)",
                l.name(),
                l.show_key(&key)
            )));
        }
        return Ok(LuaValue::UserData(null.clone()));
    };
    if single {
        return to_lua(lua, null, &row[0], l.kinds[0]);
    }
    let t = lua.create_table_with_capacity(0, row.len())?;
    for ((n, v), k) in l.value_names().iter().zip(row).zip(&l.kinds) {
        t.raw_set(n.as_str(), to_lua(lua, null, v, *k)?)?;
    }
    Ok(LuaValue::Table(t))
}
