//! `ferry explain JOB.lua` and `try{}` / `explain{}` in the REPL: for a few chosen
//! source rows of one copy, the source row, the row the copy's own row path makes of
//! it (the transform, map and default through the copy's `RowProcessor`, values
//! checked by the engine's `Fit`), the statement the writer would send for it, the
//! target row already there with the columns the row would change, and what the mode
//! does with it (`decide`). The rows are read with the copy's `where`, in its key
//! order; the target is only read (SELECTs), never written. `report` prints it.

mod decide;
mod report;

use serde::Serialize;

use crate::db::read::{read_page, SourceQuery};
use crate::db::schema::did_you_mean;
use crate::db::value::{show, show_key, Kind};
use crate::db::write::{Cell, Method, Outlook, RowCheck, Target, Writer};
use crate::db::{Db, Value};
use crate::engine::{Fit, RowProcessor};
use crate::error::{Error, Result};
use crate::plan::{CopyPlan, Fill};

pub use decide::Action;
pub use report::json;

/// Rows explained when the caller names none.
pub const DEFAULT_ROWS: usize = 5;

/// Which source rows to explain.
#[derive(Debug, Clone)]
pub enum Selection {
    /// The first rows of the copy's read (its `where`, in key order).
    First(usize),
    /// Rows by their source key: the parts as given, grouped into keys of the key's
    /// width (a part of a composite key may hold several, comma-separated).
    Keys(Vec<String>),
}

impl Default for Selection {
    fn default() -> Selection {
        Selection::First(DEFAULT_ROWS)
    }
}

/// What `ferry explain` was asked: which copies (by name; empty: every copy) and rows.
#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    pub copies: Vec<String>,
    pub selection: Selection,
}

impl ExplainOptions {
    /// Whether the copy named `name` (or with id `id`, `users#2`) is to be explained.
    pub fn chosen(&self, name: &str, id: &str) -> bool {
        self.copies.is_empty() || self.copies.iter().any(|c| c == name || c == id)
    }
}

/// How a run would run the copy: its write method, whether it sets refused rows aside
/// (`on_error = "reject"`), and its page size in bytes.
#[derive(Debug, Clone, Copy)]
pub struct RunAs {
    pub method: Method,
    pub rejecting: bool,
    pub page_bytes: usize,
}

/// The explain pass's options and what it found, kept by the job.
#[derive(Default)]
pub struct Explaining {
    pub options: ExplainOptions,
    pub reports: Vec<CopyExplain>,
}

/// One copy, explained.
#[derive(Debug, Clone, Serialize)]
pub struct CopyExplain {
    pub copy: String,
    pub location: String,
    pub mode: &'static str,
    pub source: String,
    pub target: String,
    /// The target key the mode resolves rows on (`PRIMARY (id)`), if any.
    pub resolves_on: Option<String>,
    /// How a run sends the rows (the copy's `write` method, as the writer uses it).
    pub written_by: String,
    pub rows: Vec<RowExplain>,
    /// Keys asked for that no source row has (within the copy's `where`).
    pub not_found: Vec<String>,
}

/// One source row, explained.
#[derive(Debug, Clone, Serialize)]
pub struct RowExplain {
    /// The source row's key (`id=3`).
    pub key: String,
    pub source: Vec<Field>,
    pub action: Action,
    /// What the action means for this row, in a sentence.
    pub why: String,
    /// Every target column: the value the copy writes and the one there now.
    pub columns: Vec<ColumnLine>,
    /// The statement for this row alone (none for a row the copy skips or refuses).
    pub statement: Option<String>,
    pub notes: Vec<String>,
}

/// A column and its value, as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// One target column of an explained row.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnLine {
    pub column: String,
    /// Where the value comes from (a source column, the transform, a default...).
    pub from: String,
    /// The value the copy writes (`DEFAULT` for a column it leaves to the server).
    pub value: String,
    /// The value in the target row there now; `None` without one.
    pub now: Option<String>,
    /// `changed`, `kept`, `differs, kept`, `reset to default`, or empty.
    pub mark: &'static str,
}

/// Explains `plan`'s chosen rows: read from `src`, made target rows by `processor`,
/// looked up in `dst` (read only).
pub fn explain_copy(
    plan: &CopyPlan,
    src: &mut Db,
    dst: &mut Db,
    processor: &mut dyn RowProcessor,
    selection: &Selection,
    run_as: &RunAs,
) -> Result<CopyExplain> {
    let (rows, not_found) = read_rows(plan, src, selection, run_as.page_bytes)?;
    let target = plan.write_target();
    let path = RowPath {
        plan,
        writer: Writer::new(&target, dst, run_as.method, None),
        rejecting: run_as.rejecting,
        target,
        fit: Fit::new(plan),
    };
    let mut out = CopyExplain {
        copy: plan.name.clone(),
        location: plan.location.clone(),
        mode: plan.mode.name(),
        source: format!("{}.{}", plan.source.database, plan.source.name),
        target: format!("{}.{}", plan.target.database, plan.target.name),
        resolves_on: path
            .writer
            .resolving_key()
            .map(|(n, c)| format!("{n} ({})", c.join(", "))),
        written_by: path.writer.sent_as(dst.is_mariadb()).to_string(),
        rows: Vec::new(),
        not_found,
    };
    for (i, row) in rows.into_iter().enumerate() {
        out.rows.push(path.explain_row(dst, processor, i, row)?);
    }
    Ok(out)
}

/// What a copy's rows go through: its processor (given), the value check and the
/// writer's view of the target.
struct RowPath<'a> {
    plan: &'a CopyPlan,
    /// `on_error = "reject"`: a row that fails is set aside, not the copy's end.
    rejecting: bool,
    target: Target,
    writer: Writer,
    fit: Option<Fit>,
}

impl RowPath<'_> {
    /// A row the copy cannot write: its end, or set aside when it rejects such rows.
    fn failed(&self, mut row: RowExplain) -> RowExplain {
        if self.rejecting {
            row.action = Action::Reject;
            row.why
                .push_str("; on_error = \"reject\" sets it aside in the rejects file");
        }
        row
    }

    /// Source row `row` (the `i`th read), explained.
    fn explain_row(
        &self,
        dst: &mut Db,
        processor: &mut dyn RowProcessor,
        i: usize,
        row: Vec<Value>,
    ) -> Result<RowExplain> {
        let plan = self.plan;
        let mut explained = RowExplain {
            key: plan.row_label(Some(&plan.key_values(&row)), i as u64 + 1),
            source: plan
                .source
                .columns
                .iter()
                .zip(&row)
                .map(|(c, v)| Field {
                    name: c.name.clone(),
                    value: show(v, c.kind()),
                })
                .collect(),
            action: Action::Fail,
            why: String::new(),
            columns: Vec::new(),
            statement: None,
            notes: Vec::new(),
        };
        let values = match processor.process(row) {
            Err(e) => {
                explained.why = format!("the copy's row code fails on this row: {e}");
                return Ok(self.failed(explained));
            }
            Ok(None) => {
                explained.action = Action::Skip;
                explained.why = "the transform returns nil: the row is skipped".into();
                return Ok(explained);
            }
            Ok(Some(values)) => values,
        };
        let misfit = self
            .fit
            .as_ref()
            .and_then(|f| f.check_rows(std::slice::from_ref(&values)).err());
        if let Some(m) = misfit {
            explained.why = format!("the copy refuses this row: {}", m.message);
            explained.columns = columns(plan, &values, None, Action::Fail);
            return Ok(self.failed(explained));
        }
        if let Some(refused) = crate::engine::refused_row(plan, &dst.version, &values) {
            explained.why =
                format!("the server would refuse or change a value of this row: {refused}");
            explained.columns = columns(plan, &values, None, Action::Fail);
            return Ok(self.failed(explained));
        }
        let look = self.writer.outlook(dst, &self.target, &values)?;
        let d = decide::decide(
            plan.mode,
            &look,
            plan.accept.unique_conflicts,
            &key_label(plan, &values, &look),
            &plan.columns.iter().map(|c| c.mapped).collect::<Vec<_>>(),
            unwritten(plan),
        );
        explained.action = d.action;
        explained.why = d.why;
        explained.notes = d.notes;
        explained.columns = columns(plan, &values, Some(&look), d.action);
        explained.statement = Some(look.statement);
        Ok(explained)
    }
}

/// The chosen source rows, and the keys asked for that no source row has.
fn read_rows(
    plan: &CopyPlan,
    src: &mut Db,
    selection: &Selection,
    page_bytes: usize,
) -> Result<(Vec<Vec<Value>>, Vec<String>)> {
    let reading = format!("reading {}", plan.source.name);
    let mut read = |query: &SourceQuery, n: usize| -> Result<Vec<Vec<Value>>> {
        let sql = query.page_sql(None, n)?;
        read_page(src, sql, page_bytes)
            .map(|(rows, _)| rows)
            .map_err(|e| src.err(&reading, e))
    };
    let base = SourceQuery::for_table(&plan.source, plan.filter.clone());
    match selection {
        Selection::First(n) => Ok((read(&base, *n)?, Vec::new())),
        Selection::Keys(parts) => {
            let names = plan.key_names();
            let mut rows = Vec::new();
            let mut missing = Vec::new();
            for key in keys_of(plan, parts)? {
                let mut q = base.clone();
                let values: Vec<Value> = key.iter().map(|k| Value::from(k.as_str())).collect();
                q.and_key_is(values.clone());
                match read(&q, 1)?.pop() {
                    Some(row) => rows.push(row),
                    None => {
                        missing.push(show_key(&names, &values, &vec![Kind::Bytes; names.len()]))
                    }
                }
            }
            Ok((rows, missing))
        }
    }
}

/// The key parts given, grouped into keys of the source key's width.
fn keys_of(plan: &CopyPlan, parts: &[String]) -> Result<Vec<Vec<String>>> {
    let names = plan.key_names();
    if names.is_empty() {
        return Err(Error::usage(format!(
            "copy {}: its source table {} has no key to pick rows by; give a number of \
             rows instead (--rows N, rows = N)",
            plan.name, plan.source.name
        )));
    }
    group_keys(parts, names.len()).ok_or_else(|| {
        Error::usage(format!(
            "copy {}: its source key is ({}), so each key takes {} value{} (comma-separated \
             or one per --key); got {}",
            plan.name,
            names.join(", "),
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            parts.join(" ")
        ))
    })
}

/// Key parts grouped into keys of `width` values: a part with exactly `width`
/// comma-separated values is a whole key (of a composite key); any other part is one
/// value, and values fill keys in order. `None` when they do not fill whole keys.
fn group_keys(parts: &[String], width: usize) -> Option<Vec<Vec<String>>> {
    let mut values = Vec::new();
    for p in parts {
        let split: Vec<&str> = p.split(',').collect();
        if width > 1 && split.len() == width && values.len() % width == 0 {
            values.extend(split.iter().map(|s| s.trim().to_string()));
        } else {
            values.push(p.clone());
        }
    }
    (!values.is_empty() && values.len().is_multiple_of(width))
        .then(|| values.chunks(width).map(<[String]>::to_vec).collect())
}

/// The target columns the copy leaves to the server (a REPLACE resets them).
fn unwritten(plan: &CopyPlan) -> Vec<String> {
    plan.target
        .columns
        .iter()
        .filter(|c| !c.is_generated() && !plan.columns.iter().any(|w| w.name == c.name))
        .map(|c| c.name.clone())
        .collect()
}

/// The row's resolving key as the target sees it (`id=3`), from the values written.
fn key_label(plan: &CopyPlan, values: &[Value], look: &Outlook) -> String {
    let Some((_, cols)) = &look.key else {
        return String::new();
    };
    let params: Vec<&str> = plan.value_columns().map(|c| c.name.as_str()).collect();
    let mut kinds = Vec::new();
    let mut shown = Vec::new();
    for c in cols {
        kinds.push(plan.target.column(c).map_or(Kind::Bytes, |c| c.kind()));
        shown.push(
            params
                .iter()
                .position(|p| p == c)
                .map_or(Value::NULL, |i| values[i].clone()),
        );
    }
    show_key(cols, &shown, &kinds)
}

/// Every target column of a row: its value, the target row's, and the mark.
fn columns(
    plan: &CopyPlan,
    values: &[Value],
    look: Option<&Outlook>,
    action: Action,
) -> Vec<ColumnLine> {
    let target = plan.write_target();
    let mut params = values.iter();
    let mut written = Vec::new();
    for (w, c) in target.columns.iter().enumerate() {
        let value = match &c.cell {
            Cell::Param => params.next().cloned().unwrap_or(Value::NULL),
            Cell::Sql(_) => Value::NULL,
        };
        written.push((c.name.clone(), w, value));
    }
    let existing = look.and_then(|l| l.existing.as_ref());
    plan.target
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            let now = existing.map(|e| show(&e[i], col.kind()));
            match written.iter().find(|(n, _, _)| n == &col.name) {
                Some((_, w, v)) => {
                    let pc = &plan.columns[*w];
                    let differs = look.is_some_and(|l| l.differs[*w]);
                    ColumnLine {
                        column: col.name.clone(),
                        from: match &pc.fill {
                            Fill::Source(s) => plan.source.columns[*s].name.clone(),
                            Fill::Field(f) => format!("transform: {f}"),
                            _ => pc.origin.clone(),
                        },
                        value: match &pc.fill {
                            Fill::Sql(expr) => format!("sql {expr}"),
                            _ => show(v, col.kind()),
                        },
                        now,
                        mark: decide::mark(action, Some(pc.mapped), differs),
                    }
                }
                None => ColumnLine {
                    column: col.name.clone(),
                    from: if col.is_generated() {
                        "generated".into()
                    } else {
                        "the server".into()
                    },
                    value: if col.is_generated() {
                        "(generated)".into()
                    } else {
                        "DEFAULT".into()
                    },
                    mark: if col.is_generated() {
                        ""
                    } else {
                        decide::mark(action, None, false)
                    },
                    now,
                },
            }
        })
        .collect()
}

/// The names of `plans` that `copies` asks for but no copy has: a usage error naming
/// the copies there are.
pub fn unknown_copies(copies: &[String], names: &[String]) -> Result<()> {
    for c in copies {
        let base = c.split('#').next().unwrap_or(c);
        if !names.iter().any(|n| n == base) {
            let hint = did_you_mean(c, names.iter().map(String::as_str));
            return Err(Error::usage(format!(
                "--copy {c}: the job has no copy of that name{hint}; its copies: {}",
                names.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::group_keys;

    fn g(parts: &[&str], width: usize) -> Option<Vec<Vec<String>>> {
        let parts: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
        group_keys(&parts, width)
    }

    #[test]
    fn key_parts_fill_keys_of_the_keys_width() {
        let k = |keys: &[&[&str]]| -> Option<Vec<Vec<String>>> {
            Some(
                keys.iter()
                    .map(|k| k.iter().map(|s| s.to_string()).collect())
                    .collect(),
            )
        };
        assert_eq!(g(&["3", "4"], 1), k(&[&["3"], &["4"]]));
        assert_eq!(g(&["a,b"], 1), k(&[&["a,b"]]));
        assert_eq!(g(&["1, 2", "1", "1"], 2), k(&[&["1", "2"], &["1", "1"]]));
        // A value with a comma, one per --key.
        assert_eq!(g(&["1", "x,y,z"], 2), k(&[&["1", "x,y,z"]]));
        assert_eq!(g(&["1"], 2), None);
        assert_eq!(g(&[], 1), None);
    }
}
