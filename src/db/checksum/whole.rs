//! The whole-table reads of a `HashedTable`, for matching rows by content: every row
//! hash streamed, every row streamed (for a processor to run through), and rows read
//! back by their hash to show them.

use mysql::prelude::Queryable;
use mysql::Params;

use super::{query, untoken, HashedTable, Range, RowHash, Tokens};
use crate::db::{Db, Value};
use crate::error::{Error, Result};

impl HashedTable {
    /// Per compared column, the values of rows (the copy's `where` applied) whose hash
    /// is one of `hashes`, with their hash; nothing without compared columns.
    pub fn tokens_by_hash(
        &self,
        db: &mut Db,
        hashes: &[RowHash],
    ) -> Result<Vec<(RowHash, Tokens)>> {
        if hashes.is_empty() || self.tokens.is_empty() {
            return Ok(Vec::new());
        }
        let (cond, mut params) = self.conditions(&Range::default())?;
        let holes = vec!["?"; hashes.len()].join(", ");
        let sql = format!(
            "SELECT {}, {} FROM {}{} {} {} IN ({holes})",
            self.hash(),
            self.tokens.join(", "),
            self.table,
            cond,
            if cond.is_empty() { "WHERE" } else { "AND" },
            self.hash()
        );
        params.extend(
            hashes
                .iter()
                .map(|h| Value::Bytes(crate::db::value::hex(&h.0).into_bytes())),
        );
        let found = query(db, "reading the differing rows", &sql, params)?;
        Ok(found
            .rows
            .iter()
            .filter_map(|r| Some((RowHash::parse(&r[0])?, r[1..].iter().map(untoken).collect())))
            .collect())
    }

    /// Streams every row hash of the whole table (the copy's `where` applied).
    pub fn each_hash(&self, db: &mut Db, mut f: impl FnMut(RowHash)) -> Result<()> {
        let (cond, params) = self.conditions(&Range::default())?;
        let sql = format!("SELECT {} FROM {}{cond}", self.hash(), self.table);
        let context = format!("{} {}: reading row hashes", db.role.name(), db.spec);
        stream(db, &context, &sql, params, |row| {
            let v = row.into_iter().next().unwrap_or(Value::NULL);
            f(RowHash::parse(&v).ok_or_else(|| Error::Database {
                context: context.clone(),
                message: "not a SHA-256".into(),
                cause: None,
            })?);
            Ok(())
        })
    }

    /// Streams `columns` (quoted) of every row of the whole table (the copy's `where`
    /// applied), in no particular order; `what` names the read in an error.
    pub fn each_row(
        &self,
        db: &mut Db,
        columns: &[String],
        what: &str,
        f: impl FnMut(Vec<Value>) -> Result<()>,
    ) -> Result<()> {
        let (cond, params) = self.conditions(&Range::default())?;
        let sql = format!("SELECT {} FROM {}{cond}", columns.join(", "), self.table);
        let context = format!("{} {}: {what}", db.role.name(), db.spec);
        stream(db, &context, &sql, params, f)
    }
}

/// Runs a query and hands each row to `f` as it arrives; a server error names
/// `context`.
fn stream(
    db: &mut Db,
    context: &str,
    sql: &str,
    params: Vec<Value>,
    mut f: impl FnMut(Vec<Value>) -> Result<()>,
) -> Result<()> {
    let spec = db.spec.clone();
    let err = |e: mysql::Error| Error::Database {
        context: context.to_string(),
        message: spec.scrub(&crate::db::error_text(&e)),
        cause: Some(std::sync::Arc::new(e)),
    };
    let params = if params.is_empty() {
        Params::Empty
    } else {
        Params::Positional(params)
    };
    let mut result = db.conn().exec_iter(sql, params).map_err(err)?;
    if let Some(set) = result.iter() {
        for row in set {
            f(row.map_err(err)?.unwrap())?;
        }
    }
    Ok(())
}
