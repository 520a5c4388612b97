//! A copy's `where` must be one predicate: ferry wraps it as `(...)` and ANDs it with
//! the keyset condition and the key range, so a `where` that closes its own
//! parenthesis, ends the statement (`;`), comments out the rest (`-- `, `#`, `/*`) or
//! holds a `?` (which would take the keyset's parameters) would escape that wrapping
//! and page the same rows for ever, or read rows the copy was not asked to. A small
//! SQL tokenizer finds these outside string literals ('...' and "..." with doubled
//! quotes and backslash escapes) and backquoted identifiers, so `name = 'a;b)'` stays
//! valid.

/// Checks a `where` text. `Err` says what is wrong and where.
pub fn check_where(text: &str) -> Result<(), String> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut depth: usize = 0;
    // Byte offset of each open parenthesis, to name an unclosed one.
    let mut open: Vec<usize> = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                i = skip_quoted(b, i, c, true)
                    .ok_or_else(|| problem(text, i, "opens a string literal it never closes"))?;
                continue;
            }
            b'`' => {
                i = skip_quoted(b, i, c, false)
                    .ok_or_else(|| problem(text, i, "opens a quoted identifier it never closes"))?;
                continue;
            }
            b'(' => {
                depth += 1;
                open.push(i);
            }
            b')' => {
                if depth == 0 {
                    return Err(problem(
                        text,
                        i,
                        "closes a parenthesis it did not open, so the rest would escape \
                         the `(...)` ferry puts around it",
                    ));
                }
                depth -= 1;
                open.pop();
            }
            b';' => {
                return Err(problem(
                    text,
                    i,
                    "holds a statement separator `;`: a `where` is one predicate, not \
                     statements",
                ))
            }
            b'#' => return Err(comment(text, i)),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2)
                    .is_none_or(|n| n.is_ascii_whitespace() || n.is_ascii_control()) =>
            {
                return Err(comment(text, i))
            }
            b'/' if b.get(i + 1) == Some(&b'*') => return Err(comment(text, i)),
            b'?' => {
                return Err(problem(
                    text,
                    i,
                    "holds a placeholder `?`, which would take the values ferry binds for \
                     paging: write the value in the text",
                ))
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(&at) = open.last() {
        return Err(problem(text, at, "opens a parenthesis it never closes"));
    }
    if text.trim().is_empty() {
        return Err("`where` is empty: leave it out to copy every row".to_string());
    }
    Ok(())
}

/// The index just past the quoted text starting at `start` (a quote `q`), or `None`
/// when it is not closed. A doubled quote stands for itself; in string literals a
/// backslash escapes the next byte.
fn skip_quoted(b: &[u8], start: usize, q: u8, backslash: bool) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

fn comment(text: &str, at: usize) -> String {
    problem(
        text,
        at,
        "holds a comment, which would cut off what ferry adds after it: remove it",
    )
}

/// `` `where` ... at `) OR (1 = 1` (character 7) ``: the offending part, cut short.
fn problem(text: &str, at: usize, what: &str) -> String {
    let rest = &text[at..];
    let shown: String = rest.chars().take(30).collect();
    let more = if shown.len() < rest.len() { "…" } else { "" };
    let position = text[..at].chars().count() + 1;
    format!(
        "`where` must be one predicate, but it {what}: at `{}{more}` (character {position} \
         of {:?})",
        shown.escape_debug(),
        text
    )
}

#[cfg(test)]
mod tests {
    use super::check_where;

    #[test]
    fn valid_predicates_pass() {
        for ok in [
            "id > 3",
            "(a = 1 OR b = 2) AND c IN (1, 2, 3)",
            "name = 'a;b)'",
            "name = 'it''s -- not a comment'",
            r"name = 'back\'slash ) ;'",
            r#"name = "double ""quoted"" ) # x""#,
            "`odd)col` = 1",
            "`a``b;` = 2",
            "x = '/* no */'",
            "a-1 > 0",
            "a--1 > 0",
            "price - -1 > 0",
            "note LIKE '%?%'",
            "ts >= NOW() - INTERVAL 1 DAY",
        ] {
            assert_eq!(check_where(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn escapes_are_refused() {
        for (bad, says) in [
            ("id > 3) OR (1 = 1", "closes a parenthesis"),
            ("id > 3; DELETE FROM t", "statement separator"),
            ("id > 3 -- ", "comment"),
            ("id > 3 --", "comment"),
            ("id > 3 --\tx", "comment"),
            ("id > 3 # rest", "comment"),
            ("id > 3 /* x */", "comment"),
            ("id > 3 /*! ) OR (1=1 */", "comment"),
            ("(id > 3", "never closes"),
            ("name = 'abc", "string literal"),
            ("`abc = 1", "quoted identifier"),
            ("id > ?", "placeholder"),
            ("  ", "empty"),
        ] {
            let e = check_where(bad).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
        let e = check_where("id > 3) OR (1 = 1").unwrap_err();
        assert!(e.contains("at `) OR (1 = 1`"), "{e}");
        assert!(e.contains("character 7"), "{e}");
    }
}
