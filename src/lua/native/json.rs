//! The Rust half of `ferry.json`: JSON text to Lua values and back with serde_json.
//! JSON null is its own sentinel (`json_null`), distinct from ferry's SQL `null`;
//! decoded arrays carry a metatable (`json_array_mt`) so `[]` stays an array when it
//! is encoded again. `ferry.json` (stdlib/ferry/json.lua) is the user-facing API.

use mlua::{
    AnyUserData, Lua, LuaString, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue,
};
use serde_json::{Map, Number, Value as Json};

use super::{pair, Answer, Refusal};
use crate::lua::values::is_null;

/// The JSON null sentinel: one per Lua state, so `v == json.null` works.
pub struct JsonNull;

impl UserData for JsonNull {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, _, ()| Ok("json.null"));
    }
}

const NULL_KEY: &str = "ferry.json.null";
const ARRAY_KEY: &str = "ferry.json.array_mt";

/// Registers `json_decode`, `json_encode`, `json_null` and `json_array_mt`.
pub fn register(lua: &Lua, t: &Table) -> mlua::Result<()> {
    let null = lua.create_userdata(JsonNull)?;
    let array_mt = lua.create_table()?;
    array_mt.set("__name", "json.array")?;
    lua.set_named_registry_value(NULL_KEY, &null)?;
    lua.set_named_registry_value(ARRAY_KEY, &array_mt)?;
    t.set("json_null", null)?;
    t.set("json_array_mt", array_mt)?;
    t.set("json_decode", lua.create_function(decode)?)?;
    t.set("json_encode", lua.create_function(encode)?)?;
    Ok(())
}

/// Lua: `native.json_decode(text)` -> a Lua value (objects and arrays as tables), or nil
/// and why the text is not JSON.
fn decode(lua: &Lua, text: LuaString) -> mlua::Result<Answer<LuaValue>> {
    match serde_json::from_slice::<Json>(&text.as_bytes()) {
        Ok(json) => {
            let null: AnyUserData = lua.named_registry_value(NULL_KEY)?;
            let array_mt: Table = lua.named_registry_value(ARRAY_KEY)?;
            Ok((Some(to_lua(lua, &json, &null, &array_mt)?), None))
        }
        Err(e) => Ok((None, Some(format!("not JSON: {e}")))),
    }
}

/// Lua: `native.json_encode(value, pretty)` -> JSON text (object keys sorted), or nil and
/// what has no JSON form.
fn encode(lua: &Lua, (v, pretty): (LuaValue, bool)) -> mlua::Result<Answer<String>> {
    let array_mt: Table = lua.named_registry_value(ARRAY_KEY)?;
    Ok(pair(from_lua(&v, &array_mt, 0).and_then(|json| {
        let text = if pretty {
            serde_json::to_string_pretty(&json)
        } else {
            serde_json::to_string(&json)
        };
        text.map_err(|e| Refusal(e.to_string()))
    })))
}

fn to_lua(lua: &Lua, v: &Json, null: &AnyUserData, array_mt: &Table) -> mlua::Result<LuaValue> {
    Ok(match v {
        Json::Null => LuaValue::UserData(null.clone()),
        Json::Bool(b) => LuaValue::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => LuaValue::Integer(i),
            None => LuaValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => LuaValue::String(lua.create_string(s)?),
        Json::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for item in items {
                t.raw_push(to_lua(lua, item, null, array_mt)?)?;
            }
            t.set_metatable(Some(array_mt.clone()))?;
            LuaValue::Table(t)
        }
        Json::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, item) in map {
                t.raw_set(k.as_str(), to_lua(lua, item, null, array_mt)?)?;
            }
            LuaValue::Table(t)
        }
    })
}

/// A Lua value as JSON: `null` (SQL) and `json.null` are JSON null; a table is an array
/// when it carries the array metatable or has exactly the keys 1..n (n >= 1), an
/// object otherwise (its keys must be strings or integers).
fn from_lua(v: &LuaValue, array_mt: &Table, depth: usize) -> super::Res<Json> {
    if depth > 128 {
        return Err("nested too deeply (a table that contains itself?)".into());
    }
    Ok(match v {
        LuaValue::Nil => Json::Null,
        LuaValue::UserData(ud) if is_null(v) || ud.is::<JsonNull>() => Json::Null,
        LuaValue::Boolean(b) => Json::Bool(*b),
        LuaValue::Integer(i) => Json::Number((*i).into()),
        LuaValue::Number(f) => {
            Json::Number(Number::from_f64(*f).ok_or_else(|| format!("{f} has no JSON form"))?)
        }
        LuaValue::String(s) => Json::String(
            s.to_str()
                .map_err(|_| "a string that is not UTF-8 has no JSON form".to_string())?
                .to_string(),
        ),
        LuaValue::Table(t) => table(t, array_mt, depth)?,
        other => return Err(format!("a {} has no JSON form", other.type_name()).into()),
    })
}

fn table(t: &Table, array_mt: &Table, depth: usize) -> super::Res<Json> {
    let marked = t.metatable().is_some_and(|m| m == *array_mt);
    let n = t.raw_len();
    let count = t.pairs::<LuaValue, LuaValue>().count();
    if marked || (n > 0 && count == n) {
        let items = (1..=n)
            .map(|i| {
                from_lua(
                    &t.raw_get(i).map_err(|e| e.to_string())?,
                    array_mt,
                    depth + 1,
                )
            })
            .collect::<Result<_, _>>()?;
        return Ok(Json::Array(items));
    }
    let mut map = Map::new();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let key = match &k {
            LuaValue::String(s) => s.to_string_lossy(),
            LuaValue::Integer(i) => i.to_string(),
            other => return Err(format!("a {} key has no JSON form", other.type_name()).into()),
        };
        map.insert(key, from_lua(&v, array_mt, depth + 1)?);
    }
    Ok(Json::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (Lua, Table) {
        let lua = Lua::new();
        lua.set_app_data(crate::lua::values::Sentinels::new(&lua).unwrap());
        let t = lua.create_table().unwrap();
        register(&lua, &t).unwrap();
        lua.globals().set("n", t.clone()).unwrap();
        lua.globals()
            .set("null", crate::lua::values::Sentinels::get(&lua).null)
            .unwrap();
        (lua, t)
    }

    #[test]
    fn round_trips_keep_arrays_nulls_and_numbers() {
        let (lua, _) = state();
        let out: String = lua
            .load(r#"return n.json_encode(n.json_decode('{"a":[],"b":[1,2.5,null],"c":{},"d":"é","e":9007199254740993}'), false)"#)
            .eval()
            .unwrap();
        assert_eq!(
            out,
            r#"{"a":[],"b":[1,2.5,null],"c":{},"d":"é","e":9007199254740993}"#
        );
    }

    #[test]
    fn json_null_and_sql_null_are_distinct_values_with_one_json_form() {
        let (lua, _) = state();
        let ok: bool = lua
            .load(
                r#"local v = n.json_decode('{"x":null}')
                return v.x == n.json_null and v.x ~= null
                   and n.json_encode({x = null, y = n.json_null}, false) == '{"x":null,"y":null}'"#,
            )
            .eval()
            .unwrap();
        assert!(ok);
    }

    #[test]
    fn what_has_no_json_form_is_refused() {
        let (lua, _) = state();
        for code in [
            "return n.json_encode(0/0, false)",
            "return n.json_encode('\\255', false)",
            "return n.json_encode(print, false)",
            "local t = {} t.t = t return n.json_encode(t, false)",
            "return n.json_decode('{')",
        ] {
            let (v, e): (LuaValue, Option<String>) = lua.load(code).eval().unwrap();
            assert!(v.is_nil() && e.is_some(), "{code}");
        }
    }
}
