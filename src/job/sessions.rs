//! The source and target sessions of a job: opened at the first `source(...)`,
//! `target(...)` or copy (from the script's URL, or `--source`/`--target`, which win),
//! reused while the URL stays the same, and reconnected when the server went away
//! since they were last used.

use std::cell::RefCell;
use std::rc::Rc;

use crate::conn_spec::ConnSpec;
use crate::db::{Db, Role};
use crate::error::Error;
use crate::job::{Job, DEFAULT_RETRIES};

/// The open sessions, kept across the plan and the real pass.
#[derive(Default)]
pub struct Sessions {
    pub source: Option<Rc<RefCell<Db>>>,
    pub target: Option<Rc<RefCell<Db>>>,
}

impl Job {
    /// `--source` or `--target`, which win over the script's URLs.
    pub fn override_for(&self, role: Role) -> Option<ConnSpec> {
        match role {
            Role::Source => self.host.source_override.clone(),
            Role::Target => self.host.target_override.clone(),
        }
    }

    /// The session for `role`: reuses the open one when `spec` is the same (or absent).
    pub fn session(&self, role: Role, spec: Option<ConnSpec>) -> Result<Rc<RefCell<Db>>, Error> {
        let mut sessions = self.sessions.borrow_mut();
        let slot = match role {
            Role::Source => &mut sessions.source,
            Role::Target => &mut sessions.target,
        };
        match (slot.as_ref(), spec.or(self.override_for(role))) {
            (Some(db), None) => alive(db, role),
            // The open session holds its spec with the password read: compare like with
            // like.
            (Some(db), Some(s))
                if s.resolve(role.password_env()).ok().as_ref() == Some(&db.borrow().spec) =>
            {
                alive(db, role)
            }
            (_, Some(s)) => {
                let db = Rc::new(RefCell::new(Db::connect(&s, role)?));
                {
                    let d = db.borrow();
                    let tls = match &d.cipher {
                        Some(c) => format!(" (TLS, {c})"),
                        None => String::new(),
                    };
                    log::info!(target: crate::progress::FILE_ONLY, "{} connected: {}{tls}", role.name(), d.spec);
                }
                *slot = Some(db.clone());
                Ok(db)
            }
            (None, None) => Err(Error::usage(format!(
                "no {r} database: call {r} \"mysql://user@host/db\" in the job, or pass --{r} URL \
                 (or set FERRY_{R})",
                r = role.name(),
                R = role.name().to_uppercase()
            ))),
        }
    }

    /// The open session of `role`, if any (not opened, not checked).
    pub fn open_session(&self, role: Role) -> Option<Rc<RefCell<Db>>> {
        let sessions = self.sessions.borrow();
        match role {
            Role::Source => sessions.source.clone(),
            Role::Target => sessions.target.clone(),
        }
    }

    /// Ends every session (each with COM_QUIT).
    pub fn close_sessions(&self) {
        drop(self.sessions.take());
    }
}

/// The open session, reconnected (with the engine's retries and backoff) when its
/// server went away since it was last used, e.g. a target that restarted mid-job.
fn alive(db: &Rc<RefCell<Db>>, role: Role) -> Result<Rc<RefCell<Db>>, Error> {
    let Ok(mut d) = db.try_borrow_mut() else {
        return Ok(db.clone());
    };
    if d.is_alive() {
        return Ok(db.clone());
    }
    let spec = d.spec.clone();
    *d = crate::engine::connect_retrying(&spec, role, DEFAULT_RETRIES, role.name(), &|| true)?;
    log::warn!("{} connection was lost; reconnected", role.name());
    Ok(db.clone())
}
