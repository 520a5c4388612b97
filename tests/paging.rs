//! Paging on every key type: keyset pages and key ranges must follow the server's own
//! `ORDER BY` (ENUM and SET by number, BIT as an integer, text in its collation), so a
//! copy reads every row exactly once; the page guard; incremental runs at the mark.

use crate::support::*;
use mysql::prelude::Queryable;
use mysql::Value;

/// Copies `table` (created on both sides by `ddl`, seeded by `seed` on the source)
/// with `opts` in `copy{}` and checks the target holds exactly the source's rows, in
/// the server's key order, none missing or doubled.
fn copies_exactly(test: &str, ddl: &str, seeds: &[&str], opts: &str, order: &str) -> Run {
    let mut dbs = Dbs::new(test);
    dbs.src(ddl);
    dbs.dst(ddl);
    for s in seeds {
        dbs.src(s);
    }
    let run = dbs
        .run_code(
            &format!(
                "local s = copy {{ from = 't', {opts} }}\n\
                 log.info('stats read=%d written=%d', s.read, s.written)\n"
            ),
            &["--quiet"],
        )
        .ok();
    let src = dbs.dump_src("t", order);
    let dst = dbs.dump_dst("t", order);
    assert!(!src.is_empty());
    assert_eq!(
        src.len(),
        dst.len(),
        "{test}: {} source rows, {} target rows\n{}",
        src.len(),
        dst.len(),
        run.describe()
    );
    assert!(src == dst, "{test}: the rows differ\n{}", run.describe());
    run
}

/// ENUM declared out of alphabetical order, part of a composite key: pages compare by
/// member number, as ORDER BY sorts; one range and three.
#[test]
fn enum_keys_out_of_alphabetical_order() {
    let ddl = "CREATE TABLE t (e ENUM('zeta','alpha','mid','beta') NOT NULL, n INT NOT NULL, \
               v VARCHAR(20), PRIMARY KEY (e, n))";
    let seed = "INSERT INTO t SELECT ELT(1 + seq % 4, 'zeta','alpha','mid','beta'), seq, \
                CONCAT('v', seq) FROM seq_1_to_100000";
    copies_exactly("enum_1", ddl, &[seed], "page = 997, workers = 1", "e, n");
    copies_exactly("enum_3", ddl, &[seed], "page = 1000, workers = 3", "e, n");
}

/// A single-column ENUM key with more members than an IN list takes (compared by
/// number), declared in descending order.
#[test]
fn enum_key_with_many_members() {
    let members: Vec<String> = (0..100).rev().map(|i| format!("'m{i:03}'")).collect();
    let ddl = format!(
        "CREATE TABLE t (e ENUM({}) NOT NULL PRIMARY KEY, v INT)",
        members.join(",")
    );
    let mut dbs = Dbs::new("enum_many");
    dbs.src(&ddl);
    dbs.dst(&ddl);
    dbs.src("INSERT INTO t SELECT CONCAT('m', LPAD(seq, 3, '0')), seq FROM seq_0_to_99");
    let run = dbs
        .run_code("copy { from = 't', page = 7 }\n", &["--quiet"])
        .ok();
    let src = dbs.dump_src("t", "e");
    assert_eq!(src.len(), 100);
    assert_eq!(src, dbs.dump_dst("t", "e"), "{}", run.describe());
}

/// SET keys, single and composite, ordered by their numeric value.
#[test]
fn set_keys_page_by_numeric_value() {
    copies_exactly(
        "set_1",
        "CREATE TABLE t (s SET('z','a','m','b','y') NOT NULL PRIMARY KEY, v INT)",
        &["INSERT INTO t SELECT MAKE_SET(seq, 'z','a','m','b','y'), seq FROM seq_0_to_31"],
        "page = 3",
        "s",
    );
    copies_exactly(
        "set_3",
        "CREATE TABLE t (s SET('z','a','m','b','y') NOT NULL, n INT NOT NULL, PRIMARY KEY (s, n))",
        &["INSERT INTO t SELECT MAKE_SET(seq % 32, 'z','a','m','b','y'), seq FROM seq_1_to_90000"],
        "page = 1000, workers = 3",
        "s, n",
    );
}

/// Text keys in case- and accent-insensitive PAD SPACE collations (case variants and
/// trailing spaces that compare equal, so they differ in the second key column), a
/// binary collation, a NO PAD one and latin1: each copied exactly, in three ranges.
#[test]
fn text_keys_in_their_collations() {
    for (test, coll) in [
        ("ci", "utf8mb4 COLLATE utf8mb4_general_ci"),
        ("bin", "utf8mb4 COLLATE utf8mb4_bin"),
        ("nopad", "utf8mb4 COLLATE utf8mb4_nopad_bin"),
        ("latin1", "latin1 COLLATE latin1_swedish_ci"),
        ("unicode", "utf8mb4 COLLATE utf8mb4_unicode_ci"),
    ] {
        let ddl = format!(
            "CREATE TABLE t (k VARCHAR(20) CHARACTER SET {coll} NOT NULL, n INT NOT NULL, \
             PRIMARY KEY (k, n))"
        );
        // Variants of each word: case, a trailing space, an accent.
        let seeds = [
            "INSERT INTO t SELECT ELT(1 + seq % 8, 'abc', 'ABC', 'abc ', 'Abc  ', 'äbc', 'abd', \
             'ab', ''), seq FROM seq_1_to_90000",
        ];
        copies_exactly(
            &format!("text_{test}"),
            &ddl,
            &seeds,
            "page = 1000, workers = 3",
            "k, n",
        );
        copies_exactly(&format!("text1_{test}"), &ddl, &seeds, "page = 333", "k, n");
    }
}

/// BIT(64) above 2^63, YEAR, DECIMAL(65,30) differing in the last digit, negative TIME
/// with fractions, DATETIME(6) and BINARY with 0x00 bytes, as keys.
#[test]
fn other_key_types_page_exactly() {
    copies_exactly(
        "bit",
        "CREATE TABLE t (b BIT(64) NOT NULL PRIMARY KEY, v INT)",
        &["INSERT INTO t SELECT CAST(18446744073709551615 - seq * 9007199254740993 AS UNSIGNED), \
           seq FROM seq_0_to_2000"],
        "page = 50",
        "b",
    );
    copies_exactly(
        "year",
        "CREATE TABLE t (y YEAR NOT NULL, n INT NOT NULL, PRIMARY KEY (y, n))",
        &["INSERT INTO t SELECT 1901 + seq % 255, seq FROM seq_1_to_3000"],
        "page = 77",
        "y, n",
    );
    copies_exactly(
        "decimal",
        "CREATE TABLE t (d DECIMAL(65,30) NOT NULL PRIMARY KEY, v INT)",
        &[
            "INSERT INTO t SELECT CAST(CONCAT(IF(seq % 2, '-', ''), '12345678901234567890123456789012345.', \
             LPAD(seq, 30, '0')) AS DECIMAL(65,30)), seq FROM seq_1_to_3000",
        ],
        "page = 64",
        "d",
    );
    copies_exactly(
        "time",
        "CREATE TABLE t (t TIME(6) NOT NULL PRIMARY KEY, v INT)",
        &["INSERT INTO t SELECT SEC_TO_TIME(CAST(seq AS SIGNED) * 1013 - 1500000) + INTERVAL seq MICROSECOND, seq \
           FROM seq_1_to_2500"],
        "page = 99",
        "t",
    );
    copies_exactly(
        "datetime",
        "CREATE TABLE t (d DATETIME(6) NOT NULL, n INT NOT NULL, PRIMARY KEY (d, n))",
        &["INSERT INTO t SELECT TIMESTAMP'2024-02-29 13:45:00' + INTERVAL (seq % 7) MICROSECOND, \
           seq FROM seq_1_to_90000"],
        "page = 1000, workers = 3",
        "d, n",
    );
    copies_exactly(
        "binary",
        "CREATE TABLE t (b BINARY(4) NOT NULL PRIMARY KEY, v INT)",
        &[
            "INSERT INTO t SELECT UNHEX(LPAD(HEX(seq * 7919), 8, '0')), seq FROM seq_0_to_3000",
            "INSERT INTO t VALUES (0x00000000 | 0x00, -1) ON DUPLICATE KEY UPDATE v = v",
            "INSERT IGNORE INTO t VALUES (0xff000000, -2), (0xffffff00, -3), (0x00ff0000, -4)",
        ],
        "page = 41",
        "b",
    );
    copies_exactly(
        "varbinary",
        "CREATE TABLE t (b VARBINARY(8) NOT NULL PRIMARY KEY, v INT)",
        &["INSERT INTO t SELECT SUBSTRING(UNHEX(CONCAT('00', HEX(seq * 131))), 1, 1 + seq % 4), seq \
           FROM seq_1_to_3000 ON DUPLICATE KEY UPDATE v = VALUES(v)"],
        "page = 37",
        "b",
    );
}

/// The page guard compares keys in the server's order; a text key through the
/// column's collation.
#[test]
fn key_order_follows_the_collation() {
    use ferry::db::keyset::{order, KeyColumn};
    use std::cmp::Ordering;
    let mut dbs = Dbs::new("keyorder");
    dbs.src(
        "CREATE TABLE t (k VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL, \
         e ENUM('z','a') NOT NULL, PRIMARY KEY (k, e))",
    );
    let spec = ferry::conn_spec::ConnSpec::parse(&dbs.src_url).unwrap();
    let mut db = ferry::db::Db::connect(&spec, ferry::db::Role::Source).unwrap();
    let info = db.table_info("t").unwrap().unwrap();
    let key: Vec<KeyColumn> = info.columns.iter().map(KeyColumn::new).collect();
    let k = |s: &str, e: &str| vec![Value::from(s), Value::from(e)];
    let mut cmp = |a: Vec<Value>, b: Vec<Value>| order(&key, &a, &b, &mut db).unwrap();
    assert_eq!(cmp(k("ABC", "a"), k("abc ", "z")), Ordering::Greater);
    assert_eq!(cmp(k("ABC", "z"), k("abc ", "z")), Ordering::Equal);
    assert_eq!(
        cmp(k("b", "z"), k("ä", "z")),
        Ordering::Less,
        "ä sorts after z in Swedish"
    );
    assert_eq!(cmp(k("abc", "a"), k("abd", "z")), Ordering::Less);
}

/// `since`: a row committed after a run, stamped with the same second as that run's
/// mark, is copied by the next run (rows at the mark are read again); a row stamped
/// below the mark is copied when `since_overlap` reaches back to it.
#[test]
fn incremental_runs_lose_nothing_at_the_mark() {
    let mut dbs = Dbs::new("since_mark");
    let ddl = "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, ts DATETIME NOT NULL, v INT)";
    dbs.src(ddl);
    dbs.dst(ddl);
    dbs.src("INSERT INTO t SELECT seq, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq DIV 10 SECOND, seq FROM seq_1_to_100");
    let job = dbs.job(
        "since.lua",
        "local s = copy { from = 't', since = 'ts', page = 7 }\n\
         log.info('stats read=%d written=%d ignored=%d', s.read, s.written, s.ignored)\n",
    );
    dbs.run(&job, &["--quiet"]).ok();
    assert_eq!(dbs.count_dst("t"), 100);
    // Committed later with the mark's own second.
    dbs.src("INSERT INTO t VALUES (1000, TIMESTAMP'2024-01-01 00:00:10', 1000)");
    let run = dbs.run(&job, &["--quiet"]).ok();
    assert_eq!(dbs.count_dst("t"), 101, "{}", run.describe());
    assert_eq!(dbs.dump_src("t", "id"), dbs.dump_dst("t", "id"));

    // Stamped a minute below the mark: missed without an overlap, copied with one.
    dbs.src("INSERT INTO t VALUES (1001, TIMESTAMP'2024-01-01 00:00:05', 1001)");
    dbs.run(&job, &["--quiet"]).ok();
    assert_eq!(
        dbs.count_dst("t"),
        101,
        "no overlap: the late row is not read"
    );
    let job2 = dbs.job(
        "since.lua",
        "local s = copy { from = 't', since = 'ts', since_overlap = '1 minute', page = 7 }\n\
         log.info('stats read=%d written=%d ignored=%d', s.read, s.written, s.ignored)\n",
    );
    let run = dbs.run(&job2, &["--quiet"]).ok();
    assert_eq!(dbs.count_dst("t"), 102, "{}", run.describe());
    assert_eq!(dbs.dump_src("t", "id"), dbs.dump_dst("t", "id"));

    // An integer `since` with a numeric overlap; an interval on it is a plan error.
    dbs.src("INSERT INTO t VALUES (999, TIMESTAMP'2030-01-01 00:00:00', 999)");
    let ids = dbs.job(
        "ids.lua",
        "copy { from = 't', since = 'id', since_overlap = 5, page = 7 }\n",
    );
    dbs.run(&ids, &["--quiet"]).ok();
    dbs.src("INSERT INTO t VALUES (997, TIMESTAMP'2030-01-01 00:00:00', 997)");
    dbs.src("INSERT INTO t VALUES (990, TIMESTAMP'2030-01-01 00:00:00', 990)");
    dbs.run(&ids, &["--quiet"]).ok();
    let got: Vec<i64> = dbs
        .dst
        .query("SELECT id FROM t WHERE id BETWEEN 990 AND 999 ORDER BY id")
        .unwrap();
    assert_eq!(
        got,
        vec![997, 999],
        "997 is within 5 of the mark 1001; 990 is not"
    );
    dbs.run_code(
        "copy { from = 't', since = 'id', since_overlap = '1 hour' }\n",
        &["--quiet"],
    )
    .status(2)
    .says("since_overlap");
}

/// A source key in a binary collation copied into a target key in a case-insensitive
/// one: 'abc' and 'ABC' would be one target row, so the plan refuses the copy, naming
/// both collations, unless it accepts `key_collation`; then insert counts the second
/// as ignored. The same collation on both sides, or a finer one in the target, is fine.
#[test]
fn a_target_key_that_would_merge_source_keys_is_refused() {
    let mut dbs = Dbs::new("keycoll");
    dbs.src("CREATE TABLE t (k VARCHAR(10) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, v INT)");
    dbs.src("INSERT INTO t VALUES ('abc', 1), ('ABC', 2), ('x', 4)");
    dbs.dst(
        "CREATE TABLE t (k VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, v INT)",
    );
    for mode in ["insert", "overwrite", "upsert"] {
        dbs.run_code(&format!("copy {{ from = 't', mode = '{mode}' }}\n"), &[])
            .status(2)
            .says("the target's key `PRIMARY` may not tell apart keys the source does")
            .says("`k` compares in utf8mb4_general_ci in the target, but its source column `k` is utf8mb4_bin")
            .says("accept = {\"key_collation\"}");
        assert_eq!(dbs.count_dst("t"), 0);
    }
    dbs.run_code(
        "local s = copy { from = 't', accept = { 'key_collation' } }\n\
         log.info('stats read=%d written=%d ignored=%d', s.read, s.written, s.ignored)\n",
        &[],
    )
    .ok()
    .says("stats read=3 written=2 ignored=1");
    // A finer target collation takes every source key apart.
    dbs.dst("DROP TABLE t");
    dbs.dst("CREATE TABLE t (k VARCHAR(10) COLLATE utf8mb4_nopad_bin NOT NULL PRIMARY KEY, v INT)");
    dbs.run_code("copy 't'\n", &[]).ok();
    assert_eq!(dbs.count_dst("t"), 3);
}

/// A nullable `since` column: the first run (no mark) copies the rows where it is NULL
/// too, and says that later runs will not read such rows; `--full` reads them again.
#[test]
fn a_nullable_since_column_loses_no_row_on_the_first_run() {
    let mut dbs = Dbs::new("since_null");
    let ddl = "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, ts DATETIME NULL, v INT)";
    dbs.src(ddl);
    dbs.dst(ddl);
    dbs.src("INSERT INTO t SELECT seq, IF(seq % 3 = 0, NULL, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND), seq FROM seq_1_to_300");
    let job = dbs.job(
        "nulls.lua",
        "copy { from = 't', since = 'ts', page = 50 }\n",
    );
    dbs.run(&job, &["--quiet"])
        .ok()
        .says("rows where it is NULL are read only by a run without a mark");
    assert_eq!(dbs.dump_src("t", "id"), dbs.dump_dst("t", "id"));
    // Only NULLs: the first run still copies them.
    dbs.dst("DELETE FROM t");
    dbs.src("UPDATE t SET ts = NULL");
    dbs.run_code("copy { from = 't', since = 'ts' }\n", &["--quiet"])
        .ok();
    assert_eq!(dbs.count_dst("t"), 300);
}
