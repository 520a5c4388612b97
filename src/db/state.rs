//! Job state: where each copy of a job got to, so a killed run resumes after its last
//! committed page and an incremental copy knows its high-water mark.
//!
//! Two stores. The default is a table in the target database (`_ferry_state`, its name
//! configurable): the engine writes a copy's checkpoint inside the same transaction as
//! the page it describes, so page and checkpoint can never disagree. Where ferry may not
//! create a table, `state = "file"` keeps a JSON file next to the job, replaced
//! atomically (temp file, fsync, rename) after each committed page; a page and its
//! checkpoint can then disagree by one page, which a keyed target absorbs (the page is
//! written again with the same result) and a keyless target cannot, so a keyless
//! target refuses to resume from a file.
//!
//! The state table also records who holds the job's run lock (`crate::job::lock`): one row
//! per job with `part = -2`, holding a `Holder` (host, pid, start time, lock session),
//! written by the run that takes the lock and deleted when it lets go. A run killed
//! outright leaves its row behind; the lock itself died with it, so readers trust the
//! row only while the named lock is held by the session the row names.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use mysql::prelude::Queryable;
use mysql::Value;
use serde::{Deserialize, Serialize};

use crate::db::schema::quote_ident;
use crate::db::Db;
use crate::error::{Error, Result};

pub const DEFAULT_TABLE: &str = "_ferry_state";

/// The `part` of the state row that names the holder of the job's run lock.
const HOLDER_PART: i32 = -2;

/// The `part` of the state rows that hold a sample's frozen key sets (`sample_state`).
pub(crate) const SAMPLE_PART: i32 = -3;

/// Who holds a job's run lock: the run that took it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// When the run took the lock, `YYYY-MM-DD HH:MM:SS UTC`.
    pub started: String,
    /// The lock's session on the target (`CONNECTION_ID()`); `None` for a file lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<u64>,
}

impl Holder {
    /// `pid 4242 on host db-runner-1, started 2026-12-02 16:30:00 UTC`.
    pub fn describe(&self) -> String {
        format!(
            "pid {} on host {}, started {}",
            self.pid, self.host, self.started
        )
    }
}

/// Where a job keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateStore {
    /// A table in the target database.
    Table(String),
    /// A JSON file.
    File(PathBuf),
}

impl StateStore {
    pub fn describe(&self) -> String {
        match self {
            StateStore::Table(t) => format!("table {t} in the target database"),
            StateStore::File(p) => format!("file {}", p.display()),
        }
    }
}

/// Progress of one part (key range) of a copy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PartState {
    /// Key of the last source row of the last committed page; `None`: nothing yet.
    pub last_key: Option<Vec<KeyValue>>,
    /// Pages committed so far.
    pub pages: u64,
    pub read: u64,
    pub written: u64,
    pub skipped: u64,
    /// Rows set aside (`on_error = "reject"`) in the pages committed so far.
    #[serde(default)]
    pub rejected: u64,
    pub done: bool,
}

/// One copy's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CopyState {
    /// The plan the state was written for; a resumed run must match it.
    pub plan: String,
    /// Upper bounds of the key ranges (one part per range), as the run split them.
    pub bounds: Vec<Option<Vec<KeyValue>>>,
    pub parts: BTreeMap<u32, PartState>,
    /// High-water mark of the `since` column after the last successful run.
    pub mark: Option<String>,
    /// The mark this run reads up to (set when it starts; becomes `mark` when done).
    pub next_mark: Option<String>,
    pub done: bool,
    /// Rows read and written in all, once done.
    #[serde(default)]
    pub read: u64,
    #[serde(default)]
    pub written: u64,
    /// Rows set aside (`on_error = "reject"`) in all, once done.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rejected: u64,
    /// Secondary indexes the copy took off its target table for the load and has not
    /// added back yet (`indexes.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred: Option<crate::db::indexes::Deferred>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A key value as stored in the state: exact for every type a key can have.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum KeyValue {
    Null,
    Int(i64),
    UInt(u64),
    /// Bytes as hex.
    Bytes(String),
    /// f32/f64 bits.
    Float(u32),
    Double(u64),
    Date(u16, u8, u8, u8, u8, u8, u32),
    Time(bool, u32, u8, u8, u8, u32),
}

impl KeyValue {
    pub fn from_value(v: &Value) -> KeyValue {
        match v {
            Value::NULL => KeyValue::Null,
            Value::Int(i) => KeyValue::Int(*i),
            Value::UInt(u) => KeyValue::UInt(*u),
            Value::Bytes(b) => KeyValue::Bytes(crate::db::value::hex(b)),
            Value::Float(f) => KeyValue::Float(f.to_bits()),
            Value::Double(f) => KeyValue::Double(f.to_bits()),
            Value::Date(y, m, d, h, mi, s, us) => KeyValue::Date(*y, *m, *d, *h, *mi, *s, *us),
            Value::Time(neg, d, h, m, s, us) => KeyValue::Time(*neg, *d, *h, *m, *s, *us),
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            KeyValue::Null => Value::NULL,
            KeyValue::Int(i) => Value::Int(*i),
            KeyValue::UInt(u) => Value::UInt(*u),
            KeyValue::Bytes(h) => Value::Bytes(unhex(h)),
            KeyValue::Float(b) => Value::Float(f32::from_bits(*b)),
            KeyValue::Double(b) => Value::Double(f64::from_bits(*b)),
            KeyValue::Date(y, m, d, h, mi, s, us) => Value::Date(*y, *m, *d, *h, *mi, *s, *us),
            KeyValue::Time(neg, d, h, m, s, us) => Value::Time(*neg, *d, *h, *m, *s, *us),
        }
    }
}

pub fn key_to_state(key: &[Value]) -> Vec<KeyValue> {
    key.iter().map(KeyValue::from_value).collect()
}

pub fn key_from_state(key: &[KeyValue]) -> Vec<Value> {
    key.iter().map(KeyValue::to_value).collect()
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

/// The state of every copy of one job, by copy id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JobState {
    pub job: String,
    pub copies: BTreeMap<String, CopyState>,
}

/// Reads and writes one job's state in its store.
#[derive(Debug, Clone)]
pub struct StateHandle {
    pub store: StateStore,
    pub job: String,
    /// The target database, for the state table.
    pub database: String,
}

impl StateHandle {
    pub(crate) fn table(&self) -> Option<String> {
        match &self.store {
            StateStore::Table(t) => Some(format!(
                "{}.{}",
                quote_ident(&self.database),
                quote_ident(t)
            )),
            StateStore::File(_) => None,
        }
    }

    /// Creates the state table when it is missing (before the first page a job writes;
    /// DDL commits, so never inside a page's transaction).
    pub fn ensure(&self, db: &mut Db) -> Result<()> {
        if let Some(t) = self.table() {
            db.conn()
                .query_drop(format!(
                    "CREATE TABLE IF NOT EXISTS {t} (\
                       job VARCHAR(255) NOT NULL, \
                       copy_id VARCHAR(512) NOT NULL, \
                       part INT NOT NULL, \
                       state LONGTEXT NOT NULL, \
                       updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) \
                         ON UPDATE CURRENT_TIMESTAMP(6), \
                       PRIMARY KEY (job, copy_id, part)\
                     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin \
                     COMMENT='ferry job state: one row per copy (part -1) and per key range'"
                ))
                .map_err(|e| db.err("creating the state table", e))?;
        }
        Ok(())
    }

    /// Loads the job's state (empty when there is none).
    pub fn load(&self, db: &mut Db) -> Result<JobState> {
        let mut state = JobState {
            job: self.job.clone(),
            copies: BTreeMap::new(),
        };
        match &self.store {
            StateStore::File(path) => {
                let text = match std::fs::read_to_string(path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(state),
                    Err(e) => {
                        return Err(Error::Io {
                            path: path.display().to_string(),
                            message: format!("cannot read the job state: {e}"),
                        })
                    }
                };
                let s: JobState = serde_json::from_str(&text).map_err(|e| Error::Io {
                    path: path.display().to_string(),
                    message: format!("the job state is not valid: {e}"),
                })?;
                Ok(s)
            }
            StateStore::Table(_) => {
                let t = self.table().expect("table store");
                if !self.table_exists(db)? {
                    return Ok(state);
                }
                let rows: Vec<(String, i32, String)> = db
                    .conn()
                    .exec(
                        format!("SELECT copy_id, part, state FROM {t} WHERE job = ? ORDER BY copy_id, part"),
                        (&self.job,),
                    )
                    .map_err(|e| db.err("reading the job state", e))?;
                for (copy, part, text) in rows {
                    if part == HOLDER_PART || part == SAMPLE_PART {
                        continue;
                    }
                    let entry = state.copies.entry(copy.clone()).or_default();
                    let bad = |e: serde_json::Error| Error::Database {
                        context: format!("reading the job state ({t}, copy {copy})"),
                        message: format!("not valid: {e}"),
                        cause: Some(std::sync::Arc::new(e)),
                    };
                    if part < 0 {
                        let mut c: CopyState = serde_json::from_str(&text).map_err(bad)?;
                        c.parts = std::mem::take(&mut entry.parts);
                        *entry = c;
                    } else {
                        let p: PartState = serde_json::from_str(&text).map_err(bad)?;
                        entry.parts.insert(part as u32, p);
                    }
                }
                Ok(state)
            }
        }
    }

    pub(crate) fn table_name(&self) -> String {
        match &self.store {
            StateStore::Table(t) => t.clone(),
            StateStore::File(_) => String::new(),
        }
    }

    /// Writes a copy's own row (not its parts) outside any page: at the start and the
    /// end of a copy.
    pub fn save_copy(&self, db: &mut Db, id: &str, copy: &CopyState) -> Result<()> {
        self.save_head(db, id, copy)?;
        if let Some(t) = self.table() {
            if copy.parts.is_empty() {
                db.conn()
                    .exec_drop(
                        format!("DELETE FROM {t} WHERE job = ? AND copy_id = ? AND part >= 0"),
                        (&self.job, id),
                    )
                    .map_err(|e| db.err("writing the job state", e))?;
            }
        }
        Ok(())
    }

    /// Writes a copy's own row only, leaving its parts' rows as they are (a copy that
    /// ends with an error, whose parts recorded where they got to).
    pub fn save_head(&self, db: &mut Db, id: &str, copy: &CopyState) -> Result<()> {
        if let Some(t) = self.table() {
            let mut head = copy.clone();
            head.parts.clear();
            let text = serde_json::to_string(&head).expect("state serializes");
            db.conn()
                .exec_drop(
                    format!(
                        "INSERT INTO {t} (job, copy_id, part, state) VALUES (?, ?, -1, ?) \
                         ON DUPLICATE KEY UPDATE state = VALUES(state)"
                    ),
                    (&self.job, id, text),
                )
                .map_err(|e| db.err("writing the job state", e))?;
        }
        Ok(())
    }

    /// The statement and parameters that record a part's checkpoint; the engine runs it
    /// inside the page's transaction. `None` for a file store.
    pub fn checkpoint_sql(
        &self,
        id: &str,
        part: u32,
        p: &PartState,
    ) -> Option<(String, Vec<Value>)> {
        let t = self.table()?;
        Some((
            format!(
                "INSERT INTO {t} (job, copy_id, part, state) VALUES (?, ?, ?, ?) \
                 ON DUPLICATE KEY UPDATE state = VALUES(state)"
            ),
            vec![
                Value::from(self.job.as_str()),
                Value::from(id),
                Value::from(part),
                Value::from(serde_json::to_string(p).expect("state serializes")),
            ],
        ))
    }

    /// Pages committed for a part, as the store has it (after a reconnect, to tell
    /// whether the page in doubt landed).
    pub fn committed_pages(&self, db: &mut Db, id: &str, part: u32) -> Result<Option<u64>> {
        let Some(t) = self.table() else {
            return Ok(None);
        };
        let text: Option<String> = db
            .conn()
            .exec_first(
                // A locking read: if the lost connection's transaction is still alive on
                // the server, this waits for it to end, so the answer is final.
                format!("SELECT state FROM {t} WHERE job = ? AND copy_id = ? AND part = ? LOCK IN SHARE MODE"),
                (&self.job, id, part),
            )
            .map_err(|e| db.err("reading the job state", e))?;
        Ok(Some(match text {
            Some(text) => serde_json::from_str::<PartState>(&text)
                .map(|p| p.pages)
                .unwrap_or(0),
            None => 0,
        }))
    }

    /// Writes the whole state to the file store (temp file, fsync, rename).
    pub fn save_file(&self, state: &JobState) -> Result<()> {
        let StateStore::File(path) = &self.store else {
            return Ok(());
        };
        let io = |e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot write the job state: {e}"),
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let text = serde_json::to_string_pretty(state).expect("state serializes");
        tmp.write_all(text.as_bytes()).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Whether the state table exists (always true for a file store, which needs none).
    fn table_exists(&self, db: &mut Db) -> Result<bool> {
        if self.table().is_none() {
            return Ok(true);
        }
        let n: Option<u64> = db
            .conn()
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = ? AND table_name = ?",
                (&self.database, self.table_name()),
            )
            .map_err(|e| db.err("reading the job state", e))?;
        Ok(n.unwrap_or(0) > 0)
    }

    /// Records the run lock's holder (state table only; creates the table). The caller
    /// holds the lock, so no other run writes this row meanwhile.
    pub fn save_holder(&self, db: &mut Db, holder: &Holder) -> Result<()> {
        let Some(t) = self.table() else {
            return Ok(());
        };
        self.ensure(db)?;
        let text = serde_json::to_string(holder).expect("holder serializes");
        db.conn()
            .exec_drop(
                format!(
                    "INSERT INTO {t} (job, copy_id, part, state) VALUES (?, '', {HOLDER_PART}, ?) \
                     ON DUPLICATE KEY UPDATE state = VALUES(state)"
                ),
                (&self.job, text),
            )
            .map_err(|e| db.err("recording the holder of the job's lock", e))
    }

    /// The holder the state table records, current or left by a run that died
    /// (`None`: no record, or a file store).
    pub fn load_holder(&self, db: &mut Db) -> Result<Option<Holder>> {
        let Some(t) = self.table() else {
            return Ok(None);
        };
        if !self.table_exists(db)? {
            return Ok(None);
        }
        let text: Option<String> = db
            .conn()
            .exec_first(
                format!(
                    "SELECT state FROM {t} WHERE job = ? AND copy_id = '' AND part = {HOLDER_PART}"
                ),
                (&self.job,),
            )
            .map_err(|e| db.err("reading the holder of the job's lock", e))?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Deletes the holder record (by the run that holds the lock, as it lets go).
    pub fn drop_holder(&self, db: &mut Db) -> Result<()> {
        let Some(t) = self.table() else {
            return Ok(());
        };
        db.conn()
            .exec_drop(
                format!("DELETE FROM {t} WHERE job = ? AND copy_id = '' AND part = {HOLDER_PART}"),
                (&self.job,),
            )
            .map_err(|e| db.err("dropping the holder of the job's lock", e))
    }

    /// Drops the job's state. Returns how many copies it held.
    pub fn clear(&self, db: &mut Db) -> Result<usize> {
        let n = self.load(db)?.copies.len();
        match &self.store {
            StateStore::File(path) => {
                // The state and the samples' frozen keys beside it (`sample_state`).
                for p in [path.clone(), path.with_extension("sample.json")] {
                    if p.exists() {
                        std::fs::remove_file(&p).map_err(|e| Error::Io {
                            path: p.display().to_string(),
                            message: format!("cannot remove the job state: {e}"),
                        })?;
                    }
                }
            }
            StateStore::Table(_) => {
                if n > 0 {
                    let t = self.table().expect("table store");
                    db.conn()
                        .exec_drop(format!("DELETE FROM {t} WHERE job = ?"), (&self.job,))
                        .map_err(|e| db.err("clearing the job state", e))?;
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_round_trip_exactly() {
        let key = vec![
            Value::Int(-5),
            Value::UInt(u64::MAX),
            Value::Bytes(vec![0, 255, b'\n', b'a']),
            Value::Double(0.1),
            Value::Float(1.5),
            Value::Date(2024, 2, 29, 13, 45, 0, 123456),
            Value::Time(true, 34, 22, 59, 59, 0),
            Value::NULL,
        ];
        let text = serde_json::to_string(&key_to_state(&key)).unwrap();
        let back: Vec<KeyValue> = serde_json::from_str(&text).unwrap();
        assert_eq!(key_from_state(&back), key);
    }
}
