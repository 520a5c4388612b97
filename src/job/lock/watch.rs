//! The named lock's session and the watchdog thread that keeps it: a lost session is
//! replaced and the lock taken again; a lock another run took meanwhile stops this run
//! (as SIGTERM does). Dropping the lock lets it go.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::holder::holder_now;
use super::running;
use crate::conn_spec::ConnSpec;
use crate::db::state::StateHandle;
use crate::db::{Db, Role};

/// How often the watchdog checks that the lock's session still holds it.
const KEEPALIVE: Duration = Duration::from_secs(5);
/// While the lock's session is lost: how often the watchdog tries again.
const RETRY: Duration = Duration::from_secs(1);

/// A named lock on a session of its own, watched by a thread.
pub(super) struct NamedLock {
    shared: Arc<Shared>,
    watchdog: Option<JoinHandle<()>>,
    /// Dropped to stop the watchdog at once (it waits on the other end).
    stop: Option<mpsc::Sender<()>>,
}

struct Shared {
    /// The lock's session; `None` while it is lost.
    db: Mutex<Option<Db>>,
    name: String,
    handle: StateHandle,
    target: ConnSpec,
    record: bool,
}

impl NamedLock {
    pub(super) fn start(
        db: Db,
        name: String,
        handle: StateHandle,
        target: ConnSpec,
        record: bool,
    ) -> Self {
        let shared = Arc::new(Shared {
            db: Mutex::new(Some(db)),
            name,
            handle,
            target,
            record,
        });
        let s = shared.clone();
        let (stop, stopped) = mpsc::channel();
        let watchdog = std::thread::Builder::new()
            .name("ferry-lock".into())
            .spawn(move || watch(&s, &stopped))
            .ok();
        NamedLock {
            shared,
            watchdog,
            stop: Some(stop),
        }
    }
}

impl Drop for NamedLock {
    fn drop(&mut self) {
        drop(self.stop.take());
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
            let _ = db.release_lock(&s.name);
            // Dropping the session ends it (COM_QUIT), which would release it anyway.
        }
    }
}

/// Keeps the lock: checks its session every `KEEPALIVE`; a lost session is replaced
/// and the lock taken again; a lock another run took meanwhile stops this run.
/// Stops when `stopped`'s sender is dropped (at once: a run's end waited up to a tenth
/// of a second for a poll here).
fn watch(s: &Shared, stopped: &mpsc::Receiver<()>) {
    let mut lost = false;
    loop {
        let pause = if lost { RETRY } else { KEEPALIVE };
        match stopped.recv_timeout(pause) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let Ok(mut guard) = s.db.lock() else { return };
        if let Some(db) = guard.as_mut() {
            if let Ok(true) = db.holds_lock(&s.name) {
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
        match db.get_lock(&s.name, 0) {
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
