//! Tab completion: what the text before the cursor asks for, answered from the Lua
//! state (globals, module fields, `ferry.*` modules) and the schema cache (tables of
//! the right side inside a string argument, columns inside `map{`, `default{` and after
//! `row.` in a copy's transform), never from the network.

use mlua::{Lua, Value as LuaValue};

use super::schema_cache::{SchemaCache, Tables};
use crate::db::Role;

/// The methods of `src` and `dst`.
const DB_METHODS: &[&str] = &["columns", "count", "exec", "peek", "query", "tables"];

/// The methods of a background copy's handle.
const BACKGROUND_METHODS: &[&str] = &["pause", "resume", "status", "stop", "throttle", "wait"];

/// The dot commands.
pub const DOT_COMMANDS: &[&str] = &[
    ".connect", ".desc", ".diff", ".exit", ".help", ".jobs", ".pager", ".quit", ".rehash", ".save",
    ".sql", ".tables", ".x",
];

const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in", "local",
    "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Where the candidates come from, besides the schema cache.
pub struct Sources<'a> {
    pub lua: Option<&'a Lua>,
    pub cache: &'a SchemaCache,
    pub help_names: &'a [String],
}

/// The completions of `line` at byte `pos`: where the replaced word starts and the
/// candidates, sorted.
pub fn complete(line: &str, pos: usize, src: &Sources) -> (usize, Vec<String>) {
    let before = &line[..pos];
    if let Some(q) = open_string(before) {
        let prefix = &before[q..];
        let lead = before[..q - 1].trim_end();
        return (q, in_string(before, lead, prefix, src));
    }
    let start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == ':'))
        .map(|i| i + c_len(before, i))
        .unwrap_or(0);
    let word = &before[start..];
    if before.trim_start().starts_with('.') {
        return dot_command(before, start, word, src);
    }
    if let Some((object, prefix)) = word.rsplit_once(':') {
        let names = match object {
            "src" | "dst" => DB_METHODS.iter().map(|s| s.to_string()).collect(),
            _ => src.lua.map(|l| methods_of(l, object)).unwrap_or_default(),
        };
        let at = start + object.len() + 1;
        return (at, with_prefix(names, prefix));
    }
    if let Some((object, prefix)) = word.rsplit_once('.') {
        let at = start + object.len() + 1;
        if Some(object) == row_param(before).as_deref() {
            if let Some(cols) = copy_columns(before, src.cache, Side::From) {
                return (at, with_prefix(cols, prefix));
            }
        }
        let mut names = src.lua.map(|l| lua_fields(l, object)).unwrap_or_default();
        if names.is_empty() {
            names = stdlib_functions(object);
        }
        return (at, with_prefix(names, prefix));
    }
    if let Some(kind) = open_constructor(before) {
        if key_position(&before[..start]) {
            let side = if kind == "map" || kind == "default" {
                Side::To
            } else {
                Side::From
            };
            if let Some(cols) = copy_columns(before, src.cache, side) {
                return (start, with_prefix(cols, word));
            }
        }
    }
    let mut names: Vec<String> = KEYWORDS.iter().map(|s| s.to_string()).collect();
    if let Some(lua) = src.lua {
        names.extend(lua_fields(lua, ""));
    }
    (start, with_prefix(names, word))
}

fn c_len(s: &str, i: usize) -> usize {
    s[i..].chars().next().map(char::len_utf8).unwrap_or(1)
}

/// The sorted, deduplicated names that start with `prefix`.
fn with_prefix(mut names: Vec<String>, prefix: &str) -> Vec<String> {
    names.retain(|n| n.starts_with(prefix));
    names.sort();
    names.dedup();
    names
}

/// Table names of `tables` that start with `prefix`, read from the sorted map by range.
fn table_names(tables: &Tables, prefix: &str) -> Vec<String> {
    tables
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(k, _)| k.clone())
        .collect()
}

/// A string argument: table names of the side the call or field names.
fn in_string(before: &str, lead: &str, prefix: &str, src: &Sources) -> Vec<String> {
    if let Some(role) = method_side(lead) {
        return table_names(&src.cache.tables(role), prefix);
    }
    if ends_with_field(lead, "from") {
        return table_names(&src.cache.tables(Role::Source), prefix);
    }
    if ends_with_field(lead, "to") {
        return table_names(&src.cache.tables(Role::Target), prefix);
    }
    if lead.ends_with("require") || lead.ends_with("require(") {
        let names = crate::lua::stdlib::MODULES
            .iter()
            .map(|(m, _, _)| m.to_string())
            .collect();
        return with_prefix(names, prefix);
    }
    if open_constructor(lead) == Some("map") {
        if let Some(cols) = copy_columns(before, src.cache, Side::From) {
            return with_prefix(cols, prefix);
        }
    }
    Vec::new()
}

/// `src:peek(` / `dst:columns(` just before a string: that side.
fn method_side(lead: &str) -> Option<Role> {
    let rest = lead.strip_suffix('(')?.trim_end();
    let method_start = rest
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map(|i| i + 1)?;
    let rest = rest[..method_start].strip_suffix(':')?;
    if rest.ends_with("src") {
        Some(Role::Source)
    } else if rest.ends_with("dst") {
        Some(Role::Target)
    } else {
        None
    }
}

/// Whether `lead` ends with `name =` (as a whole word).
fn ends_with_field(lead: &str, name: &str) -> bool {
    let Some(rest) = lead.strip_suffix('=') else {
        return false;
    };
    let rest = rest.trim_end();
    rest.ends_with(name)
        && !rest[..rest.len() - name.len()].ends_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// The byte after the opening quote of the string the cursor is in, if it is in one.
fn open_string(before: &str) -> Option<usize> {
    let mut open: Option<(char, usize)> = None;
    let mut escaped = false;
    for (i, c) in before.char_indices() {
        match open {
            Some((q, _)) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    open = None;
                }
            }
            None if c == '"' || c == '\'' => open = Some((c, i + 1)),
            None => {}
        }
    }
    open.map(|(_, at)| at)
}

/// The constructor the cursor is directly inside: `map` for `map{`, `default`, or
/// `copy` (any other brace is `Some("")`), `None` outside braces.
fn open_constructor(before: &str) -> Option<&str> {
    let mut depth = 0i32;
    for (i, c) in before.char_indices().rev() {
        match c {
            '}' => depth += 1,
            '{' if depth > 0 => depth -= 1,
            '{' => {
                let lead = before[..i].trim_end();
                let lead = lead.strip_suffix('(').unwrap_or(lead).trim_end();
                for name in ["map", "default", "copy"] {
                    if lead.ends_with(name) {
                        return Some(name);
                    }
                }
                return Some("");
            }
            _ => {}
        }
    }
    None
}

/// Whether the cursor is where a field name goes: after `{` or `,`.
fn key_position(before_word: &str) -> bool {
    matches!(before_word.trim_end().chars().last(), Some('{' | ','))
}

enum Side {
    From,
    To,
}

/// The parameter of the innermost `function(row)` before the cursor.
fn row_param(before: &str) -> Option<String> {
    let at = before.rfind("function")?;
    let rest = before[at + "function".len()..].trim_start();
    let rest = rest.strip_prefix('(')?;
    let name: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The columns of the table of the copy the cursor is in: its `from` table on the
/// source, or its `to` table on the target (the `from` table when there is no `to`).
fn copy_columns(before: &str, cache: &SchemaCache, side: Side) -> Option<Vec<String>> {
    let at = before.rfind("copy")?;
    let text = &before[at..];
    let from = string_field(text, "from");
    let (role, table) = match side {
        Side::From => (Role::Source, from?),
        Side::To => match string_field(text, "to") {
            Some(t) => (Role::Target, t),
            None => (Role::Target, from?),
        },
    };
    cache.tables(role).get(&table).cloned()
}

/// The string value of `name = "..."` in `text`.
fn string_field(text: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = text[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        if at > 0 && text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = text[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let body = &rest[1..];
        if let Some(end) = body.find(q) {
            return Some(body[..end].to_string());
        }
    }
    None
}

/// The functions of the standard library module `object` names (`text`, `ferry.text`),
/// for a module not (yet) held in a global.
fn stdlib_functions(object: &str) -> Vec<String> {
    let short = object.strip_prefix("ferry.").unwrap_or(object);
    super::help_stdlib::functions()
        .into_iter()
        .filter_map(|f| {
            f.name
                .strip_prefix(&format!("{short}."))
                .map(str::to_string)
        })
        .collect()
}

/// The methods of the handle in global `name`: a database or a background copy.
fn methods_of(lua: &Lua, name: &str) -> Vec<String> {
    let Ok(LuaValue::UserData(ud)) = lua.globals().raw_get::<LuaValue>(name) else {
        return Vec::new();
    };
    let list: &[&str] = if ud.is::<crate::lua::handles::DbHandle>() {
        DB_METHODS
    } else if ud.is::<crate::lua::background::BackgroundHandle>() {
        BACKGROUND_METHODS
    } else {
        &[]
    };
    list.iter().map(|s| s.to_string()).collect()
}

/// The string keys of the table at dotted `path` in the globals (`""`: the globals).
fn lua_fields(lua: &Lua, path: &str) -> Vec<String> {
    let mut value = LuaValue::Table(lua.globals());
    for part in path.split('.').filter(|p| !p.is_empty()) {
        value = match value {
            LuaValue::Table(t) => t.raw_get(part).unwrap_or(LuaValue::Nil),
            _ => return Vec::new(),
        };
    }
    let LuaValue::Table(t) = value else {
        return Vec::new();
    };
    t.pairs::<LuaValue, LuaValue>()
        .filter_map(|kv| kv.ok())
        .filter_map(|(k, _)| match k {
            LuaValue::String(s) => s.to_str().ok().map(|s| s.to_string()),
            _ => None,
        })
        .filter(|k| !k.starts_with('_'))
        .collect()
}

/// A table name as `.desc` reads it: in backticks when it holds more than letters,
/// digits and `_` (a space, a dot, a backtick).
fn desc_name(name: &str) -> String {
    if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

/// A dot command line: the commands, `.help NAME`, `.desc src.T dst.T`, `.sql` sides.
fn dot_command(before: &str, start: usize, word: &str, src: &Sources) -> (usize, Vec<String>) {
    let trimmed = before.trim_start();
    if !trimmed.contains(char::is_whitespace) {
        let names = DOT_COMMANDS.iter().map(|s| s.to_string()).collect();
        return (start, with_prefix(names, word));
    }
    let command = trimmed.split_whitespace().next().unwrap_or("");
    match command {
        ".help" | ".h" | ".?" => (start, with_prefix(src.help_names.to_vec(), word)),
        ".desc" => {
            for (side, role) in [("src.", Role::Source), ("dst.", Role::Target)] {
                // After an opening backtick: the name as it goes inside one, closed.
                if before[..start].ends_with(&format!("{side}`")) {
                    let names = table_names(&src.cache.tables(role), word);
                    let quoted = names.iter().map(|n| format!("{}`", n.replace('`', "``")));
                    return (start, quoted.collect());
                }
                if let Some(prefix) = word.strip_prefix(side) {
                    let names = table_names(&src.cache.tables(role), prefix);
                    return (
                        start + side.len(),
                        names.iter().map(|n| desc_name(n)).collect(),
                    );
                }
            }
            let mut names: Vec<String> = table_names(&src.cache.tables(Role::Source), word)
                .iter()
                .map(|n| desc_name(n))
                .collect();
            names.extend(["src.".to_string(), "dst.".to_string()]);
            (start, with_prefix(names, word))
        }
        ".sql" => (
            start,
            with_prefix(vec!["src".into(), "dst".into(), "off".into()], word),
        ),
        ".x" | ".pager" => (
            start,
            with_prefix(vec!["on".into(), "off".into(), "auto".into()], word),
        ),
        ".connect" => (start, with_prefix(vec!["src".into(), "dst".into()], word)),
        _ => (start, Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_decides_the_kind_of_name() {
        assert_eq!(open_string(r#"src:peek("cu"#), Some(10));
        assert_eq!(open_string(r#"src:peek("cu", 'x\'y"#).map(|_| ()), Some(()));
        assert_eq!(open_string(r#"src:peek("cu")"#), None);
        assert_eq!(method_side(r#"src:peek("#), Some(Role::Source));
        assert_eq!(method_side(r#"x = dst:columns ("#), Some(Role::Target));
        assert_eq!(method_side(r#"print("#), None);
        assert!(ends_with_field("copy{from =", "from"));
        assert!(ends_with_field("copy{from = \"a\", to=", "to"));
        assert!(!ends_with_field("copy{into =", "to"));
        assert_eq!(
            open_constructor("copy{from = \"a\", map = map{"),
            Some("map")
        );
        assert_eq!(
            open_constructor("copy{from = \"a\", map = map{x = 1}, "),
            Some("copy")
        );
        assert_eq!(open_constructor("x = 1"), None);
        assert_eq!(
            string_field(r#"copy{ from = "users", to='cust' }"#, "to").as_deref(),
            Some("cust")
        );
        assert_eq!(
            row_param("copy{from = \"u\", transform = function( r ) r.").as_deref(),
            Some("r")
        );
        let cache = SchemaCache::new();
        let none = Sources {
            lua: None,
            cache: &cache,
            help_names: &[],
        };
        let line = "x = text.pad_";
        assert_eq!(
            complete(line, line.len(), &none),
            (9, vec!["pad_left".to_string(), "pad_right".to_string()])
        );
        let line = "ferry.date.to_";
        assert_eq!(complete(line, line.len(), &none).1, vec!["to_unix"]);
    }
}
