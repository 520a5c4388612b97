//! One page's transaction: the page checked against what the target would change
//! silently, then written in one transaction with its checkpoint, by one bulk request
//! (decoded or undecoded rows), by multi-row statements in chunks under the
//! placeholder and packet limits, or by LOAD DATA LOCAL INFILE; a bulk page that
//! fails is written again with multi-row statements, which name the row. Rows of other
//! tables the page made (`Also`, fan-out) go in the same transaction.

use mysql::prelude::Queryable;
use mysql::{Params, Value};

use super::answers::Answer;
use super::messages::row_in_message;
use super::statement::MAX_PLACEHOLDERS;
use super::{Also, Counts, WriteError, Writer};
use crate::db::load_data::LoadData;
use crate::db::value::wire_size;
use crate::db::wire::{RawRows, RequestError};
use crate::db::Db;
use crate::error::Error;

/// What a page attempt sends: values in bulk (the request takes them) or in multi-row
/// statements, or undecoded rows in bulk.
pub(super) enum Body<'a> {
    Bulk(&'a mut Vec<Vec<Value>>),
    Chunks(&'a [Vec<Value>]),
    Raw(&'a RawRows),
}

impl Writer {
    /// Starts a page's transaction, the session set up for binary parameters first when
    /// the writer sends them.
    pub(super) fn begin_page(&self, db: &mut Db) -> Result<(), WriteError> {
        let plain = |db: &Db, ctx: &str, e| WriteError::server(db, ctx, e, None);
        if self.binary_params && !db.binary_params {
            db.conn()
                .query_drop("SET character_set_client = binary")
                .map_err(|e| plain(db, "setting up the session", e))?;
            db.binary_params = true;
        }
        db.conn()
            .query_drop("START TRANSACTION")
            .map_err(|e| plain(db, "starting a transaction", e))
    }

    pub(super) fn write_page_once(
        &self,
        db: &mut Db,
        rows: &mut Vec<Vec<Value>>,
        undecoded: Option<&RawRows>,
        checkpoint: Option<(String, Vec<Value>)>,
        also: &Also<'_>,
    ) -> Result<Counts, WriteError> {
        let bulk = self.bulk && db.is_mariadb();
        if let Some(raw) = undecoded.filter(|_| rows.is_empty()) {
            if bulk {
                match self.try_page(db, Body::Raw(raw), checkpoint.clone(), also) {
                    // Written again row by row, which names the row at fault (unless
                    // the fault is in rows of another table, `Also`).
                    Err(e) if !e.transient && e.also.is_none() => self.rewriting(&e),
                    r => return r,
                }
            }
            *rows = raw
                .decode()
                .map_err(|e| WriteError::data(None, Error::database_caused(self.writing(), e)))?;
            self.check_fit(rows)?;
            if bulk {
                return self.try_page(db, Body::Chunks(rows), checkpoint, also);
            }
        } else {
            self.check_fit(rows)?;
        }
        let body = if bulk {
            Body::Bulk(rows)
        } else {
            Body::Chunks(rows)
        };
        let first = self.try_page(db, body, checkpoint.clone(), also);
        // Rows a failed bulk request took come back from the packed copy (only then:
        // an empty page, all skipped by a transform, took nothing).
        if self.taken.replace(false) && first.is_err() {
            *rows = crate::db::packed::unpack(&self.spare.borrow());
        }
        match first {
            // A bulk execution does not say which row failed or warned: the page is
            // rolled back and written again with multi-row statements, which do.
            Err(e) if bulk && !e.transient && e.also.is_none() => {
                self.rewriting(&e);
                self.try_page(db, Body::Chunks(rows), checkpoint, also)
            }
            r => r,
        }
    }

    /// Refuses a page with a value the target would change silently (see `fit`).
    fn check_fit(&self, rows: &[Vec<Value>]) -> Result<(), WriteError> {
        match self.fit.as_ref().map(|f| f.check_rows(rows)) {
            Some(Err(super::Misfit { row, message })) => Err(WriteError::data(
                Some(row),
                Error::database(self.writing(), message),
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
            super::without_row_number(&e.error.to_string())
        );
    }

    fn try_page(
        &self,
        db: &mut Db,
        body: Body<'_>,
        checkpoint: Option<(String, Vec<Value>)>,
        also: &Also<'_>,
    ) -> Result<Counts, WriteError> {
        let plain = |db: &Db, ctx: &str, e| WriteError::server(db, ctx, e, None);
        self.begin_page(db)?;
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
            also.write(db)?;
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

    /// Writes `rows` in the transaction a page of another writer opened (fan-out):
    /// their counts, or an error for a row the server refuses or that collides with a
    /// different row through another unique key.
    pub(super) fn write_more(
        &self,
        db: &mut Db,
        rows: &[Vec<Value>],
    ) -> Result<Counts, WriteError> {
        self.check_fit(rows)?;
        let existing = self.existing_in(db, &Body::Chunks(rows))?;
        let answer = self.write_chunks(db, rows)?;
        let c = self.page_counts(answer, existing);
        if c.conflicts > 0 && !self.accept_conflicts {
            return Err(self.conflict_error(None, c.conflicts, None));
        }
        Ok(c)
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

    pub(super) fn execute(
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
            crate::db::fork::exec_bulk_raw(db.conn(), packet)
                .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
            total.add(self.answer(db, n, 0)?);
            Ok(())
        });
        match sent {
            Ok(()) => Ok(total),
            Err(RequestError::Write(e)) => Err(e),
            Err(RequestError::TooBig(i)) => Err(WriteError::data(
                Some(i),
                Error::database(
                    self.writing(),
                    format!(
                        "a row does not fit one request under max_allowed_packet ({max_packet} bytes)"
                    ),
                ),
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
        crate::db::packed::pack(rows, &mut self.spare.borrow_mut());
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
}
