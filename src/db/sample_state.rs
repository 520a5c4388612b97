//! A sample's key sets frozen in the job's state (`sample{}`), so `--resume` copies
//! exactly the rows the first run chose even when its `where` moves with the clock
//! (`NOW() - INTERVAL 30 DAY`). In the state table they are one row per sample with
//! `part = -3` (which `StateHandle::load` passes over); with `state = "file"`, a file
//! beside the state file (`job.state.sample.json`), replaced whole.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mysql::prelude::Queryable;
use serde::{Deserialize, Serialize};

use super::state::{KeyValue, StateHandle, StateStore, SAMPLE_PART};
use super::Db;
use crate::error::{Error, Result};

/// A sample's key sets, by table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FrozenSample {
    /// What the sample asked for when its keys were chosen (`SampleSpec::fingerprint`).
    #[serde(default)]
    pub spec: String,
    pub tables: BTreeMap<String, Vec<Vec<KeyValue>>>,
}

impl StateHandle {
    fn sample_file(&self) -> Option<PathBuf> {
        match &self.store {
            StateStore::File(p) => Some(p.with_extension("sample.json")),
            StateStore::Table(_) => None,
        }
    }

    fn sample_files(&self, path: &PathBuf) -> Result<BTreeMap<String, FrozenSample>> {
        let io = |e: String| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot read the frozen sample: {e}"),
        };
        match std::fs::read_to_string(path) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| io(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(io(e.to_string())),
        }
    }

    /// Records the sample `id`'s key sets (replacing what an earlier run froze).
    pub fn save_sample(&self, db: &mut Db, id: &str, sample: &FrozenSample) -> Result<()> {
        let text = serde_json::to_string(sample).expect("sample serializes");
        if let Some(path) = self.sample_file() {
            let mut all = self.sample_files(&path)?;
            all.insert(id.to_string(), sample.clone());
            let text = serde_json::to_string(&all).expect("sample serializes");
            return std::fs::write(&path, text).map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: format!("cannot write the frozen sample: {e}"),
            });
        }
        self.ensure(db)?;
        let t = self.table().expect("table store");
        db.conn()
            .exec_drop(
                format!(
                    "INSERT INTO {t} (job, copy_id, part, state) VALUES (?, ?, {SAMPLE_PART}, ?) \
                     ON DUPLICATE KEY UPDATE state = VALUES(state)"
                ),
                (&self.job, id, text),
            )
            .map_err(|e| db.err("freezing the sample's keys in the job state", e))
    }

    /// The key sets the sample `id` froze, if an earlier run did.
    pub fn load_sample(&self, db: &mut Db, id: &str) -> Result<Option<FrozenSample>> {
        if let Some(path) = self.sample_file() {
            return Ok(self.sample_files(&path)?.remove(id));
        }
        let t = self.table().expect("table store");
        let exists: Option<u64> = db
            .conn()
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = ? AND table_name = ?",
                (&self.database, self.table_name()),
            )
            .map_err(|e| db.err("reading the job state", e))?;
        if exists.unwrap_or(0) == 0 {
            return Ok(None);
        }
        let text: Option<String> = db
            .conn()
            .exec_first(
                format!(
                    "SELECT state FROM {t} WHERE job = ? AND copy_id = ? AND part = {SAMPLE_PART}"
                ),
                (&self.job, id),
            )
            .map_err(|e| db.err("reading the frozen sample", e))?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| Error::Database {
                context: format!("reading the frozen sample {id}"),
                message: format!("not valid: {e}"),
                cause: Some(std::sync::Arc::new(e)),
            })
        })
        .transpose()
    }
}
