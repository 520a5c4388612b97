//! How an explained copy prints: a head line per copy, then per row its key, action
//! and why, the source row, a table of the target columns (where each value comes
//! from, the value written, the value there now, the mark), the statement and notes;
//! a count of the actions last. Or JSON (`--json`, the shape in docs/guide/explain.md).

use std::fmt;

use super::{Action, CopyExplain};
use crate::table_fmt::render;

impl fmt::Display for CopyExplain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "copy {} ({}): mode {}, {} -> {}{}",
            self.copy,
            self.location,
            self.mode,
            self.source,
            self.target,
            match &self.resolves_on {
                Some(k) => format!(", rows resolved on {k}"),
                None => String::new(),
            }
        )?;
        writeln!(f, "  written by {}", self.written_by)?;
        if self.rows.is_empty() && self.not_found.is_empty() {
            writeln!(f, "  no source row to explain (the copy reads none)")?;
        }
        for r in &self.rows {
            writeln!(f)?;
            writeln!(f, "row {}: {}: {}", r.key, r.action.name(), r.why)?;
            let source: Vec<String> = r
                .source
                .iter()
                .map(|s| format!("{}={}", s.name, s.value))
                .collect();
            writeln!(f, "  source     {}", source.join(", "))?;
            if !r.columns.is_empty() {
                let rows: Vec<Vec<String>> = r
                    .columns
                    .iter()
                    .map(|c| {
                        vec![
                            c.column.clone(),
                            c.from.clone(),
                            c.value.clone(),
                            c.now.clone().unwrap_or_default(),
                            c.mark.to_string(),
                        ]
                    })
                    .collect();
                let table = render(
                    &["column", "from", "written", "target now", "change"],
                    &rows,
                    &[false; 5],
                );
                for line in table.lines() {
                    writeln!(f, "  {line}")?;
                }
            }
            if let Some(s) = &r.statement {
                writeln!(f, "  statement  {s}")?;
            }
            for n in &r.notes {
                writeln!(f, "  note: {n}")?;
            }
        }
        for k in &self.not_found {
            writeln!(f)?;
            writeln!(f, "key {k}: no such source row (within the copy's `where`)")?;
        }
        writeln!(f)?;
        writeln!(f, "{}; nothing was written", self.summary())
    }
}

impl CopyExplain {
    /// `3 rows: 1 insert, 2 update`.
    pub fn summary(&self) -> String {
        let all = [
            Action::Insert,
            Action::Ignore,
            Action::Replace,
            Action::Update,
            Action::Unchanged,
            Action::Skip,
            Action::Fail,
            Action::Reject,
        ];
        let counts: Vec<String> = all
            .iter()
            .filter_map(|a| {
                let n = self.rows.iter().filter(|r| r.action == *a).count();
                (n > 0).then(|| format!("{n} {}", a.name()))
            })
            .collect();
        let n = self.rows.len();
        let mut s = format!(
            "copy {}: {n} row{} explained",
            self.copy,
            if n == 1 { "" } else { "s" }
        );
        if !counts.is_empty() {
            s.push_str(&format!(" ({})", counts.join(", ")));
        }
        s
    }
}

/// Every explained copy as one JSON document.
pub fn json(copies: &[CopyExplain]) -> String {
    serde_json::to_string_pretty(&serde_json::json!({ "copies": copies }))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
