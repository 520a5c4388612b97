//! The SQL of `ferry check`: one aggregate query per copy that counts, for every source
//! column a target column may not hold, the values it would refuse or change
//! (`COUNT(CASE WHEN ... THEN 1 END)` per test, all in one pass over the source), and
//! a small query per hazard found for its first few rows. What to test is decided
//! above (`crate::check`) as plain data (`Test`); the conditions are built here, with
//! every value from outside ferry (ENUM members, SET members, character set names) sent
//! as a hex literal or checked to be a plain name.

use crate::db::schema::{quote_ident, TableInfo};
use crate::db::{Db, Value};
use crate::error::{Error, Result};

/// A condition on one source column that picks the values a target column would refuse
/// or change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// More than this many characters (`CHAR_LENGTH`).
    Chars(u64),
    /// More than this many bytes (`LENGTH`), once converted to `charset` when given.
    Bytes { max: u64, charset: Option<String> },
    /// A character that does not survive a round trip through this character set.
    Charset(String),
    /// Below `min` or above `max` (numeric literals ferry wrote).
    Range { min: String, max: String },
    /// Digits after the point beyond this many.
    Scale(u32),
    /// A fraction of a second finer than this many digits.
    Fraction(u8),
    /// An absolute value above FLOAT's largest.
    FloatRange,
    /// Ends in a space.
    TrailingSpace,
    /// Not one of these ENUM members, byte for byte.
    NotIn(Vec<String>),
    /// Not a comma-separated list of these SET members, byte for byte (empty is one).
    NotSubset(Vec<String>),
    /// NULL.
    Null,
    /// A month or day of zero that is not the zero date (`2024-00-10`).
    ZeroInDate,
    /// A time of day other than midnight.
    TimeOfDay,
    /// Outside `min`..`max` as date-times (UTC), zero dates aside.
    DateRange { min: String, max: String },
    /// A DOUBLE in FLOAT's range that reads back otherwise from a FLOAT (candidates:
    /// `check` keeps those whose shortest FLOAT form is another number).
    FloatPrecision,
    /// Text that is not valid JSON.
    NotJson,
    /// A SET value holding both members of one of these pairs (whose order the target
    /// lists the other way round).
    BothMembers(Vec<(String, String)>),
    /// A row whose values (these columns, as sent) take more than `max` bytes.
    RowBytes { columns: Vec<String>, max: u64 },
}

/// `X'...'` of a string's UTF-8 bytes, as a utf8mb4 string.
fn hex_text(s: &str) -> String {
    format!(
        "CONVERT(X'{}' USING utf8mb4)",
        crate::db::value::hex(s.as_bytes())
    )
}

/// A character set name as information_schema gives it: letters, digits, `_` only.
fn charset_name(name: &str) -> Result<&str> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(name)
    } else {
        Err(Error::usage(format!(
            "`{name}` is not a character set name ferry can check against"
        )))
    }
}

/// A regex that matches `s` literally.
fn regex_literal(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

impl Test {
    /// What an example row shows for the test on column `c`: the column, or for
    /// `RowBytes` the row's bytes.
    pub fn value_expr(&self, c: &str) -> String {
        match self {
            Test::RowBytes { columns, .. } => {
                let parts: Vec<String> = columns
                    .iter()
                    .map(|c| format!("COALESCE(LENGTH({}), 0)", quote_ident(c)))
                    .collect();
                format!("({})", parts.join(" + "))
            }
            _ => c.to_string(),
        }
    }

    /// The SQL condition on the column expression `c` (true: the value is a hazard).
    pub fn condition(&self, c: &str) -> Result<String> {
        Ok(match self {
            Test::Chars(n) => format!("CHAR_LENGTH({c}) > {n}"),
            Test::Bytes { max, charset: None } => format!("LENGTH({c}) > {max}"),
            Test::Bytes {
                max,
                charset: Some(cs),
            } => format!("LENGTH(CONVERT({c} USING {})) > {max}", charset_name(cs)?),
            Test::Charset(cs) => format!(
                "HEX(CONVERT(CONVERT({c} USING {}) USING utf8mb4)) <> HEX(CONVERT({c} USING utf8mb4))",
                charset_name(cs)?
            ),
            Test::Range { min, max } => format!("({c} < {min} OR {c} > {max})"),
            Test::Scale(s) => format!("{c} <> ROUND({c}, {s})"),
            Test::Fraction(d) => {
                format!("MICROSECOND({c}) MOD {} <> 0", 10u32.pow(6 - u32::from(*d)))
            }
            Test::FloatRange => format!("ABS({c}) > 3.402823466e38"),
            Test::TrailingSpace => format!("{c} LIKE '% '"),
            Test::NotIn(members) => {
                let list: Vec<String> = members
                    .iter()
                    .map(|m| format!("X'{}'", crate::db::value::hex(m.as_bytes())))
                    .collect();
                format!(
                    "CAST(CONVERT({c} USING utf8mb4) AS BINARY) NOT IN ({})",
                    list.join(", ")
                )
            }
            Test::NotSubset(members) => {
                let one = members
                    .iter()
                    .map(|m| regex_literal(m))
                    .collect::<Vec<_>>()
                    .join("|");
                format!(
                    "(CONVERT({c} USING utf8mb4) <> '' AND CONVERT({c} USING utf8mb4) COLLATE \
                     utf8mb4_bin NOT REGEXP {})",
                    hex_text(&format!("^({one})(,({one}))*$"))
                )
            }
            Test::Null => format!("{c} IS NULL"),
            Test::ZeroInDate => format!(
                "(MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0) AND NOT (YEAR({c}) = 0 AND MONTH({c}) = 0 \
                 AND DAYOFMONTH({c}) = 0)"
            ),
            Test::TimeOfDay => format!(
                "(HOUR({c}) <> 0 OR MINUTE({c}) <> 0 OR SECOND({c}) <> 0 OR MICROSECOND({c}) <> 0)"
            ),
            Test::FloatPrecision => format!(
                "ABS({c}) <= 3.402823466e38 AND {c} <> CAST(CAST({c} AS FLOAT) AS DOUBLE)"
            ),
            Test::NotJson => format!("JSON_VALID({c}) = 0"),
            Test::RowBytes { max, .. } => format!("{} > {max}", self.value_expr(c)),
            Test::BothMembers(pairs) => {
                let has = |m: &str| {
                    format!(
                        "FIND_IN_SET({}, CONVERT({c} USING utf8mb4)) > 0",
                        hex_text(m)
                    )
                };
                let any: Vec<String> = pairs
                    .iter()
                    .map(|(a, b)| format!("({} AND {})", has(a), has(b)))
                    .collect();
                format!("({})", any.join(" OR "))
            }
            Test::DateRange { min, max } => format!(
                "({c} < '{min}' OR {c} > '{max}') AND MONTH({c}) <> 0 AND DAYOFMONTH({c}) <> 0"
            ),
        })
    }
}

/// What to count: a source column and the test on it.
#[derive(Debug, Clone)]
pub struct Probe {
    pub column: String,
    pub test: Test,
}

/// ` WHERE (filter)`, or nothing.
fn where_clause(filter: Option<&str>, more: Option<&str>) -> String {
    let conds: Vec<String> = filter
        .into_iter()
        .chain(more)
        .map(|c| format!("({c})"))
        .collect();
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

/// A count as the server sends it.
pub(crate) fn count_of(v: &Value) -> u64 {
    match v {
        Value::Int(i) => (*i).max(0) as u64,
        Value::UInt(u) => *u,
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

impl Db {
    /// How many rows of `table` (those `filter` keeps) each probe picks, in one query.
    pub fn hazard_counts(
        &mut self,
        table: &TableInfo,
        filter: Option<&str>,
        probes: &[Probe],
    ) -> Result<Vec<u64>> {
        if probes.is_empty() {
            return Ok(Vec::new());
        }
        let mut counts = Vec::with_capacity(probes.len());
        for p in probes {
            let cond = p.test.condition(&quote_ident(&p.column))?;
            counts.push(format!("COUNT(CASE WHEN {cond} THEN 1 END)"));
        }
        let sql = format!(
            "SELECT {} FROM {}{}",
            counts.join(", "),
            table.quoted_name(),
            where_clause(filter, None)
        );
        let rows = self.query(&sql, vec![])?;
        let row = rows.rows.into_iter().next().unwrap_or_default();
        Ok((0..probes.len())
            .map(|i| row.get(i).map(count_of).unwrap_or(0))
            .collect())
    }

    /// The first `limit` rows `probe` picks, in `key` order: each row's key values and
    /// the column's value.
    pub fn hazard_examples(
        &mut self,
        table: &TableInfo,
        filter: Option<&str>,
        key: &[String],
        probe: &Probe,
        limit: u32,
    ) -> Result<Vec<(Vec<Value>, Value)>> {
        let column = quote_ident(&probe.column);
        let cond = probe.test.condition(&column)?;
        let keys: Vec<String> = key.iter().map(|k| quote_ident(k)).collect();
        let mut select = keys.clone();
        select.push(probe.test.value_expr(&column));
        let order = if keys.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", keys.join(", "))
        };
        let sql = format!(
            "SELECT {} FROM {}{}{order} LIMIT {limit}",
            select.join(", "),
            table.quoted_name(),
            where_clause(filter, Some(&cond))
        );
        let rows = self.query(&sql, vec![])?;
        Ok(rows
            .rows
            .into_iter()
            .map(|mut r| {
                let value = r.pop().unwrap_or(Value::NULL);
                (r, value)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions() {
        assert_eq!(
            Test::Chars(5).condition("`v`").unwrap(),
            "CHAR_LENGTH(`v`) > 5"
        );
        assert_eq!(
            Test::NotIn(vec!["a".into(), "b'".into()])
                .condition("`e`")
                .unwrap(),
            "CAST(CONVERT(`e` USING utf8mb4) AS BINARY) NOT IN (X'61', X'6227')"
        );
        assert!(Test::Charset("latin1; DROP".into())
            .condition("`v`")
            .is_err());
        assert_eq!(regex_literal("a.b c"), "a\\.b c");
        assert_eq!(
            Test::Fraction(3).condition("`t`").unwrap(),
            "MICROSECOND(`t`) MOD 1000 <> 0"
        );
        assert_eq!(
            where_clause(Some("a = 1"), Some("b")),
            " WHERE (a = 1) AND (b)"
        );
        assert_eq!(where_clause(None, None), "");
    }
}
