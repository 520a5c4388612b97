//! Writing pages into the target: one transaction per page, multi-row prepared
//! statements sized under the server's max_allowed_packet and the 65,535-placeholder
//! limit, the mode's SQL (`INSERT IGNORE`, `REPLACE`, `INSERT ... ON DUPLICATE KEY
//! UPDATE`), inserted/updated/ignored counts from the server's own answers, and any
//! warning other than a duplicate key turned into an error that names the row.
//!
//! `Writer` (here) holds what a copy writes with; its work is spread by job:
//! `statement` (the mode's SQL and the prepared-statement cache), `page` (one page's
//! transaction and how its rows reach the server), `answers` (the server's answers
//! into counts), `warnings` (which warnings fail a page), `keys` (the target's unique
//! keys and lookups of the rows already there), `conflicts` (rows that collide with a
//! different target row), `locate` (the row a failed page's error belongs to),
//! `messages` (reading the server's messages), `apart` (a refused page written row
//! by row, its refused rows set apart: `on_error = "reject"`) and `target` (what a writer is handed:
//! the target table, columns and mode as plain data, and the `RowCheck` of a page).

mod answers;
mod apart;
mod conflicts;
mod explain;
mod keys;
mod locate;
mod messages;
mod page;
mod statement;
mod target;
mod warnings;

use std::cell::RefCell;
use std::collections::HashMap;

use mysql::{Statement, Value};

use crate::db::load_data::LoadData;
use crate::db::wire::RawRows;
use crate::db::Db;
use crate::error::Error;

use keys::Keys;

pub use apart::Unit;
pub use explain::{read_only, Outlook};
pub use messages::without_row_number;
pub use target::{Cell, Column, Misfit, Mode, RowCheck, Target};

/// Counts from one page: every row of the page is in exactly one of them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// New rows.
    pub inserted: u64,
    /// Existing rows (by the key the mode resolves on) changed: upsert, overwrite.
    pub updated: u64,
    /// Existing rows already as given, left as they were: upsert, and overwrite where
    /// the server says so (a REPLACE of an identical row into a table with one unique
    /// key; with more, the server deletes and inserts the row, which counts updated).
    pub unchanged: u64,
    /// Rows whose key was already in the target: insert.
    pub ignored: u64,
    /// Rows that collided with a *different* target row through another unique key,
    /// counted only when the copy accepts that (`accept = {"unique_conflicts"}`).
    pub conflicts: u64,
}

/// Why a page failed: the row (index in the page) when the server named one, and
/// whether trying the page again on a fresh connection may pass (connection lost,
/// deadlock, lock wait timeout).
#[derive(Debug)]
pub struct WriteError {
    pub row: Option<usize>,
    pub error: Error,
    pub transient: bool,
    /// The server refused LOAD DATA LOCAL INFILE (disabled there).
    pub refused: bool,
    /// Rows collided with different target rows through another unique key (the row
    /// is found by `Writer::diagnose`).
    conflict: bool,
    /// The failure was in group `also` of the page's `Also` writes (its writer's);
    /// `row` then is an index in that group's rows. (A `u16` keeps the error small; a
    /// page's groups are a table and a set of columns each.)
    pub also: Option<u16>,
}

impl WriteError {
    /// A data error about `row`, if known.
    fn data(row: Option<usize>, error: Error) -> WriteError {
        WriteError {
            row,
            error,
            transient: false,
            refused: false,
            conflict: false,
            also: None,
        }
    }

    /// A server or connection error while doing `context`, about `row` if known.
    fn server(db: &Db, context: &str, e: mysql::Error, row: Option<usize>) -> WriteError {
        WriteError {
            row,
            transient: crate::db::is_transient(&e),
            // LOAD DATA LOCAL disabled on the server or in its settings.
            refused: matches!(&e, mysql::Error::MySqlError(m)
                if matches!(m.code, 1148 | 3948 | 2068 | 4166)),
            error: db.err(context, e),
            conflict: false,
            also: None,
        }
    }
}

/// Rows of other tables written in a page's transaction, before its checkpoint (a
/// transform's fan-out), each group with its writer; `counts` holds each group's
/// counts from the last try.
#[derive(Default)]
pub struct Also<'a> {
    pub writes: Vec<(&'a Writer, &'a [Vec<Value>])>,
    pub counts: RefCell<Vec<Counts>>,
}

impl Also<'_> {
    fn write(&self, db: &mut Db) -> Result<(), WriteError> {
        let mut counts = self.counts.borrow_mut();
        counts.clear();
        for (g, (w, rows)) in self.writes.iter().enumerate() {
            let c = w.write_more(db, rows).map_err(|e| WriteError {
                also: u16::try_from(g).ok(),
                ..e
            })?;
            counts.push(c);
        }
        Ok(())
    }
}

/// How a page reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Multi-row prepared INSERT / REPLACE / INSERT ... ON DUPLICATE KEY UPDATE.
    Prepared,
    /// LOAD DATA LOCAL INFILE streamed from memory (insert and overwrite).
    Load,
    /// One single-row prepared statement executed for every row of the page in one
    /// round trip (MariaDB's COM_STMT_BULK_EXECUTE, array binding).
    Bulk,
}

impl Method {
    /// `"bulk"`, `"prepared"` or `"load"`; otherwise an error naming them.
    pub fn parse(s: &str) -> Result<Method, UnknownMethod> {
        match s {
            "bulk" => Ok(Method::Bulk),
            "prepared" | "insert" => Ok(Method::Prepared),
            "load" | "load-data" => Ok(Method::Load),
            _ => Err(UnknownMethod(s.to_string())),
        }
    }
}

/// A `write` method ferry does not know (the name given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMethod(pub String);

impl std::fmt::Display for UnknownMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown `write` method `{}` (use \"bulk\", \"prepared\" or \"load\")",
            self.0
        )
    }
}

impl std::error::Error for UnknownMethod {}

/// Writes one copy's pages into its target table, by the copy's mode and method.
pub struct Writer {
    bulk: bool,
    /// The server refused LOAD DATA LOCAL: prepared statements instead.
    load_refused: std::cell::Cell<bool>,
    /// Prepared statements by row count, with the connection they belong to.
    statements: RefCell<HashMap<usize, (u32, Statement)>>,
    mode: Mode,
    load: Option<LoadData>,
    prefix: String,
    row_template: String,
    suffix: String,
    params_per_row: usize,
    max_bytes: usize,
    target: String,
    /// Send string values as binary strings (see `binary_params`).
    binary_params: bool,
    /// The packed copy of the page in a bulk request (see `packed`), and whether the
    /// request took the page's rows.
    spare: RefCell<Vec<u8>>,
    taken: std::cell::Cell<bool>,
    /// The target's unique keys, when it has one the mode resolves on.
    keys: Option<Keys>,
    /// The target has unique keys other than the resolving one: rows that collide
    /// with different target rows through them are found (see `page_counts`).
    check_unique: bool,
    /// Count the page's rows already in the target (by the resolving key) before
    /// writing it: overwrite (the server counts a REPLACE of an identical row as an
    /// insert), and upsert into a table with other unique keys.
    count_existing: bool,
    /// `accept = {"unique_conflicts"}`.
    accept_conflicts: bool,
    /// Values the target would change silently, checked before a page is written (the
    /// engine's `fit`).
    fit: Option<Box<dyn RowCheck>>,
    /// How a value is compared with each text column of the target in a lookup: in
    /// the column's character set and collation, whatever the session's.
    lookups: RefCell<Option<HashMap<String, String>>>,
    table: String,
    schema: (String, String),
    /// Lookups of existing rows made, and the time they took (logged at the end).
    lookups_made: std::cell::Cell<(u64, std::time::Duration)>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        let (n, t) = self.lookups_made.get();
        if n > 0 {
            log::info!(
                target: crate::log_target::FILE_ONLY,
                "{}: {n} lookups of the rows already in the target took {:.3}s",
                self.writing(),
                t.as_secs_f64()
            );
        }
    }
}

impl Writer {
    /// A writer of `target` using `method` where the copy allows it (LOAD DATA has no
    /// upsert form and cannot carry BIT or spatial values: those copies use prepared
    /// INSERTs), checking each page with `fit` first when given.
    pub fn new(target: &Target, db: &Db, method: Method, fit: Option<Box<dyn RowCheck>>) -> Writer {
        let max_packet = db.max_packet;
        let binary = statement::binary_params(target, db.is_mariadb());
        let (prefix, row_template, suffix) = statement::parts(target, binary);
        let keys = Keys::new(target);
        let check_unique = keys.as_ref().is_some_and(|k| !k.others.is_empty());
        let count_existing = keys.as_ref().is_some_and(|k| k.at.is_some())
            && match target.mode {
                Mode::Overwrite => true,
                Mode::Upsert => check_unique,
                Mode::Insert => false,
            };
        Writer {
            bulk: method == Method::Bulk,
            load_refused: std::cell::Cell::new(false),
            statements: RefCell::new(HashMap::new()),
            mode: target.mode,
            load: match method {
                Method::Load => LoadData::new(target),
                Method::Prepared | Method::Bulk => None,
            },
            prefix,
            row_template,
            suffix,
            params_per_row: target.param_columns().count(),
            // Leave room for the statement text and protocol overhead.
            max_bytes: (max_packet / 2).clamp(64 << 10, 32 << 20),
            target: format!("{}.{}", target.table.database, target.table.name),
            binary_params: binary,
            spare: RefCell::new(Vec::new()),
            taken: std::cell::Cell::new(false),
            check_unique,
            count_existing,
            accept_conflicts: target.accept_conflicts,
            fit,
            lookups: RefCell::new(None),
            table: target.table.quoted_name(),
            schema: (target.table.database.clone(), target.table.name.clone()),
            lookups_made: std::cell::Cell::new((0, std::time::Duration::ZERO)),
            keys,
        }
    }

    /// Writes one page in one transaction, together with its checkpoint statement when
    /// there is one; on error the page is rolled back.
    ///
    /// A bulk write takes the rows out of `rows`; they are put back when the page fails,
    /// so a caller that tries again, or names a row, has them.
    ///
    /// An undecoded page (`undecoded`, with `rows` empty) goes out as it is in one bulk
    /// request (or a few, by size); when that fails, or the writer does not bulk-
    /// execute, its rows are decoded into `rows` and written as any other page.
    pub fn write_page(
        &self,
        db: &mut Db,
        rows: &mut Vec<Vec<Value>>,
        undecoded: Option<&RawRows>,
        checkpoint: Option<(String, Vec<Value>)>,
        also: &Also<'_>,
    ) -> Result<Counts, WriteError> {
        match self.write_page_once(db, rows, undecoded, checkpoint, also) {
            // Rows collided with other target rows: found one by one, to name one.
            Err(e) if e.conflict && e.also.is_none() && !rows.is_empty() => {
                Err(self.diagnose(db, rows, e))
            }
            r => r,
        }
    }

    /// What a server error happened doing.
    fn writing(&self) -> String {
        format!("writing into {}", self.target)
    }
}

#[cfg(test)]
mod method_tests {
    use super::{Method, UnknownMethod};

    #[test]
    fn an_unknown_method_names_the_known_ones() {
        assert_eq!(Method::parse("load-data"), Ok(Method::Load));
        assert_eq!(
            Method::parse("copy").unwrap_err().to_string(),
            "unknown `write` method `copy` (use \"bulk\", \"prepared\" or \"load\")"
        );
        assert_eq!(Method::parse("x"), Err(UnknownMethod("x".into())));
    }
}
