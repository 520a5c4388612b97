//! Completion in `ferry repl`: the schema cache filled from a real server of 5,000
//! tables answers a Tab within 100 ms (the completer called through the cache as the
//! prompt fills it), and at a pseudo-terminal Tab completes a method, a table of the
//! right side inside a string and a column after `row.` in a copy's transform, and
//! lists the candidates when the prefix is ambiguous.

use std::time::{Duration, Instant};

use crate::repl::{repl, wait};
use crate::support::*;
use expectrl::Expect;
use ferry::conn_spec::ConnSpec;
use ferry::db::Role;
use ferry::repl_completion::{complete, SchemaCache, Sources};

const TABLES: usize = 5000;

/// `TABLES` tables `t0000`..`t4999` (MEMORY tables: no tablespace files to create)
/// with two columns each, and `customers` with its own.
fn many_tables(dbs: &mut Dbs) {
    dbs.src(
        "CREATE PROCEDURE make_tables(n INT) BEGIN \
           DECLARE i INT DEFAULT 0; \
           WHILE i < n DO \
             SET @s = CONCAT('CREATE TABLE t', LPAD(i, 4, '0'), \
               ' (id INT PRIMARY KEY, v', i, ' INT) ENGINE = MEMORY'); \
             PREPARE st FROM @s; EXECUTE st; DEALLOCATE PREPARE st; \
             SET i = i + 1; \
           END WHILE; END",
    );
    dbs.src(&format!("CALL make_tables({TABLES})"));
    dbs.src(
        "CREATE TABLE customers (id INT PRIMARY KEY, name_long VARCHAR(20), email VARCHAR(40))",
    );
}

#[test]
fn repl_completion_of_5000_tables_answers_within_100_ms() {
    let mut dbs = Dbs::new("repl_complete_many");
    let made = Instant::now();
    many_tables(&mut dbs);
    println!("{TABLES} tables made in {:?}", made.elapsed());
    dbs.dst("CREATE TABLE clients (id INT PRIMARY KEY, full_name VARCHAR(20), status INT)");

    let cache = SchemaCache::new();
    let filled = Instant::now();
    cache.refresh(Role::Source, &ConnSpec::parse(&dbs.src_url).unwrap());
    cache.refresh(Role::Target, &ConnSpec::parse(&dbs.dst_url).unwrap());
    assert!(cache.wait(Duration::from_secs(120)), "{}", cache.summary());
    println!(
        "cache filled in {:?}: {}",
        filled.elapsed(),
        cache.summary()
    );
    assert_eq!(
        cache.tables(Role::Source).len(),
        TABLES + 1,
        "{}",
        cache.summary()
    );

    let sources = Sources {
        lua: None,
        cache: &cache,
        help_names: &[],
    };
    let cases: &[(&str, &[&str])] = &[
        ("src:peek(\"cu", &["customers"]),
        (
            "src:peek(\"t499",
            &[
                "t4990", "t4991", "t4992", "t4993", "t4994", "t4995", "t4996", "t4997", "t4998",
                "t4999",
            ],
        ),
        ("dst:count(\"cl", &["clients"]),
        ("copy{from = \"cus", &["customers"]),
        ("copy{from = \"customers\", to = \"", &["clients"]),
        (
            "copy{from = \"customers\", to = \"clients\", map = map{ fu",
            &["full_name"],
        ),
        (
            "copy{from = \"customers\", to = \"clients\", default = default{ id = 1, st",
            &["status"],
        ),
        (
            "copy{from = \"customers\", to = \"clients\", map = map{ full_name = \"na",
            &["name_long"],
        ),
        (
            "copy{from = \"customers\", transform = function(row) return row.em",
            &["email"],
        ),
        ("src:pe", &["peek"]),
        (".desc src.cus", &["customers"]),
    ];
    let mut slowest = Duration::ZERO;
    for (line, want) in cases {
        let started = Instant::now();
        let (_, got) = complete(line, line.len(), &sources);
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert_eq!(&got, want, "completing {line:?}");
    }
    // Every table of the source: the widest answer there is.
    let line = "src:peek(\"";
    let started = Instant::now();
    let (at, all) = complete(line, line.len(), &sources);
    let took = started.elapsed();
    slowest = slowest.max(took);
    assert_eq!((at, all.len()), (line.len(), TABLES + 1));
    println!("slowest Tab over {TABLES} tables: {slowest:?}");
    assert!(slowest < Duration::from_millis(100), "took {slowest:?}");
}

#[test]
fn repl_tab_completes_methods_tables_and_columns() {
    let mut dbs = Dbs::new("repl_complete_pty");
    dbs.src("CREATE TABLE customers (id INT PRIMARY KEY, name_long VARCHAR(20))");
    dbs.src("INSERT INTO customers VALUES (1, 'Ann')");
    dbs.src("CREATE TABLE orders_2024 (id INT PRIMARY KEY)");
    dbs.src("CREATE TABLE orders_2025 (id INT PRIMARY KEY)");
    dbs.dst("CREATE TABLE clients (id INT PRIMARY KEY)");
    dbs.dst("CREATE TABLE orders_2024 (id INT PRIMARY KEY)");
    let mut p = repl(
        &dbs,
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        120,
    );
    wait(&mut p, "]> ");
    // `.rehash` waits for the cache, so the Tabs below find it filled.
    p.send_line(".rehash").unwrap();
    let summary = wait(&mut p, " columns\r\n");
    assert!(
        summary.contains("schema cache: src: 3 tables, 4 columns; dst: 2 tables, 2"),
        "{summary}"
    );
    wait(&mut p, "]> ");
    // A method, then a table of the source inside the string.
    p.send("src:pe\t").unwrap();
    wait(&mut p, "peek");
    p.send("(\"cu\t").unwrap();
    wait(&mut p, "customers");
    p.send("\")\r").unwrap();
    wait(&mut p, "name_long");
    wait(&mut p, "Ann");
    wait(&mut p, "]> ");
    // Ambiguous: the common part, then the candidates listed on a second Tab.
    p.send("src:count(\"or\t").unwrap();
    wait(&mut p, "orders_202");
    p.send("\t").unwrap();
    let listed = wait(&mut p, "orders_2025");
    assert!(listed.contains("orders_2024"), "{listed}");
    p.send("5\")\r").unwrap();
    // (The listing redrew the prompt: wait for the count itself before typing on.)
    wait(&mut p, "\n0\r\n");
    wait(&mut p, "]> ");
    // A column of the copy's source table after `row.`.
    p.send("f = function() return copy{from = \"customers\", to = \"clients\", transform = function(row) return row.na\t").unwrap();
    wait(&mut p, "name_long");
    p.send(" end} end\r").unwrap();
    wait(&mut p, "]> ");
    p.send_line("return type(f)").unwrap();
    wait(&mut p, "function");
    // The methods of a background copy's handle.
    p.send_line("h = copy{from = \"orders_2024\", to = \"orders_2024\", background = true} print(\"start\" .. \"ed\")")
        .unwrap();
    wait(&mut p, "started");
    wait(&mut p, "]> ");
    p.send("h:wa\t").unwrap();
    wait(&mut p, "wait");
    p.send("().read\r").unwrap();
    wait(&mut p, "\n0\r\n");
}
