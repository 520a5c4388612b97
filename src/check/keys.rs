//! `ferry check`'s keys: source rows that would meet another row on a target UNIQUE
//! key other than the one the mode resolves rows on (within the copy: one GROUP BY on
//! the source; against the target's rows: the source's key values streamed in batches
//! and joined to the target table there, so the target's collations decide), the
//! target rows an overwrite would replace and the tables whose foreign keys point at
//! them, and foreign keys of the target table whose parent row is neither in the target
//! nor among the rows the job copies into the parent table.

use std::collections::BTreeSet;

use super::key_hazards::{collation_of, key_cols, parents, replaced_hazard, unique_hazard, Tally};
use super::report::{CopyCheck, Example, Hazard};
use super::EXAMPLES;
use crate::db::check_keys::KeyCol;
use crate::db::schema::{IndexInfo, TableInfo};
use crate::db::value::{show_key, Kind};
use crate::db::{Db, Value};
use crate::error::Result;
use crate::plan::{CopyPlan, Mode};

/// Source rows per probe of the target.
const BATCH: usize = 500;

/// The key the mode resolves rows on, as the writer picks it: the primary key when
/// every column of it is written, else the first unique key all written.
fn resolving_key(plan: &CopyPlan) -> Option<&IndexInfo> {
    let written = |c: &String| plan.columns.iter().any(|t| &t.name == c);
    let idx = &plan.target.indexes;
    idx.iter()
        .find(|i| i.name == "PRIMARY" && i.columns.iter().all(written))
        .or_else(|| {
            idx.iter()
                .find(|i| i.unique && i.columns.iter().all(written))
        })
}

/// Whether the source holds no two rows with the same values in `cols` as the target
/// compares them: a unique key of the source on some of them, each text column with
/// the target's collation.
fn unique_in_source(plan: &CopyPlan, cols: &[KeyCol]) -> bool {
    let same_collation = cols
        .iter()
        .all(|c| collation_of(plan.source.column(&c.source)) == c.collation);
    same_collation
        && plan.source.indexes.iter().any(|i| {
            i.unique
                && i.columns
                    .iter()
                    .all(|s| cols.iter().any(|c| &c.source == s))
        })
}

/// What the mode does to a row that meets another on a unique key, (within the copy,
/// against the target's rows).
fn effects(mode: Mode) -> (&'static str, &'static str) {
    match mode {
        Mode::Insert => (
            "insert: the later of the source rows is refused (the run stops), or dropped \
             when the copy accepts unique_conflicts",
            "insert: the source row is refused (the run stops), or dropped when the copy \
             accepts unique_conflicts",
        ),
        Mode::Overwrite => (
            "overwrite: the later source row deletes the earlier one from the target",
            "overwrite: the source row deletes that other target row",
        ),
        Mode::Upsert => (
            "upsert: the later source row rewrites the earlier one, its key included",
            "upsert: the source row rewrites that other target row, its key included",
        ),
    }
}

fn kinds(table: &TableInfo, cols: &[String]) -> Vec<Kind> {
    cols.iter()
        .map(|c| table.column(c).map_or(Kind::Bytes, |c| c.kind()))
        .collect()
}

/// A unique key probed against the target.
struct Unique<'a> {
    index: &'a IndexInfo,
    cols: Vec<KeyCol>,
    tally: Tally,
}

/// The key findings of one copy, added to `out`. `plans` are every copy of the job
/// (a parent row may come from another copy); `src` and `dst` the job's sessions.
pub(super) fn check(
    src: &mut Db,
    dst: &mut Db,
    plan: &CopyPlan,
    plans: &[CopyPlan],
    out: &mut CopyCheck,
) -> Result<bool> {
    let target = &plan.target;
    out.target_queries += 1;
    if !dst.table_exists(&target.database, &target.name)? {
        // The job creates it: no row to meet, no key yet.
        return Ok(false);
    }
    let scanned = plan.scan_filter();
    let filter = scanned.as_deref();
    let source_key = plan.key_names();
    let rk = resolving_key(plan);
    let rk_cols = rk.and_then(|k| key_cols(plan, target, &k.columns));
    let (in_copy, against_target) = effects(plan.mode);
    let accepted = plan.accept.unique_conflicts;
    let label = |row: &[Value], at: &[usize]| -> String {
        let key: Vec<Value> = at.iter().map(|&j| row[j].clone()).collect();
        if key.is_empty() {
            "(no key)".to_string()
        } else {
            plan.row_label(Some(&key), 0)
        }
    };

    // Unique keys other than the mode's own, within the copy.
    let mut uniques = Vec::new();
    for index in target.indexes.iter().filter(|i| i.unique) {
        if rk.is_some_and(|k| k.name == index.name) {
            continue;
        }
        let Some(cols) = key_cols(plan, target, &index.columns) else {
            out.notes.push(format!(
                "not scanned: unique key `{}` ({}) takes a column the source does not feed \
                 as it is (a function, a transform or a default); a run refuses a row that \
                 meets another through it",
                index.name,
                index.columns.join(", ")
            ));
            continue;
        };
        if unique_in_source(plan, &cols) {
            uniques.push(Unique {
                index,
                cols,
                tally: Tally::default(),
            });
            continue;
        }
        let limit = EXAMPLES as usize;
        let dups = match src.key_duplicates(&plan.source, filter, &cols, &source_key, limit) {
            Ok(d) => d,
            // The source server may not know the target's collation (MySQL's
            // utf8mb4_0900_* on MariaDB): group in the source's own, and say so.
            Err(e) if cols.iter().any(|c| c.collation.is_some()) => {
                out.notes.push(format!(
                    "unique key `{}` grouped in the source's collations: the source server \
                     cannot compare in the target's ({e})",
                    index.name
                ));
                let plain: Vec<KeyCol> = cols
                    .iter()
                    .map(|c| KeyCol {
                        collation: None,
                        ..c.clone()
                    })
                    .collect();
                src.key_duplicates(&plan.source, filter, &plain, &source_key, limit)?
            }
            Err(e) => return Err(e),
        };
        out.queries += 1 + dups.groups.len() as u32 + u32::from(dups.rows > 0);
        if dups.rows > 0 {
            let names: Vec<String> = cols.iter().map(|c| c.source.clone()).collect();
            let src_kinds = kinds(&plan.source, &names);
            let examples = dups
                .groups
                .iter()
                .map(|(values, keys)| Example {
                    key: keys
                        .iter()
                        .map(|k| plan.row_label(Some(k), 0))
                        .collect::<Vec<_>>()
                        .join(", "),
                    value: show_key(&names, values, &src_kinds),
                })
                .collect();
            out.hazards.push(unique_hazard(
                index,
                "within the copy",
                dups.rows,
                examples,
                in_copy,
                accepted,
            ));
        }
        uniques.push(Unique {
            index,
            cols,
            tally: Tally::default(),
        });
    }

    if rk.is_some() && rk_cols.is_none() && !uniques.is_empty() {
        // Without the mode's own key a target row met cannot be told from the row
        // itself: no probe.
        out.notes.push(format!(
            "not probed against the target's rows: the key the mode resolves on (`{}`) \
             takes a column the source does not feed as it is",
            rk.map_or("", |k| k.name.as_str())
        ));
        uniques.clear();
    }
    let overwrite = plan.mode == Mode::Overwrite && rk_cols.is_some();
    // Nothing to meet in an empty target table.
    let target_empty =
        (overwrite || !uniques.is_empty()) && dst.is_empty_table(&target.database, &target.name)?;
    out.target_queries += u32::from(overwrite || !uniques.is_empty());
    let replaces = overwrite && !target_empty;
    if target_empty {
        uniques.clear();
    }
    let mut parents = parents(dst, plan, plans, out)?;
    if uniques.is_empty() && !replaces && parents.is_empty() {
        return Ok(true);
    }

    // One stream of the source: its key, the mode's key, the unique and foreign keys.
    let mut columns: Vec<String> = Vec::new();
    let at = |name: &str, columns: &mut Vec<String>| -> usize {
        columns.iter().position(|c| c == name).unwrap_or_else(|| {
            columns.push(name.to_string());
            columns.len() - 1
        })
    };
    let key_at: Vec<usize> = source_key.iter().map(|k| at(k, &mut columns)).collect();
    let rk_cols = rk_cols.unwrap_or_default();
    let rk_at: Vec<usize> = rk_cols
        .iter()
        .map(|k| at(&k.source, &mut columns))
        .collect();
    let unique_at: Vec<Vec<usize>> = uniques
        .iter()
        .map(|u| u.cols.iter().map(|k| at(&k.source, &mut columns)).collect())
        .collect();
    let parent_at: Vec<Vec<usize>> = parents
        .iter()
        .map(|p| p.cols.iter().map(|k| at(&k.source, &mut columns)).collect())
        .collect();
    log::info!(
        "copy {}: checking keys: {} unique key(s), {} foreign key(s){} against the target, \
         in one read of {} (~{} rows)",
        plan.name,
        uniques.len(),
        parents.len(),
        if replaces { ", rows replaced" } else { "" },
        plan.source.name,
        plan.source.estimated_rows
    );
    let mut replaced = Tally::default();
    let mut second: Option<Db> = None;
    if parents.iter().any(|p| !p.copies.is_empty()) {
        second = Some(src.reopen()?);
    }
    let rk_names: Vec<String> = rk_cols.iter().map(|k| k.target.clone()).collect();
    let rk_kinds = kinds(target, &rk_names);
    let (mut probes, mut asked) = (0u32, 0u32);
    let pick = |row: &[Value], at: &[usize]| -> Vec<Value> {
        at.iter().map(|&j| row[j].clone()).collect()
    };
    src.stream_batches(&plan.source, filter, &columns, BATCH, &mut |batch| {
        for (u, at) in uniques.iter_mut().zip(&unique_at) {
            let values: Vec<Vec<Value>> = batch
                .iter()
                .map(|r| [pick(r, at), pick(r, &rk_at)].concat())
                .collect();
            let met = dst.probe_rows(
                &target.database,
                &target.name,
                &u.cols,
                &rk_cols,
                &rk_names,
                &values,
            )?;
            probes += 1;
            let mut seen = BTreeSet::new();
            for (i, other) in met {
                if seen.insert(i) {
                    let names: Vec<String> = u.cols.iter().map(|c| c.target.clone()).collect();
                    u.tally.add(
                        || label(&batch[i], &key_at),
                        || {
                            format!(
                                "{} meets target row {}",
                                show_key(&names, &pick(&batch[i], at), &kinds(target, &names)),
                                show_key(&rk_names, &other, &rk_kinds)
                            )
                        },
                    );
                }
            }
        }
        if replaces {
            let values: Vec<Vec<Value>> = batch.iter().map(|r| pick(r, &rk_at)).collect();
            let met =
                dst.probe_rows(&target.database, &target.name, &rk_cols, &[], &[], &values)?;
            probes += 1;
            let mut seen = BTreeSet::new();
            for (i, _) in met {
                if seen.insert(i) {
                    replaced.add(
                        || label(&batch[i], &key_at),
                        || show_key(&rk_names, &pick(&batch[i], &rk_at), &rk_kinds),
                    );
                }
            }
        }
        for (p, at) in parents.iter_mut().zip(&parent_at) {
            // A NULL in a foreign key references nothing.
            let rows: Vec<usize> = (0..batch.len())
                .filter(|&i| at.iter().all(|&j| batch[i][j] != Value::NULL))
                .collect();
            let values: Vec<Vec<Value>> = rows.iter().map(|&i| pick(&batch[i], at)).collect();
            let found = if p.exists {
                probes += 1;
                dst.probe_rows(
                    &p.fk.parent_database,
                    &p.fk.parent,
                    &p.parent_cols,
                    &[],
                    &[],
                    &values,
                )?
            } else {
                Vec::new()
            };
            let found: BTreeSet<usize> = found.into_iter().map(|(i, _)| i).collect();
            let mut missing: Vec<usize> = (0..rows.len()).filter(|i| !found.contains(i)).collect();
            for (copy, cols) in &p.copies {
                if missing.is_empty() {
                    break;
                }
                let Some(db) = second.as_mut() else { break };
                let ask: Vec<Vec<Value>> = missing.iter().map(|&m| values[m].clone()).collect();
                let parent = &plans[*copy];
                let there: BTreeSet<usize> = db
                    .present_in(&parent.source, parent.scan_filter().as_deref(), cols, &ask)?
                    .into_iter()
                    .collect();
                asked += 1;
                missing = missing
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| !there.contains(k))
                    .map(|(_, &m)| m)
                    .collect();
            }
            let names: Vec<String> = p.cols.iter().map(|c| c.target.clone()).collect();
            for m in missing {
                let i = rows[m];
                p.tally.add(
                    || label(&batch[i], &key_at),
                    || show_key(&names, &values[m], &kinds(target, &names)),
                );
            }
        }
        Ok(true)
    })?;
    out.queries += 1 + asked;
    out.target_queries += probes;

    for u in uniques {
        if u.tally.rows > 0 {
            out.hazards.push(unique_hazard(
                u.index,
                "target rows",
                u.tally.rows,
                u.tally.examples,
                against_target,
                accepted,
            ));
        }
    }
    if replaced.rows > 0 {
        out.hazards
            .push(replaced_hazard(dst, plan, &rk_names, replaced)?);
    }
    for p in parents {
        if p.tally.rows > 0 {
            let column = p.fk.columns.join(",");
            let is_accepted = plan.accept.accepts_value("foreign_key", &column);
            let mut h = Hazard::about(
                "foreign_key",
                &column,
                &format!(
                    "foreign key `{}` -> {}({})",
                    p.fk.name,
                    p.fk.parent,
                    p.fk.parent_columns.join(", ")
                ),
                p.tally.rows,
                format!(
                    "copy the parent rows of {} first (or in the same job), or leave these \
                     rows out with the copy's `where`",
                    p.fk.parent
                ),
            );
            h.blocking = !is_accepted;
            h.accepted = is_accepted;
            h.examples = p.tally.examples;
            h.effect = Some(
                "the row would be written without its parent row: ferry's target session \
                 does not check foreign keys, so it would reference nothing"
                    .into(),
            );
            out.hazards.push(h);
        }
    }
    Ok(true)
}
