//! How a copy's rows cross from reader to writer (`RowPath`): decoded into values, or
//! undecoded, as the source's row packets made into bulk requests (see `raw`), and
//! whether a row's key can be read from its target row (so pages need not carry keys
//! to name a failing row).
//!
//! Rows cross undecoded into a MariaDB target written in bulk, read in key order: a
//! direct copy's always (its rows name themselves), a processed copy's when its
//! processor can hand rows back untouched, which are then written as read (a
//! transform that returns its row without setting a field). Not when a column pair
//! may narrow silently: those values are checked decoded (see `fit`). Not with
//! `on_error = "reject"` either: a rejected row's source values are kept decoded.

use crate::db::wire::RawSource;
use crate::db::write::Method;
use crate::db::Role;
use crate::error::Result;
use crate::plan::CopyPlan;

use super::config::{CopyTask, Processing};
use super::control::Control;

/// How a copy's rows cross.
#[derive(Default)]
pub(super) struct RowPath {
    /// Where each key column is in a target row, when every key column is written as
    /// is: for a direct copy, and for a processed one read undecoded (its untouched
    /// pages). Pages with such rows need not carry keys to name a row.
    pub key_in_row: Option<Vec<usize>>,
    /// What the readers make of undecoded rows: for a direct copy, the target values;
    /// for a processed one, every source column. `None`: rows are decoded as read.
    pub undecoded: Option<Vec<RawSource>>,
    /// Where the key columns are in the readers' undecoded rows.
    pub undecoded_key: Vec<usize>,
    /// For a processed copy read undecoded: where an untouched row's target values
    /// come from.
    pub untouched: Option<Vec<RawSource>>,
}

pub(super) fn decide(control: &mut Control, task: &CopyTask) -> Result<RowPath> {
    let plan = &task.plan;
    let bulk_target = task.method == Method::Bulk
        && plan.key.is_some()
        && control.get(Role::Target)?.is_mariadb();
    let path = match &task.processing {
        // Rows set aside are written to the rejects file as read: decoded, with keys.
        _ if task.rejects.is_some() || !task.emits.is_empty() => RowPath::default(),
        Processing::Direct(_) => direct(plan, bulk_target),
        Processing::Local(p) if bulk_target => {
            // Keys are read from the target rows of untouched pages.
            let untouched = p
                .untouched()
                .filter(|u| !narrowing(plan, &u.sources))
                .and_then(|u| u.key_in_row.clone().map(|at| (at, u.sources)));
            match untouched {
                Some((at, sources)) => RowPath {
                    key_in_row: Some(at),
                    undecoded: Some(
                        (0..plan.source.columns.len())
                            .map(RawSource::Column)
                            .collect(),
                    ),
                    undecoded_key: plan.key.clone().unwrap_or_default(),
                    untouched: Some(sources),
                },
                None => RowPath::default(),
            }
        }
        Processing::Local(_) => RowPath::default(),
    };
    if path.undecoded.is_some() {
        log::info!(
            "copy {}: rows cross undecoded (bulk requests built from the source's row packets)",
            plan.name
        );
    }
    Ok(path)
}

/// A direct copy's rows: undecoded into a bulk target, when their keys are in them.
fn direct(plan: &CopyPlan, bulk_target: bool) -> RowPath {
    let Some(map) = plan.column_map().direct() else {
        return RowPath::default();
    };
    let at = map.key_in_row.clone();
    let undecoded = bulk_target && !narrowing(plan, &map.sources);
    match &at {
        Some(k) if undecoded => RowPath {
            undecoded_key: k.clone(),
            key_in_row: at,
            undecoded: Some(map.sources.clone()),
            untouched: None,
        },
        _ => RowPath {
            key_in_row: at,
            ..RowPath::default()
        },
    }
}

/// Whether a column pair of rows made from `sources` may narrow silently (logged).
fn narrowing(plan: &CopyPlan, sources: &[RawSource]) -> bool {
    match super::fit::narrowing_pair(plan, sources) {
        Some(pair) => {
            log::info!(
                "copy {}: rows are decoded to check values that may not fit ({pair})",
                plan.name
            );
            true
        }
        None => false,
    }
}
