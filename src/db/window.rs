//! The SQL of an incremental copy's window on its `since` column: the condition from
//! the last run's mark (less an `Overlap`), the column's maximum as a run starts, and
//! the bound up to it. The engine (`engine::window`) decides the window; this says it
//! to the server.

use mysql::prelude::Queryable;

use crate::db::keylist::literal;
use crate::db::read::{params, SourceQuery};
use crate::db::schema::quote_ident;
use crate::db::{Db, Value};
use crate::error::Result;

/// `since_overlap`: a window below the mark.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlap {
    /// A number subtracted from the mark (integer or decimal columns), or seconds for
    /// a temporal column.
    Amount(String),
    /// `N UNIT` (`SECOND`, `MINUTE`, `HOUR`, `DAY`, `WEEK`) for a temporal column.
    Interval(u64, &'static str),
}

/// `column >= mark` (less the overlap), with its parameter.
pub fn from_mark(
    column: &str,
    mark: &str,
    overlap: Option<&Overlap>,
    temporal: bool,
) -> (String, Vec<Value>) {
    (
        format!(
            "{} >= {}",
            quote_ident(column),
            bound("?", overlap, temporal)
        ),
        vec![Value::from(mark)],
    )
}

/// `column >= mark` (less the overlap) as one SQL condition, the mark written in as a
/// literal: for queries that take a row filter as text (`ferry check`'s scans).
pub fn from_mark_literal(
    column: &str,
    mark: &str,
    overlap: Option<&Overlap>,
    temporal: bool,
) -> String {
    let mark = literal(&Value::from(mark));
    format!(
        "{} >= {}",
        quote_ident(column),
        bound(&mark, overlap, temporal)
    )
}

/// The window's lower bound: the mark `at` (a placeholder or a literal), less the
/// overlap.
fn bound(at: &str, overlap: Option<&Overlap>, temporal: bool) -> String {
    match (overlap, temporal) {
        (None, _) => at.to_string(),
        (Some(Overlap::Amount(n)), false) => format!("CAST({at} AS DECIMAL(65,30)) - {n}"),
        (Some(Overlap::Amount(n)), true) => {
            format!("CAST({at} AS DATETIME(6)) - INTERVAL {n} SECOND")
        }
        (Some(Overlap::Interval(n, unit)), _) => {
            format!("CAST({at} AS DATETIME(6)) - INTERVAL {n} {unit}")
        }
    }
}

/// Narrows `query` to rows whose `column` is at most `mark`, and to those where it is
/// NULL too when `nulls`; with no mark, to the NULLs alone (or to nothing).
pub fn up_to_mark(query: &mut SourceQuery, column: &str, mark: Option<&str>, nulls: bool) {
    let col = quote_ident(column);
    let upto = |m: &str| vec![Value::from(m)];
    match (mark, nulls) {
        (Some(m), false) => query.and(format!("{col} <= ?"), upto(m)),
        (Some(m), true) => query.and(format!("({col} <= ? OR {col} IS NULL)"), upto(m)),
        (None, true) => query.and(format!("{col} IS NULL"), vec![]),
        (None, false) => query.and("FALSE".into(), vec![]),
    }
}

impl Db {
    /// The largest value of `column` among `query`'s rows, as text (`None`: no rows,
    /// or only NULLs); `table` names them in messages.
    pub fn column_max(
        &mut self,
        query: &SourceQuery,
        column: &str,
        table: &str,
    ) -> Result<Option<String>> {
        let (sql, p) = query.aggregate_sql(&format!("CAST(MAX({}) AS CHAR)", quote_ident(column)));
        let max: Option<Option<String>> = self
            .conn
            .exec_first(sql, params(p))
            .map_err(|e| self.err(&format!("reading MAX({column}) of {table}"), e))?;
        Ok(max.flatten())
    }
}
