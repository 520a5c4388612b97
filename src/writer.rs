//! Writing pages into the target: one transaction per page, multi-row prepared
//! statements sized under the server's max_allowed_packet and the 65,535-placeholder
//! limit, the mode's SQL (`INSERT IGNORE`, `REPLACE`, `INSERT ... ON DUPLICATE KEY
//! UPDATE`), inserted/updated/ignored counts from the server's own answers, and any
//! warning other than a duplicate key turned into an error that names the row.

use mysql::prelude::Queryable;
use std::cell::RefCell;
use std::collections::HashMap;

use mysql::{Params, Statement, Value};

use crate::db::Db;
use crate::error::Error;
use crate::load_data::LoadData;
use crate::plan::{CopyPlan, Fill, Mode};
use crate::raw::{RawRows, RequestError};
use crate::schema::quote_ident;
use crate::value::wire_size;

/// Counts from one page.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub inserted: u64,
    pub updated: u64,
    pub ignored: u64,
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
}

impl WriteError {
    /// A server or connection error while doing `context`, about `row` if known.
    fn server(db: &Db, context: &str, e: mysql::Error, row: Option<usize>) -> WriteError {
        WriteError {
            row,
            transient: crate::db::is_transient(&e),
            // LOAD DATA LOCAL disabled on the server or in its settings.
            refused: matches!(&e, mysql::Error::MySqlError(m)
                if matches!(m.code, 1148 | 3948 | 2068 | 4166)),
            error: db.err(context, e),
        }
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
    /// `"bulk"`, `"prepared"` or `"load"`; otherwise a message naming them.
    pub fn parse(s: &str) -> Result<Method, String> {
        match s {
            "bulk" => Ok(Method::Bulk),
            "prepared" | "insert" => Ok(Method::Prepared),
            "load" | "load-data" => Ok(Method::Load),
            _ => Err(format!(
                "unknown `write` method `{s}` (use \"bulk\", \"prepared\" or \"load\")"
            )),
        }
    }
}

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
}

/// Whether the server may take a copy's string values as binary strings, which spares
/// it a character-set pass over every string parameter (a tenth of its work on text-
/// heavy rows). The bytes are UTF-8 (every session reads in utf8mb4), so this is exact
/// for utf8mb4 columns (still checked as UTF-8 when stored), binary columns and
/// non-text columns; a column in another character set is given its value through
/// `CONVERT(? USING utf8mb4)`, so the server converts it as before. A copy with SQL
/// defaults keeps a utf8mb4 session: their literals must be read as text. MariaDB
/// only: MySQL refuses binary strings for its JSON columns.
fn binary_params(plan: &CopyPlan, mariadb: bool) -> bool {
    mariadb && !plan.columns.iter().any(|c| matches!(c.fill, Fill::Sql(_)))
}

/// The placeholder for a value of target column `name` (see `binary_params`).
fn placeholder(plan: &CopyPlan, name: &str, binary: bool) -> &'static str {
    let charset = plan
        .target
        .columns
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.charset.as_deref());
    match charset {
        Some(cs) if binary && cs != "utf8mb4" => "CONVERT(? USING utf8mb4)",
        _ => "?",
    }
}

const MAX_PLACEHOLDERS: usize = 65_535;

impl Writer {
    /// A writer using `method` where the copy allows it (LOAD DATA has no upsert form
    /// and cannot carry BIT or spatial values: those copies use prepared INSERTs).
    pub fn new(plan: &CopyPlan, db: &Db, method: Method) -> Writer {
        let max_packet = db.max_packet;
        let verb = match plan.mode {
            Mode::Insert => "INSERT IGNORE INTO",
            Mode::Overwrite => "REPLACE INTO",
            Mode::Upsert => "INSERT INTO",
        };
        let table = plan.target.quoted_name();
        let cols: Vec<String> = plan.columns.iter().map(|c| quote_ident(&c.name)).collect();
        let prefix = format!("{verb} {table} ({}) VALUES ", cols.join(", "));
        let binary = binary_params(plan, db.is_mariadb());
        let cells: Vec<String> = plan
            .columns
            .iter()
            .map(|c| match &c.fill {
                Fill::Sql(expr) => format!("({expr})"),
                _ => placeholder(plan, &c.name, binary).to_string(),
            })
            .collect();
        let row_template = format!("({})", cells.join(", "));
        let suffix = if plan.mode == Mode::Upsert {
            let mut sets: Vec<String> = plan
                .columns
                .iter()
                .filter(|c| c.mapped)
                .map(|c| {
                    let q = quote_ident(&c.name);
                    format!("{q} = VALUES({q})")
                })
                .collect();
            if sets.is_empty() {
                let q = quote_ident(&plan.columns[0].name);
                sets.push(format!("{q} = {q}"));
            }
            format!(" ON DUPLICATE KEY UPDATE {}", sets.join(", "))
        } else {
            String::new()
        };
        Writer {
            bulk: method == Method::Bulk,
            load_refused: std::cell::Cell::new(false),
            statements: RefCell::new(HashMap::new()),
            mode: plan.mode,
            load: match method {
                Method::Load => LoadData::new(plan),
                Method::Prepared | Method::Bulk => None,
            },
            prefix,
            row_template,
            suffix,
            params_per_row: plan.value_columns().count(),
            // Leave room for the statement text and protocol overhead.
            max_bytes: (max_packet / 2).clamp(64 << 10, 32 << 20),
            target: format!("{}.{}", plan.target.database, plan.target.name),
            binary_params: binary,
            spare: RefCell::new(Vec::new()),
            taken: std::cell::Cell::new(false),
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
    ) -> Result<Counts, WriteError> {
        let bulk = self.bulk && db.is_mariadb();
        if let Some(raw) = undecoded.filter(|_| rows.is_empty()) {
            if bulk {
                match self.try_page(db, Body::Raw(raw), checkpoint.clone()) {
                    // Written again row by row, which names the row at fault.
                    Err(e) if !e.transient => self.rewriting(&e),
                    r => return r,
                }
            }
            *rows = raw.decode().map_err(|message| WriteError {
                row: None,
                transient: false,
                refused: false,
                error: Error::Database {
                    context: self.writing(),
                    message,
                },
            })?;
            if bulk {
                return self.try_page(db, Body::Chunks(rows), checkpoint);
            }
        }
        let body = if bulk {
            Body::Bulk(rows)
        } else {
            Body::Chunks(rows)
        };
        let first = self.try_page(db, body, checkpoint.clone());
        // Rows a failed bulk request took come back from the packed copy (only then:
        // an empty page, all skipped by a transform, took nothing).
        if self.taken.replace(false) && first.is_err() {
            *rows = crate::packed::unpack(&self.spare.borrow());
        }
        match first {
            // A bulk execution does not say which row failed or warned: the page is
            // rolled back and written again with multi-row statements, which do.
            Err(e) if bulk && !e.transient => {
                self.rewriting(&e);
                self.try_page(db, Body::Chunks(rows), checkpoint)
            }
            r => r,
        }
    }

    /// Logs that a bulk page failed and is written again with multi-row statements.
    fn rewriting(&self, e: &WriteError) {
        log::info!(
            "{}: a bulk request failed ({}); the page is written again with multi-row \
             statements, which name the row",
            self.writing(),
            // Its "at row N" counts rows of one request, not of the source.
            crate::row_error::without_row_number(&e.error.to_string())
        );
    }

    /// The row of a failed page that the server refused without naming it (a multi-
    /// row statement's NULL into a NOT NULL column, duplicate entry or CHECK
    /// constraint): the page's rows are written again one at a time, in a transaction
    /// that is rolled back, and the first that fails is the one. Only for a page that
    /// failed, so only then costs a statement per row.
    pub fn locate_row(&self, db: &mut Db, rows: &[Vec<Value>]) -> Option<usize> {
        if rows.len() == 1 {
            return Some(0);
        }
        db.conn().query_drop("START TRANSACTION").ok()?;
        let mut found = None;
        for (i, row) in rows.iter().enumerate() {
            match self.execute(db, row.clone(), 1, 0) {
                Ok(_) => {}
                // A lost connection says nothing about the row.
                Err(e) if e.transient => break,
                Err(_) => {
                    found = Some(i);
                    break;
                }
            }
        }
        let _ = db.conn().query_drop("ROLLBACK");
        found
    }

    fn try_page(
        &self,
        db: &mut Db,
        body: Body<'_>,
        checkpoint: Option<(String, Vec<Value>)>,
    ) -> Result<Counts, WriteError> {
        let plain = |db: &Db, ctx: &str, e| WriteError::server(db, ctx, e, None);
        if self.binary_params && !db.binary_params {
            db.conn()
                .query_drop("SET character_set_client = binary")
                .map_err(|e| plain(db, "setting up the session", e))?;
            db.binary_params = true;
        }
        db.conn()
            .query_drop("START TRANSACTION")
            .map_err(|e| plain(db, "starting a transaction", e))?;
        let written = match body {
            Body::Bulk(rows) => self.bulk_page(db, rows),
            Body::Chunks(rows) => self.write_chunks(db, rows),
            Body::Raw(raw) => self.raw_page(db, raw),
        };
        let written = written.and_then(|c| {
            if let Some((sql, params)) = checkpoint {
                db.conn()
                    .exec_drop(sql, params)
                    .map_err(|e| plain(db, "writing the checkpoint", e))?;
            }
            Ok(c)
        });
        match written {
            Ok(c) => {
                db.conn()
                    .query_drop("COMMIT")
                    .map_err(|e| plain(db, "committing a page", e))?;
                Ok(c)
            }
            Err(e) => {
                let _ = db.conn().query_drop("ROLLBACK");
                Err(e)
            }
        }
    }

    fn write_chunks(&self, db: &mut Db, rows: &[Vec<Value>]) -> Result<Counts, WriteError> {
        if let Some(load) = self.load.as_ref().filter(|_| !self.load_refused.get()) {
            match self.load_page(db, load, rows) {
                Err(e) if e.refused => {
                    // The server (or its settings) does not take LOAD DATA LOCAL: this
                    // writer uses prepared statements from now on.
                    self.load_refused.set(true);
                    log::warn!(
                        "writing into {}: the server refuses LOAD DATA LOCAL INFILE ({}); \
                         using prepared statements instead",
                        self.target,
                        e.error
                    );
                }
                r => return r,
            }
        }
        let mut total = Counts::default();
        let max_rows = MAX_PLACEHOLDERS
            .checked_div(self.params_per_row)
            .unwrap_or(1000)
            .max(1);
        let mut chunk: Vec<Value> = Vec::new();
        let mut chunk_rows = 0usize;
        let mut chunk_bytes = 0usize;
        let mut first_row = 0usize;
        let n = rows.len();
        for (i, row) in rows.iter().enumerate() {
            let bytes: usize = row.iter().map(wire_size).sum::<usize>() + 8;
            if chunk_rows > 0 && (chunk_rows >= max_rows || chunk_bytes + bytes > self.max_bytes) {
                let c = self.execute(db, std::mem::take(&mut chunk), chunk_rows, first_row)?;
                add(&mut total, c);
                chunk_rows = 0;
                chunk_bytes = 0;
                first_row = i;
            }
            chunk.extend(row.iter().cloned());
            chunk_rows += 1;
            chunk_bytes += bytes;
        }
        if chunk_rows > 0 {
            let c = self.execute(db, chunk, chunk_rows, first_row)?;
            add(&mut total, c);
        }
        debug_assert_eq!(
            (total.inserted + total.updated + total.ignored) as usize,
            n,
            "counts add up to the page"
        );
        Ok(total)
    }

    fn execute(
        &self,
        db: &mut Db,
        params: Vec<Value>,
        rows: usize,
        first_row: usize,
    ) -> Result<Counts, WriteError> {
        let params = if params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(params)
        };
        let stmt = self.statement(db, rows)?;
        let result = db.conn().exec_drop(&stmt, params);
        if let Err(e) = result {
            let row = match &e {
                mysql::Error::MySqlError(m) => row_in_message(&m.message)
                    .filter(|r| *r >= 1 && *r <= rows)
                    .map(|r| first_row + r - 1),
                _ => None,
            };
            let row = row.or(if rows == 1 { Some(first_row) } else { None });
            return Err(WriteError::server(db, &self.writing(), e, row));
        }
        let affected = db.conn().affected_rows();
        let info = db.conn().info_str().into_owned();
        let warnings = db.conn().warnings();
        if warnings > 0 {
            self.check_warnings(db, rows, first_row)?;
        }
        Ok(self.counts(rows as u64, affected, &info))
    }

    /// An undecoded page in bulk requests below `max_allowed_packet`, with each
    /// request's counts and warnings checked as `bulk_page` checks the page's.
    fn raw_page(&self, db: &mut Db, raw: &RawRows) -> Result<Counts, WriteError> {
        if raw.is_empty() {
            return Ok(Counts::default());
        }
        let stmt = self.statement(db, 1)?;
        let mut total = Counts::default();
        let mut buf = self.spare.borrow_mut();
        let max_packet = db.max_packet;
        let sent = raw.requests(stmt.id(), max_packet, &mut buf, |packet, n| {
            db.conn()
                .exec_bulk_raw(packet)
                .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
            let affected = db.conn().affected_rows();
            let info = db.conn().info_str().into_owned();
            if db.conn().warnings() > 0 {
                self.check_warnings(db, n, 0)?;
            }
            add(&mut total, self.counts(n as u64, affected, &info));
            Ok(())
        });
        match sent {
            Ok(()) => Ok(total),
            Err(RequestError::Write(e)) => Err(e),
            Err(RequestError::TooBig(i)) => Err(WriteError {
                row: Some(i),
                transient: false,
                refused: false,
                error: Error::Database {
                    context: self.writing(),
                    message: format!(
                        "a row does not fit one request under max_allowed_packet ({max_packet} bytes)"
                    ),
                },
            }),
        }
    }

    fn bulk_page(&self, db: &mut Db, rows: &mut Vec<Vec<Value>>) -> Result<Counts, WriteError> {
        if rows.is_empty() {
            return Ok(Counts::default());
        }
        // The single-row statement, executed for every row of the page.
        let stmt = self.statement(db, 1)?;
        // The rows move into the request; a packed copy stays behind for a page that
        // fails and is written again (see `try_page`).
        crate::packed::pack(rows, &mut self.spare.borrow_mut());
        self.taken.set(true);
        let n = rows.len();
        db.conn()
            .exec_batch(
                &stmt,
                std::mem::take(rows).into_iter().map(Params::Positional),
            )
            .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
        let affected = db.conn().affected_rows();
        let info = db.conn().info_str().into_owned();
        if db.conn().warnings() > 0 {
            self.check_warnings(db, n, 0)?;
        }
        Ok(self.counts(n as u64, affected, &info))
    }

    fn load_page(
        &self,
        db: &mut Db,
        load: &LoadData,
        rows: &[Vec<Value>],
    ) -> Result<Counts, WriteError> {
        if rows.is_empty() {
            return Ok(Counts::default());
        }
        load.encode(rows);
        db.conn().set_local_infile_handler(Some(load.handler()));
        if let Err(e) = db.conn().query_drop(&load.sql) {
            let row = match &e {
                mysql::Error::MySqlError(m) => row_in_message(&m.message)
                    .filter(|r| *r >= 1 && *r <= rows.len())
                    .map(|r| r - 1),
                _ => None,
            };
            return Err(WriteError::server(db, &self.writing(), e, row));
        }
        let affected = db.conn().affected_rows();
        let info = db.conn().info_str().into_owned();
        if db.conn().warnings() > 0 {
            self.check_warnings(db, rows.len(), 0)?;
        }
        Ok(self.counts(rows.len() as u64, affected, &info))
    }

    /// The prepared statement for `rows` rows. Statements are prepared once per
    /// connection and row count: the crate would otherwise hash and scan the whole
    /// statement text on every execution.
    fn statement(&self, db: &mut Db, rows: usize) -> Result<Statement, WriteError> {
        let conn_id = db.conn().connection_id();
        let cached = self
            .statements
            .borrow()
            .get(&rows)
            .filter(|(id, _)| *id == conn_id)
            .map(|(_, st)| st.clone());
        if let Some(st) = cached {
            return Ok(st);
        }
        let st = db
            .conn()
            .prep(self.statement_sql(rows))
            .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
        let mut cache = self.statements.borrow_mut();
        // Stay well inside the crate's own statement cache (32), which closes what it
        // evicts.
        if cache.len() >= 16 {
            cache.clear();
        }
        cache.insert(rows, (conn_id, st.clone()));
        Ok(st)
    }

    /// What a server error happened doing.
    fn writing(&self) -> String {
        format!("writing into {}", self.target)
    }

    /// The multi-row statement for `rows` rows.
    fn statement_sql(&self, rows: usize) -> String {
        let mut sql = String::with_capacity(
            self.prefix.len() + rows * (self.row_template.len() + 2) + self.suffix.len(),
        );
        sql.push_str(&self.prefix);
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&self.row_template);
        }
        sql.push_str(&self.suffix);
        sql
    }

    fn counts(&self, n: u64, affected: u64, info: &str) -> Counts {
        match self.mode {
            Mode::Insert => Counts {
                inserted: affected.min(n),
                updated: 0,
                ignored: n - affected.min(n),
            },
            Mode::Overwrite => {
                // Each row adds 1, plus 1 per old row it replaced.
                let replaced = affected.saturating_sub(n).min(n);
                Counts {
                    inserted: n - replaced,
                    updated: replaced,
                    ignored: 0,
                }
            }
            Mode::Upsert => {
                // affected = inserted + 2 * changed; unchanged rows count 0.
                let changed = if n == 1 {
                    u64::from(affected == 2)
                } else {
                    info_number(info, "Duplicates:").unwrap_or(0)
                };
                let inserted = affected.saturating_sub(2 * changed).min(n);
                let changed = changed.min(n - inserted);
                Counts {
                    inserted,
                    updated: changed,
                    ignored: n - inserted - changed,
                }
            }
        }
    }

    fn check_warnings(&self, db: &mut Db, rows: usize, first_row: usize) -> Result<(), WriteError> {
        let warnings = db.warnings().map_err(|error| WriteError {
            refused: false,
            row: None,
            error,
            transient: false,
        })?;
        let bad: Vec<&(String, u32, String)> = warnings
            .iter()
            .filter(|(level, code, _)| {
                level != "Note" && !(*code == 1062 && self.mode == Mode::Insert) && *code != 1287
            })
            .collect();
        if let Some((level, code, message)) = bad.first() {
            let row = row_in_message(message)
                .filter(|r| *r >= 1 && *r <= rows)
                .map(|r| first_row + r - 1);
            let more = if bad.len() > 1 {
                format!(" (and {} more warnings)", bad.len() - 1)
            } else {
                String::new()
            };
            return Err(WriteError {
                refused: false,
                row,
                transient: false,
                error: Error::Database {
                    context: self.writing(),
                    message: format!(
                        "the server changed a value instead of storing it as given: {level} {code}: \
                         {message}{more}"
                    ),
                },
            });
        }
        Ok(())
    }
}

/// What a page attempt sends: values in bulk (the request takes them) or in multi-row
/// statements, or undecoded rows in bulk.
enum Body<'a> {
    Bulk(&'a mut Vec<Vec<Value>>),
    Chunks(&'a [Vec<Value>]),
    Raw(&'a RawRows),
}

fn add(total: &mut Counts, c: Counts) {
    total.inserted += c.inserted;
    total.updated += c.updated;
    total.ignored += c.ignored;
}

/// "... at row 3" -> 3
fn row_in_message(message: &str) -> Option<usize> {
    let idx = message.rfind("at row ")?;
    message[idx + 7..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn info_number(info: &str, label: &str) -> Option<u64> {
    let idx = info.find(label)?;
    info[idx + label.len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_texts() {
        assert_eq!(
            row_in_message("Data truncated for column 's' at row 12"),
            Some(12)
        );
        assert_eq!(
            info_number("Records: 3  Duplicates: 1  Warnings: 0", "Duplicates:"),
            Some(1)
        );
    }
}
