//! Every Lua block in the README and in `docs/` runs, against a schema that fits its
//! examples; and every relative link between the project's Markdown files resolves.

use crate::support::*;
use std::path::{Path, PathBuf};

fn lua_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```lua") => current = Some(String::new()),
            Some(b) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Runs one example block against the source and target schema the examples are written
/// for: `users` and `orders` on the source, `customers`, `orders` and `order_events` on
/// the target.
fn run_block(origin: &str, i: usize, block: &str) {
    let mut dbs = Dbs::new("readme");
    dbs.src("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, email VARCHAR(100) NULL, deleted_at DATETIME NULL)");
    dbs.src("INSERT INTO users VALUES (1, '  Ann', 'ANN@X.ORG', NULL), (2, 'Bob', NULL, NULL), (3, 'Cy', 'cy@x.org', '2020-01-01 00:00:00')");
    dbs.src("CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2))");
    dbs.src("INSERT INTO orders VALUES (1, 9.99), (2, 0.01)");
    dbs.dst("CREATE TABLE customers (id INT PRIMARY KEY, full_name VARCHAR(50) NOT NULL, email VARCHAR(100) NULL, status VARCHAR(10) NOT NULL, created_at DATETIME NOT NULL, note VARCHAR(20) NULL)");
    dbs.dst("CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2))");
    dbs.dst("CREATE TABLE order_events (order_id INT NOT NULL, kind VARCHAR(20) NOT NULL, amount DECIMAL(10,2))");
    let run = dbs.run_code(block, &[]);
    assert_eq!(
        run.status,
        0,
        "{origin} Lua block #{}:\n{block}\n{}",
        i + 1,
        run.describe()
    );
    if block.contains("from = \"users\"") {
        use mysql::prelude::Queryable;
        let rows: Vec<(i32, String, String, String)> = dbs
            .dst
            .query("SELECT id, full_name, email, status FROM customers ORDER BY id")
            .unwrap();
        assert_eq!(
            rows,
            vec![(1, "Ann".into(), "ann@x.org".into(), "active".into())],
            "{origin} Lua block #{}:\n{block}",
            i + 1
        );
        assert_eq!(
            dbs.count_dst("orders"),
            2,
            "{origin} Lua block #{}:\n{block}",
            i + 1
        );
    }
}

#[test]
fn every_lua_block_in_the_readme_runs() {
    let readme = include_str!("../README.md");
    let blocks = lua_blocks(readme);
    assert!(blocks.len() >= 2, "the README has Lua examples");
    for (i, block) in blocks.iter().enumerate() {
        run_block("README", i, block);
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.md` file under `dir`, sorted.
fn markdown_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_lua_block_in_the_docs_runs() {
    let mut count = 0;
    for file in markdown_under(&root().join("docs")) {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        for (i, block) in lua_blocks(&text).iter().enumerate() {
            run_block(&name, i, block);
            count += 1;
        }
    }
    assert!(count >= 10, "the docs have Lua examples ({count} found)");
}

/// The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_lowercase().next()?),
            _ => None,
        })
        .collect()
}

/// The text outside fenced code blocks and inline code.
fn prose(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            // Drop inline code spans (an even number of backticks pairs them up).
            let kept: String = line
                .split('`')
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, s)| s)
                .collect();
            lines.push(kept);
        }
    }
    lines
}

fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.push(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of `[text](target)` links in a line.
fn link_targets(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split_whitespace().next().unwrap_or("");
        out.push(target.to_string());
        rest = &after[end..];
    }
    out
}

#[test]
fn relative_links_in_the_docs_resolve() {
    let root = root();
    let mut files: Vec<PathBuf> = ["README.md", "CHANGELOG.md", "CONTRIBUTING.md"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    files.extend(markdown_under(&root.join("docs")));
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        for line in prose(&text) {
            for target in link_targets(&line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
                let dest = if path.is_empty() {
                    file.clone()
                } else {
                    file.parent().unwrap().join(path)
                };
                if !dest.exists() {
                    broken.push(format!("{name}: {target}: no such file"));
                    continue;
                }
                if anchor.is_empty() || dest.extension().is_none_or(|e| e != "md") {
                    continue;
                }
                let dest_text = std::fs::read_to_string(&dest).unwrap();
                if !anchors(&dest_text).iter().any(|a| a == anchor) {
                    broken.push(format!("{name}: {target}: no heading with that anchor"));
                }
            }
        }
    }
    assert!(checked >= 50, "links found: {checked}");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
