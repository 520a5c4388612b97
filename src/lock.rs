//! One run of a job at a time. `ferry run` takes the job's run lock at its first copy
//! (in the plan pass, before anything is written) and holds it until the run ends; a
//! second run of the same job finds it taken and stops at once, naming the holder, with
//! nothing written. With the state table (the default) the lock is a server-side named
//! lock, `GET_LOCK('ferry:<target db>:<job>', 0)` (names longer than MariaDB's 64
//! characters are cut and end in a hash of the whole), held by a session of its own on
//! the target, and the holder's host, pid and start time go into the state table
//! (`Holder`). With `job{state = "file"}` it is an exclusive `flock` on
//! `<state file>.lock`, which holds the holder's JSON. Either dies with its holder: a
//! named lock when its session ends, a flock when its process does, so a run killed
//! with kill -9 blocks nothing, and the holder record it leaves is only believed while
//! the lock is really held (`running`); a holder of this host whose process is gone is
//! not believed either, and a run waits a few seconds for the server to end its
//! session. A watchdog pings the lock's session every few
//! seconds; if the session is lost (a target restart, a KILL) it reconnects and takes
//! the lock again, and if another run took it meanwhile, this run stops after the pages
//! in flight, as on SIGTERM. `--dry-run` and `ferry verify` write nothing and take no
//! lock; `ferry state --clear` takes it for the clear, so it refuses while a run holds
//! it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mysql::prelude::Queryable;

use crate::conn_spec::ConnSpec;
use crate::db::{Db, Role};
use crate::error::{Error, Result};
use crate::job::Job;
use crate::state::{Holder, StateHandle, StateStore};

/// MariaDB's limit on the length of a lock name.
const MAX_NAME: usize = 64;
/// How often the watchdog checks that the lock's session still holds it.
const KEEPALIVE: Duration = Duration::from_secs(5);
/// While the lock's session is lost: how often the watchdog tries again.
const RETRY: Duration = Duration::from_secs(1);
/// How long a refused run waits for the holder's record to appear (the holder writes it
/// just after taking the lock).
const RECORD_WAIT: Duration = Duration::from_secs(2);
/// Seconds a run waits for the lock of a holder that was a process of this host and is
/// gone (the server ends its session as soon as it sees the connection close).
const DEAD_HOLDER_WAIT: u32 = 5;

/// The named lock of a job in a target database: `ferry:<db>:<job>`, or, past 64
/// characters, its first characters and `~` and a 64-bit hash of the whole name.
pub fn lock_name(database: &str, job: &str) -> String {
    let full = format!("ferry:{database}:{job}");
    if full.len() <= MAX_NAME {
        return full;
    }
    let suffix = format!("~{:016x}", fnv1a(full.as_bytes()));
    let mut cut = MAX_NAME - suffix.len();
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &full[..cut])
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The lock file of a state file: `<state file>.lock`.
pub fn lock_file(state_file: &Path) -> PathBuf {
    let mut name = state_file.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// This process, as a lock's holder.
fn holder_now(session: Option<u64>) -> Holder {
    Holder {
        host: hostname(),
        pid: std::process::id(),
        started: utc_now(),
        session,
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Now, `YYYY-MM-DD HH:MM:SS UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

/// A run that holds a job's lock, as another process sees it.
#[derive(Debug, Clone)]
pub enum Running {
    /// A target session holds the named lock; `holder` is its record in the state
    /// table (`None`: no record names that session).
    Named {
        name: String,
        session: u64,
        holder: Option<Holder>,
    },
    /// A process holds the lock file; `holder` is what it wrote there.
    File {
        path: PathBuf,
        holder: Option<Holder>,
    },
}

impl Running {
    /// `pid 4242 on host h, started ... (lock `ferry:db:job`, target session 17)`.
    pub fn describe(&self) -> String {
        match self {
            Running::Named {
                name,
                session,
                holder: Some(h),
            } => format!("{} (lock `{name}`, target session {session})", h.describe()),
            Running::Named { name, session, .. } => {
                format!("target session {session}, which records no holder (lock `{name}`)")
            }
            Running::File {
                path,
                holder: Some(h),
            } => format!("{} (lock file {})", h.describe(), path.display()),
            Running::File { path, .. } => format!(
                "a process that has not written its name into the lock file {}",
                path.display()
            ),
        }
    }
}

/// The run that holds the job's lock now, if one does. `db` is a target session (not
/// the lock's). A record left by a run that died is not believed: only the session or
/// process that really holds the lock counts.
pub fn running(handle: &StateHandle, db: &mut Db) -> Result<Option<Running>> {
    let now = running_within(handle, db, Duration::ZERO)?;
    // A process of this host that is gone holds nothing: its session is ending.
    Ok(now.filter(|r| match r {
        Running::Named {
            holder: Some(h), ..
        } => h.host != hostname() || process_alive(h.pid),
        _ => true,
    }))
}

/// `running`, waiting up to `wait` for a holder that has just taken the lock to write
/// its record.
fn running_within(handle: &StateHandle, db: &mut Db, wait: Duration) -> Result<Option<Running>> {
    let deadline = Instant::now() + wait;
    loop {
        let now = match &handle.store {
            StateStore::Table(_) => named_running(handle, db)?,
            StateStore::File(state) => file_running(&lock_file(state))?,
        };
        let recorded = match &now {
            Some(Running::Named { holder, .. } | Running::File { holder, .. }) => holder.is_some(),
            None => true,
        };
        if recorded || Instant::now() >= deadline {
            return Ok(now);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn named_running(handle: &StateHandle, db: &mut Db) -> Result<Option<Running>> {
    let name = lock_name(&handle.database, &handle.job);
    let session: Option<Option<u64>> = db
        .conn()
        .exec_first("SELECT IS_USED_LOCK(?)", (&name,))
        .map_err(|e| db.err("reading the job's lock", e))?;
    let Some(session) = session.flatten() else {
        return Ok(None);
    };
    let holder = handle
        .load_holder(db)?
        .filter(|h| h.session == Some(session));
    Ok(Some(Running::Named {
        name,
        session,
        holder,
    }))
}

fn file_running(path: &Path) -> Result<Option<Running>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "cannot open the job's lock file", e)),
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(None)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            Ok(Some(Running::File {
                path: path.to_path_buf(),
                holder: serde_json::from_str(text.trim()).ok(),
            }))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(io_error(path, "cannot read the job's lock file", e))
        }
    }
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: format!("{what}: {e}"),
    }
}

/// A job's run lock, held until dropped.
pub struct RunLock {
    /// Which lock: the store and where it is, so a job takes each lock once.
    key: String,
    /// What it is, for the log: `lock ferry:db:job` or `lock file ...`.
    pub what: String,
    held: Held,
}

enum Held {
    /// Lets go in its drop.
    Named { _lock: NamedLock },
    /// Dropping the file closes it, which lets go of the flock; it is emptied first.
    File(File),
}

impl RunLock {
    /// Takes the job's lock, or fails at once (exit 1) naming the run that holds it.
    /// `doing` says what came of the refused command (`this run wrote nothing`).
    /// `record`: write the holder into the state table (a run does; `--clear`, which may
    /// find no table, does not).
    pub fn acquire(
        handle: &StateHandle,
        target: &ConnSpec,
        record: bool,
        doing: &str,
    ) -> Result<RunLock> {
        let refused = |who: Option<Running>| Error::Check {
            message: format!(
                "job {} is already running: {}; one run of a job at a time, so {doing}: \
                 wait for that run to end (or stop it), then try again{}",
                handle.job,
                who.map(|r| r.describe())
                    .unwrap_or_else(|| "another run holds its lock".into()),
                if record {
                    " (with --resume to continue where the job got to)"
                } else {
                    ""
                }
            ),
        };
        match &handle.store {
            StateStore::Table(_) => {
                let name = lock_name(&handle.database, &handle.job);
                let mut db = Db::connect(target, Role::Target)?;
                let mut taken = take(&mut db, &name, 0)?;
                if taken.is_none() && holder_died_here(handle, &mut db)? {
                    // Killed a moment ago on this host: its session is ending.
                    taken = take(&mut db, &name, DEAD_HOLDER_WAIT)?;
                }
                match taken {
                    Some(session) => {
                        if record {
                            handle.save_holder(&mut db, &holder_now(Some(session)))?;
                        }
                        let key = format!("{}:{}/{}", db.spec.host, db.spec.port, name);
                        Ok(RunLock {
                            key,
                            what: format!("lock `{name}` on the target (session {session})"),
                            held: Held::Named {
                                _lock: NamedLock::start(
                                    db,
                                    name,
                                    handle.clone(),
                                    target.clone(),
                                    record,
                                ),
                            },
                        })
                    }
                    None => {
                        let who = running_within(handle, &mut db, RECORD_WAIT)?;
                        Err(refused(who))
                    }
                }
            }
            StateStore::File(state) => {
                let path = lock_file(state);
                let mut file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
                    .map_err(|e| io_error(&path, "cannot open the job's lock file", e))?;
                // `ferry state` looks with a shared lock for an instant: a clash with
                // it is not a refusal.
                let mut locked = file.try_lock();
                let deadline = Instant::now() + Duration::from_millis(300);
                while matches!(locked, Err(std::fs::TryLockError::WouldBlock))
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(20));
                    locked = file.try_lock();
                }
                match locked {
                    Ok(()) => {
                        let text = serde_json::to_string(&holder_now(None)).expect("holder");
                        file.set_len(0)
                            .and_then(|_| file.seek(SeekFrom::Start(0)))
                            .and_then(|_| file.write_all(format!("{text}\n").as_bytes()))
                            .map_err(|e| io_error(&path, "cannot write the job's lock file", e))?;
                        Ok(RunLock {
                            key: format!("file:{}", path.display()),
                            what: format!("lock file {}", path.display()),
                            held: Held::File(file),
                        })
                    }
                    Err(std::fs::TryLockError::WouldBlock) => {
                        drop(file);
                        let deadline = Instant::now() + RECORD_WAIT;
                        let who = loop {
                            let who = file_running(&path)?;
                            let recorded = !matches!(who, Some(Running::File { holder: None, .. }));
                            if recorded || Instant::now() >= deadline {
                                break who;
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        };
                        // The holder ended between the two looks: say so plainly.
                        Err(refused(who.or(Some(Running::File {
                            path: path.clone(),
                            holder: None,
                        }))))
                    }
                    Err(std::fs::TryLockError::Error(e)) => {
                        Err(io_error(&path, "cannot lock the job's lock file", e))
                    }
                }
            }
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if let Held::File(file) = &mut self.held {
            // The holder record goes before the lock does; the file itself stays (a
            // removed lock file would let two runs lock two different files).
            let _ = file.set_len(0);
            let _ = file.unlock();
        }
        // A named lock lets go in NamedLock's drop.
    }
}

/// Whether the lock's recorded holder is a process of this host that no longer exists
/// (killed an instant ago: the server has not yet seen its session end).
fn holder_died_here(handle: &StateHandle, db: &mut Db) -> Result<bool> {
    Ok(match named_running(handle, db)? {
        Some(Running::Named {
            holder: Some(h), ..
        }) => h.host == hostname() && !process_alive(h.pid),
        _ => false,
    })
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// `GET_LOCK(name, wait)` on `db`: `Some(session id)` when taken, `None` when another
/// session holds it.
fn take(db: &mut Db, name: &str, wait: u32) -> Result<Option<u64>> {
    let row: Option<(Option<i64>, u64)> = db
        .conn()
        .exec_first("SELECT GET_LOCK(?, ?), CONNECTION_ID()", (name, wait))
        .map_err(|e| db.err(&format!("taking the job's lock `{name}`"), e))?;
    match row {
        Some((Some(1), session)) => Ok(Some(session)),
        Some((Some(0), _)) => Ok(None),
        _ => Err(Error::Database {
            context: format!("taking the job's lock `{name}`"),
            message: "GET_LOCK returned NULL".into(),
        }),
    }
}

/// A named lock on a session of its own, watched by a thread.
struct NamedLock {
    shared: Arc<Shared>,
    watchdog: Option<JoinHandle<()>>,
}

struct Shared {
    /// The lock's session; `None` while it is lost.
    db: Mutex<Option<Db>>,
    stop: AtomicBool,
    name: String,
    handle: StateHandle,
    target: ConnSpec,
    record: bool,
}

impl NamedLock {
    fn start(db: Db, name: String, handle: StateHandle, target: ConnSpec, record: bool) -> Self {
        let shared = Arc::new(Shared {
            db: Mutex::new(Some(db)),
            stop: AtomicBool::new(false),
            name,
            handle,
            target,
            record,
        });
        let s = shared.clone();
        let watchdog = std::thread::Builder::new()
            .name("ferry-lock".into())
            .spawn(move || watch(&s))
            .ok();
        NamedLock { shared, watchdog }
    }
}

impl Drop for NamedLock {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.watchdog.take() {
            let _ = t.join();
        }
        let s = &self.shared;
        let db = s.db.lock().map(|mut g| g.take()).unwrap_or(None);
        if let Some(mut db) = db {
            if s.record {
                if let Err(e) = s.handle.drop_holder(&mut db) {
                    log::warn!("job {}: {e}", s.handle.job);
                }
            }
            let _ = db.conn().exec_drop("DO RELEASE_LOCK(?)", (&s.name,));
            // Dropping the session ends it (COM_QUIT), which would release it anyway.
        }
    }
}

/// Keeps the lock: checks its session every `KEEPALIVE`; a lost session is replaced
/// and the lock taken again; a lock another run took meanwhile stops this run.
fn watch(s: &Shared) {
    let mut lost = false;
    loop {
        let pause = if lost { RETRY } else { KEEPALIVE };
        let until = Instant::now() + pause;
        while Instant::now() < until {
            if s.stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let Ok(mut guard) = s.db.lock() else { return };
        if let Some(db) = guard.as_mut() {
            let held: std::result::Result<Option<Option<i64>>, _> = db
                .conn()
                .exec_first("SELECT IS_USED_LOCK(?) = CONNECTION_ID()", (&s.name,));
            if let Ok(Some(Some(1))) = held {
                lost = false;
                continue;
            }
            log::warn!(
                "job {}: the target session holding the job's lock `{}` was lost; taking \
                 the lock again",
                s.handle.job,
                s.name
            );
            *guard = None;
        }
        lost = true;
        let Ok(mut db) = Db::connect(&s.target, Role::Target) else {
            continue;
        };
        match take(&mut db, &s.name, 0) {
            Ok(Some(session)) => {
                if s.record {
                    if let Err(e) = s.handle.save_holder(&mut db, &holder_now(Some(session))) {
                        log::warn!("job {}: {e}", s.handle.job);
                    }
                }
                log::warn!(
                    "job {}: took the job's lock `{}` again (target session {session})",
                    s.handle.job,
                    s.name
                );
                *guard = Some(db);
                lost = false;
            }
            Ok(None) => {
                let who = running(&s.handle, &mut db)
                    .ok()
                    .flatten()
                    .map(|r| r.describe())
                    .unwrap_or_else(|| "another run".into());
                log::error!(
                    "job {}: its lock `{}` was lost with its target session, and another \
                     run took it meanwhile: {who}; stopping this run after the pages in \
                     flight (as on SIGTERM); run again with --resume once that run has ended",
                    s.handle.job,
                    s.name
                );
                // SAFETY: kill(2) on this process; the run's SIGTERM handler stops it.
                unsafe {
                    libc::kill(libc::getpid(), libc::SIGTERM);
                }
                return;
            }
            Err(_) => {}
        }
    }
}

/// Takes the job's lock for `job` when the job asks for it (`ferry run`, not a dry
/// run), once per lock: called at every copy (before its state is read) and before the
/// real pass.
pub fn hold(job: &Job) -> Result<()> {
    if !job.host.locking {
        return Ok(());
    }
    let handle = job.state_handle()?;
    let target = job.session(Role::Target, None)?.borrow().spec.clone();
    let key = match &handle.store {
        StateStore::Table(_) => format!(
            "{}:{}/{}",
            target.host,
            target.port,
            lock_name(&handle.database, &handle.job)
        ),
        StateStore::File(state) => format!("file:{}", lock_file(state).display()),
    };
    if job.locks.borrow().iter().any(|l| l.key == key) {
        return Ok(());
    }
    let lock = RunLock::acquire(&handle, &target, true, "this run wrote nothing")?;
    log::info!(
        target: crate::progress::FILE_ONLY,
        "job {}: holding the {} for this run",
        handle.job,
        lock.what
    );
    job.locks.borrow_mut().push(lock);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_fit_the_servers_limit() {
        assert_eq!(lock_name("shop", "users"), "ferry:shop:users");
        let long = lock_name(&"d".repeat(64), "users");
        assert_eq!(long.len(), MAX_NAME);
        assert!(long.starts_with("ferry:ddd"));
        // Names that share their first 47 bytes still differ.
        assert_ne!(long, lock_name(&"d".repeat(64), "orders"));
        // Cut on a character boundary.
        let wide = lock_name("é".repeat(40).as_str(), "j");
        assert!(wide.len() <= MAX_NAME && wide.contains('~'));
    }

    #[test]
    fn dates_from_day_numbers() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_723 + 59), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn lock_files_sit_next_to_state_files() {
        assert_eq!(
            lock_file(Path::new("/jobs/users.state.json")),
            PathBuf::from("/jobs/users.state.json.lock")
        );
    }
}
