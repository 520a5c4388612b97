//! The Lua binding of the job API: a Lua 5.4 state per pass with one `register` per
//! area (`globals`: null, sql, env, vars, log, planning; `connections`: source, target
//! and the handles' methods; `copy`: copy, map, default, with `hooks` for before,
//! after and check; `job`: job{}; `lookup`: lookup{}; `explain`: try{} and explain{}; `stdlib`: require), scripts
//! loaded by path (so errors read `jobs/users.lua:12:`), and Lua errors rendered as
//! one clean message. What a job does lives in `crate::job`, which
//! knows no Lua: this layer turns script values into its requests and back.

pub mod background;
pub mod connections;
pub mod copy;
pub mod emit;
pub mod errors;
pub mod explain;
pub mod globals;
pub mod handles;
pub mod hooks;
pub mod job;
pub mod lookup;
pub mod lookup_batch;
pub mod mask;
pub mod native;
pub mod options;
pub mod processor;
pub mod rejects;
pub mod row_batch;
pub mod row_builder;
pub mod run_options;
pub mod sample;
pub mod stdlib;
pub mod tables;
pub mod values;

use std::path::Path;
use std::rc::Rc;

use mlua::Lua;

use crate::error::Error;
use crate::job::Job;

/// A Lua state with the whole job API registered, one area at a time, on `job`.
/// `script_dir` is searched by `require` before the built-in stdlib.
pub fn new_state(job: Rc<Job>, script_dir: Option<&Path>) -> Result<Lua, Error> {
    let lua = Lua::new();
    let setup = || -> mlua::Result<()> {
        lua.set_app_data(values::Sentinels::new(&lua)?);
        stdlib::register(&lua, script_dir)?;
        globals::register(&lua, &job)?;
        connections::register(&lua, &job)?;
        copy::register(&lua, &job)?;
        sample::register(&lua, &job)?;
        emit::register(&lua)?;
        job::register(&lua, &job)?;
        lookup::register(&lua, &job)?;
        explain::register(&lua, &job)?;
        Ok(())
    };
    setup().map_err(|e| Error::Script {
        message: format!("setting up the Lua state: {}", render_error(&e)),
    })?;
    Ok(lua)
}

/// Runs a job script file in `lua`.
pub fn run_file(lua: &Lua, path: &Path) -> Result<(), Error> {
    let code = std::fs::read(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("cannot read the job script: {e}"),
    })?;
    run_chunk(lua, &path.display().to_string(), &code)
}

/// Runs job code under the chunk name `@name`, so errors read `name:12:`.
pub fn run_chunk(lua: &Lua, name: &str, code: &[u8]) -> Result<(), Error> {
    lua.load(code)
        .set_name(format!("@{name}"))
        .exec()
        .map_err(|e| to_error(&e))
}

/// Turns a Lua error into ferry's error: ferry errors raised inside API calls keep their
/// kind (and exit status), anything else is a script error.
pub fn to_error(e: &mlua::Error) -> Error {
    if let Some(inner) = e.downcast_ref::<Error>() {
        let loc = error_location(e);
        return match (inner.clone(), loc) {
            (
                Error::Database {
                    context,
                    message,
                    cause,
                },
                Some(loc),
            ) => Error::Database {
                context: format!("{loc}: {context}"),
                message,
                cause,
            },
            (Error::Usage { message }, Some(loc)) => Error::Usage {
                message: format!("{loc}: {message}"),
            },
            (other, _) => other,
        };
    }
    Error::Script {
        // A syntax error quotes the script's text, a URL's password with it.
        message: crate::conn_spec::mask_urls(&render_script_error(e)),
    }
}

/// A script's error as the user reads it: the message with its `file:line`, then, when
/// the error came through more than one function of the job (or of a module it
/// required), those frames, innermost first: Lua's traceback without the C frames and
/// ferry's own wrapping.
pub fn render_script_error(e: &mlua::Error) -> String {
    let message = render_error(e);
    let frames = script_frames(e);
    if frames.len() < 2 {
        return message;
    }
    let mut out = message;
    out.push_str("\ntraceback:");
    for f in frames {
        out.push_str("\n  ");
        out.push_str(&f);
    }
    out
}

/// The job's own frames of the traceback an error carries: `job.lua:12: in function
/// 'helper'`, `job.lua:20: in main chunk`.
fn script_frames(e: &mlua::Error) -> Vec<String> {
    let text = match e {
        mlua::Error::RuntimeError(m) => m.as_str(),
        mlua::Error::CallbackError { traceback, .. } => traceback.as_str(),
        mlua::Error::WithContext { cause, .. } => return script_frames(cause),
        _ => return Vec::new(),
    };
    let Some(at) = text.find("stack traceback:") else {
        return Vec::new();
    };
    text[at..]
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.starts_with('[') && !l.is_empty() && l.contains(':'))
        .map(|l| {
            // Lua 5.4 writes `in upvalue 'f'`, `in local 'f'`, `in field 'f'`: a
            // function by any other name.
            let l = ["upvalue ", "local ", "field ", "method "]
                .iter()
                .fold(l.to_string(), |l, kind| {
                    l.replace(&format!("in {kind}'"), "in function '")
                });
            l.replace("in function <", "in a function at <")
        })
        .collect()
}

fn error_location(e: &mlua::Error) -> Option<String> {
    match e {
        mlua::Error::CallbackError { traceback, cause } => {
            location_in(traceback).or_else(|| error_location(cause))
        }
        mlua::Error::WithContext { cause, .. } => error_location(cause),
        _ => None,
    }
}

/// The first `file:line` of a traceback that is not a C function.
fn location_in(traceback: &str) -> Option<String> {
    traceback.lines().skip(1).find_map(|l| {
        let l = l.trim();
        if l.starts_with("[C]") || l.starts_with('[') {
            return None;
        }
        let mut parts = l.splitn(3, ':');
        let file = parts.next()?;
        let line = parts.next()?;
        line.parse::<u32>().ok()?;
        Some(format!("{file}:{line}"))
    })
}

/// One readable message for a Lua error, with its `file:line`, without Rust wrapping.
pub fn render_error(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { traceback, cause } => {
            let inner = render_error(cause);
            match location_in(traceback) {
                Some(loc) if !inner.starts_with(&loc) => format!("{loc}: {inner}"),
                _ => inner,
            }
        }
        mlua::Error::RuntimeError(m) => strip_traceback(m),
        mlua::Error::SyntaxError { message, .. } => strip_traceback(message),
        mlua::Error::ExternalError(x) => x.to_string(),
        mlua::Error::WithContext { context, cause } => {
            format!("{context}: {}", render_error(cause))
        }
        mlua::Error::BadArgument {
            to,
            pos,
            name,
            cause,
        } => format!(
            "bad argument #{pos}{} to {}: {}",
            name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
            to.as_deref().unwrap_or("?"),
            render_error(cause)
        ),
        other => strip_traceback(&other.to_string()),
    }
}

fn strip_traceback(m: &str) -> String {
    match m.find("\nstack traceback:") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(code: &str) -> String {
        let lua = mlua::Lua::new();
        let e = lua
            .load(code)
            .set_name("@jobs/users.lua")
            .exec()
            .unwrap_err();
        render_script_error(&e)
    }

    #[test]
    fn a_runtime_error_shows_its_line_and_the_jobs_frames() {
        let got = error_of(
            "local function helper(x)\n  return x.nope.deeper\nend\n\
             local function outer() return helper({}) + 1 end\nouter()\n",
        );
        assert_eq!(
            got,
            "jobs/users.lua:2: attempt to index a nil value (field 'nope')\n\
             traceback:\n  \
             jobs/users.lua:2: in function 'helper'\n  \
             jobs/users.lua:4: in function 'outer'\n  \
             jobs/users.lua:5: in main chunk"
        );
    }

    #[test]
    fn an_error_in_the_main_chunk_is_one_line() {
        assert_eq!(
            error_of("local x = 1\nerror('stop here')\n"),
            "jobs/users.lua:2: stop here"
        );
        assert_eq!(
            error_of("local x = = 1\n"),
            "jobs/users.lua:1: unexpected symbol near '='"
        );
    }
}
