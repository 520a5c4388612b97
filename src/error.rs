//! The one error type that reaches `main`. Each variant carries the facts its message
//! needs, and the variant decides the exit status: 2 when the job is wrong (flags, script,
//! plan), 1 when a database or the data is (connection, server error, a row that fails).
//! No message ever holds a password: URLs are always shown through `ConnSpec`'s redacting
//! `Display`.

use std::fmt;
use std::sync::Arc;

/// What an error was caused by (a server or driver error, a row codec's, a file's),
/// kept for `source()`; messages are rendered from the variant's own fields, so a
/// cause never adds text to what the user sees.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// The "signal" of a stop asked for by a background copy's `h:stop()` (`ferry repl`):
/// a number no signal has.
pub const STOP_ASKED: i32 = 1000;

#[derive(Debug, Clone)]
pub enum Error {
    /// Bad flags or arguments.
    Usage { message: String },
    /// A Lua error in the job script (syntax or runtime), already rendered with file:line.
    Script { message: String },
    /// Every problem the plan pass found, across all copies. `rows_only`: every
    /// problem is a row the sample run rejected (a data problem, exit 1).
    Plan {
        problems: Vec<String>,
        rows_only: bool,
    },
    /// Could not connect (refused, unreachable, access denied).
    Connect { url: String, message: String },
    /// A server error while doing `context`; `cause` keeps the error it came from.
    Database {
        context: String,
        message: String,
        cause: Option<Cause>,
    },
    /// A row could not be copied (a transform raised, the target rejected a value).
    Row(Box<RowError>),
    /// A copy failed other than on a row (which names its copy itself): which copy,
    /// and where in the job, since with `job{parallel = N}` the script may be elsewhere
    /// when the failure is collected.
    Copy {
        copy: String,
        location: String,
        error: Box<Error>,
    },
    /// A file could not be read or written.
    Io { path: String, message: String },
    /// The machine refused something ferry needs (a thread, the terminal's line editor).
    System { what: String, message: String },
    /// The demo or another self-check saw something wrong.
    Check { message: String },
    /// `ferry check` found values a copy would refuse or change (the report is printed
    /// already): the job must change before it runs, exit 2.
    Hazards { message: String },
    /// A job's `check` query found the target not as the job expects (`owner`:
    /// `job.lua:7: copy orders`; `expect`: `true` or `no rows`; `found`: what it
    /// returned instead).
    CheckFailed {
        owner: String,
        query: String,
        expect: &'static str,
        found: String,
    },
    /// Ctrl-C or SIGTERM stopped the run after the pages in flight; state is saved.
    /// `met`: an error the run had met besides the stop, shown with it, never hidden.
    Interrupted {
        signal: i32,
        met: Option<Box<Error>>,
    },
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Plan {
                rows_only: true, ..
            } => 1,
            Error::Usage { .. }
            | Error::Script { .. }
            | Error::Plan { .. }
            | Error::Hazards { .. } => 2,
            Error::Connect { .. }
            | Error::Database { .. }
            | Error::Row(_)
            | Error::Io { .. }
            | Error::System { .. }
            | Error::Check { .. }
            | Error::CheckFailed { .. } => 1,
            Error::Interrupted { signal, .. } => (128 + signal).clamp(0, 255) as u8,
            Error::Copy { error, .. } => error.exit_code(),
        }
    }

    /// This error of a copy, naming the copy and its place in the job (a row error and
    /// a stop by a signal are left as they are).
    pub fn in_copy(self, copy: &str, location: &str) -> Error {
        match self {
            e @ (Error::Row(_) | Error::Interrupted { .. } | Error::Copy { .. }) => e,
            e => Error::Copy {
                copy: copy.to_string(),
                location: location.to_string(),
                error: Box::new(e),
            },
        }
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
        }
    }

    /// A database error told as text only.
    pub fn database(context: impl Into<String>, err: impl fmt::Display) -> Error {
        Error::Database {
            context: context.into(),
            message: err.to_string(),
            cause: None,
        }
    }

    /// A database error that keeps the error it came from as its `source()`.
    pub fn database_caused<E>(context: impl Into<String>, err: E) -> Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::Database {
            context: context.into(),
            message: err.to_string(),
            cause: Some(Arc::new(err)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage { message } => write!(f, "{message}"),
            Error::Script { message } => write!(f, "{message}"),
            Error::Plan { problems, .. } => {
                let n = problems.len();
                write!(
                    f,
                    "the job has {n} problem{}; nothing was written:",
                    if n == 1 { "" } else { "s" }
                )?;
                for p in problems {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
            Error::Connect { url, message } => {
                write!(f, "cannot connect to {url}: {message}")
            }
            Error::Database {
                context, message, ..
            } => write!(f, "{context}: {message}"),
            Error::Row(row) => write!(f, "{row}"),
            Error::Copy {
                copy,
                location,
                error,
            } => write!(f, "{location}: copy {copy}: {error}"),
            Error::Io { path, message } => write!(f, "{path}: {message}"),
            Error::System { what, message } => write!(f, "{what}: {message}"),
            Error::Check { message } | Error::Hazards { message } => write!(f, "{message}"),
            Error::CheckFailed {
                owner,
                query,
                expect,
                found,
            } => write!(
                f,
                "{owner}: check failed: `{query}` returned {found}, expected {}",
                if *expect == "no rows" {
                    "no rows"
                } else {
                    "a true first column (not NULL, not 0)"
                }
            ),
            Error::Interrupted { signal, met } => {
                write!(
                    f,
                    "stopped by {} after the pages in flight; every committed page is \
                     checkpointed: run again with --resume to continue",
                    match *signal {
                        2 => "Ctrl-C (SIGINT)",
                        15 => "SIGTERM",
                        crate::error::STOP_ASKED => "h:stop()",
                        _ => "a signal",
                    }
                )?;
                match met {
                    Some(e) => write!(f, "\nbefore the stop, the run had met this error: {e}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Database {
                cause: Some(cause), ..
            } => Some(cause.as_ref()),
            Error::Copy { error, .. } => Some(error.as_ref()),
            Error::Interrupted { met: Some(e), .. } => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// A target column a row error names, and the row's value there (`None`: not among the
/// values ferry sends, e.g. a `default` of raw SQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Culprit {
    pub column: String,
    pub value: Option<String>,
}

/// A row that could not be copied: the copy and where it is in the job, the page, the
/// row's source key, the target columns the message names with the row's values there,
/// and the message (a transform's error, or the server's without its "at row N").
#[derive(Debug, Clone)]
pub struct RowError {
    pub copy: String,
    /// `file:line` of the copy in the job.
    pub location: String,
    pub page: u64,
    /// The row's source key (`id=7`), or its place in a keyless stream.
    pub key: String,
    pub culprits: Vec<Culprit>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RowError {
            copy,
            location,
            page,
            key,
            culprits,
            message,
        } = self;
        write!(f, "{location}: copy {copy}, page {page}, row {key}")?;
        for (i, c) in culprits.iter().enumerate() {
            let label = match (i, culprits.len()) {
                (0, 1) => ", column ",
                (0, _) => ", columns ",
                _ => ", ",
            };
            write!(f, "{label}`{}`", c.column)?;
            if let Some(v) = &c.value {
                write!(f, " = {v}")?;
            }
        }
        write!(
            f,
            ": {message}; page {page} was rolled back (the pages before it are committed): \
             fix the row (its data, the target table or the transform), then run the job \
             again with --resume to continue from that page"
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod exit_tests {
    use super::*;

    #[test]
    fn the_variant_alone_decides_the_exit_status() {
        let db = || Error::database("reading t", "gone");
        assert_eq!(Error::usage("bad flag").exit_code(), 2);
        assert_eq!(
            Error::Script {
                message: "x".into()
            }
            .exit_code(),
            2
        );
        assert_eq!(
            Error::Plan {
                problems: vec!["p".into()],
                rows_only: false
            }
            .exit_code(),
            2
        );
        assert_eq!(db().exit_code(), 1);
        let system = Error::System {
            what: "cannot start a reader thread".into(),
            message: "no memory".into(),
        };
        assert_eq!(system.exit_code(), 1, "not the job's fault");
        let copy = db().in_copy("t", "job.lua:3");
        assert_eq!(copy.exit_code(), 1);
        assert_eq!(copy.to_string(), "job.lua:3: copy t: reading t: gone");
        let stop = |signal, met| Error::Interrupted { signal, met };
        assert_eq!(stop(2, None).exit_code(), 130);
        assert_eq!(stop(15, Some(Box::new(db()))).exit_code(), 143);
    }

    #[test]
    fn every_variant_has_its_exit_status() {
        let plan = |rows_only| Error::Plan {
            problems: vec!["p".into()],
            rows_only,
        };
        assert_eq!(plan(true).exit_code(), 1, "rows the sample run rejected");
        assert_eq!(plan(false).exit_code(), 2);
        let connect = Error::Connect {
            url: "mysql://app:***@db1:3306/crm".into(),
            message: "refused".into(),
        };
        assert_eq!(connect.exit_code(), 1);
        assert_eq!(
            connect.to_string(),
            "cannot connect to mysql://app:***@db1:3306/crm: refused"
        );
        let row = Error::Row(Box::new(RowError {
            copy: "t".into(),
            location: "job.lua:3".into(),
            page: 2,
            key: "id=7".into(),
            culprits: Vec::new(),
            message: "boom".into(),
        }));
        assert_eq!(row.exit_code(), 1);
        assert_eq!(row.clone().in_copy("t", "job.lua:3").exit_code(), 1);
        let io = Error::Io {
            path: "state.json".into(),
            message: "denied".into(),
        };
        assert_eq!(io.exit_code(), 1);
        assert_eq!(io.to_string(), "state.json: denied");
        let check = Error::Check {
            message: "differs".into(),
        };
        assert_eq!(check.exit_code(), 1);
        let hazards = Error::Hazards {
            message: "2 blocking hazards".into(),
        };
        assert_eq!(hazards.exit_code(), 2);
        assert_eq!(Error::usage("x").in_copy("t", "j:1").exit_code(), 2);
        let odd = Error::Interrupted {
            signal: 1,
            met: None,
        };
        assert_eq!(odd.exit_code(), 129);
        assert!(odd.to_string().starts_with("stopped by a signal"));
    }

    #[test]
    fn a_stop_shows_the_error_it_met() {
        let e = Error::Interrupted {
            signal: 15,
            met: Some(Box::new(Error::database(
                "writing into d.t",
                "Data too long",
            ))),
        };
        assert_eq!(
            e.to_string(),
            "stopped by SIGTERM after the pages in flight; every committed page is \
             checkpointed: run again with --resume to continue\n\
             before the stop, the run had met this error: writing into d.t: Data too long"
        );
    }

    #[test]
    fn a_database_error_keeps_its_cause_without_adding_to_the_message() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "packet cut short");
        let e = Error::database_caused("source s: reading t", io);
        assert_eq!(e.to_string(), "source s: reading t: packet cut short");
        let cause = e.source().expect("the cause is kept");
        let io = cause
            .downcast_ref::<std::io::Error>()
            .expect("an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::UnexpectedEof);
        // A copy's error leads to the error it wraps, and that one to its cause.
        let copy = e.clone().in_copy("c", "job.lua:3");
        assert_eq!(copy.source().unwrap().to_string(), e.to_string());
        assert!(copy.source().unwrap().source().is_some());
        assert!(Error::database("ctx", "text only").source().is_none());
    }
}
