//! Progress of one copy: a line in the log file per page (rows so far, total, rows/s,
//! ETA), and on the terminal either a live bar (stderr is a TTY) or a plain line every
//! few seconds; nothing with `--quiet`. `Terminal` hands these to the engine as its
//! progress sink.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use std::sync::OnceLock;

use crate::engine::{CopyProgressSink, ProgressSink};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// All live bars share one terminal area, so copies running at once each keep a line.
fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

pub use crate::log_target::FILE_ONLY;

#[derive(Debug, Clone, Copy)]
pub struct Display {
    pub quiet: bool,
    pub tty: bool,
}

impl Display {
    pub fn detect(quiet: bool) -> Display {
        Display {
            quiet,
            tty: std::io::stderr().is_terminal(),
        }
    }
}

/// The terminal and the log as the engine's progress sink: a `CopyProgress` per copy.
pub struct Terminal {
    display: Display,
}

impl Terminal {
    pub fn new(display: Display) -> Terminal {
        Terminal { display }
    }
}

impl ProgressSink for Terminal {
    fn start(&self, copy: &str, total: u64, parts: u32, resumed: u64) -> Box<dyn CopyProgressSink> {
        let mut progress = CopyProgress::start(copy, total, self.display);
        progress.parts = parts;
        if resumed > 0 {
            progress.resume(resumed);
        }
        Box::new(progress)
    }
}

impl CopyProgressSink for CopyProgress {
    fn page(&mut self, part: u32, page: u64, done: u64, written: u64) {
        CopyProgress::page(self, part, page, done, written)
    }

    fn phase(&mut self, what: &str) {
        CopyProgress::phase(self, what)
    }

    fn finish(&mut self, summary: &str) {
        CopyProgress::finish(self, summary)
    }

    fn abandon(&mut self) {
        CopyProgress::abandon(self)
    }
}

/// Where a copy stands after `done` rows: its total (raised to `done` when the
/// estimate was short), this run's rows/s, the seconds left when known, percent done.
pub struct Figures {
    pub total: u64,
    pub rate: f64,
    pub eta: Option<f64>,
    pub percent: f64,
}

pub struct CopyProgress {
    name: String,
    total: u64,
    start: Instant,
    bar: Option<ProgressBar>,
    last_plain: Instant,
    display: Display,
    /// Rows done by earlier runs.
    base: u64,
    /// Key ranges copied at once.
    pub parts: u32,
}

impl CopyProgress {
    pub fn start(name: &str, total: u64, display: Display) -> CopyProgress {
        let bar = if display.tty && !display.quiet {
            let bar = bars().add(ProgressBar::new(total));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:.bold} [{bar:30.cyan/blue}] {human_pos}/{human_len} rows \
                     {rate:.green} ETA {eta}",
                )
                .expect("valid template")
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} rows/s", state.per_sec());
                    },
                )
                .progress_chars("=> "),
            );
            bar.set_prefix(name.to_string());
            Some(bar)
        } else {
            None
        };
        log::info!(target: FILE_ONLY, "copy {name}: started, about {total} rows");
        CopyProgress {
            name: name.to_string(),
            total,
            start: Instant::now(),
            bar,
            last_plain: Instant::now(),
            display,
            base: 0,
            parts: 1,
        }
    }

    /// The copy's figures after `done` rows (this run's and earlier runs').
    pub fn figures(&self, done: u64) -> Figures {
        let secs = self.start.elapsed().as_secs_f64().max(1e-6);
        let rate = done.saturating_sub(self.base) as f64 / secs;
        let eta = (rate > 0.0 && self.total > done).then(|| (self.total - done) as f64 / rate);
        let percent = if self.total > 0 {
            (done as f64 * 100.0 / self.total as f64).min(100.0)
        } else {
            100.0
        };
        Figures {
            total: self.total.max(done),
            rate,
            eta,
            percent,
        }
    }

    /// Rows an earlier run copied (`--resume`): the bar starts there and rates count
    /// only this run's rows.
    pub fn resume(&mut self, done: u64) {
        self.base = done;
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.reset_eta();
        }
    }

    /// After each committed page of `part` (its `page`th): `done` source rows read so
    /// far, this run and earlier ones.
    pub fn page(&mut self, part: u32, page: u64, done: u64, written: u64) {
        if done > self.total {
            self.total = done;
            if let Some(bar) = &self.bar {
                bar.set_length(done);
            }
        }
        let Figures {
            rate,
            eta,
            percent: pct,
            ..
        } = self.figures(done);
        let eta = eta.map_or_else(|| "0s".into(), format_secs);
        let line = format!(
            "copy {}: page {page}{}, {done}/{} rows ({pct:.1}%), {written} written, {:.0} rows/s, ETA {eta}",
            self.name,
            if self.parts > 1 {
                format!(" of range {}", part + 1)
            } else {
                String::new()
            },
            self.total,
            rate
        );
        log::info!(target: FILE_ONLY, "{line}");
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        } else if !self.display.quiet && self.last_plain.elapsed() > Duration::from_secs(2) {
            self.last_plain = Instant::now();
            eprintln!("{line}");
        }
    }

    /// A step after the rows that has no row count (building indexes): the bar shows
    /// what is being done and for how long; without a bar, a line says it.
    pub fn phase(&mut self, what: &str) {
        log::info!(target: FILE_ONLY, "copy {}: {what}", self.name);
        if let Some(bar) = &self.bar {
            bar.set_style(
                ProgressStyle::with_template("{prefix:.bold} {msg} {elapsed}")
                    .expect("valid template"),
            );
            bar.set_message(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(500));
        } else if !self.display.quiet {
            eprintln!("copy {}: {what}", self.name);
        }
    }

    pub fn finish(&mut self, summary: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        log::info!(target: FILE_ONLY, "copy {}: {summary}", self.name);
        if !self.display.quiet {
            eprintln!("copy {}: {summary}", self.name);
        }
    }

    pub fn abandon(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }

    /// Prints a message without tearing the bars.
    pub fn println(msg: &str) {
        if bars().is_hidden() {
            eprintln!("{msg}");
        } else {
            let _ = bars().println(msg);
        }
    }
}

pub fn format_secs(s: f64) -> String {
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
