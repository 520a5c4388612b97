//! The plain globals of the job API: `null`, `sql`, `env`, `vars`, `log` and
//! `planning`.

use std::rc::Rc;

use mlua::{Function, Lua, Table, Value as LuaValue, Variadic};

use crate::job::{Job, Pass};
use crate::lua::values::{Sentinels, Sql};

pub fn register(lua: &Lua, job: &Rc<Job>) -> mlua::Result<()> {
    let g = lua.globals();
    g.set("null", Sentinels::get(lua).null)?;
    g.set("planning", job.pass() != Pass::Real)?;
    g.set("sql", lua.create_function(sql)?)?;
    g.set("env", lua.create_function(env)?)?;
    let vars = lua.create_table()?;
    for (k, v) in &job.host.vars {
        vars.set(k.as_str(), v.as_str())?;
    }
    g.set("vars", vars)?;
    let log_table = lua.create_table()?;
    let real = job.pass() == Pass::Real;
    for level in [log::Level::Info, log::Level::Warn, log::Level::Error] {
        log_table.set(
            level.as_str().to_ascii_lowercase(),
            lua.create_function(move |lua, args| log(lua, real, level, args))?,
        )?;
    }
    g.set("log", log_table)
}

/// Lua: `sql(expr)` -> a raw SQL expression for `default{...}`
fn sql(_: &Lua, expr: String) -> mlua::Result<Sql> {
    Ok(Sql(expr))
}

/// Lua: `env(name [, fallback])` -> the environment variable; an error if it is unset
/// and there is no fallback
fn env(lua: &Lua, (name, fallback): (String, Option<LuaValue>)) -> mlua::Result<LuaValue> {
    match std::env::var(&name) {
        Ok(v) => Ok(LuaValue::String(lua.create_string(v)?)),
        Err(_) => match fallback {
            Some(f) => Ok(f),
            None => Err(mlua::Error::runtime(format!(
                "environment variable {name} is not set (give env a fallback: env(\"{name}\", \"...\"))"
            ))),
        },
    }
}

/// Lua: `log.info(fmt, ...)`, `log.warn(fmt, ...)`, `log.error(fmt, ...)`: formatted as
/// `string.format` does (one argument: as `tostring`); written in the real pass only
fn log(lua: &Lua, real: bool, level: log::Level, args: Variadic<LuaValue>) -> mlua::Result<()> {
    let msg: String = if args.len() == 1 {
        match &args[0] {
            LuaValue::String(s) => s.to_string_lossy(),
            other => lua
                .globals()
                .get::<Function>("tostring")?
                .call::<String>(other.clone())?,
        }
    } else {
        let format: Function = lua.globals().get::<Table>("string")?.get("format")?;
        format.call::<String>(args)?
    };
    if real {
        log::log!(target: "ferry::job", level, "{msg}");
    }
    Ok(())
}
