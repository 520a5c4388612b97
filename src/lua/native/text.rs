//! The Rust half of `ferry.text`: case, length, substrings and white space, character
//! by character (width, diacritics, slugs and e-mail shape are in `letters`). Text is
//! taken as bytes: valid UTF-8 runs are treated as characters, and any byte that is not
//! part of valid UTF-8 counts as one character and is copied unchanged, so binary values
//! never get corrupted. `ferry.text` (stdlib/ferry/text.lua) is the user-facing API.

use mlua::{Lua, LuaString, Table};

/// Registers the `text_*` functions on the native table.
pub fn register(lua: &Lua, t: &Table) -> mlua::Result<()> {
    /// Lua: `native.text_lower(s)` -> s with every character lower-cased.
    fn lower(_: &Lua, s: LuaString) -> mlua::Result<mlua::BString> {
        Ok(map_valid(&s.as_bytes(), str::to_lowercase).into())
    }
    /// Lua: `native.text_upper(s)` -> s with every character upper-cased.
    fn upper(_: &Lua, s: LuaString) -> mlua::Result<mlua::BString> {
        Ok(map_valid(&s.as_bytes(), str::to_uppercase).into())
    }
    /// Lua: `native.text_length(s)` -> the number of characters in s.
    fn length(_: &Lua, s: LuaString) -> mlua::Result<i64> {
        let chunks = s.as_bytes();
        let count = chunks
            .utf8_chunks()
            .map(|c| c.valid().chars().count() + c.invalid().len());
        Ok(count.sum::<usize>() as i64)
    }
    /// Lua: `native.text_sub(s, i [, j])` -> characters i..j, as `string.sub` counts.
    fn sub(_: &Lua, (s, i, j): (LuaString, i64, Option<i64>)) -> mlua::Result<mlua::BString> {
        Ok(substring(&s.as_bytes(), i, j.unwrap_or(-1)).to_vec().into())
    }
    /// Lua: `native.text_trim(s, side [, chars])` -> s without white space (or `chars`)
    /// on `side`: "both", "left" or "right".
    fn trim_fn(
        _: &Lua,
        (s, side, chars): (LuaString, String, Option<String>),
    ) -> mlua::Result<mlua::BString> {
        let (left, right) = match side.as_str() {
            "both" => (true, true),
            "left" => (true, false),
            "right" => (false, true),
            other => return Err(mlua::Error::runtime(format!("unknown side {other:?}"))),
        };
        Ok(trim(&s.as_bytes(), left, right, chars.as_deref()).into())
    }
    /// Lua: `native.text_squeeze(s)` -> runs of white space as one space, ends trimmed.
    fn squeeze_fn(_: &Lua, s: LuaString) -> mlua::Result<mlua::BString> {
        Ok(squeeze(&s.as_bytes()).into())
    }
    t.set("text_lower", lua.create_function(lower)?)?;
    t.set("text_upper", lua.create_function(upper)?)?;
    t.set("text_length", lua.create_function(length)?)?;
    t.set("text_sub", lua.create_function(sub)?)?;
    t.set("text_trim", lua.create_function(trim_fn)?)?;
    t.set("text_squeeze", lua.create_function(squeeze_fn)?)?;
    Ok(())
}

/// Applies `f` to each valid UTF-8 run of `s`, copying invalid bytes unchanged.
pub(super) fn map_valid(s: &[u8], f: impl Fn(&str) -> String) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for chunk in s.utf8_chunks() {
        out.extend_from_slice(f(chunk.valid()).as_bytes());
        out.extend_from_slice(chunk.invalid());
    }
    out
}

/// The byte offset where each character starts (an invalid byte is a character).
fn starts(s: &[u8]) -> Vec<usize> {
    let mut out = Vec::with_capacity(s.len());
    let mut at = 0;
    for chunk in s.utf8_chunks() {
        out.extend(chunk.valid().char_indices().map(|(i, _)| at + i));
        at += chunk.valid().len();
        out.extend(at..at + chunk.invalid().len());
        at += chunk.invalid().len();
    }
    out
}

/// Characters `i..=j` of `s`, 1-based, negative counting from the end (`string.sub`).
fn substring(s: &[u8], i: i64, j: i64) -> &[u8] {
    let starts = starts(s);
    let n = starts.len() as i64;
    let i = if i < 0 { (n + i + 1).max(1) } else { i.max(1) };
    let j = if j < 0 { n + j + 1 } else { j.min(n) };
    if i > j {
        return &[];
    }
    let from = starts[(i - 1) as usize];
    let to = starts.get(j as usize).copied().unwrap_or(s.len());
    &s[from..to]
}

fn trim(s: &[u8], left: bool, right: bool, chars: Option<&str>) -> Vec<u8> {
    let drop = |c: char| match chars {
        Some(set) => set.contains(c),
        None => c.is_whitespace(),
    };
    let chunks: Vec<_> = s.utf8_chunks().collect();
    let last = chunks.len().saturating_sub(1);
    let mut out = Vec::with_capacity(s.len());
    for (k, chunk) in chunks.iter().enumerate() {
        let mut v = chunk.valid();
        // Only the text before the first invalid byte (or after the last) is an end.
        if left && k == 0 {
            v = v.trim_start_matches(drop);
        }
        if right && k == last && chunk.invalid().is_empty() {
            v = v.trim_end_matches(drop);
        }
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(chunk.invalid());
    }
    out
}

fn squeeze(s: &[u8]) -> Vec<u8> {
    let squeezed = map_valid(s, |v| {
        let mut out = String::with_capacity(v.len());
        let mut space = false;
        for c in v.chars() {
            if c.is_whitespace() {
                space = true;
            } else {
                if space {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
        if space {
            out.push(' ');
        }
        out
    });
    trim(&squeezed, true, true, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_is_unicode_and_invalid_bytes_stay() {
        assert_eq!(
            map_valid("ÀÉÎ Straße".as_bytes(), str::to_lowercase),
            "àéî straße".as_bytes()
        );
        assert_eq!(
            map_valid("straße".as_bytes(), str::to_uppercase),
            "STRASSE".as_bytes()
        );
        assert_eq!(map_valid(b"A\xffB", str::to_lowercase), b"a\xffb");
    }

    #[test]
    fn characters_are_counted_and_cut_as_string_sub_does() {
        let s = "añb张".as_bytes();
        assert_eq!(starts(s).len(), 4);
        assert_eq!(substring(s, 2, 3), "ñb".as_bytes());
        assert_eq!(substring(s, -2, -1), "b张".as_bytes());
        assert_eq!(substring(s, 3, 2), b"");
        assert_eq!(substring(s, 0, 100), s);
        assert_eq!(substring(b"a\xffb", 2, 2), b"\xff");
        assert_eq!(substring(b"", 1, -1), b"");
    }

    #[test]
    fn trim_and_squeeze_know_unicode_white_space() {
        assert_eq!(
            trim("\u{3000} a b\u{a0}\n".as_bytes(), true, true, None),
            b"a b"
        );
        assert_eq!(trim(b"  a  ", true, false, None), b"a  ");
        assert_eq!(trim(b"  a  ", false, true, None), b"  a");
        assert_eq!(trim(b"xxayx", true, true, Some("xy")), b"a");
        assert_eq!(trim(b" \xff ", true, true, None), b"\xff");
        assert_eq!(squeeze(" a \t\n b\u{3000}c  ".as_bytes()), b"a b c");
    }
}
