//! Rows set aside with `on_error = "reject"`: the copy's rejects file (JSON lines, one
//! entry per row: the copy, its key range and page, the source key, the source row as
//! read, the target row as it would have been written, the error, the time), written
//! before the page it belongs to commits, so a kill never loses an entry; a run that
//! resumes drops the entries of pages that did not commit (they are read and rejected
//! again), so it never duplicates one. Also the limit, `max_rejects`.
//!
//! Values in the file: NULL as `null`, integers and floating-point numbers as JSON
//! numbers, text that is valid UTF-8 as a string, any other bytes as `{"hex": "..."}`,
//! dates and times as MySQL text (`"2024-02-29 13:45:00.123456"`, `"-838:59:59"`).

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Map, Value as Json};

use crate::db::state::CopyState;
use crate::db::Value;
use crate::error::{Error, Result};
use crate::plan::CopyPlan;

/// How many rejected rows stop a copy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxRejects {
    Unlimited,
    /// More than this many rows.
    Count(u64),
    /// More than this fraction of the rows to copy (0 < f < 1).
    Fraction(f64),
}

/// A copy's `on_error = "reject"`: where its rejects go and when they stop it.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectSpec {
    pub path: PathBuf,
    pub max: MaxRejects,
}

/// One rejected row: its source key and stream position, the source row as read, the
/// target row when one was made, and why.
#[derive(Debug, Clone)]
pub struct Reject {
    pub key: (Vec<Value>, u64),
    pub source: Vec<Value>,
    pub row: Option<Vec<Value>>,
    pub error: String,
}

/// The rejects file of a running copy, shared by its writers.
pub(super) struct RejectFile {
    pub spec: RejectSpec,
    inner: Mutex<Inner>,
    /// Rows earlier runs rejected (in the pages they committed).
    pub before: u64,
}

struct Inner {
    file: Option<File>,
    /// Entries written per (part, page): a page written again after a fault does not
    /// write its entries twice.
    written: HashMap<(u32, u64), usize>,
}

impl RejectFile {
    /// Opens a copy's rejects file: a resumed copy (`resume`) keeps the entries of
    /// the pages its state says committed and drops the rest; a copy that starts
    /// over moves an earlier file to `FILE.prev`.
    pub fn open(spec: RejectSpec, resume: Option<&CopyState>) -> Result<RejectFile> {
        let io = |e: std::io::Error| Error::Io {
            path: spec.path.display().to_string(),
            message: format!("the rejects file: {e}"),
        };
        let mut before = 0;
        match resume.filter(|s| !s.parts.is_empty()) {
            Some(state) => before = keep_committed(&spec.path, state).map_err(io)?,
            None => {
                if std::fs::metadata(&spec.path).is_ok_and(|m| m.len() > 0) {
                    let prev = previous(&spec.path);
                    std::fs::rename(&spec.path, &prev).map_err(io)?;
                    log::info!(
                        "the rejects of an earlier run are now in {}",
                        prev.display()
                    );
                } else if spec.path.exists() {
                    std::fs::remove_file(&spec.path).map_err(io)?;
                }
            }
        }
        Ok(RejectFile {
            spec,
            inner: Mutex::new(Inner {
                file: None,
                written: HashMap::new(),
            }),
            before,
        })
    }

    /// Writes a page's entries (all the page has so far, in order; those written
    /// before for the same page are not written again) and syncs the file.
    pub fn write(&self, part: u32, page: u64, entries: &[String]) -> Result<()> {
        let io = |e: std::io::Error| Error::Io {
            path: self.spec.path.display().to_string(),
            message: format!("writing the rejects file: {e}"),
        };
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let done = inner.written.get(&(part, page)).copied().unwrap_or(0);
        if entries.len() <= done {
            return Ok(());
        }
        if inner.file.is_none() {
            if let Some(dir) = self
                .spec
                .path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.spec.path)
                .map_err(io)?;
            inner.file = Some(f);
        }
        let mut text = String::new();
        for e in &entries[done..] {
            text.push_str(e);
            text.push('\n');
        }
        let f = inner.file.as_mut().expect("opened");
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_data().map_err(io)?;
        inner.written.insert((part, page), entries.len());
        Ok(())
    }

    /// The limit past which the copy stops, for a copy of about `total` rows.
    pub fn limit(&self, total: u64) -> Option<u64> {
        match self.spec.max {
            MaxRejects::Unlimited => None,
            MaxRejects::Count(n) => Some(n),
            MaxRejects::Fraction(f) => Some((f * total as f64).floor() as u64),
        }
    }
}

/// `FILE.prev` for `FILE`.
fn previous(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".prev");
    PathBuf::from(s)
}

/// Keeps the entries of committed pages (as `state` says) and returns their number.
fn keep_committed(path: &Path, state: &CopyState) -> std::io::Result<u64> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut kept = String::new();
    let mut n = 0;
    let (mut dropped, mut total) = (0u64, 0u64);
    for line in BufReader::new(f).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        total += 1;
        let entry: Json = serde_json::from_str(&line).unwrap_or(Json::Null);
        let part = entry["part"].as_u64().unwrap_or(u64::MAX);
        let page = entry["page"].as_u64().unwrap_or(u64::MAX);
        let committed = u32::try_from(part)
            .ok()
            .and_then(|p| state.parts.get(&p))
            .is_some_and(|p| p.done || page <= p.pages);
        if committed {
            kept.push_str(&line);
            kept.push('\n');
            n += 1;
        } else {
            dropped += 1;
        }
    }
    if dropped > 0 {
        let tmp = previous(path).with_extension("tmp");
        std::fs::write(&tmp, kept)?;
        File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        log::info!(
            "{}: kept {n} of {total} entries; the other {dropped} belong to pages that did not \
             commit, which are copied again",
            path.display()
        );
    }
    Ok(n)
}

/// A rejects file entry, one JSON line.
pub(super) fn entry(plan: &CopyPlan, id: &str, part: u32, page: u64, r: &Reject) -> String {
    let key_names: Vec<&str> = plan
        .key
        .iter()
        .flatten()
        .map(|&i| plan.source.columns[i].name.as_str())
        .collect();
    let mut key = Map::new();
    for (name, v) in key_names.iter().zip(&r.key.0) {
        key.insert(name.to_string(), json_value(v));
    }
    let source = object(
        plan.source.columns.iter().map(|c| c.name.as_str()),
        &r.source,
    );
    let row = r
        .row
        .as_ref()
        .map(|row| object(plan.value_columns().map(|c| c.name.as_str()), row))
        .unwrap_or(Json::Null);
    let e = json!({
        "copy": id,
        "part": part,
        "page": page,
        "row_number": r.key.1,
        "key": Json::Object(key),
        "source": source,
        "row": row,
        "error": r.error,
        "time": chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    });
    e.to_string()
}

fn object<'a>(names: impl Iterator<Item = &'a str>, values: &[Value]) -> Json {
    let mut m = Map::new();
    for (name, v) in names.zip(values) {
        m.insert(name.to_string(), json_value(v));
    }
    Json::Object(m)
}

/// A value in the rejects file (see the module's note).
pub fn json_value(v: &Value) -> Json {
    match v {
        Value::NULL => Json::Null,
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::Double(f) => json!(f),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => Json::String(s.to_string()),
            Err(_) => json!({ "hex": crate::db::value::hex(b) }),
        },
        Value::Date(y, m, d, h, mi, s, us) => {
            let mut t = format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}");
            if *us > 0 {
                t.push_str(&format!(".{us:06}"));
            }
            Json::String(t)
        }
        Value::Time(neg, d, h, m, s, us) => {
            let hours = u64::from(*d) * 24 + u64::from(*h);
            let mut t = format!("{}{hours:02}:{m:02}:{s:02}", if *neg { "-" } else { "" });
            if *us > 0 {
                t.push_str(&format!(".{us:06}"));
            }
            Json::String(t)
        }
    }
}

/// A value of the rejects file back as a value (a key, for `--replay`): numbers as
/// integers (or doubles), strings and `{"hex": ...}` as bytes.
pub fn value_of_json(j: &Json) -> Option<Value> {
    Some(match j {
        Json::Null => Value::NULL,
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::Int(i),
            (_, Some(u), _) => Value::UInt(u),
            (_, _, Some(f)) => Value::Double(f),
            _ => return None,
        },
        Json::String(s) => Value::Bytes(s.as_bytes().to_vec()),
        Json::Object(o) => Value::Bytes(crate::db::value::unhex(o.get("hex")?.as_str()?)?),
        _ => return None,
    })
}

/// The source keys of a rejects file, by copy id (in file order, each once).
pub fn read_keys(path: &Path) -> Result<BTreeMap<String, Vec<Map<String, Json>>>> {
    let io = |e: String| Error::Io {
        path: path.display().to_string(),
        message: format!("the rejects file to replay: {e}"),
    };
    let f = File::open(path).map_err(|e| io(e.to_string()))?;
    let mut out: BTreeMap<String, Vec<Map<String, Json>>> = BTreeMap::new();
    for (n, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| io(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: Json = serde_json::from_str(&line)
            .map_err(|e| io(format!("line {}: not a rejects entry ({e})", n + 1)))?;
        let (Some(copy), Some(key)) = (entry["copy"].as_str(), entry["key"].as_object()) else {
            return Err(io(format!(
                "line {}: an entry needs `copy` and `key`",
                n + 1
            )));
        };
        let keys = out.entry(copy.to_string()).or_default();
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_the_file() {
        let all: Vec<u8> = (0..=255).collect();
        for v in [
            Value::Int(-5),
            Value::UInt(u64::MAX),
            Value::Bytes(b"caf\xc3\xa9".to_vec()),
            Value::Bytes(all.clone()),
            Value::NULL,
        ] {
            assert_eq!(value_of_json(&json_value(&v)), Some(v.clone()), "{v:?}");
        }
        assert_eq!(
            json_value(&Value::Bytes(vec![0, 0xff])),
            json!({"hex": "00ff"})
        );
        assert_eq!(
            json_value(&Value::Date(2024, 2, 29, 13, 45, 0, 120)),
            json!("2024-02-29 13:45:00.000120")
        );
        assert_eq!(
            json_value(&Value::Time(true, 34, 22, 59, 59, 0)),
            json!("-838:59:59")
        );
        assert_eq!(crate::db::value::unhex("0g"), None);
    }
}
