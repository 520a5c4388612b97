//! Runs started from the page: `ferry run JOB` of the job file as saved, in this
//! process on a thread of its own (`crate::run::run_job_into`, the same plan pass,
//! check, state, resume, log file and exit status), one at a time. The run's stop token,
//! pace (pause, rows per second) and progress sink are the page's (`RunControl`); its
//! log lines and progress become events (`feed.rs`) that the page reads as server-sent
//! events (`http.rs`); a page that subscribes late first gets the log so far and the
//! last progress of each copy.

mod feed;
mod http;
mod launch;

pub use feed::{install_logger, SERVER_THREADS};
pub use http::{events, get, list, pause, resume, start, stop, throttle};

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde_json::{json, Value as Json};
use tokio::sync::broadcast;

use crate::conn_spec::ConnSpec;
use crate::engine::{Pace, Stop};

/// Log lines a late subscriber gets (the newest); the log file has them all.
const LOG_KEPT: usize = 5000;

/// The page's runs, and the sides given on the command line (`--source`, `--target`),
/// passed to each run as `ferry run` passes them.
pub struct Runs {
    source: Option<ConnSpec>,
    target: Option<ConnSpec>,
    list: Mutex<Vec<Arc<Run>>>,
}

impl std::fmt::Debug for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Runs({})", lock(&self.list).len())
    }
}

impl Runs {
    pub fn new(source: Option<ConnSpec>, target: Option<ConnSpec>) -> Runs {
        Runs {
            source,
            target,
            list: Mutex::new(Vec::new()),
        }
    }

    pub fn find(&self, id: u64) -> Option<Arc<Run>> {
        lock(&self.list).iter().find(|r| r.id == id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Run>> {
        lock(&self.list).clone()
    }

    pub fn any_going(&self) -> bool {
        self.all().iter().any(|r| r.is_going())
    }

    /// Stops every run going, after its current page (`ferry ui` is stopping).
    pub fn stop_all(&self) {
        for r in self.all().iter().filter(|r| r.is_going()) {
            r.stop.stop(libc::SIGINT);
            r.state_changed();
        }
    }

    /// A new run, unless one is going (`Err` names it).
    fn begin(&self, job: PathBuf, resume: bool, no_check: bool) -> Result<Arc<Run>, u64> {
        let mut list = lock(&self.list);
        if let Some(r) = list.iter().find(|r| r.is_going()) {
            return Err(r.id);
        }
        let run = Arc::new(Run::new(list.len() as u64 + 1, job, resume, no_check));
        list.push(run.clone());
        Ok(run)
    }
}

/// A run's state as the page names it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Running,
    Paused,
    Done,
    Failed,
    Stopped,
}

/// One event of a run, as sent to the page: `progress`, `log`, `state`, `summary`, and
/// `end` after the last.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: &'static str,
    pub data: Json,
}

/// One run started from the page.
pub struct Run {
    pub id: u64,
    /// RFC 3339, UTC.
    pub started: String,
    pub job: PathBuf,
    pub resume: bool,
    pub no_check: bool,
    pub stop: Stop,
    pub pace: Arc<Pace>,
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Event>,
}

#[derive(Default)]
struct Inner {
    ended: Option<State>,
    exit: Option<u8>,
    /// The error the run ended with, as `ferry run` words it (URLs masked).
    error: Option<String>,
    /// The check report a run stopped on (exit 2).
    report: Option<String>,
    log: VecDeque<Json>,
    /// The last progress of each copy, in the order they started.
    progress: Vec<(String, Json)>,
    summary: Option<Json>,
}

impl Run {
    fn new(id: u64, job: PathBuf, resume: bool, no_check: bool) -> Run {
        Run {
            id,
            started: chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            job,
            resume,
            no_check,
            stop: Stop::default(),
            pace: Arc::new(Pace::new()),
            inner: Mutex::new(Inner::default()),
            tx: broadcast::channel(4096).0,
        }
    }

    pub fn is_going(&self) -> bool {
        lock(&self.inner).ended.is_none()
    }

    fn state_json(&self) -> Json {
        self.state_json_of(&lock(&self.inner))
    }

    fn state_json_of(&self, inner: &Inner) -> Json {
        json!({
            "state": self.state_of(inner),
            "rows_per_s": self.pace.rate(),
            "stopping": inner.ended.is_none() && self.stop.is_set(),
            "exit": inner.exit,
            "error": inner.error,
            "report": inner.report,
        })
    }

    fn state_of(&self, inner: &Inner) -> State {
        match inner.ended {
            Some(s) => s,
            None if self.pace.is_paused() => State::Paused,
            None => State::Running,
        }
    }

    /// What `GET /api/runs` lists of it.
    pub fn brief(&self) -> Json {
        let inner = lock(&self.inner);
        json!({
            "id": self.id,
            "started": self.started,
            "job": self.job.display().to_string(),
            "resume": self.resume,
            "no_check": self.no_check,
            "state": self.state_of(&inner),
            "exit": inner.exit,
            "rows_per_s": self.pace.rate(),
        })
    }

    /// What `GET /api/runs/{id}` answers: the brief, the end, the summary and the last
    /// progress.
    pub fn detail(&self) -> Json {
        let mut out = self.brief();
        let inner = lock(&self.inner);
        let state = self.state_json_of(&inner);
        for k in ["error", "report", "stopping"] {
            out[k] = state[k].clone();
        }
        out["summary"] = inner.summary.clone().unwrap_or(Json::Null);
        out["progress"] = inner.progress.iter().map(|(_, p)| p.clone()).collect();
        out
    }

    /// Sends an event to the page and keeps what a late subscriber needs of it.
    fn emit(&self, kind: &'static str, data: Json) {
        let mut inner = lock(&self.inner);
        match kind {
            "log" => {
                if inner.log.len() == LOG_KEPT {
                    inner.log.pop_front();
                }
                inner.log.push_back(data.clone());
            }
            "progress" => {
                let copy = data["copy"].as_str().unwrap_or("").to_string();
                match inner.progress.iter_mut().find(|(c, _)| *c == copy) {
                    Some((_, p)) => *p = data.clone(),
                    None => inner.progress.push((copy, data.clone())),
                }
            }
            _ => {}
        }
        // No subscriber is no error.
        let _ = self.tx.send(Event { kind, data });
    }

    /// The state changed (paused, resumed, throttled, stopping): tell the page.
    pub fn state_changed(&self) {
        self.emit("state", self.state_json());
    }

    fn set_report(&self, report: String) {
        lock(&self.inner).report = Some(report);
    }

    /// The run is over.
    fn end(&self, state: State, exit: u8, error: Option<String>, summary: Json) {
        {
            let mut inner = lock(&self.inner);
            inner.ended = Some(state);
            inner.exit = Some(exit);
            inner.error = error;
            inner.summary = Some(summary.clone());
        }
        self.emit("summary", summary);
        self.state_changed();
        self.emit("end", json!({}));
    }

    /// The events so far that a late subscriber needs (the log, each copy's last
    /// progress, the state, and for an ended run its summary and `end`), and a receiver
    /// of every later one: taken at once, so none is lost or sent twice.
    pub fn subscribe(&self) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let inner = lock(&self.inner);
        let state = self.state_json_of(&inner);
        let mut events: Vec<Event> = inner
            .log
            .iter()
            .map(|l| Event {
                kind: "log",
                data: l.clone(),
            })
            .collect();
        events.extend(inner.progress.iter().map(|(_, p)| Event {
            kind: "progress",
            data: p.clone(),
        }));
        events.push(Event {
            kind: "state",
            data: state,
        });
        if let Some(s) = &inner.summary {
            events.push(Event {
                kind: "summary",
                data: s.clone(),
            });
            events.push(Event {
                kind: "end",
                data: json!({}),
            });
        }
        (events, self.tx.subscribe())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn a_late_subscriber_gets_the_log_the_last_progress_then_what_follows() {
        let run = Run::new(1, PathBuf::from("job.lua"), false, false);
        run.emit("log", json!({"text": "one"}));
        run.emit("progress", json!({"copy": "a", "rows": 100}));
        run.emit("progress", json!({"copy": "b", "rows": 5}));
        run.emit("progress", json!({"copy": "a", "rows": 200}));
        run.emit("log", json!({"text": "two"}));
        let (so_far, mut rx) = run.subscribe();
        assert_eq!(
            kinds(&so_far),
            ["log", "log", "progress", "progress", "state"]
        );
        assert_eq!(
            so_far[2].data["rows"], 200,
            "a's last progress, in start order"
        );
        assert_eq!(so_far[3].data["copy"], "b");
        assert_eq!(so_far[4].data["state"], "running");

        run.pace.pause();
        run.state_changed();
        run.end(
            State::Stopped,
            130,
            Some("stopped".into()),
            json!({"copies": []}),
        );
        let mut later = Vec::new();
        while let Ok(e) = rx.try_recv() {
            later.push(e);
        }
        assert_eq!(kinds(&later), ["state", "summary", "state", "end"]);
        assert_eq!(later[0].data["state"], "paused");
        assert_eq!(later[2].data["state"], "stopped");
        assert_eq!(later[2].data["exit"], 130);

        let (again, _) = run.subscribe();
        assert_eq!(
            kinds(&again),
            ["log", "log", "progress", "progress", "state", "summary", "end"]
        );
        assert!(!run.is_going());
    }

    #[test]
    fn one_run_at_a_time() {
        let runs = Runs::new(None, None);
        let first = runs.begin(PathBuf::from("a.lua"), false, false).unwrap();
        assert_eq!(
            runs.begin(PathBuf::from("a.lua"), true, false).err(),
            Some(1)
        );
        first.end(State::Done, 0, None, json!({}));
        let second = runs.begin(PathBuf::from("a.lua"), true, false).unwrap();
        assert_eq!(second.id, 2);
        assert_eq!(runs.all().len(), 2);
    }

    #[test]
    fn the_log_kept_for_late_subscribers_is_bounded() {
        let run = Run::new(1, PathBuf::from("job.lua"), false, false);
        for i in 0..LOG_KEPT + 10 {
            run.emit("log", json!({"text": i}));
        }
        let (so_far, _) = run.subscribe();
        assert_eq!(so_far.len(), LOG_KEPT + 1);
        assert_eq!(so_far[0].data["text"], 10, "the newest lines");
    }
}
