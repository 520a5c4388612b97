//! Progress of a verify: chunks checked, on stderr (a bar on a terminal, else a line
//! every few seconds; nothing with `--quiet`), and a line per chunk in the log file.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::{Display, FILE_ONLY};

/// Chunks done, on stderr: a bar on a terminal, else a line every few seconds; a line
/// per chunk in the log file.
pub(super) struct ChunkProgress {
    name: String,
    total: usize,
    bar: Option<ProgressBar>,
    last_line: Instant,
    display: Display,
}

impl ChunkProgress {
    pub(super) fn start(name: &str, total: usize, display: Display) -> ChunkProgress {
        let bar = (display.tty && !display.quiet).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "verify {prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} chunks ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(name.to_string());
            bar
        });
        log::info!(target: FILE_ONLY, "verify {name}: started, {total} chunk(s) to check");
        ChunkProgress {
            name: name.to_string(),
            total,
            bar,
            last_line: Instant::now(),
            display,
        }
    }

    pub(super) fn chunk(&mut self, done: usize, what: &str, differ: u64) {
        let outcome = if differ == 0 {
            "equal".to_string()
        } else {
            format!("{differ} row(s) differ")
        };
        log::info!(
            target: FILE_ONLY,
            "verify {}: {what}: {outcome} ({done}/{} checked)",
            self.name,
            self.total
        );
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
        } else if !self.display.quiet && self.last_line.elapsed() > Duration::from_secs(2) {
            self.last_line = Instant::now();
            eprintln!("verify {}: {done}/{} chunks checked", self.name, self.total);
        }
    }

    pub(super) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for ChunkProgress {
    fn drop(&mut self) {
        self.finish();
    }
}
