//! How `ferry plan` shows a plan: the tables, mode and paging, then where every target
//! column's value comes from, the columns left to the server, and the warnings.

use std::fmt;

use super::CopyPlan;

/// Characters of a `where` the plan shows (a sample's is a list of keys).
const SHOWN_WHERE: usize = 200;

/// `w`, or its start and how long it is when it is long.
fn shortened(w: &str) -> String {
    match w.char_indices().nth(SHOWN_WHERE) {
        None => w.to_string(),
        Some((at, _)) => format!("{}... ({} characters)", &w[..at], w.chars().count()),
    }
}

impl fmt::Display for CopyPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.key_names();
        writeln!(
            f,
            "copy {} ({})\n  {}.{} -> {}.{}, mode {}, page {}, {}, ~{} rows{}",
            self.name,
            self.location,
            self.source.database,
            self.source.name,
            self.target.database,
            self.target.name,
            self.mode.name(),
            self.page,
            if key.is_empty() {
                "no key: one pass".to_string()
            } else {
                format!("keyset on ({})", key.join(", "))
            },
            self.source.estimated_rows,
            self.filter
                .as_ref()
                .map(|w| format!(", where {}", shortened(w)))
                .unwrap_or_default()
        )?;
        if self.has_transform {
            writeln!(f, "  transform: runs on every row first")?;
        }
        let width = self
            .columns
            .iter()
            .map(|c| c.name.chars().count())
            .chain(self.server_filled.iter().map(|c| c.chars().count()))
            .max()
            .unwrap_or(0);
        for c in &self.columns {
            writeln!(f, "  {:width$} <- {}", c.name, c.origin)?;
        }
        for c in &self.server_filled {
            writeln!(
                f,
                "  {c:width$} (left to the server: NULL, its default or auto_increment)"
            )?;
        }
        if !self.unused_source.is_empty() {
            writeln!(
                f,
                "  unused source columns: {}",
                self.unused_source.join(", ")
            )?;
        }
        for h in &self.hooks {
            writeln!(f, "  {h}")?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}
