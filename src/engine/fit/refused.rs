//! One row's values against what the target's columns hold, value by value: the
//! values the server itself would refuse in ferry's strict session, or cut, round or
//! change with a warning that fails a run's page (NULL into NOT NULL, an integer out
//! of range or sign, DECIMAL digits before or after the point, text too long for its
//! column or outside its character set, zero months or days and the range of a
//! TIMESTAMP, a time of day into a DATE, a value no ENUM or SET member matches). The
//! same kinds and words as `ferry check`'s scan gives whole columns (`check::policy`,
//! from the same `db::shape`), for the values a row path made (after the transform, map
//! functions and defaults), so `ferry explain` answers `fail` where a run stops. The
//! silent narrowings a run checks itself are `Fit`'s.

use crate::db::schema::ColumnInfo;
use crate::db::shape::{max_bytes, shape, timestamp_max, Shape};
use crate::db::value::{show, to_text};
use crate::db::Value;
use crate::plan::{CopyPlan, Fill};

/// A value the target would refuse: the kind `ferry check` gives it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: &'static str,
    pub why: String,
}

/// The first value of a row (`values`, the plan's value columns in order) that its
/// target column on a server of `version` would refuse or change, as a message naming
/// the column, the value, why, and the kind as check names it (`(check: range in
/// column `n`)`).
pub fn refused_row(plan: &CopyPlan, version: &str, values: &[Value]) -> Option<String> {
    plan.value_columns().zip(values).find_map(|(c, v)| {
        if matches!(c.fill, Fill::Sql(_)) {
            return None;
        }
        let target = plan.target.column(&c.name)?;
        let r = refusal(version, target, v)?;
        // The character set where it is what refuses the value, as check's report says.
        let ty = match (&target.charset, r.kind) {
            (Some(cs), "charset") => format!("{} {cs}", target.column_type),
            _ => target.column_type.clone(),
        };
        Some(format!(
            "column `{}` ({ty}) cannot hold {}: {} (check: {} in column `{}`)",
            c.name,
            show(v, target.kind()),
            r.why,
            r.kind,
            c.name
        ))
    })
}

/// Why `target` on a server of `version` would not hold `v` as given, if it would not.
pub fn refusal(version: &str, target: &ColumnInfo, v: &Value) -> Option<Refusal> {
    let refuse = |kind, why: String| Some(Refusal { kind, why });
    if target.is_generated() {
        return None;
    }
    if *v == Value::NULL {
        return if target.nullable || target.is_auto_increment() {
            None
        } else {
            refuse(
                "not_null",
                "the column is NOT NULL, and ferry's strict session refuses a NULL even \
                 where the column has a default"
                    .into(),
            )
        };
    }
    match shape(target) {
        Shape::Int { min, max } if !target.data_type.eq_ignore_ascii_case("year") => {
            let n = number(v)?;
            let whole = round(&n)?;
            (whole < min || whole > max)
                .then(|| Refusal {
                    kind: "range",
                    why: format!("it is outside the column's range, {min} to {max}"),
                })
                .or_else(|| {
                    (!n.frac.trim_end_matches('0').is_empty()).then(|| Refusal {
                        kind: "scale",
                        why: "it has a fraction, which the column would round away".into(),
                    })
                })
        }
        Shape::Decimal {
            digits,
            scale,
            unsigned,
        } => {
            let n = number(v)?;
            let whole = n.int.trim_start_matches('0').len() as u32;
            let frac = n.frac.trim_end_matches('0').len() as u32;
            let zero = whole == 0 && frac == 0;
            if whole > digits.saturating_sub(scale) {
                refuse(
                    "range",
                    format!(
                        "it has {whole} digits before the point, and the column holds {}",
                        digits.saturating_sub(scale)
                    ),
                )
            } else if unsigned && n.negative && !zero {
                refuse("range", "the column is unsigned".into())
            } else if frac > scale {
                refuse(
                    "scale",
                    format!(
                        "it has {frac} digits after the point, and the column keeps {scale}, \
                         rounding the rest"
                    ),
                )
            } else {
                None
            }
        }
        Shape::Float => {
            let x: f64 = number(v)?.text.parse().ok()?;
            (x.abs() > f64::from(f32::MAX)).then(|| Refusal {
                kind: "range",
                why: "it is beyond a FLOAT's ±3.4e38".into(),
            })
        }
        Shape::Text { chars, bytes, .. } => {
            let raw = to_text(v, target.kind())?;
            let charset = target.charset.as_deref().unwrap_or("utf8mb4");
            let Ok(text) = std::str::from_utf8(&raw) else {
                return refuse(
                    "charset",
                    format!("its bytes are not text, which a {charset} column refuses"),
                );
            };
            if let Some(c) = text.chars().find(|c| !charset_has(charset, *c)) {
                return refuse(
                    "charset",
                    format!("{c:?} (U+{:04X}) is not a character of {charset}", c as u32),
                );
            }
            let n = text.chars().count() as u64;
            let size = if max_bytes(charset) == 1 {
                n
            } else {
                text.len() as u64
            };
            match (chars, bytes) {
                (Some(max), _) if n > max => refuse(
                    "truncate",
                    format!("it is {n} characters long, and the column holds {max}"),
                ),
                (_, Some(max)) if size > max => refuse(
                    "truncate",
                    format!("it takes {size} bytes in {charset}, and the column holds {max}"),
                ),
                _ => None,
            }
        }
        Shape::Binary(max) => {
            let n = to_text(v, target.kind())?.len() as u64;
            (n > max).then(|| Refusal {
                kind: "truncate",
                why: format!("it is {n} bytes long, and the column holds {max}"),
            })
        }
        Shape::Timestamp(_) => {
            let d = date(v)?;
            let zero = d[..3] == [0, 0, 0] && d[3..].iter().all(|p| *p == 0);
            if zero {
                None
            } else if d[1] == 0 || d[2] == 0 {
                refuse(
                    "zero_date",
                    "it has a zero month or day, which a TIMESTAMP cannot hold".into(),
                )
            } else {
                let max = date(&Value::from(timestamp_max(version)))?;
                let min = [1970, 1, 1, 0, 0, 1];
                (d[..6] < min[..] || d[..6] > max[..6]).then(|| Refusal {
                    kind: "timestamp_range",
                    why: format!(
                        "a TIMESTAMP holds 1970-01-01 00:00:01 to {} (UTC)",
                        timestamp_max(version)
                    ),
                })
            }
        }
        Shape::Date => {
            let d = date(v)?;
            (d[3..].iter().any(|p| *p != 0)).then(|| Refusal {
                kind: "truncate",
                why: "it has a time of day, which a DATE drops".into(),
            })
        }
        Shape::Enum(members) => {
            let raw = to_text(v, target.kind())?;
            (!members.iter().any(|m| same_member(m, &raw))).then(|| Refusal {
                kind: "enum",
                why: format!("it is none of the ENUM's members ({})", members.join(", ")),
            })
        }
        Shape::Set(members) => {
            let raw = to_text(v, target.kind())?;
            let missing = raw
                .split(|b| *b == b',')
                .filter(|p| !p.is_empty())
                .find(|p| !members.iter().any(|m| same_member(m, p)))?;
            refuse(
                "enum",
                format!(
                    "{} is none of the SET's members ({})",
                    String::from_utf8_lossy(missing),
                    members.join(", ")
                ),
            )
        }
        _ => None,
    }
}

/// A number as text: its sign, the digits before and after the point, and the text.
struct Number {
    negative: bool,
    int: String,
    frac: String,
    text: String,
}

/// `v` as a number, when it is one (text that reads as a number included; in
/// exponent form it is written out). `None` for anything else, which this check does
/// not judge.
fn number(v: &Value) -> Option<Number> {
    let text = match v {
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => format!("{}", f64::from(*f)),
        Value::Double(d) if d.is_finite() => format!("{d}"),
        Value::Bytes(b) => {
            let t = std::str::from_utf8(b).ok()?.trim();
            if t.contains(['e', 'E']) {
                format!("{}", t.parse::<f64>().ok().filter(|d| d.is_finite())?)
            } else {
                t.to_string()
            }
        }
        _ => return None,
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    Some(Number {
        negative,
        int: int.to_string(),
        frac: frac.to_string(),
        text: text.clone(),
    })
}

/// A number rounded to a whole one, half away from zero, as the server rounds it into
/// an integer column (`None` beyond any integer column's range).
fn round(n: &Number) -> Option<i128> {
    let int = n.int.trim_start_matches('0');
    if int.len() > 30 {
        return Some(if n.negative { i128::MIN } else { i128::MAX });
    }
    let mut whole: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    if n.frac.as_bytes().first().is_some_and(|d| *d >= b'5') {
        whole += 1;
    }
    Some(if n.negative { -whole } else { whole })
}

/// Year, month, day, hour, minute, second of a date or a date's text
/// (`2024-01-02 03:04:05`).
fn date(v: &Value) -> Option<[u32; 6]> {
    match v {
        Value::Date(y, mo, d, h, mi, s, _) => Some([
            u32::from(*y),
            u32::from(*mo),
            u32::from(*d),
            u32::from(*h),
            u32::from(*mi),
            u32::from(*s),
        ]),
        Value::Bytes(b) => {
            let t = std::str::from_utf8(b).ok()?.trim();
            let t = t.split('.').next()?;
            let parts: Vec<u32> = t
                .split(['-', ' ', ':', 'T'])
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            match parts.len() {
                3 => Some([parts[0], parts[1], parts[2], 0, 0, 0]),
                6 => parts.try_into().ok(),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `value` is the member `m` in the column's collation, as far as the server
/// matches members: letter case and trailing spaces aside.
fn same_member(m: &str, value: &[u8]) -> bool {
    let Ok(v) = std::str::from_utf8(value) else {
        return false;
    };
    m.trim_end_matches(' ').to_lowercase() == v.trim_end_matches(' ').to_lowercase()
}

/// Whether character set `charset` has the character `c` (a character set not known
/// here is taken to have it).
fn charset_has(charset: &str, c: char) -> bool {
    let u = c as u32;
    match charset {
        "ascii" => u < 0x80,
        "utf8mb3" | "utf8" | "ucs2" => u <= 0xFFFF,
        // MariaDB's latin1 is Windows-1252, with 0x81, 0x8D, 0x8F, 0x90 and 0x9D kept.
        "latin1" => u <= 0xFF || "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ".contains(c),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(column_type: &str, v: Value) -> Option<&'static str> {
        let mut c = ColumnInfo::for_test("c", column_type);
        if matches!(
            c.data_type.as_str(),
            "char" | "varchar" | "text" | "enum" | "set"
        ) {
            c.charset = Some(if column_type.contains("latin1") {
                "latin1".into()
            } else {
                "utf8mb3".into()
            });
        }
        refusal("", &c, &v).map(|r| r.kind)
    }

    #[test]
    fn values_the_server_refuses() {
        assert_eq!(kind("tinyint(4)", Value::Int(300)), Some("range"));
        assert_eq!(kind("tinyint(4)", Value::Int(127)), None);
        assert_eq!(kind("tinyint(4)", Value::from("127.5")), Some("range"));
        assert_eq!(kind("int(10) unsigned", Value::Int(-1)), Some("range"));
        assert_eq!(kind("int(11)", Value::from("1e3")), None);
        assert_eq!(kind("int(11)", Value::from("abc")), None);
        assert_eq!(kind("decimal(5,2)", Value::from("1234.5")), Some("range"));
        assert_eq!(kind("decimal(5,2)", Value::from("123.456")), Some("scale"));
        assert_eq!(kind("decimal(5,2)", Value::from("-123.450")), None);
        assert_eq!(
            kind("decimal(5,2) unsigned", Value::Double(-1.5)),
            Some("range")
        );
        assert_eq!(kind("float", Value::Double(1e39)), Some("range"));
        assert_eq!(kind("varchar(3)", Value::from("abcd")), Some("truncate"));
        assert_eq!(kind("varchar(3)", Value::from("äöü")), None);
        assert_eq!(kind("varchar(9)", Value::from("a 🚀")), Some("charset"));
        assert_eq!(kind("varchar(9) latin1", Value::from("Ω")), Some("charset"));
        assert_eq!(kind("varchar(9) latin1", Value::from("€é")), None);
        assert_eq!(kind("varbinary(2)", Value::from("abc")), Some("truncate"));
        assert_eq!(
            kind("timestamp", Value::Date(2024, 0, 5, 0, 0, 0, 0)),
            Some("zero_date")
        );
        assert_eq!(kind("timestamp", Value::Date(0, 0, 0, 0, 0, 0, 0)), None);
        assert_eq!(
            kind("timestamp", Value::from("1969-12-31 23:59:59")),
            Some("timestamp_range")
        );
        assert_eq!(kind("timestamp", Value::from("2024-05-01 10:00:00")), None);
        assert_eq!(
            kind("date", Value::Date(2024, 1, 1, 10, 0, 0, 0)),
            Some("truncate")
        );
        assert_eq!(kind("enum('a','b')", Value::from("c")), Some("enum"));
        assert_eq!(kind("enum('a','b')", Value::from("A")), None);
        assert_eq!(kind("set('a','b')", Value::from("a,x")), Some("enum"));
        let mut c = ColumnInfo::for_test("c", "int");
        c.nullable = false;
        assert_eq!(
            refusal("", &c, &Value::NULL).map(|r| r.kind),
            Some("not_null")
        );
        c.nullable = true;
        assert_eq!(refusal("", &c, &Value::NULL), None);
    }
}
