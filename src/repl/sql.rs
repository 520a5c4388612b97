//! SQL typed at the prompt: a line that starts with a statement's first word (and is
//! not Lua) runs on the source with a note on how to pick a side; `src> ` / `dst> `
//! before a statement picks one; `.sql src|dst` makes every line SQL until `.sql off`.
//! Statements run through the side's handle (`src:query`, `src:exec`), so they print,
//! cancel and fail as the same calls typed in Lua do.

use mlua::{Lua, MultiValue, ObjectLike, Value as LuaValue};

use crate::db::Role;
use crate::repl::sides::global_name;

/// First words of statements that return rows (run with `query`).
const ROWS: &[&str] = &[
    "select", "show", "desc", "describe", "explain", "with", "values", "table", "check", "analyze",
    "checksum", "help",
];
/// First words of the other statements (run with `exec`).
const OTHERS: &[&str] = &[
    "insert", "update", "delete", "replace", "create", "alter", "drop", "truncate", "set", "use",
    "rename", "grant", "revoke", "optimize", "flush", "kill", "call", "do", "load",
];

fn first_word(line: &str) -> String {
    line.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Whether `line` reads as SQL rather than Lua: its first word starts a statement and
/// it does not compile as Lua (`select(2, ...)` is Lua).
pub fn looks_like_sql(checker: &Lua, line: &str) -> bool {
    let word = first_word(line);
    if !(ROWS.contains(&word.as_str()) || OTHERS.contains(&word.as_str())) {
        return false;
    }
    let lua_ok = checker
        .load(format!("return {line}"))
        .into_function()
        .is_ok()
        || checker.load(line).into_function().is_ok();
    !lua_ok
}

/// `src> SELECT ...` / `dst> SELECT ...`: the side and the statement.
pub fn prefixed(line: &str) -> Option<(Role, &str)> {
    let t = line.trim_start();
    for (p, role) in [("src>", Role::Source), ("dst>", Role::Target)] {
        if let Some(rest) = t.strip_prefix(p) {
            return Some((role, rest.trim()));
        }
    }
    None
}

/// Whether a statement is one that returns rows.
pub fn returns_rows(sql: &str) -> bool {
    ROWS.contains(&first_word(sql).as_str())
}

/// Runs `sql` on `role`'s side through its handle: the rows, or the affected count.
pub fn run(state: &Lua, role: Role, sql: &str) -> mlua::Result<MultiValue> {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    let side: LuaValue = state.globals().get(global_name(role))?;
    let LuaValue::UserData(handle) = side else {
        return Err(mlua::Error::runtime(format!(
            "{} is not a database handle here",
            global_name(role)
        )));
    };
    let method = if returns_rows(sql) { "query" } else { "exec" };
    handle.call_method::<MultiValue>(method, sql)
}

/// The note after SQL typed without a side.
pub fn note() -> &'static str {
    "(ran on src; `dst> ...` runs on the target, `.sql src|dst` makes every line SQL)"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_is_told_from_lua() {
        let lua = Lua::new();
        assert!(looks_like_sql(&lua, "SELECT * FROM users"));
        assert!(looks_like_sql(&lua, "show tables"));
        assert!(looks_like_sql(&lua, "desc users"));
        assert!(!looks_like_sql(&lua, "select(2, 'a', 'b')"));
        assert!(!looks_like_sql(&lua, "src:tables()"));
        assert_eq!(
            prefixed("dst> SELECT 1;"),
            Some((Role::Target, "SELECT 1;"))
        );
        assert!(returns_rows("  Show tables") && !returns_rows("INSERT INTO t VALUES (1)"));
    }
}
