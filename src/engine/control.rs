//! The engine's own sessions (one on each side), for what it asks outside a copy's
//! threads: the incremental window, counts and split points before a copy, its state
//! and its indexes around it. Each is opened when first needed and opened again when
//! the server went away since its last use.

use crate::conn_spec::ConnSpec;
use crate::db::{Db, Role};
use crate::error::Result;

use super::config::{EngineConfig, Stop};
use super::retry;

pub(super) struct Control {
    source: ConnSpec,
    target: ConnSpec,
    retries: u32,
    stop: Stop,
    src: Option<Db>,
    dst: Option<Db>,
}

impl Control {
    pub fn new(cfg: &EngineConfig) -> Control {
        Control {
            source: cfg.source.clone(),
            target: cfg.target.clone(),
            retries: cfg.retries,
            stop: cfg.stop.clone(),
            src: None,
            dst: None,
        }
    }

    /// The session on `role`'s side, connected (with retries) if need be.
    pub fn get(&mut self, role: Role) -> Result<&mut Db> {
        let (slot, spec) = match role {
            Role::Source => (&mut self.src, &self.source),
            Role::Target => (&mut self.dst, &self.target),
        };
        // A server restarted since this session's last use (a copy ago) left it dead.
        if slot.as_mut().is_some_and(|db| !db.is_alive()) {
            *slot = None;
        }
        if slot.is_none() {
            let stop = &self.stop;
            *slot = Some(retry::connect(
                spec,
                role,
                self.retries,
                role.name(),
                &|| !stop.is_set(),
            )?);
        }
        Ok(slot.as_mut().expect("connected"))
    }

    /// Drops the session on `role`'s side (after a fault): the next use reconnects.
    pub fn forget(&mut self, role: Role) {
        match role {
            Role::Source => self.src = None,
            Role::Target => self.dst = None,
        }
    }

    pub fn retries(&self) -> u32 {
        self.retries
    }
}
