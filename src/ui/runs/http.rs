//! `/api/runs*`: start a run of the job file as saved, list the page's runs and the
//! job's saved state, one run's detail, its events (server-sent), and its controls:
//! pause, resume, throttle, stop (after the current page, as Ctrl-C: state saved).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json as JsonBody;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::{self, error::RecvError};

use super::feed::RUN_NOTE;
use super::{Event, Run};
use crate::conn_spec::mask_urls;
use crate::ui::App;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    #[serde(default)]
    resume: bool,
    #[serde(default)]
    no_check: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottleBody {
    rows_per_s: Option<f64>,
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    Refusal(status, message.into()).into_response()
}

/// A request refused: its status and why.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, JsonBody(json!({ "error": self.1 }))).into_response()
    }
}

/// The body as JSON (an empty body: the defaults).
fn body<T: serde::de::DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, Refusal> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Refusal(StatusCode::BAD_REQUEST, format!("the request's JSON: {e}")))
}

/// The job file as saved, if the page has one.
fn job_path(app: &App) -> Option<PathBuf> {
    app.job
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .path
        .as_ref()
        .map(PathBuf::from)
}

/// POST /api/runs `{"resume": false, "no_check": false}`: `{"id": N}`.
pub async fn start(State(app): State<Arc<App>>, bytes: Bytes) -> Response {
    let b: StartBody = match body(&bytes) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let Some(job) = job_path(&app) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "no job file to run: start `ferry ui JOB.lua`, or save the job first",
        );
    };
    if !job.is_file() {
        return problem(
            StatusCode::BAD_REQUEST,
            format!(
                "no job file {}: save the job first",
                mask_urls(&job.display().to_string())
            ),
        );
    }
    match app.runs.start(job, b.resume, b.no_check) {
        Ok(run) => JsonBody(json!({ "id": run.id })).into_response(),
        Err(going) => (
            StatusCode::CONFLICT,
            JsonBody(json!({
                "error": format!("run {going} is going: one run at a time"),
                "id": going,
            })),
        )
            .into_response(),
    }
}

/// GET /api/runs: the page's runs (newest first) and the job's saved state.
pub async fn list(State(app): State<Arc<App>>) -> Response {
    let runs: Vec<Value> = app.runs.all().iter().rev().map(|r| r.brief()).collect();
    let job = job_path(&app);
    let (saved, saved_error) = match job.clone().filter(|j| j.is_file()) {
        None => (Value::Null, Value::Null),
        Some(job) => {
            let cfg = app.runs.state_config(job);
            match tokio::task::spawn_blocking(move || crate::run::saved_state(&cfg)).await {
                Ok(Ok(s)) => (json!(s), Value::Null),
                Ok(Err(e)) => (Value::Null, json!(mask_urls(&e.to_string()))),
                Err(e) => (Value::Null, json!(format!("reading the state failed: {e}"))),
            }
        }
    };
    JsonBody(json!({
        "job": job.map(|j| mask_urls(&j.display().to_string())),
        "log": super::launch::LOG_FILE,
        "runs": runs,
        "saved": saved,
        "saved_error": saved_error,
    }))
    .into_response()
}

fn find(app: &App, id: u64) -> Result<Arc<Run>, Refusal> {
    app.runs
        .find(id)
        .ok_or_else(|| Refusal(StatusCode::NOT_FOUND, format!("no run {id} on this page")))
}

/// GET /api/runs/{id}: its state, end, summary and rejects.
pub async fn get(State(app): State<Arc<App>>, Path(id): Path<u64>) -> Response {
    match find(&app, id) {
        Ok(run) => JsonBody(run.detail()).into_response(),
        Err(r) => r.into_response(),
    }
}

/// A control of a going run; the run's state after it.
fn control(app: &App, id: u64, what: impl FnOnce(&Run)) -> Response {
    let run = match find(app, id) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    if !run.is_going() {
        return problem(StatusCode::CONFLICT, format!("run {id} has ended"));
    }
    what(&run);
    run.state_changed();
    JsonBody(run.detail()).into_response()
}

/// POST /api/runs/{id}/pause: every copy holds after its current page.
pub async fn pause(State(app): State<Arc<App>>, Path(id): Path<u64>) -> Response {
    control(&app, id, |r| {
        r.pace.pause();
        log::info!(target: RUN_NOTE, "ui: run {id} paused after the pages in flight");
    })
}

/// POST /api/runs/{id}/resume: the copies go on.
pub async fn resume(State(app): State<Arc<App>>, Path(id): Path<u64>) -> Response {
    control(&app, id, |r| {
        r.pace.resume();
        log::info!(target: RUN_NOTE, "ui: run {id} continues");
    })
}

/// POST /api/runs/{id}/throttle `{"rows_per_s": N|null}`.
pub async fn throttle(State(app): State<Arc<App>>, Path(id): Path<u64>, bytes: Bytes) -> Response {
    let b: ThrottleBody = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"rows_per_s\": N or null}}: {e}"),
            )
        }
    };
    if b.rows_per_s.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return problem(
            StatusCode::BAD_REQUEST,
            "rows_per_s: a number above 0, or null for no limit",
        );
    }
    control(&app, id, |r| {
        r.pace.throttle(b.rows_per_s);
        match b.rows_per_s {
            Some(n) => log::info!(target: RUN_NOTE, "ui: run {id} throttled to {n} rows/s"),
            None => log::info!(target: RUN_NOTE, "ui: run {id} without a rate limit"),
        }
    })
}

/// POST /api/runs/{id}/stop: as Ctrl-C, after the current page; state saved, so a run
/// with `resume` goes on from there.
pub async fn stop(State(app): State<Arc<App>>, Path(id): Path<u64>) -> Response {
    control(&app, id, |r| {
        r.stop.stop(libc::SIGINT);
        log::info!(target: RUN_NOTE, "ui: run {id} stops after the pages in flight");
    })
}

/// GET /api/runs/{id}/events: server-sent events, from the log so far and the last
/// progress on; the stream ends after the run's `end`.
pub async fn events(State(app): State<Arc<App>>, Path(id): Path<u64>) -> Response {
    let run = match find(&app, id) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let (so_far, rx) = run.subscribe();
    Sse::new(until_end(so_far, rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The events so far, then each later one, up to and with the first `end`, as SSE.
fn until_end(
    so_far: Vec<Event>,
    rx: broadcast::Receiver<Event>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static {
    let so_far: VecDeque<Event> = so_far.into();
    stream::unfold(Some((so_far, rx)), |feed| async move {
        let (mut so_far, mut rx) = feed?;
        let event = match so_far.pop_front() {
            Some(e) => e,
            None => loop {
                match rx.recv().await {
                    Ok(e) => break e,
                    // A page too slow for the log: it misses lines, not the end.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            },
        };
        let sse = SseEvent::default()
            .event(event.kind)
            .data(event.data.to_string());
        let next = (event.kind != "end").then_some((so_far, rx));
        Some((Ok(sse), next))
    })
}
