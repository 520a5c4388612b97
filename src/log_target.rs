//! Log targets every layer may name: `FILE_ONLY` marks lines meant for the log file
//! alone (per-page lines and the like), which the terminal logger leaves to the
//! progress display. It sits under `db`, the engine and the terminal, so each can
//! log such lines without importing the layers above it.

/// Log target for lines that go to the log file only (per-page lines and the like).
pub const FILE_ONLY: &str = "ferry::file";

/// Log target of the check report a run stops on (file only): a face that shows the
/// run (`ferry ui`) picks the report out of the log by it.
pub const CHECK_REPORT: &str = "ferry::file::check_report";
