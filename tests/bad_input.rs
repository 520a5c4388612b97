//! Bad input: each with SPEC.md's exit status, a message that names what is wrong, and
//! a target left as it was.

use mysql::prelude::Queryable;

use crate::support::*;

fn setup(name: &str) -> Dbs {
    let mut dbs = Dbs::new(name);
    dbs.src("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, email VARCHAR(100))");
    dbs.src("INSERT INTO customers SELECT seq, CONCAT('name', seq), CONCAT('e', seq, '@x.org') FROM seq_1_to_300");
    dbs.dst("CREATE TABLE clients (id INT PRIMARY KEY, full_name VARCHAR(50) NOT NULL, email VARCHAR(100), status VARCHAR(10) NOT NULL)");
    dbs.dst("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, email VARCHAR(100))");
    dbs.dst("INSERT INTO clients VALUES (1000, 'existing', NULL, 'x')");
    dbs
}

fn untouched(dbs: &mut Dbs) {
    assert_eq!(dbs.count_dst("clients"), 1, "clients must be as it was");
    assert_eq!(dbs.count_dst("customers"), 0, "customers must be as it was");
}

#[test]
fn lua_syntax_error_names_file_and_line() {
    let mut dbs = setup("syntax");
    let job = dbs.job("broken.lua", "copy 'customers'\n\nlocal x = = 1\n");
    dbs.run(&job, &[]).status(2).says("broken.lua:3:");
    untouched(&mut dbs);
}

#[test]
fn lua_runtime_error_names_file_and_line() {
    let mut dbs = setup("runtime");
    let job = dbs.job("oops.lua", "copy 'customers'\nlocal t = nil\nprint(t.x)\n");
    dbs.run(&job, &[]).status(2).says("oops.lua:3:");
    untouched(&mut dbs);
}

#[test]
fn unknown_table_is_a_plan_error() {
    let mut dbs = setup("unknown_table");
    dbs.run_code("copy { from = 'custmers', to = 'clients' }", &[])
        .status(2)
        .says("unknown source table `custmers`")
        .says("did you mean `customers`?");
    dbs.run_code("copy { from = 'customers', to = 'klients' }", &[])
        .status(2)
        .says("unknown target table `klients`");
    untouched(&mut dbs);
}

#[test]
fn unknown_column_in_map_is_a_plan_error() {
    let mut dbs = setup("unknown_column");
    dbs.run_code(
        "copy { from = 'customers', to = 'clients', map = map { full_name = 'nmae' }, default = default { status = 'a' } }",
        &[],
    )
    .status(2)
    .says("`full_name` <- `nmae`")
    .says("did you mean `name`?");
    dbs.run_code(
        "copy { from = 'customers', to = 'clients', map = map { full_name = 'name', nope = 'email' }, default = default { status = 'a' } }",
        &[],
    )
    .status(2)
    .says("map names target column `nope`");
    untouched(&mut dbs);
}

#[test]
fn unmapped_not_null_column_without_default() {
    let mut dbs = setup("unmapped");
    dbs.run_code(
        "copy { from = 'customers', to = 'clients', map = map { full_name = 'name' } }",
        &[],
    )
    .status(2)
    .says("target column `status`")
    .says("NOT NULL, has no default, and nothing maps it");
    untouched(&mut dbs);
}

#[test]
fn a_plan_error_in_a_later_copy_stops_every_copy_and_all_problems_are_listed() {
    let mut dbs = setup("second_copy");
    let job = dbs.job(
        "two.lua",
        "copy 'customers'\n\
         copy { from = 'customers', to = 'clients', mode = 'replace', map = map { full_name = 'name' } }\n\
         copy { from = 'missing' }\n",
    );
    dbs.run(&job, &[])
        .status(2)
        .says("two.lua:2: copy customers -> clients: copy: unknown mode `replace`")
        .says("two.lua:3: copy missing: unknown source table `missing`")
        .says("nothing was written");
    untouched(&mut dbs);
}

#[test]
fn wrong_password_is_not_echoed() {
    let mut dbs = setup("password");
    let bad = dbs.dst_url.replacen("root@", "root:s3cr3t-pw@", 1);
    let job = dbs.job("j.lua", "copy 'customers'");
    let run = ferry(
        &[
            "run",
            job.to_str().unwrap(),
            "--source",
            &dbs.src_url,
            "--target",
            &bad,
            "--log",
            dbs.log_path().to_str().unwrap(),
        ],
        dbs.dir.path(),
    );
    run.status(1)
        .says("Access denied")
        .says("root:***@")
        .never_says("s3cr3t-pw");
    assert!(!dbs.log().contains("s3cr3t-pw"));
    untouched(&mut dbs);
}

#[test]
fn unreachable_host() {
    let mut dbs = setup("unreachable");
    // A port nothing listens on (bound and released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let job = dbs.job(
        "j.lua",
        &format!("source 'mysql://app:pw123@127.0.0.1:{port}/legacy'\ncopy 'customers'\n"),
    );
    let run = ferry(
        &[
            "run",
            job.to_str().unwrap(),
            "--target",
            &dbs.dst_url,
            "--log",
            dbs.log_path().to_str().unwrap(),
        ],
        dbs.dir.path(),
    );
    run.status(1)
        .says(&format!(
            "cannot connect to mysql://app:***@127.0.0.1:{port}/legacy"
        ))
        .says("refused")
        .never_says("pw123");
    untouched(&mut dbs);
}

#[test]
fn a_transform_that_raises_names_the_row_key_and_writes_nothing() {
    let mut dbs = setup("raises");
    dbs.run_code(
        "copy { from = 'customers', transform = function(r)\n  if r.id == 7 then error('bad row ' .. r.name) end\n  return r\nend }",
        &[],
    )
    .status(1)
    .says("row id=7")
    .says("bad row name7");
    untouched(&mut dbs);
}

#[test]
fn a_transform_that_raises_late_keeps_only_whole_committed_pages() {
    let mut dbs = setup("raises_late");
    dbs.run_code(
        "copy { from = 'customers', page = 50, transform = function(r)\n  if r.id == 230 then error('no ' .. r.id) end\n  return r\nend }",
        &[],
    )
    .status(1)
    .says("page 5, row id=230")
    .says("no 230");
    // Pages 1-4 (rows 1-200) are committed; page 5 (201-250) was rolled back.
    assert_eq!(dbs.count_dst("customers"), 200);
}

#[test]
fn insert_mode_fails_on_truncation_instead_of_hiding_it() {
    let mut dbs = Dbs::new("truncation");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))");
    dbs.src("INSERT INTO t VALUES (1, 'ok'), (2, 'much too long'), (3, 'ok')");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(5))");
    dbs.dst("INSERT INTO t VALUES (1, 'ok')");
    for mode in ["insert", "overwrite", "upsert"] {
        dbs.run_code(
            &format!("copy {{ from = 't', mode = '{mode}' }}"),
            &["--no-check"],
        )
        .status(1)
        .says("row id=2")
        .says("'v'");
        assert_eq!(dbs.count_dst("t"), 1, "mode {mode}");
    }
}

#[test]
fn bad_options_are_reported_together() {
    let mut dbs = setup("options");
    dbs.run_code(
        "copy { from = 'customers', trasform = function(r) return r end, page = 0 }",
        &[],
    )
    .status(2)
    .says("unknown option `trasform` (did you mean `transform`?)")
    .says("`page` must be a whole number of rows >= 1");
    untouched(&mut dbs);
}

#[test]
fn bad_flags_exit_2() {
    let dbs = Dbs::new("flags");
    ferry(&["run"], dbs.dir.path()).status(2);
    ferry(&["run", "x.lua", "--var", "novalue"], dbs.dir.path())
        .status(2)
        .says("--var expects KEY=VALUE");
    ferry(
        &["run", "x.lua", "--source", "postgres://a:b@c/d"],
        dbs.dir.path(),
    )
    .status(2)
    .never_says(":b@");
    // Issue 13: a missing job file is the job being wrong, exit 2.
    ferry(&["run", "does-not-exist.lua"], dbs.dir.path())
        .status(2)
        .says("does-not-exist.lua");
}

#[test]
fn a_where_that_is_not_one_predicate_is_a_plan_error() {
    let mut dbs = setup("where_escapes");
    for (bad, says) in [
        ("id > 3) OR (1 = 1", "closes a parenthesis it did not open"),
        ("id > 3; DELETE FROM customers", "statement separator `;`"),
        ("id > 3 -- ", "comment"),
        ("id > 3 # all", "comment"),
        ("id > 3 /* x */", "comment"),
        ("(id > 3", "opens a parenthesis it never closes"),
        ("name = 'x", "string literal it never closes"),
        ("id > ?", "placeholder `?`"),
    ] {
        let job = dbs.job(
            "where.lua",
            &format!("copy 'customers'\ncopy {{ from = 'customers', where = {bad:?} }}\n"),
        );
        dbs.run(&job, &[])
            .status(2)
            .says("where.lua:2: copy customers: `where` must be one predicate")
            .says(says)
            .says("nothing was written");
        untouched(&mut dbs);
    }
    // The offending part is named.
    dbs.run_code(
        "copy { from = 'customers', where = 'id > 3) OR (1 = 1' }",
        &[],
    )
    .status(2)
    .says("at `) OR (1 = 1`");
    untouched(&mut dbs);
}

#[test]
fn a_where_with_brackets_separators_and_dashes_inside_strings_is_one_predicate() {
    let mut dbs = Dbs::new("where_strings");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(50), `odd)col` INT)");
    dbs.src(
        r#"INSERT INTO t VALUES (1, 'a;b)', 1), (2, 'x -- y', 2), (3, 'it''s', 3), (4, 'q"(', 4), (5, 'plain', 5), (6, 'n\\b', 6)"#,
    );
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(50), `odd)col` INT)");
    let job = dbs.job(
        "strings.lua",
        r#"copy { from = 't', page = 1, where = [[name IN ('a;b)', 'x -- y', 'it\'s', "q""(", 'n\\b') AND `odd)col` < 7 AND '#' = '#' AND '/*' <> '*/']] }"#,
    );
    dbs.run(&job, &[]).ok();
    let ids: Vec<i64> = dbs
        .dump_dst("t", "id")
        .into_iter()
        .map(|r| mysql::from_value(r[0].clone()))
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 6]);
}

fn with_triggers(name: &str) -> Dbs {
    let mut dbs = Dbs::new(name);
    dbs.src("CREATE TABLE pay (id INT PRIMARY KEY, paid DATETIME NOT NULL, amount INT)");
    dbs.src("INSERT INTO pay SELECT seq, '2005-05-25 11:30:37', seq FROM seq_1_to_50");
    dbs.dst("CREATE TABLE pay (id INT PRIMARY KEY, paid DATETIME NOT NULL, amount INT)");
    dbs.dst("CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, pay_id INT, what VARCHAR(10))");
    dbs
}

fn rewritten_dates(dbs: &mut Dbs) -> u64 {
    dbs.dst
        .query_first::<u64, _>("SELECT COUNT(*) FROM pay WHERE paid <> '2005-05-25 11:30:37'")
        .unwrap()
        .unwrap()
}

#[test]
fn a_target_with_before_triggers_is_a_plan_error_unless_accepted() {
    let mut dbs = with_triggers("before_triggers");
    dbs.dst("CREATE TRIGGER pay_now BEFORE INSERT ON pay FOR EACH ROW SET NEW.paid = NOW()");
    for mode in ["insert", "overwrite", "upsert"] {
        let job = dbs.job(
            "trig.lua",
            &format!("copy {{ from = 'pay', mode = '{mode}' }}\n"),
        );
        dbs.run(&job, &[])
            .status(2)
            .says("trig.lua:1: copy pay: target table")
            .says("`pay_now` (BEFORE INSERT)")
            .says("accept = {\"triggers\"}")
            .says("nothing was written");
        assert_eq!(dbs.count_dst("pay"), 0, "mode {mode}");
    }
    // Accepted: the copy runs, and the trigger does what it does.
    dbs.run_code("copy { from = 'pay', accept = {'triggers'} }", &[])
        .ok();
    assert_eq!(dbs.count_dst("pay"), 50);
    assert_eq!(rewritten_dates(&mut dbs), 50);
    assert!(
        dbs.log().contains("`pay_now` (BEFORE INSERT)"),
        "the accepted trigger is logged:\n{}",
        dbs.log()
    );
}

#[test]
fn a_before_update_trigger_stops_upsert_only() {
    let mut dbs = with_triggers("before_update");
    dbs.dst("CREATE TRIGGER pay_touch BEFORE UPDATE ON pay FOR EACH ROW SET NEW.paid = NOW()");
    dbs.run_code("copy { from = 'pay', mode = 'upsert' }", &[])
        .status(2)
        .says("`pay_touch` (BEFORE UPDATE)");
    assert_eq!(dbs.count_dst("pay"), 0);
    // INSERT IGNORE and REPLACE never update a row: the trigger does not fire.
    dbs.run_code("copy { from = 'pay' }", &[])
        .ok()
        .never_says("pay_touch");
    dbs.run_code("copy { from = 'pay', mode = 'overwrite' }", &[])
        .ok()
        .never_says("pay_touch");
    assert_eq!(dbs.count_dst("pay"), 50);
    assert_eq!(rewritten_dates(&mut dbs), 0);
}

#[test]
fn after_triggers_are_named_in_the_plan_and_the_log_and_the_copy_runs() {
    let mut dbs = with_triggers("after_triggers");
    dbs.dst("CREATE TRIGGER pay_audit AFTER INSERT ON pay FOR EACH ROW INSERT INTO audit (pay_id, what) VALUES (NEW.id, 'insert')");
    dbs.dst("CREATE TRIGGER pay_gone AFTER DELETE ON pay FOR EACH ROW INSERT INTO audit (pay_id, what) VALUES (OLD.id, 'delete')");
    let job = dbs.job("after.lua", "copy { from = 'pay', mode = 'overwrite' }\n");
    dbs.run(&job, &["--dry-run"])
        .ok()
        .says("warning: target table")
        .says("`pay_audit` (AFTER INSERT)")
        .says("`pay_gone` (AFTER DELETE)");
    assert_eq!(dbs.count_dst("pay"), 0, "a dry run writes nothing");
    dbs.run(&job, &[]).ok();
    assert_eq!(dbs.count_dst("pay"), 50);
    assert_eq!(rewritten_dates(&mut dbs), 0);
    assert_eq!(dbs.count_dst("audit"), 50);
    let log = dbs.log();
    assert!(
        log.contains("WARN") && log.contains("`pay_audit` (AFTER INSERT)"),
        "the log names the trigger:\n{log}"
    );
    // Insert mode: the DELETE trigger cannot fire and is not named.
    dbs.run_code("copy { from = 'pay' }", &["--dry-run"])
        .ok()
        .says("`pay_audit` (AFTER INSERT)")
        .never_says("pay_gone");
}
