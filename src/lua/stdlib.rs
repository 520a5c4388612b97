//! `require` for jobs: the job's own directory first (`?.lua`, `?/init.lua`), then the
//! Lua modules of `stdlib/`, compiled into the binary and loaded under chunk names like
//! `@stdlib/ferry/text.lua`, so a user's file of the same name overrides a built-in one.
//! `ferry.native` is the internal table of Rust functions those modules call.

use std::path::Path;

use mlua::{Function, Lua, Table, Value as LuaValue};

use super::native;

/// `("ferry.NAME", "@stdlib/ferry/NAME.lua", the file's text)`.
macro_rules! module {
    ($name:literal) => {
        (
            concat!("ferry.", $name),
            concat!("@stdlib/ferry/", $name, ".lua"),
            include_str!(concat!("../../stdlib/ferry/", $name, ".lua")),
        )
    };
}

/// Built-in modules: (module name, chunk name, source).
pub const MODULES: &[(&str, &str, &str)] = &[
    module!("text"),
    module!("date"),
    module!("json"),
    module!("hash"),
    module!("id"),
    module!("mask"),
];

/// Every function the built-in modules export, as `text.lower`: each `function M.x`
/// or `M.x =` line of their sources (what the REPL's help and the page's transform list
/// are checked against).
#[cfg(test)]
pub fn exported_functions() -> Vec<String> {
    let mut names = Vec::new();
    for (module, _, source) in MODULES {
        let short = module.trim_start_matches("ferry.");
        for line in source.lines() {
            let Some(rest) = line.strip_prefix("function M.").or(line.strip_prefix("M.")) else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.push(format!("{short}.{name}"));
        }
    }
    names
}

/// Puts the job's directory first on `package.path` and adds the built-in modules' searcher.
pub fn register(lua: &Lua, script_dir: Option<&Path>) -> mlua::Result<()> {
    let package: Table = lua.globals().get("package")?;
    if let Some(dir) = script_dir {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let path: String = package.get("path")?;
        package.set(
            "path",
            format!(
                "{d}/?.lua;{d}/?/init.lua;{path}",
                d = dir.display().to_string().replace(';', "")
            ),
        )?;
    }
    let searchers: Table = package.get("searchers")?;
    let searcher: Function = lua.create_function(search_builtin)?;
    searchers.raw_push(searcher)?;
    Ok(())
}

/// Lua: a `package.searchers` entry: `searcher(name)` -> the built-in module's loader
/// and its chunk name, or a line for `require`'s "module not found" message
fn search_builtin(lua: &Lua, name: String) -> mlua::Result<(LuaValue, LuaValue)> {
    if name == native::MODULE {
        let loader = lua.create_function(|lua, _: mlua::MultiValue| native::table(lua))?;
        return Ok((LuaValue::Function(loader), LuaValue::Nil));
    }
    match MODULES.iter().find(|(m, _, _)| *m == name) {
        Some((_, chunk, src)) => {
            let f = lua.load(*src).set_name(*chunk).into_function()?;
            Ok((
                LuaValue::Function(f),
                LuaValue::String(lua.create_string(*chunk)?),
            ))
        }
        None => Ok((
            LuaValue::String(lua.create_string(format!(
                "\n\tno built-in module '{name}' (built in: {})",
                MODULES
                    .iter()
                    .map(|(m, _, _)| *m)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?),
            LuaValue::Nil,
        )),
    }
}
