//! Whether one value fits the check its target column needs (`misfit`), and how a
//! value is shown in the message when it does not: integers that would be rounded,
//! floats a FLOAT or DOUBLE(M,D) would change, fractions of a second beyond the
//! column's precision, BINARY padding, two-digit years.

use super::Check;
use crate::db::value::survives_f32;
use crate::db::Value;

/// A value for a message.
pub(super) fn shown(v: &Value) -> String {
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
pub(super) fn misfit(v: &Value, check: Check) -> Option<&'static str> {
    match (check, v) {
        (_, Value::NULL) => None,
        (Check::CharSpaces, Value::Bytes(b)) => b
            .ends_with(b" ")
            .then_some("it ends in spaces, which a CHAR column drops"),
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
