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
//!
//! Here: who holds a job's lock (`Running`, `running`), the `RunLock` a run holds and
//! `hold`, which takes it once per lock. The named lock on the target is `named`, its
//! watchdog `watch`; the lock file `file`; the holder's record `holder`.

mod file;
mod holder;
mod named;
mod watch;

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::conn_spec::ConnSpec;
use crate::db::state::{Holder, StateHandle, StateStore};
use crate::db::{Db, Role};
use crate::error::{Error, Result};
use crate::job::Job;
use file::file_running;
use holder::{hostname, process_alive};
use named::named_running;
use watch::NamedLock;

pub use file::lock_file;
pub use named::lock_name;

/// How long a refused run waits for the holder's record to appear (the holder writes it
/// just after taking the lock).
const RECORD_WAIT: Duration = Duration::from_secs(2);

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

/// A lock taken, or refused with the run that holds it (when that can be told).
type Taken = std::result::Result<RunLock, Option<Running>>;

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
        let taken = match &handle.store {
            StateStore::Table(_) => named::acquire(handle, target, record)?,
            StateStore::File(state) => file::acquire(lock_file(state))?,
        };
        taken.map_err(|who| refusal(handle, record, doing, who))
    }
}

/// Why a command that found the job's lock taken stops, naming the run that holds it.
fn refusal(handle: &StateHandle, record: bool, doing: &str, who: Option<Running>) -> Error {
    Error::Check {
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
