//! `ferry ui` in a real browser: headless Chromium driven through chromedriver (the
//! W3C WebDriver protocol, spoken here as plain HTTP and JSON). Open the printed
//! address, see both sides connected, search the source tables, open a preview;
//! a screenshot of each screen goes to target/ui-screenshots/.
//!
//! Skipped only when Chromium or chromedriver is missing and CI is not set: on CI
//! (`CI=true`, where .ci/run installs them) a missing browser fails the test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::support::*;
use crate::ui::{shop, Ui};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// chromedriver and a WebDriver session of headless Chromium.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut b = Browser {
            driver,
            port,
            session: String::new(),
            _profile: profile,
        };
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", b._profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium.to_str().unwrap(), "args": args}
        }}});
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        b
    }

    /// One WebDriver command; its `value`.
    fn call(&self, method: &str, path: &str, body: Option<Json>) -> Json {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let text = read_answer(&mut s);
        let v: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        if v["value"]["error"].is_string() {
            panic!("WebDriver {method} {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    fn cmd(&self, method: &str, what: &str, body: Option<Json>) -> Json {
        self.call(method, &format!("/session/{}/{what}", self.session), body)
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "url", Some(json!({ "url": url })));
    }

    fn js(&self, script: &str) -> Json {
        self.cmd(
            "POST",
            "execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Waits until `script` returns true.
    fn wait_for(&self, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.js(script) != json!(true) {
            if Instant::now() > deadline {
                let body = self.js("return document.body.innerText;");
                panic!(
                    "waited for {what}; the page shows:\n{}",
                    body.as_str().unwrap_or("")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn element(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().unwrap().to_string()
    }

    fn text(&self, css: &str) -> String {
        let e = self.element(css);
        self.cmd("GET", &format!("element/{e}/text"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn click(&self, css: &str) {
        let e = self.element(css);
        self.cmd("POST", &format!("element/{e}/click"), Some(json!({})));
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.element(css);
        self.cmd(
            "POST",
            &format!("element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.cmd("GET", "screenshot", None);
        let png = base64(b64.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.call("DELETE", &format!("/session/{}", self.session), None)
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// One HTTP answer's body: chromedriver may keep the socket open, so read by its
/// Content-Length (or its chunks), not to the end.
fn read_answer(s: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = s.read(&mut buf).unwrap();
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some((head, rest)) = text.split_once("\r\n\r\n") {
            let lower = head.to_ascii_lowercase();
            let length = lower.lines().find_map(|l| {
                l.strip_prefix("content-length:")
                    .and_then(|v| v.trim().parse::<usize>().ok())
            });
            match length {
                Some(len) if rest.len() >= len => return rest[..len].to_string(),
                None if lower.contains("transfer-encoding: chunked")
                    && rest.ends_with("0\r\n\r\n") =>
                {
                    return dechunk(rest)
                }
                _ => {}
            }
        }
        if n == 0 {
            let text = String::from_utf8_lossy(&raw).into_owned();
            return text
                .split_once("\r\n\r\n")
                .map(|(_, b)| b.to_string())
                .unwrap_or_default();
        }
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

fn base64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = s
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .map(value)
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            n |= (*d as u32) << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[test]
fn ui_in_chromium_connects_searches_and_previews() {
    let chromium = find_program(&["chromium", "chromium-browser"]);
    let driver = find_program(&["chromedriver"]);
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have chromium and chromedriver (.ci/run installs them)"
        );
        eprintln!("ui_in_chromium: skipped, chromium or chromedriver is not installed");
        return;
    };
    assert_eq!(base64("QUJD"), b"ABC");
    let mut dbs = Dbs::new("ui_browser");
    shop(&mut dbs);
    let ui = Ui::start(
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        dbs.dir.path(),
    );
    let b = Browser::start(&chromium, &driver);

    b.go(&ui.url());
    b.wait_for(
        "both sides connected",
        "return [...document.querySelectorAll('.side .status')].every(s => s.textContent === 'connected');",
    );
    // The token left the address bar for an HttpOnly cookie the script cannot read.
    assert_eq!(b.js("return location.search;"), json!(""));
    assert_eq!(b.js("return document.cookie;"), json!(""));
    let source = b.text("#conn-source");
    assert!(
        source.contains("SELECT") && source.contains("server") && !source.contains("testing"),
        "{source}"
    );
    b.wait_for(
        "three source tables",
        "return document.querySelectorAll('#tables-source li').length === 3;",
    );
    assert!(b.text("#tables-target").contains("clients"));
    b.screenshot("1-connections");

    b.type_into("#search-source", "order");
    b.wait_for(
        "the search",
        "return document.querySelectorAll('#tables-source li').length === 2;",
    );
    assert_eq!(b.text("#count-source"), "2 of 3 tables match");
    b.screenshot("2-search");

    b.type_into("#search-source", "_l");
    b.wait_for(
        "one match",
        "return document.querySelectorAll('#tables-source li').length === 1;",
    );
    b.js("document.querySelector('#search-source').value = 'cust'; document.querySelector('#search-source').dispatchEvent(new Event('input'));");
    b.wait_for(
        "customers",
        "return document.querySelectorAll('#tables-source li').length === 1;",
    );
    b.click("#tables-source li[data-table=customers]");
    b.wait_for(
        "the preview",
        "return document.querySelector('#preview').getAttribute('data-loaded') === 'customers';",
    );
    let cells: Json = b.js(
        "return [...document.querySelectorAll('#preview-table tbody tr')].map(r => [...r.cells].map(c => [c.textContent, c.className]));",
    );
    assert_eq!(cells[0][2], json!(["NULL", "null"]), "{cells}");
    assert_eq!(cells[0][3], json!(["0x4142", "binary"]));
    assert_eq!(cells[1][1], json!(["'NULL'", ""]));
    assert_eq!(cells[1][2][1], "cut");
    let shot = b.screenshot("3-preview");
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

    // A table on each side: the pair's mapping, as `copy` would do it.
    b.click("#tables-target li[data-table=clients]");
    b.wait_for(
        "the pair",
        "return !document.querySelector('#pair').hidden;",
    );
    assert_eq!(b.text("#pair-text"), "customers → clients");
    b.click("#show-mapping");
    b.wait_for(
        "the mapping",
        "return document.querySelector('#mapping').getAttribute('data-loaded') === 'customers->clients';",
    );
    let grid: Json = b.js(
        "return [...document.querySelectorAll('#mapping-copy tbody tr')].map(r => [...r.cells].map(c => c.textContent));",
    );
    assert_eq!(grid[0], json!(["id", "id", "same name"]), "{grid}");
    assert_eq!(grid[1], json!(["name", "name", "same name"]));
    assert!(b
        .text("#mapping-copy")
        .contains("left to the server: since"));
    b.screenshot("4-mapping");

    b.click("#try");
    b.wait_for(
        "try",
        "return document.querySelector('#try-rows').getAttribute('data-loaded') === 'customers->clients';",
    );
    assert_eq!(
        b.js("return document.querySelectorAll('#try-rows .try-row').length;"),
        json!(3),
        "{}",
        b.text("#try-rows")
    );
    assert!(b.text("#try-rows .try-row").contains("insert"));
    b.js("document.querySelector('#try-rows').scrollIntoView();");
    b.screenshot("5-try");
    drop(b);
    ui.interrupt();
}
