//! An incremental copy's window on its `since` column (`Since`, `Overlap`): rows from
//! the last run's mark (less the overlap) up to the column's maximum as this run
//! starts, which becomes the next run's mark.

use crate::db::Value;
use mysql::prelude::Queryable;

use crate::db::read::{params, SourceQuery};
use crate::db::schema::quote_ident;
use crate::db::state::CopyState;
use crate::db::Role;
use crate::error::Result;
use crate::plan::CopyPlan;

use super::control::Control;

/// An incremental copy's window on its `since` column.
#[derive(Debug, Clone)]
pub struct Since {
    pub column: String,
    /// The last run's mark: rows at it or above it are read (`None`: all rows).
    pub after: Option<String>,
    /// How far below the mark to read again, for rows whose transactions committed
    /// after the last run read past their value (`since_overlap`).
    pub overlap: Option<Overlap>,
}

/// `since_overlap`: a window below the mark.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlap {
    /// A number subtracted from the mark (integer or decimal columns), or seconds for
    /// a temporal column.
    Amount(String),
    /// `N UNIT` (`SECOND`, `MINUTE`, `HOUR`, `DAY`, `WEEK`) for a temporal column.
    Interval(u64, &'static str),
}

impl Since {
    /// `col >= mark` (less the overlap), with its parameter; `None` with no mark.
    fn condition(&self, temporal: bool) -> Option<(String, Vec<Value>)> {
        let after = self.after.as_ref()?;
        let col = quote_ident(&self.column);
        let bound = match (&self.overlap, temporal) {
            (None, _) => "?".to_string(),
            (Some(Overlap::Amount(n)), false) => format!("CAST(? AS DECIMAL(65,30)) - {n}"),
            (Some(Overlap::Amount(n)), true) => {
                format!("CAST(? AS DATETIME(6)) - INTERVAL {n} SECOND")
            }
            (Some(Overlap::Interval(n, unit)), _) => {
                format!("CAST(? AS DATETIME(6)) - INTERVAL {n} {unit}")
            }
        };
        Some((
            format!("{col} >= {bound}"),
            vec![Value::from(after.as_str())],
        ))
    }
}

/// The incremental window: rows past the last run's mark, up to the column's maximum
/// now (rows changed while this run goes are the next run's). Narrows `query` to it
/// and returns its top, the next run's mark.
pub(super) fn window(
    control: &mut Control,
    plan: &CopyPlan,
    since: &Since,
    resume: Option<&CopyState>,
    query: &mut SourceQuery,
) -> Result<Option<String>> {
    let col = quote_ident(&since.column);
    let temporal = plan
        .source
        .column(&since.column)
        .is_some_and(|c| c.kind().is_temporal());
    let from = since.condition(temporal);
    let next_mark = match resume.and_then(|s| s.next_mark.clone()) {
        Some(m) => Some(m),
        None => {
            let mut q = query.clone();
            if let Some((cond, p)) = from.clone() {
                q.and(cond, p);
            }
            let (sql, p) = q.aggregate_sql(&format!("CAST(MAX({col}) AS CHAR)"));
            let src = control.get(Role::Source)?;
            let max: Option<Option<String>> =
                src.conn().exec_first(sql, params(p)).map_err(|e| {
                    src.err(
                        &format!("reading MAX({}) of {}", since.column, plan.source.name),
                        e,
                    )
                })?;
            max.flatten().or(since.after.clone())
        }
    };
    if let Some((cond, p)) = from {
        query.and(cond, p);
    }
    // A run without a mark (the first, or --full) also reads the rows whose column is
    // NULL, which no mark can bound.
    let nulls = since.after.is_none();
    let upto = |m: &String| vec![Value::from(m.as_str())];
    match (&next_mark, nulls) {
        (Some(m), false) => query.and(format!("{col} <= ?"), upto(m)),
        (Some(m), true) => query.and(format!("({col} <= ? OR {col} IS NULL)"), upto(m)),
        (None, true) => query.and(format!("{col} IS NULL"), vec![]),
        (None, false) => query.and("FALSE".into(), vec![]),
    }
    if plan
        .source
        .column(&since.column)
        .is_some_and(|c| c.nullable)
    {
        log::warn!(
            "copy {}: `since` column {} is nullable: rows where it is NULL are read only by \
             a run without a mark (the first, or --full)",
            plan.name,
            since.column
        );
    }
    let overlap = match &since.overlap {
        Some(Overlap::Amount(n)) => format!(" less {n}"),
        Some(Overlap::Interval(n, u)) => format!(" less {n} {u}"),
        None => String::new(),
    };
    log::info!(
        "copy {}: incremental on {}: rows from {}{overlap} up to {}",
        plan.name,
        since.column,
        since.after.as_deref().unwrap_or("the start"),
        next_mark.as_deref().unwrap_or("(none)")
    );
    Ok(next_mark)
}
