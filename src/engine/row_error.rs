//! What a row error says about its row: the target columns the server's message names
//! (`for column 'x'`, `Column 'x' cannot be null`, `Field 'x' doesn't have a default
//! value`, `Duplicate entry 'v' for key 'k'`), the row's values there (cut short and
//! shown safely), and whether a message is about values (so the page's rows, written one
//! at a time, find the row). The message itself loses its "at row N", which counts rows
//! of one statement and would contradict the source key ferry names instead, through
//! `db::write::without_row_number`.

use crate::db::Value;

use crate::db::value::{printable, to_text, Kind};
use crate::error::Culprit;
use crate::plan::CopyPlan;

/// Characters of a value a message shows at most.
pub const VALUE_CHARS: usize = 40;

/// The target columns a server message names, in the plan's target table.
pub fn columns_in_message(plan: &CopyPlan, message: &str) -> Vec<String> {
    let known = |name: &str| -> Option<String> {
        plan.target
            .column(name)
            .or_else(|| plan.target.find_column(name))
            .map(|c| c.name.clone())
    };
    // Duplicate entry 'v' for key 'k': the key's columns.
    if let Some(key) = after_last(message, "for key ").and_then(quoted_name) {
        // MySQL 8 says 'table.key'.
        let index = plan
            .target
            .indexes
            .iter()
            .find(|i| i.name == key)
            .or_else(|| {
                key.rsplit_once('.')
                    .and_then(|(_, k)| plan.target.indexes.iter().find(|i| i.name == k))
            });
        if let Some(index) = index {
            return index.columns.clone();
        }
    }
    // The value, quoted in some messages, comes before the server's "for column".
    let named = after_last(message, "for column ")
        .and_then(quoted_name)
        .or_else(|| after(message, "Column ").and_then(quoted_name))
        .or_else(|| after_last(message, "column ").and_then(quoted_name))
        .or_else(|| after(message, "Field ").and_then(quoted_name));
    if let Some(c) = named.as_deref().and_then(known) {
        return vec![c];
    }
    Vec::new()
}

/// The columns a message names, with the row's values there. `row` holds the values of
/// the plan's value columns (`CopyPlan::value_columns`), in order.
pub fn culprits(plan: &CopyPlan, message: &str, row: Option<&[Value]>) -> Vec<Culprit> {
    columns_in_message(plan, message)
        .into_iter()
        .map(|column| {
            let kind = plan
                .target
                .column(&column)
                .map(|c| c.kind())
                .unwrap_or(Kind::Bytes);
            let value = plan
                .value_columns()
                .position(|c| c.name == column)
                .and_then(|i| row.and_then(|r| r.get(i)))
                .map(|v| show_value(v, kind));
            Culprit { column, value }
        })
        .collect()
}

/// A value for a message: NULL, a number, or quoted text cut to `VALUE_CHARS`
/// characters; bytes that are not printable UTF-8 as hex.
pub fn show_value(v: &Value, kind: Kind) -> String {
    let Some(bytes) = to_text(v, kind) else {
        return "NULL".into();
    };
    let numeric = matches!(
        v,
        Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Double(_)
    );
    let text = match std::str::from_utf8(&bytes) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_string(),
        // Not text: hex, unquoted, as MySQL writes such literals.
        _ => {
            let shown: String = printable(&bytes)
                .chars()
                .take(2 + 2 * VALUE_CHARS)
                .collect();
            return if shown.len() < 2 + 2 * bytes.len() {
                format!("{shown}… ({} bytes)", bytes.len())
            } else {
                shown
            };
        }
    };
    let short: String = text.chars().take(VALUE_CHARS).collect();
    let cut = if short.len() < text.len() {
        format!("… ({} bytes)", bytes.len())
    } else {
        String::new()
    };
    if numeric {
        format!("{short}{cut}")
    } else {
        format!("'{short}'{cut}")
    }
}

/// The text after the first `marker` in `message`.
fn after<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    message.find(marker).map(|i| &message[i + marker.len()..])
}

/// The text after the last `marker` in `message`.
fn after_last<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    message.rfind(marker).map(|i| &message[i + marker.len()..])
}

/// The name quoted at the start of `s`: `'x'`, `` `x` `` or `` `db`.`t`.`x` `` (the last
/// part).
fn quoted_name(s: &str) -> Option<String> {
    let mut rest = s;
    let mut last = None;
    loop {
        let q = rest.chars().next()?;
        if q != '\'' && q != '`' && q != '"' {
            return last;
        }
        let end = rest[1..].find(q)? + 1;
        last = Some(rest[1..end].to_string());
        rest = &rest[end + 1..];
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None => return last,
        }
    }
}

/// Whether a server error is about the values of a row (SQLSTATE class 22, data
/// exception; 23, integrity constraint; 45, a trigger's SIGNAL; or a value warning),
/// so writing the page's rows one at a time finds the row. Errors about the statement,
/// the table or the session (a missing table, a denied privilege) are not: every row
/// would fail alike.
pub fn is_about_values(message: &str) -> bool {
    match sql_error(message) {
        Some((code, state)) => {
            ["22", "23", "45"].iter().any(|c| state.starts_with(c)) || matches!(code, 1364 | 1366)
        }
        // Not a server error: a warning the page turned into an error (about a value),
        // or a failure of ferry's own; writing the rows one at a time tells.
        None => true,
    }
}

/// How `ferry check` names what a server message refuses: `(check: truncate in column
/// `v`)`, the same words as its report and a run's log, when the message names one
/// column and says what of its value was wrong.
pub fn check_words(plan: &CopyPlan, message: &str) -> Option<String> {
    let column = columns_in_message(plan, message).into_iter().next()?;
    let ty = plan
        .target
        .column(&column)
        .map_or(String::new(), |c| c.data_type.to_ascii_lowercase());
    let kind = if message.contains("Data too long") {
        "truncate"
    } else if message.contains("Out of range value") {
        "range"
    } else if message.contains("Incorrect string value") {
        "charset"
    } else if message.contains("cannot be null") {
        "not_null"
    } else if message.contains("Invalid JSON") {
        "json"
    } else if message.contains("Data truncated") {
        match ty.as_str() {
            "enum" | "set" => "enum",
            "decimal" | "numeric" => "scale",
            _ => "truncate",
        }
    } else if message.contains("Incorrect datetime value")
        || message.contains("Incorrect date value")
    {
        if ty == "timestamp" {
            "timestamp_range"
        } else {
            "zero_date"
        }
    } else {
        return None;
    };
    Some(format!("(check: {kind} in column `{column}`)"))
}

/// `ERROR 1048 (23000): ...` -> (1048, "23000")
pub fn sql_error(message: &str) -> Option<(u32, String)> {
    let rest = after(message, "ERROR ")?;
    let (code, rest) = rest.split_once(' ')?;
    let code = code.parse().ok()?;
    let state = rest.strip_prefix('(')?.split_once(')')?.0.to_string();
    Some((code, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_messages() {
        assert_eq!(quoted_name("'v' at row 1"), Some("v".into()));
        assert_eq!(quoted_name("`db`.`t`.`c` at row 1"), Some("c".into()));
        assert_eq!(quoted_name("x"), None);
        assert_eq!(
            sql_error("ERROR 1048 (23000): Column 'x' cannot be null"),
            Some((1048, "23000".into()))
        );
        assert!(is_about_values(
            "ERROR 1048 (23000): Column 'x' cannot be null"
        ));
        assert!(!is_about_values(
            "ERROR 1142 (42000): INSERT command denied to user"
        ));
    }

    fn plan() -> CopyPlan {
        use crate::db::schema::{ColumnInfo, IndexInfo, TableInfo};
        use crate::plan::{resolve, CopySpec, Mode};
        let col = |name: &str, data_type: &str| ColumnInfo::for_test(name, data_type);
        let table = TableInfo {
            database: "d".into(),
            name: "t".into(),
            columns: vec![col("id", "int"), col("Email", "varchar"), col("n", "int")],
            indexes: vec![
                IndexInfo {
                    name: "PRIMARY".into(),
                    unique: true,
                    columns: vec!["id".into()],
                    not_null: true,
                },
                IndexInfo {
                    name: "mail_n".into(),
                    unique: true,
                    columns: vec!["Email".into(), "n".into()],
                    not_null: false,
                },
            ],
            estimated_rows: 0,
            avg_row_bytes: 0,
            triggers: Vec::new(),
        };
        let spec = CopySpec {
            mode: Mode::Upsert,
            ..CopySpec::new("t", "t", 10, "job.lua:1")
        };
        resolve(&spec, &table, &table).unwrap()
    }

    #[test]
    fn columns_and_values_of_server_messages() {
        let plan = plan();
        let row = [Value::Int(7), Value::from("a@x"), Value::Int(3)];
        let named = |m: &str| culprits(&plan, m, Some(&row));
        assert_eq!(
            named("ERROR 1048 (23000): Column 'email' cannot be null"),
            vec![Culprit {
                column: "Email".into(),
                value: Some("'a@x'".into())
            }]
        );
        assert_eq!(
            named("ERROR 1366 (22007): Incorrect integer value: 'for column `id`' for column `d`.`t`.`n` at row 2")[0].column,
            "n"
        );
        let dup = named("ERROR 1062 (23000): Duplicate entry 'a@x-3' for key 'mail_n'");
        assert_eq!(dup.len(), 2);
        assert_eq!(dup[1].value.as_deref(), Some("3"));
        assert_eq!(
            named("ERROR 1062 (23000): Duplicate entry '7' for key 't.PRIMARY'")[0].column,
            "id"
        );
        assert_eq!(
            named("Warning 1263: Column set to default value; NULL supplied to NOT NULL column 'n' at row 3")[0].column,
            "n"
        );
        assert!(named("ERROR 4025 (23000): CONSTRAINT `c` failed for `d`.`t`").is_empty());
        assert_eq!(
            check_words(&plan, "ERROR 1048 (23000): Column 'email' cannot be null").as_deref(),
            Some("(check: not_null in column `Email`)")
        );
        assert_eq!(
            check_words(
                &plan,
                "ERROR 1406 (22001): Data too long for column 'n' at row 1"
            )
            .as_deref(),
            Some("(check: truncate in column `n`)")
        );
        assert_eq!(
            check_words(
                &plan,
                "ERROR 4025 (23000): CONSTRAINT `c` failed for `d`.`t`"
            ),
            None
        );
    }

    #[test]
    fn values_are_cut_and_safe() {
        assert_eq!(show_value(&Value::NULL, Kind::Bytes), "NULL");
        assert_eq!(show_value(&Value::Int(-3), Kind::Int), "-3");
        assert_eq!(show_value(&Value::from("it's"), Kind::Bytes), "'it's'");
        assert_eq!(show_value(&Value::from("a\nb"), Kind::Bytes), "0x610a62");
        let long = "x".repeat(100);
        assert_eq!(
            show_value(&Value::from(long.as_str()), Kind::Bytes),
            format!("'{}'… (100 bytes)", "x".repeat(40))
        );
        assert_eq!(
            show_value(&Value::Bytes(vec![0, 1, 255]), Kind::Bytes),
            "0x0001ff"
        );
        assert_eq!(
            show_value(&Value::Bytes(vec![0; 50]), Kind::Bytes),
            format!("0x{}… (50 bytes)", "00".repeat(40))
        );
    }
}
