//! The shape of the source, checked on the files themselves (CONTRIBUTING.md, "Layout"):
//!
//! - Lua stays in its binding: `mlua` appears only in `src/lua/` and the REPL.
//! - `src/db/` is the one SQL boundary: only it (and the throwaway servers) imports the
//!   mysql crate, calls `Db::conn()` or holds SQL statement text.
//! - The top-level modules import each other without a cycle, and every layer imports
//!   only the layers under it (`db` nothing above it, `engine` no job, Lua or terminal,
//!   `job` no Lua, `plan` no engine).
//!
//! Test modules (`#[cfg(test)]` to the end of a file) are left out: tests may speak SQL.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file under `src/` with its path relative to `src/` and its text without
/// comments and without its test module.
fn sources() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 40, "only {} files under src/", files.len());
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let code: Vec<&str> = text
                .lines()
                .take_while(|l| l.trim() != "#[cfg(test)]")
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            (p.strip_prefix(&src).unwrap().to_path_buf(), code.join("\n"))
        })
        .collect()
}

/// The top-level module a file belongs to (`db` for `src/db/write/page.rs`).
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn in_db_or_throwaway(rel: &Path) -> bool {
    rel.starts_with("db") || rel == Path::new("throwaway.rs")
}

#[test]
fn mlua_appears_only_in_the_lua_binding_and_the_repl() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|(rel, _)| !(rel.starts_with("lua") || rel.starts_with("repl")))
        .filter(|(_, code)| code.contains("mlua"))
        .map(|(rel, _)| rel.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "mlua outside src/lua/ and src/repl/: {offenders:?}"
    );
}

#[test]
fn only_db_imports_the_mysql_crate() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|(rel, _)| !in_db_or_throwaway(rel))
        .filter(|(_, code)| code.contains("mysql::") || code.contains("use mysql"))
        .map(|(rel, _)| rel.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "the mysql crate outside src/db/: {offenders:?}"
    );
}

/// The start of a statement ferry could send, inside a string literal.
fn sql_in_literals(code: &str) -> Vec<String> {
    const STARTS: [&str; 22] = [
        "SELECT ",
        "INSERT INTO",
        "INSERT IGNORE",
        "REPLACE INTO",
        "UPDATE ",
        "DELETE FROM",
        "SHOW ",
        "SET SESSION",
        "SET NAMES",
        "SET @@",
        "SET FOREIGN_KEY",
        "CREATE TABLE",
        "CREATE DATABASE",
        "ALTER TABLE",
        "DROP TABLE",
        "DROP INDEX",
        "KILL ",
        "GET_LOCK(",
        "RELEASE_LOCK(",
        "START TRANSACTION",
        "LOAD DATA",
        "information_schema",
    ];
    let mut found = Vec::new();
    for (i, part) in code.split('"').enumerate() {
        // Odd parts are inside string literals (escaped quotes are rare enough here).
        if i % 2 == 1 {
            for s in STARTS {
                // Case-sensitive: ferry writes SQL keywords in capitals, prose not.
                if part.contains(s) && part.len() > s.len() {
                    found.push(part.chars().take(60).collect());
                    break;
                }
            }
        }
    }
    found
}

#[test]
fn only_db_holds_sql_text_and_sessions() {
    let mut offenders = Vec::new();
    for (rel, code) in sources() {
        if in_db_or_throwaway(&rel) {
            continue;
        }
        if code.contains(".conn()") {
            offenders.push(format!("{}: calls Db::conn()", rel.display()));
        }
        for sql in sql_in_literals(&code) {
            offenders.push(format!("{}: \"{sql}\"", rel.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "SQL outside src/db/:\n  {}",
        offenders.join("\n  ")
    );
}

#[test]
fn the_checker_sees_sql() {
    assert_eq!(
        sql_in_literals(r#"let q = format!("SELECT a FROM {t}"); let k = "INSERT";"#),
        vec!["SELECT a FROM {t}".to_string()]
    );
    assert!(sql_in_literals(r#"match e { "INSERT" => 1, "DELETE" => 2 }"#).is_empty());
    assert!(sql_in_literals(r#"m("the second would update the first")"#).is_empty());
}

/// Which top-level modules each top-level module imports (`crate::x` paths).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, code) in sources() {
        let from = module_of(&rel);
        let entry = graph.entry(from.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let to: String = code[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !to.is_empty() && to != from {
                entry.insert(to);
            }
        }
    }
    graph
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let graph = imports();
    assert!(graph.contains_key("db") && graph.contains_key("engine"));
    // Depth-first search; a grey node met again closes a cycle.
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, bool>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(true) => return None,
            Some(false) => {
                let start = path.iter().position(|n| *n == node).unwrap();
                let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        state.insert(node, false);
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(node, true);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut state, &mut Vec::new()) {
            panic!("an import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn each_layer_imports_only_the_layers_under_it() {
    let graph = imports();
    let above = |m: &str| -> &[&str] {
        match m {
            "db" => &[
                "plan",
                "engine",
                "job",
                "lua",
                "verify",
                "run",
                "repl",
                "cli",
                "demo",
                "progress",
                "logging",
                "signals",
                "fit",
                "row_error",
                "introspect",
                "check",
                "explain",
                "ui",
            ],
            "conn_spec" | "error" => &[
                "db", "plan", "engine", "job", "lua", "verify", "run", "repl", "cli", "ui",
            ],
            "plan" => &[
                "engine", "job", "lua", "verify", "run", "repl", "cli", "check", "explain", "ui",
            ],
            "engine" => &[
                "job", "lua", "verify", "run", "repl", "cli", "demo", "progress", "logging",
                "signals", "check", "explain", "ui",
            ],
            "job" => &["lua", "run", "repl", "cli", "demo", "check", "ui"],
            _ => &[],
        }
    };
    let mut offenders = Vec::new();
    for (from, tos) in &graph {
        for to in tos {
            if above(from).contains(&to.as_str()) {
                offenders.push(format!("{from} imports {to}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "imports against the layers: {offenders:?}"
    );
}

/// Errors are typed (CONTRIBUTING.md, "Layout"): no function in `src/` returns or takes
/// a `Result` whose error is a bare `String`.
#[test]
fn no_result_carries_a_bare_string_error() {
    let mut offenders = Vec::new();
    for (rel, code) in sources() {
        for line in code.lines() {
            let squeezed: String = line.split_whitespace().collect();
            if let Some(at) = squeezed.find("Result<") {
                let rest = &squeezed[at..];
                // The error type: what follows the first top-level comma.
                let mut depth = 0;
                let mut error = None;
                for (j, c) in rest.char_indices().skip(7) {
                    match c {
                        '<' | '(' => depth += 1,
                        '>' | ')' if depth == 0 => break,
                        '>' | ')' => depth -= 1,
                        ',' if depth == 0 => {
                            error = Some(&rest[j + 1..]);
                            break;
                        }
                        _ => {}
                    }
                }
                if error.is_some_and(|e| e.starts_with("String>")) {
                    offenders.push(format!("{}: {}", rel.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "errors as bare strings:\n  {}",
        offenders.join("\n  ")
    );
}
