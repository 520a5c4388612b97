//! Letters for `ferry.text`: full-width forms to ASCII, diacritics removed (canonical
//! decomposition without combining marks, and the letters with a stroke), slugs, and
//! the shape of an e-mail address.

use mlua::{Lua, LuaString, Table};
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

use super::text::map_valid;

/// Registers `text_halfwidth`, `text_unaccent`, `text_slug` and `text_is_email`.
pub fn register(lua: &Lua, t: &Table) -> mlua::Result<()> {
    /// Lua: `native.text_halfwidth(s)` -> full-width ASCII forms as ASCII.
    fn halfwidth(_: &Lua, s: LuaString) -> mlua::Result<mlua::BString> {
        Ok(map_valid(&s.as_bytes(), |v| v.chars().map(to_halfwidth).collect()).into())
    }
    /// Lua: `native.text_unaccent(s)` -> s without diacritics ("é" -> "e", "ø" -> "o").
    fn unaccent_fn(_: &Lua, s: LuaString) -> mlua::Result<mlua::BString> {
        Ok(map_valid(&s.as_bytes(), unaccent).into())
    }
    /// Lua: `native.text_slug(s, sep)` -> a lower-case slug of letters and digits.
    fn slug_fn(_: &Lua, (s, sep): (LuaString, String)) -> mlua::Result<String> {
        Ok(slug(&s.to_string_lossy(), &sep))
    }
    /// Lua: `native.text_is_email(s)` -> whether s has the shape of an e-mail address.
    fn is_email_fn(_: &Lua, s: LuaString) -> mlua::Result<bool> {
        Ok(s.to_str().is_ok_and(|s| is_email(&s)))
    }
    t.set("text_halfwidth", lua.create_function(halfwidth)?)?;
    t.set("text_unaccent", lua.create_function(unaccent_fn)?)?;
    t.set("text_slug", lua.create_function(slug_fn)?)?;
    t.set("text_is_email", lua.create_function(is_email_fn)?)?;
    Ok(())
}

/// The half-width form of a full-width ASCII character or the ideographic space.
fn to_halfwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{FFE0}' => '\u{A2}',
        '\u{FFE1}' => '\u{A3}',
        '\u{FFE2}' => '\u{AC}',
        '\u{FFE3}' => '\u{AF}',
        '\u{FFE4}' => '\u{A6}',
        '\u{FFE5}' => '\u{A5}',
        '\u{FFE6}' => '\u{20A9}',
        c => c,
    }
}

/// Canonical decomposition without the combining marks, recomposed; letters with a
/// stroke (which do not decompose) lose it too.
fn unaccent(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'ø' => 'o',
            'Ø' => 'O',
            'ł' => 'l',
            'Ł' => 'L',
            'đ' => 'd',
            'Đ' => 'D',
            'ħ' => 'h',
            'Ħ' => 'H',
            'ı' => 'i',
            c => c,
        })
        .nfc()
        .collect()
}

/// Lower case, no diacritics, "ß"/"æ"/"œ" spelt out, every run of characters that are
/// not letters or digits as one `sep`, none at the ends.
fn slug(s: &str, sep: &str) -> String {
    let plain = unaccent(s).to_lowercase();
    let mut out = String::with_capacity(plain.len());
    let mut gap = false;
    for c in plain.chars() {
        let spelt = match c {
            'ß' => "ss",
            'æ' => "ae",
            'œ' => "oe",
            'þ' => "th",
            'ð' => "d",
            _ if c.is_alphanumeric() => "",
            _ => {
                gap = true;
                continue;
            }
        };
        if gap && !out.is_empty() {
            out.push_str(sep);
        }
        gap = false;
        if spelt.is_empty() {
            out.push(c);
        } else {
            out.push_str(spelt);
        }
    }
    out
}

/// A practical check, not RFC 5322: one `@`; a local part of at most 64 characters
/// from the usual set, dots not at its ends nor doubled; a domain of at most 253
/// characters with at least two labels of letters, digits and inner hyphens, the last
/// one at least two letters long.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.chars().count() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.chars().count() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.chars().count() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_diacritics_and_slugs() {
        assert_eq!(
            map_valid("ＡＢＣ　１２３！".as_bytes(), |v| v
                .chars()
                .map(to_halfwidth)
                .collect()),
            b"ABC 123!"
        );
        assert_eq!(
            unaccent("Crème Brûlée, Łódź, Øre"),
            "Creme Brulee, Lodz, Ore"
        );
        assert_eq!(
            slug("  Crème Brûlée & Straße! ", "-"),
            "creme-brulee-strasse"
        );
        assert_eq!(slug("张三 Ann", "_"), "张三_ann");
        assert_eq!(slug("--", "-"), "");
    }

    #[test]
    fn email_shapes() {
        for good in ["a@b.co", "ann.lee+x@mail.example.org", "zhang@例子.中国"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.co",
            "a@.co",
            "a..b@c.co",
            ".a@b.co",
            "a@b.c",
            "a@-b.co",
            "a b@c.co",
            "a@b@c.co",
            "a@b.c0",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
