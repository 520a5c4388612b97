//! What in the target could change or lose the rows a copy writes: triggers that fire
//! for its statements, and a target key whose collation is coarser than the source's.
//! Each is a problem unless the copy accepts it by name (`accept = {...}`), else a
//! warning.

use super::{CopySpec, Fill, Mode, TargetColumn};
use crate::db::schema::TableInfo;

/// Whether a trigger on `event` fires for the statements of `mode`: INSERT IGNORE
/// fires INSERT triggers; REPLACE, INSERT and (for a row it replaces) DELETE triggers;
/// INSERT ... ON DUPLICATE KEY UPDATE, INSERT and (for a row it updates) UPDATE triggers.
pub fn trigger_fires(mode: Mode, event: &str) -> bool {
    match event.to_ascii_uppercase().as_str() {
        "INSERT" => true,
        "DELETE" => mode == Mode::Overwrite,
        "UPDATE" => mode == Mode::Upsert,
        _ => false,
    }
}

/// The target's triggers that fire for this copy's writes: a BEFORE INSERT or BEFORE
/// UPDATE trigger may change the row ferry writes, so it is a problem unless the copy
/// accepts it (`accept = {"triggers"}`); the others (AFTER, and DELETE triggers of
/// REPLACE) write elsewhere once per row, and are named among the plan's warnings.
pub(super) fn trigger_hazards(
    spec: &CopySpec,
    target: &TableInfo,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let firing: Vec<&crate::db::schema::TriggerInfo> = target
        .triggers
        .iter()
        .filter(|t| trigger_fires(spec.mode, &t.event))
        .collect();
    let (rewriting, others): (Vec<_>, Vec<_>) = firing
        .into_iter()
        .partition(|t| t.is_before() && !t.event.eq_ignore_ascii_case("DELETE"));
    let list = |ts: &[&crate::db::schema::TriggerInfo]| {
        ts.iter()
            .map(|t| t.describe())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let table = format!("{}.{}", target.database, target.name);
    if !rewriting.is_empty() {
        if spec.accept.triggers {
            warnings.push(format!(
                "target table {table} has triggers that may change the rows this copy \
                 writes (accepted): {}",
                list(&rewriting)
            ));
        } else {
            problems.push(format!(
                "target table {table} has triggers that may change the rows this copy \
                 writes (mode {}): {}; drop them for the copy and create them again \
                 after it (as tools that load whole databases do), or accept them with \
                 `accept = {{\"triggers\"}}`",
                spec.mode.name(),
                list(&rewriting)
            ));
        }
    }
    if !others.is_empty() {
        warnings.push(format!(
            "target table {table} has triggers that fire for the rows this copy \
             writes (mode {}): {}",
            spec.mode.name(),
            list(&others)
        ));
    }
}

/// The target key the mode resolves rows on (the primary key when the copy writes all
/// of it, else the first unique key it writes all of) must tell apart every key the
/// source does (see `collation`); a coarser collation is a problem unless accepted
/// (`accept = {"key_collation"}`).
pub(super) fn key_collation_hazards(
    spec: &CopySpec,
    columns: &[TargetColumn],
    source: &TableInfo,
    target: &TableInfo,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let written = |c: &String| columns.iter().any(|t| &t.name == c);
    let Some(key) = target
        .indexes
        .iter()
        .find(|i| i.name == "PRIMARY" && i.columns.iter().all(written))
        .or_else(|| {
            target
                .indexes
                .iter()
                .find(|i| i.unique && i.columns.iter().all(written))
        })
    else {
        return;
    };
    let why: Vec<String> = key
        .columns
        .iter()
        .filter_map(|name| {
            let t = target.column(name)?;
            let Fill::Source(i) = columns.iter().find(|c| &c.name == name)?.fill else {
                return None;
            };
            crate::plan::collation::coarser(&source.columns[i], t)
        })
        .collect();
    if why.is_empty() {
        return;
    }
    let effect = match spec.mode {
        Mode::Insert => "the second would be ignored",
        Mode::Overwrite => "the second would replace the first",
        Mode::Upsert => "the second would update the first",
    };
    let text = format!(
        "the target's key `{}` may not tell apart keys the source does: {}; two source rows \
         whose keys differ only in letter case, accents or trailing spaces would be one row \
         in {}.{} ({effect})",
        key.name,
        why.join("; "),
        target.database,
        target.name
    );
    if spec.accept.key_collation {
        warnings.push(format!("{text} (accepted)"));
    } else {
        problems.push(format!(
            "{text}; give the target column the source's collation, or accept it with \
             `accept = {{\"key_collation\"}}`"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_fire_by_mode() {
        assert!(trigger_fires(Mode::Insert, "INSERT"));
        assert!(!trigger_fires(Mode::Insert, "UPDATE"));
        assert!(!trigger_fires(Mode::Insert, "DELETE"));
        assert!(trigger_fires(Mode::Overwrite, "DELETE"));
        assert!(!trigger_fires(Mode::Overwrite, "UPDATE"));
        assert!(trigger_fires(Mode::Upsert, "UPDATE"));
        assert!(!trigger_fires(Mode::Upsert, "DELETE"));
    }
}
