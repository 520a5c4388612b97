//! `ferry repl`: a Lua prompt over both databases. `src` and `dst` are the source and
//! target handles, the whole job API is there, results print as aligned tables.
//! Unfinished input (an open `function`, a missing `end`) continues on the next line and
//! is one history entry; Ctrl-C abandons the line, Ctrl-D leaves. History is kept in
//! the user's data directory.

use std::borrow::Cow;
use std::path::PathBuf;
use std::rc::Rc;

use mlua::{Lua, Table, Value as LuaValue};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper, Hinter};

use crate::conn_spec::ConnSpec;
use crate::db::Role;
use crate::error::{Error, Result};
use crate::job::{Job, Pass};
use crate::lua;
use crate::lua::handles::DbHandle;
use crate::progress::Display;
use crate::table_fmt::render;

const WORDS: &[&str] = &[
    "src",
    "dst",
    "source",
    "target",
    "copy",
    "map",
    "default",
    "null",
    "sql",
    "env",
    "vars",
    "log.info",
    "log.warn",
    "log.error",
    "require",
    "print",
    "tables()",
    "columns(",
    "count(",
    "query(",
    "exec(",
    "peek(",
];

#[derive(Helper, Hinter)]
struct LuaHelper {
    checker: Lua,
}

impl Validator for LuaHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if self
            .checker
            .load(format!("return {input}"))
            .into_function()
            .is_ok()
        {
            return Ok(ValidationResult::Valid(None));
        }
        match self.checker.load(input).into_function() {
            Err(mlua::Error::SyntaxError {
                incomplete_input: true,
                ..
            }) => Ok(ValidationResult::Incomplete),
            _ => Ok(ValidationResult::Valid(None)),
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
        let start = line[..pos]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map(|i| i + 1)
            .unwrap_or(0);
        let word = &line[start..pos];
        let after_colon = start > 0 && line[..start].ends_with(':');
        let pairs = WORDS
            .iter()
            .filter(|w| w.starts_with(word) && !word.is_empty())
            .filter(|w| after_colon == w.contains('('))
            .map(|w| Pair {
                display: w.to_string(),
                replacement: w.to_string(),
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

fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    let dir = base.join("ferry");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

pub fn run(job: Option<PathBuf>, source: Option<ConnSpec>, target: Option<ConnSpec>) -> Result<()> {
    let display = Display::detect(false);
    let ctx = Rc::new(Job::new(
        Pass::Real,
        source.clone(),
        target.clone(),
        Vec::new(),
        display,
    ));
    if let Some(job) = &job {
        // Load the job in the plan pass: it opens its connections, copies are only
        // resolved, writes do not run.
        let plan_ctx = Rc::new(Job::new(Pass::Plan, source, target, Vec::new(), display));
        let state = lua::new_state(plan_ctx.clone(), job.parent())?;
        lua::run_file(&state, job)?;
        for p in plan_ctx.take_problems() {
            eprintln!("plan problem: {}", p.message);
        }
        *ctx.sessions.borrow_mut() = plan_ctx.sessions.take();
    }
    let state = lua::new_state(ctx.clone(), Some(std::path::Path::new(".")))?;
    bind(&state, &ctx);

    let mut editor: Editor<LuaHelper, rustyline::history::DefaultHistory> =
        Editor::new().map_err(|e| Error::System {
            what: "cannot start the line editor".into(),
            message: e.to_string(),
        })?;
    editor.set_helper(Some(LuaHelper {
        checker: Lua::new(),
    }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
        // Entries an older ferry stored are masked too; the file is rewritten on leaving.
        let kept: Vec<String> = editor
            .history()
            .iter()
            .filter_map(|l| history_entry(l, &[]))
            .collect();
        let _ = editor.clear_history();
        for line in kept {
            let _ = editor.add_history_entry(line);
        }
    }
    println!("ferry repl: `src` and `dst` are the databases; try src:tables(), src:peek(\"t\"), dst:columns(\"t\"). Ctrl-D leaves.");
    loop {
        match editor.readline("ferry> ") {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                if let Some(entry) = history_entry(&line, &known_specs(&ctx)) {
                    let _ = editor.add_history_entry(entry);
                }
                eval(&state, &line);
                bind(&state, &ctx);
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                return Err(Error::System {
                    what: "the line editor".into(),
                    message: e.to_string(),
                })
            }
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

/// The specs whose passwords the history must not hold: the open sessions (passwords
/// read from files and variables included) and --source/--target.
fn known_specs(ctx: &Job) -> Vec<ConnSpec> {
    let sessions = ctx.sessions.borrow();
    let open = [&sessions.source, &sessions.target]
        .into_iter()
        .flatten()
        .filter_map(|db| db.try_borrow().ok().map(|d| d.spec.clone()));
    open.chain(ctx.override_for(Role::Source))
        .chain(ctx.override_for(Role::Target))
        .collect()
}

/// A line as the history keeps it: the password of every URL in it, every
/// `password = "..."` field (the table form), `PASSWORD('...')` and
/// `IDENTIFIED BY '...'` replaced by `***`. `None` (the line is not kept) when a
/// password of `specs` still shows in it.
pub fn history_entry(line: &str, specs: &[ConnSpec]) -> Option<String> {
    let mut out = crate::conn_spec::mask_urls(line);
    for word in ["password", "identified by"] {
        out = mask_literal_after(&out, word);
    }
    if specs.iter().any(|s| s.scrub(&out) != out) {
        return None;
    }
    Some(out)
}

/// Replaces the text of the string literal that follows `word` (any case, as a whole
/// word, then optionally `"]`, `=` or `(`) with `***`: `password = "x"`,
/// `["password"]='x'`, `password=[[x]]`, `PASSWORD('x')`, `IDENTIFIED BY 'x'`.
fn mask_literal_after(line: &str, word: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(word) {
        let start = from + found;
        let mut j = start + word.len();
        from = j;
        if (start > 0 && is_word(b[start - 1])) || b.get(j).is_some_and(|&c| is_word(c)) {
            continue;
        }
        let skip_ws = |j: &mut usize| {
            while b.get(*j).is_some_and(|c| c.is_ascii_whitespace()) {
                *j += 1;
            }
        };
        if matches!(b.get(j), Some(b'"' | b'\'')) && b.get(j + 1) == Some(&b']') {
            j += 2;
        }
        skip_ws(&mut j);
        if matches!(b.get(j), Some(b'=' | b'(')) && b.get(j + 1) != Some(&b'=') {
            j += 1;
            skip_ws(&mut j);
        }
        let (open, close): (usize, &str) = match b.get(j) {
            Some(b'"') => (1, "\""),
            Some(b'\'') => (1, "'"),
            Some(b'[') if b.get(j + 1) == Some(&b'[') => (2, "]]"),
            _ => continue,
        };
        let body = j + open;
        // The closing quote, skipping backslash escapes (not in long strings).
        let mut k = body;
        let end = loop {
            if k >= b.len() {
                break None;
            }
            if close.len() == 1 && b[k] == b'\\' {
                k += 2;
                continue;
            }
            if line[k..].starts_with(close) {
                break Some(k);
            }
            k += 1;
        };
        let Some(end) = end else { continue };
        out.push_str(&line[copied..body]);
        out.push_str("***");
        copied = end;
        from = end + close.len();
    }
    out.push_str(&line[copied..]);
    out
}

/// Binds `src` and `dst` to the open sessions (they open lazily from --source/--target).
fn bind(state: &Lua, ctx: &Rc<Job>) {
    let g = state.globals();
    for (name, role) in [("src", Role::Source), ("dst", Role::Target)] {
        if !matches!(g.get::<LuaValue>(name), Ok(LuaValue::Nil)) {
            continue;
        }
        let db = ctx
            .open_session(role)
            .or_else(|| ctx.session(role, None).ok());
        if let Some(db) = db {
            if let Ok(ud) = state.create_userdata(DbHandle {
                db,
                pass: Pass::Real,
            }) {
                let _ = g.set(name, ud);
            }
        }
    }
}

/// Evaluates one chunk (as an expression first) and prints what it returns.
pub fn eval(state: &Lua, line: &str) {
    let result = match state
        .load(format!("return {line}"))
        .set_name("=repl")
        .into_function()
    {
        Ok(f) => f.call::<mlua::MultiValue>(()),
        Err(_) => state
            .load(line)
            .set_name("=repl")
            .eval::<mlua::MultiValue>(),
    };
    match result {
        Ok(values) => {
            for v in values {
                println!("{}", show(state, &v));
            }
        }
        Err(e) => eprintln!("error: {}", lua::to_error(&e)),
    }
}

/// How the REPL prints a value: arrays of rows as tables, other tables as `{k = v}`.
pub fn show(state: &Lua, v: &LuaValue) -> String {
    match v {
        LuaValue::Table(t) => {
            if let Some(s) = show_rows(t) {
                return s;
            }
            let mut parts = Vec::new();
            for (k, v) in t.pairs::<LuaValue, LuaValue>().flatten() {
                let key = match &k {
                    LuaValue::String(s) => s.to_string_lossy(),
                    other => format!("[{}]", scalar(state, other)),
                };
                parts.push(format!("{key} = {}", scalar(state, &v)));
            }
            parts.sort();
            format!("{{{}}}", parts.join(", "))
        }
        other => scalar(state, other),
    }
}

fn scalar(state: &Lua, v: &LuaValue) -> String {
    match v {
        LuaValue::String(s) => {
            let b = s.as_bytes();
            match std::str::from_utf8(&b) {
                Ok(s) => format!("{s:?}"),
                Err(_) => format!("0x{}", crate::db::value::hex(&b)),
            }
        }
        other => state
            .globals()
            .get::<mlua::Function>("tostring")
            .and_then(|f| f.call::<String>(other.clone()))
            .unwrap_or_else(|_| other.type_name().to_string()),
    }
}

/// An array of row tables (from query/peek) as an aligned table.
fn show_rows(t: &Table) -> Option<String> {
    let n = t.raw_len();
    let first: Table = t.raw_get(1).ok()?;
    let columns: Vec<String> = match t
        .metatable()
        .and_then(|m| m.raw_get::<Table>("__columns").ok())
    {
        Some(c) => c.sequence_values::<String>().flatten().collect(),
        None => {
            let mut c: Vec<String> = first
                .pairs::<String, LuaValue>()
                .flatten()
                .map(|(k, _)| k)
                .collect();
            c.sort();
            c
        }
    };
    if columns.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    for i in 1..=n {
        let row: Table = t.raw_get(i).ok()?;
        rows.push(
            columns
                .iter()
                .map(|c| match row.raw_get::<LuaValue>(c.as_str()) {
                    Ok(LuaValue::String(s)) => crate::db::value::printable(&s.as_bytes()),
                    Ok(LuaValue::Integer(i)) => i.to_string(),
                    Ok(LuaValue::Number(x)) => x.to_string(),
                    Ok(LuaValue::Boolean(b)) => b.to_string(),
                    Ok(LuaValue::UserData(_)) => "NULL".into(),
                    _ => String::new(),
                })
                .collect(),
        );
    }
    let headers: Vec<&str> = columns.iter().map(|s| s.as_str()).collect();
    let right = vec![false; headers.len()];
    Some(format!(
        "{}({n} row{})",
        render(&headers, &rows, &right),
        if n == 1 { "" } else { "s" }
    ))
}

#[cfg(test)]
mod tests {
    use super::history_entry;
    use crate::conn_spec::ConnSpec;

    #[test]
    fn history_masks_passwords() {
        let h = |l: &str| history_entry(l, &[]).unwrap();
        assert_eq!(
            h(r#"source "mysql://app:pa/ss@db1/crm""#),
            r#"source "mysql://app:***@db1/crm""#
        );
        assert_eq!(
            h(r#"source{host="h", password = "s3cret", database="d"}"#),
            r#"source{host="h", password = "***", database="d"}"#
        );
        assert_eq!(
            h(r#"target { ["password"]='a\'b', password_env = "PW" }"#),
            r#"target { ["password"]='***', password_env = "PW" }"#
        );
        assert_eq!(h("source{password=[[x]]}"), "source{password=[[***]]}");
        assert_eq!(
            h(r#"src:exec("CREATE USER u IDENTIFIED BY 'pw'")"#),
            r#"src:exec("CREATE USER u IDENTIFIED BY '***'")"#
        );
        assert_eq!(
            h(r#"src:exec("SET PASSWORD = PASSWORD('pw')")"#),
            r#"src:exec("SET PASSWORD = PASSWORD('***')")"#
        );
        assert_eq!(h("print(password)"), "print(password)");
        assert_eq!(h("src:peek(\"t\")"), "src:peek(\"t\")");
        // A line that still holds a session's password is not kept.
        let spec = ConnSpec::parse("mysql://app:Sess10n-pw@db1/crm").unwrap();
        assert_eq!(
            history_entry(r#"x = "Sess10n-pw""#, std::slice::from_ref(&spec)),
            None
        );
        assert_eq!(
            history_entry("src:tables()", std::slice::from_ref(&spec)).as_deref(),
            Some("src:tables()")
        );
    }
}
