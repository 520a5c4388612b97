//! `on_error = "reject"` for a job: where a copy's rejects file is (`rejects = PATH`,
//! relative to the job's directory, or `JOB.COPY.rejects.jsonl` next to the job), and
//! `ferry run --replay FILE`: each copy the file names reads just the source rows of
//! its entries again (by their keys, from the source as it is now) through the job as
//! it is now; a copy the file does not name is left out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::engine::rejects::{read_keys, value_of_json, MaxRejects, RejectSpec};
use crate::error::Result;
use crate::job::Job;
use crate::plan::CopyPlan;

/// What a copy asked for with `on_error = "reject"`.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectOptions {
    /// `rejects = PATH`.
    pub file: Option<String>,
    pub max: MaxRejects,
}

/// `--replay FILE`: the source keys of its entries, by copy id.
#[derive(Debug)]
pub struct Replay {
    pub path: PathBuf,
    keys: BTreeMap<String, Vec<Map<String, Json>>>,
}

impl Replay {
    pub fn read(path: &Path) -> Result<Replay> {
        Ok(Replay {
            path: path.to_path_buf(),
            keys: read_keys(path)?,
        })
    }
}

/// What `--replay` makes of a copy.
pub(super) enum Replayed {
    /// No replay: the copy runs as written.
    No,
    /// The file has no entry for it: left out.
    LeftOut,
    /// Limited to the file's rows.
    Rows(usize),
    /// It cannot be: why (a problem of the copy).
    Refused(String),
}

impl Job {
    /// The copies with `on_error = "reject"` the plan pass saw, by name.
    pub fn rejecting_copies(&self) -> std::collections::BTreeSet<String> {
        self.record.borrow().rejecting.clone()
    }

    /// Notes that the copy `name` sets rows aside.
    pub(super) fn note_rejecting(&self, name: &str) {
        self.record.borrow_mut().rejecting.insert(name.to_string());
    }

    /// The rejects file of the copy with id `id`, as its options ask.
    pub(super) fn reject_spec(&self, id: &str, o: &Option<RejectOptions>) -> Option<RejectSpec> {
        let o = o.as_ref()?;
        let dir = self.host.job_dir.clone().unwrap_or_default();
        let path = match &o.file {
            Some(f) => dir.join(f),
            None => {
                let name = self.settings.borrow().name.clone();
                let stem = Path::new(&name)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or(name);
                dir.join(format!("{stem}.{}.rejects.jsonl", file_part(id)))
            }
        };
        Some(RejectSpec { path, max: o.max })
    }

    /// With `--replay`: limits `plan` (the copy with id `id`) to the source rows of
    /// the file's entries for it; refused when its source has no key to find them
    /// by.
    pub(super) fn replay(&self, id: &str, plan: &mut CopyPlan) -> Replayed {
        let Some(replay) = &self.host.replay else {
            return Replayed::No;
        };
        let Some(entries) = replay.keys.get(id) else {
            return Replayed::LeftOut;
        };
        let Some(key) = &plan.key else {
            return Replayed::Refused(format!(
                "--replay: its source table {} has no key to find the rows of {} by",
                plan.source.name,
                replay.path.display()
            ));
        };
        let names: Vec<String> = key
            .iter()
            .map(|&i| plan.source.columns[i].name.clone())
            .collect();
        let mut keys = Vec::with_capacity(entries.len());
        for e in entries {
            let values: Option<Vec<_>> = names
                .iter()
                .map(|n| e.get(n).and_then(value_of_json))
                .collect();
            match values {
                Some(v) => keys.push(v),
                None => {
                    return Replayed::Refused(format!(
                        "--replay: an entry's key {} does not give the source key ({})",
                        Json::Object(e.clone()),
                        names.join(", ")
                    ))
                }
            }
        }
        let rows = crate::db::keylist::keys_in(&names, &keys);
        plan.filter = Some(match plan.filter.take() {
            Some(f) => format!("({f}) AND {rows}"),
            None => rows,
        });
        Replayed::Rows(keys.len())
    }
}

/// A copy id as part of a file name: `users -> customers#2` as
/// `users-customers_2` (letters, digits, `-`, `_` and `.` kept, the rest `_`).
fn file_part(id: &str) -> String {
    id.replace(" -> ", "-")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::file_part;

    #[test]
    fn copy_ids_make_file_names() {
        assert_eq!(file_part("users -> customers#2"), "users-customers_2");
        assert_eq!(file_part("orders"), "orders");
    }
}
