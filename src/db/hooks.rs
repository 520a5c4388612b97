//! The SQL of a job's hooks: a `before`/`after` statement run as the job wrote it on
//! the target session (the text protocol, so any statement the server takes, DDL
//! included, each committed on its own), and a `check` query judged by what it
//! returns: a true first column (not NULL, not zero), or no rows at all. The job layer
//! (`crate::job::hooks`) decides when each runs; this file only runs them.

use mysql::prelude::Queryable;

use crate::db::value::show;
use crate::db::{short_sql, Db, Value};
use crate::error::Result;

/// What a check query must return to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A first row whose first column is true: not NULL, not 0 (`SELECT COUNT(*) > 0`).
    True,
    /// No row at all (`SELECT id FROM t WHERE price < 0`).
    NoRows,
}

impl Expect {
    /// The names `expect` takes.
    pub const NAMES: &'static [&'static str] = &["true", "no rows"];

    pub fn parse(name: &str) -> Option<Expect> {
        match name {
            "true" => Some(Expect::True),
            "no rows" => Some(Expect::NoRows),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Expect::True => "true",
            Expect::NoRows => "no rows",
        }
    }
}

/// The server's "You have an error in your SQL syntax".
const ER_PARSE_ERROR: u16 = 1064;

/// Rows a failed `no rows` check shows.
const SHOWN_ROWS: usize = 3;

impl Db {
    /// Runs one hook statement (`what`: `before`, `after`); the affected-row count.
    pub fn run_hook(&mut self, what: &str, sql: &str) -> Result<u64> {
        let context = format!("running the {what} hook `{}`", short_sql(sql));
        self.conn()
            .query_drop(sql)
            .map_err(|e| self.err(&context, e))?;
        Ok(self.conn().affected_rows())
    }

    /// The server's syntax error for a hook statement or check query, prepared (not
    /// run) in the plan pass; `None` when it parses, or when the server says anything
    /// else (a table an earlier hook creates may not exist yet; some statements cannot
    /// be prepared).
    pub fn syntax_error(&mut self, sql: &str) -> Result<Option<String>> {
        match self.conn().prep(sql) {
            Ok(stmt) => {
                let context = "closing a prepared hook statement";
                self.conn().close(stmt).map_err(|e| self.err(context, e))?;
                Ok(None)
            }
            Err(mysql::Error::MySqlError(e)) if e.code == ER_PARSE_ERROR => {
                Ok(Some(self.spec.scrub(&e.to_string())))
            }
            Err(_) => Ok(None),
        }
    }

    /// Runs a check query: `None` when it passes, else what it returned instead.
    pub fn run_check(&mut self, sql: &str, expect: Expect) -> Result<Option<String>> {
        let context = format!("running the check `{}`", short_sql(sql));
        let rows = self.query(sql, Vec::new()).map_err(|e| match e {
            crate::error::Error::Database { message, cause, .. } => crate::error::Error::Database {
                context: self
                    .spec
                    .scrub(&format!("{} {}: {context}", self.role.name(), self.spec)),
                message,
                cause,
            },
            other => other,
        })?;
        let shown = |row: &[Value]| -> String {
            let cells: Vec<String> = row
                .iter()
                .zip(&rows.columns)
                .map(|(v, c)| format!("{}={}", c.name, show(v, c.kind)))
                .collect();
            format!("({})", cells.join(", "))
        };
        Ok(match expect {
            Expect::True => match rows.rows.first() {
                None => Some("no row".into()),
                Some(row) => match row.first() {
                    None => Some("a row without columns".into()),
                    Some(v) if is_true(v) => None,
                    Some(v) => Some(show(v, rows.columns[0].kind)),
                },
            },
            Expect::NoRows if rows.rows.is_empty() => None,
            Expect::NoRows => {
                let n = rows.rows.len();
                let first: Vec<String> = rows
                    .rows
                    .iter()
                    .take(SHOWN_ROWS)
                    .map(|r| shown(r))
                    .collect();
                Some(format!(
                    "{n} row{}: {}{}",
                    if n == 1 { "" } else { "s" },
                    first.join(", "),
                    if n > SHOWN_ROWS { ", ..." } else { "" }
                ))
            }
        })
    }
}

/// A check's first column is true unless it is NULL or a zero (`0`, `0.00`, `'0'`).
fn is_true(v: &Value) -> bool {
    match v {
        Value::NULL => false,
        Value::Int(i) => *i != 0,
        Value::UInt(u) => *u != 0,
        Value::Float(f) => *f != 0.0,
        Value::Double(d) => *d != 0.0,
        Value::Bytes(b) => match std::str::from_utf8(b).ok().map(str::trim) {
            Some(s) => s.parse::<f64>().map(|n| n != 0.0).unwrap_or(true),
            None => true,
        },
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_is_true_unless_null_or_zero() {
        for v in [
            Value::Int(1),
            Value::UInt(2),
            Value::Bytes(b"1.5".to_vec()),
            Value::Bytes(b"yes".to_vec()),
            Value::Double(-1.0),
        ] {
            assert!(is_true(&v), "{v:?}");
        }
        for v in [
            Value::NULL,
            Value::Int(0),
            Value::Bytes(b"0.00".to_vec()),
            Value::Bytes(b"0".to_vec()),
            Value::Float(0.0),
        ] {
            assert!(!is_true(&v), "{v:?}");
        }
        assert_eq!(Expect::parse("no rows"), Some(Expect::NoRows));
        assert_eq!(Expect::parse("rows"), None);
        assert_eq!(Expect::True.name(), "true");
    }
}
