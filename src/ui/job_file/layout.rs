//! Where text goes in the job file: lines, indentation, how a table is laid out, what
//! to delete to take a field out.

use super::parse::{JobText, Shape, TableSpan};

/// `{ a, b }` on one line, or one entry a line.
pub fn table_text(entries: &[String], indent: &str, inner: &str, multi: bool) -> String {
    if multi {
        let body: String = entries.iter().map(|e| format!("{inner}{e},\n")).collect();
        format!("{{\n{body}{indent}}}")
    } else {
        format!("{{ {} }}", entries.join(", "))
    }
}

/// Whether a table is laid out a field a line: its closing brace stands alone on its line.
pub fn multi_line(text: &str, t: &TableSpan) -> bool {
    let close_line = line_start(text, t.close);
    close_line > t.open && text[close_line..t.close].trim().is_empty()
}

pub fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0)
}

pub fn line_indent(text: &str, at: usize) -> String {
    let start = line_start(text, at);
    text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// The file's indentation step: that of the first field of a copy table written over
/// several lines, else two spaces.
pub fn indent_unit(text: &str, job: &JobText) -> String {
    for c in &job.copies {
        if let Shape::Table(t) = &c.shape {
            if let Some(f) = t.table.fields.first() {
                if multi_line(text, &t.table) && line_start(text, f.span.0) > t.table.open {
                    let outer = line_indent(text, c.span.0);
                    let inner = line_indent(text, f.span.0);
                    if let Some(unit) = inner.strip_prefix(&outer) {
                        if !unit.is_empty() {
                            return unit.to_string();
                        }
                    }
                }
            }
        }
    }
    "  ".into()
}

/// The bytes to delete to take field `i` out of a table: its whole line(s) when it
/// stands on lines of its own (a comment after it on its line goes with it), else the
/// field and its separator (or the separator before it).
pub fn removal(text: &str, t: &TableSpan, i: usize) -> (usize, usize) {
    let f = &t.fields[i];
    let end = f.sep.map(|s| s.1).unwrap_or(f.span.1);
    let start_line = line_start(text, f.span.0);
    let alone_before = text[start_line..f.span.0].trim().is_empty() && start_line > t.open;
    let rest_of_line = match text[end..].find('\n') {
        Some(n) => &text[end..end + n],
        None => &text[end..],
    };
    let rest = rest_of_line.trim();
    let alone_after = (rest.is_empty() || (rest.starts_with("--") && !rest.starts_with("--[")))
        && end + rest_of_line.len() < t.close;
    if alone_before && alone_after {
        return (start_line, (end + rest_of_line.len() + 1).min(text.len()));
    }
    if f.sep.is_some() {
        let after = text[end..].len() - text[end..].trim_start_matches([' ', '\t']).len();
        return (f.span.0, end + after);
    }
    match i.checked_sub(1).and_then(|p| t.fields[p].sep) {
        Some(prev) => (prev.0, f.span.1),
        None => (f.span.0, f.span.1),
    }
}
