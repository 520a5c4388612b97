//! The one retry policy of the engine: which faults are transient (a lost connection,
//! a deadlock, a lock wait timeout, a restarting server: `crate::db::is_transient`),
//! how many tries they get (the job's `retries`) and how long to wait before each
//! (`crate::db::backoff`). Reader pages, writer pages, checkpoints, index rebuilds and
//! connections all go through `Retry`.

use crate::conn_spec::ConnSpec;
use crate::db::{backoff, Db, Role};
use crate::error::{Error, Result};

/// The tries of one operation that may meet transient faults.
pub(super) struct Retry {
    tries: u32,
    limit: u32,
}

impl Retry {
    /// At most `limit` more tries after the first.
    pub fn new(limit: u32) -> Retry {
        Retry { tries: 0, limit }
    }

    /// After a transient fault: `false` when the tries are used up; else counts this
    /// try, lets `say` log it (`say(try, of)`) and waits its backoff.
    pub fn again(&mut self, say: impl FnOnce(u32, u32)) -> bool {
        if self.tries >= self.limit {
            return false;
        }
        self.tries += 1;
        say(self.tries, self.limit);
        std::thread::sleep(backoff(self.tries));
        true
    }

    /// The operation succeeded: the next fault starts counting again.
    pub fn reset(&mut self) {
        self.tries = 0;
    }
}

/// Whether a server or driver error is worth a reconnect and another try (db knows
/// which are).
pub(super) use crate::db::is_transient as transient;

/// A new session, riding out a restarting server: a failed connection is tried again
/// with the policy's backoff while `go_on` says so (`who` names the session in the log).
pub fn connect(
    spec: &ConnSpec,
    role: Role,
    retries: u32,
    who: &str,
    go_on: &dyn Fn() -> bool,
) -> Result<Db> {
    let mut retry = Retry::new(retries);
    loop {
        match Db::connect(spec, role) {
            Ok(db) => return Ok(db),
            Err(e @ (Error::Connect { .. } | Error::Database { .. }))
                if go_on()
                    && retry
                        .again(|n, of| log::warn!("{who}: {e}; trying again ({n} of {of})")) => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_run_out_and_start_over_after_a_success() {
        let mut retry = Retry::new(2);
        let mut said = Vec::new();
        // The first backoffs are short (200 and 400 ms).
        assert!(retry.again(|n, of| said.push((n, of))));
        assert!(retry.again(|n, of| said.push((n, of))));
        assert!(!retry.again(|n, of| said.push((n, of))));
        assert_eq!(said, vec![(1, 2), (2, 2)]);
        retry.reset();
        let mut none = Retry::new(0);
        assert!(!none.again(|_, _| panic!("no try to log")));
    }
}
