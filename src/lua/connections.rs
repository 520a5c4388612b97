//! `source(...)` and `target(...)`: open (or return) the job's sessions as database
//! handles, whose methods live in `handles`.

use std::rc::Rc;

use mlua::{AnyUserData, Lua, Table, Value as LuaValue};

use crate::conn_spec::ConnSpec;
use crate::db::Role;
use crate::error::Error;
use crate::job::Job;
use crate::lua::handles::DbHandle;

pub fn register(lua: &Lua, job: &Rc<Job>) -> mlua::Result<()> {
    for role in [Role::Source, Role::Target] {
        let j = job.clone();
        lua.globals().set(
            role.name(),
            lua.create_function(move |lua, arg: LuaValue| open(lua, &j, role, arg))?,
        )?;
    }
    Ok(())
}

/// Lua: `source(url | {host=, port=, user=, password=, database=, socket=,
/// password_env=, password_file=, ssl_mode=, ssl_ca=, ssl_cert=, ssl_key=})` -> handle;
/// `target(...)` likewise; with no argument, the current handle. `--source` and
/// `--target` win over the script's URLs.
fn open(lua: &Lua, job: &Rc<Job>, role: Role, arg: LuaValue) -> mlua::Result<AnyUserData> {
    let bad = |m: String| mlua::Error::external(Error::usage(format!("{}: {m}", role.name())));
    let asked = match &arg {
        LuaValue::Nil => None,
        LuaValue::String(s) => {
            Some(ConnSpec::parse(&s.to_string_lossy()).map_err(|e| bad(e.to_string()))?)
        }
        LuaValue::Table(t) => {
            Some(ConnSpec::from_fields(&table_fields(t, bad)?).map_err(|e| bad(e.to_string()))?)
        }
        other => {
            return Err(bad(format!(
                "expected a URL string or a table, not a {}",
                other.type_name()
            )))
        }
    };
    let db = job
        .session(role, job.override_for(role).or(asked))
        .map_err(mlua::Error::external)?;
    lua.create_userdata(DbHandle {
        db,
        pass: job.pass(),
    })
}

/// The fields of a connection's table form, as text; `bad` makes the error of a field
/// that is not text.
fn table_fields(
    t: &Table,
    bad: impl Fn(String) -> mlua::Error,
) -> mlua::Result<Vec<(String, String)>> {
    let mut fields = Vec::new();
    for pair in t.pairs::<String, LuaValue>() {
        let (k, v) = pair.map_err(|e| bad(e.to_string()))?;
        let v = match v {
            LuaValue::String(s) => s.to_string_lossy(),
            LuaValue::Integer(i) => i.to_string(),
            LuaValue::Boolean(b) => b.to_string(),
            other => {
                return Err(bad(format!(
                    "`{k}` must be a string, not a {}",
                    other.type_name()
                )))
            }
        };
        fields.push((k, v));
    }
    Ok(fields)
}
