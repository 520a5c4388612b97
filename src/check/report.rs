//! What `ferry check` found, and how it reads: per copy, a table of hazards (blocking
//! or note, kind, column, count, example keys) and the fix for each, then a summary
//! line; or the same as JSON (`--json`, the shape in docs/guide/check.md).

use std::fmt;

use serde::Serialize;

use crate::table_fmt::render;

/// A source row that shows a hazard: its key (`id=7`) and the offending value.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub key: String,
    pub value: String,
}

/// Values of one column a copy would refuse or change, for one reason.
#[derive(Debug, Clone, Serialize)]
pub struct Hazard {
    /// `truncate`, `charset`, `range`, `scale`, `fraction`, `char_trailing_space`,
    /// `enum`, `not_null`, `zero_date`, `timestamp_range`.
    pub kind: &'static str,
    /// The target column.
    pub column: String,
    pub source_column: String,
    pub source_type: String,
    pub target_type: String,
    /// Source rows with such a value (among those the copy's `where` keeps).
    pub count: u64,
    /// A value would change or a row fail; else a note.
    pub blocking: bool,
    /// The copy's `accept` names it (`"truncate"` or `"truncate:col"`): a note.
    pub accepted: bool,
    /// The first few such rows, in key order.
    pub examples: Vec<Example>,
    pub fix: String,
    /// The target key a key hazard is about (`unique key uk_email`, `foreign key
    /// fk_customer`), or the setting an environment hazard is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What the copy's mode would do to each row counted (key hazards).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

impl Hazard {
    /// A hazard with no source or target column type (keys, environment): `what`
    /// stands in the report's types column.
    pub fn about(kind: &'static str, column: &str, what: &str, count: u64, fix: String) -> Hazard {
        Hazard {
            kind,
            column: column.to_string(),
            source_column: column.to_string(),
            source_type: String::new(),
            target_type: String::new(),
            count,
            blocking: true,
            accepted: false,
            examples: Vec::new(),
            fix,
            key: Some(what.to_string()),
            effect: None,
        }
    }
}

/// One copy's findings.
#[derive(Debug, Clone, Serialize)]
pub struct CopyCheck {
    pub copy: String,
    /// `file:line` of the copy in the job.
    pub location: String,
    /// `database.table`
    pub source: String,
    pub target: String,
    /// Queries sent to the source for this copy (0: no column needed a scan).
    pub queries: u32,
    /// Queries sent to the target for this copy's keys (schema reads and probes).
    pub target_queries: u32,
    pub hazards: Vec<Hazard>,
    /// What was not scanned, and why.
    pub notes: Vec<String>,
}

/// The whole job's findings.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub copies: Vec<CopyCheck>,
    /// Notes about the job's servers (versions).
    pub environment: Vec<String>,
    /// Hazards that block the job.
    pub blocking: usize,
    /// Hazards that are notes.
    pub notes: usize,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl CheckReport {
    pub fn new(copies: Vec<CopyCheck>, environment: Vec<String>) -> CheckReport {
        let all = || copies.iter().flat_map(|c| &c.hazards);
        let blocking = all().filter(|h| h.blocking).count();
        let notes = all().filter(|h| !h.blocking).count();
        CheckReport {
            copies,
            environment,
            blocking,
            notes,
        }
    }

    /// `check: 2 blocking hazards, 1 note in 3 copies; nothing was written`
    pub fn summary(&self) -> String {
        format!(
            "check: {}, {} in {}; nothing was written",
            plural(self.blocking, "blocking hazard", "blocking hazards"),
            plural(self.notes, "note", "notes"),
            plural(self.copies.len(), "copy", "copies")
        )
    }

    /// The report as pretty JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

impl fmt::Display for CopyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "copy {} ({}): {} -> {}: ",
            self.copy, self.location, self.source, self.target
        )?;
        match (self.hazards.len(), self.queries) {
            (0, 0) => writeln!(f, "no column needs a scan")?,
            (0, q) => writeln!(f, "no hazard ({})", plural(q as usize, "query", "queries"))?,
            (n, q) => writeln!(
                f,
                "{} ({})",
                plural(n, "hazard", "hazards"),
                plural(q as usize, "query", "queries")
            )?,
        }
        if !self.hazards.is_empty() {
            let rows: Vec<Vec<String>> = self
                .hazards
                .iter()
                .map(|h| {
                    let examples: Vec<String> = h
                        .examples
                        .iter()
                        .map(|e| format!("{} {}", e.key, e.value))
                        .collect();
                    vec![
                        match (h.blocking, h.accepted) {
                            (true, _) => "BLOCKING",
                            (false, true) => "accepted",
                            (false, false) => "note",
                        }
                        .to_string(),
                        h.kind.to_string(),
                        h.column.clone(),
                        match &h.key {
                            Some(k) if h.source_type.is_empty() => k.clone(),
                            _ => format!("{} -> {}", h.source_type, h.target_type),
                        },
                        h.count.to_string(),
                        examples.join("; "),
                    ]
                })
                .collect();
            let table = render(
                &[
                    "",
                    "kind",
                    "column",
                    "types",
                    "rows",
                    "examples (key value)",
                ],
                &rows,
                &[false, false, false, false, true, false],
            );
            for line in table.lines() {
                writeln!(f, "  {line}")?;
            }
            for h in &self.hazards {
                if let Some(e) = &h.effect {
                    writeln!(f, "  {} `{}`: {e}", h.kind, h.column)?;
                }
                writeln!(f, "  fix {} `{}`: {}", h.kind, h.column, h.fix)?;
            }
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.copies {
            write!(f, "{c}")?;
        }
        for n in &self.environment {
            writeln!(f, "note: {n}")?;
        }
        writeln!(f, "{}", self.summary())
    }
}
