//! The SQL of a sample (`sample{}`): the seed rows' keys (`where`, `percent`, `limit`),
//! the keys of the rows a set of rows references or is referenced by through one
//! foreign key, the `where` text that selects a set of keys, and the count of rows
//! whose foreign key finds no parent (the referential check after a sample). Keys
//! travel as SQL literals that compare as the column compares (a bound text parameter
//! would compare as bytes against a latin1 column), in chunks; the key sets themselves
//! are held by the caller (`plan::sample`).

use super::schema::{quote_ident, ColumnInfo};
use super::{Db, Value};
use crate::error::Result;

/// Keys per statement when a key set is sent as parameters.
const CHUNK: usize = 500;

/// One side of a join between two tables through a foreign key: `from`'s rows with
/// the given keys, joined on `on` (from column, to column) to `to`, whose keys come
/// back.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    pub from: &'a str,
    pub from_key: &'a [ColumnInfo],
    pub to: &'a str,
    pub to_key: &'a [String],
    pub on: Vec<(&'a str, &'a str)>,
}

fn columns(alias: &str, cols: &[String]) -> String {
    cols.iter()
        .map(|c| format!("{alias}.{}", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Db {
    /// The keys (`key` columns, in key order) of `table`'s rows that match `filter`;
    /// with `percent`, about that share of them, picked by a hash of the key (the same
    /// rows every time); with `limit`, at most that many, the first in key order.
    pub fn seed_keys(
        &mut self,
        table: &str,
        key: &[String],
        filter: Option<&str>,
        percent: Option<f64>,
        limit: Option<u64>,
    ) -> Result<Vec<Vec<Value>>> {
        let mut conditions = Vec::new();
        if let Some(w) = filter {
            conditions.push(format!("({w})"));
        }
        if let Some(p) = percent {
            // CRC32 of the key's text: spread over the table, and stable across runs.
            let text = format!("CONCAT_WS(0x1f, {})", columns("s", key));
            conditions.push(format!(
                "MOD(CRC32({text}), 100000) < {}",
                (p * 1000.0).round() as u64
            ));
        }
        let mut sql = format!(
            "SELECT {} FROM {}.{} s",
            columns("s", key),
            quote_ident(self.database()),
            quote_ident(table)
        );
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        sql.push_str(&format!(" ORDER BY {}", columns("s", key)));
        if let Some(n) = limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        Ok(self.query(&sql, Vec::new())?.rows)
    }

    /// The keys of `step.to`'s rows joined through `step.on` to `step.from`'s rows
    /// with the keys `keys` (each once).
    pub fn related_keys(
        &mut self,
        step: &Step<'_>,
        keys: &[Vec<Value>],
    ) -> Result<Vec<Vec<Value>>> {
        let on: Vec<String> = step
            .on
            .iter()
            .map(|(f, t)| format!("t.{} = f.{}", quote_ident(t), quote_ident(f)))
            .collect();
        let db = quote_ident(self.database());
        let mut found = Vec::new();
        let from_key: Vec<&ColumnInfo> = step.from_key.iter().collect();
        for chunk in keys.chunks(CHUNK) {
            let sql = format!(
                "SELECT DISTINCT {} FROM {db}.{} f JOIN {db}.{} t ON {} WHERE {}",
                columns("t", step.to_key),
                quote_ident(step.from),
                quote_ident(step.to),
                on.join(" AND "),
                keys_in(Some("f"), &from_key, chunk)
            );
            found.extend(self.query(&sql, Vec::new())?.rows);
        }
        Ok(found)
    }

    /// How many of `table`'s rows have all of `columns` set and find no row of
    /// `parent` with those values in `parent_columns`.
    pub fn orphans(
        &mut self,
        table: &str,
        columns: &[String],
        parent: &str,
        parent_columns: &[String],
    ) -> Result<u64> {
        let db = quote_ident(self.database());
        let on: Vec<String> = columns
            .iter()
            .zip(parent_columns)
            .map(|(c, p)| format!("p.{} = c.{}", quote_ident(p), quote_ident(c)))
            .collect();
        let set: Vec<String> = columns
            .iter()
            .map(|c| format!("c.{} IS NOT NULL", quote_ident(c)))
            .collect();
        let sql = format!(
            "SELECT COUNT(*) FROM {db}.{} c LEFT JOIN {db}.{} p ON {} WHERE {} AND p.{} IS NULL",
            quote_ident(table),
            quote_ident(parent),
            on.join(" AND "),
            set.join(" AND "),
            quote_ident(&parent_columns[0])
        );
        let rows = self.query(&sql, Vec::new())?;
        Ok(match rows.rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => *n as u64,
            Some(Value::UInt(n)) => *n,
            Some(Value::Bytes(b)) => String::from_utf8_lossy(b).parse().unwrap_or(0),
            _ => 0,
        })
    }
}

/// The `where` text that selects exactly `keys` of a table whose key columns are
/// `cols`: `` `id` IN (1, 2) `` or `` (`a`, `b`) IN ((1, 'x'), ...) ``; `1 = 0` for
/// no key.
pub fn key_filter(cols: &[&ColumnInfo], keys: &[Vec<Value>]) -> String {
    keys_in(None, cols, keys)
}

/// `key_filter`, its columns qualified with `alias` when given.
fn keys_in(alias: Option<&str>, cols: &[&ColumnInfo], keys: &[Vec<Value>]) -> String {
    if keys.is_empty() {
        return "1 = 0".to_string();
    }
    let names: Vec<String> = cols
        .iter()
        .map(|c| match alias {
            Some(a) => format!("{a}.{}", quote_ident(&c.name)),
            None => quote_ident(&c.name),
        })
        .collect();
    let tuples: Vec<String> = keys
        .iter()
        .map(|k| {
            let items: Vec<String> = k.iter().zip(cols).map(|(v, c)| literal(v, c)).collect();
            if items.len() == 1 {
                items.into_iter().next().unwrap_or_default()
            } else {
                format!("({})", items.join(", "))
            }
        })
        .collect();
    if names.len() == 1 {
        format!("{} IN ({})", names[0], tuples.join(", "))
    } else {
        format!("({}) IN ({})", names.join(", "), tuples.join(", "))
    }
}

/// A key value as SQL text that compares equal to it in `col`: numbers as digits,
/// text as a hex literal in the session's character set (utf8mb4, as it was read)
/// converted to the column's, binary strings as raw bytes, dates as their text.
fn literal(v: &Value, col: &ColumnInfo) -> String {
    match v {
        Value::NULL => "NULL".to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => format!("{f:e}"),
        Value::Double(f) => format!("{f:e}"),
        Value::Bytes(b) => {
            let hex = crate::db::value::hex(b);
            if let Some(cs) = &col.charset {
                // Converted to the column's own character set and collation: MariaDB
                // 10.11 compares a row `IN` list of several tuples wrongly when a
                // literal's character set differs from its column's.
                let collate = match &col.collation {
                    Some(c) => format!(" COLLATE {c}"),
                    None => String::new(),
                };
                format!("CONVERT(_utf8mb4 X'{hex}' USING {cs}){collate}")
            } else if is_number(&col.data_type) {
                String::from_utf8_lossy(b).into_owned()
            } else {
                format!("X'{hex}'")
            }
        }
        Value::Date(y, m, d, h, mi, s, us) => {
            format!("'{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}'")
        }
        Value::Time(neg, d, h, mi, s, us) => format!(
            "'{}{}:{mi:02}:{s:02}.{us:06}'",
            if *neg { "-" } else { "" },
            *d * 24 + u32::from(*h)
        ),
    }
}

fn is_number(data_type: &str) -> bool {
    matches!(
        data_type.to_ascii_lowercase().as_str(),
        "decimal"
            | "numeric"
            | "tinyint"
            | "smallint"
            | "mediumint"
            | "int"
            | "integer"
            | "bigint"
            | "float"
            | "double"
            | "bit"
            | "year"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, data_type: &str, charset: Option<&str>) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            column_type: data_type.into(),
            data_type: data_type.into(),
            nullable: false,
            default: None,
            key: "PRI".into(),
            extra: String::new(),
            charset: charset.map(String::from),
            collation: None,
        }
    }

    #[test]
    fn a_key_set_becomes_a_where_text_that_selects_it() {
        let id = col("id", "int", None);
        assert_eq!(
            key_filter(&[&id], &[vec![Value::Int(1)], vec![Value::Int(-2)]]),
            "`id` IN (1, -2)"
        );
        assert_eq!(key_filter(&[&id], &[]), "1 = 0");
        let name = col("na`me", "varchar", Some("latin1"));
        let when = col("at", "datetime", None);
        let raw = col("raw", "varbinary", None);
        let f = key_filter(
            &[&name, &when, &raw],
            &[vec![
                Value::Bytes("é'".as_bytes().to_vec()),
                Value::Date(2024, 2, 29, 13, 45, 0, 12),
                Value::Bytes(vec![0, 255]),
            ]],
        );
        assert_eq!(
            f,
            "(`na``me`, `at`, `raw`) IN ((CONVERT(_utf8mb4 X'c3a927' USING latin1), \
             '2024-02-29 13:45:00.000012', X'00ff'))"
        );
        assert!(crate::db::predicate::check_where(&f).is_ok());
        let dec = col("d", "decimal", None);
        assert_eq!(
            key_filter(&[&dec], &[vec![Value::Bytes(b"-1.50".to_vec())]]),
            "`d` IN (-1.50)"
        );
    }
}
