//! The Rust functions behind the built-in Lua modules (`stdlib/ferry/*.lua`): one
//! internal table, `require "ferry.native"`, holding the parts where Rust pays
//! (Unicode case and normalisation, time zones, JSON, digests, ids). Its names are not
//! a user API: jobs use `ferry.text`, `ferry.date`, `ferry.json`, `ferry.hash` and
//! `ferry.id`, which pass `nil` and `null` through before calling in here.

mod date;
mod hash;
mod id;
mod json;
mod letters;
mod mask;
mod text;
mod zone;

use mlua::{Lua, Table};

/// The module name the built-in Lua modules require.
pub const MODULE: &str = "ferry.native";

/// Lua: `require "ferry.native"` -> the table of native functions (`text_*`, `date_*`,
/// `json_*`, `hash_*`, `id_*`).
pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    text::register(lua, &t)?;
    letters::register(lua, &t)?;
    date::register(lua, &t)?;
    zone::register(lua, &t)?;
    json::register(lua, &t)?;
    hash::register(lua, &t)?;
    id::register(lua, &t)?;
    mask::register(lua, &t)?;
    Ok(t)
}

/// What a native function that can refuse its input returns to Lua: the value, or
/// `nil` and a message (the Lua module raises it at the caller's line).
pub type Answer<T> = (Option<T>, Option<String>);

/// Why a native function refused its input (a date that does not parse, an unknown
/// zone or unit, a value with no JSON form): the message the Lua module raises at the
/// caller's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

impl From<String> for Refusal {
    fn from(s: String) -> Refusal {
        Refusal(s)
    }
}

impl From<&str> for Refusal {
    fn from(s: &str) -> Refusal {
        Refusal(s.to_string())
    }
}

/// What a native function that can refuse its input computes.
pub type Res<T> = Result<T, Refusal>;

/// A result as an [`Answer`].
pub fn pair<T>(r: Res<T>) -> Answer<T> {
    match r {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e.0)),
    }
}
