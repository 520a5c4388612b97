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

use mysql::Value;

use crate::plan::{CopyPlan, Fill};
use crate::raw::RawSource;
use crate::schema::ColumnInfo;

/// What a target column keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// An integer: no fraction.
    Int,
    /// A FLOAT: what a 4-byte float holds.
    Float,
    /// A DATETIME, TIMESTAMP or TIME with this many fraction digits (below 6).
    Fraction(u8),
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
        "float" => Some(Check::Float),
        "datetime" | "timestamp" | "time" => match target.kind() {
            crate::value::Kind::DateTime(p) | crate::value::Kind::Time(p) if p < 6 => {
                Some(Check::Fraction(p))
            }
            _ => None,
        },
        _ => None,
    }
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
        Check::Float => !matches!(
            s.as_str(),
            "float" | "tinyint" | "smallint" | "mediumint" | "year" | "bit" | "bool" | "boolean"
        ),
        Check::Fraction(p) => match s.as_str() {
            "datetime" | "timestamp" | "time" => fsp(source) > p,
            "date" | "year" | "tinyint" | "smallint" | "mediumint" | "int" | "integer"
            | "bigint" => false,
            _ => true,
        },
    };
    narrowing.then_some(check)
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

    /// The first row of `rows` with a value its column would change, and why.
    pub fn check_rows(&self, rows: &[Vec<Value>]) -> Result<(), (usize, String)> {
        for (r, row) in rows.iter().enumerate() {
            for (i, check, name, ty) in &self.checks {
                let Some(v) = row.get(*i) else { continue };
                if let Some(why) = misfit(v, *check) {
                    return Err((
                        r,
                        format!(
                            "column `{name}` ({ty}) cannot hold {}: {why}, which the server \
                             does silently; widen the target column, or round the value \
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
        (Check::Float, Value::Double(d)) => {
            (!survives_f32(*d)).then_some("a FLOAT keeps fewer digits, which would be lost")
        }
        (Check::Float, Value::Int(i)) => ((*i as f32) as i128 != i128::from(*i))
            .then_some("a FLOAT keeps fewer digits, which would be lost"),
        (Check::Float, Value::UInt(u)) => ((*u as f32) as i128 != i128::from(*u))
            .then_some("a FLOAT keeps fewer digits, which would be lost"),
        (Check::Float, Value::Bytes(b)) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|d| !survives_f32(*d))
            .map(|_| "a FLOAT keeps fewer digits, which would be lost"),
        (Check::Fraction(p), Value::Date(_, _, _, _, _, _, us))
        | (Check::Fraction(p), Value::Time(_, _, _, _, _, us)) => {
            (*us % 10u32.pow(6 - u32::from(p)) != 0)
                .then_some("the column keeps fewer digits of a second, which would be dropped")
        }
        (Check::Fraction(p), Value::Bytes(b)) => text_fraction_beyond(b, p)
            .then_some("the column keeps fewer digits of a second, which would be dropped"),
        _ => None,
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
        let float = Check::Float;
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
    }

    #[test]
    fn decimal_scales() {
        assert!(decimal_scale_is_zero("decimal(10,0)"));
        assert!(decimal_scale_is_zero("decimal(10)"));
        assert!(!decimal_scale_is_zero("decimal(10,2) unsigned"));
    }
}
