//! A run's lines and progress as events. The logger is process-wide, so `ferry ui`
//! installs one that hands each `ferry` line to the run going (if any): into the run's
//! log file, as `ferry run` writes it, and to the page as a `log` event. Lines logged
//! by the server's own threads (named `ferry-ui`: previews, `try`, checks) are not the
//! run's and are left out. The progress sink does what the terminal's does for the log
//! file (`CopyProgress`, without a display) and sends each page's figures as a
//! `progress` event.

use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use log::{Level, LevelFilter, Log, Metadata, Record};
use serde_json::json;
use simplelog::WriteLogger;

use super::{lock, Run};
use crate::engine::{CopyProgressSink, ProgressSink};
use crate::error::Result;
use crate::log_target::{CHECK_REPORT, FILE_ONLY};
use crate::progress::{CopyProgress, Display};

/// The name of the server's threads, whose lines are not a run's.
pub const SERVER_THREADS: &str = "ferry-ui";

/// Log target of what the page did to the run going (paused it, ...): the run's lines
/// though the server's threads log them.
pub const RUN_NOTE: &str = "ferry::file::ui_run";

struct Current {
    run: Arc<Run>,
    file: Box<WriteLogger<File>>,
}

fn current() -> &'static Mutex<Option<Current>> {
    static CURRENT: OnceLock<Mutex<Option<Current>>> = OnceLock::new();
    CURRENT.get_or_init(|| Mutex::new(None))
}

/// Installs the logger that feeds runs (once per process; a logger already there, as
/// in a test process, is kept).
pub fn install_logger() {
    if log::set_boxed_logger(Box::new(Feed)).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}

/// From now on the `ferry` lines go to `run` and to the log file `log`.
pub(super) fn attach(run: Arc<Run>, log: &Path) -> Result<()> {
    let file = crate::logging::file_logger(log)?;
    *lock(current()) = Some(Current { run, file });
    Ok(())
}

/// The run is over: its lines end here.
pub(super) fn detach() {
    if let Some(c) = lock(current()).take() {
        c.file.flush();
    }
}

struct Feed;

impl Log for Feed {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= Level::Info && m.target().starts_with("ferry")
    }

    fn log(&self, record: &Record) {
        let server = std::thread::current().name() == Some(SERVER_THREADS);
        if !self.enabled(record.metadata()) || (server && record.target() != RUN_NOTE) {
            return;
        }
        let current = lock(current());
        let Some(c) = current.as_ref() else {
            return;
        };
        c.file.log(record);
        let text = crate::conn_spec::mask_urls(&record.args().to_string());
        if record.target() == CHECK_REPORT {
            c.run.set_report(text.clone());
        }
        c.run.emit(
            "log",
            json!({
                "level": record.level().as_str().to_lowercase(),
                "text": text,
                // Per-page lines and the like: the log file's, not the terminal's.
                "detail": record.target().starts_with(FILE_ONLY),
            }),
        );
    }

    fn flush(&self) {
        if let Some(c) = lock(current()).as_ref() {
            c.file.flush();
        }
    }
}

/// The run's progress sink: each copy's pages as `progress` events.
pub(super) struct Progress(pub Arc<Run>);

impl ProgressSink for Progress {
    fn start(&self, copy: &str, total: u64, parts: u32, resumed: u64) -> Box<dyn CopyProgressSink> {
        let quiet = Display {
            quiet: true,
            tty: false,
        };
        let mut log = CopyProgress::start(copy, total, quiet);
        log.parts = parts;
        if resumed > 0 {
            log.resume(resumed);
        }
        let sink = CopySink {
            run: self.0.clone(),
            log,
            copy: copy.to_string(),
            done: resumed,
            written: 0,
        };
        sink.send(None, false);
        Box::new(sink)
    }
}

struct CopySink {
    run: Arc<Run>,
    log: CopyProgress,
    copy: String,
    done: u64,
    written: u64,
}

impl CopySink {
    fn send(&self, phase: Option<&str>, finished: bool) {
        // The terminal's and the log's figures; a finished copy is all there.
        let f = self.log.figures(self.done);
        let (total, eta, percent) = match finished {
            true => (self.done, None, 100.0),
            false => (f.total, f.eta, f.percent),
        };
        let rate = f.rate;
        self.run.emit(
            "progress",
            json!({
                "copy": self.copy,
                "rows": self.done,
                "written": self.written,
                "total": total,
                "rows_per_s": rate.round(),
                "eta_s": eta.map(f64::round),
                "percent": (percent * 10.0).round() / 10.0,
                "phase": phase,
                "finished": finished,
            }),
        );
    }
}

impl CopyProgressSink for CopySink {
    fn page(&mut self, part: u32, page: u64, done: u64, written: u64) {
        self.log.page(part, page, done, written);
        self.done = done;
        self.written = written;
        self.send(None, false);
    }

    fn phase(&mut self, what: &str) {
        self.log.phase(what);
        self.send(Some(what), false);
    }

    fn finish(&mut self, summary: &str) {
        self.log.finish(summary);
        self.send(Some(summary), true);
    }

    fn abandon(&mut self) {
        self.log.abandon();
        self.send(Some("stopped"), false);
    }
}
