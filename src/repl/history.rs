//! The history of the prompt: what a line becomes before it is stored, so no password
//! typed at the prompt (a URL's, a `password = "..."` field, `PASSWORD('...')`,
//! `IDENTIFIED BY '...'`) ever reaches the history file.

use crate::conn_spec::ConnSpec;

/// A line as the history keeps it: the password of every URL in it, every
/// `password = "..."` field (the table form), `PASSWORD('...')` and
/// `IDENTIFIED BY '...'` replaced by `***`. `None` (the line is not kept) when a
/// password of `specs` still shows in it.
pub fn history_entry(line: &str, specs: &[ConnSpec]) -> Option<String> {
    let mut out = crate::conn_spec::mask_urls(line);
    for word in ["password", "identified by"] {
        out = mask_literal_after(&out, word);
    }
    if specs.iter().any(|s| s.scrub(&out) != out) {
        return None;
    }
    Some(out)
}

/// Replaces the text of the string literal that follows `word` (any case, as a whole
/// word, then optionally `"]`, `=` or `(`) with `***`: `password = "x"`,
/// `["password"]='x'`, `password=[[x]]`, `PASSWORD('x')`, `IDENTIFIED BY 'x'`.
fn mask_literal_after(line: &str, word: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(word) {
        let start = from + found;
        let mut j = start + word.len();
        from = j;
        if (start > 0 && is_word(b[start - 1])) || b.get(j).is_some_and(|&c| is_word(c)) {
            continue;
        }
        let skip_ws = |j: &mut usize| {
            while b.get(*j).is_some_and(|c| c.is_ascii_whitespace()) {
                *j += 1;
            }
        };
        if matches!(b.get(j), Some(b'"' | b'\'')) && b.get(j + 1) == Some(&b']') {
            j += 2;
        }
        skip_ws(&mut j);
        if matches!(b.get(j), Some(b'=' | b'(')) && b.get(j + 1) != Some(&b'=') {
            j += 1;
            skip_ws(&mut j);
        }
        let (open, close): (usize, &str) = match b.get(j) {
            Some(b'"') => (1, "\""),
            Some(b'\'') => (1, "'"),
            Some(b'[') if b.get(j + 1) == Some(&b'[') => (2, "]]"),
            _ => continue,
        };
        let body = j + open;
        // The closing quote, skipping backslash escapes (not in long strings).
        let mut k = body;
        let end = loop {
            if k >= b.len() {
                break None;
            }
            if close.len() == 1 && b[k] == b'\\' {
                k += 2;
                continue;
            }
            if line[k..].starts_with(close) {
                break Some(k);
            }
            k += 1;
        };
        let Some(end) = end else { continue };
        out.push_str(&line[copied..body]);
        out.push_str("***");
        copied = end;
        from = end + close.len();
    }
    out.push_str(&line[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::history_entry;
    use crate::conn_spec::ConnSpec;

    #[test]
    fn history_masks_passwords() {
        let h = |l: &str| history_entry(l, &[]).unwrap();
        assert_eq!(
            h(r#"source "mysql://app:pa/ss@db1/crm""#),
            r#"source "mysql://app:***@db1/crm""#
        );
        assert_eq!(
            h(r#"source{host="h", password = "s3cret", database="d"}"#),
            r#"source{host="h", password = "***", database="d"}"#
        );
        assert_eq!(
            h(r#"target { ["password"]='a\'b', password_env = "PW" }"#),
            r#"target { ["password"]='***', password_env = "PW" }"#
        );
        assert_eq!(h("source{password=[[x]]}"), "source{password=[[***]]}");
        assert_eq!(
            h(r#"src:exec("CREATE USER u IDENTIFIED BY 'pw'")"#),
            r#"src:exec("CREATE USER u IDENTIFIED BY '***'")"#
        );
        assert_eq!(
            h(r#"src:exec("SET PASSWORD = PASSWORD('pw')")"#),
            r#"src:exec("SET PASSWORD = PASSWORD('***')")"#
        );
        assert_eq!(h("print(password)"), "print(password)");
        assert_eq!(h("src:peek(\"t\")"), "src:peek(\"t\")");
        // A line that still holds a session's password is not kept.
        let spec = ConnSpec::parse("mysql://app:Sess10n-pw@db1/crm").unwrap();
        assert_eq!(
            history_entry(r#"x = "Sess10n-pw""#, std::slice::from_ref(&spec)),
            None
        );
        assert_eq!(
            history_entry("src:tables()", std::slice::from_ref(&spec)).as_deref(),
            Some("src:tables()")
        );
    }
}
