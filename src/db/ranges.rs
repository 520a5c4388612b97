//! What splitting a copy into key ranges asks the source: how many rows a query
//! matches, the smallest and largest value of an integer key column, and the key
//! column's value at a row offset in key order.

use mysql::prelude::Queryable;

use crate::db::read::{params, SourceQuery};
use crate::db::schema::quote_ident;
use crate::db::{Db, Value};
use crate::error::Result;

impl Db {
    /// The rows `query` matches (`COUNT(*)`); `table` names them in messages.
    pub fn count_rows(&mut self, query: &SourceQuery, table: &str) -> Result<u64> {
        let (sql, p) = query.aggregate_sql("COUNT(*)");
        let n: Option<u64> = self
            .conn
            .exec_first(sql, params(p))
            .map_err(|e| self.err(&format!("counting {table}"), e))?;
        Ok(n.unwrap_or(0))
    }

    /// The smallest and largest value of integer column `column` among `query`'s rows,
    /// as decimal text; `None` when there are no rows.
    pub fn int_key_bounds(
        &mut self,
        query: &SourceQuery,
        column: &str,
        table: &str,
    ) -> Result<Option<(String, String)>> {
        let q = quote_ident(column);
        let (sql, p) = query.aggregate_sql(&format!(
            "CAST(MIN({q}) AS DECIMAL(20,0)), CAST(MAX({q}) AS DECIMAL(20,0))"
        ));
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .exec_first(sql, params(p))
            .map_err(|e| self.err(&format!("reading the key range of {table}"), e))?;
        Ok(match row {
            Some((Some(lo), Some(hi))) => Some((lo, hi)),
            _ => None,
        })
    }

    /// The first key column's value at row `offset` of `query` in key order; `None`
    /// past the end (or NULL).
    pub fn key_at(
        &mut self,
        query: &SourceQuery,
        offset: u64,
        table: &str,
    ) -> Result<Option<Value>> {
        let (sql, p) = query.key_at_sql(offset);
        let at: Option<Value> = self
            .conn
            .exec_first(sql, params(p))
            .map_err(|e| self.err(&format!("splitting {table} into key ranges"), e))?;
        Ok(at.filter(|v| *v != Value::NULL))
    }
}
