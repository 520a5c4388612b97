//! Source rows as Lua row tables keyed by column name, every value made at once (the
//! plan pass's sample rows; a copy's rows go through `processor`'s lazy row state).

use mlua::{AnyUserData, Lua, LuaString, Table, Value as LuaValue};

use crate::db::value::Kind;
use crate::db::Value;
use crate::lua::values::{to_lua, Sentinels};

/// Turns source rows into Lua tables keyed by column name.
pub struct RowBuilder {
    lua: Lua,
    null: AnyUserData,
    names: Vec<LuaString>,
    kinds: Vec<Kind>,
}

impl RowBuilder {
    pub fn new(lua: &Lua, names: &[String], kinds: &[Kind]) -> mlua::Result<RowBuilder> {
        Ok(RowBuilder {
            lua: lua.clone(),
            null: Sentinels::get(lua).null,
            names: names
                .iter()
                .map(|n| lua.create_string(n))
                .collect::<mlua::Result<_>>()?,
            kinds: kinds.to_vec(),
        })
    }

    /// The row table, plus the Lua value made for each column.
    pub fn build(&self, row: &[Value]) -> mlua::Result<(Table, Vec<LuaValue>)> {
        let t = self.lua.create_table_with_capacity(0, row.len())?;
        let mut made = Vec::with_capacity(row.len());
        for ((name, v), kind) in self.names.iter().zip(row).zip(&self.kinds) {
            let lv = to_lua(&self.lua, &self.null, v, *kind)?;
            t.raw_set(name.clone(), lv.clone())?;
            made.push(lv);
        }
        Ok((t, made))
    }
}
