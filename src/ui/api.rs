//! The page and its JSON API. Each request that needs a database opens its own session
//! on a blocking thread and closes it when answered (the page is for one person; the
//! sessions are few and short). Every URL in an answer is masked, and every error is
//! masked once more.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use super::cells::{cell, Cell};
use super::job_file::edits::JobEdits;
use super::job_text::JobText;
use super::App;
use crate::conn_spec::{mask_urls, ConnSpec};
use crate::db::{Db, Role};
use crate::error::Error;

pub async fn index() -> Html<&'static str> {
    Html(include_str!("assets/index.html"))
}

pub async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    )
}

pub async fn grid_script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/grid.js"),
    )
}

pub async fn save_script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/save.js"),
    )
}

pub async fn runs_script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/runs.js"),
    )
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/style.css"))
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

pub async fn job(State(app): State<Arc<App>>) -> Response {
    let job = app.job.read().unwrap_or_else(|e| e.into_inner()).clone();
    Json(job).into_response()
}

/// One side as the connection panel shows it.
#[derive(Debug, Serialize)]
pub struct SideStatus {
    pub side: &'static str,
    pub configured: bool,
    /// Masked: `mysql://app:***@db:3306/shop`.
    pub url: Option<String>,
    pub ok: bool,
    pub version: Option<String>,
    pub tls: Option<String>,
    /// Of SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, those granted here.
    pub privileges: Vec<&'static str>,
    pub grants: Vec<String>,
    pub tables: Option<usize>,
    pub error: Option<String>,
}

/// GET (and POST, to test again): both sides.
pub async fn connections(State(app): State<Arc<App>>) -> Response {
    let source = status(app.source.clone(), Role::Source);
    let target = status(app.target.clone(), Role::Target);
    let (source, target) = tokio::join!(source, target);
    Json(json!({ "source": source, "target": target })).into_response()
}

async fn status(spec: Option<ConnSpec>, role: Role) -> SideStatus {
    let side = side_name(role);
    let Some(spec) = spec else {
        return SideStatus {
            side,
            configured: false,
            url: None,
            ok: false,
            version: None,
            tls: None,
            privileges: Vec::new(),
            grants: Vec::new(),
            tables: None,
            error: Some(format!(
                "no {side}: give --{side} URL or a job that opens it"
            )),
        };
    };
    let url = spec.to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut db = Db::connect(&spec, role)?;
        let grants = db.grant_lines()?;
        let tables = db.tables()?.len();
        Ok::<_, Error>((db.version.clone(), db.cipher.clone(), grants, tables))
    })
    .await;
    let mut s = SideStatus {
        side,
        configured: true,
        url: Some(url),
        ok: false,
        version: None,
        tls: None,
        privileges: Vec::new(),
        grants: Vec::new(),
        tables: None,
        error: None,
    };
    match answer {
        Ok(Ok((version, tls, grants, tables))) => {
            s.ok = true;
            s.version = Some(version);
            s.tls = tls;
            s.privileges = grants.copy_privileges;
            s.grants = grants.lines;
            s.tables = Some(tables);
        }
        Ok(Err(e)) => s.error = Some(mask_urls(&e.to_string())),
        Err(e) => s.error = Some(format!("the test did not finish: {e}")),
    }
    s
}

fn side_name(role: Role) -> &'static str {
    match role {
        Role::Source => "source",
        Role::Target => "target",
    }
}

/// `source` or `target` from the path, with its spec.
fn side(app: &App, name: &str) -> Result<(ConnSpec, Role), (StatusCode, String)> {
    let (spec, role) = match name {
        "source" => (&app.source, Role::Source),
        "target" => (&app.target, Role::Target),
        _ => {
            return Err((
                StatusCode::NOT_FOUND,
                format!("no side `{name}`: source or target"),
            ))
        }
    };
    match spec {
        Some(s) => Ok((s.clone(), role)),
        None => Err((
            StatusCode::CONFLICT,
            format!("the {name} is not connected: give --{name} URL"),
        )),
    }
}

fn fail(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": mask_urls(&message) }))).into_response()
}

fn db_error(e: Error) -> Response {
    fail(StatusCode::BAD_GATEWAY, e.to_string())
}

/// `work` on a blocking thread (it opens sessions); its answer as JSON, its error as a
/// 502.
async fn blocking_json<T, F>(work: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(view)) => Json(view).into_response(),
        Ok(Err(e)) => db_error(e),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `work` on the page's job text (the job file with `edits` applied: a 400 when they
/// cannot be), the page's sides and the file's number of copies, as `blocking_json`.
pub(super) async fn on_job_text<T, F>(app: &App, edits: Option<&JobEdits>, work: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&JobText, &Option<ConnSpec>, &Option<ConnSpec>, usize) -> Result<T, Error>
        + Send
        + 'static,
{
    let (text, existing) = match super::job_text::of_app(app, edits) {
        Ok(t) => t,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let (source, target) = (app.source.clone(), app.target.clone());
    blocking_json(move || work(&text, &source, &target, existing)).await
}

#[derive(Debug, Serialize)]
struct TableRow {
    name: String,
    rows: u64,
    bytes: u64,
    size: String,
}

/// The side's tables with estimated rows and size, as `ferry tables` lists them.
pub async fn tables(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    let (spec, role) = match side(&app, &name) {
        Ok(s) => s,
        Err((status, message)) => return fail(status, message),
    };
    let url = spec.to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut db = Db::connect(&spec, role)?;
        db.tables()
    })
    .await;
    match answer {
        Ok(Ok(list)) => {
            let rows: Vec<TableRow> = list
                .into_iter()
                .filter(|t| !crate::plan::tables::is_ferry_table(&t.name))
                .map(|t| TableRow {
                    size: crate::table_fmt::human_bytes(t.bytes),
                    name: t.name,
                    rows: t.rows,
                    bytes: t.bytes,
                })
                .collect();
            Json(json!({ "side": name, "url": url, "tables": rows })).into_response()
        }
        Ok(Err(e)) => db_error(e),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Rows a preview shows unless `?rows=N` asks otherwise (at most `MAX_ROWS`).
const ROWS: u32 = 20;
const MAX_ROWS: u32 = 200;

#[derive(Debug, Serialize)]
struct Preview {
    side: String,
    table: String,
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

/// The first rows of a table, each value as the REPL shows it.
pub async fn preview(
    State(app): State<Arc<App>>,
    Path((name, table)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (spec, role) = match side(&app, &name) {
        Ok(s) => s,
        Err((status, message)) => return fail(status, message),
    };
    let n = match q.get("rows").map(|r| r.parse::<u32>()) {
        None => ROWS,
        Some(Ok(n)) if (1..=MAX_ROWS).contains(&n) => n,
        Some(_) => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!("rows must be a number from 1 to {MAX_ROWS}"),
            )
        }
    };
    let t = table.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let mut db = Db::connect(&spec, role)?;
        let known = db.tables()?.into_iter().any(|x| x.name == t);
        if !known {
            return Ok(None);
        }
        db.peek(&t, n).map(Some)
    })
    .await;
    match answer {
        Ok(Ok(Some(rows))) => {
            let cells = rows
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .zip(&rows.columns)
                        .map(|(v, m)| cell(v, m))
                        .collect()
                })
                .collect();
            Json(Preview {
                side: name,
                columns: rows.columns.iter().map(|c| c.name.clone()).collect(),
                table,
                rows: cells,
            })
            .into_response()
        }
        Ok(Ok(None)) => fail(
            StatusCode::NOT_FOUND,
            format!("no table `{table}` in the {name}"),
        ),
        Ok(Err(e)) => db_error(e),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The pair a request names: `?from=SOURCE_TABLE&to=TARGET_TABLE`, with both sides.
fn pair(
    app: &App,
    q: &HashMap<String, String>,
) -> Result<(ConnSpec, ConnSpec, String, String), Box<Response>> {
    let (Some(from), Some(to)) = (q.get("from").cloned(), q.get("to").cloned()) else {
        return Err(Box::new(fail(
            StatusCode::BAD_REQUEST,
            "give ?from=SOURCE_TABLE&to=TARGET_TABLE".into(),
        )));
    };
    match (side(app, "source"), side(app, "target")) {
        (Ok(s), Ok(t)) => Ok((s.0, t.0, from, to)),
        (Err((status, message)), _) | (_, Err((status, message))) => {
            Err(Box::new(fail(status, message)))
        }
    }
}

/// POST `?from=..&to=..`: the pair's first rows through the copy, as `ferry explain`
/// shows them (a POST: it runs the copy's code, though it writes nothing).
pub async fn try_rows(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
    body: Option<Json<TryBody>>,
) -> Response {
    if let Some(Json(body)) = body {
        return try_edits(app, body).await;
    }
    let (source, target, from, to) = match pair(&app, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    blocking_json(move || super::try_rows::try_pair(&source, &target, &from, &to)).await
}

/// `?from=SOURCE_TABLE&to=TARGET_TABLE`: how `copy` would map the pair, column by column
/// (the plan pass's column map), with the plan's problems when it cannot.
pub async fn mapping(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (source, target, from, to) = match pair(&app, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    blocking_json(move || super::job_view::mapping(&source, &target, &from, &to)).await
}

/// POST /api/try with a body: `{"edits": <edit model>, "copy": {"index", "from", "to"}}`:
/// the copy's first rows through the job as the edits would make it.
#[derive(Debug, serde::Deserialize)]
pub struct TryBody {
    #[serde(default)]
    edits: Option<JobEdits>,
    copy: TryCopy,
}

#[derive(Debug, serde::Deserialize)]
struct TryCopy {
    #[serde(default)]
    index: Option<usize>,
    from: String,
    to: String,
}

async fn try_edits(app: Arc<App>, body: TryBody) -> Response {
    let TryBody { edits, copy: c } = body;
    on_job_text(
        &app,
        edits.as_ref(),
        move |text, source, target, existing| {
            super::try_rows::try_text(text, source, target, (c.index, &c.from, &c.to), existing)
        },
    )
    .await
}
