//! Every data error names its row: the copy and its line in the job, the page, the
//! source key, the column, the value (cut short), the server's message without its
//! "at row N", and what to do next; exit 1, with only whole earlier pages committed.

use crate::support::*;

/// Runs `code` as `rows.lua` and checks the error names everything about the row.
fn fails_naming(
    dbs: &Dbs,
    code: &str,
    line: u32,
    page: u32,
    key: &str,
    column: &str,
    value: &str,
) -> Run {
    let job = dbs.job("rows.lua", code);
    // --no-check: the page's own refusal is what is shown here (`ferry check` would
    // stop the run before it, tests/check.rs).
    dbs.run(&job, &["--no-check"])
        .status(1)
        .says(&format!("rows.lua:{line}: copy "))
        .says(&format!(
            ", page {page}, row {key}, column `{column}` = {value}: "
        ))
        .says("--resume")
        .never_says("at row")
}

#[test]
fn a_too_long_string_names_its_row_in_every_mode_and_method() {
    let mut dbs = Dbs::new("too_long");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(80))");
    dbs.src("INSERT INTO t SELECT seq, 'ok' FROM seq_1_to_10");
    dbs.src("UPDATE t SET v = 'this value is far too long for the target column, as you see' WHERE id = 7");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(5))");
    for mode in ["insert", "overwrite", "upsert"] {
        for write in ["bulk", "prepared", "load"] {
            let run = fails_naming(
                &dbs,
                &format!("-- {mode} {write}\ncopy {{ from = 't', mode = '{mode}', write = '{write}', page = 4 }}\n"),
                2,
                2,
                "id=7",
                "v",
                "'this value is far too long for the targe'… (60 bytes)",
            );
            run.says("for column 'v'")
                .never_says("row id=5")
                .never_says("row 3");
            // Page 1 (ids 1-4) committed, page 2 rolled back.
            assert_eq!(dbs.count_dst("t"), 4, "mode {mode}, write {write}");
            dbs.dst("DELETE FROM t");
        }
    }
}

#[test]
fn null_into_not_null_names_its_row() {
    let mut dbs = Dbs::new("null_row");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), n INT)");
    dbs.src("INSERT INTO t SELECT seq, CONCAT('n', seq), seq FROM seq_1_to_20");
    dbs.src("UPDATE t SET name = NULL WHERE id = 13");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, n INT)");
    let transform = ", transform = function(r) r.n = r.n + 1; return r end";
    for (mode, write, more) in [
        ("insert", "bulk", ""),
        ("insert", "prepared", ""),
        ("insert", "load", ""),
        ("insert", "bulk", transform),
        ("overwrite", "load", ""),
        ("overwrite", "bulk", ""),
        ("overwrite", "prepared", transform),
        ("upsert", "bulk", ""),
        ("upsert", "prepared", ""),
        ("upsert", "bulk", transform),
    ] {
        let said = fails_naming(
            &dbs,
            &format!(
                "\ncopy {{ from = 't', mode = '{mode}', write = '{write}', page = 5{more} }}\n"
            ),
            2,
            3,
            "id=13",
            "name",
            "NULL",
        )
        .stderr;
        // LOAD DATA words it its own way.
        assert!(
            said.contains("Column 'name' cannot be null")
                || said.contains("NULL supplied to NOT NULL column 'name'"),
            "{said}"
        );
        assert_eq!(dbs.count_dst("t"), 10, "mode {mode}, write {write}");
        dbs.dst("DELETE FROM t");
    }
}

#[test]
fn a_unique_key_clash_in_upsert_names_its_row() {
    let mut dbs = Dbs::new("dup_row");
    dbs.src("CREATE TABLE u (id INT PRIMARY KEY, email VARCHAR(40))");
    dbs.src("INSERT INTO u SELECT seq, CONCAT('u', seq, '@x.org') FROM seq_1_to_9");
    // Row 4 takes the email target row 5 holds.
    dbs.src("UPDATE u SET email = 'u5@x.org' WHERE id = 4");
    dbs.src("UPDATE u SET email = 'moved@x.org' WHERE id = 5");
    dbs.dst("CREATE TABLE u (id INT PRIMARY KEY, email VARCHAR(40), UNIQUE KEY email (email))");
    dbs.dst("INSERT INTO u VALUES (4, 'u4@x.org'), (5, 'u5@x.org')");
    for write in ["bulk", "prepared"] {
        fails_naming(
            &dbs,
            &format!("copy {{ from = 'u', mode = 'upsert', write = '{write}', page = 3 }}\n"),
            1,
            2,
            "id=4",
            "email",
            "'u5@x.org'",
        )
        .says("Duplicate entry 'u5@x.org' for key 'email'");
        // Page 1 (ids 1-3) committed next to the two rows that were there.
        assert_eq!(dbs.count_dst("u"), 5, "write {write}");
        dbs.dst("DELETE FROM u WHERE id NOT IN (4, 5)");
    }
}

#[test]
fn a_check_constraint_names_its_row() {
    let mut dbs = Dbs::new("check_row");
    dbs.src("CREATE TABLE p (id INT PRIMARY KEY, price INT)");
    dbs.src("INSERT INTO p SELECT seq, seq FROM seq_1_to_30");
    dbs.src("UPDATE p SET price = -1 WHERE id = 22");
    dbs.dst(
        "CREATE TABLE p (id INT PRIMARY KEY, price INT, CONSTRAINT positive CHECK (price > 0))",
    );
    let job = dbs.job(
        "rows.lua",
        "copy { from = 'p', mode = 'overwrite', page = 10 }\n",
    );
    dbs.run(&job, &[])
        .status(1)
        .says("rows.lua:1: copy p, page 3, row id=22: ")
        .says("positive")
        .says("--resume");
    assert_eq!(dbs.count_dst("p"), 20);
}

#[test]
fn a_row_error_under_parallel_copies_names_the_copy_not_where_its_result_is_read() {
    let mut dbs = Dbs::new("parallel_row");
    dbs.src("CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20))");
    dbs.src("INSERT INTO a SELECT seq, 'fine' FROM seq_1_to_50");
    dbs.src("CREATE TABLE b (id INT PRIMARY KEY, name VARCHAR(20))");
    dbs.src("INSERT INTO b SELECT seq, CONCAT('b', seq) FROM seq_1_to_50");
    dbs.src("UPDATE b SET name = NULL WHERE id = 33");
    dbs.dst("CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20))");
    dbs.dst("CREATE TABLE b (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)");
    let run = fails_naming(
        &dbs,
        "job { parallel = 2 }\n\
         local a = copy { from = 'a', page = 10 }\n\
         local b = copy { from = 'b', page = 10 }\n\
         log.info('a: %d', a.written)\n\
         log.info('b: %d', b.written)\n",
        3,
        4,
        "id=33",
        "name",
        "NULL",
    );
    run.never_says("rows.lua:4").never_says("rows.lua:5");
    assert_eq!(dbs.count_dst("a"), 50);
    assert_eq!(dbs.count_dst("b"), 30);
    assert!(dbs.log().contains("rows.lua:3: copy b, page 4, row id=33"));
}

#[test]
fn a_trigger_that_refuses_a_row_names_it() {
    let mut dbs = Dbs::new("signal_row");
    dbs.src("CREATE TABLE s (id INT PRIMARY KEY, qty INT)");
    dbs.src("INSERT INTO s SELECT seq, seq FROM seq_1_to_30");
    dbs.dst("CREATE TABLE s (id INT PRIMARY KEY, qty INT)");
    dbs.dst("CREATE TRIGGER no_big BEFORE INSERT ON s FOR EACH ROW IF NEW.qty = 17 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'qty 17 is not allowed'; END IF");
    let job = dbs.job(
        "rows.lua",
        "copy { from = 's', page = 10, accept = {'triggers'} }\n",
    );
    dbs.run(&job, &[])
        .status(1)
        .says("rows.lua:1: copy s, page 2, row id=17: ")
        .says("qty 17 is not allowed")
        .says("--resume");
    assert_eq!(dbs.count_dst("s"), 10);
}

#[test]
fn a_copy_failing_under_parallel_names_the_copy_not_where_its_result_is_read() {
    let mut dbs = Dbs::new("parallel_fail");
    dbs.src("CREATE TABLE a (id INT PRIMARY KEY)");
    dbs.src("INSERT INTO a SELECT seq FROM seq_1_to_20");
    dbs.src("CREATE TABLE b (id INT PRIMARY KEY)");
    dbs.src("INSERT INTO b SELECT seq FROM seq_1_to_20");
    dbs.dst("CREATE TABLE a (id INT PRIMARY KEY)");
    dbs.dst("CREATE TABLE b (id INT PRIMARY KEY)");
    // An AFTER trigger writing into a table that is not there fails every page.
    dbs.dst(
        "CREATE TRIGGER b_log AFTER INSERT ON b FOR EACH ROW INSERT INTO nowhere VALUES (NEW.id)",
    );
    let job = dbs.job(
        "rows.lua",
        "job { parallel = 2 }\n\
         local a = copy { from = 'a', page = 10 }\n\
         local b = copy { from = 'b', page = 10 }\n\
         log.info('a: %d', a.written)\n\
         log.info('b: %d', b.written)\n",
    );
    dbs.run(&job, &[])
        .status(1)
        .says("rows.lua:3: copy b: ")
        .says("nowhere")
        .never_says("rows.lua:4")
        .never_says("rows.lua:5");
    assert_eq!(dbs.count_dst("a"), 20);
    assert_eq!(dbs.count_dst("b"), 0);
}

#[test]
fn a_row_of_a_keyless_source_is_named_by_its_place_in_the_stream() {
    let mut dbs = Dbs::new("keyless_row");
    dbs.src("CREATE TABLE k (n INT, v VARCHAR(30))");
    dbs.src("INSERT INTO k SELECT seq, 'ok' FROM seq_1_to_12");
    dbs.src("UPDATE k SET v = 'too long for five' WHERE n = 7");
    dbs.dst("CREATE TABLE k (n INT, v VARCHAR(5))");
    fails_naming(
        &dbs,
        "copy { from = 'k', page = 4 }\n",
        1,
        2,
        "#7 (no key)",
        "v",
        "'too long for five'",
    );
    assert_eq!(dbs.count_dst("k"), 4);
}

/// A copy fails on a row while another runs on (`parallel`); a SIGTERM then stops the
/// run: it exits 143, and the row error is still shown, not hidden behind the stop.
#[test]
fn a_stop_by_a_signal_does_not_hide_the_error_it_met() {
    let mut dbs = Dbs::new("stop_hides");
    dbs.src("CREATE TABLE bad (id INT PRIMARY KEY, name VARCHAR(20))");
    dbs.src("INSERT INTO bad SELECT seq, IF(seq = 5, NULL, 'x') FROM seq_1_to_10");
    dbs.src("CREATE TABLE slow (id INT PRIMARY KEY)");
    dbs.src("INSERT INTO slow SELECT seq FROM seq_1_to_20000");
    dbs.dst("CREATE TABLE bad (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)");
    dbs.dst("CREATE TABLE slow (id INT PRIMARY KEY)");
    let job = dbs.job(
        "stop.lua",
        "job { parallel = 2 }\n\
         copy { from = 'bad', page = 2 }\n\
         copy { from = 'slow', page = 100, workers = 1, max_rows_per_second = 2000 }\n",
    );
    let mut run = dbs.spawn(&job, &["--no-check"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // The bulk page that fails is logged at once (the copy's error when its result is
    // collected, at the end of the script).
    while !dbs.log().contains("a bulk request failed") || dbs.count_dst("slow") < 2000 {
        assert!(!run.ended(), "the run ended early: {}", run.describe());
        assert!(std::time::Instant::now() < deadline, "{}", run.describe());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    run.signal(libc::SIGTERM);
    run.wait_within(std::time::Duration::from_secs(60))
        .status(143)
        .says("stop.lua:2: copy bad, page 3, row id=5")
        .says("stopped by SIGTERM");
}
