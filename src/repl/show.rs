//! How the prompt prints what a statement returns: query results as aligned tables in
//! the query's column order, `(0 rows)` or `(N rows, 0.012 s)` after each, NULL apart
//! from the text 'NULL', binary bytes as hex, cells cut to the terminal's width, and
//! the vertical form (`\G`, `.x on|off|auto`); other values as Lua would show them.

use std::time::Duration;

use mlua::{Lua, Table, Value as LuaValue};

use crate::table_fmt::{display_width, render};

/// The vertical form: never, always, or when the table is wider than the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expanded {
    Off,
    On,
    Auto,
}

impl Expanded {
    pub fn parse(word: &str) -> Option<Expanded> {
        match word {
            "on" => Some(Expanded::On),
            "off" => Some(Expanded::Off),
            "auto" => Some(Expanded::Auto),
            _ => None,
        }
    }
}

/// How one result is printed.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub expanded: Expanded,
    /// The terminal's columns; `None` when stdout is not a terminal (nothing is cut).
    pub width: Option<usize>,
    /// The time the statement took, printed after a result (not in scripts).
    pub elapsed: Option<Duration>,
}

/// The terminal's width in columns, when stdout is one.
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills the winsize it is given, nothing else.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// One value as the prompt prints it.
pub fn show(state: &Lua, v: &LuaValue, style: &Style) -> String {
    match v {
        LuaValue::Table(t) => {
            if let Some(s) = show_rows(t, style) {
                return s;
            }
            // A sequence (`src:tables()`) in order, as Lua would write it.
            let n = t.raw_len();
            if n > 0 && t.pairs::<LuaValue, LuaValue>().count() == n {
                let items: Vec<String> = (1..=n)
                    .map(|i| scalar(state, &t.raw_get(i).unwrap_or(LuaValue::Nil)))
                    .collect();
                return format!("{{{}}}", items.join(", "));
            }
            let mut parts = Vec::new();
            for (k, v) in t.pairs::<LuaValue, LuaValue>().flatten() {
                let key = match &k {
                    LuaValue::String(s) => s.to_string_lossy(),
                    other => format!("[{}]", scalar(state, other)),
                };
                parts.push(format!("{key} = {}", scalar(state, &v)));
            }
            parts.sort();
            format!("{{{}}}", parts.join(", "))
        }
        other => scalar(state, other),
    }
}

fn scalar(state: &Lua, v: &LuaValue) -> String {
    match v {
        // A table inside a table (a copy's `tables`): its size, not its address.
        LuaValue::Table(t) => {
            let n = t.pairs::<LuaValue, LuaValue>().count();
            format!("{{… {n} {}}}", if n == 1 { "entry" } else { "entries" })
        }
        LuaValue::String(s) => {
            let b = s.as_bytes();
            match std::str::from_utf8(&b) {
                Ok(s) => format!("{s:?}"),
                Err(_) => format!("0x{}", crate::db::value::hex(&b)),
            }
        }
        other => state
            .globals()
            .get::<mlua::Function>("tostring")
            .and_then(|f| f.call::<String>(other.clone()))
            .unwrap_or_else(|_| other.type_name().to_string()),
    }
}

/// `(0 rows)`, `(1 row, 0.004 s)`, `(12 rows, 0.012 s)`, `(3 rows affected, 0.002 s)`.
pub fn count_line(n: usize, what: &str, style: &Style) -> String {
    let what = match (n, what.split_once(' ')) {
        (1, _) => what.to_string(),
        (_, Some((noun, rest))) => format!("{noun}s {rest}"),
        (_, None) => format!("{what}s"),
    };
    match style.elapsed {
        Some(t) if n > 0 => format!("({n} {what}, {:.3} s)", t.as_secs_f64()),
        _ => format!("({n} {what})"),
    }
}

/// A query's rows (they carry their column order) or an array of row tables, as a
/// table; `None` for any other table.
fn show_rows(t: &Table, style: &Style) -> Option<String> {
    let meta = t.metatable();
    let ordered = meta
        .as_ref()
        .and_then(|m| m.raw_get::<Table>("__columns").ok());
    let binary = meta.and_then(|m| m.raw_get::<Table>("__binary").ok());
    let columns: Vec<String> = match ordered {
        Some(c) => c.sequence_values::<String>().flatten().collect(),
        None => {
            let first: Table = t.raw_get(1).ok()?;
            let mut c: Vec<String> = first
                .pairs::<String, LuaValue>()
                .flatten()
                .map(|(k, _)| k)
                .collect();
            c.sort();
            c
        }
    };
    if columns.is_empty() {
        return None;
    }
    let is_binary = |c: &str| {
        binary
            .as_ref()
            .is_some_and(|b| b.raw_get::<bool>(c).unwrap_or(false))
    };
    let mut rows = Vec::new();
    for i in 1..=t.raw_len() {
        let row: Table = t.raw_get(i).ok()?;
        rows.push(
            columns
                .iter()
                .map(|c| {
                    cell(
                        &row.raw_get(c.as_str()).unwrap_or(LuaValue::Nil),
                        is_binary(c),
                    )
                })
                .collect(),
        );
    }
    let n = rows.len();
    let table = layout(&columns, &rows, style);
    Some(format!("{table}{}", count_line(n, "row", style)))
}

/// One cell: NULL as `NULL`, the text NULL quoted (`'NULL'`), binary bytes and text
/// that is not UTF-8 as `0x...`, control characters escaped.
pub fn cell(v: &LuaValue, binary: bool) -> String {
    match v {
        LuaValue::String(s) => {
            let b = s.as_bytes();
            match std::str::from_utf8(&b) {
                Ok(_) if binary => format!("0x{}", crate::db::value::hex(&b)),
                Ok("NULL") => "'NULL'".into(),
                Ok(text) if text.chars().any(char::is_control) => text
                    .chars()
                    .flat_map(crate::db::value::escape_control)
                    .collect(),
                Ok(text) => text.to_string(),
                Err(_) => format!("0x{}", crate::db::value::hex(&b)),
            }
        }
        LuaValue::Integer(i) => i.to_string(),
        LuaValue::Number(x) => x.to_string(),
        LuaValue::Boolean(b) => b.to_string(),
        LuaValue::UserData(_) | LuaValue::LightUserData(_) => "NULL".into(),
        LuaValue::Nil => String::new(),
        other => other.type_name().to_string(),
    }
}

/// The rows as a table cut to the terminal's width, or in the vertical form.
fn layout(columns: &[String], rows: &[Vec<String>], style: &Style) -> String {
    let natural = natural_widths(columns, rows);
    let total = natural.iter().sum::<usize>() + 2 * natural.len().saturating_sub(1);
    let vertical = match style.expanded {
        Expanded::On => true,
        Expanded::Off => false,
        Expanded::Auto => style.width.is_some_and(|w| total > w),
    };
    if vertical && !rows.is_empty() {
        return vertical_form(columns, rows);
    }
    let cap = style.width.and_then(|w| cap_for(&natural, w));
    let cut = |s: &str| match cap {
        Some(c) => cut_to(s, c),
        None => s.to_string(),
    };
    let headers: Vec<String> = columns.iter().map(|c| cut(c)).collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cut(c)).collect())
        .collect();
    render(&headers, &rows, &vec![false; headers.len()])
}

fn natural_widths(columns: &[String], rows: &[Vec<String>]) -> Vec<usize> {
    let mut widths: Vec<usize> = columns.iter().map(|c| display_width(c)).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(c));
        }
    }
    widths
}

/// The widest a cell may be for the table to fit in `width` columns (the widest
/// columns are cut first, none below 5), or `None` when it fits as it is.
fn cap_for(natural: &[usize], width: usize) -> Option<usize> {
    let gaps = 2 * natural.len().saturating_sub(1);
    let fits = |cap: usize| natural.iter().map(|w| (*w).min(cap)).sum::<usize>() + gaps <= width;
    let widest = natural.iter().copied().max().unwrap_or(0);
    if fits(widest) {
        return None;
    }
    let mut cap = widest;
    while cap > 5 && !fits(cap) {
        cap -= 1;
    }
    Some(cap)
}

/// `s` cut to `cap` terminal columns, the last one a `…` when cut.
pub fn cut_to(s: &str, cap: usize) -> String {
    if display_width(s) <= cap {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in s.chars() {
        let w = display_width(ch.encode_utf8(&mut [0; 4]));
        if used + w + 1 > cap {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push('…');
    out
}

/// mysql's `\G` form: a rule per row, then `name: value` lines.
fn vertical_form(columns: &[String], rows: &[Vec<String>]) -> String {
    let label = columns.iter().map(|c| display_width(c)).max().unwrap_or(0);
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&format!("{0} {1}. row {0}\n", "*".repeat(27), i + 1));
        for (c, v) in columns.iter().zip(row) {
            let pad = " ".repeat(label - display_width(c));
            out.push_str(&format!("{pad}{c}: {v}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_tables_are_cut_widest_first() {
        assert_eq!(cap_for(&[2, 3], 80), None);
        // 2 + 2 + 100 > 40: the long column gets what is left.
        assert_eq!(cap_for(&[2, 100], 40), Some(36));
        assert_eq!(cut_to("abcdefgh", 5), "abcd…");
        assert_eq!(cut_to("abc", 5), "abc");
        assert_eq!(cut_to("中文中文", 5), "中文…");
    }

    #[test]
    fn null_is_not_the_text_null() {
        let lua = Lua::new();
        let s = |x: &str| LuaValue::String(lua.create_string(x).unwrap());
        assert_eq!(cell(&s("NULL"), false), "'NULL'");
        assert_eq!(cell(&s("a\tb"), false), "a\\tb");
        assert_eq!(cell(&s("AB"), true), "0x4142");
        let nested = lua
            .load("return {read = 2, tables = {a = {read = 1}, b = {read = 1}}}")
            .eval::<LuaValue>()
            .unwrap();
        let style = Style {
            expanded: Expanded::Off,
            width: None,
            elapsed: None,
        };
        assert_eq!(
            show(&lua, &nested, &style),
            "{read = 2, tables = {… 2 entries}}"
        );
        assert_eq!(cell(&s("a\t日"), false), "a\\t日");
        let raw = LuaValue::String(lua.create_string([0xffu8, 0x00]).unwrap());
        assert_eq!(cell(&raw, false), "0xff00");
    }
}
