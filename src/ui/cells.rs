//! A value as the page shows it, by the REPL's rules (`repl/show.rs`): NULL apart from
//! the text 'NULL' (quoted), binary columns and text that is not UTF-8 as `0x` hex,
//! control characters escaped, and long values cut with `…` (the page says how long
//! the whole value is).

use serde::Serialize;

use crate::db::value::{hex, to_text, ColMeta};
use crate::db::Value;

/// Characters a cell shows before it is cut.
pub const LONG: usize = 120;

#[derive(Debug, Serialize, PartialEq)]
pub struct Cell {
    pub text: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub null: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub binary: bool,
    /// The length of the whole value (characters, or bytes when hex) when it was cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut_from: Option<usize>,
}

pub fn cell(v: &Value, meta: &ColMeta) -> Cell {
    let Some(bytes) = to_text(v, meta.kind) else {
        return Cell {
            text: "NULL".into(),
            null: true,
            binary: false,
            cut_from: None,
        };
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) if !meta.binary => {
            let shown: String = if text == "NULL" {
                "'NULL'".into()
            } else if text.chars().any(char::is_control) {
                text.chars().flat_map(char::escape_default).collect()
            } else {
                text.to_string()
            };
            let n = shown.chars().count();
            if n > LONG {
                let mut cut: String = shown.chars().take(LONG - 1).collect();
                cut.push('…');
                Cell {
                    text: cut,
                    null: false,
                    binary: false,
                    cut_from: Some(text.chars().count()),
                }
            } else {
                Cell {
                    text: shown,
                    null: false,
                    binary: false,
                    cut_from: None,
                }
            }
        }
        _ => {
            let room = (LONG - 3) / 2;
            let (shown, cut_from) = if bytes.len() > room {
                (format!("0x{}…", hex(&bytes[..room])), Some(bytes.len()))
            } else {
                (format!("0x{}", hex(&bytes)), None)
            };
            Cell {
                text: shown,
                null: false,
                binary: true,
                cut_from,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::value::Kind;

    fn meta(binary: bool) -> ColMeta {
        ColMeta {
            name: "c".into(),
            kind: Kind::Bytes,
            binary,
        }
    }

    #[test]
    fn as_the_repl_shows_them() {
        let text = |s: &[u8], b| cell(&Value::Bytes(s.to_vec()), &meta(b));
        assert!(cell(&Value::NULL, &meta(false)).null);
        assert_eq!(text(b"NULL", false).text, "'NULL'");
        assert_eq!(text(b"a\tb", false).text, "a\\tb");
        assert_eq!(text(b"AB", true).text, "0x4142");
        assert_eq!(text(&[0xff, 0], false).text, "0xff00");
        let long = text("é".repeat(300).as_bytes(), false);
        assert_eq!(long.text.chars().count(), LONG);
        assert_eq!(long.cut_from, Some(300));
        assert_eq!(cell(&Value::Int(-4), &meta(false)).text, "-4");
    }
}
