//! Copies run in the background (the REPL's `copy{..., background = true}`): each on a
//! thread of its own with an engine of its own, opened from the job's connection specs,
//! so the prompt stays usable. A copy is controlled through its `Background`: pause,
//! resume, a rows-per-second limit (`engine::Pace`, taken between pages), a stop after
//! the current page (its own `Stop`), and wait; its progress (rows, rows/s, ETA) comes
//! from the engine's progress sink. Only copies without Lua code run here: the Lua
//! state stays on the prompt's thread.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::db::Role;
use crate::engine::{
    CopyProgressSink, CopyStats, CopyTask, Engine, EngineConfig, Pace, ProgressSink, Stop,
};
use crate::error::{Error, Result};
use crate::job::Job;

/// What a background copy is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    Paused,
    Stopping,
    Done,
    Stopped,
    Failed,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Paused => "paused",
            State::Stopping => "stopping",
            State::Done => "done",
            State::Stopped => "stopped",
            State::Failed => "failed",
        }
    }
}

#[derive(Debug, Default)]
struct Progress {
    total: u64,
    done: u64,
    resumed: u64,
    started: Option<Instant>,
    /// The rows/s of the last stretch: (when, rows done then).
    mark: Option<(Instant, u64)>,
    rate: f64,
}

/// A copy's progress as `.jobs` shows it.
#[derive(Debug, Clone)]
pub struct Status {
    pub number: usize,
    pub name: String,
    pub state: State,
    pub rows: u64,
    pub total: u64,
    /// Over the last few seconds (the whole run at first).
    pub rows_per_second: f64,
    /// Seconds left at that rate, while running.
    pub eta: Option<f64>,
    /// The rows-per-second limit set with `throttle`.
    pub limit: Option<f64>,
    pub error: Option<String>,
}

/// One background copy.
pub struct Background {
    pub number: usize,
    pub name: String,
    stop: Stop,
    pace: Arc<Pace>,
    progress: Arc<Mutex<Progress>>,
    result: Arc<Mutex<Option<Result<CopyStats>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "background copy {} ({})", self.number, self.name)
    }
}

struct Sink(Arc<Mutex<Progress>>);
struct CopySink(Arc<Mutex<Progress>>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ProgressSink for Sink {
    fn start(&self, _: &str, total: u64, _: u32, resumed: u64) -> Box<dyn CopyProgressSink> {
        let mut p = lock(&self.0);
        p.total = total;
        p.resumed = resumed;
        p.done = resumed;
        p.started = Some(Instant::now());
        p.mark = Some((Instant::now(), resumed));
        Box::new(CopySink(self.0.clone()))
    }
}

impl CopyProgressSink for CopySink {
    fn page(&mut self, _: u32, _: u64, done: u64, _: u64) {
        let mut p = lock(&self.0);
        p.done = done;
        let now = Instant::now();
        if let Some((at, rows)) = p.mark {
            let secs = now.duration_since(at).as_secs_f64();
            if secs >= 0.5 {
                p.rate = done.saturating_sub(rows) as f64 / secs;
                // Keep a stretch of a few seconds: the rate follows a pause or a limit.
                if secs >= 3.0 {
                    p.mark = Some((now, done));
                }
            }
        }
    }
    fn phase(&mut self, _: &str) {}
    fn finish(&mut self, _: &str) {}
    fn abandon(&mut self) {}
}

impl Background {
    pub fn pause(&self) {
        self.pace.pause();
    }

    pub fn resume(&self) {
        self.pace.resume();
    }

    /// At most `rows_per_second` from the next page on; `None` lifts the limit.
    pub fn throttle(&self, rows_per_second: Option<f64>) {
        self.pace.throttle(rows_per_second);
    }

    /// Stops the copy after its current page (what it committed stays, and a later
    /// run resumes it).
    pub fn stop(&self) {
        self.stop.stop(crate::error::STOP_ASKED);
    }

    /// Waits for the copy to end; its stats, or why it failed or stopped.
    pub fn wait(&self) -> Result<CopyStats> {
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
        lock(&self.result).clone().unwrap_or_else(|| {
            Err(Error::System {
                what: format!("background copy {}", self.name),
                message: "its thread ended without a result".into(),
            })
        })
    }

    pub fn status(&self) -> Status {
        let result = lock(&self.result).clone();
        let state = match &result {
            Some(Ok(_)) => State::Done,
            Some(Err(Error::Interrupted { .. })) => State::Stopped,
            Some(Err(_)) => State::Failed,
            None if self.stop.is_set() => State::Stopping,
            None if self.pace.is_paused() => State::Paused,
            None => State::Running,
        };
        let p = lock(&self.progress);
        let rows = match &result {
            Some(Ok(s)) => s.read + s.resumed,
            _ => p.done,
        };
        let rate = match (state, p.started) {
            (State::Paused, _) => 0.0,
            (_, Some(at)) if p.rate == 0.0 => {
                rows.saturating_sub(p.resumed) as f64 / at.elapsed().as_secs_f64().max(0.001)
            }
            _ => p.rate,
        };
        let eta = (state == State::Running && rate > 0.0)
            .then(|| p.total.saturating_sub(rows) as f64 / rate);
        Status {
            number: self.number,
            name: self.name.clone(),
            state,
            rows,
            total: p.total.max(rows),
            rows_per_second: rate,
            eta,
            limit: self.pace.rate(),
            error: match result {
                Some(Err(e)) => Some(e.to_string()),
                _ => None,
            },
        }
    }
}

impl Job {
    /// Starts `task` (a copy without Lua code) on a thread and an engine of its own.
    pub(crate) fn start_background(&self, task: CopyTask) -> Result<Arc<Background>> {
        let src = self.session(Role::Source, None)?;
        let dst = self.session(Role::Target, None)?;
        let state = self.state_handle()?;
        let s = self.settings.borrow().clone();
        let file_state = match &state.store {
            crate::db::state::StateStore::File(_) => Some(state.load(&mut dst.borrow_mut())?),
            crate::db::state::StateStore::Table(_) => None,
        };
        let progress = Arc::new(Mutex::new(Progress::default()));
        let pace = Arc::new(Pace::new());
        let stop = Stop::default();
        let cfg = EngineConfig {
            source: src.borrow().spec.clone(),
            target: dst.borrow().spec.clone(),
            state: Some(state),
            progress: Arc::new(Sink(progress.clone())),
            stop: stop.clone(),
            retries: s.retries,
            page_bytes: s.page_bytes,
            job_limit: None,
            pace: Some(pace.clone()),
        };
        let number = self.background.borrow().len() + 1;
        let name = task.plan.name.clone();
        let result = Arc::new(Mutex::new(None));
        let parts = task.into_send().ok_or_else(|| {
            Error::usage(format!(
                "copy {name}: its rows go through Lua code, which cannot run in the background"
            ))
        })?;
        let out = result.clone();
        let thread = std::thread::Builder::new()
            .name(format!("ferry-bg-{number}"))
            .spawn(move || {
                let task = parts.into_task();
                let mut engine = Engine::new(cfg, file_state);
                let r = engine.start(task).and_then(|h| engine.wait(h));
                *lock(&out) = Some(r);
            })
            .map_err(|e| Error::System {
                what: "cannot start a background copy's thread".into(),
                message: e.to_string(),
            })?;
        let bg = Arc::new(Background {
            number,
            name,
            stop,
            pace,
            progress,
            result,
            thread: Mutex::new(Some(thread)),
        });
        self.background.borrow_mut().push(bg.clone());
        Ok(bg)
    }

    /// Every background copy of the session, oldest first.
    pub fn background_copies(&self) -> Vec<Arc<Background>> {
        self.background.borrow().clone()
    }

    /// Stops the background copies still running after their current page and waits
    /// for them (leaving the prompt); how many there were.
    pub fn stop_background(&self) -> usize {
        let all = self.background_copies();
        let running: Vec<_> = all.iter().filter(|b| lock(&b.result).is_none()).collect();
        for b in &running {
            b.stop();
        }
        for b in &running {
            let _ = b.wait();
        }
        running.len()
    }
}
