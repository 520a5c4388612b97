//! A copy's `where` must be one predicate: ferry wraps it as `(...)` and ANDs it with
//! the keyset condition and the key range, so a `where` that closes its own
//! parenthesis, ends the statement (`;`), comments out the rest (`-- `, `#`, `/*`) or
//! holds a `?` (which would take the keyset's parameters) would escape that wrapping
//! and page the same rows for ever, or read rows the copy was not asked to. A small
//! SQL tokenizer finds these outside string literals ('...' and "..." with doubled
//! quotes and backslash escapes) and backquoted identifiers, so `name = 'a;b)'` stays
//! valid.

use std::fmt;

/// Why a `where` is not one predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PredicateError {
    /// Nothing but blanks.
    Empty,
    /// The `where` (`text`) escapes its parentheses `how`, at byte `at`.
    Escapes {
        text: String,
        at: usize,
        how: Escape,
    },
}

/// How a `where` would escape the `(...)` ferry puts around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    UnclosedString,
    UnclosedIdentifier,
    StrayClose,
    Separator,
    Comment,
    Placeholder,
    UnclosedParen,
}

impl Escape {
    fn says(self) -> &'static str {
        match self {
            Escape::UnclosedString => "opens a string literal it never closes",
            Escape::UnclosedIdentifier => "opens a quoted identifier it never closes",
            Escape::StrayClose => {
                "closes a parenthesis it did not open, so the rest would escape the `(...)` \
                 ferry puts around it"
            }
            Escape::Separator => {
                "holds a statement separator `;`: a `where` is one predicate, not statements"
            }
            Escape::Comment => {
                "holds a comment, which would cut off what ferry adds after it: remove it"
            }
            Escape::Placeholder => {
                "holds a placeholder `?`, which would take the values ferry binds for paging: \
                 write the value in the text"
            }
            Escape::UnclosedParen => "opens a parenthesis it never closes",
        }
    }
}

/// `` `where` ... at `) OR (1 = 1` (character 7) ``: the offending part, cut short.
impl fmt::Display for PredicateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (text, at, how) = match self {
            PredicateError::Empty => {
                return f.write_str("`where` is empty: leave it out to copy every row")
            }
            PredicateError::Escapes { text, at, how } => (text, *at, how),
        };
        let rest = &text[at..];
        let shown: String = rest.chars().take(30).collect();
        let more = if shown.len() < rest.len() { "…" } else { "" };
        let position = text[..at].chars().count() + 1;
        write!(
            f,
            "`where` must be one predicate, but it {}: at `{}{more}` (character {position} \
             of {:?})",
            how.says(),
            shown.escape_debug(),
            text
        )
    }
}

impl std::error::Error for PredicateError {}

/// Checks a `where` text. `Err` says what is wrong and where.
pub fn check_where(text: &str) -> Result<(), PredicateError> {
    let problem = |at: usize, how: Escape| PredicateError::Escapes {
        text: text.to_string(),
        at,
        how,
    };
    let b = text.as_bytes();
    let mut i = 0;
    let mut depth: usize = 0;
    // Byte offset of each open parenthesis, to name an unclosed one.
    let mut open: Vec<usize> = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                i = skip_quoted(b, i, c, true).ok_or_else(|| problem(i, Escape::UnclosedString))?;
                continue;
            }
            b'`' => {
                i = skip_quoted(b, i, c, false)
                    .ok_or_else(|| problem(i, Escape::UnclosedIdentifier))?;
                continue;
            }
            b'(' => {
                depth += 1;
                open.push(i);
            }
            b')' => {
                if depth == 0 {
                    return Err(problem(i, Escape::StrayClose));
                }
                depth -= 1;
                open.pop();
            }
            b';' => return Err(problem(i, Escape::Separator)),
            b'#' => return Err(problem(i, Escape::Comment)),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2)
                    .is_none_or(|n| n.is_ascii_whitespace() || n.is_ascii_control()) =>
            {
                return Err(problem(i, Escape::Comment))
            }
            b'/' if b.get(i + 1) == Some(&b'*') => return Err(problem(i, Escape::Comment)),
            b'?' => return Err(problem(i, Escape::Placeholder)),
            _ => {}
        }
        i += 1;
    }
    if let Some(&at) = open.last() {
        return Err(problem(at, Escape::UnclosedParen));
    }
    if text.trim().is_empty() {
        return Err(PredicateError::Empty);
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
            let e = check_where(bad).expect_err(bad).to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let e = check_where("id > 3) OR (1 = 1").unwrap_err().to_string();
        assert!(e.contains("at `) OR (1 = 1`"), "{e}");
        assert!(e.contains("character 7"), "{e}");
        assert_eq!(
            check_where("a = 1 -- x").unwrap_err().to_string(),
            "`where` must be one predicate, but it holds a comment, which would cut off what \
             ferry adds after it: remove it: at `-- x` (character 7 of \"a = 1 -- x\")"
        );
        assert_eq!(
            check_where(" ").unwrap_err().to_string(),
            "`where` is empty: leave it out to copy every row"
        );
    }
}
