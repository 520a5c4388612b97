//! Which warnings fail a page: any warning or note the server gave for the page's
//! rows (a value truncated, rounded, out of range or invalid) becomes an error that
//! names the row, but a duplicate key in insert mode, which the mode expects.

use super::messages::{dup_key_name, row_in_message};
use super::Mode;
use super::{WriteError, Writer};
use crate::db::Db;
use crate::error::Error;

impl Writer {
    /// Fails the page on any warning or note the server gave for its rows (a value
    /// truncated, rounded, out of range or invalid), but a duplicate key in insert
    /// mode, which the mode expects. Returns how many of those duplicates name a key
    /// other than the resolving one (rows that met a different target row).
    pub(super) fn check_warnings(
        &self,
        db: &mut Db,
        rows: usize,
        first_row: usize,
    ) -> Result<u64, WriteError> {
        let warnings = db
            .warnings()
            .map_err(|error| WriteError::data(None, error))?;
        let mut other_dups = 0;
        let mut bad: Vec<&(String, u32, String)> = Vec::new();
        for w in &warnings {
            let (_, code, message) = w;
            match *code {
                // Syntax deprecated by MySQL (VALUES() in ON DUPLICATE KEY UPDATE) and
                // binary-log safety notes: about the statement, not the data.
                1287 | 1592 => {}
                1062 if self.mode == Mode::Insert => {
                    let key = dup_key_name(message);
                    if let (Some(key), Some(k)) = (key, &self.keys) {
                        if key != k.name {
                            other_dups += 1;
                        }
                    }
                }
                _ => bad.push(w),
            }
        }
        if let Some((level, code, message)) = bad.first() {
            let row = row_in_message(message)
                .filter(|r| *r >= 1 && *r <= rows)
                .map(|r| first_row + r - 1);
            let more = if bad.len() > 1 {
                format!(" (and {} more warnings)", bad.len() - 1)
            } else {
                String::new()
            };
            return Err(WriteError::data(
                row,
                Error::Database {
                    context: self.writing(),
                    message: format!(
                        "the server changed a value instead of storing it as given: {level} {code}: \
                         {message}{more}"
                    ),
                    cause: None,
                },
            ));
        }
        Ok(other_dups)
    }
}
