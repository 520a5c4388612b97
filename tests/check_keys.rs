//! `ferry check`'s keys (issue 15): source rows that meet another row on a target
//! UNIQUE key other than the mode's own, within the copy (a collision only through the
//! target's collation included, an ENUM-typed key, NULLs that never collide) and
//! against the target's rows; the rows an overwrite replaces and the tables pointing
//! at them; foreign keys whose parent row is nowhere. Counts, example keys, exit 2 and
//! the target untouched; `accept` makes each pass; a clean job reports nothing.

use crate::support::*;

fn check(dbs: &Dbs, code: &str, extra: &[&str]) -> Run {
    dbs.command("check", "check.lua", code, extra)
}

/// (kind, key, count, example keys, blocking) of every hazard of copy `n`.
fn found(report: &serde_json::Value, n: usize) -> Vec<(String, String, u64, Vec<String>, bool)> {
    hazards_found(report, n, "key")
}

fn hazard(
    kind: &str,
    key: &str,
    n: u64,
    keys: &[&str],
    blocking: bool,
) -> (String, String, u64, Vec<String>, bool) {
    (
        kind.into(),
        key.into(),
        n,
        keys.iter().map(|k| k.to_string()).collect(),
        blocking,
    )
}

const CUSTOMERS: &str = "id INT PRIMARY KEY, email VARCHAR(50) COLLATE utf8mb4_bin, \
    code VARCHAR(10), tier ENUM('gold','silver'), region INT";

/// Customers whose emails differ only in letter case (one under the source's _bin
/// collation, two under the target's _ci), two sharing an ENUM-typed unique key, NULLs
/// in unique keys; a target holding rows some source rows meet; orders, one of whose
/// customers is nowhere.
fn key_fixture(dbs: &mut Dbs) {
    dbs.src(&format!("CREATE TABLE cust ({CUSTOMERS})"));
    for row in [
        "1, 'a@x.org', NULL, 'gold', 1",
        "2, 'A@x.org', NULL, 'gold', 2",
        "3, 'c@x.org', NULL, 'silver', 7",
        "4, 'd@x.org', NULL, 'silver', 7",
        "5, 'e@x.org', NULL, 'gold', NULL",
        "6, 'f@x.org', NULL, 'gold', NULL",
        "7, 'ZED@x.org', NULL, 'gold', 3",
        "8, 'same@x.org', 'C8', 'gold', 4",
        "9, 'nine@x.org', 'C9', 'gold', 5",
        "10, NULL, NULL, NULL, NULL",
        "11, NULL, NULL, NULL, NULL",
    ] {
        dbs.src(&format!("INSERT INTO cust VALUES ({row})"));
    }
    dbs.dst(
        "CREATE TABLE cust (id INT PRIMARY KEY, email VARCHAR(50) COLLATE utf8mb4_general_ci, \
         code VARCHAR(10), tier ENUM('gold','silver'), region INT, \
         UNIQUE KEY uk_email (email), UNIQUE KEY uk_tier_region (tier, region), \
         UNIQUE KEY uk_code (code))",
    );
    dbs.dst("INSERT INTO cust VALUES (8, 'same@x.org', 'C8', 'gold', 4)");
    dbs.dst("INSERT INTO cust VALUES (100, 'zed@x.org', NULL, 'silver', 1)");
    dbs.dst("INSERT INTO cust VALUES (101, 'z101@x.org', 'C9', 'silver', 2)");
    dbs.src("CREATE TABLE orders (id INT PRIMARY KEY, cust_id INT)");
    for row in ["1, 1", "2, 100", "3, 555", "4, NULL", "5, 556"] {
        dbs.src(&format!("INSERT INTO orders VALUES ({row})"));
    }
    dbs.dst(
        "CREATE TABLE orders (id INT PRIMARY KEY, cust_id INT, \
         CONSTRAINT fk_cust FOREIGN KEY (cust_id) REFERENCES cust (id))",
    );
}

#[test]
fn check_finds_rows_that_meet_on_a_unique_key() {
    let mut dbs = Dbs::new("check_keys_unique");
    key_fixture(&mut dbs);
    let before = dbs.dump_dst("cust", "id");
    let run = check(&dbs, "copy { from = 'cust' }", &["--json"]).status(2);
    let report = json(&run);
    let mut expected = vec![
        // 'a@x.org' and 'A@x.org' differ on the source (_bin), not on the target (_ci).
        hazard(
            "unique_conflicts",
            "unique key `uk_email` (within the copy)",
            1,
            &["id=1, id=2"],
            true,
        ),
        // An ENUM-typed key; the rows with a NULL region never collide.
        hazard(
            "unique_conflicts",
            "unique key `uk_tier_region` (within the copy)",
            1,
            &["id=3, id=4"],
            true,
        ),
        // 'ZED@x.org' meets the target's 'zed@x.org' (id 100) by the target's collation;
        // id 8 meets itself (the same row by the primary key), which is no conflict.
        hazard(
            "unique_conflicts",
            "unique key `uk_email` (target rows)",
            1,
            &["id=7"],
            true,
        ),
        hazard(
            "unique_conflicts",
            "unique key `uk_code` (target rows)",
            1,
            &["id=9"],
            true,
        ),
    ];
    expected.sort();
    assert_eq!(found(&report, 0), expected, "{}", run.describe());
    assert_eq!(report["blocking"].as_u64(), Some(4));
    let h = report["copies"][0]["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == "unique key `uk_email` (target rows)")
        .unwrap();
    assert_eq!(
        h["examples"][0]["value"],
        "email='ZED@x.org' meets target row id=100"
    );
    assert!(h["effect"]
        .as_str()
        .unwrap()
        .starts_with("insert: the source row is refused"));
    assert_eq!(h["column"], "email");
    // Nothing was written.
    assert_eq!(dbs.dump_dst("cust", "id"), before);

    // Upsert and overwrite say what they would do to the other row.
    let run = check(&dbs, "copy { from = 'cust', mode = 'upsert' }", &[]).status(2);
    run.says("upsert: the source row rewrites that other target row, its key included")
        .says("BLOCKING  unique_conflicts")
        .says("id=7 email='ZED@x.org' meets target row id=100");

    // Accepted: notes, exit 0, and a run logs them and goes on.
    let code = "copy { from = 'cust', accept = { 'unique_conflicts' } }";
    let run = check(&dbs, code, &["--json"]).ok();
    let report = json(&run);
    assert_eq!(report["blocking"].as_u64(), Some(0));
    assert_eq!(report["notes"].as_u64(), Some(4));
    assert!(report["copies"][0]["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["accepted"] == true));
    assert_eq!(dbs.dump_dst("cust", "id"), before);
    // A run of the reviewed job goes on, and its log says what it accepted.
    let job = dbs.job("run.lua", code);
    dbs.run(&job, &[]).ok();
    let log = dbs.log();
    assert!(
        log.contains("copy cust: check: unique_conflicts in column `email` (1 rows), accepted"),
        "{log}"
    );
}

#[test]
fn check_of_an_overwrite_counts_replaced_rows_and_their_children() {
    let mut dbs = Dbs::new("check_keys_overwrite");
    key_fixture(&mut dbs);
    dbs.dst("DELETE FROM cust WHERE id IN (100, 101)");
    dbs.dst("INSERT INTO cust VALUES (9, 'old9@x.org', 'C9', 'gold', 5)");
    let code = "copy { from = 'cust', mode = 'overwrite', accept = { 'unique_conflicts' } }";
    let run = check(&dbs, code, &["--json"]).ok();
    let report = json(&run);
    let replaced: Vec<_> = found(&report, 0)
        .into_iter()
        .filter(|h| h.0 == "replace")
        .collect();
    assert_eq!(
        replaced,
        [hazard(
            "replace",
            "the key overwrite resolves on",
            2,
            &["id=8", "id=9"],
            false
        )],
        "{}",
        run.describe()
    );
    let h = report["copies"][0]["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "replace")
        .unwrap();
    let effect = h["effect"].as_str().unwrap();
    assert!(
        effect.contains("orders(cust_id) via `fk_cust` ON DELETE RESTRICT"),
        "{effect}"
    );
    // An insert replaces nothing.
    let run = check(
        &dbs,
        "copy { from = 'cust', accept = { 'unique_conflicts' } }",
        &["--json"],
    )
    .ok();
    assert!(found(&json(&run), 0).iter().all(|h| h.0 != "replace"));
}

#[test]
fn check_finds_foreign_keys_without_a_parent_row() {
    let mut dbs = Dbs::new("check_keys_fk");
    key_fixture(&mut dbs);
    let before = dbs.dump_dst("orders", "id");
    // Orders alone: customer 1 is not in the target, 555 and 556 nowhere; 100 is.
    let run = check(&dbs, "copy { from = 'orders' }", &["--json"]).status(2);
    let fk = "foreign key `fk_cust` -> cust(id)";
    assert_eq!(
        found(&json(&run), 0),
        [hazard(
            "foreign_key",
            fk,
            3,
            &["id=1", "id=3", "id=5"],
            true
        )],
        "{}",
        run.describe()
    );
    // With the customers copied first, customer 1 is among the copied rows.
    let code = "copy { from = 'cust', accept = { 'unique_conflicts' } }\ncopy { from = 'orders' }";
    let run = check(&dbs, code, &["--json"]).status(2);
    let report = json(&run);
    assert_eq!(
        found(&report, 1),
        [hazard("foreign_key", fk, 2, &["id=3", "id=5"], true)],
        "{}",
        run.describe()
    );
    assert_eq!(
        report["copies"][1]["hazards"][0]["examples"][0]["value"],
        "cust_id=555"
    );
    // The customers' `where` leaves customer 1 out: its order has no parent again.
    let code = "copy { from = 'cust', where = 'id > 1', accept = { 'unique_conflicts' } }\n\
                copy { from = 'orders' }";
    let run = check(&dbs, code, &["--json"]).status(2);
    assert_eq!(found(&json(&run), 1)[0].2, 3);
    // Accepted by kind and column.
    let code = "copy { from = 'orders', accept = { 'foreign_key:cust_id' } }";
    check(&dbs, code, &[]).ok().says("accepted  foreign_key");
    // A run refuses before writing.
    let job = dbs.job("run.lua", "copy { from = 'orders' }");
    dbs.run(&job, &[]).status(2).says("BLOCKING  foreign_key");
    assert_eq!(dbs.dump_dst("orders", "id"), before);
    // A rejecting copy cannot set orphans aside (the target writes without foreign key
    // checks): it is refused before writing too.
    let job = dbs.job(
        "reject.lua",
        "copy { from = 'orders', on_error = 'reject' }",
    );
    dbs.run(&job, &[]).status(2).says("BLOCKING  foreign_key");
    assert_eq!(dbs.dump_dst("orders", "id"), before);
}

#[test]
fn check_of_clean_keys_reports_nothing() {
    let mut dbs = Dbs::new("check_keys_clean");
    for ddl in [
        "CREATE TABLE cust (id INT PRIMARY KEY, email VARCHAR(50), UNIQUE KEY uk_email (email))",
        "CREATE TABLE orders (id INT PRIMARY KEY, cust_id INT)",
    ] {
        dbs.src(ddl);
        dbs.dst(ddl);
    }
    // The target's orders point at its customers; customer 50 is only there.
    dbs.dst("ALTER TABLE orders ADD CONSTRAINT fk_cust FOREIGN KEY (cust_id) REFERENCES cust (id)");
    dbs.src("INSERT INTO cust VALUES (1, 'a@x.org'), (2, 'b@x.org'), (3, NULL), (4, NULL)");
    dbs.src("INSERT INTO orders VALUES (1, 1), (2, 2), (3, NULL), (4, 50)");
    let code = "copy { from = 'cust' }\ncopy { from = 'orders' }";
    // An empty target: nothing to meet, no read of the customers; order 4's customer
    // is nowhere.
    let run = check(&dbs, code, &["--json"]).status(2);
    let report = json(&run);
    assert_eq!(
        report["copies"][0]["queries"].as_u64(),
        Some(0),
        "{}",
        run.describe()
    );
    assert_eq!(
        found(&report, 1),
        [hazard(
            "foreign_key",
            "foreign key `fk_cust` -> cust(id)",
            1,
            &["id=4"],
            true
        )]
    );
    dbs.dst("INSERT INTO cust VALUES (50, 'old@x.org')");
    let run = check(&dbs, code, &["--json"]).ok();
    let report = json(&run);
    assert_eq!(report["blocking"].as_u64(), Some(0), "{}", run.describe());
    assert_eq!(report["notes"].as_u64(), Some(0), "{}", run.describe());
    // The source's own unique key holds the target's: no GROUP BY; the target holds
    // rows, so the key is probed there (one read of the source).
    assert_eq!(report["copies"][0]["queries"].as_u64(), Some(1));
    assert!(report["copies"][0]["target_queries"].as_u64().unwrap() >= 2);
}
