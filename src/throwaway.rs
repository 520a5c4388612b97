//! Throwaway MariaDB/MySQL servers: a private `mariadbd` (or `mysqld`) started from the
//! installed binaries in a temp dir, on a free loopback port, with `root` and no password.
//! `ferry demo` and the integration tests use it. A server is stopped and its files are
//! removed when the value is dropped; the child is also told to die with the process
//! (`PR_SET_PDEATHSIG`), so a server held in a `static` never outlives its test run.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How long a server may take to answer before we give up and show its log.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// A running private server. Dropping it stops the server and deletes its data.
pub struct ThrowawayServer {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    /// The extra server arguments it was started with (`start_with`).
    extra_args: Vec<String>,
    /// The server binary and the `--user` it runs as, to start it again (`restart`).
    binary: PathBuf,
    user: String,
}

impl ThrowawayServer {
    /// Initialises a fresh data directory and starts a server on a free port.
    /// `name` only labels the temp dir and error messages (e.g. "source").
    pub fn start(name: &str) -> Result<ThrowawayServer> {
        Self::start_with(name, &[])
    }

    /// Like `start`, with extra `mariadbd` arguments after ferry's own (a later
    /// argument wins), e.g. `--ssl-cert=...` or `--require-secure-transport=ON`.
    pub fn start_with(name: &str, extra_args: &[&str]) -> Result<ThrowawayServer> {
        let extra_args: Vec<String> = extra_args.iter().map(|a| a.to_string()).collect();
        let server = find_binary(&["mariadbd", "mysqld"]).with_context(|| {
            "no MariaDB/MySQL server binary (mariadbd or mysqld) found on PATH or in \
             /usr/sbin, /usr/local/sbin, /usr/local/mysql/bin; install one, for example \
             `apt-get install -y mariadb-server`"
                .to_string()
        })?;
        let install = find_binary(&["mariadb-install-db", "mysql_install_db"]);
        let dir = tempfile::Builder::new()
            .prefix(&format!("ferry-{name}-"))
            .tempdir()
            .context("creating a temp dir for a throwaway server")?;
        let data = dir.path().join("data");
        // A private tmpdir: concurrent bootstraps sharing /tmp collide on temp tables.
        let tmp = dir.path().join("tmp");
        fs::create_dir_all(&tmp).context("creating the server's tmpdir")?;
        let is_root = unsafe { libc::geteuid() } == 0;
        let user = current_user();

        initialise(
            install.as_deref(),
            &server,
            &data,
            &tmp,
            is_root,
            &user,
            name,
        )?;

        // A free port: bind :0, read it, let it go. Another process may take it in
        // between, so a failed start is retried on a new port.
        let mut last_err = None;
        for _ in 0..3 {
            let port = free_port()?;
            let mut child = Self::launch(
                &server,
                dir.path(),
                &data,
                port,
                is_root,
                &user,
                &extra_args,
            )?;
            match wait_ready(&mut child, port, dir.path(), name) {
                Ok(()) => {
                    return Ok(ThrowawayServer {
                        child,
                        dir,
                        port,
                        extra_args,
                        binary: server,
                        user,
                    })
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = log_tail(dir.path());
                    if !log.contains("Address already in use") {
                        return Err(e);
                    }
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("could not start the {name} server")))
    }

    fn launch(
        server: &Path,
        dir: &Path,
        data: &Path,
        port: u16,
        is_root: bool,
        user: &str,
        extra_args: &[String],
    ) -> Result<Child> {
        let mut cmd = Command::new(server);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .arg(format!("--port={port}"))
            .arg(format!("--tmpdir={}", dir.join("tmp").display()))
            .arg("--bind-address=127.0.0.1")
            .arg("--skip-name-resolve")
            .arg("--skip-log-bin")
            .arg("--local-infile=1")
            .arg("--max-allowed-packet=64M")
            .arg("--innodb-buffer-pool-size=256M")
            .arg("--innodb-log-file-size=32M")
            .arg("--innodb-flush-log-at-trx-commit=2")
            .arg("--max-connections=500")
            // Aborted connections are logged (a client that left without COM_QUIT, one
            // that never logged in): from 2, the default, on. 4 and more would also
            // note every KILL as an "Aborted connection ... (KILLED)".
            .arg("--log-warnings=3")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root {
            cmd.arg(format!("--user={user}"));
        }
        cmd.args(extra_args);
        unsafe {
            cmd.pre_exec(|| {
                // Die with the process that started us, whatever happens to it.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        spawn_from_keeper(cmd).with_context(|| format!("starting {}", server.display()))
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The unix socket of the server.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("mysqld.sock")
    }

    /// A `mysql://root@127.0.0.1:PORT/DATABASE` URL for this server.
    pub fn url(&self, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{}", self.port, database)
    }

    /// The extra arguments the server was started with.
    pub fn extra_args(&self) -> &[String] {
        &self.extra_args
    }

    /// The server's error log.
    pub fn error_log(&self) -> PathBuf {
        self.dir.path().join("error.log")
    }

    /// The last lines of the server's error log.
    pub fn log_tail(&self) -> String {
        log_tail(self.dir.path())
    }

    /// Stops the server (SIGTERM, then SIGKILL after a grace period).
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            unsafe {
                libc::kill(self.child.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl ThrowawayServer {
    /// Kills the server at once (SIGKILL), as a crash would, and waits until it is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same data directory and port (after `kill` or
    /// `stop`; a running server is killed first) and waits until it answers, crash
    /// recovery included.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let is_root = unsafe { libc::geteuid() } == 0;
        let dir = self.dir.path();
        let mut child = Self::launch(
            &self.binary,
            dir,
            &dir.join("data"),
            self.port,
            is_root,
            &self.user,
            &self.extra_args,
        )?;
        if let Err(e) = wait_ready(&mut child, self.port, dir, "restarted") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        self.child = child;
        Ok(())
    }
}

impl Drop for ThrowawayServer {
    fn drop(&mut self) {
        self.stop();
    }
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends, not the
/// process. Test threads and helper threads end early, so every server is forked by one
/// keeper thread that lives as long as the process.
fn spawn_from_keeper(cmd: Command) -> std::io::Result<Child> {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("ferry-server-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // Keep the thread (and so the children) alive until the process ends.
                loop {
                    std::thread::park();
                }
            })
            .expect("spawning the server keeper thread");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    keeper
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, reply_tx))
        .map_err(|_| std::io::Error::other("server keeper thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| std::io::Error::other("server keeper thread is gone"))?
}

fn wait_ready(child: &mut Child, port: u16, dir: &Path, name: &str) -> Result<()> {
    let deadline = Instant::now() + READY_DEADLINE;
    let url = format!("mysql://root@127.0.0.1:{port}/mysql");
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "the {name} server exited during start-up ({status}); the end of its log:\n{}",
                log_tail(dir)
            );
        }
        // A full login, ended with COM_QUIT when the connection drops: a bare TCP
        // probe would leave an unauthenticated connection in the server's log.
        if mysql::Conn::new(mysql::Opts::from_url(&url)?).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the {name} server did not answer on port {port} within {}s; the end of its log:\n{}",
                READY_DEADLINE.as_secs(),
                log_tail(dir)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn log_tail(dir: &Path) -> String {
    let path = dir.join("error.log");
    let mut text = String::new();
    if let Ok(mut f) = fs::File::open(&path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(4000)));
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        text = String::from_utf8_lossy(&buf).into_owned();
    }
    if text.is_empty() {
        format!("(no log at {})", path.display())
    } else {
        text
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            if unsafe { libc::geteuid() } == 0 {
                "root".into()
            } else {
                "mysql".into()
            }
        })
}

/// Finds the first of `names` on PATH or in the usual sbin directories.
fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in [
        "/usr/sbin",
        "/usr/local/sbin",
        "/usr/local/mysql/bin",
        "/usr/bin",
    ] {
        dirs.push(PathBuf::from(extra));
    }
    for name in names {
        for dir in &dirs {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Initialises a throwaway server's data directory (`mariadb-install-db`, or the
/// server's own `--initialize-insecure` for MySQL), retried on a clean directory.
fn initialise(
    install: Option<&Path>,
    server: &Path,
    data: &Path,
    tmp: &Path,
    is_root: bool,
    user: &str,
    name: &str,
) -> Result<()> {
    let mut cmd = match &install {
        Some(install) => {
            let mut cmd = Command::new(install);
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg("--auth-root-authentication-method=normal")
                .arg("--skip-test-db")
                .arg(format!("--tmpdir={}", tmp.display()))
                .arg("--skip-name-resolve")
                .arg(format!("--user={user}"))
                .arg("--innodb-log-file-size=32M");
            cmd
        }
        None => {
            // MySQL 5.7+/8: the server initialises its own data directory.
            let mut cmd = Command::new(server);
            cmd.arg("--no-defaults")
                .arg("--initialize-insecure")
                .arg(format!("--datadir={}", data.display()));
            if is_root {
                cmd.arg("--user=root");
            }
            cmd
        }
    };
    cmd.stdin(Stdio::null());
    let mut out = cmd
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    // Initialisation can fail on a busy machine (several test runs starting servers
    // at once); it starts from scratch, so try again on a clean directory.
    for _ in 0..2 {
        if out.status.success() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        let _ = fs::remove_dir_all(data);
        out = cmd
            .output()
            .with_context(|| format!("running {:?}", cmd.get_program()))?;
    }
    if !out.status.success() {
        bail!(
            "initialising the {name} server's data directory failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
