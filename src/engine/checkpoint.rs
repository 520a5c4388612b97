//! Saving a copy's state (`Store`): in the state table, where each page's writer
//! commits its part's checkpoint with the page, and, with `state = "file"`, in the
//! state file, rewritten whole after each page and at each step of a copy.

use std::sync::{Arc, Mutex};

use crate::db::state::{CopyState, JobState, PartState, StateHandle};
use crate::db::{Db, Role, Value};
use crate::error::Result;

use super::control::Control;
use super::retry::Retry;

/// Where states go: the job's state store, and the whole job state when that is a file.
#[derive(Clone)]
pub(super) struct Store {
    handle: Option<StateHandle>,
    /// The whole job state, for a file store (saved after each page).
    file: Option<Arc<Mutex<JobState>>>,
}

impl Store {
    pub fn new(handle: Option<StateHandle>, file: Option<JobState>) -> Store {
        Store {
            handle,
            file: file.map(|s| Arc::new(Mutex::new(s))),
        }
    }

    /// The statement that records a part's state, to run in its page's transaction.
    pub fn checkpoint_sql(
        &self,
        id: &str,
        part: u32,
        state: &PartState,
    ) -> Option<(String, Vec<Value>)> {
        self.handle.as_ref()?.checkpoint_sql(id, part, state)
    }

    /// Records a copy's whole state as it starts (the state table made first).
    pub fn copy_started(&self, control: &mut Control, id: &str, state: &CopyState) -> Result<()> {
        if let Some(st) = &self.handle {
            let dst = control.get(Role::Target)?;
            st.ensure(dst)?;
            st.save_copy(dst, id, state)?;
            self.file_copy(id, state, false)?;
        }
        Ok(())
    }

    /// Records a copy's whole state as it ends.
    pub fn copy_done(&self, control: &mut Control, id: &str, state: &CopyState) -> Result<()> {
        match &self.handle {
            Some(st) => control
                .get(Role::Target)
                .and_then(|dst| st.save_copy(dst, id, state))
                .and_then(|_| self.file_copy(id, state, false)),
            None => Ok(()),
        }
    }

    /// Rewrites a copy's own state, not its parts' (which its writers keep).
    pub fn head(&self, control: &mut Control, id: &str, state: &CopyState) -> Result<()> {
        if let Some(st) = &self.handle {
            let dst = control.get(Role::Target)?;
            st.save_head(dst, id, state)?;
            self.file_copy(id, state, true)?;
        }
        Ok(())
    }

    /// Writes a copy's state into the state file (`state = "file"`); `keep_parts` keeps
    /// the parts the file already holds instead of `state`'s.
    fn file_copy(&self, id: &str, state: &CopyState, keep_parts: bool) -> Result<()> {
        if let (Some(fs), Some(st)) = (&self.file, &self.handle) {
            let mut js = fs.lock().unwrap_or_else(|e| e.into_inner());
            let old = js.copies.insert(id.to_string(), state.clone());
            if let (true, Some(old), Some(new)) = (keep_parts, old, js.copies.get_mut(id)) {
                new.parts = old.parts;
            }
            st.save_file(&js)?;
        }
        Ok(())
    }

    /// Writes a part's state into the state file (after its page committed).
    pub fn part_file(&self, id: &str, part: u32, state: &PartState) -> Result<()> {
        if let (Some(fs), Some(st)) = (&self.file, &self.handle) {
            let mut js = fs.lock().unwrap_or_else(|e| e.into_inner());
            js.copies
                .entry(id.to_string())
                .or_default()
                .parts
                .insert(part, state.clone());
            st.save_file(&js)?;
        }
        Ok(())
    }

    /// Records a part's state outside a page (its end), reconnecting with `reconnect`
    /// after a transient fault.
    pub fn commit_part(
        &self,
        db: &mut Db,
        reconnect: &dyn Fn() -> Result<Db>,
        retries: u32,
        id: &str,
        part: u32,
        state: &PartState,
    ) -> Result<()> {
        if self.handle.is_none() {
            return Ok(());
        }
        if let Some((sql, p)) = self.checkpoint_sql(id, part, state) {
            let mut retry = Retry::new(retries);
            loop {
                match db.write_checkpoint(&sql, p.clone()) {
                    Ok(()) => break,
                    Err(f) if f.transient() && retry.again(|_, _| {}) => {
                        *db = reconnect()?;
                    }
                    Err(f) => return Err(db.fault("writing the job state", f)),
                }
            }
        }
        self.part_file(id, part, state)
    }

    /// Pages of a part the state table says committed (`None` without a table).
    pub fn committed_pages(&self, db: &mut Db, id: &str, part: u32) -> Option<Result<Option<u64>>> {
        self.handle
            .as_ref()
            .map(|s| s.committed_pages(db, id, part))
    }
}
