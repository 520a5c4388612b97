//! What a mode does with one row, from what the target holds for it (`Outlook`): the
//! action (insert, ignore, replace, update, unchanged), why, in a sentence, and notes
//! (a different row a unique key meets, columns a REPLACE resets); and the mark each
//! column gets. The rules are docs/guide/modes.md's; docs/guide/explain.md lists them.

use serde::Serialize;

use crate::db::write::{Mode, Outlook};

/// What the copy would do with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new row.
    Insert,
    /// The row is not written (insert mode, its key or another unique key taken).
    Ignore,
    /// The target row is deleted and this one inserted (overwrite).
    Replace,
    /// The target row's mapped columns are set (upsert).
    Update,
    /// The target row is already as given.
    Unchanged,
    /// The transform drops the row.
    Skip,
    /// The copy stops at this row (its row code fails, or a value would not fit).
    Fail,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Insert => "insert",
            Action::Ignore => "ignore",
            Action::Replace => "replace",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Skip => "skip",
            Action::Fail => "fail",
        }
    }
}

/// The action for a row, why, and notes.
pub struct Decision {
    pub action: Action,
    pub why: String,
    pub notes: Vec<String>,
}

/// What `mode` does with a row whose resolving key is `key` (`id=3`), given what the
/// target holds; `mapped`: per written column, whether it is mapped (upsert updates
/// only those); `unwritten`: the target columns the copy leaves to the server.
pub fn decide(
    mode: Mode,
    look: &Outlook,
    accept_conflicts: bool,
    key: &str,
    mapped: &[bool],
    unwritten: Vec<String>,
) -> Decision {
    let mut notes = Vec::new();
    let Some((key_name, _)) = &look.key else {
        return Decision {
            action: Action::Insert,
            why: "a new row: the copy writes no unique key of the target whole, so every \
                  row is a new one"
                .into(),
            notes,
        };
    };
    if look.key_unreadable {
        notes.push(format!(
            "key `{key_name}` is written by an SQL default, so the target row it names cannot \
             be looked up ahead"
        ));
    }
    // The row with the key; `look.existing` may be the different row met instead.
    let existing = look.existing.as_ref().filter(|_| !look.existing_is_other);
    if let (true, Some((unique, other))) = (look.existing_is_other, &look.other) {
        notes.push(format!(
            "target now: the different row {other}, met through `{unique}`"
        ));
    }
    let changed = look
        .differs
        .iter()
        .zip(mapped.iter().chain(std::iter::repeat(&true)))
        .filter(|(d, m)| **d && (**m || mode != Mode::Upsert))
        .count();
    let conflict = look.other.as_ref().map(|(unique, other)| {
        let note = if accept_conflicts {
            "the copy accepts this (accept = {\"unique_conflicts\"}): counted in `conflicts`"
                .to_string()
        } else {
            "the copy stops at this row (a unique conflict) unless it says accept = \
             {\"unique_conflicts\"}"
                .to_string()
        };
        (unique.clone(), other.clone(), note)
    });
    let (action, why) = match (mode, existing, &conflict) {
        (Mode::Insert, Some(_), _) => (
            Action::Ignore,
            format!("the target has a row with {key}: insert mode leaves it as it is (IGNORE)"),
        ),
        (Mode::Insert, None, Some((unique, other, note))) => {
            notes.push(note.clone());
            (
                Action::Ignore,
                format!(
                    "a different target row, {other}, has the same `{unique}`: insert \
                     mode drops this row (IGNORE)"
                ),
            )
        }
        (Mode::Overwrite, existing, conflict) => {
            if let Some((unique, other, note)) = conflict {
                if existing.is_some() {
                    notes.push(format!(
                        "REPLACE also deletes the different target row {other}, which has \
                         the same `{unique}`"
                    ));
                }
                notes.push(note.clone());
            }
            match (existing, conflict) {
                (None, Some((unique, other, _))) => (
                    Action::Replace,
                    format!(
                        "{key} is new, but REPLACE first deletes the different target row \
                         {other}, which has the same `{unique}`"
                    ),
                ),
                (None, None) => (
                    Action::Insert,
                    format!("a new row: the target has no {key}"),
                ),
                (Some(_), _) => {
                    if !unwritten.is_empty() {
                        notes.push(format!(
                            "columns the copy does not write are reset to their defaults: {}",
                            unwritten.join(", ")
                        ));
                    }
                    if changed == 0 && unwritten.is_empty() && look.unique_keys == 1 {
                        (
                            Action::Unchanged,
                            format!("the target row {key} already holds these values"),
                        )
                    } else {
                        (
                            Action::Replace,
                            format!(
                                "REPLACE deletes the target row {key} and inserts this one; {}",
                                columns(changed)
                            ),
                        )
                    }
                }
            }
        }
        (Mode::Upsert, Some(_), conflict) => {
            if let Some((unique, other, note)) = conflict {
                notes.push(format!(
                    "it also meets the different target row {other} through `{unique}`"
                ));
                notes.push(note.clone());
            }
            if changed == 0 {
                (
                    Action::Unchanged,
                    format!("the target row {key} already holds these values"),
                )
            } else {
                (
                    Action::Update,
                    format!("the target row {key} is updated; {}", columns(changed)),
                )
            }
        }
        (Mode::Upsert, None, Some((unique, other, note))) => {
            notes.push(note.clone());
            (
                Action::Update,
                format!(
                    "{key} is new, but the different target row {other} has the same \
                     `{unique}`: upsert rewrites that row, its key included; {}",
                    columns(changed)
                ),
            )
        }
        (_, None, None) => (
            Action::Insert,
            format!("a new row: the target has no {key}"),
        ),
    };
    Decision { action, why, notes }
}

fn columns(n: usize) -> String {
    match n {
        0 => "no written column changes".into(),
        1 => "1 column changes".into(),
        n => format!("{n} columns change"),
    }
}

/// A column's mark: `mapped` is `Some` for a column the copy writes (true when mapped,
/// which upsert updates), `None` for one it leaves to the server.
pub fn mark(action: Action, mapped: Option<bool>, differs: bool) -> &'static str {
    match (action, mapped) {
        (Action::Ignore, Some(_)) if differs => "differs, kept",
        (Action::Replace, Some(_)) if differs => "changed",
        (Action::Replace, None) => "reset to default",
        (Action::Update, Some(true)) if differs => "changed",
        (Action::Update | Action::Unchanged, Some(false)) if differs => "kept",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(existing: bool, differs: Vec<bool>, other: bool, unique_keys: usize) -> Outlook {
        Outlook {
            statement: String::new(),
            key: Some(("PRIMARY".into(), vec!["id".into()])),
            key_unreadable: false,
            existing: existing.then(Vec::new),
            existing_is_other: false,
            differs,
            other: other.then(|| ("email".into(), "id=7".into())),
            unique_keys,
        }
    }

    fn action(mode: Mode, l: &Outlook, unwritten: &[&str]) -> Action {
        let unwritten = unwritten.iter().map(|s| s.to_string()).collect();
        decide(mode, l, false, "id=3", &[true], unwritten).action
    }

    #[test]
    fn every_mode_answers_as_modes_md_says() {
        let new = look(false, vec![false], false, 1);
        let same = look(true, vec![false], false, 1);
        let changed = look(true, vec![true], false, 1);
        let other = look(false, vec![false], true, 2);
        assert_eq!(action(Mode::Insert, &new, &[]), Action::Insert);
        assert_eq!(action(Mode::Insert, &changed, &[]), Action::Ignore);
        assert_eq!(action(Mode::Insert, &other, &[]), Action::Ignore);
        assert_eq!(action(Mode::Overwrite, &new, &[]), Action::Insert);
        assert_eq!(action(Mode::Overwrite, &same, &[]), Action::Unchanged);
        assert_eq!(action(Mode::Overwrite, &same, &["note"]), Action::Replace);
        assert_eq!(action(Mode::Overwrite, &changed, &[]), Action::Replace);
        assert_eq!(action(Mode::Overwrite, &other, &[]), Action::Replace);
        assert_eq!(action(Mode::Upsert, &same, &[]), Action::Unchanged);
        assert_eq!(action(Mode::Upsert, &changed, &[]), Action::Update);
        assert_eq!(action(Mode::Upsert, &other, &[]), Action::Update);
        let d = decide(Mode::Overwrite, &other, false, "id=3", &[true], Vec::new());
        assert_eq!(d.action, Action::Replace);
        let unmapped = decide(
            Mode::Upsert,
            &look(true, vec![true], false, 1),
            false,
            "id=3",
            &[false],
            Vec::new(),
        );
        assert_eq!(
            unmapped.action,
            Action::Unchanged,
            "upsert leaves a default column as it is"
        );
        assert!(
            d.why
                .contains("first deletes the different target row id=7"),
            "{}",
            d.why
        );
        assert!(d.notes[0].contains("unique_conflicts"));
        let mut keyless = new.clone();
        keyless.key = None;
        assert_eq!(action(Mode::Upsert, &keyless, &[]), Action::Insert);
    }

    #[test]
    fn marks_follow_the_action() {
        assert_eq!(mark(Action::Update, Some(true), true), "changed");
        assert_eq!(mark(Action::Update, Some(false), true), "kept");
        assert_eq!(mark(Action::Ignore, Some(true), true), "differs, kept");
        assert_eq!(mark(Action::Replace, None, false), "reset to default");
        assert_eq!(mark(Action::Insert, Some(true), true), "");
    }
}
