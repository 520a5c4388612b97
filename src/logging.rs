//! Logging: every run appends to a log file (timestamp, level, message; per-page lines
//! included) and shows job messages and warnings on the terminal (per-page lines are
//! left to the progress display).

use std::fs::OpenOptions;
use std::path::Path;

use simplelog::{
    ColorChoice, CombinedLogger, ConfigBuilder, LevelFilter, SharedLogger, TermLogger,
    TerminalMode, WriteLogger,
};

use crate::error::Error;
use crate::progress::FILE_ONLY;

/// Starts logging to `file` (appending) and to the terminal.
pub fn init(file: &Path, quiet: bool) -> Result<(), Error> {
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
    let term_config = ConfigBuilder::new()
        .set_time_level(LevelFilter::Off)
        .set_target_level(LevelFilter::Off)
        .set_thread_level(LevelFilter::Off)
        .set_location_level(LevelFilter::Off)
        .add_filter_allow_str("ferry")
        .add_filter_ignore_str(FILE_ONLY)
        .build();
    let loggers: Vec<Box<dyn SharedLogger>> = vec![
        WriteLogger::new(LevelFilter::Info, file_config, f),
        TermLogger::new(
            if quiet {
                LevelFilter::Warn
            } else {
                LevelFilter::Info
            },
            term_config,
            TerminalMode::Stderr,
            ColorChoice::Auto,
        ),
    ];
    // A second init in one process (tests) keeps the first logger.
    let _ = CombinedLogger::init(loggers);
    Ok(())
}
