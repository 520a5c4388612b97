//! `.help NAME` for the standard library, generated rather than copied: each function's
//! signature and line come from the `---` doc comment above it in `stdlib/ferry/*.lua`,
//! its example from the first line of docs/guide/stdlib.md's examples (run by the tests)
//! that calls it. Answers `text.lower`, `ferry.text.lower` and `ferry.text`.

const GUIDE: &str = include_str!("../../docs/guide/stdlib.md");

/// One documented function of a module.
pub struct Function {
    /// `text.lower`
    pub name: String,
    /// `text.lower(s)`
    pub signature: String,
    pub what: String,
}

/// Every documented function of every built-in module.
pub fn functions() -> Vec<Function> {
    let mut out = Vec::new();
    for (module, _, source) in crate::lua::stdlib::MODULES {
        let short = module.trim_start_matches("ferry.");
        let mut block: Vec<&str> = Vec::new();
        for line in source.lines().chain(std::iter::once("")) {
            if let Some(doc) = line.strip_prefix("---") {
                block.push(doc.trim());
                continue;
            }
            if let Some(f) = parse_block(short, &block) {
                out.push(f);
            }
            block.clear();
        }
    }
    out
}

/// `name(args): what it does` over one or more comment lines.
fn parse_block(module: &str, block: &[&str]) -> Option<Function> {
    let text = block.join(" ");
    let (head, what) = text.split_once(": ")?;
    let name: String = head
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    let prefix = format!("{module}.");
    let name = name.strip_prefix(&prefix).unwrap_or(&name);
    if name.is_empty() || head.contains(' ') && !head.contains('(') {
        return None;
    }
    let head = head.strip_prefix(&prefix).unwrap_or(head);
    Some(Function {
        name: format!("{module}.{name}"),
        signature: format!("{module}.{head}"),
        what: what.trim().to_string(),
    })
}

/// The first line of the guide's examples that uses `name` (`text.lower(`), an
/// `assert(X == Y)` shown as `X  --> Y`.
fn example(name: &str) -> Option<String> {
    let call = format!("{name}(");
    let line = GUIDE.lines().map(str::trim).find(|l| {
        l.starts_with("assert(") && (l.contains(&call) || l.contains(&format!("{name} ")))
    })?;
    let inner = line.strip_prefix("assert(")?.strip_suffix(')')?;
    Some(match inner.split_once(" == ") {
        Some((value, result)) if !result.contains(" and ") && !value.contains(" and ") => {
            format!("{value}  --> {result}")
        }
        _ => inner.to_string(),
    })
}

/// The help of one stdlib name, or `None` when it is not one.
pub fn about(name: &str) -> Option<String> {
    let key = name.strip_prefix("ferry.").unwrap_or(name);
    if let Some((module, _, source)) = crate::lua::stdlib::MODULES
        .iter()
        .find(|(m, _, _)| m.trim_start_matches("ferry.") == key)
    {
        let summary: Vec<&str> = source
            .lines()
            .take_while(|l| l.starts_with("--") && !l.starts_with("---"))
            .map(|l| l.trim_start_matches('-').trim())
            .collect();
        let names: Vec<String> = functions()
            .into_iter()
            .filter(|f| f.name.starts_with(&format!("{key}.")))
            .map(|f| f.name)
            .collect();
        return Some(format!(
            "local {key} = require \"{module}\"\n  {}\n  functions: {}",
            summary.join(" "),
            names.join(" ")
        ));
    }
    let f = functions().into_iter().find(|f| f.name == key)?;
    let example = example(&f.name).unwrap_or_else(|| {
        format!(
            "local {} = require \"ferry.{}\"",
            module_of(&f.name),
            module_of(&f.name)
        )
    });
    Some(format!(
        "{}\n  {}\n  example: {example}",
        f.signature, f.what
    ))
}

fn module_of(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Every name `about` answers, for completion.
pub fn names() -> Vec<String> {
    crate::lua::stdlib::MODULES
        .iter()
        .map(|(m, _, _)| m.to_string())
        .chain(functions().into_iter().map(|f| f.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stdlib_function_has_help() {
        let all = functions();
        // Every function a module exports (`function M.x` or `M.x =`) has an entry.
        for full in crate::lua::stdlib::exported_functions() {
            assert!(all.iter().any(|f| f.name == full), "no help for {full}");
        }
        assert!(all.len() >= 50, "{} functions", all.len());
        for module in ["text", "date", "json", "hash", "id", "mask"] {
            assert!(
                all.iter()
                    .any(|f| f.name.starts_with(&format!("{module}."))),
                "{module}"
            );
        }
        let lower = about("text.lower").unwrap();
        assert!(lower.starts_with("text.lower(s)\n"), "{lower}");
        assert!(
            lower.contains("example: text.lower(\"ÉCOLE Straße\")  --> \"école straße\""),
            "{lower}"
        );
        assert_eq!(about("ferry.text.lower"), about("text.lower"));
        let add = about("date.add").unwrap();
        assert!(add.starts_with("date.add(s, n, unit)"), "{add}");
        assert!(add.contains("example: "), "{add}");
        assert!(about("ferry.hash").unwrap().contains("functions: hash."));
        assert!(about("text.nope").is_none());
        assert!(about("json.null").unwrap().starts_with("json.null\n"));
        for f in &all {
            assert!(
                !f.what.is_empty() && f.signature.contains(&f.name),
                "{}",
                f.signature
            );
        }
    }
}
