//! Reading the server's messages: the row an error or warning names, the key a
//! duplicate-key message names, and the numbers in a statement's info string.

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

#[cfg(test)]
mod tests {
    use super::*;

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
