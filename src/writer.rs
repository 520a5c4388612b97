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
use crate::fit::Fit;
use crate::load_data::LoadData;
use crate::plan::{CopyPlan, Fill, Mode};
use crate::raw::{RawRows, RequestError};
use crate::schema::quote_ident;
use crate::value::wire_size;

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

/// What the server answered for some rows of a page, added up.
#[derive(Debug, Default, Clone, Copy)]
struct Answer {
    rows: u64,
    affected: u64,
    /// Upsert: rows that updated an existing row (the info string's `Duplicates:`).
    dups: u64,
    /// Insert: duplicate-key warnings that name a key other than the resolving one.
    other_dups: u64,
}

impl Answer {
    fn add(&mut self, o: Answer) {
        self.rows += o.rows;
        self.affected += o.affected;
        self.dups += o.dups;
        self.other_dups += o.other_dups;
    }
}

/// The target's unique keys as the mode sees them.
#[derive(Debug)]
struct Keys {
    /// The key the mode resolves on: the primary key when every column of it is
    /// written, else the first unique key all of whose columns are written.
    name: String,
    cols: Vec<String>,
    /// Where its columns are among the written values (`None`: one is written by an
    /// SQL expression, so rows cannot be looked up by it).
    at: Option<Vec<usize>>,
    kinds: Vec<crate::value::Kind>,
    /// The other unique keys: name, columns, and where those are among the values.
    others: Vec<(String, Vec<String>, Option<Vec<usize>>)>,
}

impl Keys {
    fn new(plan: &CopyPlan) -> Option<Keys> {
        let written = |c: &String| plan.columns.iter().any(|t| &t.name == c);
        let idx = &plan.target.indexes;
        let rk = idx
            .iter()
            .find(|i| i.name == "PRIMARY" && i.columns.iter().all(written))
            .or_else(|| {
                idx.iter()
                    .find(|i| i.unique && i.columns.iter().all(written))
            })?;
        let values: Vec<&str> = plan.value_columns().map(|c| c.name.as_str()).collect();
        let at = |cols: &[String]| -> Option<Vec<usize>> {
            cols.iter()
                .map(|c| values.iter().position(|v| v == c))
                .collect()
        };
        Some(Keys {
            name: rk.name.clone(),
            cols: rk.columns.clone(),
            at: at(&rk.columns),
            kinds: rk
                .columns
                .iter()
                .map(|c| {
                    plan.target
                        .column(c)
                        .map_or(crate::value::Kind::Bytes, |c| c.kind())
                })
                .collect(),
            others: idx
                .iter()
                .filter(|i| i.unique && i.name != rk.name)
                .map(|i| (i.name.clone(), i.columns.clone(), at(&i.columns)))
                .collect(),
        })
    }
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
    /// Values the target would change silently (see `fit`).
    fit: Option<Fit>,
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
                target: crate::progress::FILE_ONLY,
                "{}: {n} lookups of the rows already in the target took {:.3}s",
                self.writing(),
                t.as_secs_f64()
            );
        }
    }
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
        let keys = Keys::new(plan);
        let check_unique = keys.as_ref().is_some_and(|k| !k.others.is_empty());
        let count_existing = keys.as_ref().is_some_and(|k| k.at.is_some())
            && match plan.mode {
                Mode::Overwrite => true,
                Mode::Upsert => check_unique,
                Mode::Insert => false,
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
            check_unique,
            count_existing,
            accept_conflicts: plan.accept.unique_conflicts,
            fit: Fit::new(plan),
            lookups: RefCell::new(None),
            table: plan.target.quoted_name(),
            schema: (plan.target.database.clone(), plan.target.name.clone()),
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
    ) -> Result<Counts, WriteError> {
        match self.write_page_once(db, rows, undecoded, checkpoint) {
            // Rows collided with other target rows: found one by one, to name one.
            Err(e) if e.conflict && !rows.is_empty() => Err(self.diagnose(db, rows, e)),
            r => r,
        }
    }

    fn write_page_once(
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
            *rows = raw.decode().map_err(|message| {
                WriteError::data(
                    None,
                    Error::Database {
                        context: self.writing(),
                        message,
                    },
                )
            })?;
            self.check_fit(rows)?;
            if bulk {
                return self.try_page(db, Body::Chunks(rows), checkpoint);
            }
        } else {
            self.check_fit(rows)?;
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

    /// Refuses a page with a value the target would change silently (see `fit`).
    fn check_fit(&self, rows: &[Vec<Value>]) -> Result<(), WriteError> {
        match self.fit.as_ref().map(|f| f.check_rows(rows)) {
            Some(Err((row, message))) => Err(WriteError::data(
                Some(row),
                Error::Database {
                    context: self.writing(),
                    message,
                },
            )),
            _ => Ok(()),
        }
    }

    /// Logs that a bulk page failed and is written again with multi-row statements.
    fn rewriting(&self, e: &WriteError) {
        if e.conflict {
            // Found row by row in `diagnose`, which names it.
            return;
        }
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
        let written = self.existing_in(db, &body).and_then(|existing| {
            let answer = match body {
                Body::Bulk(rows) => self.bulk_page(db, rows),
                Body::Chunks(rows) => self.write_chunks(db, rows),
                Body::Raw(raw) => self.raw_page(db, raw),
            }?;
            let c = self.page_counts(answer, existing);
            if c.conflicts > 0 {
                if !self.accept_conflicts {
                    return Err(self.conflict_error(None, c.conflicts, None));
                }
                log::warn!(
                    "{}: {} row(s) of a page collided with different target rows through a \
                     unique key other than {} and {} (accepted: unique_conflicts)",
                    self.writing(),
                    c.conflicts,
                    self.keys.as_ref().map_or("", |k| k.name.as_str()),
                    self.conflict_effect()
                );
            }
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

    /// What the mode does to the other target row of a conflict.
    fn conflict_effect(&self) -> &'static str {
        match self.mode {
            Mode::Insert => "were dropped",
            Mode::Overwrite => "deleted those rows",
            Mode::Upsert => "rewrote those rows, their keys included",
        }
    }

    /// The error for rows that collide with different target rows: `row` when known,
    /// and the other row's key and the unique key when found.
    fn conflict_error(
        &self,
        row: Option<usize>,
        n: u64,
        other: Option<(String, String)>,
    ) -> WriteError {
        let rk = self.keys.as_ref().map_or("", |k| k.name.as_str());
        let effect = match self.mode {
            Mode::Insert => "insert would drop this row",
            Mode::Overwrite => "overwrite would delete that other row",
            Mode::Upsert => "upsert would rewrite that other row, its key included",
        };
        let what = match (&other, row) {
            (Some((key, label)), _) => format!(
                "it collides with a different target row, {label}, through unique key \
                 `{key}` (the mode resolves rows on `{rk}`)"
            ),
            (None, Some(_)) => format!(
                "it collides with a different target row through a unique key other than \
                 `{rk}`, which the mode resolves rows on"
            ),
            (None, None) => format!(
                "{n} row(s) collide with different target rows through a unique key other \
                 than `{rk}`, which the mode resolves rows on"
            ),
        };
        WriteError {
            row,
            error: Error::Database {
                context: self.writing(),
                message: format!(
                    "{what}: {effect}; fix the rows in the source or the target, or let the \
                     copy accept such rows with accept = {{\"unique_conflicts\"}} (they are \
                     then counted as conflicts)"
                ),
            },
            transient: false,
            refused: false,
            conflict: row.is_none(),
        }
    }

    /// Rows of the page already in the target by the resolving key, when the mode needs
    /// that number (see `count_existing`).
    fn existing_in(&self, db: &mut Db, body: &Body<'_>) -> Result<Option<u64>, WriteError> {
        let Some(at) = self
            .keys
            .as_ref()
            .and_then(|k| k.at.as_ref())
            .filter(|_| self.count_existing)
        else {
            return Ok(None);
        };
        let of_rows = |rows: &[Vec<Value>]| -> Vec<Vec<Value>> {
            rows.iter()
                .map(|r| at.iter().map(|&j| r[j].clone()).collect())
                .collect()
        };
        let keys = match body {
            Body::Bulk(rows) => of_rows(rows),
            Body::Chunks(rows) => of_rows(rows),
            Body::Raw(raw) => (0..raw.len())
                .map(|i| raw.layout.decode_some(raw.row(i), at))
                .collect::<Result<_, _>>()
                .map_err(|message| {
                    WriteError::data(
                        None,
                        Error::Database {
                            context: self.writing(),
                            message,
                        },
                    )
                })?,
        };
        self.count_rows(db, &keys).map(Some)
    }

    /// How target column `col` is compared with a parameter: text in the column's own
    /// character set and collation (the session may send strings as binary).
    fn lookup_expr(&self, db: &mut Db, col: &str) -> Result<String, WriteError> {
        if self.lookups.borrow().is_none() {
            let rows: Vec<(String, String, String)> = db
                .conn()
                .exec(
                    "SELECT COLUMN_NAME, CHARACTER_SET_NAME, COLLATION_NAME \
                     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                     AND COLLATION_NAME IS NOT NULL",
                    (&self.schema.0, &self.schema.1),
                )
                .map_err(|e| WriteError::server(db, "reading the target's collations", e, None))?;
            let map = rows
                .into_iter()
                .map(|(c, cs, coll)| {
                    (
                        c,
                        format!("CONVERT(CONVERT(? USING utf8mb4) USING {cs}) COLLATE {coll}"),
                    )
                })
                .collect();
            *self.lookups.borrow_mut() = Some(map);
        }
        Ok(self
            .lookups
            .borrow()
            .as_ref()
            .and_then(|m| m.get(col).cloned())
            .unwrap_or_else(|| "?".into()))
    }

    /// `(a = ? AND b = ?) OR ...` (or `a IN (?, ...)`) for `n` rows of `cols`.
    fn match_sql(&self, db: &mut Db, cols: &[String], n: usize) -> Result<String, WriteError> {
        let exprs: Vec<String> = cols
            .iter()
            .map(|c| self.lookup_expr(db, c))
            .collect::<Result<_, _>>()?;
        let q: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
        if cols.len() == 1 {
            let list = vec![exprs[0].as_str(); n].join(", ");
            return Ok(format!("{} IN ({list})", q[0]));
        }
        let one = q
            .iter()
            .zip(&exprs)
            .map(|(c, e)| format!("{c} = {e}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        Ok(vec![format!("({one})"); n].join(" OR "))
    }

    /// How many of `keys` (values of the resolving key) the target holds.
    fn count_rows(&self, db: &mut Db, keys: &[Vec<Value>]) -> Result<u64, WriteError> {
        let Some(k) = &self.keys else { return Ok(0) };
        let per = (MAX_PLACEHOLDERS / k.cols.len().max(1)).clamp(1, 5000);
        let start = std::time::Instant::now();
        let mut total = 0;
        // An integer key: when nothing in the target lies between the page's smallest
        // and largest key (a load into an empty or growing table), one index dive says
        // so, instead of a lookup per row.
        let ints: Option<Vec<i128>> = keys
            .iter()
            .map(|k| match k.as_slice() {
                [Value::Int(i)] => Some(i128::from(*i)),
                [Value::UInt(u)] => Some(i128::from(*u)),
                _ => None,
            })
            .collect();
        if let Some((lo, hi)) = ints
            .filter(|v| v.len() > 1)
            .and_then(|v| Some((*v.iter().min()?, *v.iter().max()?)))
        {
            let col = quote_ident(&k.cols[0]);
            let bound = |x: i128| match i64::try_from(x) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::UInt(x as u64),
            };
            let any: Option<u8> = db
                .conn()
                .exec_first(
                    format!(
                        "SELECT 1 FROM {} WHERE {col} >= ? AND {col} <= ? LIMIT 1",
                        self.table
                    ),
                    (bound(lo), bound(hi)),
                )
                .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
            if any.is_none() {
                let (made, took) = self.lookups_made.get();
                self.lookups_made.set((made + 1, took + start.elapsed()));
                return Ok(0);
            }
        }
        for chunk in keys.chunks(per) {
            let sql = format!(
                "SELECT COUNT(*) FROM {} WHERE {}",
                self.table,
                self.match_sql(db, &k.cols, chunk.len())?
            );
            let params: Vec<Value> = chunk.iter().flatten().cloned().collect();
            let n: Option<u64> = db
                .conn()
                .exec_first(sql, params)
                .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
            total += n.unwrap_or(0);
        }
        let (made, took) = self.lookups_made.get();
        self.lookups_made.set((made + 1, took + start.elapsed()));
        Ok(total)
    }

    /// A page's counts from the server's answers and, when counted, how many of its
    /// rows were already in the target by the resolving key (`existing`).
    fn page_counts(&self, a: Answer, existing: Option<u64>) -> Counts {
        let n = a.rows;
        match self.mode {
            Mode::Insert => {
                let inserted = a.affected.min(n);
                let dropped = n - inserted;
                let conflicts = if self.check_unique {
                    a.other_dups.min(dropped)
                } else {
                    0
                };
                Counts {
                    inserted,
                    ignored: dropped - conflicts,
                    conflicts,
                    ..Counts::default()
                }
            }
            Mode::Overwrite => {
                // Each row adds 1, plus 1 per row it deleted or changed in place (an
                // identical row replaced in place adds nothing more).
                let extra = a.affected.saturating_sub(n);
                match existing {
                    Some(e) => {
                        let e = e.min(n);
                        let mut updated = extra.min(e);
                        // More rows went than the page's own: others, through other keys.
                        let conflicts = if self.check_unique {
                            extra - updated
                        } else {
                            0
                        };
                        let new_conflicts = conflicts.min(n - e);
                        updated = updated.saturating_sub(conflicts - new_conflicts);
                        Counts {
                            inserted: n - e - new_conflicts,
                            updated,
                            unchanged: e - updated - (conflicts - new_conflicts),
                            conflicts,
                            ..Counts::default()
                        }
                    }
                    None => {
                        let updated = extra.min(n);
                        Counts {
                            inserted: n - updated,
                            updated,
                            ..Counts::default()
                        }
                    }
                }
            }
            Mode::Upsert => {
                // affected = inserted + 2 * changed; unchanged rows count 0.
                let inserted = a.affected.saturating_sub(2 * a.dups).min(n);
                // Rows not in the target by their key that were not inserted updated
                // another row, through another unique key.
                let conflicts = match existing {
                    Some(e) if self.check_unique => (n - e.min(n)).saturating_sub(inserted),
                    _ => 0,
                };
                let updated = a
                    .dups
                    .saturating_sub(conflicts)
                    .min(n - inserted - conflicts);
                Counts {
                    inserted,
                    updated,
                    unchanged: n - inserted - conflicts - updated,
                    conflicts,
                    ..Counts::default()
                }
            }
        }
    }

    /// Finds the first row of a page whose rows collide with different target rows
    /// (`e`): the rows are written one at a time in a transaction that is rolled back,
    /// each counted as a page of one row.
    fn diagnose(&self, db: &mut Db, rows: &[Vec<Value>], e: WriteError) -> WriteError {
        let found = self.find_conflict(db, rows);
        let _ = db.conn().query_drop("ROLLBACK");
        match found {
            Ok(Some(err)) => err,
            Ok(None) => e,
            Err(err) => err,
        }
    }

    fn find_conflict(
        &self,
        db: &mut Db,
        rows: &[Vec<Value>],
    ) -> Result<Option<WriteError>, WriteError> {
        let plain = |db: &Db, e| WriteError::server(db, "finding the row that collides", e, None);
        db.conn()
            .query_drop("START TRANSACTION")
            .map_err(|e| plain(db, e))?;
        let stmt = self.statement(db, 1)?;
        let at = self.keys.as_ref().and_then(|k| k.at.clone());
        for (i, row) in rows.iter().enumerate() {
            let existing = match (&at, self.count_existing) {
                (Some(at), true) => {
                    let key: Vec<Value> = at.iter().map(|&j| row[j].clone()).collect();
                    Some(self.count_rows(db, &[key])?)
                }
                _ => None,
            };
            db.conn()
                .query_drop("SAVEPOINT ferry_row")
                .map_err(|e| plain(db, e))?;
            let params = if row.is_empty() {
                Params::Empty
            } else {
                Params::Positional(row.clone())
            };
            db.conn()
                .exec_drop(&stmt, params)
                .map_err(|e| WriteError::server(db, &self.writing(), e, Some(i)))?;
            let answer = self.answer(db, 1, i)?;
            if self.page_counts(answer, existing).conflicts > 0 {
                db.conn()
                    .query_drop("ROLLBACK TO SAVEPOINT ferry_row")
                    .map_err(|e| plain(db, e))?;
                let other = self.other_row(db, row)?;
                return Ok(Some(self.conflict_error(Some(i), 1, other)));
            }
        }
        Ok(None)
    }

    /// The unique key through which `row` meets a different target row, and that
    /// row's key (resolving key columns and values).
    fn other_row(
        &self,
        db: &mut Db,
        row: &[Value],
    ) -> Result<Option<(String, String)>, WriteError> {
        let Some(k) = &self.keys else { return Ok(None) };
        let rk_cols: Vec<String> = k.cols.iter().map(|c| quote_ident(c)).collect();
        for (name, cols, at) in &k.others {
            let Some(at) = at else { continue };
            let vals: Vec<Value> = at.iter().map(|&j| row[j].clone()).collect();
            if vals.iter().any(|v| matches!(v, Value::NULL)) {
                continue;
            }
            let mut sql = format!(
                "SELECT {} FROM {} WHERE {}",
                rk_cols.join(", "),
                self.table,
                self.match_sql(db, cols, 1)?
            );
            let mut params = vals;
            if let Some(rk_at) = &k.at {
                sql.push_str(&format!(" AND NOT ({})", self.match_sql(db, &k.cols, 1)?));
                params.extend(rk_at.iter().map(|&j| row[j].clone()));
            }
            sql.push_str(" LIMIT 1");
            let found: Option<mysql::Row> = db
                .conn()
                .exec_first(sql, params)
                .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
            if let Some(r) = found {
                let values = r.unwrap();
                return Ok(Some((
                    name.clone(),
                    crate::value::show_key(&k.cols, &values, &k.kinds),
                )));
            }
        }
        Ok(None)
    }

    fn write_chunks(&self, db: &mut Db, rows: &[Vec<Value>]) -> Result<Answer, WriteError> {
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
        let mut total = Answer::default();
        let max_rows = MAX_PLACEHOLDERS
            .checked_div(self.params_per_row)
            .unwrap_or(1000)
            .max(1);
        let mut chunk: Vec<Value> = Vec::new();
        let mut chunk_rows = 0usize;
        let mut chunk_bytes = 0usize;
        let mut first_row = 0usize;
        for (i, row) in rows.iter().enumerate() {
            let bytes: usize = row.iter().map(wire_size).sum::<usize>() + 8;
            if chunk_rows > 0 && (chunk_rows >= max_rows || chunk_bytes + bytes > self.max_bytes) {
                let c = self.execute(db, std::mem::take(&mut chunk), chunk_rows, first_row)?;
                total.add(c);
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
            total.add(c);
        }
        Ok(total)
    }

    fn execute(
        &self,
        db: &mut Db,
        params: Vec<Value>,
        rows: usize,
        first_row: usize,
    ) -> Result<Answer, WriteError> {
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
        self.answer(db, rows, first_row)
    }

    /// The server's answer to a statement that wrote `rows` rows, the first of them
    /// row `first_row` of the page; any warning but a duplicate key in insert mode
    /// fails the page (see `check_warnings`).
    fn answer(&self, db: &mut Db, rows: usize, first_row: usize) -> Result<Answer, WriteError> {
        let affected = db.conn().affected_rows();
        let info = db.conn().info_str().into_owned();
        let other_dups = if db.conn().warnings() > 0 {
            self.check_warnings(db, rows, first_row)?
        } else {
            0
        };
        let dups = match self.mode {
            Mode::Upsert if rows == 1 => u64::from(affected == 2),
            Mode::Upsert => info_number(&info, "Duplicates:").unwrap_or(0),
            _ => 0,
        };
        Ok(Answer {
            rows: rows as u64,
            affected,
            dups,
            other_dups,
        })
    }

    /// An undecoded page in bulk requests below `max_allowed_packet`, with each
    /// request's counts and warnings checked as `bulk_page` checks the page's.
    fn raw_page(&self, db: &mut Db, raw: &RawRows) -> Result<Answer, WriteError> {
        if raw.is_empty() {
            return Ok(Answer::default());
        }
        let stmt = self.statement(db, 1)?;
        let mut total = Answer::default();
        let mut buf = self.spare.borrow_mut();
        let max_packet = db.max_packet;
        let sent = raw.requests(stmt.id(), max_packet, &mut buf, |packet, n| {
            crate::fork::exec_bulk_raw(db.conn(), packet)
                .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
            total.add(self.answer(db, n, 0)?);
            Ok(())
        });
        match sent {
            Ok(()) => Ok(total),
            Err(RequestError::Write(e)) => Err(e),
            Err(RequestError::TooBig(i)) => Err(WriteError::data(
                Some(i),
                Error::Database {
                    context: self.writing(),
                    message: format!(
                        "a row does not fit one request under max_allowed_packet ({max_packet} bytes)"
                    ),
                },
            )),
        }
    }

    fn bulk_page(&self, db: &mut Db, rows: &mut Vec<Vec<Value>>) -> Result<Answer, WriteError> {
        if rows.is_empty() {
            return Ok(Answer::default());
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
        self.answer(db, n, 0)
    }

    fn load_page(
        &self,
        db: &mut Db,
        load: &LoadData,
        rows: &[Vec<Value>],
    ) -> Result<Answer, WriteError> {
        if rows.is_empty() {
            return Ok(Answer::default());
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
        self.answer(db, rows.len(), 0)
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

    /// Fails the page on any warning or note the server gave for its rows (a value
    /// truncated, rounded, out of range or invalid), but a duplicate key in insert
    /// mode, which the mode expects. Returns how many of those duplicates name a key
    /// other than the resolving one (rows that met a different target row).
    fn check_warnings(
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
                },
            ));
        }
        Ok(other_dups)
    }
}

/// What a page attempt sends: values in bulk (the request takes them) or in multi-row
/// statements, or undecoded rows in bulk.
enum Body<'a> {
    Bulk(&'a mut Vec<Vec<Value>>),
    Chunks(&'a [Vec<Value>]),
    Raw(&'a RawRows),
}

/// The key a duplicate-key message names: `Duplicate entry 'x' for key 'email'`
/// (MySQL 8: `'t.email'`) -> `email`.
fn dup_key_name(message: &str) -> Option<&str> {
    let i = message.rfind("for key '")?;
    let key = message[i + 9..].strip_suffix('\'')?;
    Some(key.rsplit('.').next().unwrap_or(key))
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
