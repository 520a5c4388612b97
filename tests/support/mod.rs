//! Test support: one source and one target throwaway server per test process, a
//! fresh pair of databases per test, a scratch directory for job files and logs, and
//! helpers that run the real binary and dump tables through the binary protocol so
//! comparisons are byte-exact (FLOAT included).

#![allow(dead_code)]

pub mod browser;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use ferry::throwaway::ThrowawayServer;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, Value};

/// `mysql://user[:pw]@host:port` of the source and target servers (no database).
struct Servers {
    source: String,
    target: String,
    _keep: Vec<ThrowawayServer>,
}

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        if let Ok(url) = std::env::var("FERRY_TEST_MYSQL_URL") {
            let base = url.trim_end_matches('/').to_string();
            let base = match base.rfind('/') {
                Some(i) if i > "mysql://".len() => base[..i].to_string(),
                _ => base,
            };
            return Servers {
                source: base.clone(),
                target: base,
                _keep: Vec::new(),
            };
        }
        let t = std::thread::spawn(|| ThrowawayServer::start("test-target"));
        let source = ThrowawayServer::start("test-source")
            .unwrap_or_else(|e| panic!("starting the source server: {e:#}"));
        let target = t
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("starting the target server: {e:#}"));
        Servers {
            source: source.url("").trim_end_matches('/').to_string(),
            target: target.url("").trim_end_matches('/').to_string(),
            _keep: vec![source, target],
        }
    })
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A source and a target database for one test, dropped at the end.
pub struct Dbs {
    pub src_db: String,
    pub dst_db: String,
    pub src_url: String,
    pub dst_url: String,
    pub dir: tempfile::TempDir,
    pub src: Conn,
    pub dst: Conn,
}

fn connect(url: &str) -> Conn {
    let mut c = Conn::new(Opts::from_url(url).unwrap()).unwrap_or_else(|e| panic!("{url}: {e}"));
    c.query_drop("SET time_zone = '+00:00', NAMES utf8mb4, sql_mode = ''")
        .unwrap();
    c
}

impl Dbs {
    pub fn new(test: &str) -> Dbs {
        let s = servers();
        Dbs::on(test, &s.source, &s.target)
    }

    /// A pair of databases on other servers (`mysql://user@host:port`, no database).
    pub fn on(test: &str, source: &str, target: &str) -> Dbs {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}_{}_{}", test, std::process::id(), n);
        let src_db = format!("src_{tag}");
        let dst_db = format!("dst_{tag}");
        let mut admin = connect(&format!("{source}/mysql"));
        admin
            .query_drop(format!("DROP DATABASE IF EXISTS `{src_db}`"))
            .unwrap();
        admin
            .query_drop(format!("CREATE DATABASE `{src_db}` CHARACTER SET utf8mb4"))
            .unwrap();
        let mut admin = connect(&format!("{target}/mysql"));
        admin
            .query_drop(format!("DROP DATABASE IF EXISTS `{dst_db}`"))
            .unwrap();
        admin
            .query_drop(format!("CREATE DATABASE `{dst_db}` CHARACTER SET utf8mb4"))
            .unwrap();
        let src_url = format!("{source}/{src_db}");
        let dst_url = format!("{target}/{dst_db}");
        Dbs {
            src: connect(&src_url),
            dst: connect(&dst_url),
            src_db,
            dst_db,
            src_url,
            dst_url,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs statements on the source (`;`-separated is not supported: one per call).
    pub fn src(&mut self, sql: &str) -> &mut Self {
        self.src
            .query_drop(sql)
            .unwrap_or_else(|e| panic!("source: {sql}: {e}"));
        self
    }

    pub fn dst(&mut self, sql: &str) -> &mut Self {
        self.dst
            .query_drop(sql)
            .unwrap_or_else(|e| panic!("target: {sql}: {e}"));
        self
    }

    /// Writes a job file into the scratch dir.
    pub fn job(&self, name: &str, code: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, code).unwrap();
        path
    }

    /// `ferry run JOB --source .. --target .. --log ..` plus `extra` args.
    pub fn run(&self, job: &std::path::Path, extra: &[&str]) -> Run {
        ferry(&self.run_args(job, extra), self.dir.path())
    }

    /// `ferry run JOB ...` started in the background, to be signalled or killed.
    pub fn spawn(&self, job: &std::path::Path, extra: &[&str]) -> Spawned {
        Spawned::start(self.run_args(job, extra), self.dir.path())
    }

    fn run_args(&self, job: &std::path::Path, extra: &[&str]) -> Vec<String> {
        self.job_args("run", job, extra)
    }

    /// `ferry COMMAND JOB --source .. --target .. --log ..` plus `extra` args.
    /// `command JOB --source .. --target ..`.
    fn session_args(&self, command: &str, job: &std::path::Path) -> Vec<String> {
        vec![
            command.into(),
            job.display().to_string(),
            "--source".into(),
            self.src_url.clone(),
            "--target".into(),
            self.dst_url.clone(),
        ]
    }

    fn job_args(&self, command: &str, job: &std::path::Path, extra: &[&str]) -> Vec<String> {
        let mut args = self.session_args(command, job);
        args.extend(["--log".into(), self.log_path().display().to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Writes `code` as job `name` and runs `ferry COMMAND JOB --source .. --target ..
    /// --log ..` plus `extra` args (`check`, `explain`, ...).
    pub fn command(&self, command: &str, name: &str, code: &str, extra: &[&str]) -> Run {
        let job = self.job(name, code);
        ferry(&self.job_args(command, &job, extra), self.dir.path())
    }

    /// Writes `code` as a job and runs it.
    pub fn run_code(&self, code: &str, extra: &[&str]) -> Run {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let job = self.job(&format!("job{n}.lua"), code);
        self.run(&job, extra)
    }

    /// `ferry state JOB --source .. --target ..` plus `extra` args (it takes no --log).
    pub fn state(&self, job: &std::path::Path, extra: &[&str]) -> Run {
        let mut args = self.session_args("state", job);
        args.extend(extra.iter().map(|s| s.to_string()));
        ferry(&args, self.dir.path())
    }

    /// `ferry verify JOB --source .. --target .. --log ..` plus `extra` args.
    pub fn verify(&self, job: &std::path::Path, extra: &[&str]) -> Run {
        let args = self.job_args("verify", job, extra);
        ferry(&args, self.dir.path())
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("ferry.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Every row of a table through the binary protocol, in `order` order.
    pub fn dump_src(&mut self, table: &str, order: &str) -> Vec<Vec<Value>> {
        dump(&mut self.src, table, order)
    }

    pub fn dump_dst(&mut self, table: &str, order: &str) -> Vec<Vec<Value>> {
        dump(&mut self.dst, table, order)
    }

    /// Opens the target connection again (after its server was restarted).
    pub fn reconnect_dst(&mut self) {
        self.dst = connect(&self.dst_url);
    }

    pub fn count_dst(&mut self, table: &str) -> u64 {
        self.dst
            .query_first(format!("SELECT COUNT(*) FROM `{table}`"))
            .unwrap()
            .unwrap()
    }
}

impl Drop for Dbs {
    fn drop(&mut self) {
        let _ = self
            .src
            .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.src_db));
        let _ = self
            .dst
            .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.dst_db));
    }
}

pub fn dump(conn: &mut Conn, table: &str, order: &str) -> Vec<Vec<Value>> {
    let rows: Vec<mysql::Row> = conn
        .exec(format!("SELECT * FROM {table} ORDER BY {order}"), ())
        .unwrap_or_else(|e| panic!("dump {table}: {e}"));
    rows.into_iter().map(|r| r.unwrap()).collect()
}

/// The result of running the binary, with a readable panic on a wrong status.
pub struct Run {
    pub args: Vec<String>,
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn describe(&self) -> String {
        format!(
            "ferry {}\nstatus: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.status,
            self.stdout,
            self.stderr
        )
    }

    pub fn ok(self) -> Run {
        assert_eq!(self.status, 0, "{}", self.describe());
        self
    }

    pub fn status(self, code: i32) -> Run {
        assert_eq!(self.status, code, "{}", self.describe());
        self
    }

    /// Asserts that stderr says `text`.
    pub fn says(self, text: &str) -> Run {
        assert!(
            self.stderr.contains(text) || self.stdout.contains(text),
            "expected output to contain {text:?}\n{}",
            self.describe()
        );
        self
    }

    pub fn never_says(self, text: &str) -> Run {
        assert!(
            !self.stderr.contains(text) && !self.stdout.contains(text),
            "output must not contain {text:?}\n{}",
            self.describe()
        );
        self
    }
}

/// Runs the real binary in `dir`.
pub fn ferry<S: AsRef<str>>(args: &[S], dir: &std::path::Path) -> Run {
    ferry_env(args, dir, &[])
}

/// Runs the real binary in `dir` with `env` added to a clean ferry environment (no
/// FERRY_SOURCE/FERRY_TARGET or their passwords from the caller's shell).
pub fn ferry_env<S: AsRef<str>>(args: &[S], dir: &std::path::Path, env: &[(&str, &str)]) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.as_ref().to_string()).collect();
    let out: Output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(&args)
        .current_dir(dir)
        .env_remove("FERRY_SOURCE")
        .env_remove("FERRY_TARGET")
        .env_remove("FERRY_SOURCE_PASSWORD")
        .env_remove("FERRY_TARGET_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .expect("running ferry");
    Run {
        args,
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The real binary running in the background, its output going to files.
pub struct Spawned {
    pub args: Vec<String>,
    child: std::process::Child,
    out: PathBuf,
    err: PathBuf,
}

impl Spawned {
    pub fn start(args: Vec<String>, dir: &std::path::Path) -> Spawned {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let out = dir.join(format!("spawned{n}.out"));
        let err = dir.join(format!("spawned{n}.err"));
        let child = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(&args)
            .current_dir(dir)
            .env_remove("FERRY_SOURCE")
            .env_remove("FERRY_TARGET")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("starting ferry");
        Spawned {
            args,
            child,
            out,
            err,
        }
    }

    /// Sends `signal` (libc::SIGKILL, SIGTERM, ...).
    pub fn signal(&self, signal: i32) {
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has ended.
    pub fn ended(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The command, status so far and output so far, for a failure message.
    pub fn describe(&mut self) -> String {
        format!(
            "ferry {}\nstatus: {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.child.try_wait(),
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default()
        )
    }

    /// Waits for the end, at most `limit`: a run still going then is killed and the
    /// test fails.
    pub fn wait_within(mut self, limit: std::time::Duration) -> Run {
        let deadline = std::time::Instant::now() + limit;
        while !self.ended() {
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let run = self.wait();
                panic!("still running after {limit:?}, killed\n{}", run.describe());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.wait()
    }

    /// Waits for the end; a process ended by a signal has status -signal.
    pub fn wait(mut self) -> Run {
        use std::os::unix::process::ExitStatusExt;
        let status = self.child.wait().expect("waiting for ferry");
        Run {
            args: std::mem::take(&mut self.args),
            status: status
                .code()
                .unwrap_or_else(|| -status.signal().unwrap_or(1)),
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // A failing test must not leave a copy running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `SHOW CREATE TABLE` of a table: its whole definition, indexes included.
pub fn create_table(conn: &mut Conn, table: &str) -> String {
    let row: Option<(String, String)> = conn
        .query_first(format!("SHOW CREATE TABLE {table}"))
        .unwrap();
    row.unwrap().1
}

/// The names of a table's indexes, in the server's order.
pub fn index_names(conn: &mut Conn, table: &str) -> Vec<String> {
    let rows: Vec<mysql::Row> = conn.query(format!("SHOW INDEX FROM {table}")).unwrap();
    let mut names: Vec<String> = rows
        .into_iter()
        .map(|r| r.get::<String, _>("Key_name").unwrap())
        .collect();
    names.dedup();
    names
}

/// A run's standard output read as JSON (`--json`).
pub fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", run.describe()))
}

/// (kind, `field` (`column`, `key`), count, example keys, blocking) of every hazard of
/// copy `n` of a `ferry check --json` report, sorted.
pub fn hazards_found(
    report: &serde_json::Value,
    n: usize,
    field: &str,
) -> Vec<(String, String, u64, Vec<String>, bool)> {
    let mut out: Vec<_> = report["copies"][n]["hazards"]
        .as_array()
        .expect("hazards")
        .iter()
        .map(|h| {
            (
                h["kind"].as_str().unwrap().to_string(),
                h[field].as_str().unwrap_or("").to_string(),
                h["count"].as_u64().unwrap(),
                h["examples"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["key"].as_str().unwrap().to_string())
                    .collect(),
                h["blocking"].as_bool().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}
