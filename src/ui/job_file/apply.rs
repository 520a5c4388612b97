//! Applying the page's edits to the job's text: new text is spliced into the spans
//! `parse.rs` found, so every byte the edits do not concern (comments, blank lines,
//! spacing, hand-written code) stays as it was. New copies are appended at the end.

use super::EditError;

use super::edits::{CopyEdit, JobEdits, Want};
use super::layout::{indent_unit, line_indent, line_start, multi_line, removal, table_text};
use super::lua_text::{self, quote};
use super::modules::{choose_modules, Modules};
use super::parse::{
    self, CopyTable, Entries, FileCopy, JobText, Shape, StatementKind, TableSpan, Value,
};

/// Where an edit of copy `index` lands: the line of each of GET /api/job's copies (its
/// plan-pass location), so copy `index` is the file's statement on `lines[index]`.
///
/// Two passes, so that no splice falls inside another: the first replaces and removes
/// (and turns `copy "name"` into a table), the second reads that text again and adds
/// fields, entries, new copies and `require` lines.
pub fn apply_at(text: &str, lines: &[usize], edits: &JobEdits) -> Result<String, EditError> {
    let job = parse::read(text).map_err(|e| fail!("the job file does not parse: {e}"))?;
    // each edit of an existing copy: its position among the file's copy statements
    let mut targets = Vec::new();
    for (e, edit) in edits.copies.iter().enumerate() {
        let Some(index) = edit.index else { continue };
        let line = *lines
            .get(index)
            .ok_or_else(|| fail!("copy {index}: the job has {} copies", lines.len()))?;
        let label = format!("copy {index} ({} -> {})", edit.from, edit.target());
        if lines.iter().filter(|l| **l == line).count() > 1 {
            return Err(fail!(
                "{label}: line {line} makes several copies; the page does not rewrite it"
            ));
        }
        let k = job.copies.iter().position(|c| c.line == line).ok_or_else(|| {
            fail!("{label}: line {line} is not a copy{{}} statement of its own; the page does not rewrite it")
        })?;
        targets.push((e, k, label));
    }
    let modules = choose_modules(&job, edits);
    let unit = indent_unit(text, &job);
    let mut first = Writer {
        text,
        job: &job,
        splices: Vec::new(),
        modules: modules.clone(),
        unit: unit.clone(),
        adding: false,
    };
    for (e, k, label) in &targets {
        first
            .edit_copy(&job.copies[*k], &edits.copies[*e])
            .map_err(|err| fail!("{label}: {err}"))?;
    }
    let written: Vec<String> = first.splices.iter().map(|s| s.2.clone()).collect();
    let text = splice(text, first.splices)?;
    let job = parse::read(&text).map_err(|e| fail!("the edited job does not parse: {e}"))?;
    let mut w = Writer {
        text: &text,
        job: &job,
        splices: Vec::new(),
        modules,
        unit,
        adding: true,
    };
    for (e, k, label) in &targets {
        w.edit_copy(&job.copies[*k], &edits.copies[*e])
            .map_err(|err| fail!("{label}: {err}"))?;
    }
    let mut appended = String::new();
    for edit in edits.copies.iter().filter(|e| e.index.is_none()) {
        let label = format!("new copy ({} -> {})", edit.from, edit.target());
        if edit.from.is_empty() {
            return Err(fail!("{label}: `from` names no table"));
        }
        appended.push('\n');
        appended.push_str(&w.new_copy(edit).map_err(|e| fail!("{label}: {e}"))?);
    }
    if !appended.is_empty() {
        match job.last {
            // before a final `return`: the copies, then a blank line
            Some(at) => {
                let at = line_start(&text, at);
                appended.remove(0);
                appended.push('\n');
                w.splices.push((at, at, appended));
            }
            None => {
                if !text.is_empty() && !text.ends_with('\n') {
                    appended.insert(0, '\n');
                }
                if text.is_empty() {
                    appended.remove(0);
                }
                w.splices.push((text.len(), text.len(), appended));
            }
        }
    }
    w.add_requires(&written);
    splice(&text, w.splices)
}

/// `apply_at` for a job whose copies are all top-level statements, one copy each:
/// copy `index` is the file's `index`-th copy statement.
#[cfg_attr(not(test), allow(dead_code))]
pub fn apply(text: &str, edits: &JobEdits) -> Result<String, EditError> {
    let job = parse::read(text).map_err(|e| fail!("the job file does not parse: {e}"))?;
    let lines: Vec<usize> = job.copies.iter().map(|c| c.line).collect();
    apply_at(text, &lines, edits)
}

fn splice(text: &str, mut splices: Vec<(usize, usize, String)>) -> Result<String, EditError> {
    // a file with CRLF line ends gets CRLF in what is added (the new text has no `\r`:
    // strings are quoted with `\r`)
    if text.contains("\r\n") {
        for s in &mut splices {
            s.2 = s.2.replace('\n', "\r\n");
        }
    }
    // deletions that overlap (two neighbours in `{ a = 1, b = 2 }` taken out) become one
    splices.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut merged: Vec<(usize, usize, String)> = Vec::with_capacity(splices.len());
    for s in splices {
        match merged.last_mut() {
            Some(last)
                if last.2.is_empty() && s.2.is_empty() && last.0 < last.1 && s.0 < last.1 =>
            {
                last.1 = last.1.max(s.1);
            }
            _ => merged.push(s),
        }
    }
    // later splices first; at one offset, keep the order they were made in
    merged.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    let mut out = text.to_string();
    let mut seen_min = usize::MAX;
    for (start, end, new) in merged {
        if end > seen_min && start != end {
            return Err(fail!(
                "two edits of the job's text overlap at byte {start}; nothing was changed"
            ));
        }
        out.replace_range(start..end, &new);
        seen_min = start;
    }
    Ok(out)
}

struct Writer<'a> {
    text: &'a str,
    job: &'a JobText,
    splices: Vec<(usize, usize, String)>,
    modules: Modules,
    unit: String,
    /// The second pass: adds; the first only replaces and removes.
    adding: bool,
}

impl Writer<'_> {
    /// `local text = require "ferry.text"` for the modules that need one: after the
    /// `source`/`target`/`job` lines before the first copy, or at the top.
    fn add_requires(&mut self, first_pass: &[String]) {
        let lines: String = self
            .modules
            .chosen
            .iter()
            .filter(|(_, _, add)| *add)
            .filter(|(m, _, _)| {
                self.splices
                    .iter()
                    .map(|(_, _, s)| s)
                    .chain(first_pass)
                    .any(|s| s.contains(&format!("{m}.")))
            })
            .map(|(m, name, _)| format!("local {name} = require \"ferry.{m}\"\n"))
            .collect();
        if lines.is_empty() {
            return;
        }
        let first_copy = self
            .job
            .statements
            .iter()
            .position(|s| s.kind == StatementKind::Copy)
            .unwrap_or(self.job.statements.len());
        let setup = self.job.statements[..first_copy]
            .iter()
            .rposition(|s| s.kind == StatementKind::Setup);
        let at = match setup {
            Some(i) => {
                let end = self.job.statements[i].span.1;
                match self.text[end..].find('\n') {
                    Some(n) => end + n + 1,
                    None => {
                        self.splices
                            .push((self.text.len(), self.text.len(), format!("\n{lines}")));
                        return;
                    }
                }
            }
            None => match self.job.statements.first() {
                Some(s) => line_start(self.text, s.span.0),
                None => 0,
            },
        };
        self.splices.push((at, at, lines));
    }

    fn edit_copy(&mut self, copy: &FileCopy, edit: &CopyEdit) -> Result<(), EditError> {
        // an empty `from` or `to` keeps the file's
        let (from, to) = match &copy.shape {
            Shape::Name { name, .. } => (Some(name.clone()), Some(name.clone())),
            Shape::Table(t) => {
                let from = t.from.as_ref().map(|f| f.bytes.clone());
                (
                    from.clone(),
                    t.to.as_ref().map(|x| x.bytes.clone()).or(from),
                )
            }
            Shape::Fixed(_) => (None, None),
        };
        let mut filled = edit.clone();
        for (field, file) in [(&mut filled.from, from), (&mut filled.to, to)] {
            if field.is_empty() {
                if let Some(s) = file.and_then(|b| String::from_utf8(b).ok()) {
                    *field = s;
                }
            }
        }
        let edit = &filled;
        match &copy.shape {
            Shape::Fixed(why) => Err(fail!("the page does not rewrite it: {why}")),
            Shape::Table(t) => match &t.why {
                Some(why) => Err(fail!("the page does not rewrite it: {why}")),
                None => self.edit_table(copy, t, edit),
            },
            Shape::Name { arg, name } => {
                let name = String::from_utf8_lossy(name).into_owned();
                let wants = wants(edit)?;
                let changes = edit.from != name
                    || edit.target() != name
                    || edit.mode.as_deref().is_some_and(|m| m != "insert")
                    || edit.page.is_some_and(|p| p != DEFAULT_PAGE)
                    || wants.iter().any(|(t, w)| {
                        entry_for_map(t, w).is_some() || entry_for_default(w).is_some()
                    });
                if !changes {
                    return Ok(());
                }
                let indent = line_indent(self.text, copy.span.0);
                let body = self.copy_body(edit, &indent)?;
                self.splices.push((arg.0, arg.1, body));
                Ok(())
            }
        }
    }

    fn edit_table(
        &mut self,
        copy: &FileCopy,
        t: &CopyTable,
        edit: &CopyEdit,
    ) -> Result<(), EditError> {
        let from = t.from.as_ref().map(|f| f.bytes.clone()).unwrap_or_default();
        let mut adds: Vec<String> = Vec::new();
        if edit.from.as_bytes() != from.as_slice() {
            if let Some(f) = &t.from {
                self.splices
                    .push((f.span.0, f.span.1, quote(edit.from.as_bytes())));
            }
        }
        let to_now =
            t.to.as_ref()
                .map(|x| x.bytes.clone())
                .unwrap_or(from.clone());
        if edit.target().as_bytes() != to_now.as_slice() {
            match &t.to {
                Some(x) => self
                    .splices
                    .push((x.span.0, x.span.1, quote(edit.target().as_bytes()))),
                None => adds.push(format!("to = {}", quote(edit.target().as_bytes()))),
            }
        }
        if let Some(mode) = &edit.mode {
            check_mode(mode)?;
            let now = t
                .mode
                .as_ref()
                .map(|m| m.bytes.clone())
                .unwrap_or(b"insert".to_vec());
            if mode.as_bytes() != now.as_slice() {
                match &t.mode {
                    Some(m) => self
                        .splices
                        .push((m.span.0, m.span.1, quote(mode.as_bytes()))),
                    None => adds.push(format!("mode = {}", quote(mode.as_bytes()))),
                }
            }
        }
        if let Some(page) = edit.page {
            check_page(page)?;
            let now = t.page.map(|p| p.1).unwrap_or(DEFAULT_PAGE as i64);
            if page as i64 != now {
                match &t.page {
                    Some((span, _)) => self.splices.push((span.0, span.1, page.to_string())),
                    None => adds.push(format!("page = {page}")),
                }
            }
        }
        let wants = wants(edit)?;
        let field_indent = self.field_indent(&t.table, copy.span.0);
        let mut map_new = Vec::new();
        let mut default_new = Vec::new();
        for (target, want) in &wants {
            let in_map = t
                .map
                .as_ref()
                .and_then(|m| m.entries.iter().find(|e| &e.target == target));
            let in_default = t
                .default
                .as_ref()
                .and_then(|d| d.entries.iter().find(|e| &e.target == target));
            for (entry, what) in [(in_map, "map"), (in_default, "default")] {
                if let Some(e) = entry {
                    if let Value::Lua(code) = &e.value {
                        return Err(fail!(
                            "column `{target}`: its {what} entry is Lua of the file's own ({}); the page does not rewrite it",
                            code.lines().next().unwrap_or("")
                        ));
                    }
                }
            }
            let map_want = entry_for_map(target, want);
            let default_want = entry_for_default(want);
            let map_want = map_want.map(|w| {
                let text = self.map_text(&w);
                (w, text)
            });
            let default_want = default_want.map(|w| {
                let text = default_text(&w);
                (w, text)
            });
            self.put(
                t.map.as_ref(),
                in_map.map(|e| (e.field, &e.value)),
                target,
                map_want,
                &mut map_new,
            );
            self.put(
                t.default.as_ref(),
                in_default.map(|e| (e.field, &e.value)),
                target,
                default_want,
                &mut default_new,
            );
        }
        if !self.adding {
            return Ok(());
        }
        for (which, entries, new) in [
            ("map", &t.map, map_new),
            ("default", &t.default, default_new),
        ] {
            if new.is_empty() {
                continue;
            }
            match entries {
                Some(e) => {
                    let indent = self.field_indent(&e.table, line_start(self.text, e.table.open));
                    self.insert_fields(&e.table, &new, &indent);
                }
                None => {
                    let inner = format!("{field_indent}{}", self.unit);
                    adds.push(format!(
                        "{which} = {which} {}",
                        table_text(&new, &field_indent, &inner, multi_line(self.text, &t.table))
                    ));
                }
            }
        }
        if !adds.is_empty() {
            self.insert_fields(&t.table, &adds, &field_indent);
        }
        Ok(())
    }

    /// Sets, replaces or removes the entry of `target` in a map or default table.
    fn put(
        &mut self,
        entries: Option<&Entries>,
        now: Option<(usize, &Value)>,
        target: &str,
        want: Option<(Value, String)>,
        new: &mut Vec<String>,
    ) {
        match (now, want) {
            (Some((_, v)), Some((w, _))) if *v == w => {}
            (Some((i, _)), Some((_, text))) => {
                let f = &entries.expect("an entry has its table").table.fields[i];
                self.splices.push((f.value.0, f.value.1, text));
            }
            (Some((i, _)), None) => {
                let table = &entries.expect("an entry has its table").table;
                let span = removal(self.text, table, i);
                self.splices.push((span.0, span.1, String::new()));
            }
            (None, Some((_, text))) => new.push(format!("{} = {}", lua_text::key(target), text)),
            (None, None) => {}
        }
    }

    fn map_text(&self, v: &Value) -> String {
        match v {
            Value::Source(s) => quote(s.as_bytes()),
            Value::Transform { source, function } => format!(
                "function(r) return {}({}) end",
                self.modules.call(function),
                lua_text::field("r", source)
            ),
            other => default_text(other),
        }
    }

    /// The indentation of a table's fields: that of its last field's line, or one unit
    /// more than the line the table starts on.
    fn field_indent(&self, t: &TableSpan, statement: usize) -> String {
        match t.fields.last() {
            Some(f) if multi_line(self.text, t) => line_indent(self.text, f.span.0),
            _ => format!("{}{}", line_indent(self.text, statement), self.unit),
        }
    }

    /// Adds fields at the end of a table: each on a line of its own when the table's
    /// closing brace stands alone on its line, else after its last field on that line.
    fn insert_fields(&mut self, t: &TableSpan, new: &[String], indent: &str) {
        let close_line = line_start(self.text, t.close);
        if multi_line(self.text, t) {
            if let Some(last) = t.fields.last() {
                if last.sep.is_none() {
                    self.splices.push((last.span.1, last.span.1, ",".into()));
                }
            }
            let lines: String = new.iter().map(|f| format!("{indent}{f},\n")).collect();
            self.splices.push((close_line, close_line, lines));
            return;
        }
        match t.fields.last() {
            Some(last) => {
                let joined = new.join(", ");
                match last.sep {
                    Some(sep) => self.splices.push((sep.1, sep.1, format!(" {joined},"))),
                    None => self
                        .splices
                        .push((last.span.1, last.span.1, format!(", {joined}"))),
                }
            }
            None => {
                let joined = new.join(", ");
                self.splices
                    .push((t.open + 1, t.close, format!(" {joined} ")));
            }
        }
    }

    /// `{ from = ..., ... }` for a new copy or one written `copy "name"`.
    fn copy_body(&self, edit: &CopyEdit, indent: &str) -> Result<String, EditError> {
        let inner = format!("{indent}{}", self.unit);
        let mut fields = Vec::new();
        fields.push(if edit.target() == edit.from {
            format!("from = {}", quote(edit.from.as_bytes()))
        } else {
            format!(
                "from = {}, to = {}",
                quote(edit.from.as_bytes()),
                quote(edit.target().as_bytes())
            )
        });
        if let Some(m) = &edit.mode {
            check_mode(m)?;
            fields.push(format!("mode = {}", quote(m.as_bytes())));
        }
        if let Some(p) = edit.page {
            check_page(p)?;
            fields.push(format!("page = {p}"));
        }
        let wants = wants(edit)?;
        let map: Vec<String> = wants
            .iter()
            .filter_map(|(t, w)| {
                entry_for_map(t, w).map(|v| format!("{} = {}", lua_text::key(t), self.map_text(&v)))
            })
            .collect();
        let default: Vec<String> = wants
            .iter()
            .filter_map(|(t, w)| {
                entry_for_default(w).map(|v| format!("{} = {}", lua_text::key(t), default_text(&v)))
            })
            .collect();
        let deeper = format!("{inner}{}", self.unit);
        if !map.is_empty() {
            fields.push(format!(
                "map = map {}",
                table_text(&map, &inner, &deeper, true)
            ));
        }
        if !default.is_empty() {
            fields.push(format!(
                "default = default {}",
                table_text(&default, &inner, &deeper, true)
            ));
        }
        let body: String = fields.iter().map(|f| format!("{inner}{f},\n")).collect();
        Ok(format!("{{\n{body}{indent}}}"))
    }

    fn new_copy(&self, edit: &CopyEdit) -> Result<String, EditError> {
        Ok(format!("copy {}\n", self.copy_body(edit, "")?))
    }
}

const DEFAULT_PAGE: u64 = crate::job::DEFAULT_PAGE as u64;

fn check_mode(mode: &str) -> Result<(), EditError> {
    if ["insert", "overwrite", "upsert"].contains(&mode) {
        Ok(())
    } else {
        Err(fail!("mode `{mode}` is none of insert, overwrite, upsert"))
    }
}

fn check_page(page: u64) -> Result<(), EditError> {
    if page == 0 {
        Err(EditError::from("page must be at least 1"))
    } else {
        Ok(())
    }
}

/// Each column's wish, checked; a column named twice is an error.
fn wants(edit: &CopyEdit) -> Result<Vec<(String, Want)>, EditError> {
    let mut out: Vec<(String, Want)> = Vec::new();
    for c in &edit.columns {
        if c.target.is_empty() {
            return Err(EditError::from("a column edit names no target column"));
        }
        if out.iter().any(|(t, _)| *t == c.target) {
            return Err(fail!("column `{}` is given twice", c.target));
        }
        match c.want()? {
            Want::Keep => {}
            want => out.push((c.target.clone(), want)),
        }
    }
    Ok(out)
}

fn entry_for_map(target: &str, want: &Want) -> Option<Value> {
    match want {
        Want::Source(s) if s == target => None,
        Want::Source(s) => Some(Value::Source(s.clone())),
        Want::Transform { source, function } => Some(Value::Transform {
            source: source.clone(),
            function: function.clone(),
        }),
        _ => None,
    }
}

fn entry_for_default(want: &Want) -> Option<Value> {
    match want {
        Want::Value(l) => Some(Value::Literal(l.clone())),
        Want::Sql(s) => Some(Value::Sql(s.clone())),
        _ => None,
    }
}

fn default_text(v: &Value) -> String {
    match v {
        Value::Literal(l) => lua_text::literal(l),
        Value::Sql(s) => format!("sql {}", quote(s)),
        Value::Source(s) => quote(s.as_bytes()),
        Value::Transform { .. } | Value::Lua(_) => String::new(),
    }
}
