//! Runs started from `ferry ui`'s page, over HTTP with the token: a run of a job file
//! read to its summary through the server-sent events (progress reaching the total, log
//! lines, summary counts equal to the target's rows); pause (the target's rows stop
//! growing), continue, throttle, stop after a page then `resume` to exact rows; one run
//! at a time (409); no token (403); a job its check refuses (exit 2, the hazard shown).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::support::*;
use crate::ui::{until, Ui};

fn post(ui: &Ui, path: &str, body: Json) -> Json {
    let (status, text) = ui.call("POST", path, true, Some(&body));
    assert_eq!(status, 200, "POST {path}: {text}\n{}", ui.output());
    serde_json::from_str(&text).unwrap()
}

fn get(ui: &Ui, path: &str) -> Json {
    let (status, text) = ui.call("GET", path, true, None);
    assert_eq!(status, 200, "GET {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// POST /api/runs with `body`: the new run's id.
fn start_run(ui: &Ui, body: Json) -> u64 {
    post(ui, "/api/runs", body)["id"].as_u64().unwrap()
}

/// A run's server-sent events, read on a thread: `(event, data)` as they come.
fn events(ui: &Ui, id: u64) -> mpsc::Receiver<(String, Json)> {
    let mut s = TcpStream::connect(("127.0.0.1", ui.port)).unwrap();
    write!(
        s,
        "GET /api/runs/{id}/events HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nX-Ferry-Token: {}\r\n\r\n",
        ui.port, ui.token
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(s).lines();
        let mut head = true;
        let mut event = String::new();
        while let Some(Ok(line)) = lines.next() {
            if head {
                head = !line.is_empty();
                if line.starts_with("HTTP/") {
                    assert!(line.contains(" 200 "), "{line}");
                }
                continue;
            }
            if let Some(e) = line.strip_prefix("event: ") {
                event = e.to_string();
            } else if let Some(d) = line.strip_prefix("data: ") {
                let data: Json = serde_json::from_str(d).unwrap();
                if tx.send((event.clone(), data)).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// Every event up to `end` (the stream ends there).
fn to_end(rx: &mpsc::Receiver<(String, Json)>) -> Vec<(String, Json)> {
    let mut out = Vec::new();
    loop {
        let e = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no `end` event; so far: {out:?}"));
        let end = e.0 == "end";
        out.push(e);
        if end {
            return out;
        }
    }
}

fn of<'a>(events: &'a [(String, Json)], kind: &str) -> Vec<&'a Json> {
    events
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, d)| d)
        .collect()
}

/// The text of each `log` event.
fn log_texts(events: &[(String, Json)]) -> Vec<&str> {
    of(events, "log")
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect()
}

/// The last event of `kind`.
fn last_of(events: &[(String, Json)], kind: &str) -> Json {
    of(events, kind)
        .last()
        .map(|j| (*j).clone())
        .unwrap_or_else(|| panic!("no {kind} event: {events:?}"))
}

/// `n` rows in `items` on the source and an empty `items` on the target.
fn items(dbs: &mut Dbs, n: u32) {
    let ddl = "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40), qty INT)";
    dbs.src(ddl).dst(ddl);
    dbs.src(&format!(
        "INSERT INTO items SELECT seq, CONCAT('item ', seq), seq % 7 FROM seq_1_to_{n}"
    ));
}

fn start_ui(dbs: &Dbs, job: &std::path::Path) -> Ui {
    Ui::with_job(dbs, job.to_str().unwrap())
}

#[test]
fn ui_run_streams_progress_log_and_summary_to_the_target_s_rows() {
    let mut dbs = Dbs::new("ui_run_stream");
    items(&mut dbs, 3000);
    let job = dbs.job(
        "items.lua",
        "copy { from = \"items\", to = \"items\", page = 200 }\n",
    );
    let ui = start_ui(&dbs, &job);

    // Without the token: refused, and nothing runs.
    for (method, path) in [
        ("POST", "/api/runs"),
        ("GET", "/api/runs"),
        ("GET", "/api/runs/1/events"),
        ("POST", "/api/runs/1/stop"),
    ] {
        let (status, body) = ui.call(method, path, false, Some(&json!({})));
        assert_eq!(status, 403, "{method} {path} without the token: {body}");
    }
    assert_eq!(get(&ui, "/api/runs")["runs"], json!([]));

    let id = start_run(&ui, json!({"resume": false, "no_check": false}));
    assert_eq!(id, 1);
    let all = to_end(&events(&ui, id));
    let progress = of(&all, "progress");
    let last = progress.last().expect("progress events");
    assert_eq!(last["copy"], "items", "{last}");
    assert_eq!(last["rows"], 3000, "{last}");
    assert_eq!(last["total"], 3000, "{last}");
    assert_eq!(last["percent"], 100.0, "{last}");
    assert!(
        progress
            .iter()
            .any(|p| p["rows"] == 200 && p["percent"].as_f64() < Some(100.0)),
        "a page at a time: {progress:?}"
    );
    let log = log_texts(&all);
    assert!(log.iter().any(|l| l.contains("plan pass")), "{log:?}");
    assert!(
        log.iter().any(|l| l.contains("page 15, 3000/3000 rows")),
        "{log:?}"
    );
    let summary = of(&all, "summary")[0];
    let copy = &summary["copies"][0];
    assert_eq!(copy["copy"], "items");
    assert_eq!(copy["status"], "ok");
    assert_eq!(copy["read"], 3000);
    assert_eq!(copy["written"], 3000);
    assert_eq!(copy["inserted"], 3000);
    assert!(summary["table"].as_str().unwrap().contains("inserted"));
    let state = last_of(&all, "state");
    assert_eq!(state["state"], "done", "{state}");
    assert_eq!(state["exit"], 0);
    assert_eq!(dbs.count_dst("items"), 3000);
    // The log file is `ferry run`'s, in the directory ferry ui started in.
    let file = std::fs::read_to_string(dbs.dir.path().join("ferry.log")).unwrap();
    assert!(
        file.contains("copy items: page 15, 3000/3000 rows"),
        "{file}"
    );

    // A late subscriber (a page opened after the run) gets the log so far, the last
    // progress, the state and the summary.
    let again = to_end(&events(&ui, id));
    assert_eq!(of(&again, "log").len(), log.len());
    assert_eq!(of(&again, "progress").len(), 1);
    assert_eq!(of(&again, "summary")[0], summary);
    let detail = get(&ui, "/api/runs/1");
    assert_eq!(detail["state"], "done");
    assert_eq!(detail["summary"]["copies"][0]["written"], 3000);
    let list = get(&ui, "/api/runs");
    assert_eq!(list["runs"][0]["exit"], 0);
    assert_eq!(list["saved"]["copies"][0]["copy"], "items", "{list}");
    assert_eq!(list["saved"]["copies"][0]["done"], true);
    assert_eq!(list["saved"]["copies"][0]["written"], 3000);
    ui.interrupt();
}

#[test]
fn ui_run_pauses_throttles_stops_and_resumes_to_exact_rows() {
    let mut dbs = Dbs::new("ui_run_controls");
    items(&mut dbs, 4000);
    let job = dbs.job(
        "items.lua",
        "copy { from = \"items\", to = \"items\", page = 100 }\n",
    );
    let ui = start_ui(&dbs, &job);

    let id = start_run(&ui, json!({}));
    let rx = events(&ui, id);
    // Slow it down, so there is time to look.
    let state = post(
        &ui,
        &format!("/api/runs/{id}/throttle"),
        json!({"rows_per_s": 800}),
    );
    assert_eq!(state["rows_per_s"], 800.0, "{state}");
    // One run at a time.
    let (status, body) = ui.call("POST", "/api/runs", true, Some(&json!({})));
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("run 1 is going"), "{body}");

    until("some rows", 60, || dbs.count_dst("items") >= 300);
    let state = post(&ui, &format!("/api/runs/{id}/pause"), json!({}));
    assert_eq!(state["state"], "paused", "{state}");
    // The page in flight commits; then nothing grows.
    std::thread::sleep(Duration::from_millis(500));
    let held = dbs.count_dst("items");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(dbs.count_dst("items"), held, "rows grew while paused");
    assert!(held < 4000);
    assert_eq!(get(&ui, "/api/runs")["runs"][0]["state"], "paused");

    let state = post(&ui, &format!("/api/runs/{id}/resume"), json!({}));
    assert_eq!(state["state"], "running", "{state}");
    until("more rows", 60, || dbs.count_dst("items") > held + 200);
    // Under the limit: about 800 rows/s (a page of 100 at a time).
    let (t0, n0) = (Instant::now(), dbs.count_dst("items"));
    std::thread::sleep(Duration::from_millis(1500));
    let rate = (dbs.count_dst("items") - n0) as f64 / t0.elapsed().as_secs_f64();
    assert!(rate < 1300.0, "throttled to 800 rows/s: {rate}");

    let state = post(&ui, &format!("/api/runs/{id}/stop"), json!({}));
    assert_eq!(state["stopping"], true, "{state}");
    let all = to_end(&rx);
    let states: Vec<&str> = of(&all, "state")
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert!(
        states.windows(2).any(|w| w == ["paused", "running"]),
        "{states:?}"
    );
    let end = last_of(&all, "state");
    assert_eq!(end["state"], "stopped", "{end}");
    assert_eq!(end["exit"], 130, "as Ctrl-C: {end}");
    assert!(end["error"].as_str().unwrap().contains("--resume"), "{end}");
    let stopped_at = dbs.count_dst("items");
    assert!(stopped_at < 4000, "stopped midway: {stopped_at}");
    let summary = of(&all, "summary")[0];
    assert_eq!(summary["copies"][0]["status"], "stopped", "{summary}");
    assert_eq!(summary["copies"][0]["written"], stopped_at, "{summary}");

    // The state table says it can be resumed, with the rows done.
    let list = get(&ui, "/api/runs");
    let saved = &list["saved"]["copies"][0];
    assert_eq!(saved["resumable"], true, "{list}");
    assert_eq!(saved["written"], stopped_at, "{list}");
    // Controls of an ended run: 409.
    let (status, _) = ui.call("POST", "/api/runs/1/pause", true, Some(&json!({})));
    assert_eq!(status, 409);

    let id = start_run(&ui, json!({"resume": true}));
    assert_eq!(id, 2);
    let all = to_end(&events(&ui, id));
    let end = last_of(&all, "state");
    assert_eq!(end["state"], "done", "{end}\n{all:?}");
    let copy = &of(&all, "summary")[0]["copies"][0];
    assert_eq!(
        copy["written"].as_u64().unwrap(),
        4000 - stopped_at,
        "{copy}"
    );
    let last = last_of(&all, "progress");
    assert_eq!(last["rows"], 4000, "{last}");
    assert_eq!(
        dbs.dump_dst("items", "id"),
        dbs.dump_src("items", "id"),
        "every row once, as on the source"
    );
    let list = get(&ui, "/api/runs");
    assert_eq!(list["runs"][0]["state"], "done");
    assert_eq!(list["runs"][1]["state"], "stopped");
    assert_eq!(list["saved"]["copies"][0]["done"], true, "{list}");
    ui.interrupt();
}

#[test]
fn ui_run_of_a_job_its_check_refuses_shows_exit_2_and_the_hazard() {
    let mut dbs = Dbs::new("ui_run_check");
    dbs.src("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40))");
    dbs.src("INSERT INTO people VALUES (1, 'Ann'), (2, 'Bartholomew Longname')");
    dbs.dst("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(8))");
    let job = dbs.job(
        "people.lua",
        "copy { from = \"people\", to = \"people\" }\n",
    );
    let ui = start_ui(&dbs, &job);
    let id = start_run(&ui, json!({}));
    let all = to_end(&events(&ui, id));
    let end = last_of(&all, "state");
    assert_eq!(end["state"], "failed", "{end}");
    assert_eq!(end["exit"], 2, "{end}");
    let error = end["error"].as_str().unwrap();
    assert!(error.contains("1 blocking hazard"), "{error}");
    let report = end["report"].as_str().expect("the check report");
    assert!(
        report.contains("truncate") && report.contains("name"),
        "{report}"
    );
    assert_eq!(dbs.count_dst("people"), 0, "nothing written");
    // What `ferry run` says of the same job.
    let run = dbs.run(&job, &[]).status(2);
    assert!(run.stdout.contains("truncate"), "{}", run.describe());
    // A run that skips the check: the page refuses the row that does not fit.
    let id = start_run(&ui, json!({"no_check": true}));
    let end = last_of(&to_end(&events(&ui, id)), "state");
    assert_eq!(end["state"], "failed", "{end}");
    assert_eq!(end["exit"], 1, "{end}");
    assert!(end["report"].is_null(), "{end}");
    assert_eq!(
        dbs.count_dst("people"),
        0,
        "the page with the long name failed"
    );

    // The job file as saved now sets the row aside: the run ends well, and the
    // summary names the rejects file and its entry (source key and error).
    std::fs::write(
        &job,
        "copy { from = \"people\", to = \"people\", on_error = \"reject\" }\n",
    )
    .unwrap();
    let id = start_run(&ui, json!({}));
    let all = to_end(&events(&ui, id));
    assert_eq!(last_of(&all, "state")["exit"], 0, "{all:?}");
    let summary = last_of(&all, "summary");
    assert_eq!(summary["copies"][0]["rejected"], 1, "{summary}");
    assert_eq!(summary["copies"][0]["written"], 1, "{summary}");
    let rejects = &summary["rejects"][0];
    assert_eq!(rejects["entries"], 1, "{rejects}");
    let path = rejects["path"].as_str().unwrap();
    assert!(std::path::Path::new(path).is_file(), "{path}");
    assert_eq!(rejects["first"][0]["key"], json!({"id": 2}), "{rejects}");
    let error = rejects["first"][0]["error"].as_str().unwrap();
    assert!(error.contains("name"), "{error}");
    assert_eq!(get(&ui, &format!("/api/runs/{id}"))["summary"], summary);
    ui.interrupt();
}

#[test]
fn ui_run_without_a_job_file_is_a_400() {
    let dbs = Dbs::new("ui_run_nojob");
    let ui = Ui::start(
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        dbs.dir.path(),
    );
    let (status, body) = ui.call("POST", "/api/runs", true, Some(&json!({})));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("save the job first"), "{body}");
    let (status, _) = ui.call("GET", "/api/runs/7", true, None);
    assert_eq!(status, 404);
    ui.interrupt();
}

#[test]
fn ui_run_of_a_job_failing_its_plan_pass_says_why_as_ferry_run_does() {
    let mut dbs = Dbs::new("ui_run_plan");
    dbs.src("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40))");
    let job = dbs.job(
        "people.lua",
        "copy { from = \"people\", to = \"persons\" }\n",
    );
    let ui = start_ui(&dbs, &job);
    let id = start_run(&ui, json!({}));
    let all = to_end(&events(&ui, id));
    let end = last_of(&all, "state");
    assert_eq!(end["state"], "failed", "{end}");
    assert_eq!(end["exit"], 2, "{end}");
    let error = end["error"].as_str().unwrap();
    let run = dbs.run(&job, &[]).status(2);
    let said = run.stderr.trim().strip_prefix("error: ").unwrap();
    assert!(error.contains("persons"), "{error}");
    // The same words, but for the connection URLs the page does not repeat.
    let last_line = |s: &str| s.lines().last().unwrap_or("").to_string();
    assert_eq!(last_line(error), last_line(said), "{error}\n---\n{said}");
    let log = log_texts(&all);
    assert!(log.iter().any(|l| l.contains("persons")), "{log:?}");
    assert_eq!(last_of(&all, "summary")["copies"], json!([]));
    ui.interrupt();
}

#[test]
fn ui_run_of_a_job_the_page_saved_first() {
    let mut dbs = Dbs::new("ui_run_saved");
    items(&mut dbs, 500);
    let ui = Ui::start(
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        dbs.dir.path(),
    );
    let (status, _) = ui.call("POST", "/api/runs", true, Some(&json!({})));
    assert_eq!(status, 400, "nothing saved yet");
    let path = dbs.dir.path().join("saved.lua");
    let saved = post(
        &ui,
        "/api/job/save",
        json!({
            "edits": {"copies": [{"index": null, "from": "items", "to": "items",
                                  "mode": "insert", "page": 50, "columns": []}]},
            "base": null,
            "path": path.to_str().unwrap(),
        }),
    );
    assert!(path.is_file(), "{saved}");
    let list = get(&ui, "/api/runs");
    assert_eq!(list["job"], path.to_str().unwrap(), "{list}");
    let id = start_run(&ui, json!({}));
    let all = to_end(&events(&ui, id));
    assert_eq!(last_of(&all, "state")["exit"], 0, "{all:?}");
    let copy = &last_of(&all, "summary")["copies"][0];
    assert_eq!(copy["written"], 500, "{copy}");
    assert!(
        log_texts(&all)
            .iter()
            .any(|l| l.contains("page 10, 500/500 rows")),
        "pages of 50, as saved"
    );
    assert_eq!(dbs.dump_dst("items", "id"), dbs.dump_src("items", "id"));
    ui.interrupt();
}
