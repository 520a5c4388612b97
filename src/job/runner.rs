//! The job's state and its engine: the state handle and the state earlier runs left
//! (read once the job's run lock is held), copy ids, and the bridge to the engine,
//! created at the first copy of the real pass. Copies are started on it and their
//! results collected in script order, at once (`parallel = 1`) or when the script
//! reads them or ends.

use std::sync::Arc;

use crate::db::state::{JobState, StateHandle, StateStore};
use crate::db::Role;
use crate::engine::{CopyStats, CopyTask, Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::job::hooks::Owner;
use crate::job::{CopyResult, Hooks, Job};
use crate::plan::Mode;
use crate::throttle::Throttle;

impl Job {
    /// The job's state handle (the target session must be open).
    pub fn state_handle(&self) -> Result<StateHandle> {
        let dst = self.session(Role::Target, None)?;
        let database = dst.borrow().database().to_string();
        let s = self.settings.borrow();
        Ok(StateHandle {
            store: s.store.clone(),
            job: s.name.clone(),
            database,
        })
    }

    /// The state earlier runs left (loaded once per pass).
    pub fn saved_state(&self) -> Result<JobState> {
        // A run reads its state, and then writes, only once it holds the job's lock.
        crate::job::lock::hold(self)?;
        if let Some(s) = self.record.borrow().saved.as_ref() {
            return Ok(s.clone());
        }
        let handle = self.state_handle()?;
        let dst = self.session(Role::Target, None)?;
        let state = handle.load(&mut dst.borrow_mut())?;
        self.record.borrow_mut().saved = Some(state.clone());
        Ok(state)
    }

    /// The id of the next copy named `name` in this pass: `name`, then `name#2`, ...
    pub fn copy_id(&self, name: &str) -> String {
        let mut record = self.record.borrow_mut();
        let n = record.copy_ids.entry(name.to_string()).or_insert(0);
        *n += 1;
        if *n == 1 {
            name.to_string()
        } else {
            format!("{name}#{n}")
        }
    }

    /// The id the next copy named `name` gets in this pass (`copy_id` without taking it).
    pub fn next_copy_id(&self, name: &str) -> String {
        match self.record.borrow().copy_ids.get(name) {
            None => name.to_string(),
            Some(n) => format!("{name}#{}", n + 1),
        }
    }

    /// Starts a copy on the engine (created at the first copy).
    pub fn start(&self, task: CopyTask) -> Result<usize> {
        let parallel = self.settings.borrow().parallel;
        let mut running = self.running.try_borrow_mut().map_err(|_| {
            Error::usage("copy cannot run inside another copy's transform or map function")
        })?;
        if running.engine.is_none() {
            running.engine = Some(self.new_engine()?);
        }
        let engine = running.engine.as_mut().expect("engine");
        engine.wait_below(parallel);
        engine.start(task)
    }

    fn new_engine(&self) -> Result<Engine> {
        let src = self.session(Role::Source, None)?;
        let dst = self.session(Role::Target, None)?;
        let state = self.state_handle()?;
        let s = self.settings.borrow().clone();
        let file_state = match &state.store {
            StateStore::File(_) => Some(state.load(&mut dst.borrow_mut())?),
            StateStore::Table(_) => None,
        };
        let stop = match self.stop.borrow().clone() {
            Some(stop) => stop,
            None => {
                crate::signals::install();
                crate::signals::stop()
            }
        };
        let cfg = EngineConfig {
            source: src.borrow().spec.clone(),
            target: dst.borrow().spec.clone(),
            state: Some(state),
            progress: match self.progress.borrow().clone() {
                Some(sink) => sink,
                None => Arc::new(crate::progress::Terminal::new(self.host.display)),
            },
            stop,
            retries: s.retries,
            page_bytes: s.page_bytes,
            job_limit: s.limits.is_set().then(|| Arc::new(Throttle::new(s.limits))),
            pace: self.pace.borrow().clone(),
        };
        Ok(Engine::new(cfg, file_state))
    }

    /// Keeps a started copy's `after` hooks and checks for when it ends.
    pub(crate) fn keep_hooks(&self, handle: usize, hooks: Hooks, location: &str) {
        self.running
            .borrow_mut()
            .hooks
            .insert(handle, (hooks, location.to_string()));
    }

    /// Waits for a started copy and records its result (once; later calls get it again).
    pub fn wait(&self, handle: usize, name: &str, mode: Mode) -> Result<CopyStats> {
        if let Some(r) = self
            .running
            .try_borrow()
            .ok()
            .and_then(|r| r.collected.get(&handle).cloned())
        {
            return r;
        }
        let result = {
            let mut running = self.running.try_borrow_mut().map_err(|_| Error::Usage {
                message: "a copy's result was read inside a transform".into(),
            })?;
            running.engine.as_mut().expect("engine").wait(handle)
        };
        // The copy's `after` hooks and checks, once its rows are in.
        let hooks = self.running.borrow_mut().hooks.remove(&handle);
        let hooked = match (&result, hooks) {
            (Ok(stats), Some((hooks, location))) => {
                let owner = Owner {
                    copy: Some(name),
                    location: &location,
                };
                self.finish_copy(&hooks, &owner, stats)
            }
            _ => Ok(()),
        };
        let committed = {
            let mut running = self.running.borrow_mut();
            running.pending.retain(|p| p.0 != handle);
            running.engine.as_ref().and_then(|en| en.committed(handle))
        };
        // Every copy is in the summary: a failed one with what it committed, one whose
        // hook or check failed with its rows.
        let (status, stats) = match (&result, &hooked) {
            (Ok(s), Err(Error::CheckFailed { .. })) => ("check failed", s.clone()),
            (Ok(s), Err(_)) => ("hook failed", s.clone()),
            (Ok(s), Ok(())) if s.already_done => ("done before", s.clone()),
            (Ok(s), Ok(())) => ("ok", s.clone()),
            (Err(e), _) => (
                if matches!(e, Error::Interrupted { .. }) {
                    "stopped"
                } else {
                    "failed"
                },
                committed.unwrap_or_default(),
            ),
        };
        let result = result.and_then(|stats| hooked.map(|()| stats));
        self.running
            .borrow_mut()
            .collected
            .insert(handle, result.clone());
        self.record.borrow_mut().results.push(CopyResult {
            name: name.to_string(),
            mode,
            status,
            stats,
        });
        result
    }

    /// Waits for every copy still running (at the end of the script). The first error
    /// that is not a stop by a signal wins, after all have ended; every other failure
    /// is logged, so none is hidden behind another.
    pub fn wait_all(&self) -> Result<()> {
        let pending = self.running.borrow().pending.clone();
        let mut errors = Vec::new();
        for (h, name, mode) in pending {
            if let Err(e) = self.wait(h, &name, mode) {
                errors.push(e);
            }
        }
        let pick = errors
            .iter()
            .position(|e| !matches!(e, Error::Interrupted { .. }))
            .unwrap_or(0);
        if errors.is_empty() {
            return Ok(());
        }
        let chosen = errors.remove(pick);
        for e in errors
            .iter()
            .filter(|e| !matches!(e, Error::Interrupted { .. }))
        {
            log::error!("{e}");
        }
        Err(chosen)
    }

    /// Drops the engine: a copy a signal stopped stays in it with its transform, which
    /// holds the Lua state and, through it, the sessions.
    pub fn stop_engine(&self) {
        let engine = self.running.borrow_mut().engine.take();
        drop(engine);
        // Hooks hold the script's functions: they go with the pass, as its transforms do.
        self.running.borrow_mut().hooks.clear();
        self.clear_job_hooks();
    }
}
