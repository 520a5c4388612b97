//! Lua literals as text: strings quoted so any bytes survive (`\ddd` for bytes that are
//! not printable UTF-8), string tokens read back to bytes, names as keys and fields.

use super::edits::Literal;

const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !KEYWORDS.contains(&s)
}

/// `name` as a table key: `name` or `["odd name"]`.
pub fn key(name: &str) -> String {
    if is_identifier(name) {
        name.to_string()
    } else {
        format!("[{}]", quote(name.as_bytes()))
    }
}

/// `row.name` or `row["odd name"]`.
pub fn field(row: &str, name: &str) -> String {
    if is_identifier(name) {
        format!("{row}.{name}")
    } else {
        format!("{row}[{}]", quote(name.as_bytes()))
    }
}

/// A double-quoted Lua string holding exactly `bytes`: printable UTF-8 as it is,
/// `\n` `\t` `\r` `\\` `\"`, every other byte as `\ddd`.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    let mut rest = bytes;
    while !rest.is_empty() {
        let (good, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, &[][..]),
            Err(e) => {
                let (g, b) = rest.split_at(e.valid_up_to());
                // SAFETY-free: valid_up_to marks a valid prefix.
                (std::str::from_utf8(g).unwrap_or_default(), b)
            }
        };
        for c in good.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\{:03}", c as u32))
                }
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\{b:03}"));
                    }
                }
                c => out.push(c),
            }
        }
        if let Some((b, tail)) = bad.split_first() {
            out.push_str(&format!("\\{b:03}"));
            rest = tail;
        } else {
            rest = &[];
        }
    }
    out.push('"');
    out
}

/// A default's value as Lua.
pub fn literal(l: &Literal) -> String {
    match l {
        Literal::Null => "null".into(),
        Literal::Bool(b) => b.to_string(),
        Literal::Integer(i) => i.to_string(),
        Literal::Float(f) => {
            let s = format!("{f:?}");
            if s.contains(['.', 'e', 'E']) {
                s
            } else {
                format!("{s}.0")
            }
        }
        Literal::Bytes(b) => quote(b),
    }
}

/// The bytes of a Lua string token as written in the file (`"..."`, `'...'`,
/// `[==[...]==]`); `None` when it is not one.
pub fn unquote(token: &str) -> Option<Vec<u8>> {
    let b = token.as_bytes();
    if b.first() == Some(&b'[') {
        let level = b[1..].iter().take_while(|c| **c == b'=').count();
        if b.get(1 + level) != Some(&b'[') {
            return None;
        }
        let start = 2 + level;
        let end = b.len().checked_sub(2 + level)?;
        let mut body = b.get(start..end)?;
        if body.first() == Some(&b'\r') {
            body = &body[1..];
            if body.first() == Some(&b'\n') {
                body = &body[1..];
            }
        } else if body.first() == Some(&b'\n') {
            body = &body[1..];
            if body.first() == Some(&b'\r') {
                body = &body[1..];
            }
        }
        return Some(body.to_vec());
    }
    let q = *b.first()?;
    if !(q == b'"' || q == b'\'') || b.len() < 2 || b[b.len() - 1] != q {
        return None;
    }
    let body = &b[1..b.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let e = *body.get(i)?;
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' | b'"' | b'\'' => out.push(e),
            b'\n' | b'\r' => {
                out.push(b'\n');
                if matches!(body.get(i), Some(&n) if (n == b'\n' || n == b'\r') && n != e) {
                    i += 1;
                }
            }
            b'x' => {
                let h = std::str::from_utf8(body.get(i..i + 2)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            b'z' => {
                while matches!(body.get(i), Some(c) if c.is_ascii_whitespace()) {
                    i += 1;
                }
            }
            b'u' => {
                if body.get(i) != Some(&b'{') {
                    return None;
                }
                let close = i + body[i..].iter().position(|c| *c == b'}')?;
                let h = std::str::from_utf8(&body[i + 1..close]).ok()?;
                let cp = u32::from_str_radix(h, 16).ok()?;
                let ch = char::from_u32(cp)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i = close + 1;
            }
            d if d.is_ascii_digit() => {
                let mut n = u32::from(d - b'0');
                for _ in 0..2 {
                    match body.get(i) {
                        Some(c) if c.is_ascii_digit() => {
                            n = n * 10 + u32::from(c - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(u8::try_from(n).ok()?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A Lua number token as a literal.
pub fn number(token: &str) -> Option<Literal> {
    let t = token.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok().map(Literal::Integer);
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Literal::Integer(i));
    }
    t.parse::<f64>().ok().map(Literal::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_bytes_round_trip() {
        let all: Vec<u8> = (0..=255u8).collect();
        for s in [
            b"plain".to_vec(),
            b"it's \"quoted\"\nand\\slashed".to_vec(),
            b"nul\0 then 7: \x007".to_vec(),
            "Grüße ✓".as_bytes().to_vec(),
            all,
        ] {
            let q = quote(&s);
            assert!(std::str::from_utf8(q.as_bytes()).is_ok());
            assert!(!q.contains('\n'), "{q}");
            assert_eq!(unquote(&q).unwrap(), s, "{q}");
        }
        assert_eq!(quote(b"a\x007"), "\"a\\0007\"");
    }

    #[test]
    fn long_brackets_and_escapes_read() {
        assert_eq!(unquote("[==[\nab]]c]==]").unwrap(), b"ab]]c");
        assert_eq!(
            unquote("'\\x41\\u{e9}\\65\\z   b'").unwrap(),
            "Aé"
                .as_bytes()
                .iter()
                .chain(b"Ab")
                .copied()
                .collect::<Vec<u8>>()
        );
        assert_eq!(unquote("name"), None);
    }

    #[test]
    fn names() {
        assert_eq!(key("email"), "email");
        assert_eq!(key("end"), "[\"end\"]");
        assert_eq!(field("r", "full name"), "r[\"full name\"]");
    }
}
