//! The command line: clap types end here. `main` parses arguments, turns them into
//! each command's own config (URLs parsed, `--var` pairs split), and runs it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::conn_spec::ConnSpec;
use crate::error::{Error, Result};

#[derive(Parser, Debug)]
#[command(
    name = "ferry",
    version,
    about = "Move rows from one MySQL/MariaDB database into another, driven by Lua jobs"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

/// What every command that runs a job takes: the script, connection overrides and
/// `--var` pairs.
#[derive(clap::Args, Debug)]
struct JobArgs {
    /// The Lua job script.
    job: PathBuf,
    /// Source database URL (overrides the script's `source`). On Linux (glibc) a
    /// password in it is overwritten in the process list once read, but shows there
    /// for the first milliseconds (elsewhere it stays): prefer ?password-env=VAR,
    /// ?password-file=PATH or FERRY_SOURCE_PASSWORD.
    #[arg(long, env = "FERRY_SOURCE", hide_env_values = true)]
    source: Option<String>,
    /// Target database URL (overrides the script's `target`); as with --source, prefer
    /// ?password-env=VAR, ?password-file=PATH or FERRY_TARGET_PASSWORD to a password in
    /// the URL.
    #[arg(long, env = "FERRY_TARGET", hide_env_values = true)]
    target: Option<String>,
    /// A KEY=VALUE pair the script reads as `vars.KEY`; repeatable.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    vars: Vec<String>,
}

/// A job's script, overrides and vars, parsed.
struct Job {
    path: PathBuf,
    source: Option<ConnSpec>,
    target: Option<ConnSpec>,
    vars: Vec<(String, String)>,
}

impl Job {
    /// What `ferry run` (and `ferry state`, which runs the plan pass) needs.
    fn run_config(
        self,
        log: PathBuf,
        dry_run: bool,
        quiet: bool,
        flags: crate::job::RunFlags,
    ) -> crate::run::RunConfig {
        crate::run::RunConfig {
            job: self.path,
            source: self.source,
            target: self.target,
            log,
            vars: self.vars,
            dry_run,
            quiet,
            flags,
            replay: None,
            control: None,
        }
    }
}

impl JobArgs {
    fn parse(self) -> Result<Job> {
        let (source, target) = (url(self.source, "source")?, url(self.target, "target")?);
        let vars = vars(self.vars)?;
        Ok(Job {
            path: job_file(self.job)?,
            source,
            target,
            vars,
        })
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a job: check every copy first (plan pass), then copy for real.
    Run {
        #[command(flatten)]
        job: JobArgs,
        /// Log file to append to.
        #[arg(long, default_value = "ferry.log")]
        log: PathBuf,
        /// Resolve every copy and print the plan; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print only the summary.
        #[arg(long, short)]
        quiet: bool,
        /// Continue each copy after its last committed page; skip finished copies.
        #[arg(long)]
        resume: bool,
        /// With --resume: start over a copy whose plan changed since its state was
        /// written, instead of refusing.
        #[arg(long, requires = "resume")]
        force: bool,
        /// Ignore the high-water marks of incremental copies (`since`): copy every row.
        #[arg(long)]
        full: bool,
        /// Skip the check of the source values before the real pass (`ferry check`):
        /// each page still refuses a value the target would change.
        #[arg(long)]
        no_check: bool,
        /// Copy again just the source rows of a rejects file (`on_error = "reject"`),
        /// read by key, through the job as it is now; copies the file does not name
        /// are left out.
        #[arg(long, value_name = "REJECTS", conflicts_with = "resume")]
        replay: Option<PathBuf>,
    },
    /// Scan the source for values each copy would refuse or change; write nothing.
    /// Exit 2 when a hazard blocks the job.
    Check {
        #[command(flatten)]
        job: JobArgs,
        /// Log file to append to.
        #[arg(long, default_value = "ferry.log")]
        log: PathBuf,
        /// Print the report as JSON (docs/guide/check.md).
        #[arg(long)]
        json: bool,
    },
    /// Show what a copy would do with a few source rows (the row after transform, map
    /// and default, the statement, the target row there now); write nothing.
    Explain {
        #[command(flatten)]
        job: JobArgs,
        /// Log file to append to.
        #[arg(long, default_value = "ferry.log")]
        log: PathBuf,
        /// The copy to explain (`users`, or `users -> customers`); repeatable.
        /// Default: every copy of the job.
        #[arg(long = "copy", value_name = "NAME")]
        copies: Vec<String>,
        /// A source key of a row to explain (composite keys comma-separated, or one
        /// part per --key); repeatable.
        #[arg(long = "key", value_name = "K", conflicts_with = "rows")]
        keys: Vec<String>,
        /// Explain the first N rows of the copy's read (default 5).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..10_001))]
        rows: Option<u64>,
        /// Print the report as JSON (docs/guide/explain.md).
        #[arg(long)]
        json: bool,
    },
    /// Show a job's saved state (where each copy got to), or drop it with --clear.
    State {
        #[command(flatten)]
        job: JobArgs,
        /// Drop the job's state (the next run starts every copy over and forgets
        /// incremental marks).
        #[arg(long)]
        clear: bool,
    },
    /// Compare each copy of a job, source vs target: equal, or the keys that differ.
    Verify {
        #[command(flatten)]
        job: JobArgs,
        /// Log file to append to.
        #[arg(long, default_value = "ferry.log")]
        log: PathBuf,
        /// Check only N chunks per copy, spread over the key range (for very large tables).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        sample: Option<u64>,
        /// Print only the report.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Explore both databases in a Lua prompt (`src`, `dst`, and the job API).
    Repl {
        /// A job script to load first (its `source`/`target` are opened, copies are not run).
        job: Option<PathBuf>,
        /// Source database URL (see `ferry run --help` on passwords).
        #[arg(long, env = "FERRY_SOURCE", hide_env_values = true)]
        source: Option<String>,
        /// Target database URL.
        #[arg(long, env = "FERRY_TARGET", hide_env_values = true)]
        target: Option<String>,
    },
    /// List the tables of a database with estimated rows and size.
    Tables {
        /// mysql://user[:password]@host[:port]/database (better: ?password-env=VAR or
        /// FERRY_SOURCE_PASSWORD than a password on the command line)
        url: String,
    },
    /// List a table's columns: name, type, nullable, default, key, extra.
    Columns {
        /// mysql://user[:password]@host[:port]/database (better: ?password-env=VAR or
        /// FERRY_SOURCE_PASSWORD than a password on the command line)
        url: String,
        /// The table.
        table: String,
    },
    /// Serve a local web page over a job: connections, tables, previews, the job's
    /// copies, runs of the job (docs/guide/ui.md). Listens on 127.0.0.1 only, behind a
    /// printed token.
    Ui {
        /// A job script to show (run in the plan pass: nothing is written) and save the
        /// page's edits into; a file that does not exist yet is created on the first save.
        job: Option<PathBuf>,
        /// Source database URL (see `ferry run --help` on passwords).
        #[arg(long, env = "FERRY_SOURCE", hide_env_values = true)]
        source: Option<String>,
        /// Target database URL.
        #[arg(long, env = "FERRY_TARGET", hide_env_values = true)]
        target: Option<String>,
        /// The port to listen on (default: a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Run the demo job on two throwaway local servers.
    Demo {
        /// Rows to seed in the legacy shop (customers + orders).
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
    },
}

fn url(s: Option<String>, what: &str) -> Result<Option<ConnSpec>> {
    s.filter(|s| !s.is_empty())
        .map(|s| ConnSpec::parse(&s).map_err(|m| Error::usage(format!("--{what}: {m}"))))
        .transpose()
}

/// The job script, checked to be a readable file: a missing one is a usage error (exit
/// 2), said before anything connects.
fn job_file(path: PathBuf) -> Result<PathBuf> {
    // A URL given where the job goes (`ferry run mysql://...`) is not echoed whole.
    let shown = crate::conn_spec::mask_urls(&path.display().to_string());
    match std::fs::File::open(&path).and_then(|f| f.metadata()) {
        Ok(m) if m.is_dir() => Err(Error::usage(format!(
            "the job file {shown} is a directory; give the path of a .lua script"
        ))),
        Ok(_) => Ok(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let cwd = match std::env::current_dir() {
                Ok(d) if !path.is_absolute() => format!(" (in {})", d.display()),
                _ => String::new(),
            };
            Err(Error::usage(format!(
                "no job file {shown}{cwd}: check the path"
            )))
        }
        Err(e) => Err(Error::usage(format!(
            "cannot read the job file {shown}: {e}"
        ))),
    }
}

/// `ferry ui JOB`: an existing job file, or a new one the page creates when it saves
/// (its folder must exist).
fn ui_job_file(path: PathBuf) -> Result<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !path.exists() && dir.is_dir() {
        return Ok(path);
    }
    job_file(path)
}

fn vars(pairs: Vec<String>) -> Result<Vec<(String, String)>> {
    pairs
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(Error::usage(format!("--var expects KEY=VALUE, not `{p}`"))),
        })
        .collect()
}

/// Parses the command line and runs the command.
pub fn main() -> Result<()> {
    let parsed = Args::try_parse();
    // clap has copied the arguments: overwrite the passwords in the process's own
    // argv, so `ps` and /proc/PID/cmdline no longer show them.
    argv::hide_passwords();
    let args = match parsed {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                print!("{e}");
                return Ok(());
            }
            // clap's own rendering, without the "error: " our main adds; an argument it
            // quotes may be a URL with its password.
            let text = crate::conn_spec::mask_urls(&e.render().to_string());
            return Err(Error::usage(
                text.trim_start_matches("error: ").trim_end().to_string(),
            ));
        }
    };
    match args.command {
        Command::Run {
            job,
            log,
            dry_run,
            quiet,
            resume,
            force,
            full,
            no_check,
            replay,
        } => {
            let flags = crate::job::RunFlags {
                resume,
                force,
                full,
                no_check,
                verify: false,
            };
            let mut config = job.parse()?.run_config(log, dry_run, quiet, flags);
            config.replay = replay;
            crate::run::run(config).map(|_| ())
        }
        Command::Check { job, log, json } => {
            let job = job.parse()?;
            crate::run::check_job(crate::check::CheckConfig {
                job: job.path,
                source: job.source,
                target: job.target,
                log,
                vars: job.vars,
                json,
            })
            .map(|_| ())
        }
        Command::Explain {
            job,
            log,
            copies,
            keys,
            rows,
            json,
        } => {
            let job = job.parse()?;
            let selection = match rows {
                _ if !keys.is_empty() => crate::explain::Selection::Keys(keys),
                Some(n) => crate::explain::Selection::First(n as usize),
                None => crate::explain::Selection::default(),
            };
            crate::run::explain_job(crate::run::ExplainConfig {
                job: job.path,
                source: job.source,
                target: job.target,
                log,
                vars: job.vars,
                copies,
                selection,
                json,
            })
            .map(|_| ())
        }
        Command::State { job, clear } => {
            let config =
                job.parse()?
                    .run_config("ferry.log".into(), true, true, Default::default());
            crate::run::state(config, clear)
        }
        Command::Verify {
            job,
            log,
            sample,
            quiet,
        } => {
            let job = job.parse()?;
            crate::run::verify(crate::run::VerifyConfig {
                job: job.path,
                source: job.source,
                target: job.target,
                log,
                vars: job.vars,
                sample,
                quiet,
            })
            .map(|_| ())
        }
        Command::Repl {
            job,
            source,
            target,
        } => crate::repl::run(
            job.map(job_file).transpose()?,
            url(source, "source")?,
            url(target, "target")?,
        ),
        Command::Tables { url: u } => {
            crate::introspect::tables(&url(Some(u), "url")?.expect("given"))
        }
        Command::Columns { url: u, table } => {
            crate::introspect::columns(&url(Some(u), "url")?.expect("given"), &table)
        }
        Command::Ui {
            job,
            source,
            target,
            port,
        } => crate::ui::run(crate::ui::UiArgs {
            job: job.map(ui_job_file).transpose()?,
            source: url(source, "source")?,
            target: url(target, "target")?,
            port,
        }),
        Command::Demo { rows } => crate::demo::run(rows),
    }
}

/// The process's own argument strings, for hiding the passwords in them as the mysql
/// client does: the binary registers `capture` in `.init_array` (glibc calls such
/// functions with `argc, argv, envp` before `main`), and `hide_passwords` overwrites
/// the password of every URL in them with `x`s, in place, once clap has read them.
/// Until then (a few milliseconds after start) the password is visible to other users
/// of the machine; `password-env`, `password-file` and `FERRY_SOURCE_PASSWORD` /
/// `FERRY_TARGET_PASSWORD` keep it off the command line altogether.
pub mod argv {
    use std::ffi::{c_char, c_int};
    use std::ops::Range;
    use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

    static ARGC: AtomicUsize = AtomicUsize::new(0);
    static ARGV: AtomicPtr<*mut c_char> = AtomicPtr::new(std::ptr::null_mut());

    /// Remembers the process's argv. Only for the binary's `.init_array` entry.
    ///
    /// # Safety
    /// `argv` must be the process's argument vector of `argc` entries, as the C runtime
    /// passes it to `.init_array` functions.
    pub unsafe extern "C" fn capture(argc: c_int, argv: *mut *mut c_char, _envp: *mut *mut c_char) {
        if argc > 0 && !argv.is_null() {
            ARGC.store(argc as usize, Ordering::SeqCst);
            ARGV.store(argv, Ordering::SeqCst);
        }
    }

    /// Overwrites the password of every URL in the process's arguments with `x`s.
    /// Nothing happens when `capture` did not run (a platform without `.init_array`).
    pub fn hide_passwords() {
        let argv = ARGV.load(Ordering::SeqCst);
        let argc = ARGC.load(Ordering::SeqCst);
        if argv.is_null() {
            return;
        }
        for i in 1..argc {
            // SAFETY: argv holds argc pointers to NUL-terminated strings the process
            // owns for its whole life (the kernel put them on the initial stack).
            unsafe {
                let arg = *argv.add(i);
                if arg.is_null() {
                    break;
                }
                let len = libc::strlen(arg);
                let bytes = std::slice::from_raw_parts_mut(arg as *mut u8, len);
                if let Some(range) = password_range(bytes) {
                    bytes[range].fill(b'x');
                }
            }
        }
    }

    /// Where the password of the URL in `arg` is (`--source=mysql://u:PW@h/db`): from the
    /// first `:` after `://` to the last `@`, as `redact_raw` hides it.
    pub fn password_range(arg: &[u8]) -> Option<Range<usize>> {
        let start = arg.windows(3).position(|w| w == b"://")? + 3;
        let at = start + arg[start..].iter().rposition(|&b| b == b'@')?;
        let colon = start + arg[start..at].iter().position(|&b| b == b':')?;
        (colon + 1 < at).then_some(colon + 1..at)
    }

    #[cfg(test)]
    mod tests {
        use super::password_range;

        #[test]
        fn finds_the_password() {
            fn r(s: &str) -> Option<&str> {
                password_range(s.as_bytes()).map(|r| &s[r])
            }
            assert_eq!(r("mysql://app:pw@h/db"), Some("pw"));
            assert_eq!(r("--source=mysql://app:p/w@x@h:3306/db"), Some("p/w@x"));
            assert_eq!(r("mysql://app@h/db"), None);
            assert_eq!(r("mysql://app:@h/db"), None);
            assert_eq!(r("mysql://h:3306/db"), None);
            assert_eq!(r("run"), None);
        }
    }
}
