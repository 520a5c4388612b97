//! The stdlib modules the page's transforms call, and the name each is reached by.

use std::collections::BTreeSet;

use super::edits::JobEdits;
use super::parse::{JobText, StatementKind};

/// How each stdlib module a transform uses is reached: a local of the file, a local
/// this edit adds, or `require("ferry.M")` in place when the name is taken.
#[derive(Default, Clone)]
pub struct Modules {
    /// (module, name to call it by, add `local M = require "ferry.M"`)
    pub chosen: Vec<(String, String, bool)>,
}

impl Modules {
    pub fn call(&self, function: &str) -> String {
        let (module, f) = function.split_once('.').unwrap_or(("", function));
        match self.chosen.iter().find(|(m, _, _)| m == module) {
            Some((_, name, _)) => format!("{name}.{f}"),
            None => format!("require(\"ferry.{module}\").{f}"),
        }
    }
}

pub fn choose_modules(job: &JobText, edits: &JobEdits) -> Modules {
    let mut needed = BTreeSet::new();
    for c in &edits.copies {
        for col in &c.columns {
            if let (Some(_), Some(t)) = (&col.source, &col.transform) {
                if let Some((m, _)) = t.split_once('.') {
                    needed.insert(m.to_string());
                }
            }
        }
    }
    let first_copy = job
        .statements
        .iter()
        .position(|s| s.kind == StatementKind::Copy)
        .unwrap_or(job.statements.len());
    let mut chosen = Vec::new();
    for m in needed {
        let module = format!("ferry.{m}");
        let existing = job.statements[..first_copy].iter().any(|s| {
            matches!(&s.kind, StatementKind::Require { name, module: md } if *name == m && *md == module)
        });
        let taken = job.statements.iter().any(|s| match &s.kind {
            StatementKind::Require { name, module: md } => *name == m && *md != module,
            StatementKind::Local(names) => names.contains(&m),
            _ => false,
        }) || (!existing
            && job
                .statements
                .iter()
                .any(|s| matches!(&s.kind, StatementKind::Require { name, .. } if *name == m)));
        if existing {
            chosen.push((m.clone(), m, false));
        } else if !taken {
            chosen.push((m.clone(), m, true));
        }
    }
    Modules { chosen }
}
