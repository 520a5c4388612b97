//! Values the target would change without a word. In the target's sql_mode MariaDB
//! refuses most values that do not fit, or says so in a note, but some narrowings it
//! makes silently: `1.5` (or `'1.5'`) into an integer column is rounded, a DOUBLE into
//! a FLOAT loses digits, and a fraction of a second beyond a DATETIME's, TIMESTAMP's or
//! TIME's precision is dropped. ferry checks those values itself, before writing.
//!
//! What to check is decided once per copy and column (`Fit::new`): only target columns
//! of those types whose values may hold more than the column keeps (a source column of
//! a wider type, or any value a transform makes). Other columns cost nothing per row.
//! Rows that cross undecoded (`raw`) cannot be checked value by value: a copy with such
//! a column pair is written from decoded values (`narrowing_pair`).

use crate::db::Value;

use crate::db::schema::{ColumnInfo, TableInfo};
use crate::db::wire::RawSource;
use crate::db::write::{Misfit, RowCheck};
use crate::plan::{Accept, CopyPlan, Fill};

mod refused;
mod value;
pub use refused::refused_row;
use value::{misfit, shown};

/// What a target column keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// An integer: no fraction.
    Int,
    /// A FLOAT: what a 4-byte float holds, and at most this many decimals
    /// (`FLOAT(M,D)`).
    Float(Option<u8>),
    /// A DOUBLE: what an 8-byte float holds, and at most this many decimals
    /// (`DOUBLE(M,D)`).
    Double(Option<u8>),
    /// A DATETIME, TIMESTAMP or TIME with this many fraction digits (below 6).
    Fraction(u8),
    /// A BINARY(n): a shorter value is padded with zero bytes.
    Binary(usize),
    /// A YEAR: 1 to 99 (and '0' to '99' as text) become years of this century or the
    /// last.
    Year,
    /// A CHAR (PAD SPACE): trailing spaces are gone when the value is read back.
    CharSpaces,
    /// An ENUM (its members are `Fit::members[i]`): a value equal to a member only in
    /// the column's collation (another letter case, trailing spaces) is stored as the
    /// member.
    Enum(usize),
}

/// The checks of one copy: (value index, check, target column).
#[derive(Debug, Clone)]
pub struct Fit {
    checks: Vec<(usize, Check, String, String)>,
    /// The members of each ENUM checked, byte for byte.
    members: Vec<Vec<Vec<u8>>>,
}

/// The check a target column needs for values of any type, if any.
fn check_for(target: &ColumnInfo) -> Option<Check> {
    let t = target.data_type.to_ascii_lowercase();
    match t.as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => Some(Check::Int),
        "float" => Some(Check::Float(decimals(&target.column_type))),
        "double" | "real" | "double precision" => {
            Some(Check::Double(decimals(&target.column_type)))
        }
        "binary" => Some(Check::Binary(
            target
                .column_type
                .split_once('(')
                .and_then(|(_, r)| r.trim_end_matches(')').parse().ok())
                .unwrap_or(1),
        )),
        "year" => Some(Check::Year),
        "char" => Some(Check::CharSpaces),
        "enum" => Some(Check::Enum(usize::MAX)),
        "datetime" | "timestamp" | "time" => match target.kind() {
            crate::db::value::Kind::DateTime(p) | crate::db::value::Kind::Time(p) if p < 6 => {
                Some(Check::Fraction(p))
            }
            _ => None,
        },
        _ => None,
    }
}

/// D of a `FLOAT(M,D)` or `DOUBLE(M,D)`.
fn decimals(column_type: &str) -> Option<u8> {
    let (_, r) = column_type.split_once('(')?;
    let (_, d) = r.split(')').next()?.split_once(',')?;
    d.trim().parse().ok()
}

/// Fraction digits of a source temporal column (`datetime(3)` -> 3).
fn fsp(c: &ColumnInfo) -> u8 {
    c.column_type
        .split_once('(')
        .and_then(|(_, r)| r.split(')').next()?.parse().ok())
        .unwrap_or(0)
}

/// Whether values of source column `source` may change silently in `target`.
fn narrows(source: &ColumnInfo, target: &ColumnInfo) -> Option<Check> {
    let check = check_for(target)?;
    let s = source.data_type.to_ascii_lowercase();
    let narrowing = match check {
        Check::Int => match s.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year"
            | "bit" | "bool" | "boolean" => false,
            // A DECIMAL without a fraction holds none.
            "decimal" | "numeric" => !decimal_scale_is_zero(&source.column_type),
            // Dates and times become numbers without a fraction unless they have one.
            "date" => false,
            "datetime" | "timestamp" | "time" => fsp(source) > 0,
            _ => true,
        },
        // Integers fit unless they are wider than the float's mantissa; anything with
        // a fraction may hold more decimals than the column keeps.
        Check::Float(d) => match s.as_str() {
            "tinyint" | "smallint" | "mediumint" | "year" | "bit" | "bool" | "boolean" => false,
            "float" => d.is_some(),
            _ => true,
        },
        Check::Double(d) => match s.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "year" | "bit" | "bool"
            | "boolean" | "date" => false,
            "float" | "double" | "real" | "double precision" => d.is_some(),
            "decimal" | "numeric" => d.is_some() || decimal_digits(&source.column_type) > 15,
            _ => true,
        },
        Check::Binary(_) => source.column_type != target.column_type,
        Check::Year => s != "year",
        // A CHAR's or ENUM's values have no trailing spaces; numbers and dates none.
        Check::CharSpaces => !matches!(
            s.as_str(),
            "char"
                | "enum"
                | "set"
                | "tinyint"
                | "smallint"
                | "mediumint"
                | "int"
                | "integer"
                | "bigint"
                | "decimal"
                | "numeric"
                | "float"
                | "double"
                | "year"
                | "date"
                | "datetime"
                | "timestamp"
                | "time"
                | "bit"
        ),
        Check::Enum(_) => source.column_type != target.column_type,
        Check::Fraction(p) => match s.as_str() {
            "datetime" | "timestamp" | "time" => fsp(source) > p,
            "date" | "year" | "tinyint" | "smallint" | "mediumint" | "int" | "integer"
            | "bigint" => false,
            _ => true,
        },
    };
    narrowing.then_some(check)
}

/// M of a `DECIMAL(M,D)` (10 when not given).
fn decimal_digits(column_type: &str) -> u32 {
    column_type
        .split_once('(')
        .and_then(|(_, r)| r.split([',', ')']).next()?.trim().parse().ok())
        .unwrap_or(10)
}

fn decimal_scale_is_zero(column_type: &str) -> bool {
    match column_type.split_once('(') {
        Some((_, r)) => {
            let inner = r.split(')').next().unwrap_or("");
            match inner.split_once(',') {
                Some((_, scale)) => scale.trim() == "0",
                None => true,
            }
        }
        None => true,
    }
}

impl Fit {
    /// The checks `plan` needs: source columns that may narrow, and every checkable
    /// column whose values a transform, a map function or a default makes. `None` when
    /// no column needs one.
    pub fn new(plan: &CopyPlan) -> Option<Fit> {
        let mut checks = Vec::new();
        let mut members = Vec::new();
        for (i, c) in plan.value_columns().enumerate() {
            let Some(target) = plan.target.column(&c.name) else {
                continue;
            };
            let check = match &c.fill {
                Fill::Source(s) => narrows(&plan.source.columns[*s], target),
                _ => check_for(target),
            };
            if let Some(check) = unless_accepted(check, target, &plan.accept, &mut members) {
                checks.push((i, check, c.name.clone(), target.column_type.clone()));
            }
        }
        (!checks.is_empty()).then_some(Fit { checks, members })
    }

    /// The checks of rows a transform emits (`emit`) with values for `columns` of
    /// `table`, in that order: every value is made in Lua, so every checkable column is
    /// checked, unless the copy's `accept` names the hazard (by kind, or `kind:column`).
    pub fn emitted(table: &TableInfo, columns: &[String], accept: &Accept) -> Option<Fit> {
        let mut checks = Vec::new();
        let mut members = Vec::new();
        for (i, name) in columns.iter().enumerate() {
            let Some(target) = table.column(name) else {
                continue;
            };
            let check = unless_accepted(check_for(target), target, accept, &mut members);
            if let Some(check) = check {
                checks.push((i, check, name.clone(), target.column_type.clone()));
            }
        }
        (!checks.is_empty()).then_some(Fit { checks, members })
    }
}

/// `check` of target column `target`, unless the job accepted its hazard by name
/// (`ferry check`'s kinds: a CHAR's trailing spaces, an ENUM's members); an ENUM's
/// members are kept in `members`.
fn unless_accepted(
    check: Option<Check>,
    target: &ColumnInfo,
    accept: &Accept,
    members: &mut Vec<Vec<Vec<u8>>>,
) -> Option<Check> {
    let name = &target.name;
    match check {
        Some(Check::CharSpaces) if accept.accepts_value("char_trailing_space", name) => None,
        Some(Check::Enum(_)) if accept.accepts_value("enum", name) => None,
        Some(Check::Enum(_)) => {
            members.push(enum_members(&target.column_type));
            Some(Check::Enum(members.len() - 1))
        }
        other => other,
    }
}

impl Fit {
    /// Whether value `i` of a target row, `v`, passes its column's check (or has none).
    pub fn fits(&self, i: usize, v: &Value) -> bool {
        self.checks
            .iter()
            .filter(|(at, ..)| *at == i)
            .all(|(_, check, ..)| self.why(v, *check).is_none())
    }

    /// Why `check` finds that its column would change `v`, if it does.
    fn why(&self, v: &Value, check: Check) -> Option<&'static str> {
        match check {
            Check::Enum(m) => not_a_member(v, &self.members[m]),
            _ => misfit(v, check),
        }
    }
}

impl RowCheck for Fit {
    /// The first row of `rows` with a value its column would change, and why.
    fn check_rows(&self, rows: &[Vec<Value>]) -> Result<(), Misfit> {
        for (r, row) in rows.iter().enumerate() {
            for (i, check, name, ty) in &self.checks {
                let Some(v) = row.get(*i) else { continue };
                if let Some(why) = self.why(v, *check) {
                    let named = match check_kind(*check, why) {
                        Some(kind) => format!(" (check: {kind} in column `{name}`)"),
                        None => String::new(),
                    };
                    return Err(Misfit {
                        row: r,
                        message: format!(
                            "column `{name}` ({ty}) cannot hold {}: {why}, without a warning \
                             from the server; widen the target column, or change the value \
                             in a transform{named}",
                            shown(v)
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The kind `ferry check` gives the values a check refuses for reason `why` (the same
/// words, so a page's failure reads as the check's report), if it has one.
fn check_kind(check: Check, why: &str) -> Option<&'static str> {
    match check {
        Check::Int => Some("scale"),
        Check::Float(_) | Check::Double(_) if why.contains("decimals") => Some("scale"),
        Check::Float(_) | Check::Double(_) => Some("float_precision"),
        Check::Fraction(_) => Some("fraction"),
        Check::CharSpaces => Some("char_trailing_space"),
        Check::Enum(_) => Some("enum"),
        Check::Binary(_) | Check::Year => None,
    }
}

/// The members of `enum('a','b''c')`, unquoted, byte for byte.
fn enum_members(column_type: &str) -> Vec<Vec<u8>> {
    crate::db::schema::members(column_type)
        .into_iter()
        .map(String::into_bytes)
        .collect()
}

/// Why text `v` would not be stored as it is in an ENUM, if it would not: it is not one
/// of `members` byte for byte. The server refuses a value no member matches, and
/// stores the member a value matches in the column's collation (another letter case,
/// trailing spaces, an accent), without a word.
fn not_a_member(v: &Value, members: &[Vec<u8>]) -> Option<&'static str> {
    let Value::Bytes(b) = v else { return None };
    (!members.iter().any(|m| m == b)).then_some(
        "it is not one of the ENUM's members byte for byte (the server would refuse it, \
         or store the member it matches in the column's collation: another letter case, \
         trailing spaces)",
    )
}

/// A source and target column pair of `plan` whose values may change silently, as
/// `source -> target` text, among the columns `sources` says values come from. Rows
/// of such a copy must be decoded to be checked, so they do not cross undecoded.
pub fn narrowing_pair(plan: &CopyPlan, sources: &[RawSource]) -> Option<String> {
    plan.value_columns()
        .zip(sources)
        .find_map(|(c, s)| match s {
            RawSource::Column(i) => {
                let src = &plan.source.columns[*i];
                let dst = plan.target.column(&c.name)?;
                narrows(src, dst).map(|_| {
                    format!(
                        "{} {} -> {} {}",
                        src.name, src.column_type, dst.name, dst.column_type
                    )
                })
            }
            RawSource::Value(_) => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_would_change() {
        let int = Check::Int;
        assert!(misfit(&Value::Double(1.5), int).is_some());
        assert!(misfit(&Value::Double(2.0), int).is_none());
        assert!(misfit(&Value::Bytes(b"1.5".to_vec()), int).is_some());
        assert!(misfit(&Value::Bytes(b"-12.000".to_vec()), int).is_none());
        assert!(misfit(&Value::Bytes(b"15e-1".to_vec()), int).is_some());
        assert!(misfit(&Value::Int(7), int).is_none());
        let float = Check::Float(None);
        assert!(misfit(&Value::Double(0.1), float).is_none());
        assert!(misfit(&Value::Double(1.5), float).is_none());
        assert!(misfit(&Value::Double(1.234_567_890_1), float).is_some());
        assert!(misfit(&Value::Int(16_777_217), float).is_some());
        assert!(misfit(&Value::Bytes(b"3.14159265358".to_vec()), float).is_some());
        let sec = Check::Fraction(0);
        assert!(misfit(&Value::Date(2024, 1, 1, 10, 0, 0, 500_000), sec).is_some());
        assert!(misfit(&Value::Date(2024, 1, 1, 10, 0, 0, 0), sec).is_none());
        assert!(misfit(
            &Value::Date(2024, 1, 1, 10, 0, 0, 120_000),
            Check::Fraction(2)
        )
        .is_none());
        assert!(misfit(
            &Value::Date(2024, 1, 1, 10, 0, 0, 123_000),
            Check::Fraction(2)
        )
        .is_some());
        assert!(misfit(&Value::Bytes(b"2024-01-01 10:00:00.5".to_vec()), sec).is_some());
        assert!(misfit(&Value::Bytes(b"2024-01-01 10:00:00.000".to_vec()), sec).is_none());
        assert!(misfit(&Value::Time(false, 0, 1, 2, 3, 4), sec).is_some());
        let two = Check::Float(Some(2));
        assert!(misfit(&Value::Double(1.239), two).is_some());
        assert!(misfit(&Value::Double(1.25), two).is_none());
        assert!(misfit(&Value::Bytes(b"1.230".to_vec()), two).is_none());
        assert!(misfit(&Value::Bytes(b"1.235".to_vec()), Check::Double(Some(2))).is_some());
        let double = Check::Double(None);
        assert!(misfit(&Value::Int(9_007_199_254_740_993), double).is_some());
        assert!(misfit(&Value::Int(9_007_199_254_740_992), double).is_none());
        assert!(misfit(&Value::Bytes(b"0.1".to_vec()), double).is_none());
        assert!(misfit(&Value::Bytes(b"12345678901234567.5".to_vec()), double).is_some());
        assert!(misfit(&Value::Double(0.1), double).is_none());
        assert!(misfit(&Value::Bytes(b"ab".to_vec()), Check::Binary(5)).is_some());
        assert!(misfit(&Value::Bytes(b"abcde".to_vec()), Check::Binary(5)).is_none());
        assert!(misfit(&Value::Int(69), Check::Year).is_some());
        assert!(misfit(&Value::Int(2069), Check::Year).is_none());
        assert!(misfit(&Value::Bytes(b"0".to_vec()), Check::Year).is_some());
    }

    #[test]
    fn decimal_scales() {
        assert!(decimal_scale_is_zero("decimal(10,0)"));
        assert!(decimal_scale_is_zero("decimal(10)"));
        assert!(!decimal_scale_is_zero("decimal(10,2) unsigned"));
    }
}
