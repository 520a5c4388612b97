//! The named lock on the target (`GET_LOCK('ferry:<db>:<job>', 0)`), for a job whose
//! state is in the state table: its name, who holds it, and taking it, waiting a little
//! for a holder of this host that was just killed.

use super::holder::{holder_now, hostname, process_alive};
use super::{running_within, Held, NamedLock, RunLock, Running, Taken, RECORD_WAIT};
use crate::conn_spec::ConnSpec;
use crate::db::state::StateHandle;
use crate::db::{Db, Role};
use crate::error::Result;

/// MariaDB's limit on the length of a lock name.
const MAX_NAME: usize = 64;
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

/// Takes the job's named lock on a session of its own, recording the holder when
/// `record`; or the run that holds it.
pub(super) fn acquire(handle: &StateHandle, target: &ConnSpec, record: bool) -> Result<Taken> {
    let name = lock_name(&handle.database, &handle.job);
    let mut db = Db::connect(target, Role::Target)?;
    let mut taken = db.get_lock(&name, 0)?;
    if taken.is_none() && holder_died_here(handle, &mut db)? {
        // Killed a moment ago on this host: its session is ending.
        taken = db.get_lock(&name, DEAD_HOLDER_WAIT)?;
    }
    let Some(session) = taken else {
        return Ok(Err(running_within(handle, &mut db, RECORD_WAIT)?));
    };
    if record {
        handle.save_holder(&mut db, &holder_now(Some(session)))?;
    }
    let key = format!("{}:{}/{}", db.spec.host, db.spec.port, name);
    Ok(Ok(RunLock {
        key,
        what: format!("lock `{name}` on the target (session {session})"),
        held: Held::Named {
            _lock: NamedLock::start(db, name, handle.clone(), target.clone(), record),
        },
    }))
}

pub(super) fn named_running(handle: &StateHandle, db: &mut Db) -> Result<Option<Running>> {
    let name = lock_name(&handle.database, &handle.job);
    let Some(session) = db.lock_holder(&name)? else {
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
}
