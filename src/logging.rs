//! Logging: every run appends to a log file (timestamp, level, message; per-page lines
//! included) and shows job messages and warnings on the terminal (per-page lines are
//! left to the progress display).

use std::fs::{File, OpenOptions};
use std::path::Path;

use log::{Level, Log, Metadata, Record};
use simplelog::{CombinedLogger, Config, ConfigBuilder, LevelFilter, SharedLogger, WriteLogger};

use crate::error::Error;
use crate::progress::FILE_ONLY;

/// Starts logging to `file` (appending) and to the terminal.
pub fn init(file: &Path, quiet: bool) -> Result<(), Error> {
    let loggers: Vec<Box<dyn SharedLogger>> = vec![
        file_logger(file)?,
        Box::new(Terminal {
            level: if quiet {
                LevelFilter::Warn
            } else {
                LevelFilter::Info
            },
            config: ConfigBuilder::new().build(),
        }),
    ];
    // A second init in one process (tests) keeps the first logger.
    let _ = CombinedLogger::init(loggers);
    Ok(())
}

/// The log file's logger (appending to `file`): timestamp, level, message, of every
/// `ferry` line at info and above. `ferry ui` writes its runs' lines through one.
pub fn file_logger(file: &Path) -> Result<Box<WriteLogger<File>>, Error> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|e| Error::Io {
            path: file.display().to_string(),
            message: format!("cannot open the log file: {e}"),
        })?;
    let file_config = ConfigBuilder::new()
        .set_time_format_rfc3339()
        .set_time_offset_to_local()
        .unwrap_or_else(|b| b)
        .set_target_level(LevelFilter::Off)
        .set_thread_level(LevelFilter::Off)
        .set_location_level(LevelFilter::Off)
        .add_filter_allow_str("ferry")
        .build();
    Ok(WriteLogger::new(LevelFilter::Info, file_config, f))
}

/// Job messages and warnings on stderr, as plain lines. Errors are left to `main`,
/// which prints the one that ends the run; per-page lines are left to the progress
/// display.
struct Terminal {
    level: LevelFilter,
    config: Config,
}

impl Log for Terminal {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= self.level
            && m.level() != Level::Error
            && m.target().starts_with("ferry")
            && !m.target().starts_with(FILE_ONLY)
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        match record.level() {
            Level::Warn => {
                crate::progress::CopyProgress::println(&format!("warning: {}", record.args()))
            }
            _ => crate::progress::CopyProgress::println(&record.args().to_string()),
        }
    }

    fn flush(&self) {}
}

impl SharedLogger for Terminal {
    fn level(&self) -> LevelFilter {
        self.level
    }

    fn config(&self) -> Option<&Config> {
        Some(&self.config)
    }

    fn as_log(self: Box<Self>) -> Box<dyn Log> {
        self
    }
}
