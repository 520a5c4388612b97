//! Every Lua block in the README runs, against a schema that fits its examples.

use crate::support::*;

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

#[test]
fn every_lua_block_in_the_readme_runs() {
    let readme = include_str!("../README.md");
    let blocks = lua_blocks(readme);
    assert!(blocks.len() >= 2, "the README has Lua examples");
    for (i, block) in blocks.iter().enumerate() {
        let mut dbs = Dbs::new("readme");
        dbs.src("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, email VARCHAR(100) NULL, deleted_at DATETIME NULL)");
        dbs.src("INSERT INTO users VALUES (1, '  Ann', 'ANN@X.ORG', NULL), (2, 'Bob', NULL, NULL), (3, 'Cy', 'cy@x.org', '2020-01-01 00:00:00')");
        dbs.src("CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2))");
        dbs.src("INSERT INTO orders VALUES (1, 9.99), (2, 0.01)");
        dbs.dst("CREATE TABLE customers (id INT PRIMARY KEY, full_name VARCHAR(50) NOT NULL, email VARCHAR(100) NULL, status VARCHAR(10) NOT NULL, created_at DATETIME NOT NULL, note VARCHAR(20) NULL)");
        dbs.dst("CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2))");
        let run = dbs.run_code(block, &[]);
        assert_eq!(
            run.status,
            0,
            "README Lua block #{}:\n{block}\n{}",
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
                vec![(1, "Ann".into(), "ann@x.org".into(), "active".into())]
            );
            assert_eq!(dbs.count_dst("orders"), 2);
        }
    }
}
