//! The Rust half of `ferry.id`: random UUIDs (v4), time-ordered UUIDs (v7, monotonic
//! within a run) and ULIDs (monotonic within a run), as text or 16 bytes, and UUIDs
//! converted between their two forms. `ferry.id` (stdlib/ferry/id.lua) is the
//! user-facing API.

use std::sync::Mutex;

use mlua::{Lua, LuaString, Table};
use uuid::Uuid;

use super::{pair, Answer, Refusal};

/// ULIDs from one generator are strictly increasing, even within a millisecond.
static ULIDS: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

/// Registers the `id_*` functions on the native table.
pub fn register(lua: &Lua, t: &Table) -> mlua::Result<()> {
    /// Lua: `native.id_uuid4()` -> 16 random bytes laid out as a version 4 UUID.
    fn uuid4(_: &Lua, (): ()) -> mlua::Result<mlua::BString> {
        Ok(Uuid::new_v4().as_bytes().to_vec().into())
    }
    /// Lua: `native.id_uuid7()` -> 16 bytes of a version 7 UUID (ms time, then random).
    fn uuid7(_: &Lua, (): ()) -> mlua::Result<mlua::BString> {
        Ok(Uuid::now_v7().as_bytes().to_vec().into())
    }
    /// Lua: `native.id_uuid_text(bytes)` -> the hyphenated lower-case text of 16 bytes.
    fn uuid_text(_: &Lua, b: LuaString) -> mlua::Result<Answer<String>> {
        let u = Uuid::from_slice(&b.as_bytes());
        Ok(pair(u.map(|u| u.hyphenated().to_string()).map_err(|_| {
            Refusal(format!(
                "a binary UUID is 16 bytes, not {}",
                b.as_bytes().len()
            ))
        })))
    }
    /// Lua: `native.id_uuid_bytes(text)` -> the 16 bytes of a UUID's text (any case,
    /// hyphens, braces or `urn:uuid:` accepted).
    fn uuid_bytes(_: &Lua, s: String) -> mlua::Result<Answer<mlua::BString>> {
        let u = Uuid::parse_str(s.trim());
        Ok(pair(
            u.map(|u| u.as_bytes().to_vec().into())
                .map_err(|e| Refusal(format!("not a UUID: {s:?} ({e})"))),
        ))
    }
    /// Lua: `native.id_ulid(binary)` -> a ULID: 26 Crockford base-32 characters or 16 bytes.
    fn ulid_fn(_: &Lua, binary: bool) -> mlua::Result<mlua::BString> {
        let u = ULIDS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .generate()
            .map_err(|e| mlua::Error::runtime(format!("ulid: {e}")))?;
        Ok(mlua::BString::from(if binary {
            u.to_bytes().to_vec()
        } else {
            u.to_string().into_bytes()
        }))
    }
    t.set("id_uuid4", lua.create_function(uuid4)?)?;
    t.set("id_uuid7", lua.create_function(uuid7)?)?;
    t.set("id_uuid_text", lua.create_function(uuid_text)?)?;
    t.set("id_uuid_bytes", lua.create_function(uuid_bytes)?)?;
    t.set("id_ulid", lua.create_function(ulid_fn)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<R: mlua::FromLuaMulti>(code: &str) -> R {
        let lua = Lua::new();
        let t = lua.create_table().unwrap();
        register(&lua, &t).unwrap();
        lua.globals().set("n", t).unwrap();
        lua.load(code).eval().unwrap()
    }

    #[test]
    fn uuids_have_their_version_and_round_trip() {
        let (v4, v7, text): (u8, u8, String) = call(
            "local a, b = n.id_uuid4(), n.id_uuid7()
             assert(n.id_uuid_bytes(n.id_uuid_text(b)) == b)
             return a:byte(7) >> 4, b:byte(7) >> 4, n.id_uuid_text(b)",
        );
        assert_eq!((v4, v7), (4, 7));
        assert_eq!(text.len(), 36);
        let ok: bool = call(
            "return n.id_uuid_bytes('{6BA7B810-9DAD-11D1-80B4-00C04FD430C8}')
                == n.id_uuid_bytes('urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8')
                and n.id_uuid_bytes('nope') == nil and n.id_uuid_text('short') == nil",
        );
        assert!(ok);
    }

    #[test]
    fn v7_uuids_and_ulids_increase() {
        let ok: bool = call(
            "local u, l = n.id_uuid7(), n.id_ulid(false)
             for _ = 1, 1000 do
               local u2, l2 = n.id_uuid7(), n.id_ulid(false)
               if not (u2 > u and l2 > l) then return false end
               u, l = u2, l2
             end
             return #l == 26 and #n.id_ulid(true) == 16",
        );
        assert!(ok);
    }
}
