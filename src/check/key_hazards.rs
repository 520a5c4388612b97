//! The findings of `ferry check`'s key scan (`keys`) as report entries: rows meeting
//! another on a unique key, the rows an overwrite replaces (with the tables whose
//! foreign keys point at them), foreign keys without a parent row; and which source
//! columns feed a target key, and the target's foreign keys to probe.

use super::report::{CopyCheck, Example, Hazard};
use super::EXAMPLES;
use crate::db::check_keys::{KeyCol, Reference};
use crate::db::schema::{ColumnInfo, IndexInfo, TableInfo};
use crate::db::Db;
use crate::error::Result;
use crate::plan::{CopyPlan, Fill};

/// The source column that feeds target column `name` as it is, if one does.
pub(super) fn fed_by<'a>(plan: &'a CopyPlan, name: &str) -> Option<&'a ColumnInfo> {
    plan.columns
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| match c.fill {
            Fill::Source(i) => plan.source.columns.get(i),
            _ => None,
        })
}

pub(super) fn collation_of(c: Option<&ColumnInfo>) -> Option<(String, String)> {
    let c = c?;
    Some((c.charset.clone()?, c.collation.clone()?))
}

/// Target columns `cols` of `target` with the source columns that feed them; `None`
/// when one is not fed by a source column as it is.
pub(super) fn key_cols(
    plan: &CopyPlan,
    target: &TableInfo,
    cols: &[String],
) -> Option<Vec<KeyCol>> {
    cols.iter()
        .map(|c| {
            Some(KeyCol {
                source: fed_by(plan, c)?.name.clone(),
                target: c.clone(),
                collation: collation_of(target.column(c)),
            })
        })
        .collect()
}

/// A count and the first examples of one probe.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) rows: u64,
    pub(super) examples: Vec<Example>,
}

impl Tally {
    pub(super) fn add(&mut self, key: impl FnOnce() -> String, value: impl FnOnce() -> String) {
        self.rows += 1;
        if self.examples.len() < EXAMPLES as usize {
            self.examples.push(Example {
                key: key(),
                value: value(),
            });
        }
    }
}

/// A foreign key of the target table probed against its parent rows.
pub(super) struct Parent {
    pub(super) fk: Reference,
    /// The child's key columns (the target table's), fed by the source.
    pub(super) cols: Vec<KeyCol>,
    /// The parent table's columns as the target compares them.
    pub(super) parent_cols: Vec<KeyCol>,
    /// Copies of the job into the parent table: their plan and the source columns
    /// that feed the parent's key columns.
    pub(super) copies: Vec<(usize, Vec<String>)>,
    /// The parent table exists in the target (a job may create it when it runs).
    pub(super) exists: bool,
    pub(super) tally: Tally,
}

pub(super) fn unique_hazard(
    index: &IndexInfo,
    scope: &str,
    rows: u64,
    examples: Vec<Example>,
    effect: &str,
    accepted: bool,
) -> Hazard {
    let mut h = Hazard::about(
        "unique_conflicts",
        &index.columns.join(","),
        &format!("unique key `{}` ({scope})", index.name),
        rows,
        format!(
            "make the values of `{}` unique in the source{}, or drop the unique key on the \
             target, or let the copy accept such rows (accept = {{\"unique_conflicts\"}})",
            index.columns.join(", "),
            if scope == "target rows" {
                " and the target"
            } else {
                ""
            }
        ),
    );
    h.blocking = !accepted;
    h.accepted = accepted;
    h.examples = examples;
    h.effect = Some(effect.to_string());
    h
}

/// The note of an overwrite's replaced rows, with the tables whose foreign keys point
/// at the target table.
pub(super) fn replaced_hazard(
    dst: &mut Db,
    plan: &CopyPlan,
    rk: &[String],
    t: Tally,
) -> Result<Hazard> {
    let children = if dst.database() == plan.target.database {
        dst.references(&plan.target.name, true)?
    } else {
        Vec::new()
    };
    let listed: Vec<String> = children
        .iter()
        .map(|c| {
            format!(
                "{}({}) via `{}` ON DELETE {}",
                c.table,
                c.columns.join(", "),
                c.name,
                c.on_delete
            )
        })
        .collect();
    let mut h = Hazard::about(
        "replace",
        &rk.join(","),
        "the key overwrite resolves on",
        t.rows,
        if listed.is_empty() {
            "none needed: overwrite replaces these rows by design (use insert to keep them)".into()
        } else {
            format!(
                "none needed if the child rows may keep pointing at the replaced rows: \
                 ferry's target session does not check foreign keys, so a replaced row is \
                 deleted and inserted again without any ON DELETE action on {}; use upsert \
                 to update the rows in place",
                listed.join(", ")
            )
        },
    );
    h.blocking = false;
    h.examples = t.examples;
    h.effect = Some(format!(
        "overwrite: each of these target rows is deleted and the source row inserted{}",
        if listed.is_empty() {
            String::new()
        } else {
            format!("; tables referencing them: {}", listed.join(", "))
        }
    ));
    Ok(h)
}

/// The target table's foreign keys whose columns the source feeds, with how the
/// target compares the parent's columns and the job's copies into the parent table.
pub(super) fn parents(
    dst: &mut Db,
    plan: &CopyPlan,
    plans: &[CopyPlan],
    out: &mut CopyCheck,
) -> Result<Vec<Parent>> {
    if dst.database() != plan.target.database {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    out.target_queries += 1;
    for fk in dst.references(&plan.target.name, false)? {
        let Some(cols) = key_cols(plan, &plan.target, &fk.columns) else {
            out.notes.push(format!(
                "not scanned: foreign key `{}` ({}) takes a column the source does not feed \
                 as it is",
                fk.name,
                fk.columns.join(", ")
            ));
            continue;
        };
        let parent = if fk.parent == plan.target.name && fk.parent_database == plan.target.database
        {
            Some(plan.target.clone())
        } else if fk.parent_database == dst.database() {
            dst.table_info(&fk.parent)?
        } else {
            None
        };
        let exists = parent.is_some() || dst.table_exists(&fk.parent_database, &fk.parent)?;
        let parent_cols = fk
            .parent_columns
            .iter()
            .map(|c| KeyCol {
                source: c.clone(),
                target: c.clone(),
                collation: collation_of(parent.as_ref().and_then(|p| p.column(c))),
            })
            .collect();
        let copies: Vec<(usize, Vec<String>)> = plans
            .iter()
            .enumerate()
            .filter(|(_, p)| p.target.name == fk.parent && p.target.database == fk.parent_database)
            .filter_map(|(j, p)| {
                let cols: Option<Vec<String>> = fk
                    .parent_columns
                    .iter()
                    .map(|c| fed_by(p, c).map(|s| s.name.clone()))
                    .collect();
                cols.map(|c| (j, c))
            })
            .collect();
        if !exists && copies.is_empty() {
            out.notes.push(format!(
                "not scanned: foreign key `{}` references {}, which the target does not have \
                 (yet) and the job does not copy",
                fk.name, fk.parent
            ));
            continue;
        }
        found.push(Parent {
            fk,
            cols,
            parent_cols,
            copies,
            exists,
            tally: Tally::default(),
        });
    }
    Ok(found)
}
