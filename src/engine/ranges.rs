//! Key ranges: a big copy is read and written as several ranges of its first key
//! column at once (`workers`), split evenly between the smallest and largest value of
//! an integer, by rows for any other type; each range becomes its own source query.

use std::time::Instant;

use crate::db::keyset::Op;
use crate::db::read::SourceQuery;
use crate::db::{Role, Value};
use crate::error::Result;
use crate::plan::CopyPlan;

use super::control::Control;

/// Rows per key range at least: smaller tables are read by one worker.
pub const MIN_RANGE_ROWS: u64 = 25_000;

/// Split points on the first key column for `workers` ranges: evenly between the
/// smallest and largest value of an integer, by rows for any other type.
pub(super) fn split(
    control: &mut Control,
    plan: &CopyPlan,
    query: &SourceQuery,
    workers: usize,
    total: u64,
) -> Result<Vec<Option<Vec<Value>>>> {
    let Some(key) = &plan.key else {
        return Ok(Vec::new());
    };
    if workers <= 1 {
        return Ok(Vec::new());
    }
    let col = &plan.source.columns[key[0]];
    if !col.data_type.ends_with("int") {
        let name = col.name.clone();
        return split_by_rows(control, plan, query, workers, total, &name);
    }
    let src = control.get(Role::Source)?;
    let Some((lo, hi)) = src.int_key_bounds(query, &col.name, &plan.source.name)? else {
        return Ok(Vec::new());
    };
    let (lo, hi): (i128, i128) = match (lo.parse(), hi.parse()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Ok(Vec::new()),
    };
    let span = hi - lo + 1;
    let n = (workers as i128).min(span.max(1));
    let mut splits = Vec::new();
    for i in 1..n {
        let at = lo + span * i / n;
        let v = if at < 0 {
            Value::Int(at as i64)
        } else if at > i64::MAX as i128 {
            Value::UInt(at as u64)
        } else {
            Value::Int(at as i64)
        };
        splits.push(Some(vec![v]));
    }
    Ok(splits)
}

/// Split points for a key whose first column is not an integer (text, bytes, dates,
/// decimals): the first column's value every `total / workers` rows in key order,
/// read with `LIMIT 1 OFFSET n` on the key's index (a walk over that many index
/// entries, far less than a worker's share of the copy). A value equal to the one
/// before is dropped, so ranges never overlap; `total` is an estimate, so a point
/// past the end is dropped too.
fn split_by_rows(
    control: &mut Control,
    plan: &CopyPlan,
    query: &SourceQuery,
    workers: usize,
    total: u64,
    column: &str,
) -> Result<Vec<Option<Vec<Value>>>> {
    let t = Instant::now();
    let src = control.get(Role::Source)?;
    let mut splits: Vec<Option<Vec<Value>>> = Vec::new();
    for i in 1..workers as u64 {
        let at = src.key_at(query, total * i / workers as u64, &plan.source.name)?;
        let Some(at) = at else {
            break;
        };
        if splits.last().and_then(|s| s.as_ref()).map(|s| &s[0]) != Some(&at) {
            splits.push(Some(vec![at]));
        }
    }
    log::info!(
        "copy {}: {} key ranges by rows on {column} (split in {:.2}s)",
        plan.name,
        splits.len() + 1,
        t.elapsed().as_secs_f64()
    );
    Ok(splits)
}

/// The source query of each key range: its first key column from the split before it
/// (included) up to the next (excluded), compared in the key's order.
pub(super) fn part_queries(
    query: &SourceQuery,
    splits: &[Option<Vec<Value>>],
) -> Result<Vec<SourceQuery>> {
    let nparts = splits.len() + 1;
    let mut queries = Vec::with_capacity(nparts);
    for part in 0..nparts {
        let mut q = query.clone();
        if let Some(Some(lo)) = part.checked_sub(1).map(|i| &splits[i]) {
            q.and_key(Op::Ge, &lo[0])?;
        }
        if let Some(Some(hi)) = splits.get(part) {
            q.and_key(Op::Lt, &hi[0])?;
        }
        queries.push(q);
    }
    Ok(queries)
}
