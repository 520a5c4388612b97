//! A predicate that picks rows by their key values (`--replay`: the source rows of a
//! rejects file): `(k1, k2) IN ((v, v), ...)`, each value a literal: integers and
//! numbers as numbers, plain UTF-8 text as a quoted string, any other bytes (quotes,
//! backslashes, control characters, not UTF-8) as a hexadecimal literal: exact
//! either way.

use mysql::Value;

use crate::db::schema::quote_ident;

/// `(a, b) IN ((1, 'x'), (2, 'y'))` for key columns `columns` and key rows `keys`.
pub fn keys_in(columns: &[String], keys: &[Vec<Value>]) -> String {
    let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
    let rows: Vec<String> = keys
        .iter()
        .map(|k| {
            let vals: Vec<String> = k.iter().map(literal).collect();
            format!("({})", vals.join(", "))
        })
        .collect();
    format!("({}) IN ({})", cols.join(", "), rows.join(", "))
}

/// A value as an SQL literal.
pub(super) fn literal(v: &Value) -> String {
    match v {
        Value::NULL => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => format!("{f:e}"),
        Value::Double(f) => format!("{f:e}"),
        // Quoted only when nothing in it needs escaping (which `sql_mode` may change).
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) if !s.chars().any(|c| c == '\'' || c == '\\' || c.is_control()) => {
                format!("'{s}'")
            }
            _ => format!("X'{}'", crate::db::value::hex(b)),
        },
        other => format!("'{}'", other.as_sql(true).trim_matches('\'')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_exact_literals() {
        assert_eq!(
            keys_in(&["d".into()], &[vec![Value::Bytes(b"2024-01-01".to_vec())]]),
            "(`d`) IN (('2024-01-01'))"
        );
        let p = keys_in(
            &["id".into(), "na`me".into()],
            &[
                vec![Value::Int(-1), Value::Bytes(b"it's \\ ok".to_vec())],
                vec![Value::UInt(u64::MAX), Value::Bytes(vec![0xff, 0])],
            ],
        );
        assert_eq!(
            p,
            "(`id`, `na``me`) IN ((-1, X'69742773205c206f6b'), (18446744073709551615, X'ff00'))"
        );
    }
}
