//! Column types as far as what they hold goes (`Shape`), read from information_schema's
//! `column_type`: text lengths in characters or bytes, integer ranges, DECIMAL digits and
//! scale, fractions of a second, ENUM and SET members; what character sets hold; and the
//! latest TIMESTAMP a server version holds. `ferry check`'s scan (`check::policy`) and a
//! row's values (`engine::fit::refused`) read them alike.

use crate::db::schema::ColumnInfo;

/// A column type, as far as what it holds goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Text at most `chars` characters, or `bytes` bytes (TEXT types); `fixed`: CHAR.
    Text {
        chars: Option<u64>,
        bytes: Option<u64>,
        fixed: bool,
    },
    /// Bytes, at most this many.
    Binary(u64),
    Int {
        min: i128,
        max: i128,
    },
    Decimal {
        digits: u32,
        scale: u32,
        unsigned: bool,
    },
    Float,
    Double,
    Date,
    DateTime(u8),
    Timestamp(u8),
    Time(u8),
    Enum(Vec<String>),
    Set(Vec<String>),
    Other,
}

/// The numbers in `name(a,b)`.
fn args(column_type: &str) -> Vec<u64> {
    column_type
        .split_once('(')
        .and_then(|(_, r)| r.split(')').next())
        .map(|inner| {
            inner
                .split(',')
                .filter_map(|p| p.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

pub use crate::db::schema::members;

pub fn shape(c: &ColumnInfo) -> Shape {
    let t = c.data_type.to_ascii_lowercase();
    let ty = c.column_type.to_ascii_lowercase();
    let unsigned = ty.contains("unsigned");
    let a = args(&ty);
    let first = a.first().copied();
    let int = |bits: u32| {
        if unsigned {
            Shape::Int {
                min: 0,
                max: (1i128 << bits) - 1,
            }
        } else {
            Shape::Int {
                min: -(1i128 << (bits - 1)),
                max: (1i128 << (bits - 1)) - 1,
            }
        }
    };
    let fsp = || first.unwrap_or(0) as u8;
    let text = |chars, bytes, fixed| Shape::Text {
        chars,
        bytes,
        fixed,
    };
    match t.as_str() {
        "char" => text(Some(first.unwrap_or(1)), None, true),
        "varchar" => text(first, None, false),
        "tinytext" => text(None, Some(255), false),
        "text" => text(None, Some(65_535), false),
        "mediumtext" => text(None, Some(16_777_215), false),
        "longtext" => text(None, Some(4_294_967_295), false),
        "binary" | "varbinary" => Shape::Binary(first.unwrap_or(1)),
        "tinyblob" => Shape::Binary(255),
        "blob" => Shape::Binary(65_535),
        "mediumblob" => Shape::Binary(16_777_215),
        "longblob" => Shape::Binary(4_294_967_295),
        "tinyint" => int(8),
        "smallint" => int(16),
        "mediumint" => int(24),
        "int" | "integer" => int(32),
        "bigint" => int(64),
        // As a source: 0 or 1901 to 2155. (As a target it takes more, changed.)
        "year" => Shape::Int { min: 0, max: 2155 },
        "decimal" | "numeric" => Shape::Decimal {
            digits: first.unwrap_or(10) as u32,
            scale: a.get(1).copied().unwrap_or(0) as u32,
            unsigned,
        },
        "float" => Shape::Float,
        "double" | "real" | "double precision" => Shape::Double,
        "date" => Shape::Date,
        "datetime" => Shape::DateTime(fsp()),
        "timestamp" => Shape::Timestamp(fsp()),
        "time" => Shape::Time(fsp()),
        "enum" => Shape::Enum(members(&c.column_type)),
        "set" => Shape::Set(members(&c.column_type)),
        _ => Shape::Other,
    }
}

/// Bytes a character may take in a character set (4 when unknown).
pub fn max_bytes(charset: &str) -> u64 {
    match charset {
        "latin1" | "ascii" | "latin2" | "latin5" | "latin7" | "cp1250" | "cp1251" | "cp1256"
        | "cp1257" | "cp850" | "cp852" | "cp866" | "koi8r" | "koi8u" | "greek" | "hebrew"
        | "swe7" | "tis620" | "armscii8" | "geostd8" | "dec8" | "hp8" | "keybcs2" | "macce"
        | "macroman" | "binary" => 1,
        "ucs2" | "gbk" | "big5" | "sjis" | "cp932" | "euckr" | "gb2312" => 2,
        "utf8mb3" | "utf8" | "ujis" | "eucjpms" => 3,
        _ => 4,
    }
}

/// Whether every character of `from` exists in `to`.
pub fn charset_holds(to: &str, from: &str) -> bool {
    let to = if to == "utf8" { "utf8mb3" } else { to };
    let from = if from == "utf8" { "utf8mb3" } else { from };
    to == from
        || matches!(to, "utf8mb4" | "utf16" | "utf16le" | "utf32")
        || (to == "utf8mb3" && matches!(from, "ascii" | "latin1" | "ucs2"))
        || (to == "latin1" && from == "ascii")
}

/// The most characters a source value may have as text (`None`: no bound known).
pub fn max_chars(s: &Shape) -> Option<u64> {
    match s {
        Shape::Text { chars: Some(n), .. } => Some(*n),
        Shape::Text { bytes: Some(n), .. } | Shape::Binary(n) => Some(*n),
        Shape::Int { min, max } => Some(min.to_string().len().max(max.to_string().len()) as u64),
        Shape::Decimal { digits, .. } => Some(u64::from(*digits) + 2),
        Shape::Date => Some(10),
        Shape::DateTime(p) | Shape::Timestamp(p) => Some(19 + u64::from(*p) + 1),
        Shape::Time(p) => Some(10 + u64::from(*p) + 1),
        Shape::Enum(m) | Shape::Set(m) => {
            let longest = m.iter().map(|m| m.chars().count() as u64).max();
            match s {
                Shape::Set(_) => Some(m.iter().map(|m| m.chars().count() as u64 + 1).sum()),
                _ => longest,
            }
        }
        _ => None,
    }
}

/// `(min, max)` of what a source numeric column holds, when known.
pub fn numeric_bounds(s: &Shape) -> Option<(f64, f64)> {
    match s {
        Shape::Int { min, max } => Some((*min as f64, *max as f64)),
        Shape::Decimal {
            digits,
            scale,
            unsigned,
        } => {
            let top = 10f64.powi((digits - scale) as i32);
            Some((if *unsigned { 0.0 } else { -top }, top))
        }
        _ => None,
    }
}

/// The latest TIMESTAMP a server of `version` (`VERSION()`: `10.11.6-MariaDB`, `8.0.36`)
/// holds: MariaDB 11.5 and later hold up to 2106 (on 64-bit builds), others up to 2038.
pub fn timestamp_max(version: &str) -> &'static str {
    let mut parts = version.split(['.', '-']);
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if version.contains("MariaDB") && (major, minor) >= (11, 5) {
        "2106-02-07 06:28:15"
    } else {
        "2038-01-19 03:14:07"
    }
}
