//! No silent loss (issue 13, items 5 and 8): a value the target would change and a row
//! that would collide with a different target row fail their page, naming the row,
//! with whole pages committed before it and nothing after; and counts that mean one
//! thing on first runs and re-runs of every mode.

use crate::support::*;
use mysql::prelude::Queryable;

const WRITES: [&str; 3] = ["bulk", "prepared", "load"];

/// The counts line a job logs after its copy.
fn counts_code(copy: &str) -> String {
    format!(
        "local s = copy {{ {copy} }}\n\
         log.info('counts read=%d written=%d inserted=%d updated=%d unchanged=%d ignored=%d \
         conflicts=%d skipped=%d', s.read, s.written, s.inserted, s.updated, s.unchanged, \
         s.ignored, s.conflicts, s.skipped)\n"
    )
}

fn counts_of(run: &Run) -> String {
    run.stderr
        .lines()
        .find(|l| l.starts_with("counts "))
        .unwrap_or_else(|| panic!("no counts line\n{}", run.describe()))
        .to_string()
}

fn counts(read: u64, ins: u64, upd: u64, unch: u64, ign: u64, conf: u64) -> String {
    format!(
        "counts read={read} written={} inserted={ins} updated={upd} unchanged={unch} \
         ignored={ign} conflicts={conf} skipped=0",
        ins + upd
    )
}

/// First run, a re-run on unchanged rows, and a re-run after one source row changed,
/// in every mode and with every write method, at two rows a page: each row is counted
/// once, and a replaced or identical row is never counted inserted.
#[test]
fn counts_on_first_runs_and_reruns_of_every_mode() {
    for mode in ["insert", "overwrite", "upsert"] {
        for write in WRITES {
            let mut dbs = Dbs::new("rerun_counts");
            dbs.src("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)");
            dbs.src("INSERT INTO t VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e')");
            dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)");
            let code = counts_code(&format!(
                "from = 't', mode = '{mode}', page = 2, write = '{write}'"
            ));
            let ctx = format!("mode {mode}, write {write}");
            let first = dbs.run_code(&code, &[]).ok();
            assert_eq!(counts_of(&first), counts(5, 5, 0, 0, 0, 0), "{ctx}");
            let again = dbs.run_code(&code, &[]).ok();
            let expected = match mode {
                "insert" => counts(5, 0, 0, 0, 5, 0),
                _ => counts(5, 0, 0, 5, 0, 0),
            };
            assert_eq!(counts_of(&again), expected, "re-run, {ctx}");
            dbs.src("UPDATE t SET v = 'changed' WHERE id = 4");
            let changed = dbs.run_code(&code, &[]).ok();
            let expected = match mode {
                "insert" => counts(5, 0, 0, 0, 5, 0),
                _ => counts(5, 0, 1, 4, 0, 0),
            };
            assert_eq!(
                counts_of(&changed),
                expected,
                "re-run after a change, {ctx}"
            );
            let v: String = dbs
                .dst
                .query_first("SELECT v FROM t WHERE id = 4")
                .unwrap()
                .unwrap();
            assert_eq!(v, if mode == "insert" { "d" } else { "changed" }, "{ctx}");
            // The summary says the same.
            assert!(
                changed.stdout.contains("unchanged"),
                "{ctx}: {}",
                changed.describe()
            );
        }
    }
}

/// A copy that fails is in the summary with its status and what it committed; the
/// copies before it are there too.
#[test]
fn a_failed_copy_is_in_the_summary_with_what_it_committed() {
    let mut dbs = Dbs::new("failed_summary");
    dbs.src("CREATE TABLE ok_t (id INT PRIMARY KEY)");
    dbs.src("INSERT INTO ok_t VALUES (1),(2),(3)");
    dbs.dst("CREATE TABLE ok_t (id INT PRIMARY KEY)");
    dbs.src("CREATE TABLE bad_t (id INT PRIMARY KEY, d DOUBLE NOT NULL)");
    dbs.src("INSERT INTO bad_t VALUES (1, 1.5),(2, 2.5),(3, 3.25),(4, 4.5)");
    dbs.dst("CREATE TABLE bad_t (id INT PRIMARY KEY, d INT NOT NULL)");
    dbs.dst("INSERT INTO bad_t VALUES (1, 1), (2, 2)");
    let run = dbs
        .run_code(
            "copy { from = 'ok_t' }\n\
             copy { from = 'bad_t', page = 2, mode = 'overwrite', map = { d = function(r) \
             if r.id < 3 then return r.id end return r.d end } }\n",
            &[],
        )
        .status(1);
    let line = |name: &str| -> Vec<String> {
        run.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no summary line for {name}\n{}", run.describe()))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let header: Vec<String> = run
        .stdout
        .lines()
        .find(|l| l.starts_with("copy"))
        .unwrap_or_else(|| panic!("no summary\n{}", run.describe()))
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let col = |row: &[String], name: &str| -> String {
        let i = header.iter().position(|h| h == name).unwrap();
        row[i].clone()
    };
    let ok = line("ok_t");
    assert_eq!(col(&ok, "status"), "ok");
    assert_eq!(col(&ok, "inserted"), "3");
    let bad = line("bad_t");
    assert_eq!(col(&bad, "status"), "failed", "{}", run.describe());
    // Page 1 (ids 1 and 2, identical in the target) was committed.
    assert_eq!(col(&bad, "read"), "2", "{}", run.describe());
    assert_eq!(col(&bad, "written"), "0", "{}", run.describe());
    assert_eq!(col(&bad, "unchanged"), "2", "{}", run.describe());
    assert_eq!(dbs.count_dst("bad_t"), 2);
}

/// Four source rows, two a page, with row 3 not fitting the target: page 1 is
/// committed, page 2 fails naming id=3, exit 1.
fn narrowing(
    name: &str,
    src_col: &str,
    dst_col: &str,
    values: [&str; 4],
    copy_extra: &str,
    says: &str,
) {
    for write in WRITES {
        let mut dbs = Dbs::new(name);
        dbs.src(&format!(
            "CREATE TABLE t (id INT PRIMARY KEY, x {src_col} NOT NULL)"
        ));
        for (i, v) in values.iter().enumerate() {
            dbs.src(&format!("INSERT INTO t VALUES ({}, {v})", i + 1));
        }
        dbs.dst(&format!(
            "CREATE TABLE t (id INT PRIMARY KEY, x {dst_col} NOT NULL)"
        ));
        let run = dbs
            .run_code(
                &format!("copy {{ from = 't', page = 2, write = '{write}'{copy_extra} }}"),
                &["--no-check"],
            )
            .status(1);
        let run = run.says("row id=3").says(says);
        let ids: Vec<i32> = dbs.dst.query("SELECT id FROM t ORDER BY id").unwrap();
        assert_eq!(ids, vec![1, 2], "write {write}\n{}", run.describe());
    }
}

#[test]
fn datetime6_into_datetime_fails_naming_the_row() {
    narrowing(
        "dt6",
        "DATETIME(6)",
        "DATETIME",
        [
            "'2024-01-01 10:00:00'",
            "'2024-01-02 10:00:00.000000'",
            "'2024-01-03 10:00:00.5'",
            "'2024-01-04 10:00:00'",
        ],
        "",
        "fewer digits of a second",
    );
}

#[test]
fn decimal_into_a_smaller_scale_fails_naming_the_row() {
    narrowing(
        "dec",
        "DECIMAL(10,3)",
        "DECIMAL(10,2)",
        ["1.25", "2.5", "3.125", "4"],
        "",
        "1265",
    );
}

#[test]
fn double_into_float_fails_naming_the_row() {
    narrowing(
        "dbl",
        "DOUBLE",
        "FLOAT",
        ["1.5", "0.1", "1.23456789012", "4"],
        "",
        "FLOAT keeps fewer digits",
    );
}

#[test]
fn a_transforms_fraction_into_an_int_fails_naming_the_row() {
    narrowing(
        "frac",
        "INT",
        "INT",
        ["1", "2", "3", "4"],
        ", transform = function(r) if r.id == 3 then r.x = 1.5 end return r end",
        "has a fraction",
    );
}

#[test]
fn a_text_fraction_into_an_int_fails_naming_the_row() {
    narrowing(
        "textfrac",
        "VARCHAR(10)",
        "INT",
        ["'1'", "'2.0'", "'1.5'", "'4'"],
        "",
        "has a fraction",
    );
}

#[test]
fn trailing_spaces_cut_from_a_varchar_fail_naming_the_row() {
    narrowing(
        "spaces",
        "VARCHAR(20)",
        "VARCHAR(5)",
        ["'abc'", "'abcde'", "'abcde   '", "'x'"],
        "",
        "1265",
    );
}

#[test]
fn trailing_spaces_a_char_drops_fail_naming_the_row() {
    narrowing(
        "charsp",
        "VARCHAR(10)",
        "CHAR(10)",
        ["'abc'", "' lead'", "'ab '", "'x'"],
        "",
        "it ends in spaces, which a CHAR column drops",
    );
    narrowing(
        "charsp_lua",
        "CHAR(10)",
        "CHAR(10)",
        ["'abc'", "'b'", "'c'", "'d'"],
        ", transform = function(r) if r.id == 3 then r.x = r.x .. ' ' end return r end",
        "it ends in spaces, which a CHAR column drops",
    );
}

#[test]
fn an_enum_member_in_another_case_or_with_spaces_fails_naming_the_row() {
    narrowing(
        "enumcase",
        "ENUM('new','Paid')",
        "ENUM('new','paid')",
        ["'new'", "'new'", "'Paid'", "'new'"],
        "",
        "not one of the ENUM's members byte for byte",
    );
    narrowing(
        "enumsp",
        "VARCHAR(10)",
        "ENUM('new','paid')",
        ["'new'", "'paid'", "'paid '", "'new'"],
        "",
        "not one of the ENUM's members byte for byte",
    );
}

/// The same ENUM on both sides, and a CHAR from a CHAR, need no check and copy whole
/// (through the undecoded path too).
#[test]
fn the_same_enum_and_char_on_both_sides_copy_without_a_check() {
    let mut dbs = Dbs::new("enumsame");
    dbs.src(
        "CREATE TABLE t (id INT PRIMARY KEY, e ENUM('a','B','it''s') NOT NULL, c CHAR(5) NOT NULL)",
    )
    .src("INSERT INTO t VALUES (1, 'a', 'x'), (2, 'B', 'y  '), (3, 'it''s', '')");
    dbs.dst(
        "CREATE TABLE t (id INT PRIMARY KEY, e ENUM('a','B','it''s') NOT NULL, c CHAR(5) NOT NULL)",
    );
    dbs.run_code("copy { from = 't' }", &[]).ok();
    assert_eq!(dbs.dump_dst("t", "id"), dbs.dump_src("t", "id"));
    // A transform's values are checked against the members, quotes and case included.
    dbs.dst("DELETE FROM t");
    dbs.run_code(
        "copy { from = 't', transform = function(r) if r.id == 1 then r.e = 'b' end return r end }",
        &[],
    )
    .status(1)
    .says("row id=1")
    .says("not one of the ENUM's members byte for byte");
    dbs.run_code(
        "copy { from = 't', accept = { 'enum:e' }, \
         transform = function(r) if r.id == 1 then r.e = 'b' end return r end }",
        &[],
    )
    .ok();
    let e: String = dbs
        .dst
        .query_first("SELECT e FROM t WHERE id = 1")
        .unwrap()
        .unwrap();
    assert_eq!(e, "B", "accepted: the server stores the member");
}

/// Target t (id primary key, email unique) holding id=100 with a@x; source rows 1..4,
/// two a page, the third with a@x too (`clash`), or rows 3 and 4 sharing an email
/// the target does not have (`inside`).
fn unique_setup(name: &str, inside: bool) -> Dbs {
    let mut dbs = Dbs::new(name);
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL, v INT NOT NULL)");
    if inside {
        dbs.src("INSERT INTO t VALUES (1,'p@x',1),(2,'q@x',2),(3,'dup@x',3),(4,'DUP@x',4)");
    } else {
        dbs.src("INSERT INTO t VALUES (1,'p@x',1),(2,'q@x',2),(3,'a@x',3),(4,'r@x',4)");
    }
    dbs.dst(
        "CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL, v INT NOT NULL, \
         UNIQUE KEY email (email))",
    );
    dbs.dst("INSERT INTO t VALUES (100,'a@x',100)");
    dbs
}

fn dst_rows(dbs: &mut Dbs) -> Vec<(i32, String, i32)> {
    dbs.dst
        .query("SELECT id, email, v FROM t ORDER BY id")
        .unwrap()
}

fn row(id: i32, email: &str, v: i32) -> (i32, String, i32) {
    (id, email.to_string(), v)
}

#[test]
fn a_row_colliding_through_another_unique_key_fails_in_every_mode() {
    for mode in ["insert", "overwrite", "upsert"] {
        for write in WRITES {
            let ctx = format!("mode {mode}, write {write}");
            let mut dbs = unique_setup("uniq", false);
            let code =
                format!("copy {{ from = 't', mode = '{mode}', page = 2, write = '{write}' }}");
            // The run's check finds the row first (exit 2, nothing written) ...
            dbs.run_code(&code, &[])
                .status(2)
                .says("BLOCKING  unique_conflicts")
                .says("id=3 email='a@x' meets target row id=100");
            assert_eq!(dst_rows(&mut dbs), vec![row(100, "a@x", 100)], "{ctx}");
            // ... and without it, the page that meets the other row fails.
            let run = dbs.run_code(&code, &["--no-check"]).status(1);
            let run = run
                .says("row id=3")
                .says("id=100")
                .says("unique key `email`")
                .says("unique_conflicts");
            // Page 1 committed, page 2 rolled back, row 100 as it was.
            assert_eq!(
                dst_rows(&mut dbs),
                vec![row(1, "p@x", 1), row(2, "q@x", 2), row(100, "a@x", 100)],
                "{ctx}\n{}",
                run.describe()
            );
        }
    }
}

#[test]
fn rows_colliding_inside_one_page_fail_in_every_mode() {
    for mode in ["insert", "overwrite", "upsert"] {
        for write in WRITES {
            let ctx = format!("mode {mode}, write {write}");
            let mut dbs = unique_setup("uniq_in", true);
            let code =
                format!("copy {{ from = 't', mode = '{mode}', page = 2, write = '{write}' }}");
            // The run's check finds the two rows first (exit 2, nothing written) ...
            dbs.run_code(&code, &[])
                .status(2)
                .says("BLOCKING  unique_conflicts")
                .says("id=3, id=4");
            assert_eq!(dst_rows(&mut dbs), vec![row(100, "a@x", 100)], "{ctx}");
            // ... and without it, the page that holds them fails.
            let run = dbs.run_code(&code, &["--no-check"]).status(1);
            // `DUP@x` meets `dup@x` under the column's case-insensitive collation.
            let run = run.says("row id=4").says("id=3").says("unique key `email`");
            assert_eq!(
                dst_rows(&mut dbs),
                vec![row(1, "p@x", 1), row(2, "q@x", 2), row(100, "a@x", 100)],
                "{ctx}\n{}",
                run.describe()
            );
        }
    }
}

#[test]
fn accepted_unique_conflicts_are_counted_apart() {
    for mode in ["insert", "overwrite", "upsert"] {
        for write in WRITES {
            let ctx = format!("mode {mode}, write {write}");
            let mut dbs = unique_setup("uniq_ok", false);
            let run = dbs
                .run_code(
                    &counts_code(&format!(
                        "from = 't', mode = '{mode}', page = 2, write = '{write}', \
                         accept = {{ 'unique_conflicts' }}"
                    )),
                    &[],
                )
                .ok();
            let run = run.says("collided with different target rows");
            assert_eq!(counts_of(&run), counts(4, 3, 0, 0, 0, 1), "{ctx}");
            let expected = match mode {
                // The row is dropped; the other stays.
                "insert" => vec![
                    row(1, "p@x", 1),
                    row(2, "q@x", 2),
                    row(4, "r@x", 4),
                    row(100, "a@x", 100),
                ],
                // The other row goes (deleted, or rewritten into this one).
                _ => vec![
                    row(1, "p@x", 1),
                    row(2, "q@x", 2),
                    row(3, "a@x", 3),
                    row(4, "r@x", 4),
                ],
            };
            assert_eq!(dst_rows(&mut dbs), expected, "{ctx}\n{}", run.describe());
        }
    }
}

/// Re-running overwrite and upsert into a target with a second unique key: rows
/// already there are not conflicts.
#[test]
fn reruns_into_a_target_with_a_second_unique_key_have_no_conflicts() {
    for mode in ["insert", "overwrite", "upsert"] {
        let mut dbs = Dbs::new("uniq_rerun");
        dbs.src("CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL, v INT NOT NULL)");
        dbs.src("INSERT INTO t VALUES (1,'p@x',1),(2,'q@x',2),(3,'a@x',3)");
        dbs.dst(
            "CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL, v INT NOT NULL, \
             UNIQUE KEY email (email))",
        );
        let code = counts_code(&format!("from = 't', mode = '{mode}', page = 2"));
        dbs.run_code(&code, &[]).ok();
        dbs.src("UPDATE t SET v = 30 WHERE id = 3");
        let run = dbs.run_code(&code, &[]).ok();
        let expected = match mode {
            "insert" => counts(3, 0, 0, 0, 3, 0),
            // REPLACE deletes and inserts a row when the table has more unique keys:
            // the server does not tell an identical row, so all count updated.
            "overwrite" => counts(3, 0, 3, 0, 0, 0),
            _ => counts(3, 0, 1, 2, 0, 0),
        };
        assert_eq!(counts_of(&run), expected, "mode {mode}");
    }
}

#[test]
fn more_decimals_than_a_float_m_d_keeps_fail_naming_the_row() {
    narrowing(
        "fmd",
        "DOUBLE",
        "FLOAT(7,2)",
        ["1.5", "2.25", "1.239", "4"],
        "",
        "fewer decimals",
    );
}

#[test]
fn a_bigint_past_2_53_into_a_double_fails_naming_the_row() {
    narrowing(
        "bigdbl",
        "BIGINT",
        "DOUBLE",
        ["1", "9007199254740992", "9007199254740993", "4"],
        "",
        "DOUBLE keeps fewer digits",
    );
}

#[test]
fn a_short_value_into_binary_fails_naming_the_row() {
    narrowing(
        "bin",
        "VARBINARY(10)",
        "BINARY(5)",
        ["'abcde'", "'12345'", "'ab'", "'vwxyz'"],
        "",
        "pads it with zero bytes",
    );
}

#[test]
fn a_two_digit_year_fails_naming_the_row() {
    narrowing(
        "year",
        "INT",
        "YEAR",
        ["2001", "1999", "69", "2004"],
        "",
        "two-digit year",
    );
}
