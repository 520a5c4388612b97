//! Reading the server's messages: the row an error or warning names, the key a
//! duplicate-key message names, the numbers in a statement's info string, and a
//! message without its "at row N" (which counts rows of one statement, not of the
//! source).

/// The key a duplicate-key message names: `Duplicate entry 'x' for key 'email'`
/// (MySQL 8: `'t.email'`) -> `email`.
pub(super) fn dup_key_name(message: &str) -> Option<&str> {
    let i = message.rfind("for key '")?;
    let key = message[i + 9..].strip_suffix('\'')?;
    Some(key.rsplit('.').next().unwrap_or(key))
}

/// "... at row 3" -> 3
pub(super) fn row_in_message(message: &str) -> Option<usize> {
    let idx = message.rfind("at row ")?;
    message[idx + 7..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

pub(super) fn info_number(info: &str, label: &str) -> Option<u64> {
    let idx = info.find(label)?;
    info[idx + label.len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The server's message without "at row N" (every occurrence).
pub fn without_row_number(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(" at row ") {
        let digits = rest[i + 8..]
            .bytes()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            out.push_str(&rest[..i + 8]);
            rest = &rest[i + 8..];
            continue;
        }
        out.push_str(&rest[..i]);
        rest = &rest[i + 8 + digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_numbers_go() {
        assert_eq!(
            without_row_number("ERROR 1406 (22001): Data too long for column 'v' at row 3"),
            "ERROR 1406 (22001): Data too long for column 'v'"
        );
        assert_eq!(
            without_row_number(
                "Warning 1265: Data truncated for column 'a' at row 12 (and 1 more)"
            ),
            "Warning 1265: Data truncated for column 'a' (and 1 more)"
        );
        assert_eq!(without_row_number("look at row x"), "look at row x");
    }

    #[test]
    fn parses_server_texts() {
        assert_eq!(
            row_in_message("Data truncated for column 's' at row 12"),
            Some(12)
        );
        assert_eq!(
            info_number("Records: 3  Duplicates: 1  Warnings: 0", "Duplicates:"),
            Some(1)
        );
    }
}
