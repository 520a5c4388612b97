//! GET /api/transforms: the stdlib's functions of one value that suit a column, read
//! from the `---` doc comments of stdlib/ferry/*.lua (the same text `.help` shows).

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Transform {
    /// `text.lower`
    pub name: String,
    pub doc: String,
    /// `"ÉCOLE" -> "école"`, when the doc gives one.
    pub example: Option<String>,
}

/// Modules whose one-value functions may fill a column. `mask` needs the job's salt and
/// `json` answers tables, so they are left out.
const MODULES: &[&str] = &["text", "hash", "date", "id"];

/// Functions of one value that do not answer a column value (a list, a boolean).
const NOT_A_VALUE: &[&str] = &["text.split", "text.join", "text.is_email"];

pub fn list() -> Vec<Transform> {
    let mut out = Vec::new();
    for (module, _, text) in crate::lua::stdlib::MODULES {
        let short = module.trim_start_matches("ferry.");
        if !MODULES.contains(&short) {
            continue;
        }
        out.extend(
            docs(text)
                .into_iter()
                .filter(|(sig, _)| one_value(sig))
                .filter_map(|(sig, doc)| {
                    let name = format!("{short}.{}", sig.split('(').next()?.trim());
                    if NOT_A_VALUE.contains(&name.as_str()) {
                        return None;
                    }
                    Some(Transform {
                        example: example(&doc),
                        name,
                        doc,
                    })
                }),
        );
    }
    out
}

/// Whether `name` is one of `list()`.
pub fn exists(name: &str) -> bool {
    list().iter().any(|t| t.name == name)
}

/// `(signature, doc)` of each `--- name(args): doc` comment (continued on `---` lines).
fn docs(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("---") else {
            open = false;
            continue;
        };
        let rest = rest.trim();
        let head = rest.split(':').next().unwrap_or("");
        let is_sig = head.contains('(')
            && head.ends_with(')')
            && head.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if is_sig && rest.contains("): ") {
            let (sig, doc) = rest.split_once("): ").unwrap_or((rest, ""));
            out.push((format!("{sig})"), doc.trim().to_string()));
            open = true;
        } else if open {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(rest);
            }
        }
    }
    out
}

/// `f(s)` and `f(s [, more])`: one value, the rest optional.
fn one_value(sig: &str) -> bool {
    let Some(args) = sig.split_once('(').map(|(_, a)| a.trim_end_matches(')')) else {
        return false;
    };
    let required = args.split('[').next().unwrap_or("").trim();
    !required.is_empty() && !required.contains(',')
}

/// The `("A" -> "b")` of a doc.
fn example(doc: &str) -> Option<String> {
    let arrow = doc.find("->")?;
    let open = doc[..arrow].rfind('(')?;
    let close = arrow + doc[arrow..].find(')')?;
    // `("x" -> f("y"))` has a nested parenthesis: take up to the last `)` of the clause
    let clause_end = doc[arrow..]
        .find(").")
        .map(|i| arrow + i)
        .filter(|i| *i >= close)
        .unwrap_or(close);
    Some(doc[open + 1..clause_end].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_transform_exists_in_the_stdlib() {
        let list = list();
        for want in [
            "text.lower",
            "text.upper",
            "text.trim",
            "text.squeeze",
            "text.slug",
            "text.blank_to_null",
            "text.remove_diacritics",
            "hash.md5",
            "hash.sha256",
            "date.zero_to_null",
        ] {
            assert!(list.iter().any(|t| t.name == want), "{want} missing");
        }
        assert!(!list.iter().any(|t| t.name == "text.split"));
        assert!(!list.iter().any(|t| t.name == "text.replace"));
        let exported = crate::lua::stdlib::exported_functions();
        for t in &list {
            assert!(
                exported.contains(&t.name),
                "{} is listed but the stdlib exports no such function",
                t.name
            );
            assert!(!t.doc.is_empty(), "{} has no doc", t.name);
        }
        let lower = list.iter().find(|t| t.name == "text.lower").unwrap();
        assert_eq!(lower.example.as_deref(), Some("\"ÉCOLE\" -> \"école\""));
    }
}
