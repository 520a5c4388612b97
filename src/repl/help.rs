//! `.help` (the API and the dot commands on one screen) and `.help NAME` (signature,
//! one line, an example) for every global, handle method and dot command; and the
//! hint for `src.tables()`, which calls a method with `.` instead of `:`.

/// One name's help: the names it answers to, signature, what it does, an example.
struct Entry<'a> {
    names: Vec<&'a str>,
    signature: &'a str,
    what: &'a str,
    example: &'a str,
}

const NAMES: &str = include_str!("help_names.txt");
const OVERVIEW: &str = include_str!("help_overview.txt");

/// The entries of `help_names.txt`: blocks of four lines.
fn entries() -> Vec<Entry<'static>> {
    let text: Vec<&str> = NAMES.lines().filter(|l| !l.starts_with('#')).collect();
    text.split(|l| l.trim().is_empty())
        .filter(|b| b.len() == 4)
        .map(|b| Entry {
            names: b[0].split_whitespace().collect(),
            signature: b[1],
            what: b[2],
            example: b[3],
        })
        .collect()
}

/// Every name `.help NAME` answers to, for completion.
pub fn names() -> Vec<String> {
    entries()
        .iter()
        .flat_map(|e| e.names.iter().map(|n| n.to_string()))
        .chain(super::help_stdlib::names())
        .collect()
}

/// `.help`: the whole API and the dot commands on one screen.
pub fn overview() -> String {
    OVERVIEW.trim_end().to_string()
}

/// `.help NAME`: signature, one line, an example; or what names there are.
pub fn about(name: &str) -> String {
    let name = name.trim();
    let key = name.strip_suffix("()").unwrap_or(name);
    let key = key.strip_prefix("db:").unwrap_or(key);
    if let Some(h) = super::help_stdlib::about(key) {
        return h;
    }
    let all = entries();
    match all.iter().find(|e| e.names.contains(&key)) {
        Some(e) => format!("{}\n  {}\n  example: {}", e.signature, e.what, e.example),
        None => {
            let close: Vec<&str> = all
                .iter()
                .flat_map(|e| e.names.iter().copied())
                .filter(|n| !key.is_empty() && n.len() > 1 && (n.contains(key) || key.contains(n)))
                .collect();
            let stdlib = super::help_stdlib::names();
            let hint = if close.is_empty() {
                crate::db::schema::did_you_mean(key, stdlib.iter().map(String::as_str))
            } else {
                format!(" (did you mean {}?)", close.join(", "))
            };
            format!("no help for `{name}`{hint}; .help lists every name")
        }
    }
}

/// The hint for a method called with `.` (`src.tables()`): "did you mean
/// `src:tables()`?", or `None` when the line has no such call.
pub fn colon_hint(line: &str) -> Option<String> {
    for side in ["src.", "dst."] {
        let mut from = 0;
        while let Some(i) = line[from..].find(side) {
            let at = from + i;
            from = at + side.len();
            if at > 0 && line.as_bytes()[at - 1].is_ascii_alphanumeric() {
                continue;
            }
            let rest = &line[from..];
            let method: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let methods = ["tables", "columns", "count", "query", "exec", "peek"];
            if methods.contains(&method.as_str()) && rest[method.len()..].starts_with('(') {
                let fixed = format!("{}:{method}", &side[..3]);
                return Some(format!(
                    "did you mean `{}`? Methods are called with `:`",
                    line.replacen(&format!("{side}{method}"), &fixed, 1).trim()
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overview_fits_an_80_column_terminal() {
        for line in overview().lines() {
            assert!(line.chars().count() < 80, "{line}");
        }
    }

    #[test]
    fn every_name_has_a_signature_and_an_example() {
        let all = entries();
        assert!(all.len() > 20, "{} entries", all.len());
        assert_eq!(
            NAMES
                .lines()
                .filter(|l| !l.starts_with('#') && l.trim().is_empty())
                .count(),
            all.len(),
            "a block of help_names.txt is not four lines"
        );
        for name in [
            "query",
            "src:query",
            "copy",
            ".connect",
            "peek()",
            "db:peek",
        ] {
            let h = about(name);
            assert!(h.contains("example: "), "{name}: {h}");
        }
        assert!(about("nope").starts_with("no help for `nope`"));
        assert!(about("peak").contains("no help"));
    }

    #[test]
    fn a_dot_call_gets_the_colon_form() {
        assert_eq!(
            colon_hint("src.tables()").as_deref(),
            Some("did you mean `src:tables()`? Methods are called with `:`")
        );
        assert_eq!(
            colon_hint("x = dst.peek(\"t\")").as_deref(),
            Some("did you mean `x = dst:peek(\"t\")`? Methods are called with `:`")
        );
        assert_eq!(colon_hint("mysrc.tables()"), None);
        assert_eq!(colon_hint("src:tables()"), None);
    }
}
