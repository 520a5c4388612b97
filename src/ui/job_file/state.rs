//! What GET /api/job says of each copy's text: whether the page may rewrite it (and
//! why not), and each column's entry as the file states it, in the edit model's terms.

use std::collections::HashMap;

use super::edits::{literal_json, ColumnEdit};
use super::parse::{self, JobText, Shape, StatementKind, Value};

#[derive(Debug, Clone, Default)]
pub struct CopyState {
    pub editable: bool,
    pub why: Option<String>,
    /// By target column: its `map` or `default` entry.
    pub entries: HashMap<String, ColumnEdit>,
}

/// One state per plan copy; `lines[i]` is copy i's plan-pass line.
pub fn states(text: Option<&[u8]>, lines: &[Option<usize>]) -> Vec<CopyState> {
    let fixed = |why: String| {
        lines
            .iter()
            .map(|_| CopyState {
                editable: false,
                why: Some(why.clone()),
                entries: HashMap::new(),
            })
            .collect()
    };
    let Some(text) = text else {
        return fixed("the job file cannot be read".into());
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return fixed("the job file is not UTF-8 text; the page does not rewrite it".into());
    };
    let job = match parse::read(text) {
        Ok(j) => j,
        Err(e) => return fixed(format!("the job file does not parse: {e}")),
    };
    lines.iter().map(|l| state(&job, lines, *l)).collect()
}

fn state(job: &JobText, lines: &[Option<usize>], line: Option<usize>) -> CopyState {
    let no = |why: String| CopyState {
        editable: false,
        why: Some(why),
        entries: HashMap::new(),
    };
    let Some(line) = line else {
        return no("the plan pass gave no line for it".into());
    };
    if lines.iter().filter(|l| **l == Some(line)).count() > 1 {
        return no(format!(
            "line {line} makes several copies (`tables`, a loop or a function); the page does not rewrite it"
        ));
    }
    let Some(copy) = job.copies.iter().find(|c| c.line == line) else {
        let around = job
            .statements
            .iter()
            .find(|s| s.first_line <= line && line <= s.last_line);
        let what = match around.map(|s| &s.kind) {
            Some(StatementKind::Loop) => "made in a loop".to_string(),
            Some(StatementKind::Function) => "made in a function".to_string(),
            Some(StatementKind::Condition) => "made inside an `if`".to_string(),
            Some(StatementKind::Block) => "made inside a `do` block".to_string(),
            Some(StatementKind::Call(name)) => format!("made by `{name}`"),
            _ => "not a copy{} statement of its own".to_string(),
        };
        return no(format!("line {line}: {what}; the page does not rewrite it"));
    };
    match &copy.shape {
        Shape::Fixed(why) => no(why.clone()),
        Shape::Name { .. } => CopyState {
            editable: true,
            why: None,
            entries: HashMap::new(),
        },
        Shape::Table(t) => {
            let mut entries = HashMap::new();
            for (e, is_map) in t
                .default
                .iter()
                .flat_map(|d| d.entries.iter().map(|e| (e, false)))
                .chain(
                    t.map
                        .iter()
                        .flat_map(|m| m.entries.iter().map(|e| (e, true))),
                )
            {
                let mut c = ColumnEdit {
                    target: e.target.clone(),
                    ..Default::default()
                };
                match &e.value {
                    Value::Source(s) if is_map => c.source = Some(s.clone()),
                    Value::Transform { source, function } => {
                        c.source = Some(source.clone());
                        c.transform = Some(function.clone());
                    }
                    Value::Literal(l) if !is_map => c.default = Some(literal_json(l)),
                    Value::Sql(s) if !is_map => {
                        c.sql = Some(String::from_utf8_lossy(s).into_owned())
                    }
                    Value::Lua(code) => c.lua = Some(code.clone()),
                    _ => c.lua = Some(format!("{:?}", e.value)),
                }
                // map wins over default, as the plan pass has it
                entries.insert(e.target.clone(), c);
            }
            CopyState {
                editable: t.why.is_none(),
                why: t.why.clone(),
                entries,
            }
        }
    }
}
