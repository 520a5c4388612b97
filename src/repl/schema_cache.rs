//! The schema cache completion reads: each side's tables and their columns, filled on a
//! connection of its own by a background thread (at start, after `.connect`, on
//! `.rehash`), so a Tab never waits on the network. Completion takes a snapshot (an
//! `Arc` of the last fill) and never blocks on a fill.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::conn_spec::ConnSpec;
use crate::db::{Db, Role};

/// One side's tables, each with its columns in order.
pub type Tables = BTreeMap<String, Vec<String>>;

#[derive(Default)]
struct Side {
    tables: Arc<Tables>,
    /// The URL (password masked) of the last fill started, to refill when it changes.
    url: Option<String>,
    /// Bumped by every fill started: an older fill finishing late is dropped.
    generation: u64,
    filling: bool,
    error: Option<String>,
}

#[derive(Default)]
struct State {
    sides: [Side; 2],
}

/// The cache, shared between the prompt, the line editor and the fill threads.
#[derive(Clone, Default)]
pub struct SchemaCache {
    inner: Arc<(Mutex<State>, Condvar)>,
}

fn index(role: Role) -> usize {
    match role {
        Role::Source => 0,
        Role::Target => 1,
    }
}

impl SchemaCache {
    pub fn new() -> SchemaCache {
        SchemaCache::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts filling `role`'s side from `spec` on a connection of its own, in the
    /// background; the last fill keeps answering meanwhile.
    pub fn refresh(&self, role: Role, spec: &ConnSpec) {
        let generation = {
            let mut st = self.state();
            let side = &mut st.sides[index(role)];
            side.generation += 1;
            side.filling = true;
            side.url = Some(spec.to_string());
            side.generation
        };
        let this = self.clone();
        let spec = spec.clone();
        let spawned = std::thread::Builder::new()
            .name("ferry-schema-cache".into())
            .spawn(move || {
                let read = Db::connect(&spec, role).and_then(|mut db| db.table_columns());
                let mut st = this.state();
                let side = &mut st.sides[index(role)];
                if side.generation != generation {
                    return;
                }
                side.filling = false;
                match read {
                    Ok(list) => {
                        side.tables = Arc::new(list.into_iter().collect());
                        side.error = None;
                    }
                    Err(e) => side.error = Some(crate::conn_spec::mask_urls(&e.to_string())),
                }
                drop(st);
                this.inner.1.notify_all();
            });
        if spawned.is_err() {
            let mut st = self.state();
            st.sides[index(role)].filling = false;
            st.sides[index(role)].error = Some("cannot start the schema cache's thread".into());
        }
    }

    /// Refills `role`'s side when a statement may have changed its tables (see
    /// `may_change_schema`); the last fill answers until the new one is in.
    pub fn after_statement(&self, statement: &str, role: Role, spec: Option<&ConnSpec>) {
        if let Some(spec) = spec.filter(|_| may_change_schema(statement)) {
            self.refresh(role, spec);
        }
    }

    /// Refills `role`'s side when the session's URL is not the one the cache was
    /// filled from (a first session, or `.connect` to another server).
    pub fn follow(&self, role: Role, spec: Option<&ConnSpec>) {
        let Some(spec) = spec else { return };
        if self.state().sides[index(role)].url.as_deref() != Some(&spec.to_string()) {
            self.refresh(role, spec);
        }
    }

    /// Waits up to `limit` for the fills under way; whether they all finished.
    pub fn wait(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut st = self.state();
        while st.sides.iter().any(|s| s.filling) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            st = self
                .inner
                .1
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    /// The last fill of `role`'s side (empty before the first).
    pub fn tables(&self, role: Role) -> Arc<Tables> {
        self.state().sides[index(role)].tables.clone()
    }

    /// `src: 12 tables, 80 columns` per side filled, or why a fill failed.
    pub fn summary(&self) -> String {
        let st = self.state();
        let mut parts = Vec::new();
        for (role, name) in [(Role::Source, "src"), (Role::Target, "dst")] {
            let side = &st.sides[index(role)];
            if side.url.is_none() {
                continue;
            }
            parts.push(match (&side.error, side.filling) {
                (Some(e), _) => format!("{name}: {e}"),
                (None, true) => format!("{name}: still reading"),
                (None, false) => format!(
                    "{name}: {} tables, {} columns",
                    side.tables.len(),
                    side.tables.values().map(Vec::len).sum::<usize>()
                ),
            });
        }
        if parts.is_empty() {
            "no side connected".into()
        } else {
            parts.join("; ")
        }
    }
}

/// Whether a statement may have made, dropped or changed tables: SQL that does, or Lua
/// that copies (`create = true`) or runs SQL.
pub fn may_change_schema(statement: &str) -> bool {
    let lower = statement.to_ascii_lowercase();
    [
        "create", "drop", "alter", "rename", "copy", "sample", "exec", "query",
    ]
    .iter()
    .any(|w| lower.contains(w))
}
