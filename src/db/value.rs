//! Row values as the MySQL client gives them (`mysql::Value`, read through the binary
//! protocol so FLOAT and DOUBLE are exact), plus what a column's metadata adds to render
//! them as MySQL text: a DATE vs a DATETIME(6), TIME with its fraction digits, an
//! unsigned BIGINT above 2^63-1. Used for Lua conversion, row keys in messages and
//! printing.

use mysql::consts::ColumnType;
use mysql::Value;

/// How to read one result column's values.
#[derive(Debug, Clone)]
pub struct ColMeta {
    pub name: String,
    pub kind: Kind,
    /// Binary bytes (BINARY, VARBINARY, BLOB, BIT, GEOMETRY), not text: shown as hex.
    pub binary: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    Double,
    Date,
    /// DATETIME or TIMESTAMP with this many fraction digits.
    DateTime(u8),
    /// TIME with this many fraction digits.
    Time(u8),
    /// Everything else: strings, DECIMAL, BLOB, BIT, JSON, ENUM, SET.
    Bytes,
}

impl Kind {
    /// DATE, DATETIME, TIMESTAMP or TIME.
    pub fn is_temporal(self) -> bool {
        matches!(self, Kind::Date | Kind::DateTime(_) | Kind::Time(_))
    }
}

impl ColMeta {
    pub fn from_column(c: &mysql::Column) -> ColMeta {
        let decimals = c.decimals();
        let fsp = if decimals > 6 { 0 } else { decimals };
        let kind = match c.column_type() {
            ColumnType::MYSQL_TYPE_TINY
            | ColumnType::MYSQL_TYPE_SHORT
            | ColumnType::MYSQL_TYPE_INT24
            | ColumnType::MYSQL_TYPE_LONG
            | ColumnType::MYSQL_TYPE_LONGLONG
            | ColumnType::MYSQL_TYPE_YEAR => Kind::Int,
            ColumnType::MYSQL_TYPE_FLOAT => Kind::Float,
            ColumnType::MYSQL_TYPE_DOUBLE => Kind::Double,
            ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => Kind::Date,
            ColumnType::MYSQL_TYPE_DATETIME
            | ColumnType::MYSQL_TYPE_DATETIME2
            | ColumnType::MYSQL_TYPE_TIMESTAMP
            | ColumnType::MYSQL_TYPE_TIMESTAMP2 => Kind::DateTime(fsp),
            ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => Kind::Time(fsp),
            _ => Kind::Bytes,
        };
        // Numbers and dates carry the binary character set too; only strings and bits
        // of it are binary bytes.
        let binary = kind == Kind::Bytes
            && c.character_set() == 63
            && c.column_type() != ColumnType::MYSQL_TYPE_NEWDECIMAL
            && c.column_type() != ColumnType::MYSQL_TYPE_DECIMAL;
        ColMeta {
            name: c.name_str().into_owned(),
            kind,
            binary,
        }
    }
}

/// A value as MySQL prints it (`None` for NULL). Text-protocol values are already text.
pub fn to_text(v: &Value, kind: Kind) -> Option<Vec<u8>> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(b.clone()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        Value::UInt(u) => Some(u.to_string().into_bytes()),
        Value::Float(f) => Some(format_float(*f as f64, true).into_bytes()),
        Value::Double(d) => Some(format_float(*d, false).into_bytes()),
        Value::Date(y, mo, d, h, mi, s, us) => {
            let mut out = format!("{y:04}-{mo:02}-{d:02}");
            match kind {
                Kind::Date => {}
                Kind::DateTime(fsp) => {
                    out.push_str(&format!(" {h:02}:{mi:02}:{s:02}"));
                    push_fraction(&mut out, *us, fsp);
                }
                _ => {
                    out.push_str(&format!(" {h:02}:{mi:02}:{s:02}"));
                    if *us != 0 {
                        push_fraction(&mut out, *us, 6);
                    }
                }
            }
            Some(out.into_bytes())
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let hours = *days as u64 * 24 + *h as u64;
            let mut out = format!("{}{hours:02}:{mi:02}:{s:02}", if *neg { "-" } else { "" });
            let fsp = match kind {
                Kind::Time(f) => f,
                _ if *us != 0 => 6,
                _ => 0,
            };
            push_fraction(&mut out, *us, fsp);
            Some(out.into_bytes())
        }
    }
}

fn push_fraction(out: &mut String, micros: u32, fsp: u8) {
    if fsp > 0 {
        let digits = format!("{micros:06}");
        out.push('.');
        out.push_str(&digits[..fsp as usize]);
    }
}

/// Shortest text that reads back as the same number.
fn format_float(x: f64, single: bool) -> String {
    if single {
        format!("{}", x as f32)
    } else {
        format!("{x}")
    }
}

/// A short, readable rendering of a value for messages (`id=42`, `name='ann'`).
pub fn show(v: &Value, kind: Kind) -> String {
    match to_text(v, kind) {
        None => "NULL".into(),
        Some(bytes) => match v {
            Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Double(_) => {
                String::from_utf8_lossy(&bytes).into_owned()
            }
            _ => match std::str::from_utf8(&bytes) {
                // Text, quoted, its control characters escaped (`'a\tb'`).
                Ok(text) => {
                    let text: String = text.chars().flat_map(escape_control).collect();
                    let short: String = text.chars().take(60).collect();
                    if short.len() < text.len() {
                        format!("'{short}…'")
                    } else {
                        format!("'{short}'")
                    }
                }
                // Not text: hex, unquoted, as MySQL writes such literals.
                Err(_) => {
                    let hex = format!("0x{}", hex(&bytes));
                    match hex.get(..122) {
                        Some(short) if short.len() < hex.len() => format!("{short}…"),
                        _ => hex,
                    }
                }
            },
        },
    }
}

/// A control character as its escape (`\t`, `\n`, `\u{1b}`), any other as it is.
pub fn escape_control(c: char) -> Vec<char> {
    if c.is_control() {
        c.escape_default().collect()
    } else {
        vec![c]
    }
}

/// A row key for messages: `id=42` or `(a=1, b='x')`.
pub fn show_key(names: &[String], values: &[Value], kinds: &[Kind]) -> String {
    let parts: Vec<String> = names
        .iter()
        .zip(values)
        .zip(kinds)
        .map(|((n, v), k)| format!("{n}={}", show(v, *k)))
        .collect();
    if parts.len() == 1 {
        parts.into_iter().next().unwrap()
    } else {
        format!("({})", parts.join(", "))
    }
}

/// Text as it is when it is UTF-8 without control characters, else `0x` and hex.
pub fn printable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c.is_control()) => s.to_string(),
        _ => format!("0x{}", hex(bytes)),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes `hex` wrote (either case); `None` for an odd length or a non-hex digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Bytes a value takes on the wire, near enough to size statements by.
pub fn wire_size(v: &Value) -> usize {
    match v {
        Value::Bytes(b) => b.len() + 9,
        Value::NULL => 1,
        _ => 12,
    }
}

/// Whether a double comes back the same from a FLOAT: its value as a 4-byte float
/// reads as the same number (as the server prints a FLOAT, shortest form).
pub fn survives_f32(d: f64) -> bool {
    if !d.is_finite() {
        return true;
    }
    let f = d as f32;
    if f64::from(f) == d {
        return true;
    }
    format!("{f}").parse::<f64>().ok() == Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_render_like_mysql() {
        let v = Value::Date(2024, 2, 29, 13, 45, 0, 123456);
        assert_eq!(
            to_text(&v, Kind::DateTime(6)).unwrap(),
            b"2024-02-29 13:45:00.123456"
        );
        assert_eq!(
            to_text(&v, Kind::DateTime(3)).unwrap(),
            b"2024-02-29 13:45:00.123"
        );
        let z = Value::Date(0, 0, 0, 0, 0, 0, 0);
        assert_eq!(to_text(&z, Kind::Date).unwrap(), b"0000-00-00");
        assert_eq!(
            to_text(&z, Kind::DateTime(0)).unwrap(),
            b"0000-00-00 00:00:00"
        );
        let t = Value::Time(true, 34, 22, 59, 59, 0);
        assert_eq!(to_text(&t, Kind::Time(0)).unwrap(), b"-838:59:59");
        assert_eq!(to_text(&Value::Float(0.1), Kind::Float).unwrap(), b"0.1");
    }

    #[test]
    fn shown_text_is_quoted_with_controls_escaped_and_bytes_are_bare_hex() {
        let b = |x: &[u8]| Value::Bytes(x.to_vec());
        assert_eq!(show(&b(b"tab\there"), Kind::Bytes), "'tab\\there'");
        assert_eq!(show(&b("日本\n".as_bytes()), Kind::Bytes), "'日本\\n'");
        assert_eq!(show(&b(&[0x89, 0x50, 0xff]), Kind::Bytes), "0x8950ff");
        assert_eq!(show(&b(&[0xff; 100]), Kind::Bytes).chars().count(), 123);
        assert_eq!(show(&Value::NULL, Kind::Bytes), "NULL");
    }
}
