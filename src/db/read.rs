//! Reading the source: the SELECT for a copy (or one key range of it), keyset pages in
//! key order bounded by rows and by bytes, or one streamed pass for a keyless table.

use mysql::prelude::Queryable;
use mysql::{Params, Value};

use std::sync::Arc;

use crate::db::keyset::{KeyColumn, Op};
use crate::db::schema::TableInfo;
use crate::db::value::wire_size;
use crate::db::wire::{RawLayout, RawRows, RawSource, WireError};
use crate::db::Db;
use crate::error::Result;

/// The SELECT that reads the source, in key order when there is a key.
#[derive(Debug, Clone)]
pub struct SourceQuery {
    columns: String,
    table: String,
    /// Conditions ANDed together (the copy's `where`, the incremental window, the key
    /// range), with their parameters in order.
    conds: Vec<String>,
    params: Vec<Value>,
    key: Vec<KeyColumn>,
}

impl SourceQuery {
    /// Reads `table` (filtered by `filter`) in the order of its paging key.
    pub fn for_table(table: &TableInfo, filter: Option<String>) -> SourceQuery {
        SourceQuery {
            columns: table.quoted_columns().join(", "),
            table: table.quoted_name(),
            conds: filter.map(|f| format!("({f})")).into_iter().collect(),
            params: Vec::new(),
            key: table
                .paging_key()
                .map(|k| {
                    k.columns
                        .iter()
                        .filter_map(|c| table.column(c))
                        .map(KeyColumn::new)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Adds a condition with `?` placeholders and their values.
    pub fn and(&mut self, cond: String, params: Vec<Value>) {
        self.conds.push(cond);
        self.params.extend(params);
    }

    /// The paging key's columns.
    pub fn key(&self) -> &[KeyColumn] {
        &self.key
    }

    /// Keeps the rows whose first key column is `op` `value` in the key's order (a key
    /// range's bound).
    pub fn and_key(&mut self, op: Op, value: &Value) -> Result<()> {
        let mut p = Vec::new();
        let cond = self.key[0].compare(op, value, &mut p)?;
        self.and(cond, p);
        Ok(())
    }

    /// Keeps the rows whose paging key is `values` (one per key column, compared as
    /// the server compares the column with a value): `ferry explain --key`.
    pub fn and_key_is(&mut self, values: Vec<Value>) {
        let cond: Vec<String> = self
            .key
            .iter()
            .map(|k| format!("{} = ?", k.quoted()))
            .collect();
        self.and(format!("({})", cond.join(" AND ")), values);
    }

    fn order_by(&self) -> String {
        let cols: Vec<&str> = self.key.iter().map(|k| k.quoted()).collect();
        cols.join(", ")
    }

    fn where_clause(&self, extra: Option<String>) -> String {
        let mut conds = self.conds.clone();
        conds.extend(extra);
        if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        }
    }

    /// The first page (`after` = None) or the page after a key.
    pub fn page_sql(&self, after: Option<&[Value]>, limit: usize) -> Result<(String, Vec<Value>)> {
        let mut params = self.params.clone();
        let extra = match after {
            Some(after) => Some(crate::db::keyset::after(&self.key, after, &mut params)?),
            None => None,
        };
        let mut sql = format!(
            "SELECT {} FROM {}{}",
            self.columns,
            self.table,
            self.where_clause(extra)
        );
        if !self.key.is_empty() {
            sql.push_str(&format!(" ORDER BY {}", self.order_by()));
        }
        sql.push_str(&format!(" LIMIT {limit}"));
        Ok((sql, params))
    }

    /// The whole table in one pass (no key).
    pub fn stream_sql(&self) -> (String, Vec<Value>) {
        (
            format!(
                "SELECT {} FROM {}{}",
                self.columns,
                self.table,
                self.where_clause(None)
            ),
            self.params.clone(),
        )
    }

    /// The first key column's value `offset` rows into the key order, with this
    /// query's conditions: where to split a key that cannot be divided by arithmetic.
    pub fn key_at_sql(&self, offset: u64) -> (String, Vec<Value>) {
        (
            format!(
                "SELECT {} FROM {}{} ORDER BY {} LIMIT 1 OFFSET {offset}",
                self.key[0].quoted(),
                self.table,
                self.where_clause(None),
                self.order_by()
            ),
            self.params.clone(),
        )
    }

    /// `SELECT <expr> FROM table WHERE ...` with this query's conditions.
    pub fn aggregate_sql(&self, expr: &str) -> (String, Vec<Value>) {
        (
            format!(
                "SELECT {expr} FROM {}{}",
                self.table,
                self.where_clause(None)
            ),
            self.params.clone(),
        )
    }
}

pub fn params(values: Vec<Value>) -> Params {
    if values.is_empty() {
        Params::Empty
    } else {
        Params::Positional(values)
    }
}

/// Reads one keyset page of at most `limit` rows, stopping early once `max_bytes` are
/// in hand (the rest of the result is read and dropped, so memory stays bounded even
/// when a row estimate was wrong). Returns the rows and their size in bytes.
pub fn read_page(
    db: &mut Db,
    (sql, p): (String, Vec<Value>),
    max_bytes: usize,
) -> std::result::Result<(Vec<Vec<Value>>, usize), mysql::Error> {
    let mut result = db.conn().exec_iter(sql, params(p))?;
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    if let Some(set) = result.iter() {
        for row in set {
            let row = row?.unwrap();
            bytes += row.iter().map(wire_size).sum::<usize>();
            rows.push(row);
            if bytes >= max_bytes {
                break;
            }
        }
    }
    drop(result);
    Ok((rows, bytes))
}

/// Why an undecoded page could not be read.
#[derive(Debug)]
pub enum RawReadError {
    Db(mysql::Error),
    /// The result did not fit the raw layout.
    Layout(WireError),
}

/// Reads one keyset page like `read_page`, as parameter rows for a bulk request (see
/// `raw`) rather than values. `layout` is made from the first result's columns and
/// kept for the next pages.
pub fn read_raw_page(
    db: &mut Db,
    (sql, p): (String, Vec<Value>),
    max_bytes: usize,
    sources: &[RawSource],
    layout: &mut Option<Arc<RawLayout>>,
) -> std::result::Result<(RawRows, usize), RawReadError> {
    let mut rows: Option<RawRows> = None;
    let mut bytes = 0usize;
    let mut failed: Option<WireError> = None;
    crate::db::fork::exec_raw_rows(db.conn(), sql, params(p), |columns, packet| {
        // Past the byte bound (or a bad row) the rest is read and dropped.
        if failed.is_some() || bytes >= max_bytes {
            return;
        }
        if layout.is_none() {
            match RawLayout::new(sources, columns) {
                Ok(l) => *layout = Some(Arc::new(l)),
                Err(e) => {
                    failed = Some(e);
                    return;
                }
            }
        }
        let l = layout.as_ref().expect("made above");
        let rows = rows.get_or_insert_with(|| RawRows::new(l.clone()));
        match l.push_row(packet, rows) {
            Ok(n) => bytes += n,
            Err(e) => failed = Some(e),
        }
    })
    .map_err(RawReadError::Db)?;
    if let Some(e) = failed {
        return Err(RawReadError::Layout(e));
    }
    let rows = match (rows, layout.as_ref()) {
        (Some(r), _) => r,
        (None, Some(l)) => RawRows::new(l.clone()),
        // No row and no layout yet: an empty page of an empty layout.
        (None, None) => RawRows::new(Arc::new(
            RawLayout::new(&[], &[]).map_err(RawReadError::Layout)?,
        )),
    };
    Ok((rows, bytes))
}
