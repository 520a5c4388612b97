//! `ferry ui`: the local page and its API on throwaway servers. Plain HTTP over a
//! socket for the access rules (no token: 403; a cross-site POST: 403; the token as
//! query, cookie or header) and for the API (masked URLs: a password in a URL never
//! appears in any answer); then the page itself in headless Chromium through
//! chromedriver (WebDriver): both sides connected, a table searched and previewed,
//! a screenshot of each screen in target/ui-screenshots/.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use serde_json::{json, Value as Json};

use crate::support::*;

/// `ferry ui ...` running in the background, with the address it printed.
pub struct Ui {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    pub port: u16,
    pub token: String,
}

impl Ui {
    /// `ferry ui JOB --source .. --target ..` on the test's databases, in its directory.
    pub fn with_job(dbs: &Dbs, job: &str) -> Ui {
        Ui::start(
            &[job, "--source", &dbs.src_url, "--target", &dbs.dst_url],
            dbs.dir.path(),
        )
    }

    pub fn start(args: &[&str], dir: &Path) -> Ui {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let out = dir.join(format!("ui{n}.out"));
        let err = dir.join(format!("ui{n}.err"));
        let child = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .arg("ui")
            .args(args)
            .current_dir(dir)
            .env_remove("FERRY_SOURCE")
            .env_remove("FERRY_TARGET")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("starting ferry ui");
        let mut ui = Ui {
            child,
            out,
            err,
            port: 0,
            token: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&ui.out).unwrap_or_default();
            if let Some(rest) = text
                .lines()
                .find_map(|l| l.strip_prefix("ferry ui: http://127.0.0.1:"))
            {
                let (port, token) = rest
                    .split_once("/?token=")
                    .expect("an address with a token");
                ui.port = port.parse().unwrap();
                ui.token = token.trim().to_string();
                break;
            }
            if matches!(ui.child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
                panic!("ferry ui printed no address\n{}", ui.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        ui
    }

    pub fn output(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default()
        )
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/?token={}", self.port, self.token)
    }

    /// A request with these extra headers; `Host` is this server's unless given.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        let host = format!("127.0.0.1:{}", self.port);
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            all.push(("Host", &host));
        }
        http(self.port, method, path, &all)
    }

    /// GET `path` with the token header; the answer's JSON.
    pub fn get_json(&self, path: &str) -> (u16, Json, String) {
        let a = self.request("GET", path, &[("X-Ferry-Token", &self.token)]);
        let json = serde_json::from_str(&a.body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", a.body));
        (a.status, json, a.body)
    }

    /// POST `path` with a JSON body and the token header; the status, the answer's JSON
    /// (`null` when it is not JSON) and its text.
    pub fn post_json(&self, path: &str, body: &Json) -> (u16, Json, String) {
        let (status, text) = self.call("POST", path, true, Some(body));
        let json = serde_json::from_str(&text).unwrap_or(Json::Null);
        (status, json, text)
    }

    /// `method path` with a JSON body (if any), with the token header or (`token`
    /// false) without it; the status and the answer's text.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: bool,
        body: Option<&Json>,
    ) -> (u16, String) {
        let host = format!("127.0.0.1:{}", self.port);
        let mut headers = vec![
            ("Host", host.as_str()),
            ("Content-Type", "application/json"),
        ];
        if token {
            headers.push(("X-Ferry-Token", self.token.as_str()));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let a = http_with_body(self.port, method, path, &headers, &body);
        (a.status, a.body)
    }

    /// POST `path` with a JSON body as a page at `origin` would send it: the cookie, no
    /// token header.
    pub fn post_from(&self, path: &str, origin: &str, body: &Json) -> (u16, Json, String) {
        let host = format!("127.0.0.1:{}", self.port);
        let cookie = format!("ferry_token={}", self.token);
        let headers = [
            ("Host", host.as_str()),
            ("Cookie", cookie.as_str()),
            ("Origin", origin),
            ("Content-Type", "application/json"),
        ];
        let a = http_with_body(self.port, "POST", path, &headers, &body.to_string());
        let json = serde_json::from_str(&a.body).unwrap_or(Json::Null);
        (a.status, json, a.body)
    }

    /// Ctrl-C: the server stops cleanly, exit 0.
    pub fn interrupt(mut self) -> String {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(
                    status.success(),
                    "after Ctrl-C: {status:?}\n{}",
                    self.output()
                );
                return self.output();
            }
            assert!(
                Instant::now() < deadline,
                "still serving after Ctrl-C\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// One HTTP/1.1 request over a fresh socket (`Connection: close`), chunked bodies
/// decoded.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    http_with_body(port, method, path, headers, "")
}

fn http_with_body(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method != "GET" || !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let a = Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    };
    if a.header("transfer-encoding").as_deref() == Some("chunked") {
        let mut out = String::new();
        let mut rest = a.body.as_str();
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        return Answer { body: out, ..a };
    }
    a
}

/// Waits until `f` holds (or panics after `secs` seconds).
pub fn until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A user with a password on both databases, and URLs that carry it.
pub fn password_urls(dbs: &mut Dbs, password: &str) -> (String, String) {
    let user = format!("ui_{}", std::process::id());
    for (conn, db) in [(&mut dbs.src, &dbs.src_db), (&mut dbs.dst, &dbs.dst_db)] {
        conn.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
            .unwrap();
        conn.query_drop(format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"
        ))
        .unwrap();
        conn.query_drop(format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON `{db}`.* TO '{user}'@'%'"
        ))
        .unwrap();
    }
    let with = |url: &str| url.replacen("mysql://root@", &format!("mysql://{user}:{password}@"), 1);
    (with(&dbs.src_url), with(&dbs.dst_url))
}

pub fn shop(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40), note TEXT, photo VARBINARY(8))");
    dbs.src(
        "INSERT INTO customers VALUES (1, 'Ann', NULL, 0x4142), (2, 'NULL', REPEAT('x', 300), NULL), \
         (3, 'tab\there', 'ok', 0xff00)",
    );
    dbs.src("CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, total DECIMAL(8,2))");
    dbs.src("CREATE TABLE order_lines (id INT PRIMARY KEY, order_id INT)");
    dbs.dst("CREATE TABLE clients (id INT PRIMARY KEY, name VARCHAR(40), note TEXT, photo VARBINARY(8), since DATE NULL)");
}

#[test]
fn ui_refuses_requests_without_the_token_and_cross_site_posts() {
    let mut dbs = Dbs::new("ui_access");
    shop(&mut dbs);
    let ui = Ui::start(
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        dbs.dir.path(),
    );
    assert_eq!(ui.token.len(), 32, "{}", ui.token);
    assert!(ui.token.chars().all(|c| c.is_ascii_hexdigit()));

    for path in ["/", "/app.js", "/api/connections", "/api/tables/source"] {
        let a = ui.request("GET", path, &[]);
        assert_eq!(a.status, 403, "{path} without a token: {a:?}");
        assert!(!a.body.contains("customers"), "{path}: {}", a.body);
        let wrong = ui.request("GET", &format!("{path}?token={}", "0".repeat(32)), &[]);
        assert_eq!(wrong.status, 403, "{path} with a wrong token");
    }
    // Another name for this machine (DNS rebinding) is refused even with the token.
    let a = ui.request(
        "GET",
        "/api/job",
        &[("Host", "evil.example"), ("X-Ferry-Token", &ui.token)],
    );
    assert_eq!(a.status, 403);

    // The printed address: the page sets the cookie and drops the token from the URL.
    let a = ui.request("GET", &format!("/?token={}", ui.token), &[]);
    assert_eq!(a.status, 303, "{a:?}");
    let cookie = a.header("set-cookie").expect("a cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let page = ui.request("GET", "/", &[("Cookie", &pair)]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<script src=\"/app.js\">"));
    assert!(page.header("content-security-policy").is_some());

    // State-changing requests: the cookie alone is not enough from another site.
    let origin = format!("http://127.0.0.1:{}", ui.port);
    let post = "/api/connections/test";
    let cross = ui.request(
        "POST",
        post,
        &[("Cookie", &pair), ("Origin", "http://evil.example")],
    );
    assert_eq!(cross.status, 403, "{cross:?}");
    assert!(cross.body.contains("cross-site"), "{}", cross.body);
    let no_origin = ui.request("POST", post, &[("Cookie", &pair)]);
    assert_eq!(no_origin.status, 403);
    let same = ui.request("POST", post, &[("Cookie", &pair), ("Origin", &origin)]);
    assert_eq!(same.status, 200, "{same:?}");
    let header = ui.request("POST", post, &[("X-Ferry-Token", &ui.token)]);
    assert_eq!(header.status, 200);
    assert!(header.body.contains("\"ok\":true"), "{}", header.body);

    let out = ui.interrupt();
    assert!(out.contains("ferry ui stopped"), "{out}");
}

#[test]
fn ui_api_answers_with_masked_urls_and_previews_as_the_repl() {
    let mut dbs = Dbs::new("ui_api");
    shop(&mut dbs);
    let password = "Ui5ecretPw";
    let (src, dst) = password_urls(&mut dbs, password);
    let job = dbs.job(
        "ui_job.lua",
        &format!(
            "source \"{src}\"\ntarget \"{dst}\"\ncopy {{ from = \"customers\", to = \"clients\", \
             default = {{ since = sql \"CURRENT_DATE\" }} }}\n"
        ),
    );
    let ui = Ui::start(&[job.to_str().unwrap()], dbs.dir.path());
    assert!(!ui.output().contains(password), "{}", ui.output());

    let mut bodies = Vec::new();
    let (status, c, body) = ui.get_json("/api/connections");
    assert_eq!(status, 200, "{body}");
    bodies.push(body);
    for side in ["source", "target"] {
        let s = &c[side];
        assert_eq!(s["ok"], true, "{side}: {s}");
        let url = s["url"].as_str().unwrap();
        assert!(url.contains(":***@"), "{url}");
        assert!(
            s["version"].as_str().unwrap().contains("MariaDB")
                || !s["version"].as_str().unwrap().is_empty()
        );
        let privileges: Vec<&str> = s["privileges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(
            privileges,
            ["SELECT", "INSERT", "UPDATE", "DELETE"],
            "{side}"
        );
        assert!(
            s["grants"].to_string().contains("'***'"),
            "the hash is hidden: {}",
            s["grants"]
        );
    }
    assert_eq!(c["source"]["tables"], 3);

    let (status, t, body) = ui.get_json("/api/tables/source");
    assert_eq!(status, 200, "{body}");
    bodies.push(body);
    let names: Vec<&str> = t["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["customers", "order_lines", "orders"]);
    // ferry's own bookkeeping (a run's state table) is not a table to pick.
    dbs.dst("CREATE TABLE _ferry_state (id INT PRIMARY KEY)");
    let (status, t, body) = ui.get_json("/api/tables/target");
    assert_eq!(status, 200, "{body}");
    assert_eq!(t["tables"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(t["tables"][0]["name"], "clients", "{body}");
    dbs.dst("DROP TABLE _ferry_state");
    assert!(
        t["tables"][0]["size"].as_str().unwrap().ends_with('B'),
        "{}",
        t["tables"][0]
    );

    let (status, p, body) = ui.get_json("/api/preview/source/customers");
    assert_eq!(status, 200, "{body}");
    bodies.push(body);
    assert_eq!(p["columns"], json!(["id", "name", "note", "photo"]));
    let row = |i: usize| p["rows"][i].clone();
    assert_eq!(row(0)[2], json!({"text": "NULL", "null": true}));
    assert_eq!(row(0)[3], json!({"text": "0x4142", "binary": true}));
    assert_eq!(
        row(1)[1],
        json!({"text": "'NULL'"}),
        "the text NULL is not NULL"
    );
    assert_eq!(row(1)[2]["cut_from"], 300);
    assert_eq!(row(1)[2]["text"].as_str().unwrap().chars().count(), 120);
    assert_eq!(row(2)[1]["text"], "tab\\there");
    assert_eq!(row(2)[3]["text"], "0xff00");

    let (status, e, body) = ui.get_json("/api/preview/source/nope");
    assert_eq!(status, 404, "{e}");
    bodies.push(body);
    let (status, _, body) = ui.get_json("/api/preview/source/customers?rows=0");
    assert_eq!(status, 400);
    bodies.push(body);

    let (status, j, body) = ui.get_json("/api/job");
    assert_eq!(status, 200, "{body}");
    bodies.push(body);
    let copy = &j["copies"][0];
    assert_eq!(
        (copy["from"].as_str(), copy["to"].as_str()),
        (Some("customers"), Some("clients"))
    );
    assert_eq!(copy["mode"], "insert");
    let columns: Vec<&str> = copy["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["id", "name", "note", "photo", "since"]);
    assert!(
        copy["location"].as_str().unwrap().contains("ui_job.lua:3"),
        "{copy}"
    );

    // Any pair, mapped as `copy { from = .., to = .. }` would map it.
    let (status, m, body) = ui.get_json("/api/mapping?from=customers&to=clients");
    assert_eq!(status, 200, "{body}");
    bodies.push(body);
    let grid: Vec<(String, String)> = m["copies"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["source"].as_str().unwrap().into(),
            )
        })
        .collect();
    let names: Vec<&str> = grid.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["id", "name", "note", "photo"], "{m}");
    assert_eq!(grid[1].1, "name");
    assert_eq!(m["copies"][0]["columns"][1]["origin"], "same name");
    assert_eq!(m["copies"][0]["server_filled"], json!(["since"]));
    assert_eq!(m["problems"], json!([]));
    let (status, m, body) = ui.get_json("/api/mapping?from=nope&to=clients");
    assert_eq!(status, 200, "{body}");
    bodies.push(body);
    assert!(m["problems"].to_string().contains("nope"), "{m}");
    assert_eq!(m["copies"], json!([]));

    // try: the pair's first rows through the copy, nothing written.
    let a = ui.request(
        "POST",
        "/api/try?from=customers&to=clients",
        &[("X-Ferry-Token", &ui.token)],
    );
    assert_eq!(a.status, 200, "{a:?}");
    let t: Json = serde_json::from_str(&a.body).unwrap();
    bodies.push(a.body.clone());
    let rows = t["copies"][0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{t}");
    assert_eq!(rows[0]["key"], "id=1");
    assert_eq!(rows[0]["action"], "insert");
    assert_eq!(rows[1]["columns"][1]["value"], "'NULL'", "{}", rows[1]);
    let a = ui.request(
        "GET",
        "/api/try?from=customers&to=clients",
        &[("X-Ferry-Token", &ui.token)],
    );
    assert_eq!(a.status, 405, "try is a POST");
    assert_eq!(dbs.count_dst("clients"), 0, "try wrote nothing");

    for b in &bodies {
        assert!(!b.contains(password), "a password reached the page: {b}");
    }
    ui.interrupt();
}

#[test]
fn ui_without_a_side_says_so() {
    let mut dbs = Dbs::new("ui_one");
    shop(&mut dbs);
    let ui = Ui::start(&["--source", &dbs.src_url, "--port", "0"], dbs.dir.path());
    let (_, c, _) = ui.get_json("/api/connections");
    assert_eq!(c["source"]["ok"], true);
    assert_eq!(c["target"]["configured"], false);
    assert!(c["target"]["error"].as_str().unwrap().contains("--target"));
    let (status, e, _) = ui.get_json("/api/tables/target");
    assert_eq!(status, 409, "{e}");
}

#[test]
fn ui_listens_on_the_port_asked_and_says_when_it_is_taken() {
    let mut dbs = Dbs::new("ui_port");
    shop(&mut dbs);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = ferry(
        &["ui", "--source", &dbs.src_url, "--port", &port],
        dbs.dir.path(),
    )
    .status(1)
    .says(&format!("listening on 127.0.0.1:{port}"));
    assert!(!run.stdout.contains("?token="), "{}", run.describe());
    drop(taken);
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let ui = Ui::start(
        &["--source", &dbs.src_url, "--port", &port.to_string()],
        dbs.dir.path(),
    );
    assert_eq!(ui.port, port);
    let (status, _, _) = ui.get_json("/api/tables/source");
    assert_eq!(status, 200);
    ui.interrupt();
}

#[test]
fn ui_shows_a_wrong_job_s_problems_and_still_serves() {
    let mut dbs = Dbs::new("ui_wrong");
    shop(&mut dbs);
    let job = dbs.job(
        "wrong.lua",
        &format!(
            "source \"{}\"\ntarget \"{}\"\ncopy {{ from = \"nope\", to = \"clients\" }}\n",
            dbs.src_url, dbs.dst_url
        ),
    );
    let ui = Ui::start(&[job.to_str().unwrap()], dbs.dir.path());
    let (_, j, _) = ui.get_json("/api/job");
    assert_eq!(j["copies"], json!([]), "{j}");
    assert!(j["problems"].to_string().contains("nope"), "{j}");
    let (_, c, _) = ui.get_json("/api/connections");
    assert_eq!(
        c["source"]["ok"], true,
        "the job's sides are still shown: {c}"
    );

    let broken = dbs.job("broken.lua", "copy { from = \n");
    let ui = Ui::start(
        &[broken.to_str().unwrap(), "--source", &dbs.src_url],
        dbs.dir.path(),
    );
    let (_, j, _) = ui.get_json("/api/job");
    assert!(j["problems"].to_string().contains("broken.lua"), "{j}");
    let (_, c, _) = ui.get_json("/api/connections");
    assert_eq!(c["source"]["ok"], true);
}
