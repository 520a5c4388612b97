//! The lock file, for a job whose state is in a file: an exclusive `flock` on
//! `<state file>.lock`, which holds the holder's JSON while it is held.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::holder::holder_now;
use super::{Held, RunLock, Running, Taken, RECORD_WAIT};
use crate::error::{Error, Result};

/// The lock file of a state file: `<state file>.lock`.
pub fn lock_file(state_file: &Path) -> PathBuf {
    let mut name = state_file.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock file `path`, writing this process into it; or the run that holds it.
pub(super) fn acquire(path: PathBuf) -> Result<Taken> {
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
    while matches!(locked, Err(std::fs::TryLockError::WouldBlock)) && Instant::now() < deadline {
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
            Ok(Ok(RunLock {
                key: format!("file:{}", path.display()),
                what: format!("lock file {}", path.display()),
                held: Held::File(file),
            }))
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
            Ok(Err(who.or(Some(Running::File {
                path: path.clone(),
                holder: None,
            }))))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(io_error(&path, "cannot lock the job's lock file", e))
        }
    }
}

pub(super) fn file_running(path: &Path) -> Result<Option<Running>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_files_sit_next_to_state_files() {
        assert_eq!(
            lock_file(Path::new("/jobs/users.state.json")),
            PathBuf::from("/jobs/users.state.json.lock")
        );
    }
}
