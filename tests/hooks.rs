//! Hooks and checks (`before`, `after`, `check` on a copy and on `job{}`): the order
//! they run in, SQL and Lua hooks, checks that pass and fail (exit 1, naming the copy,
//! its line and the query), bad options (exit 2, "did you mean", nothing written), a
//! dry run that lists them and runs none, and `--resume`, which never runs a copy's or
//! the job's `before` again once pages are committed.

use crate::support::*;
use mysql::prelude::Queryable;

fn setup(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2) NOT NULL)");
    dbs.src("INSERT INTO orders VALUES (1, 1.50), (2, 2.50), (3, 3.50), (4, 4.50), (5, 5.50), (6, 6.50)");
    dbs.dst("CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2) NOT NULL, note VARCHAR(10) NULL)");
    dbs.dst("CREATE TABLE audit (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40) NOT NULL)");
}

fn audit(dbs: &mut Dbs) -> Vec<String> {
    dbs.dst.query("SELECT what FROM audit ORDER BY n").unwrap()
}

const HOOKED: &str = r#"
job {
  before = "INSERT INTO audit (what) VALUES ('job before')",
  after = { "INSERT INTO audit (what) VALUES ('job after')",
            function() log.info("job after function") end },
  check = "SELECT COUNT(*) = 6 FROM orders",
}
copy {
  from = "orders",
  before = { "DELETE FROM orders", "INSERT INTO audit (what) VALUES ('copy before')" },
  after = function(stats)
    target():exec("INSERT INTO audit (what) VALUES (?)", "copy after " .. stats.written)
  end,
  check = {
    "SELECT SUM(total) = 24.00 FROM orders",
    { sql = "SELECT id FROM orders WHERE total <= 0", expect = "no rows" },
  },
}
"#;

#[test]
fn hooks_run_in_order_on_the_target_and_a_dry_run_lists_them() {
    let mut dbs = Dbs::new("hooks");
    setup(&mut dbs);
    dbs.dst("INSERT INTO orders VALUES (99, 9.99, 'stale')");
    let job = dbs.job("hooked.lua", HOOKED);

    let dry = dbs.run(&job, &["--dry-run"]).ok();
    for line in [
        "job (hooks not run in a dry run)",
        "  before: INSERT INTO audit (what) VALUES ('job before')",
        "  after: function at ",
        "  check: SELECT COUNT(*) = 6 FROM orders (expect true)",
        "  before: DELETE FROM orders",
        "  check: SELECT id FROM orders WHERE total <= 0 (expect no rows)",
    ] {
        assert!(dry.stdout.contains(line), "{line:?}\n{}", dry.describe());
    }
    assert!(audit(&mut dbs).is_empty(), "a dry run runs no hook");
    assert_eq!(dbs.count_dst("orders"), 1);

    dbs.run(&job, &[]).ok().says("job after function");
    assert_eq!(
        audit(&mut dbs),
        vec!["job before", "copy before", "copy after 6", "job after"]
    );
    let ids: Vec<i32> = dbs.dst.query("SELECT id FROM orders ORDER BY id").unwrap();
    assert_eq!(
        ids,
        vec![1, 2, 3, 4, 5, 6],
        "the copy's before emptied the table"
    );

    // `ferry verify` compares; it runs no hook.
    dbs.verify(&job, &[]).ok();
    assert_eq!(audit(&mut dbs).len(), 4);
}

#[test]
fn a_failed_check_fails_the_run_naming_the_copy_its_line_and_the_query() {
    let mut dbs = Dbs::new("hooks_check");
    setup(&mut dbs);
    dbs.src("INSERT INTO orders VALUES (7, -1.00)");
    let run = dbs
        .run_code(
            r#"job { after = "INSERT INTO audit (what) VALUES ('job after')" }
copy {
  from = "orders",
  check = { sql = "SELECT id, total FROM orders WHERE total <= 0", expect = "no rows" },
}
"#,
            &[],
        )
        .status(1);
    let err = run.stderr.clone();
    let run_out = run.stdout.clone();
    run.says(":2: copy orders: check failed: `SELECT id, total FROM orders WHERE total <= 0` returned 1 row: (id=7, total='-1.00'), expected no rows");
    assert_eq!(dbs.count_dst("orders"), 7, "{err}");
    assert!(
        run_out.contains("orders  insert  check failed     7        7"),
        "{run_out}"
    );
    assert!(
        audit(&mut dbs).is_empty(),
        "the job's after waits for every check"
    );

    dbs.run_code(
        "copy { 'orders', check = 'SELECT COUNT(*) FROM orders WHERE id > 100' }",
        &[],
    )
    .status(1)
    .says(":1: copy orders: check failed: `SELECT COUNT(*) FROM orders WHERE id > 100` returned 0, expected a true first column (not NULL, not 0)");
    dbs.run_code(
        "copy { 'orders', check = 'SELECT MAX(id) FROM orders WHERE id > 100' }",
        &[],
    )
    .status(1)
    .says("returned NULL, expected a true first column");
    dbs.run_code(
        "job { check = 'SELECT 1 FROM orders WHERE id > 100' }\ncopy 'orders'",
        &[],
    )
    .status(1)
    .says(":1: job: check failed: `SELECT 1 FROM orders WHERE id > 100` returned no row");
}

#[test]
fn bad_hook_options_are_refused_before_anything_is_written() {
    let mut dbs = Dbs::new("hooks_bad");
    setup(&mut dbs);
    dbs.run_code("job { aftr = 'SELECT 1' }\ncopy 'orders'", &[])
        .status(2)
        .says(":1: job: unknown option `aftr` (did you mean `after`?)");
    let run = dbs
        .run_code(
            r#"copy { from = "orders", befor = "DELETE FROM orders" }
copy { from = "orders", before = 5, after = "", check = { sql = "SELECT 1", expct = "no rows" } }
copy { from = "orders", check = { sql = "SELECT 1", expect = "none" } }
copy { from = "orders", check = { expect = "no rows" } }
"#,
            &[],
        )
        .status(2);
    for text in [
        ":1: copy orders: copy: unknown option `befor` (did you mean `before`?)",
        "copy: `before` must be SQL (a string), a function or a list of them, not 5",
        "copy: `after` must be SQL (a string), a function or a list of them, not an empty string",
        "check: unknown option `expct` (did you mean `expect`?)",
        "check: unknown expect `none` (use \"true\" or \"no rows\")",
        "check: `sql` (the query) is missing",
    ] {
        assert!(
            run.stderr.contains(text) || run.stdout.contains(text),
            "{text:?}\n{}",
            run.describe()
        );
    }
    assert_eq!(dbs.count_dst("orders"), 0);

    // SQL that does not parse is found in the plan pass (prepared, not run), before
    // the first copy writes; a table an earlier hook creates need not exist yet.
    let run = dbs
        .run_code(
            r#"job { after = "INSRT INTO audit (what) VALUES ('x')" }
copy { from = "orders", before = { "CREATE TABLE made (a INT)", "INSERT INTO made VALUES (1)" } }
copy { from = "orders", to = "audit", before = "DELET FROM audit", check = "SELEC 1" }
"#,
            &[],
        )
        .status(2);
    for text in [
        ":1: job: after hook `INSRT INTO audit (what) VALUES ('x')`: ERROR 1064 (42000)",
        ":3: copy orders -> audit: before hook `DELET FROM audit`: ERROR 1064 (42000)",
        ":3: copy orders -> audit: check `SELEC 1`: ERROR 1064 (42000)",
    ] {
        assert!(run.stderr.contains(text), "{text:?}\n{}", run.describe());
    }
    assert!(!run.stderr.contains("made"), "{}", run.describe());
    assert_eq!(dbs.count_dst("orders"), 0);
    let made: Vec<String> = dbs.dst.query("SHOW TABLES LIKE 'made'").unwrap();
    assert!(made.is_empty(), "the plan pass runs no hook");
}

#[test]
fn a_failing_hook_names_the_copy_and_the_statement() {
    let mut dbs = Dbs::new("hooks_fail");
    setup(&mut dbs);
    dbs.run_code(
        "copy { from = 'orders', before = 'DELETE FROM no_such_table' }",
        &[],
    )
    .status(1)
    .says(":1: copy orders: target ")
    .says("running the before hook `DELETE FROM no_such_table`")
    .says("1146");
    assert_eq!(dbs.count_dst("orders"), 0, "a failed before stops the copy");
    dbs.run_code(
        "job { before = 'UPDATE no_such_table SET a = 1' }\ncopy 'orders'",
        &[],
    )
    .status(1)
    .says(":1: job: target ")
    .says("running the before hook `UPDATE no_such_table SET a = 1`");
    assert_eq!(
        dbs.count_dst("orders"),
        0,
        "a failed job before stops the job"
    );
    dbs.run_code(
        "copy { from = 'orders', after = function() error('after went wrong') end }",
        &[],
    )
    .status(2)
    .says(":1: copy orders: ")
    .says("after went wrong");
    assert_eq!(dbs.count_dst("orders"), 6);
}

/// A copy fails on its third page; `--resume` continues it without running its (or the
/// job's) `before` again, which would wipe the committed pages; its checks run at its
/// end, and a check that failed is asked again on the next `--resume`.
#[test]
fn resume_never_runs_before_again_and_asks_a_failed_check_again() {
    let mut dbs = Dbs::new("hooks_resume");
    setup(&mut dbs);
    let job = dbs.job(
        "resume.lua",
        r#"
job { before = "INSERT INTO audit (what) VALUES ('job before')" }
copy {
  from = "orders", page = 2,
  before = { "DELETE FROM orders", "INSERT INTO audit (what) VALUES ('copy before')" },
  after = "INSERT INTO audit (what) VALUES ('copy after')",
  check = { sql = "SELECT id FROM orders WHERE note IS NULL", expect = "no rows" },
  transform = function(r)
    if vars.fail == "yes" and r.id == 5 then error("row 5 fails") end
    r.note = vars.note or null
    return r
  end,
}
"#,
    );
    dbs.run(&job, &["--var", "fail=yes", "--var", "note=a"])
        .status(1)
        .says("row 5 fails");
    assert_eq!(dbs.count_dst("orders"), 4, "two pages committed");
    assert_eq!(audit(&mut dbs), vec!["job before", "copy before"]);

    // Resumed without `note`: the committed pages stay, the check fails on the rest.
    dbs.run(&job, &["--resume"])
        .status(1)
        .says("its before hooks do not run again")
        .says("check failed: `SELECT id FROM orders WHERE note IS NULL` returned 2 rows: (id=5), (id=6)");
    assert_eq!(dbs.count_dst("orders"), 6);
    assert_eq!(
        audit(&mut dbs),
        vec!["job before", "copy before", "copy after"]
    );

    // Fixed by hand: --resume finds the copy done and asks its check again.
    dbs.dst("UPDATE orders SET note = 'b' WHERE note IS NULL");
    dbs.run(&job, &["--resume"]).ok();
    assert_eq!(
        audit(&mut dbs),
        vec!["job before", "copy before", "copy after", "copy after"]
    );

    // A plain re-run starts over: every before runs again.
    dbs.run(&job, &["--var", "note=c"]).ok();
    let notes: Vec<String> = dbs.dst.query("SELECT DISTINCT note FROM orders").unwrap();
    assert_eq!(notes, vec!["c"]);
    assert_eq!(audit(&mut dbs).len(), 7);
}

#[test]
fn parallel_copies_run_their_after_hooks_when_they_end() {
    let mut dbs = Dbs::new("hooks_parallel");
    setup(&mut dbs);
    dbs.src("CREATE TABLE items (id INT PRIMARY KEY)");
    dbs.src("INSERT INTO items VALUES (1), (2)");
    dbs.dst("CREATE TABLE items (id INT PRIMARY KEY)");
    dbs.run_code(
        r#"job { parallel = 2, after = "INSERT INTO audit (what) VALUES ('job after')" }
local a = copy { from = "orders", after = "INSERT INTO audit (what) VALUES ('orders after')" }
copy { from = "items", check = "SELECT COUNT(*) = 3 FROM items" }
"#,
        &[],
    )
    .status(1)
    .says(":3: copy items: check failed: `SELECT COUNT(*) = 3 FROM items` returned 0");
    let rows = audit(&mut dbs);
    assert_eq!(
        rows,
        vec!["orders after"],
        "the job's after waits for every check"
    );
}
