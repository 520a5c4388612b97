//! An incremental copy's window on its `since` column (`Since`, `Overlap`): rows from
//! the last run's mark (less the overlap) up to the column's maximum as this run
//! starts, which becomes the next run's mark.

use crate::db::read::SourceQuery;
use crate::db::state::CopyState;
use crate::db::window::{from_mark, from_mark_literal, up_to_mark};
use crate::db::Role;
use crate::db::Value;
use crate::error::Result;
use crate::plan::CopyPlan;

use super::control::Control;

/// `since_overlap`: a window below the mark (its SQL is `db::window`'s).
pub use crate::db::window::Overlap;

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

impl Since {
    /// The window as one SQL condition, for what reads ahead the rows a run of `plan`
    /// would read (`ferry check`): rows from the mark, less the overlap; `None` with no
    /// mark (every row, NULLs in the column included). The top, the column's maximum
    /// as the run starts, is not known yet and not needed.
    pub fn scan_condition(&self, plan: &CopyPlan) -> Option<String> {
        let after = self.after.as_ref()?;
        Some(from_mark_literal(
            &self.column,
            after,
            self.overlap.as_ref(),
            temporal(plan, &self.column),
        ))
    }

    /// `col >= mark` (less the overlap), with its parameter; `None` with no mark.
    fn condition(&self, temporal: bool) -> Option<(String, Vec<Value>)> {
        let after = self.after.as_ref()?;
        Some(from_mark(
            &self.column,
            after,
            self.overlap.as_ref(),
            temporal,
        ))
    }
}

/// Whether `plan`'s source column `column` holds dates or times.
fn temporal(plan: &CopyPlan, column: &str) -> bool {
    plan.source
        .column(column)
        .is_some_and(|c| c.kind().is_temporal())
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
    let from = since.condition(temporal(plan, &since.column));
    let next_mark = match resume.and_then(|s| s.next_mark.clone()) {
        Some(m) => Some(m),
        None => {
            let mut q = query.clone();
            if let Some((cond, p)) = from.clone() {
                q.and(cond, p);
            }
            let src = control.get(Role::Source)?;
            let max = src.column_max(&q, &since.column, &plan.source.name)?;
            max.or(since.after.clone())
        }
    };
    if let Some((cond, p)) = from {
        query.and(cond, p);
    }
    // A run without a mark (the first, or --full) also reads the rows whose column is
    // NULL, which no mark can bound.
    let nulls = since.after.is_none();
    up_to_mark(query, &since.column, next_mark.as_deref(), nulls);
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
