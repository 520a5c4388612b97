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
    /// The row is set aside in the rejects file (`on_error = "reject"`) where it would
    /// fail.
    Reject,
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
            Action::Reject => "reject",
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
    if let (true, Some((unique, other))) = (look.existing_is_other, &look.other) {
        notes.push(format!(
            "target now: the different row {other}, met through `{unique}`"
        ));
    }
    let facts = Facts {
        key,
        // The row with the key; `look.existing` may be the different row met instead.
        existing: look.existing.is_some() && !look.existing_is_other,
        changed: look
            .differs
            .iter()
            .zip(mapped.iter().chain(std::iter::repeat(&true)))
            .filter(|(d, m)| **d && (**m || mode != Mode::Upsert))
            .count(),
        conflict: look.other.as_ref().map(|(unique, other)| Conflict {
            unique,
            other,
            note: if accept_conflicts {
                "the copy accepts this (accept = {\"unique_conflicts\"}): counted in \
                 `conflicts`"
            } else {
                "the copy stops at this row (a unique conflict) unless it says accept = \
                 {\"unique_conflicts\"}"
            },
        }),
        unwritten,
        unique_keys: look.unique_keys,
    };
    let (action, why) = match mode {
        Mode::Insert => insert(&facts, &mut notes),
        Mode::Overwrite => overwrite(&facts, &mut notes),
        Mode::Upsert => upsert(&facts, &mut notes),
    };
    Decision { action, why, notes }
}

/// What a decision is made from.
struct Facts<'a> {
    key: &'a str,
    /// The target has a row with the key.
    existing: bool,
    /// Written columns (mapped ones for upsert) whose values differ from that row's.
    changed: usize,
    conflict: Option<Conflict<'a>>,
    unwritten: Vec<String>,
    unique_keys: usize,
}

/// A different target row met through another unique key, and what the copy does
/// about such rows.
struct Conflict<'a> {
    unique: &'a str,
    other: &'a str,
    note: &'static str,
}

fn insert(f: &Facts, notes: &mut Vec<String>) -> (Action, String) {
    let key = f.key;
    match (&f.conflict, f.existing) {
        (_, true) => (
            Action::Ignore,
            format!("the target has a row with {key}: insert mode leaves it as it is (IGNORE)"),
        ),
        (Some(c), false) => {
            notes.push(c.note.into());
            (
                Action::Ignore,
                format!(
                    "a different target row, {}, has the same `{}`: insert mode drops this \
                     row (IGNORE)",
                    c.other, c.unique
                ),
            )
        }
        (None, false) => (
            Action::Insert,
            format!("a new row: the target has no {key}"),
        ),
    }
}

fn overwrite(f: &Facts, notes: &mut Vec<String>) -> (Action, String) {
    let key = f.key;
    if let Some(c) = &f.conflict {
        if f.existing {
            notes.push(format!(
                "REPLACE also deletes the different target row {}, which has the same `{}`",
                c.other, c.unique
            ));
        }
        notes.push(c.note.into());
    }
    match (&f.conflict, f.existing) {
        (Some(c), false) => (
            Action::Replace,
            format!(
                "{key} is new, but REPLACE first deletes the different target row {}, which \
                 has the same `{}`",
                c.other, c.unique
            ),
        ),
        (None, false) => (
            Action::Insert,
            format!("a new row: the target has no {key}"),
        ),
        (_, true) => {
            if !f.unwritten.is_empty() {
                notes.push(format!(
                    "columns the copy does not write are reset to their defaults: {}",
                    f.unwritten.join(", ")
                ));
            }
            if f.changed == 0 && f.unwritten.is_empty() && f.unique_keys == 1 {
                (
                    Action::Unchanged,
                    format!("the target row {key} already holds these values"),
                )
            } else {
                (
                    Action::Replace,
                    format!(
                        "REPLACE deletes the target row {key} and inserts this one; {}",
                        columns(f.changed)
                    ),
                )
            }
        }
    }
}

fn upsert(f: &Facts, notes: &mut Vec<String>) -> (Action, String) {
    let key = f.key;
    match (&f.conflict, f.existing) {
        (conflict, true) => {
            if let Some(c) = conflict {
                notes.push(format!(
                    "it also meets the different target row {} through `{}`",
                    c.other, c.unique
                ));
                notes.push(c.note.into());
            }
            if f.changed == 0 {
                (
                    Action::Unchanged,
                    format!("the target row {key} already holds these values"),
                )
            } else {
                (
                    Action::Update,
                    format!("the target row {key} is updated; {}", columns(f.changed)),
                )
            }
        }
        (Some(c), false) => {
            notes.push(c.note.into());
            (
                Action::Update,
                format!(
                    "{key} is new, but the different target row {} has the same `{}`: \
                     upsert rewrites that row, its key included; {}",
                    c.other,
                    c.unique,
                    columns(f.changed)
                ),
            )
        }
        (None, false) => (
            Action::Insert,
            format!("a new row: the target has no {key}"),
        ),
    }
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
