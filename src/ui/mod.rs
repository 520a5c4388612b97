//! `ferry ui [JOB.lua] [--source URL] [--target URL] [--port N]`: a local web page over
//! the same job. The server listens on 127.0.0.1 only, behind a random access token
//! (`access.rs`); the page and its script are compiled in (`assets/`); the JSON API
//! (`api.rs`) tests the connections, lists tables and previews rows (`cells.rs`), and
//! shows the job's copies as its plan pass resolved them (`job_view.rs`), and a pair's
//! mapping and `try` on its first rows (`try_rows.rs`). Passwords never
//! leave the process: every URL the page sees is masked.

mod access;
mod api;
mod cells;
mod check_view;
mod job_api;
pub mod job_file;
mod job_text;
mod job_view;
mod runs;
mod try_rows;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::conn_spec::ConnSpec;
use crate::error::{Error, Result};

/// What `ferry ui` was started with.
#[derive(Debug)]
pub struct UiArgs {
    pub job: Option<PathBuf>,
    pub source: Option<ConnSpec>,
    pub target: Option<ConnSpec>,
    /// 0: a free port.
    pub port: u16,
}

/// What every request may read: the sides, the job as loaded, the token.
#[derive(Debug)]
pub struct App {
    pub source: Option<ConnSpec>,
    pub target: Option<ConnSpec>,
    /// The job as last loaded; a save replaces it (`job_api.rs`).
    pub job: std::sync::RwLock<job_view::JobView>,
    /// `--source`/`--target` as given: a reload of the job applies them again.
    pub given_source: Option<ConnSpec>,
    pub given_target: Option<ConnSpec>,
    /// Held while a save checks, writes and reloads the file.
    pub saving: std::sync::Mutex<()>,
    pub token: String,
    /// `http://127.0.0.1:PORT`: the one Origin a state-changing request may come from.
    pub origin: String,
    /// The Host headers accepted (`127.0.0.1:PORT`, `localhost:PORT`).
    pub hosts: [String; 2],
    /// The runs started from the page (`runs/`).
    pub runs: runs::Runs,
}

pub fn run(args: UiArgs) -> Result<()> {
    let given = (args.source.clone(), args.target.clone());
    let runs = runs::Runs::new(args.source.clone(), args.target.clone());
    runs::install_logger();
    let loaded = job_view::load(args.job.as_deref(), args.source, args.target)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // A run's log lines are told from the server's own by this name.
        .thread_name(runs::SERVER_THREADS)
        .enable_all()
        .build()
        .map_err(|e| system("starting the web server", e))?;
    runtime.block_on(serve(loaded, given, runs, args.port))
}

async fn serve(
    loaded: job_view::Loaded,
    given: (Option<ConnSpec>, Option<ConnSpec>),
    runs: runs::Runs,
    port: u16,
) -> Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| system(&format!("listening on {addr}"), e))?;
    let port = listener
        .local_addr()
        .map_err(|e| system("reading the listening address", e))?
        .port();
    let token = uuid::Uuid::new_v4().simple().to_string();
    let app = Arc::new(App {
        source: loaded.source,
        target: loaded.target,
        job: std::sync::RwLock::new(loaded.job),
        given_source: given.0,
        given_target: given.1,
        saving: std::sync::Mutex::new(()),
        origin: format!("http://127.0.0.1:{port}"),
        hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
        token,
        runs,
    });
    println!("ferry ui: http://127.0.0.1:{port}/?token={}", app.token);
    println!("(only this machine can reach it; Ctrl-C stops it)");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let runs_of = app.clone();
    let app_runs = app.clone();
    axum::serve(listener, router(app))
        .with_graceful_shutdown(async move {
            stopped().await;
            // A run going stops after its page, as Ctrl-C stops `ferry run`; its
            // page's event stream ends with it.
            runs_of.runs.stop_all();
        })
        .await
        .map_err(|e| system("serving the page", e))?;
    // A run stopping commits its page and saves its state before the process ends.
    while app_runs.runs.any_going() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    println!("ferry ui stopped");
    Ok(())
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(api::index))
        .route("/app.js", get(api::script))
        .route("/grid.js", get(api::grid_script))
        .route("/save.js", get(api::save_script))
        .route("/style.css", get(api::style))
        .route("/api/job", get(api::job))
        .route("/api/transforms", get(job_api::transforms))
        .route("/api/job/diff", post(job_api::diff))
        .route("/api/job/save", post(job_api::save))
        .route("/api/connections", get(api::connections))
        .route("/api/connections/test", post(api::connections))
        .route("/api/tables/{side}", get(api::tables))
        .route("/api/preview/{side}/{table}", get(api::preview))
        .route("/api/mapping", get(api::mapping))
        .route("/api/try", post(api::try_rows))
        .route("/runs.js", get(api::runs_script))
        .route("/api/runs", get(runs::list).post(runs::start))
        .route("/api/runs/{id}", get(runs::get))
        .route("/api/runs/{id}/events", get(runs::events))
        .route("/api/runs/{id}/pause", post(runs::pause))
        .route("/api/runs/{id}/resume", post(runs::resume))
        .route("/api/runs/{id}/throttle", post(runs::throttle))
        .route("/api/runs/{id}/stop", post(runs::stop))
        .route("/api/check", post(check_view::check))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            access::guard,
        ))
        .with_state(app)
}

/// Ctrl-C or SIGTERM: stop taking connections, let the answers in flight finish.
async fn stopped() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn system(what: &str, e: impl std::fmt::Display) -> Error {
    Error::System {
        what: what.to_string(),
        message: e.to_string(),
    }
}
