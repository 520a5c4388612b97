//! `ferry repl`: a Lua prompt over both databases. `src` and `dst` are the source and
//! target handles (a side that could not connect says how to connect it), the whole
//! job API is there, SQL typed at the prompt runs on a side, results print as aligned
//! tables in the query's column order with their row count and time. Unfinished input
//! (an open `function`) continues on the next line and is one history entry; Ctrl-C
//! cancels a running query on its server or clears the line, Ctrl-D leaves. With stdin
//! not a terminal the statements are read from it and printed without prompt or colour.
//! History is kept in the user's data directory, without passwords.

pub mod cancel;
mod compare;
pub(crate) mod complete;
mod editor;
mod help;
mod help_stdlib;
mod history;
mod jobs;
mod pager;
mod save;
pub(crate) mod schema_cache;
mod show;
mod sides;
mod sql;
mod stopped;

use std::cell::Cell;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use mlua::{Lua, MultiValue, Value as LuaValue};
use rustyline::error::ReadlineError;
use rustyline::Editor;

use crate::conn_spec::ConnSpec;
use crate::db::Role;
use crate::error::{Error, Result};
use crate::job::{Job, Pass};
use crate::lua;
use crate::progress::Display;
use editor::LuaHelper;
pub use history::history_entry;
use show::{Expanded, Style};

/// One prompt session: the Lua state, the job behind it and the output settings.
struct Session {
    state: Lua,
    ctx: Rc<Job>,
    checker: Lua,
    expanded: Expanded,
    sql_side: Option<Role>,
    interactive: bool,
    canceller: Option<cancel::Canceller>,
    sql_noted: bool,
    failures: usize,
    quit: bool,
    cache: schema_cache::SchemaCache,
    pager: pager::Pager,
    recorder: save::Recorder,
    /// Why the last statement failed (for `.save`).
    last_error: Option<String>,
}

pub fn run(job: Option<PathBuf>, source: Option<ConnSpec>, target: Option<ConnSpec>) -> Result<()> {
    let interactive = std::io::stdin().is_terminal();
    let display = Display::detect(false);
    let ctx = Rc::new(Job::new(
        Pass::Real,
        source.clone(),
        target.clone(),
        Vec::new(),
        display,
    ));
    if let Some(job) = &job {
        load_job(&ctx, job, source, target, display)?;
    }
    sides::connect_at_start(&ctx);
    let state = lua::new_state(ctx.clone(), Some(std::path::Path::new(".")))?;
    sides::bind(&state, &ctx);
    let mut session = Session {
        state,
        ctx,
        checker: Lua::new(),
        expanded: Expanded::Off,
        sql_side: None,
        interactive,
        canceller: None,
        sql_noted: false,
        failures: 0,
        quit: false,
        cache: schema_cache::SchemaCache::new(),
        pager: pager::Pager::new(),
        recorder: save::Recorder::default(),
        last_error: None,
    };
    let result = if interactive {
        session.interactive_loop()
    } else {
        session.script_loop()
    };
    jobs::stop_on_leaving(&session.ctx);
    result
}

/// Loads a job in the plan pass: it opens its connections, copies are only resolved,
/// writes do not run. A failure (a connection that cannot be opened) is reported and
/// the prompt opens with what was loaded.
fn load_job(
    ctx: &Rc<Job>,
    job: &std::path::Path,
    source: Option<ConnSpec>,
    target: Option<ConnSpec>,
    display: Display,
) -> Result<()> {
    let plan_ctx = Rc::new(Job::new(Pass::Plan, source, target, Vec::new(), display));
    let state = lua::new_state(plan_ctx.clone(), job.parent())?;
    if let Err(e) = lua::run_file(&state, job) {
        sides::report(&e);
    }
    for p in plan_ctx.take_problems() {
        eprintln!("plan problem: {}", p.message);
    }
    *ctx.sessions.borrow_mut() = plan_ctx.sessions.take();
    Ok(())
}

fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    let dir = base.join("ferry");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
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

impl Session {
    fn interactive_loop(&mut self) -> Result<()> {
        let sql_mode = Rc::new(Cell::new(false));
        let config = rustyline::Config::builder()
            .completion_type(rustyline::CompletionType::List)
            .build();
        let mut editor: Editor<LuaHelper, rustyline::history::DefaultHistory> =
            Editor::with_config(config).map_err(|e| Error::System {
                what: "cannot start the line editor".into(),
                message: e.to_string(),
            })?;
        editor.set_helper(Some(LuaHelper {
            checker: Lua::new(),
            sql_mode: sql_mode.clone(),
            state: self.state.clone(),
            cache: self.cache.clone(),
            help_names: help::names(),
        }));
        self.follow_sides();
        if self.interactive {
            let canceller = cancel::Canceller::install();
            // Ctrl-C stops a copy after its current page, as in `ferry run`, and the
            // prompt goes on (the signal handlers of `ferry run` would end it).
            *self.ctx.stop.borrow_mut() =
                Some(crate::engine::Stop::from_flag(canceller.copy_stop.clone()));
            self.canceller = Some(canceller);
        }
        let history = history_path();
        if let Some(h) = &history {
            let _ = editor.load_history(h);
            // Entries an older ferry stored are masked too; the file is rewritten on
            // leaving.
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
        println!("ferry repl: `src` and `dst` are the databases; .help for help, Ctrl-D leaves.");
        while !self.quit {
            let prompt = sides::prompt(&self.ctx, self.sql_side);
            match editor.readline(&prompt) {
                Ok(line) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    if let Some(entry) = history_entry(&line, &known_specs(&self.ctx)) {
                        let _ = editor.add_history_entry(entry);
                    }
                    self.statement(&line);
                    sql_mode.set(self.sql_side.is_some());
                    self.follow_sides();
                    self.refresh_after(&line);
                }
                Err(ReadlineError::Interrupted | ReadlineError::Signal(_)) => continue,
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

    /// Statements from stdin: no prompt, no colour, no timing; the exit status says
    /// whether any failed.
    fn script_loop(&mut self) -> Result<()> {
        let mut buffer = String::new();
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| Error::Io {
                path: "stdin".into(),
                message: e.to_string(),
            })?;
            if buffer.is_empty() && line.trim().is_empty() {
                continue;
            }
            if !buffer.is_empty() {
                buffer.push('\n');
            }
            buffer.push_str(&line);
            if editor::is_complete(&self.checker, &buffer, self.sql_side.is_some()) {
                self.statement(&std::mem::take(&mut buffer));
                if self.quit {
                    break;
                }
            }
        }
        if !buffer.trim().is_empty() {
            self.statement(&buffer);
        }
        match self.failures {
            0 => Ok(()),
            n => Err(Error::Script {
                message: format!(
                    "{n} statement{} of the script failed",
                    if n == 1 { "" } else { "s" }
                ),
            }),
        }
    }

    /// One statement: a dot command, SQL on a side, or Lua.
    fn statement(&mut self, line: &str) {
        let line = line.trim();
        // What users of other prompts type for help.
        if matches!(line, "help" | "help()" | "?" | "\\h" | "\\?") {
            println!("{}", help::overview());
            return;
        }
        if let Some(cmd) = line.strip_prefix('.') {
            if let Err(e) = self.dot(cmd) {
                self.fail(&e.to_string());
            }
            sides::bind(&self.state, &self.ctx);
            return;
        }
        let (code, vertical) = editor::strip_vertical(line);
        let sql = match (self.sql_side, sql::prefixed(code)) {
            (Some(role), _) => Some((role, code)),
            (None, Some((role, stmt))) => Some((role, stmt)),
            (None, None) if sql::looks_like_sql(&self.checker, code) => {
                if !self.sql_noted {
                    self.sql_noted = true;
                    println!("{}", sql::note());
                }
                Some((Role::Source, code))
            }
            _ => None,
        };
        match sql {
            Some((role, stmt)) => {
                let rows = sql::returns_rows(stmt);
                self.execute(line, vertical, |s| sql::run(s, role, stmt), rows)
            }
            None => {
                self.last_error = None;
                self.execute(line, vertical, |s| eval(s, code), true);
                if let Some(kept) = history_entry(code, &known_specs(&self.ctx)) {
                    self.recorder.record(&kept, self.last_error.take());
                }
            }
        }
        sides::bind(&self.state, &self.ctx);
    }

    /// `.help`, `.connect`, `.tables`, `.desc`, `.diff`, `.rehash`, `.jobs`, `.save`,
    /// `.pager`, `.sql`, `.x`, `.quit`.
    fn dot(&mut self, cmd: &str) -> Result<()> {
        let (name, args) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
        let args = args.trim();
        match name {
            "help" | "h" | "?" if args.is_empty() => println!("{}", help::overview()),
            "help" | "h" | "?" => println!("{}", help::about(args)),
            "connect" => println!("{}", sides::connect(&self.ctx, args)?),
            "tables" => self.pager.print(&compare::tables(&self.ctx)?),
            "desc" => self.pager.print(&compare::desc(&self.ctx, args)?),
            "diff" => self.pager.print(&compare::diff(&self.ctx)?),
            "jobs" => print!("{}", jobs::list(&self.ctx)),
            "save" => {
                let sides: Vec<_> = sides::SIDES
                    .iter()
                    .map(|(_, role)| {
                        let spec = self
                            .ctx
                            .open_session(*role)
                            .map(|db| db.borrow().spec.clone());
                        (*role, spec.or_else(|| self.ctx.override_for(*role)))
                    })
                    .collect();
                println!("{}", self.recorder.save(args, &sides)?);
            }
            "pager" => {
                let now = self.pager.set(args)?;
                self.note(&now);
            }
            "sql" => {
                self.sql_side = match args {
                    "off" => None,
                    side => Some(sides::side_named(side).ok_or_else(|| {
                        Error::usage(format!(".sql takes src, dst or off, not `{side}`"))
                    })?),
                };
                self.note(&match self.sql_side {
                    Some(role) => format!(
                        "every line is SQL on {} until .sql off",
                        sides::global_name(role)
                    ),
                    None => "SQL mode off: lines are Lua".into(),
                });
            }
            "x" => {
                self.expanded = Expanded::parse(args).ok_or_else(|| {
                    Error::usage(format!(".x takes on, off or auto, not `{args}`"))
                })?;
                self.note(&format!("vertical output: {args}"));
            }
            "rehash" => {
                for (_, role) in sides::SIDES {
                    if let Some(db) = self.ctx.open_session(role) {
                        self.cache.refresh(role, &db.borrow().spec);
                    }
                }
                self.cache.wait(std::time::Duration::from_secs(60));
                println!("schema cache: {}", self.cache.summary());
            }
            "quit" | "exit" | "q" => self.quit = true,
            other => {
                return Err(Error::usage(format!(
                    "unknown command `.{other}`; .help lists the commands"
                )))
            }
        }
        Ok(())
    }

    /// Runs `f` timed and cancellable, prints what it returns (or its error) and keeps
    /// the first value in `_`.
    fn execute(
        &mut self,
        line: &str,
        vertical: bool,
        f: impl FnOnce(&Lua) -> mlua::Result<MultiValue>,
        rows: bool,
    ) {
        let started = Instant::now();
        let (result, cancelled) = match &self.canceller {
            Some(c) => c.during(&self.state, sides::busy_sessions(&self.ctx), || {
                f(&self.state)
            }),
            None => (f(&self.state), false),
        };
        if cancelled {
            // Over the `^C` the terminal echoed, and a copy's progress line.
            eprint!(
                "{}",
                if std::io::stderr().is_terminal() {
                    "\r\x1b[K"
                } else {
                    "\r"
                }
            );
            // A copy stops after its current page and says so; a query was killed.
            let stop = result
                .err()
                .map(|e| crate::conn_spec::mask_urls(&lua::to_error(&e).to_string()))
                .filter(|m| stopped::is_stop(m));
            match stop {
                Some(m) => self.fail(&format!(
                    "cancelled (Ctrl-C); {}",
                    stopped::at_prompt(&m).replacen(
                        "stopped by Ctrl-C (SIGINT)",
                        "the copy stopped",
                        1
                    )
                )),
                None => self.fail("cancelled (Ctrl-C); a running query was ended on its server"),
            }
            return;
        }
        let style = Style {
            expanded: if vertical {
                Expanded::On
            } else {
                self.expanded
            },
            width: show::terminal_width(),
            elapsed: self.interactive.then(|| started.elapsed()),
        };
        match result {
            Ok(values) => {
                if let Some(first) = values.front().filter(|v| !v.is_nil()) {
                    let _ = self.state.globals().set("_", first.clone());
                }
                let mut out = String::new();
                for v in &values {
                    let text = match (rows, v) {
                        (false, LuaValue::Integer(n)) => {
                            show::count_line(*n as usize, "row affected", &style)
                        }
                        _ => show::show(&self.state, v, &style),
                    };
                    out.push_str(&text);
                    out.push('\n');
                }
                self.pager.print(&out);
            }
            Err(e) => {
                let message = stopped::at_prompt(&crate::conn_spec::mask_urls(
                    &lua::to_error(&e).to_string(),
                ));
                // `src.tables()`: the binding's complaint about `self` helps nobody.
                match help::colon_hint(line) {
                    Some(hint) => self.fail(&hint),
                    None => self.fail(&message),
                }
            }
        }
    }

    /// Starts filling the schema cache of a side whose session is new or changed.
    fn follow_sides(&self) {
        for (_, role) in sides::SIDES {
            let spec = self
                .ctx
                .open_session(role)
                .map(|db| db.borrow().spec.clone());
            self.cache.follow(role, spec.as_ref());
        }
    }

    /// Refills the schema cache of both sides after a statement that may have made,
    /// dropped or changed tables (`copy{..., create = true}`, `dst> CREATE TABLE`), so
    /// Tab knows them without `.rehash`.
    fn refresh_after(&self, line: &str) {
        if line.trim_start().starts_with('.') {
            return;
        }
        for (_, role) in sides::SIDES {
            let spec = self
                .ctx
                .open_session(role)
                .map(|db| db.borrow().spec.clone());
            self.cache.after_statement(line, role, spec.as_ref());
        }
    }

    /// What a setting became, at a terminal (a script stays quiet).
    fn note(&self, message: &str) {
        if self.interactive {
            println!("{message}");
        }
    }

    fn fail(&mut self, message: &str) {
        self.failures += 1;
        self.last_error = Some(message.to_string());
        eprintln!("error: {message}");
    }
}

/// Evaluates one chunk (as an expression first) and returns its values.
fn eval(state: &Lua, code: &str) -> mlua::Result<MultiValue> {
    match state
        .load(format!("return {code}"))
        .set_name("=repl")
        .into_function()
    {
        Ok(f) => f.call::<MultiValue>(()),
        Err(_) => state.load(code).set_name("=repl").eval::<MultiValue>(),
    }
}
