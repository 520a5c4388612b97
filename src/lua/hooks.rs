//! `before`, `after` and `check` of `copy{...}` and `job{...}`, read into the job's
//! `Hooks`: a hook is SQL (a string), a Lua function, or a list of them; a check is a
//! query (a string), `{ sql = ..., expect = "true" | "no rows" }`, or a list of them.
//! A Lua hook becomes a `HookCode` the job calls (`after` hands it the copy's stats).

use std::rc::Rc;

use mlua::{Function, Lua, Table, Value as LuaValue, WeakLua};

use crate::db::hooks::Expect;
use crate::engine::CopyStats;
use crate::error::Result;
use crate::job::{Check, Hook, HookCode, Hooks};
use crate::lua::options::{show, Options};

/// Reads `before`, `after` and `check` of `what` (`copy`, `job`) from `o`.
pub fn read(lua: &Lua, what: &str, o: &mut Options) -> Hooks {
    let mut hooks = Hooks::default();
    for (key, list) in [("before", &mut hooks.before), ("after", &mut hooks.after)] {
        if let Some(v) = o.value(key) {
            *list = hook_list(lua, what, key, &v, o);
        }
    }
    if let Some(v) = o.value("check") {
        hooks.checks = check_list(what, &v, o);
    }
    hooks
}

fn hook_list(lua: &Lua, what: &str, key: &str, v: &LuaValue, o: &mut Options) -> Vec<Hook> {
    match v {
        LuaValue::Table(t) => {
            let mut list = Vec::new();
            for item in t.sequence_values::<LuaValue>() {
                match item {
                    Ok(item) => list.extend(one_hook(lua, what, key, &item, o)),
                    Err(e) => o.problem(e.to_string()),
                }
            }
            if list.is_empty() && t.pairs::<LuaValue, LuaValue>().next().is_some() {
                o.problem(format!(
                    "{what}: `{key}` must be SQL (a string), a function or a list of them"
                ));
            }
            list
        }
        other => one_hook(lua, what, key, other, o).into_iter().collect(),
    }
}

fn one_hook(lua: &Lua, what: &str, key: &str, v: &LuaValue, o: &mut Options) -> Option<Hook> {
    match v {
        LuaValue::String(s) if !s.to_string_lossy().trim().is_empty() => {
            Some(Hook::Sql(s.to_string_lossy()))
        }
        LuaValue::Function(f) => Some(Hook::Code(Rc::new(LuaHook {
            lua: lua.weak(),
            label: crate::lua::copy::function_label(f),
            f: f.clone(),
        }))),
        other => {
            o.problem(format!(
                "{what}: `{key}` must be SQL (a string), a function or a list of them, not {}",
                if matches!(other, LuaValue::String(_)) {
                    "an empty string".to_string()
                } else {
                    show(other)
                }
            ));
            None
        }
    }
}

fn check_list(what: &str, v: &LuaValue, o: &mut Options) -> Vec<Check> {
    match v {
        LuaValue::Table(t) if t.raw_len() > 0 => {
            let mut list = Vec::new();
            for item in t.sequence_values::<LuaValue>() {
                match item {
                    Ok(item) => list.extend(one_check(what, &item, o)),
                    Err(e) => o.problem(e.to_string()),
                }
            }
            list
        }
        other => one_check(what, other, o).into_iter().collect(),
    }
}

fn one_check(what: &str, v: &LuaValue, o: &mut Options) -> Option<Check> {
    match v {
        LuaValue::String(s) if !s.to_string_lossy().trim().is_empty() => Some(Check {
            sql: s.to_string_lossy(),
            expect: Expect::True,
        }),
        LuaValue::Table(t) => check_table(t, o),
        other => {
            o.problem(format!(
                "{what}: `check` must be a query (a string), {{ sql = ..., expect = ... }} \
                 or a list of them, not {}",
                if matches!(other, LuaValue::String(_)) {
                    "an empty string".to_string()
                } else {
                    show(other)
                }
            ));
            None
        }
    }
}

/// `{ sql = "SELECT ...", expect = "true" | "no rows" }`.
fn check_table(t: &Table, o: &mut Options) -> Option<Check> {
    let mut c = Options::new("check", t.clone(), &["sql", "expect"], false);
    let sql = c.string("sql");
    if t.raw_get::<LuaValue>("sql").map_or(true, |v| v.is_nil()) {
        c.problem("check: `sql` (the query) is missing".into());
    }
    let expect = match c.string("expect") {
        None => Some(Expect::True),
        Some(name) => {
            let e = Expect::parse(&name);
            if e.is_none() {
                c.problem(format!(
                    "check: unknown expect `{name}` (use \"true\" or \"no rows\")"
                ));
            }
            e
        }
    };
    if let Err(problems) = c.finish() {
        for p in problems {
            o.problem(p);
        }
        return None;
    }
    Some(Check {
        sql: sql?,
        expect: expect?,
    })
}

/// A hook written as a Lua function.
struct LuaHook {
    lua: WeakLua,
    f: Function,
    label: String,
}

impl HookCode for LuaHook {
    fn call(&self, stats: Option<&CopyStats>) -> Result<()> {
        let lua_err = |e: mlua::Error| crate::lua::to_error(&e);
        let arg = match (stats, self.lua.try_upgrade()) {
            (Some(s), Some(lua)) => {
                LuaValue::Table(crate::lua::copy::stats_table(&lua, s).map_err(lua_err)?)
            }
            _ => LuaValue::Nil,
        };
        self.f.call::<()>(arg).map_err(lua_err)
    }

    fn label(&self) -> String {
        self.label.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_hooks(code: &str) -> (Hooks, Vec<String>) {
        let lua = Lua::new();
        let t: Table = lua.load(code).eval().unwrap();
        let mut o = Options::new("copy", t, &["before", "after", "check"], false);
        let hooks = read(&lua, "copy", &mut o);
        (hooks, o.finish().err().unwrap_or_default())
    }

    #[test]
    fn hooks_and_checks_are_read_in_every_form() {
        let (h, p) = read_hooks(
            "return { before = 'TRUNCATE t', after = { 'A', function() end }, \
               check = { 'SELECT 1', { sql = 'SELECT id FROM t', expect = 'no rows' } } }",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            h.lines()
                .iter()
                .map(|l| l.split(" at ").next().unwrap().to_string())
                .collect::<Vec<_>>(),
            vec![
                "before: TRUNCATE t",
                "after: A",
                "after: function",
                "check: SELECT 1 (expect true)",
                "check: SELECT id FROM t (expect no rows)",
            ]
        );
        let (h, p) = read_hooks("return { check = { sql = 'SELECT 2' } }");
        assert!(p.is_empty() && h.checks.len() == 1 && h.checks[0].expect == Expect::True);
    }

    #[test]
    fn every_bad_hook_is_named() {
        let (_, p) = read_hooks(
            "return { before = { 'A', 7 }, after = {}, check = { { sql = 1, expect = 'some' } } }",
        );
        assert_eq!(
            p,
            vec![
                "copy: `before` must be SQL (a string), a function or a list of them, not 7",
                "check: `sql` must be a string, not a integer",
                "check: unknown expect `some` (use \"true\" or \"no rows\")",
            ]
        );
    }
}
