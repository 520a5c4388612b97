//! `job{...}`'s settings with their defaults (name, state store, parallel copies, key
//! ranges, retries, page bytes, rate limits, write method, index deferral), and the
//! defaults a copy takes when it says nothing.

use std::path::{Path, PathBuf};

use crate::db::state::{StateStore, DEFAULT_TABLE};
use crate::db::write::Method;
use crate::throttle::Limits;

/// Key ranges a copy reads and writes at once unless it says otherwise.
pub const DEFAULT_WORKERS: usize = 2;
/// Tries for a page or a connection before a transient fault fails the copy.
pub const DEFAULT_RETRIES: u32 = 10;
/// How pages reach the target unless a copy says otherwise.
pub const DEFAULT_METHOD: Method = Method::Bulk;
/// Upper bound of a page in bytes (pages are bounded by rows and by bytes).
pub const DEFAULT_PAGE_BYTES: usize = 8 << 20;
/// Rows per page (one transaction each) unless a copy says otherwise: measured, 5000
/// costs the target server less per row than 1000 (fewer commits and checkpoints)
/// while a page stays a few MB.
pub const DEFAULT_PAGE: usize = 5000;

/// What `job{...}` set, with defaults.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// The job's name in the state (default: the script's file name without `.lua`).
    pub name: String,
    pub store: StateStore,
    pub parallel: usize,
    pub workers: usize,
    pub retries: u32,
    pub page_bytes: usize,
    pub limits: Limits,
    pub method: Method,
    /// `defer_indexes` for every copy that does not say (`None`: decided per copy).
    pub defer_indexes: Option<bool>,
}

impl JobSettings {
    pub fn new(job_path: &str) -> JobSettings {
        let path = Path::new(job_path);
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "job".into());
        JobSettings {
            name,
            store: StateStore::Table(DEFAULT_TABLE.into()),
            parallel: 1,
            workers: DEFAULT_WORKERS,
            retries: DEFAULT_RETRIES,
            page_bytes: DEFAULT_PAGE_BYTES,
            limits: Limits::default(),
            method: DEFAULT_METHOD,
            defer_indexes: None,
        }
    }

    /// `state = "table"`: the default state table unless one was named.
    pub fn use_state_table(&mut self) {
        if !matches!(self.store, StateStore::Table(_)) {
            self.store = StateStore::Table(DEFAULT_TABLE.into())
        }
    }

    /// `state_file = path`: relative to the job's directory.
    pub fn use_state_file(&mut self, path: PathBuf, job_dir: Option<&Path>) {
        self.store = StateStore::File(match job_dir {
            Some(d) if path.is_relative() => d.join(path),
            _ => path,
        })
    }

    /// `state = "file"` with no `state_file`: `<dir>/<job>.state.json`, next to the job
    /// (named once every option is read, since `name` may come later).
    pub fn use_default_state_file(&mut self, job_dir: Option<&Path>) {
        if matches!(self.store, StateStore::File(_)) {
            return;
        }
        let name = format!("{}.state.json", self.name);
        self.store = StateStore::File(match job_dir {
            Some(d) => d.join(name),
            None => PathBuf::from(name),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_sit_next_to_the_job() {
        let mut s = JobSettings::new("jobs/users.lua");
        assert_eq!(s.name, "users");
        s.use_default_state_file(Some(Path::new("jobs")));
        assert!(matches!(&s.store, StateStore::File(p) if p == Path::new("jobs/users.state.json")));
        s.use_state_file("/abs.json".into(), Some(Path::new("jobs")));
        assert!(matches!(&s.store, StateStore::File(p) if p == Path::new("/abs.json")));
        s.use_state_table();
        assert!(matches!(&s.store, StateStore::Table(t) if t == DEFAULT_TABLE));
    }
}
