//! The two databases side by side: `.tables` (every table of either side with its row
//! estimate on each, and which side lacks it) and `.desc src.users dst.customers`
//! (columns aligned by name, what differs between the two marked: type, NULL-ability,
//! character set, collation, key; columns one side lacks), and `.diff` (the tables both
//! have, with the columns that differ).

use std::collections::BTreeMap;

use crate::db::schema::{did_you_mean, ColumnInfo, TableInfo};
use crate::db::Role;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::table_fmt::render;

use super::sides::{global_name, side_named};

/// `.tables`: the tables of both sides, by name.
pub fn tables(ctx: &Job) -> Result<String> {
    let mut by_name: BTreeMap<String, [Option<u64>; 2]> = BTreeMap::new();
    let mut connected = Vec::new();
    for (i, role) in [Role::Source, Role::Target].into_iter().enumerate() {
        let Some(db) = ctx.open_session(role) else {
            continue;
        };
        connected.push(global_name(role));
        for t in db
            .borrow_mut()
            .tables()?
            .into_iter()
            .filter(|t| !ferry_own(&t.name))
        {
            by_name.entry(t.name).or_default()[i] = Some(t.rows);
        }
    }
    if connected.is_empty() {
        return Err(Error::usage(
            "no side is connected: .connect src URL, .connect dst URL",
        ));
    }
    let rows: Vec<Vec<String>> = by_name
        .iter()
        .map(|(name, [s, d])| {
            let est = |n: &Option<u64>| n.map_or(String::new(), |n| format!("~{n}"));
            let note = match (s, d) {
                (Some(_), None) => "only in src",
                (None, Some(_)) => "only in dst",
                _ => "",
            };
            vec![name.clone(), est(s), est(d), note.to_string()]
        })
        .collect();
    Ok(format!(
        "{}({} tables; connected: {})\n",
        render(
            &["table", "src rows", "dst rows", "note"],
            &rows,
            &[false, true, true, false]
        ),
        rows.len(),
        connected.join(", ")
    ))
}

/// ferry's own job state table, which `.tables` and `.diff` leave out.
fn ferry_own(table: &str) -> bool {
    table == crate::db::state::DEFAULT_TABLE
}

/// `.diff`: the tables both sides have, each with its row estimates and the columns
/// whose definitions differ (`.desc TABLE` shows them); then the tables one side lacks.
pub fn diff(ctx: &Job) -> Result<String> {
    let (Some(src), Some(dst)) = (
        ctx.open_session(Role::Source),
        ctx.open_session(Role::Target),
    ) else {
        return Err(Error::usage(
            ".diff needs both sides: .connect src URL, .connect dst URL",
        ));
    };
    let (mut src, mut dst) = (src.borrow_mut(), dst.borrow_mut());
    let theirs: BTreeMap<String, u64> = dst
        .tables()?
        .into_iter()
        .filter(|t| !ferry_own(&t.name))
        .map(|t| (t.name, t.rows))
        .collect();
    let mut rows = Vec::new();
    let mut only_src = Vec::new();
    let mut same = 0;
    for t in src.tables()?.into_iter().filter(|t| !ferry_own(&t.name)) {
        let Some(dst_rows) = theirs.get(&t.name) else {
            only_src.push(t.name);
            continue;
        };
        let (Some(a), Some(b)) = (src.table_info(&t.name)?, dst.table_info(&t.name)?) else {
            continue;
        };
        let mut differing: Vec<String> = a
            .columns
            .iter()
            .filter(|c| {
                b.find_column(&c.name)
                    .is_none_or(|o| !differences(c, o).is_empty())
            })
            .map(|c| c.name.clone())
            .collect();
        differing.extend(
            b.columns
                .iter()
                .filter(|c| a.find_column(&c.name).is_none())
                .map(|c| c.name.clone()),
        );
        if differing.is_empty() {
            same += 1;
        }
        rows.push(vec![
            t.name,
            format!("~{}", t.rows),
            format!("~{dst_rows}"),
            if differing.is_empty() {
                "same columns".into()
            } else {
                format!("differ: {}", differing.join(", "))
            },
        ]);
    }
    let only_dst: Vec<&String> = theirs
        .keys()
        .filter(|n| !rows.iter().any(|r| &r[0] == *n) && !only_src.contains(n))
        .collect();
    let mut out = render(
        &["table", "src rows", "dst rows", "columns"],
        &rows,
        &[false, true, true, false],
    );
    out.push_str(&format!(
        "({} tables on both sides, {same} with the same columns; .desc TABLE shows one)\n",
        rows.len()
    ));
    if !only_src.is_empty() {
        out.push_str(&format!("only in src: {}\n", only_src.join(", ")));
    }
    if !only_dst.is_empty() {
        let names: Vec<&str> = only_dst.iter().map(|s| s.as_str()).collect();
        out.push_str(&format!("only in dst: {}\n", names.join(", ")));
    }
    Ok(out)
}

/// `.desc src.users dst.customers`, `.desc users` (the same name on both sides; the one
/// side that has it, when the other lacks it) or `.desc src.users` (one side). A name
/// with spaces or dots goes in backticks: `` .desc src.`line items` ``.
pub fn desc(ctx: &Job, args: &str) -> Result<String> {
    let words = desc_words(args)?;
    let both = matches!(words.as_slice(), [(None, _)]);
    let named: Vec<(Role, String)> = match words.as_slice() {
        [(None, one)] => vec![(Role::Source, one.clone()), (Role::Target, one.clone())],
        [_] | [_, _] => words
            .iter()
            .map(|(side, table)| side_table(side.as_deref(), table))
            .collect::<Result<Vec<_>>>()?,
        _ => {
            return Err(Error::usage(
                ".desc takes TABLE, src.TABLE, or src.TABLE dst.TABLE (a name with spaces \
                 in backticks: src.`line items`)",
            ))
        }
    };
    let mut infos = Vec::new();
    let mut lacking = Vec::new();
    for (role, table) in &named {
        let db = ctx.open_session(*role).ok_or_else(|| {
            Error::usage(format!(
                "{n} is not connected: .connect {n} URL",
                n = global_name(*role)
            ))
        })?;
        let mut db = db.borrow_mut();
        let Some(info) = db.table_info(table)? else {
            let tables = db.tables()?;
            let hint = did_you_mean(table, tables.iter().map(|t| t.name.as_str()));
            lacking.push(format!(
                "no table `{table}` in {}{hint}",
                global_name(*role)
            ));
            continue;
        };
        infos.push((*role, info));
    }
    // `.desc T` where one side has T: that side, and a line on the other.
    if both && infos.len() == 1 {
        return Ok(format!(
            "{}({})\n",
            one_side(&infos[0].1),
            lacking.join("; ")
        ));
    }
    if let Some(first) = lacking.into_iter().next() {
        return Err(Error::usage(first));
    }
    Ok(match infos.as_slice() {
        [(_, a), (_, b)] => side_by_side(a, b),
        [(_, a)] => one_side(a),
        _ => unreachable!("one or two sides"),
    })
}

/// `.desc`'s words: split at spaces outside backticks, each as the side before its first
/// dot outside backticks (if any) and the table, backticks taken off (`` `a``b` `` is
/// a`b).
fn desc_words(args: &str) -> Result<Vec<(Option<String>, String)>> {
    let mut words = Vec::new();
    let mut side: Option<String> = None;
    let mut name = String::new();
    let mut started = false;
    let mut chars = args.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('`') if chars.peek() == Some(&'`') => {
                            chars.next();
                            name.push('`');
                        }
                        Some('`') => break,
                        Some(c) => name.push(c),
                        None => {
                            return Err(Error::usage(format!(
                                "`.desc {}`: a backtick is not closed",
                                args.trim()
                            )))
                        }
                    }
                }
            }
            '.' if side.is_none() => side = Some(std::mem::take(&mut name)),
            c if c.is_whitespace() => {
                if started {
                    words.push((side.take(), std::mem::take(&mut name)));
                    started = false;
                }
            }
            c => {
                started = true;
                name.push(c);
            }
        }
    }
    if started {
        words.push((side, name));
    }
    Ok(words)
}

/// `src` and `users` -> (source, "users").
fn side_table(side: Option<&str>, table: &str) -> Result<(Role, String)> {
    let side = side
        .ok_or_else(|| Error::usage(format!("`{table}`: name the side, src.TABLE or dst.TABLE")))?;
    let role = side_named(side).ok_or_else(|| {
        Error::usage(format!(
            "`{side}.{table}`: the side is src or dst, not `{side}`"
        ))
    })?;
    Ok((role, table.to_string()))
}

fn column_type(c: &ColumnInfo) -> String {
    let mut t = c.column_type.clone();
    if let Some(cs) = &c.charset {
        t.push(' ');
        t.push_str(cs);
    }
    t.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
    if let Some(d) = c.default.as_deref().filter(|d| *d != "NULL") {
        t.push_str(" DEFAULT ");
        t.push_str(d);
    }
    if !c.key.is_empty() {
        t.push(' ');
        t.push_str(&c.key);
    }
    // `auto_increment`, `STORED GENERATED`, `on update current_timestamp()`.
    if !c.extra.is_empty() {
        t.push(' ');
        t.push_str(&c.extra);
    }
    t
}

fn one_side(t: &TableInfo) -> String {
    let rows: Vec<Vec<String>> = t
        .columns
        .iter()
        .map(|c| vec![c.name.clone(), column_type(c)])
        .collect();
    format!(
        "{}{}.{}: {} columns, ~{} rows\n",
        render(&["column", "type"], &rows, &[false, false]),
        t.database,
        t.name,
        t.columns.len(),
        t.estimated_rows
    )
}

/// What differs between two columns of the same name.
fn differences(a: &ColumnInfo, b: &ColumnInfo) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.column_type != b.column_type {
        out.push("type");
    }
    if a.nullable != b.nullable {
        out.push("null");
    }
    if a.charset != b.charset {
        out.push("charset");
    }
    if a.collation != b.collation && a.charset == b.charset {
        out.push("collation");
    }
    if a.key != b.key {
        out.push("key");
    }
    out
}

/// Columns aligned by name (case-insensitive, the source's order first, then the
/// target's own), with what differs.
fn side_by_side(a: &TableInfo, b: &TableInfo) -> String {
    let mut rows = Vec::new();
    let mut differing = 0;
    for c in &a.columns {
        let other = b.find_column(&c.name);
        let diff = match other {
            Some(o) => differences(c, o).join(", "),
            None => "only in src".into(),
        };
        differing += usize::from(!diff.is_empty());
        rows.push(vec![
            c.name.clone(),
            column_type(c),
            other.map(column_type).unwrap_or_default(),
            diff,
        ]);
    }
    for c in b
        .columns
        .iter()
        .filter(|c| a.find_column(&c.name).is_none())
    {
        differing += 1;
        rows.push(vec![
            c.name.clone(),
            String::new(),
            column_type(c),
            "only in dst".into(),
        ]);
    }
    format!(
        "{}src {}.{} ({} columns, ~{} rows) | dst {}.{} ({} columns, ~{} rows): {} \
         column{} differ\n",
        render(
            &["column", "src", "dst", "differs"],
            &rows,
            &[false, false, false, false]
        ),
        a.database,
        a.name,
        a.columns.len(),
        a.estimated_rows,
        b.database,
        b.name,
        b.columns.len(),
        b.estimated_rows,
        differing,
        if differing == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn desc_words_take_backticks() {
        let w = |a: &str| super::desc_words(a).unwrap();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(w("users"), vec![(None, "users".to_string())]);
        assert_eq!(
            w("src.`line items`  dst.`a``b`"),
            vec![
                (some("src"), "line items".to_string()),
                (some("dst"), "a`b".to_string())
            ]
        );
        assert_eq!(w("`my.table`"), vec![(None, "my.table".to_string())]);
        assert_eq!(w("src.order"), vec![(some("src"), "order".to_string())]);
        assert!(super::desc_words("src.`open").is_err());
    }
}
