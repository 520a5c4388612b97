//! `ferry explain` (issue 15, item 3) and `try{}` in the REPL (issue 17, item 7): a
//! copy in each mode over target rows prepared so that every answer appears (a new key,
//! an existing one, an identical row, changed columns, a different row met through a
//! second UNIQUE key), the transform and a default shown in the rows written, the
//! statement, bad copy names and keys; and the target untouched afterwards.

use crate::repl::{repl, wait};
use crate::support::*;
use expectrl::{ControlCode, Expect};

/// Source `users` 1..5; target `customers` with a second unique key (`email`):
/// id 2 as the copy would write it, id 3 with another name, id 40 holding user 4's
/// email, ids 1 and 5 absent.
fn fixture(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20), email VARCHAR(50))");
    dbs.src(
        "INSERT INTO users VALUES (1, 'ann', 'ann@x.org'), (2, 'bob', 'bob@x.org'), \
         (3, 'cy', 'cy@x.org'), (4, 'di', 'di@x.org'), (5, 'ed', 'ed@x.org')",
    );
    dbs.dst(
        "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(20), \
         email VARCHAR(50), status VARCHAR(10) NOT NULL DEFAULT 'new', UNIQUE KEY email (email))",
    );
    dbs.dst(
        "INSERT INTO customers VALUES (2, 'BOB', 'bob@x.org', 'active'), \
         (3, 'old name', 'cy@x.org', 'gone'), (40, 'DI', 'di@x.org', 'active')",
    );
}

fn job(mode: &str, extra: &str) -> String {
    format!(
        "copy {{ from = \"users\", to = \"customers\", mode = \"{mode}\", {extra}\n\
           transform = function(r) r.name = r.name:upper() return r end,\n\
           default = default {{ status = \"active\" }} }}\n"
    )
}

fn explain(dbs: &Dbs, code: &str, extra: &[&str]) -> Run {
    dbs.command("explain", "explain.lua", code, extra)
}

/// (key, action) of every row of the first copy of a `--json` report.
fn actions(run: &Run) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", run.describe()));
    v["copies"][0]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows\n{}", run.describe()))
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, a)| (k.to_string(), a.to_string()))
        .collect()
}

/// The row of `key` in a text report: from its `row KEY:` line to the next blank line.
fn row_text<'a>(run: &'a Run, key: &str) -> &'a str {
    let start = run
        .stdout
        .find(&format!("row {key}: "))
        .unwrap_or_else(|| panic!("no row {key}\n{}", run.describe()));
    let rest = &run.stdout[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

#[test]
fn explain_answers_for_every_mode_and_writes_nothing() {
    let mut dbs = Dbs::new("explain_modes");
    fixture(&mut dbs);
    let before = dbs.dump_dst("customers", "id");
    let all = ["--rows", "5", "--json"];
    let run = explain(&dbs, &job("insert", ""), &all).ok();
    assert_eq!(
        actions(&run),
        pairs(&[
            ("id=1", "insert"),
            ("id=2", "ignore"),
            ("id=3", "ignore"),
            ("id=4", "ignore"),
            ("id=5", "insert"),
        ])
    );
    let run = explain(&dbs, &job("upsert", ""), &all).ok();
    assert_eq!(
        actions(&run),
        pairs(&[
            ("id=1", "insert"),
            ("id=2", "unchanged"),
            ("id=3", "update"),
            ("id=4", "update"),
            ("id=5", "insert"),
        ])
    );
    let run = explain(&dbs, &job("overwrite", ""), &all).ok();
    assert_eq!(
        actions(&run),
        pairs(&[
            ("id=1", "insert"),
            ("id=2", "replace"),
            ("id=3", "replace"),
            ("id=4", "replace"),
            ("id=5", "insert"),
        ])
    );
    assert_eq!(
        dbs.dump_dst("customers", "id"),
        before,
        "the target changed"
    );
    assert_eq!(dbs.count_dst("customers"), 3);
}

#[test]
fn explain_shows_the_rows_the_statement_and_the_changed_columns() {
    let mut dbs = Dbs::new("explain_text");
    fixture(&mut dbs);
    let before = dbs.dump_dst("customers", "id");
    let run = explain(
        &dbs,
        &job("upsert", ""),
        &["--key", "3", "--key", "4", "--key", "9"],
    )
    .ok();
    let out = &run.stdout;
    assert!(
        out.contains("copy users -> customers (") && out.contains("mode upsert"),
        "{out}"
    );
    assert!(out.contains("rows resolved on PRIMARY (id)"), "{out}");
    assert!(
        out.contains("  written by write = \"bulk\": the statement shown, prepared once"),
        "{out}"
    );
    // Row 3: the transform's name and the default in the row written; `name` changes,
    // `status` (a default, which upsert does not update) is kept.
    let r3 = row_text(&run, "id=3");
    assert!(
        r3.starts_with("row id=3: update: the target row id=3 is updated; 1 column changes"),
        "{r3}"
    );
    assert!(
        r3.contains("source     id=3, name='cy', email='cy@x.org'"),
        "{r3}"
    );
    let line = |text: &str, col: &str| -> String {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{col} ")))
            .unwrap_or_else(|| panic!("no line for {col}: {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line(r3, "name"),
        "name transform: name 'CY' 'old name' changed",
        "{r3}"
    );
    assert_eq!(
        line(r3, "status"),
        "status default 'active' 'active' 'gone' kept",
        "{r3}"
    );
    assert_eq!(
        line(r3, "email"),
        "email transform: email 'cy@x.org' 'cy@x.org'",
        "{r3}"
    );
    assert!(r3.contains("statement  INSERT INTO `"), "{r3}");
    assert!(
        r3.contains(
            ".`customers` (`id`, `name`, `email`, `status`) VALUES (3, 'CY', 'cy@x.org', \
             'active') ON DUPLICATE KEY UPDATE `id` = VALUES(`id`), `name` = VALUES(`name`), \
             `email` = VALUES(`email`)"
        ),
        "{r3}"
    );
    // Row 4 meets the different row id=40 through `email`: named, and refused unless
    // accepted.
    let r4 = row_text(&run, "id=4");
    assert!(
        r4.contains("target now: the different row id=40, met through `email`"),
        "{r4}"
    );
    assert_eq!(line(r4, "id"), "id transform: id 4 40 changed", "{r4}");
    assert!(
        r4.contains("the different target row id=40 has the same `email`"),
        "{r4}"
    );
    assert!(
        r4.contains("unless it says accept = {\"unique_conflicts\"}"),
        "{r4}"
    );
    assert!(out.contains("key id='9': no such source row"), "{out}");
    assert!(
        out.contains("2 rows explained (2 update); nothing was written"),
        "{out}"
    );
    assert_eq!(
        dbs.dump_dst("customers", "id"),
        before,
        "the target changed"
    );
}

#[test]
fn explain_of_overwrite_names_the_row_a_replace_would_delete() {
    let mut dbs = Dbs::new("explain_replace");
    fixture(&mut dbs);
    let run = explain(
        &dbs,
        &job("overwrite", "accept = {\"unique_conflicts\"},"),
        &["--key", "4", "--key", "3", "--key", "1"],
    )
    .ok();
    let r4 = row_text(&run, "id=4");
    assert!(
        r4.starts_with(
            "row id=4: replace: id=4 is new, but REPLACE first deletes the different target \
             row id=40, which has the same `email`"
        ),
        "{r4}"
    );
    assert!(r4.contains("counted in `conflicts`"), "{r4}");
    let r3 = row_text(&run, "id=3");
    assert!(
        r3.starts_with("row id=3: replace: REPLACE deletes the target row id=3"),
        "{r3}"
    );
    assert!(r3.contains("statement  REPLACE INTO `"), "{r3}");
    assert!(
        r3.contains(
            ".`customers` (`id`, `name`, `email`, `status`) VALUES (3, 'CY', 'cy@x.org', 'active')"
        ),
        "{r3}"
    );
    let r1 = row_text(&run, "id=1");
    assert!(
        r1.starts_with("row id=1: insert: a new row: the target has no id=1"),
        "{r1}"
    );
    assert_eq!(dbs.count_dst("customers"), 3);
}

#[test]
fn explain_overwrite_of_an_identical_row_is_unchanged_and_skips_show() {
    let mut dbs = Dbs::new("explain_same");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))");
    dbs.src("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'skip me')");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))");
    dbs.dst("INSERT INTO t VALUES (1, 'a'), (2, 'B')");
    let code = "copy { from = \"t\", mode = \"overwrite\",\n\
                transform = function(r) if r.v == \"skip me\" then return nil end return r end }\n";
    let run = explain(&dbs, code, &["--json"]).ok();
    assert_eq!(
        actions(&run),
        pairs(&[("id=1", "unchanged"), ("id=2", "replace"), ("id=3", "skip")])
    );
    assert_eq!(dbs.dump_dst("t", "id").len(), 2);
}

#[test]
fn explain_refuses_unknown_copies_and_keys_of_the_wrong_width() {
    let mut dbs = Dbs::new("explain_bad");
    fixture(&mut dbs);
    dbs.src("CREATE TABLE pairs (a INT, b INT, v INT, PRIMARY KEY (a, b))");
    dbs.src("INSERT INTO pairs VALUES (1, 1, 10), (1, 2, 20)");
    dbs.dst("CREATE TABLE pairs (a INT, b INT, v INT, PRIMARY KEY (a, b))");
    let code = format!("{}copy \"pairs\"\n", job("insert", ""));
    explain(&dbs, &code, &["--copy", "user -> customers"])
        .status(2)
        .says("--copy user -> customers: the job has no copy of that name")
        .says("users -> customers");
    explain(&dbs, &code, &["--key", "1"])
        .status(2)
        .says("--key picks rows of one copy: name it with --copy");
    explain(&dbs, &code, &["--copy", "pairs", "--key", "1"])
        .status(2)
        .says("copy pairs: its source key is (a, b), so each key takes 2 values");
    // Both ways of giving a composite key.
    let run = explain(
        &dbs,
        &code,
        &[
            "--copy", "pairs", "--key", "1,2", "--key", "1", "--key", "1",
        ],
    )
    .ok();
    assert!(
        run.stdout.contains("row (a=1, b=2): insert"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("row (a=1, b=1): insert"),
        "{}",
        run.describe()
    );
    assert!(!run.stdout.contains("copy users"), "{}", run.describe());
}

#[test]
fn try_in_the_repl_explains_and_writes_nothing() {
    let mut dbs = Dbs::new("explain_try");
    fixture(&mut dbs);
    let before = dbs.dump_dst("customers", "id");
    let mut p = repl(
        &dbs,
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        200,
    );
    wait(&mut p, "[src, dst]> ");
    p.send_line(
        "try{ from = \"users\", to = \"customers\", mode = \"upsert\", rows = 3, \
         transform = function(r) r.name = r.name:upper() return r end, \
         default = default{ status = \"active\" } }",
    )
    .unwrap();
    let out = wait(&mut p, "nothing was written");
    assert!(out.contains("row id=1: insert"), "{out}");
    assert!(out.contains("row id=2: unchanged"), "{out}");
    assert!(out.contains("row id=3: update"), "{out}");
    assert!(out.contains("'CY'"), "{out}");
    p.send_line("explain{ \"users\", to = \"customers\", key = 4 }")
        .unwrap();
    let out = wait(&mut p, "nothing was written");
    assert!(out.contains("row id=4: ignore"), "{out}");
    p.send_line("try{ from = \"users\", to = \"customers\", rows = 0 }")
        .unwrap();
    wait(&mut p, "`rows` takes a whole number of rows");
    // A table name alone, as `copy "users"`: the target has no `users`.
    p.send_line("try \"users\"").unwrap();
    wait(&mut p, "unknown target table `users`");
    wait(&mut p, "]> ");
    p.send(ControlCode::EndOfTransmission).unwrap();
    p.expect(expectrl::Eof).unwrap();
    assert_eq!(
        dbs.dump_dst("customers", "id"),
        before,
        "the target changed"
    );
}

#[test]
fn explain_shows_map_functions_and_rows_the_row_code_refuses() {
    let mut dbs = Dbs::new("explain_code");
    fixture(&mut dbs);
    let code = "copy { from = \"users\", to = \"customers\", mode = \"upsert\",\n\
                map = { name = function(r) return r.name .. \"!\" end },\n\
                transform = function(r) if r.id == 5 then error(\"no fives\") end return r end }\n";
    let before = dbs.dump_dst("customers", "id");
    let run = explain(&dbs, code, &["--key", "2", "--key", "5"]).ok();
    let r2 = row_text(&run, "id=2");
    assert!(r2.contains("function at "), "{r2}");
    assert!(r2.contains("'bob!'"), "{r2}");
    assert!(r2.starts_with("row id=2: update"), "{r2}");
    let r5 = row_text(&run, "id=5");
    assert!(
        r5.starts_with("row id=5: fail: the copy's row code fails on this row:"),
        "{r5}"
    );
    assert!(r5.contains("no fives"), "{r5}");
    assert!(!r5.contains("statement"), "{r5}");
    // A copy that sets such rows aside says so.
    let rejecting = code.replace(
        "mode = \"upsert\",",
        "mode = \"upsert\", on_error = \"reject\",",
    );
    let run = explain(&dbs, &rejecting, &["--key", "5"]).ok();
    let r5 = row_text(&run, "id=5");
    assert!(
        r5.starts_with("row id=5: reject: the copy's row code fails"),
        "{r5}"
    );
    assert!(
        r5.contains("on_error = \"reject\" sets it aside in the rejects file"),
        "{r5}"
    );
    assert_eq!(
        dbs.dump_dst("customers", "id"),
        before,
        "the target changed"
    );
}

#[test]
fn explain_reads_the_copys_rows_and_a_keyless_target_inserts_every_one() {
    let mut dbs = Dbs::new("explain_keyless");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, v VARBINARY(4))");
    dbs.src("INSERT INTO t VALUES (1, 0x00ff), (2, 0x01), (3, 0x02), (4, 0x03)");
    dbs.dst("CREATE TABLE t (id INT, v VARBINARY(4))");
    dbs.dst("INSERT INTO t VALUES (2, 0x01)");
    let code = "copy { from = \"t\", mode = \"insert\", where = \"id > 1\", write = \"load\" }\n";
    let run = explain(&dbs, code, &["--rows", "2"]).ok();
    let r2 = row_text(&run, "id=2");
    assert!(
        r2.starts_with("row id=2: insert: a new row: the copy writes no unique key"),
        "{r2}"
    );
    assert!(r2.contains("VALUES (2, X'01')"), "{r2}");
    assert!(
        run.stdout.contains("row id=3: insert"),
        "{}",
        run.describe()
    );
    assert!(!run.stdout.contains("row id=1:"), "{}", run.describe());
    assert!(!run.stdout.contains("row id=4:"), "{}", run.describe());
    assert!(
        !run.stdout.contains("rows resolved on"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout
            .contains("written by write = \"load\": LOAD DATA LOCAL INFILE"),
        "{}",
        run.describe()
    );
    assert_eq!(dbs.count_dst("t"), 1);
}

#[test]
fn explain_picks_one_table_of_a_copy_of_many() {
    let mut dbs = Dbs::new("explain_many");
    for t in ["a", "b"] {
        dbs.src(&format!("CREATE TABLE {t} (id INT PRIMARY KEY, v INT)"));
        dbs.src(&format!("INSERT INTO {t} VALUES (1, 10), (2, 20)"));
        dbs.dst(&format!("CREATE TABLE {t} (id INT PRIMARY KEY, v INT)"));
    }
    dbs.dst("INSERT INTO b VALUES (2, 21)");
    let code = "copy { tables = \"*\", mode = \"upsert\" }\n";
    let run = explain(&dbs, code, &["--copy", "b", "--json"]).ok();
    assert_eq!(
        actions(&run),
        pairs(&[("id=1", "insert"), ("id=2", "update")])
    );
    assert!(
        !run.stdout.contains("\"copy\": \"a\""),
        "{}",
        run.describe()
    );
    assert_eq!(dbs.count_dst("a"), 0);
    assert_eq!(dbs.count_dst("b"), 1);
}

/// Source rows 2..9 each hold one value the target refuses or would change (row 9's
/// only after the transform); row 1 holds none.
fn refused_fixture(dbs: &mut Dbs) {
    dbs.src(
        "CREATE TABLE s (id INT PRIMARY KEY, n INT, d DECIMAL(10,4), v VARCHAR(20), \
         e VARCHAR(20) CHARACTER SET utf8mb4, nn VARCHAR(5), ts DATETIME, en VARCHAR(5))",
    );
    dbs.src(
        "INSERT INTO s VALUES \
         (1, 1, 1.5, 'ok', 'plain', 'x', '2024-01-01 00:00:00', 'a'), \
         (2, 300, 1, 'ok', 'plain', 'x', '2024-01-01 00:00:00', 'a'), \
         (3, 1, 1.2345, 'ok', 'plain', 'x', '2024-01-01 00:00:00', 'a'), \
         (4, 1, 1, 'far too long', 'plain', 'x', '2024-01-01 00:00:00', 'a'), \
         (5, 1, 1, 'ok', 'rocket \u{1F680}', 'x', '2024-01-01 00:00:00', 'a'), \
         (6, 1, 1, 'ok', 'plain', NULL, '2024-01-01 00:00:00', 'a'), \
         (7, 1, 1, 'ok', 'plain', 'x', '2024-00-10 00:00:00', 'a'), \
         (8, 1, 1, 'ok', 'plain', 'x', '2024-01-01 00:00:00', 'c'), \
         (9, 20, 1, 'ok', 'plain', 'x', '2024-01-01 00:00:00', 'a')",
    );
    dbs.dst(
        "CREATE TABLE s (id INT PRIMARY KEY, n TINYINT, d DECIMAL(6,2), v VARCHAR(5), \
         e VARCHAR(20) CHARACTER SET utf8mb3, nn VARCHAR(5) NOT NULL DEFAULT 'x', \
         ts TIMESTAMP NULL, en ENUM('a','b'))",
    );
}

#[test]
fn explain_fails_rows_the_server_would_refuse_naming_them_as_check_does() {
    let mut dbs = Dbs::new("explain_refused");
    refused_fixture(&mut dbs);
    let code = "copy { from = \"s\",\n\
                transform = function(r) if r.id == 9 then r.n = r.n * 10 end return r end }\n";
    let before = dbs.dump_dst("s", "id");
    let mut args = vec!["--json"];
    for k in ["1", "2", "3", "4", "5", "6", "7", "8", "9"] {
        args.extend(["--key", k]);
    }
    let run = explain(&dbs, code, &args).ok();
    let report = json(&run);
    let rows = report["copies"][0]["rows"].as_array().expect("rows");
    let row = |key: &str| -> (String, String, bool) {
        let r = rows
            .iter()
            .find(|r| r["key"] == key)
            .unwrap_or_else(|| panic!("no row {key}\n{}", run.describe()));
        (
            r["action"].as_str().unwrap().to_string(),
            r["why"].as_str().unwrap().to_string(),
            r["statement"].is_null(),
        )
    };
    assert_eq!(row("id=1").0, "insert", "{}", run.describe());
    // The kind and column of each row, as `ferry check` and a run's page name them.
    let expected = [
        ("id=2", "range", "n"),
        ("id=3", "scale", "d"),
        ("id=4", "truncate", "v"),
        ("id=5", "charset", "e"),
        ("id=6", "not_null", "nn"),
        ("id=7", "zero_date", "ts"),
        ("id=8", "enum", "en"),
        // Made by the transform (20 * 10), which check cannot scan.
        ("id=9", "range", "n"),
    ];
    for (key, kind, column) in expected {
        let (action, why, no_statement) = row(key);
        assert_eq!(action, "fail", "{key}: {why}");
        assert!(
            why.contains(&format!("(check: {kind} in column `{column}`)")),
            "{key}: {why}"
        );
        assert!(no_statement, "{key}: a failing row has no statement");
    }
    assert!(
        row("id=2")
            .1
            .contains("cannot hold 300: it is outside the column's range, -128 to 127"),
        "{}",
        row("id=2").1
    );
    assert!(
        row("id=5")
            .1
            .contains("column `e` (varchar(20) utf8mb3) cannot hold 'rocket"),
        "{}",
        row("id=5").1
    );
    // `ferry check` of the copy without its transform (whose columns it cannot scan)
    // names the same kinds, columns and rows.
    let plain = "copy { from = \"s\" }\n";
    let check = dbs
        .command("check", "explain.lua", plain, &["--json"])
        .status(2);
    let found: Vec<(String, String, Vec<String>)> = hazards_found(&json(&check), 0, "column")
        .into_iter()
        .map(|(kind, column, _, keys, _)| (kind, column, keys))
        .collect();
    for (key, kind, column) in &expected[..7] {
        assert!(
            found
                .iter()
                .any(|(k, c, keys)| k == kind && c == column && keys.iter().any(|x| x == key)),
            "check does not name {key} as {kind} in `{column}`: {found:?}"
        );
    }
    // A run stops at such a row with the same words.
    let one = code.replace(
        "copy { from = \"s\",",
        "copy { from = \"s\", where = \"id = 4\",",
    );
    dbs.run_code(&one, &["--no-check"])
        .status(1)
        .says("(check: truncate in column `v`)");
    // On_error = "reject" sets such a row aside instead.
    let rejecting = code.replace(
        "copy { from = \"s\",",
        "copy { from = \"s\", on_error = \"reject\",",
    );
    let run = explain(&dbs, &rejecting, &["--key", "2"]).ok();
    assert!(
        row_text(&run, "id=2")
            .starts_with("row id=2: reject: the server would refuse or change a value"),
        "{}",
        run.describe()
    );
    assert_eq!(dbs.dump_dst("s", "id"), before, "the target changed");
    assert_eq!(dbs.count_dst("s"), 0);
}
