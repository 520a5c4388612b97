//! `ferry check` (issue 15, item 1): every hazard planted in a fixture is found with its
//! count, column and example keys; a clean copy (identical or wider schemas) raises no
//! false alarm and sends no scan query; `--json` parses; exit 2 on a blocking hazard,
//! 0 otherwise; the target is never written.

use crate::support::*;
use mysql::prelude::Queryable;

const COLUMNS: &str = "v VARCHAR(20), b VARBINARY(10), e VARCHAR(10), l VARCHAR(10), \
    i INT, u INT, d DECIMAL(10,4), dr DECIMAL(10,2), f DATETIME(6), g DOUBLE, \
    c VARCHAR(5), en ENUM('a','b','c'), s SET('a','b','c'), nn VARCHAR(5), z DATETIME, \
    dt DATETIME";

const NARROW: &str = "v VARCHAR(5), b VARBINARY(4), e VARCHAR(10) CHARACTER SET utf8mb3, \
    l VARCHAR(10) CHARACTER SET latin1, i TINYINT, u INT UNSIGNED, d DECIMAL(10,2), \
    dr DECIMAL(4,2), f DATETIME, g FLOAT, c CHAR(5), en ENUM('a','b'), s SET('a','b'), \
    nn VARCHAR(5) NOT NULL, z TIMESTAMP NULL, dt DATE";

/// The source table `h`: ten rows whose values all fit `NARROW`, then the hazards.
fn hazard_fixture(dbs: &mut Dbs) {
    dbs.src(&format!("CREATE TABLE h (id INT PRIMARY KEY, {COLUMNS})"));
    for id in 1..=10 {
        dbs.src(&format!(
            "INSERT INTO h VALUES ({id}, 'ok', 'ok', 'ok', 'ok', 1, 1, 1.5, 1.5, \
             '2024-01-01 10:00:00', 1.5, 'ab', 'a', 'a,b', 'x', '2020-01-01 00:00:00', '2024-01-01')"
        ));
    }
    for sql in [
        "UPDATE h SET v = 'far too long' WHERE id IN (2, 5)",
        "UPDATE h SET b = 'bytes!' WHERE id = 3",
        "UPDATE h SET e = 'rocket 🚀' WHERE id = 4",
        // Ω is in utf8mb3 (not an alarm for `e`), not in latin1.
        "UPDATE h SET l = 'Ωmega', e = 'Ωmega' WHERE id = 6",
        "UPDATE h SET l = 'café' WHERE id = 7",
        "UPDATE h SET i = 300 WHERE id = 2",
        "UPDATE h SET i = -200 WHERE id = 8",
        "UPDATE h SET u = -1 WHERE id = 9",
        "UPDATE h SET d = 1.2345 WHERE id = 3",
        "UPDATE h SET d = 1.2300 WHERE id = 4",
        "UPDATE h SET dr = 123.45 WHERE id = 5",
        "UPDATE h SET f = '2024-01-01 10:00:00.5' WHERE id = 6",
        "UPDATE h SET g = 1e300 WHERE id = 7",
        "UPDATE h SET c = 'ab ' WHERE id = 8",
        "UPDATE h SET en = 'c' WHERE id = 9",
        "UPDATE h SET s = 'a,c' WHERE id = 10",
        "UPDATE h SET nn = NULL WHERE id IN (1, 10)",
        "UPDATE h SET z = '2024-00-10 00:00:00' WHERE id = 2",
        "UPDATE h SET z = '1960-01-01 00:00:00' WHERE id = 3",
        "UPDATE h SET z = '2050-01-01 00:00:00' WHERE id = 4",
        "UPDATE h SET z = '0000-00-00 00:00:00' WHERE id = 5",
        "UPDATE h SET dt = '2024-01-01 10:30:00' WHERE id = 7",
    ] {
        dbs.src(sql);
    }
    dbs.dst(&format!("CREATE TABLE h (id INT PRIMARY KEY, {NARROW})"));
}

fn check(dbs: &Dbs, code: &str, extra: &[&str]) -> Run {
    dbs.command("check", "check.lua", code, extra)
}

/// (kind, column, count, example keys) of every hazard of the first copy.
fn hazards(report: &serde_json::Value) -> Vec<(String, String, u64, Vec<String>)> {
    hazards_found(report, 0, "column")
        .into_iter()
        .map(|(kind, column, n, keys, _)| (kind, column, n, keys))
        .collect()
}

fn target_tables(dbs: &mut Dbs) -> Vec<String> {
    dbs.dst.query("SHOW TABLES").unwrap()
}

#[test]
fn check_finds_every_planted_hazard() {
    let mut dbs = Dbs::new("check_hazards");
    hazard_fixture(&mut dbs);
    let tables = target_tables(&mut dbs);
    let run = check(&dbs, "copy { from = 'h' }", &["--json"]).status(2);
    let report = json(&run);
    let h = |kind: &str, col: &str, n: u64, keys: &[i32]| {
        (
            kind.to_string(),
            col.to_string(),
            n,
            keys.iter().map(|k| format!("id={k}")).collect::<Vec<_>>(),
        )
    };
    let mut expected = vec![
        h("truncate", "v", 2, &[2, 5]),
        h("truncate", "b", 1, &[3]),
        h("charset", "e", 1, &[4]),
        h("charset", "l", 1, &[6]),
        h("range", "i", 2, &[2, 8]),
        h("range", "u", 1, &[9]),
        h("scale", "d", 1, &[3]),
        h("range", "dr", 1, &[5]),
        h("fraction", "f", 1, &[6]),
        h("range", "g", 1, &[7]),
        h("char_trailing_space", "c", 1, &[8]),
        h("enum", "en", 1, &[9]),
        h("enum", "s", 1, &[10]),
        h("not_null", "nn", 2, &[1, 10]),
        h("zero_date", "z", 1, &[2]),
        h("timestamp_range", "z", 2, &[3, 4]),
        h("truncate", "dt", 1, &[7]),
    ];
    expected.sort();
    assert_eq!(hazards(&report), expected, "{}", run.describe());
    assert_eq!(report["blocking"].as_u64(), Some(17));
    let copy = &report["copies"][0];
    assert_eq!(copy["copy"], "h");
    // One count query, and one example query per hazard found.
    assert_eq!(copy["queries"].as_u64(), Some(18));
    let v = copy["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["column"] == "e")
        .unwrap();
    assert_eq!(v["examples"][0]["value"], "'rocket 🚀'");
    assert_eq!(v["blocking"], true);
    assert!(v["fix"].as_str().unwrap().contains("utf8mb4"));
    // Nothing was written.
    assert_eq!(dbs.count_dst("h"), 0);
    assert_eq!(target_tables(&mut dbs), tables);

    // The text report names the same, aligned, and says how to fix each.
    let text = check(&dbs, "copy { from = 'h' }", &[]).status(2);
    let text = text
        .says("BLOCKING  truncate")
        .says("id=2 'far too long'")
        .says("fix not_null `nn`")
        .says("check: 17 blocking hazards, 0 notes in 1 copy; nothing was written");
    assert!(
        text.stderr.contains("error: 17 blocking hazards"),
        "{}",
        text.describe()
    );
    assert_eq!(dbs.count_dst("h"), 0);
}

#[test]
fn check_scans_only_the_rows_a_copy_reads_and_notes_functions() {
    let mut dbs = Dbs::new("check_where");
    hazard_fixture(&mut dbs);
    // Rows 6 to 10 only, and `v` made by a function: not scanned, said in a note.
    let code = "copy { from = 'h', where = 'id > 5', \
                map = map { v = function(r) return 'x' end } }";
    let run = check(&dbs, code, &["--json"]).status(2);
    let report = json(&run);
    let found = hazards(&report);
    assert!(found.iter().all(|h| h.1 != "v"), "{found:?}");
    assert!(found.contains(&("range".into(), "i".into(), 1, vec!["id=8".into()])));
    assert!(found.contains(&("not_null".into(), "nn".into(), 1, vec!["id=10".into()])));
    assert!(!found.iter().any(|h| h.0 == "timestamp_range"), "{found:?}");
    let notes = report["copies"][0]["notes"].as_array().unwrap();
    assert_eq!(
        notes[0],
        "not scanned: column `v` is made by map functions, whose values exist only when \
         the row code runs (a run refuses those the target would change, page by page, \
         before it commits)"
    );
    // A transform makes every column: nothing is scanned, and one note says so.
    let code = "copy { from = 'h', transform = function(r) return r end }";
    let run = check(&dbs, code, &["--json"]).ok();
    let copy = &json(&run)["copies"][0];
    assert_eq!(copy["queries"].as_u64(), Some(0), "{}", run.describe());
    let notes = copy["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0]
        .as_str()
        .unwrap()
        .starts_with("not scanned: columns `id`, `v`, `b`,"));
}

#[test]
fn check_of_a_clean_copy_raises_nothing_and_scans_nothing() {
    let mut dbs = Dbs::new("check_clean");
    hazard_fixture(&mut dbs);
    // Identical schemas, and targets wider in every column.
    dbs.dst(&format!(
        "CREATE TABLE same (id INT PRIMARY KEY, {COLUMNS})"
    ));
    dbs.src(&format!(
        "CREATE TABLE same (id INT PRIMARY KEY, {COLUMNS})"
    ));
    dbs.src("INSERT INTO same SELECT * FROM h");
    dbs.dst(
        "CREATE TABLE wide (id BIGINT PRIMARY KEY, v TEXT, b BLOB, e VARCHAR(40), \
         l VARCHAR(10), i BIGINT, u BIGINT, d DECIMAL(20,6), dr DECIMAL(20,4), f DATETIME(6), \
         g DOUBLE, c VARCHAR(10), en ENUM('a','b','c','d'), s SET('a','b','c','d'), \
         nn VARCHAR(10), z DATETIME(6), dt DATETIME(6))",
    );
    // Types without a length of their own (TEXT, JSON, BLOB), the same on both sides.
    for side in ["src", "dst"] {
        let ddl = "CREATE TABLE lobs (id INT PRIMARY KEY, t TEXT NULL, m MEDIUMTEXT NOT NULL, \
                   j JSON NULL, b LONGBLOB NULL, ts TIMESTAMP NULL DEFAULT NULL)";
        if side == "src" {
            dbs.src(ddl);
        } else {
            dbs.dst(ddl);
        }
    }
    dbs.src("INSERT INTO lobs VALUES (1, REPEAT('é', 30000), 'x', '{}', 0x00, NULL)");
    let code = "copy { from = 'same' }\ncopy { from = 'h', to = 'wide' }\ncopy { from = 'lobs' }";
    let run = check(&dbs, code, &["--json"]).ok();
    let report = json(&run);
    assert_eq!(report["blocking"].as_u64(), Some(0), "{}", run.describe());
    for copy in report["copies"].as_array().unwrap() {
        assert_eq!(copy["queries"].as_u64(), Some(0), "{copy}");
        assert_eq!(copy["hazards"].as_array().unwrap().len(), 0, "{copy}");
    }
    check(&dbs, code, &[])
        .ok()
        .says("copy same (")
        .says("no column needs a scan")
        .says("check: 0 blocking hazards, 0 notes in 3 copies");

    // Narrower targets whose rows all fit: one scan, no alarm.
    dbs.src("DELETE FROM h WHERE id <> 1");
    dbs.src("UPDATE h SET nn = 'x', z = '2020-01-01'");
    let run = check(&dbs, "copy { from = 'h' }", &["--json"]).ok();
    let report = json(&run);
    assert_eq!(report["copies"][0]["queries"].as_u64(), Some(1));
    assert_eq!(hazards(&report), Vec::new());
    assert_eq!(dbs.count_dst("h"), 0);
    assert_eq!(dbs.count_dst("wide"), 0);
}

/// What check names is what a run meets: copying each hazardous column alone, the run
/// fails on the first row check showed (exit 1), trailing spaces into CHAR included
/// (unless the copy accepts them, and the CHAR then drops them); the NOT NULL target
/// with a default refuses NULL too.
#[test]
fn check_names_the_rows_a_run_would_fail_on() {
    let mut dbs = Dbs::new("check_vs_run");
    hazard_fixture(&mut dbs);
    let report = json(&check(&dbs, "copy { from = 'h' }", &["--json"]).status(2));
    let first_key = |col: &str| -> String {
        let hs = report["copies"][0]["hazards"].as_array().unwrap();
        let mut keys: Vec<i64> = hs
            .iter()
            .filter(|h| h["column"] == col)
            .map(|h| {
                let k = h["examples"][0]["key"].as_str().unwrap();
                k.trim_start_matches("id=").parse().unwrap()
            })
            .collect();
        keys.sort();
        format!("row id={}", keys[0])
    };
    for col in [
        "v", "b", "e", "l", "i", "u", "d", "dr", "f", "g", "en", "s", "nn", "z",
    ] {
        dbs.dst(&format!(
            "CREATE TABLE x_{col} AS SELECT id, {col} FROM h WHERE 0"
        ));
        let code = format!(
            "copy {{ from = 'h', to = 'x_{col}', map = map {{ id = 'id', {col} = '{col}' }} }}"
        );
        dbs.run_code(&code, &["--no-check", "-q"])
            .status(1)
            .says(&first_key(col))
            .says(&format!("column `{col}`"));
    }
    dbs.dst("CREATE TABLE nd (id INT, nn VARCHAR(5) NOT NULL DEFAULT 'dflt')");
    dbs.run_code(
        "copy { from = 'h', to = 'nd', map = map { id = 'id', nn = 'nn' } }",
        &["--no-check", "-q"],
    )
    .status(1)
    .says("row id=1");
    dbs.dst("CREATE TABLE x_c (id INT, c CHAR(5))");
    dbs.run_code(
        "copy { from = 'h', to = 'x_c', map = map { id = 'id', c = 'c' } }",
        &["--no-check", "-q"],
    )
    .status(1)
    .says(&first_key("c"))
    .says("it ends in spaces, which a CHAR column drops");
    assert_eq!(dbs.count_dst("x_c"), 0);
    dbs.run_code(
        "copy { from = 'h', to = 'x_c', map = map { id = 'id', c = 'c' }, \
         accept = { 'char_trailing_space:c' } }",
        &["--no-check", "-q"],
    )
    .ok();
    let c: String = dbs
        .dst
        .query_first("SELECT c FROM x_c WHERE id = 8")
        .unwrap()
        .unwrap();
    assert_eq!(c, "ab", "the run drops the trailing space check names");
}

/// A job the plan pass refuses is exit 2 with its problems, before any scan; a
/// keyless source shows the values alone.
#[test]
fn check_of_a_wrong_job_and_of_a_keyless_table() {
    let mut dbs = Dbs::new("check_wrong");
    dbs.src("CREATE TABLE k (v VARCHAR(20))");
    dbs.src("INSERT INTO k VALUES ('short'), ('much too long')");
    dbs.dst("CREATE TABLE k (v VARCHAR(5))");
    check(&dbs, "local nothing = 1", &[])
        .ok()
        .says("the job ran no copy")
        .says("0 copies");
    check(&dbs, "copy { from = 'nope' }", &[])
        .status(2)
        .says("problem")
        .says("nope");
    let run = check(&dbs, "copy { from = 'k' }", &["--json"]).status(2);
    assert_eq!(
        hazards(&json(&run)),
        vec![(
            "truncate".to_string(),
            "v".to_string(),
            1,
            vec!["(no key)".to_string()]
        )]
    );
    assert_eq!(dbs.count_dst("k"), 0);
}

/// `accept` names the hazards a job has reviewed, by kind or `kind:column`: each is
/// reported as an accepted note and no longer blocks; a column or kind `accept` names
/// wrongly is a plan problem (exit 2) naming it.
#[test]
fn check_reports_accepted_hazards_as_notes() {
    let mut dbs = Dbs::new("check_accept");
    hazard_fixture(&mut dbs);
    let code = "copy { from = 'h', accept = { 'truncate', 'zero_date:z', 'range:i' } }";
    let run = check(&dbs, code, &["--json"]).status(2);
    let report = json(&run);
    assert_eq!(report["blocking"].as_u64(), Some(12), "{}", run.describe());
    assert_eq!(report["notes"].as_u64(), Some(5));
    for h in report["copies"][0]["hazards"].as_array().unwrap() {
        let accepted = h["kind"] == "truncate"
            || (h["kind"] == "zero_date" && h["column"] == "z")
            || (h["kind"] == "range" && h["column"] == "i");
        assert_eq!(h["accepted"], accepted, "{h}");
        assert_eq!(h["blocking"], !accepted, "{h}");
    }
    check(&dbs, code, &[])
        .status(2)
        .says("accepted  range")
        .says("BLOCKING  range")
        .says("12 blocking hazards, 5 notes");

    let all = "copy { from = 'h', accept = { 'truncate', 'charset', 'range', 'scale', \
               'fraction', 'char_trailing_space', 'enum', 'not_null:nn', 'zero_date', \
               'timestamp_range:z' } }";
    let run = check(&dbs, all, &["--json"]).ok();
    let report = json(&run);
    assert_eq!(report["blocking"].as_u64(), Some(0));
    assert_eq!(report["notes"].as_u64(), Some(17));

    check(
        &dbs,
        "copy { from = 'h', accept = { 'zero_date:zz' } }",
        &[],
    )
    .status(2)
    .says("`accept` names column `zz`")
    .says("did you mean `z`?");
    check(&dbs, "copy { from = 'h', accept = { 'truncat' } }", &[])
        .status(2)
        .says("unknown hazard `truncat`")
        .says("did you mean `truncate`?");
    assert_eq!(dbs.count_dst("h"), 0);
}

/// More type pairs, each with a row that fits and one that does not: check names the
/// second (and only it) with the kind expected, and a run fails on it (an ENUM's letter
/// case and the spaces an ENUM or CHAR drops included: no value changes silently).
#[test]
fn check_agrees_with_a_run_on_more_type_pairs() {
    let mut dbs = Dbs::new("check_pairs");
    // (source type, target type, a value that does not fit, one that does, the kind)
    let pairs: &[(&str, &str, &str, &str, &str)] = &[
        (
            "BIGINT UNSIGNED",
            "BIGINT",
            "18446744073709551615",
            "5",
            "range",
        ),
        (
            "TEXT",
            "VARCHAR(100)",
            "REPEAT('x', 101)",
            "'short'",
            "truncate",
        ),
        ("DOUBLE", "DECIMAL(10,2)", "1.125", "1.25", "scale"),
        (
            "DATETIME(6)",
            "TIMESTAMP(3)",
            "'2024-01-01 00:00:00.123456'",
            "'2024-01-01 00:00:00.123'",
            "fraction",
        ),
        (
            "LONGTEXT",
            "TINYTEXT",
            "REPEAT('é', 200)",
            "REPEAT('é', 100)",
            "truncate",
        ),
        ("ENUM('A','b')", "ENUM('a','b')", "'A'", "'b'", "enum"),
        ("SET('a','b')", "ENUM('a','b')", "'a,b'", "'a'", "enum"),
        (
            "VARCHAR(10)",
            "VARCHAR(10) CHARACTER SET ascii",
            "'é'",
            "'e'",
            "charset",
        ),
        ("YEAR", "TINYINT", "2024", "NULL", "range"),
        ("CHAR(10)", "VARCHAR(5)", "'abcdefg'", "'abc'", "truncate"),
        (
            "DECIMAL(12,4)",
            "DECIMAL(10,2)",
            "1.125",
            "12345678.12",
            "scale",
        ),
        ("FLOAT", "INT", "1.5", "2", "scale"),
        ("TIME(6)", "TIME", "'10:00:00.5'", "'10:00:00'", "fraction"),
        (
            "DATE",
            "TIMESTAMP NULL",
            "'1969-12-31'",
            "'2000-01-01'",
            "timestamp_range",
        ),
        ("VARCHAR(10)", "SET('a','b')", "'a,c'", "'a,b'", "enum"),
        ("MEDIUMINT", "SMALLINT UNSIGNED", "-1", "65535", "range"),
        ("VARCHAR(10)", "ENUM('a','b')", "'a '", "'a'", "enum"),
        (
            "TINYTEXT",
            "CHAR(255)",
            "' x '",
            "'x'",
            "char_trailing_space",
        ),
    ];
    let mut code = Vec::new();
    for (n, (s, t, bad, good, _)) in pairs.iter().enumerate() {
        dbs.src(&format!("CREATE TABLE t{n} (id INT PRIMARY KEY, c {s})"));
        dbs.src(&format!("INSERT INTO t{n} VALUES (1, {good}), (2, {bad})"));
        dbs.dst(&format!("CREATE TABLE t{n} (id INT PRIMARY KEY, c {t})"));
        code.push(format!("copy {{ from = 't{n}' }}"));
    }
    let report = json(&check(&dbs, &code.join("\n"), &["--json"]).status(2));
    for (n, (s, t, _, _, kind)) in pairs.iter().enumerate() {
        let ctx = format!("{s} -> {t}");
        let found: Vec<(String, u64, String)> = report["copies"][n]["hazards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let key = h["examples"][0]["key"].as_str().unwrap().to_string();
                (
                    h["kind"].as_str().unwrap().into(),
                    h["count"].as_u64().unwrap(),
                    key,
                )
            })
            .collect();
        assert_eq!(found, vec![(kind.to_string(), 1, "id=2".into())], "{ctx}");
        let run = dbs.run_code(
            &format!("copy {{ from = 't{n}', page = 1 }}"),
            &["--no-check", "-q"],
        );
        assert_eq!(run.status, 1, "{ctx}\n{}", run.describe());
        run.says("row id=2");
    }
}

/// A hazard in more rows than the report shows: the count is all of them, the examples
/// the first 5 in key order (a composite key named whole).
#[test]
fn check_shows_five_examples_in_key_order() {
    let mut dbs = Dbs::new("check_five");
    dbs.src("CREATE TABLE m (a INT, b VARCHAR(3), v VARCHAR(20), PRIMARY KEY (a, b))");
    for i in (1..=8).rev() {
        dbs.src(&format!(
            "INSERT INTO m VALUES ({i}, 'x', 'long value {i}'), ({i}, 'y', 'ok')"
        ));
    }
    dbs.dst("CREATE TABLE m (a INT, b VARCHAR(3), v VARCHAR(5), PRIMARY KEY (a, b))");
    let report = json(&check(&dbs, "copy { from = 'm' }", &["--json"]).status(2));
    let h = &report["copies"][0]["hazards"][0];
    assert_eq!(h["count"].as_u64(), Some(8));
    let examples: Vec<(String, String)> = h["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().into(),
                e["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = (1..=5)
        .map(|i| (format!("(a={i}, b='x')"), format!("'long value {i}'")))
        .collect();
    assert_eq!(examples, expected);
}

/// `ferry run` checks first: a blocking hazard is exit 2 with the report, before the
/// job's lock or a row is written; an accepted one is logged and the run goes on;
/// `--no-check` leaves it to each page (which fails on the row, exit 1).
#[test]
fn a_run_checks_first_and_writes_nothing_on_a_blocking_hazard() {
    let mut dbs = Dbs::new("check_first");
    dbs.src("CREATE TABLE r (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, c VARCHAR(10) NOT NULL)")
        .src("INSERT INTO r VALUES (1, 'short', 'a'), (2, 'much too long here', 'b '), (3, 'ok', 'c')");
    dbs.dst("CREATE TABLE r (id INT PRIMARY KEY, v VARCHAR(5) NOT NULL, c CHAR(10) NOT NULL)");
    dbs.run_code("copy { from = 'r', page = 1 }", &[])
        .status(2)
        .says("BLOCKING  truncate")
        .says("id=2 'much too long here'")
        .says("2 blocking hazards")
        .says("--no-check")
        .never_says("page 1");
    assert_eq!(dbs.count_dst("r"), 0, "a blocked run wrote rows");
    assert!(
        dbs.log()
            .contains("checked before writing: 2 blocking hazard(s), 3 query(ies)"),
        "{}",
        dbs.log()
    );
    // --no-check: the first page commits, the second fails on its row.
    dbs.run_code("copy { from = 'r', page = 1 }", &["--no-check"])
        .status(1)
        .says("row id=2");
    assert_eq!(dbs.count_dst("r"), 1);
    // Accepted (trailing spaces the CHAR drops) and fixed (the long value): it runs.
    dbs.dst("DELETE FROM r");
    dbs.src("UPDATE r SET v = 'fine' WHERE id = 2");
    dbs.run_code(
        "copy { from = 'r', accept = { 'char_trailing_space:c' } }",
        &[],
    )
    .ok();
    assert_eq!(dbs.count_dst("r"), 3);
    assert!(
        dbs.log()
            .contains("check: char_trailing_space in column `c` (1 rows), accepted"),
        "{}",
        dbs.log()
    );
    // A dry run plans only: no scan, so no report.
    dbs.src("UPDATE r SET v = 'much too long here' WHERE id = 2");
    dbs.run_code("copy { from = 'r' }", &["--dry-run"])
        .ok()
        .never_says("BLOCKING");
}
