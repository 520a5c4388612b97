//! A page's integer keys that lie close together (ids in order) are asked as one range,
//! `key BETWEEN lo AND hi`, which costs the server one index read in place of an index
//! dive per key: a key the range does not give back is in no row, the rows of keys in
//! the range that no row asked are kept as answers, and a key in two rows is an error
//! only when asked. The values are those a query per row gives.

use crate::lookup_batch::statements_on;
use crate::support::*;
use mysql::prelude::Queryable;

/// Source `orders` (ids 1..60, `pid` = the id, NULL for id 30); target `parts`: keys
/// every other id from 1 to 99, `v = 10 * k`, and key 90 twice (a plain index).
fn setup(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE orders (id INT PRIMARY KEY, pid INT NULL)");
    dbs.src("INSERT INTO orders SELECT seq, IF(seq = 30, NULL, seq) FROM seq_1_to_60");
    dbs.dst("CREATE TABLE parts (k INT NOT NULL, v INT NOT NULL, KEY (k))");
    dbs.dst("INSERT INTO parts SELECT seq, 10 * seq FROM seq_1_to_99 WHERE seq % 2 = 1");
    dbs.dst("INSERT INTO parts VALUES (90, 1), (90, 2)");
    dbs.dst("CREATE TABLE orders (id INT PRIMARY KEY, v INT NULL)");
}

const JOB: &str = r#"
local part = lookup { table = "parts", key = "k", value = "v" }
copy {
  from = "orders", page = 20,
  transform = function(r) return { id = r.id, v = part(r.pid) } end,
}
"#;

#[test]
fn close_integer_keys_are_asked_as_a_range() {
    let mut dbs = Dbs::new("lookup_range");
    setup(&mut dbs);
    // Page 2 asks 81..100 but 90 (row 30's key is NULL): its range holds key 90, in
    // two rows, which no row asks.
    dbs.src("UPDATE orders SET pid = id + 60 WHERE id BETWEEN 21 AND 40 AND pid IS NOT NULL");
    let mut run = None;
    let sql = statements_on(&mut dbs, "parts", |dbs| {
        run = Some(dbs.run_code(JOB, &[]));
    });
    let run = run.unwrap().ok();
    let got: Vec<(i32, Option<i32>)> = dbs
        .dst
        .query("SELECT id, v FROM orders ORDER BY id")
        .unwrap();
    let want: Vec<(i32, Option<i32>)> = (1..=60)
        .map(|id| {
            let pid = if (21..=40).contains(&id) { id + 60 } else { id };
            (
                id,
                (pid % 2 == 1 && pid <= 99 && id != 30).then_some(10 * pid),
            )
        })
        .collect();
    assert_eq!(got, want, "{}", run.describe());
    // The real pass's three pages: ranges 1-20, 81-100, 41-60.
    let ranges: Vec<&String> = sql.iter().filter(|s| s.contains("BETWEEN")).collect();
    for (lo, hi) in [(1, 20), (81, 100), (41, 60)] {
        assert!(
            ranges
                .iter()
                .any(|s| s.ends_with(&format!("BETWEEN {lo} AND {hi}"))),
            "{sql:#?}"
        );
    }
    assert!(!sql.iter().any(|s| s.contains("`k` IN (")), "{sql:#?}");
}

#[test]
fn a_key_asked_in_two_rows_is_still_an_error() {
    let mut dbs = Dbs::new("lookup_range_twice");
    setup(&mut dbs);
    // Page 3 asks 81..100 as a range, key 90 (row 50) among them.
    dbs.src("UPDATE orders SET pid = id + 40 WHERE id > 40");
    dbs.run_code(JOB, &["--no-check"])
        .status(1)
        .says("row id=50")
        .says("lookup parts.k: k = 90 is in more than one row");
    // Pages 1 and 2 committed.
    assert_eq!(dbs.count_dst("orders"), 40);
}

#[test]
fn spread_keys_are_still_one_in_list() {
    let mut dbs = Dbs::new("lookup_range_spread");
    setup(&mut dbs);
    // Keys 1, 4, 7, ...: a page of 20 spans 58 ids, too wide for a range.
    dbs.src("UPDATE orders SET pid = 3 * id - 2 WHERE pid IS NOT NULL");
    let mut run = None;
    let sql = statements_on(&mut dbs, "parts", |dbs| {
        run = Some(dbs.run_code(JOB, &[]));
    });
    let run = run.unwrap().ok();
    let wrong: Option<i64> = dbs
        .dst
        .query_first(
            "SELECT COUNT(*) FROM orders WHERE NOT (v <=> \
             IF(id = 30 OR (3 * id - 2) % 2 = 0 OR 3 * id - 2 > 99, NULL, 10 * (3 * id - 2)))",
        )
        .unwrap();
    assert_eq!(wrong, Some(0), "{}", run.describe());
    assert!(!sql.iter().any(|s| s.contains("BETWEEN")), "{sql:#?}");
    assert!(sql.iter().any(|s| s.contains("`k` IN (")), "{sql:#?}");
}
