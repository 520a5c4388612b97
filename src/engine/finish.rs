//! The end of a copy, once all its parts have ended: the secondary indexes it took
//! off come back (however it ended), a copy that succeeded records itself done and
//! moves its incremental mark on, and its result goes where `Engine::wait` finds it.

use std::time::Instant;

use crate::db::indexes::{Deferred, RebuildError};
use crate::db::state::CopyState;
use crate::db::Role;
use crate::error::{Error, Result};

use super::config::CopyStats;
use super::pipeline::Running;
use super::retry::Retry;
use super::Engine;

impl Engine {
    /// Records a copy's result once all its parts have ended.
    pub(super) fn finish(&mut self, copy: usize) {
        let Some(mut r) = self.running.remove(&copy) else {
            return;
        };
        let mut result = match r.error.take() {
            Some(e) => Err(e),
            None => match self.cfg.stop.signal() {
                Some(sig) => Err(Error::Interrupted {
                    signal: sig,
                    met: None,
                }),
                None => Ok(()),
            },
        };
        // Indexes taken off for the load come back however the copy ended: a failed
        // or stopped copy leaves its committed pages, on a table defined as before.
        if let Err(e) = self.restore_indexes(&mut r, result.is_err()) {
            if result.is_ok() {
                result = Err(e);
            }
        }
        let mut stats = r.shared.stats.lock().map(|s| s.clone()).unwrap_or_default();
        stats.seconds = r.start.elapsed().as_secs_f64();
        let result = result.and_then(|()| self.save_done(&r, &stats));
        {
            let mut progress = r.shared.progress.lock().unwrap_or_else(|e| e.into_inner());
            match &result {
                Ok(()) => progress.finish(&summary(&stats)),
                Err(_) => progress.abandon(),
            }
        }
        if result.is_err() {
            self.committed.insert(copy, stats.clone());
        }
        // Named after the copy: with `parallel`, the script is elsewhere by now.
        let plan = &r.shared.plan;
        let result = result
            .map(|()| stats)
            .map_err(|e| e.in_copy(&plan.name, &plan.location));
        self.finished.insert(copy, result);
    }

    /// All parts are done: the copy is, and its mark moves on.
    fn save_done(&mut self, r: &Running, stats: &CopyStats) -> Result<()> {
        let mut state: CopyState = r.state.clone();
        state.done = true;
        state.read = stats.read + stats.resumed;
        state.written = stats.written + r.state.parts.values().map(|p| p.written).sum::<u64>();
        state.rejected = stats.rejected + r.state.parts.values().map(|p| p.rejected).sum::<u64>();
        if state.next_mark.is_some() {
            state.mark = state.next_mark.take();
        }
        state.parts.clear();
        self.store
            .copy_done(&mut self.control, &r.shared.id, &state)
    }

    /// Adds back the indexes a running copy took off its target, if any, and forgets
    /// them. A copy that `failed` saves that now (a copy that succeeds saves its whole
    /// state next); when they cannot be added back, the log says how they will be.
    fn restore_indexes(&mut self, r: &mut Running, failed: bool) -> Result<()> {
        let Some(d) = r.state.deferred.clone() else {
            return Ok(());
        };
        let name = &r.shared.plan.name;
        r.shared
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .phase(&format!("building the secondary indexes {} ...", d.names()));
        if let Err(e) = self.add_back(name, &d) {
            log::error!(
                "copy {name}: the secondary indexes {} are still off {}: {e}; the next \
                 run of this job adds them back, and so does `ferry state --clear`",
                d.names(),
                r.shared.plan.target.name
            );
            return Err(e);
        }
        r.state.deferred = None;
        if failed {
            if let Err(e) = self.store.head(&mut self.control, &r.shared.id, &r.state) {
                log::warn!("copy {name}: {e}");
            }
        }
        Ok(())
    }

    /// Adds back the secondary indexes a copy took off its target. A lost connection
    /// (or a restarted server) is ridden out like a page's: reconnect with backoff and
    /// add what is still missing (`rebuild` skips indexes that are present, so an ALTER
    /// that finished as the connection went is not run twice).
    fn add_back(&mut self, copy: &str, d: &Deferred) -> Result<()> {
        let t = Instant::now();
        let mut retry = Retry::new(self.control.retries());
        let added = loop {
            let dst = self.control.get(Role::Target)?;
            match crate::db::indexes::rebuild(dst, d) {
                Ok(added) => break added,
                Err(RebuildError::Transient(e))
                    if retry.again(|n, of| {
                        log::warn!(
                            "copy {copy}: adding the secondary indexes back failed ({e}); \
                             reconnecting, try {n} of {of}"
                        )
                    }) =>
                {
                    self.control.forget(Role::Target);
                }
                Err(e) => return Err(e.into()),
            }
        };
        if !added.is_empty() {
            log::info!(
                "copy {copy}: built {} in {:.1}s",
                added.join(", "),
                t.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }
}

/// What a copy that succeeded did, in a line.
fn summary(stats: &CopyStats) -> String {
    let conflicts = if stats.conflicts > 0 {
        format!(", {} conflicts", stats.conflicts)
    } else {
        String::new()
    };
    let rejected = match &stats.rejects_file {
        Some(path) if stats.rejected > 0 => {
            format!(", {} rejected (in {})", stats.rejected, path.display())
        }
        _ => String::new(),
    };
    format!(
        "done: {} read, {} written ({} inserted, {} updated), {} unchanged, \
         {} ignored{conflicts}, {} skipped{rejected} in {:.1}s",
        stats.read,
        stats.written,
        stats.inserted,
        stats.updated,
        stats.unchanged,
        stats.ignored,
        stats.skipped,
        stats.seconds
    )
}
