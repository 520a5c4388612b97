//! The line editor's side of the prompt: when typed input is complete (an open
//! `function` continues on the next line; dot commands, SQL and SQL mode lines are
//! complete as they are), completion (`complete.rs`), and the prompt's colour. The same
//! completeness rule splits a script read from stdin into statements.

use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;

use mlua::Lua;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper, Hinter};

use super::complete::{complete, Sources};
use super::schema_cache::SchemaCache;

/// Whether `input` is a whole statement: a dot command, a `src> `/`dst> ` statement, a
/// line in SQL mode, SQL, or Lua that does not end mid-construct.
pub fn is_complete(checker: &Lua, input: &str, sql_mode: bool) -> bool {
    let t = input.trim();
    if sql_mode || t.starts_with('.') || crate::repl::sql::prefixed(t).is_some() {
        return true;
    }
    let code = strip_vertical(t).0;
    if checker
        .load(format!("return {code}"))
        .into_function()
        .is_ok()
    {
        return true;
    }
    !matches!(
        checker.load(code).into_function(),
        Err(mlua::Error::SyntaxError {
            incomplete_input: true,
            ..
        })
    )
}

/// A statement without its trailing `\G`, and whether it had one.
pub fn strip_vertical(line: &str) -> (&str, bool) {
    let t = line.trim_end();
    match t.strip_suffix("\\G") {
        Some(rest) => (rest.trim_end(), true),
        None => (t, false),
    }
}

#[derive(Helper, Hinter)]
pub struct LuaHelper {
    pub checker: Lua,
    /// SQL mode is on (`.sql src|dst`): every line is complete.
    pub sql_mode: Rc<Cell<bool>>,
    /// The session's Lua state, for the names of globals and module fields.
    pub state: Lua,
    pub cache: SchemaCache,
    pub help_names: Vec<String>,
}

impl Validator for LuaHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        if is_complete(&self.checker, ctx.input(), self.sql_mode.get()) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Completer for LuaHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if self.sql_mode.get() {
            return Ok((pos, Vec::new()));
        }
        let sources = Sources {
            lua: Some(&self.state),
            cache: &self.cache,
            help_names: &self.help_names,
        };
        let (start, names) = complete(line, pos, &sources);
        let pairs = names
            .into_iter()
            .map(|w| Pair {
                display: w.clone(),
                replacement: w,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Highlighter for LuaHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        default: bool,
    ) -> Cow<'b, str> {
        if default {
            Cow::Owned(format!("\x1b[1;36m{prompt}\x1b[0m"))
        } else {
            Cow::Borrowed(prompt)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_where_lua_and_sql_end() {
        let lua = Lua::new();
        assert!(!is_complete(&lua, "function f()", false));
        assert!(is_complete(&lua, "function f() end", false));
        assert!(is_complete(&lua, "src:peek(\"t\")\\G", false));
        assert!(is_complete(&lua, ".connect src mysql://u@h/d", false));
        assert!(is_complete(&lua, "dst> show tables", false));
        assert!(is_complete(&lua, "select (", true));
        assert_eq!(strip_vertical("x \\G "), ("x", true));
        assert_eq!(strip_vertical("x"), ("x", false));
    }
}
