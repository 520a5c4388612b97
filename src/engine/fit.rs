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

use crate::db::schema::ColumnInfo;
use crate::db::wire::RawSource;
use crate::db::write::RowCheck;
use crate::plan::{CopyPlan, Fill};

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
}

/// The checks of one copy: (value index, check, target column).
#[derive(Debug, Clone)]
pub struct Fit {
    checks: Vec<(usize, Check, String, String)>,
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
        for (i, c) in plan.value_columns().enumerate() {
            let Some(target) = plan.target.column(&c.name) else {
                continue;
            };
            let check = match &c.fill {
                Fill::Source(s) => narrows(&plan.source.columns[*s], target),
                _ => check_for(target),
            };
            if let Some(check) = check {
                checks.push((i, check, c.name.clone(), target.column_type.clone()));
            }
        }
        (!checks.is_empty()).then_some(Fit { checks })
    }
}

impl RowCheck for Fit {
    /// The first row of `rows` with a value its column would change, and why.
    fn check_rows(&self, rows: &[Vec<Value>]) -> Result<(), (usize, String)> {
        for (r, row) in rows.iter().enumerate() {
            for (i, check, name, ty) in &self.checks {
                let Some(v) = row.get(*i) else { continue };
                if let Some(why) = misfit(v, *check) {
                    return Err((
                        r,
                        format!(
                            "column `{name}` ({ty}) cannot hold {}: {why}, without a warning \
                             from the server; widen the target column, or change the value \
                             in a transform",
                            shown(v)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A value for a message.
fn shown(v: &Value) -> String {
    match v {
        Value::Bytes(b) => {
            let s = String::from_utf8_lossy(b);
            let cut: String = s.chars().take(40).collect();
            format!("'{cut}'")
        }
        Value::Float(f) => format!("{f}"),
        Value::Double(d) => format!("{d}"),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Date(y, mo, d, h, mi, s, us) => {
            format!("'{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}'")
        }
        Value::Time(neg, d, h, mi, s, us) => format!(
            "'{}{}:{mi:02}:{s:02}.{us:06}'",
            if *neg { "-" } else { "" },
            u32::from(*h) + d * 24
        ),
        Value::NULL => "NULL".into(),
    }
}

/// Why `v` would change in a column checked by `check`, if it would.
fn misfit(v: &Value, check: Check) -> Option<&'static str> {
    match (check, v) {
        (_, Value::NULL) => None,
        (Check::Int, Value::Float(f)) => (f.is_finite() && f.fract() != 0.0)
            .then_some("it has a fraction, which would be rounded away"),
        (Check::Int, Value::Double(d)) => (d.is_finite() && d.fract() != 0.0)
            .then_some("it has a fraction, which would be rounded away"),
        (Check::Int, Value::Bytes(b)) => {
            text_has_fraction(b).then_some("it has a fraction, which would be rounded away")
        }
        (Check::Float(d), v) => {
            let lost = match v {
                Value::Double(x) => !survives_f32(*x),
                Value::Int(i) => (*i as f32) as i128 != i128::from(*i),
                Value::UInt(u) => (*u as f32) as i128 != i128::from(*u),
                Value::Bytes(b) => text_number(b).is_some_and(|t| {
                    t.parse::<f32>()
                        .is_ok_and(|f| f.is_finite() && normal(&format!("{f}")) != normal(t))
                }),
                _ => false,
            };
            if lost {
                Some("a FLOAT keeps fewer digits, which would be lost")
            } else {
                too_many_decimals(v, d)
            }
        }
        (Check::Double(d), v) => {
            let lost = match v {
                Value::Int(i) => (*i as f64) as i128 != i128::from(*i),
                Value::UInt(u) => (*u as f64) as i128 != i128::from(*u),
                Value::Bytes(b) => text_number(b).is_some_and(|t| {
                    t.parse::<f64>()
                        .is_ok_and(|f| f.is_finite() && normal(&format!("{f}")) != normal(t))
                }),
                _ => false,
            };
            if lost {
                Some("a DOUBLE keeps fewer digits, which would be lost")
            } else {
                too_many_decimals(v, d)
            }
        }
        (Check::Fraction(p), Value::Date(_, _, _, _, _, _, us))
        | (Check::Fraction(p), Value::Time(_, _, _, _, _, us)) => {
            (*us % 10u32.pow(6 - u32::from(p)) != 0)
                .then_some("the column keeps fewer digits of a second, which would be dropped")
        }
        (Check::Binary(n), Value::Bytes(b)) => {
            (b.len() < n).then_some("it is shorter than the column, which pads it with zero bytes")
        }
        (Check::Year, Value::Int(y)) => (1..100).contains(y).then_some(TWO_DIGIT_YEAR),
        (Check::Year, Value::UInt(y)) => (1..100).contains(y).then_some(TWO_DIGIT_YEAR),
        (Check::Year, Value::Bytes(b)) => {
            let t = String::from_utf8_lossy(b);
            let t = t.trim();
            (!t.is_empty() && t.len() <= 2 && t.bytes().all(|c| c.is_ascii_digit()))
                .then_some(TWO_DIGIT_YEAR)
        }
        (Check::Fraction(p), Value::Bytes(b)) => text_fraction_beyond(b, p)
            .then_some("the column keeps fewer digits of a second, which would be dropped"),
        _ => None,
    }
}

const TWO_DIGIT_YEAR: &str =
    "a YEAR column reads a one- or two-digit year as 1970-2069, which would change it";

/// Why a number would be rounded to `d` decimals (`FLOAT(M,D)`, `DOUBLE(M,D)`), if so.
fn too_many_decimals(v: &Value, d: Option<u8>) -> Option<&'static str> {
    let d = usize::from(d?);
    let text = match v {
        Value::Float(f) => format!("{f}"),
        Value::Double(x) => format!("{x}"),
        Value::Bytes(b) => text_number(b)?.to_string(),
        _ => return None,
    };
    let n = normal(&text);
    let decimals = n.split_once('.').map_or(0, |(_, f)| f.len());
    (decimals > d).then_some("the column keeps fewer decimals, which would be rounded away")
}

/// A number written as plain decimal text (no exponent), trimmed.
fn text_number(b: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(b).ok()?.trim();
    let digits = s.trim_start_matches(['+', '-']);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    (!digits.is_empty()
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.bytes().all(|c| c.is_ascii_digit()))
    .then_some(s)
}

/// Decimal text without its sign, leading zeros of the integer part, trailing zeros
/// of the fraction, or a bare point: `-012.500` -> `12.5`.
fn normal(s: &str) -> String {
    let s = s.trim().trim_start_matches(['+', '-']);
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    match (int.is_empty(), frac.is_empty()) {
        (_, true) => {
            if int.is_empty() {
                "0".into()
            } else {
                int.to_string()
            }
        }
        (true, false) => format!("0.{frac}"),
        (false, false) => format!("{int}.{frac}"),
    }
}

/// Whether a double comes back the same from a FLOAT: its value as a 4-byte float
/// reads as the same number (as the server prints a FLOAT, shortest form).
fn survives_f32(d: f64) -> bool {
    if !d.is_finite() {
        return true;
    }
    let f = d as f32;
    if f64::from(f) == d {
        return true;
    }
    format!("{f}").parse::<f64>().ok() == Some(d)
}

/// Whether a number written as text has non-zero digits after its point.
fn text_has_fraction(b: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(b) else {
        return false;
    };
    let s = s.trim();
    if s.contains(['e', 'E']) {
        return s
            .parse::<f64>()
            .is_ok_and(|d| d.is_finite() && d.fract() != 0.0);
    }
    let Some((int, frac)) = s.split_once('.') else {
        return false;
    };
    let int = int.trim_start_matches(['+', '-']);
    int.bytes().all(|c| c.is_ascii_digit())
        && frac.bytes().all(|c| c.is_ascii_digit())
        && frac.bytes().any(|c| c != b'0')
}

/// Whether a date-time or time written as text has non-zero digits of a second beyond
/// the `p`th.
fn text_fraction_beyond(b: &[u8], p: u8) -> bool {
    let Ok(s) = std::str::from_utf8(b) else {
        return false;
    };
    let s = s.trim();
    let tail = match s.rfind(':') {
        Some(i) => &s[i..],
        None => return false,
    };
    match tail.split_once('.') {
        Some((_, frac)) => frac
            .bytes()
            .take_while(u8::is_ascii_digit)
            .skip(usize::from(p))
            .any(|c| c != b'0'),
        None => false,
    }
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
