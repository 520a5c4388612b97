//! Many tables in one copy (`copy{tables = ...}`): the shop schema of `tests/ddl.rs`
//! (odd names, a generated column, a prefix index, a CHECK, a self-reference, a cycle of
//! foreign keys) plus order items, copied whole with `create = true` into an empty
//! target (identical definitions and rows, parents first); globs and `exclude`; a
//! missing target table without `create` and options that cannot apply to every table
//! are plan problems; a copy that fails (a bad row) or is killed in the middle resumes
//! exactly; a parallel job keeps the levels in order; `ferry verify` compares each table.

use crate::ddl::{show_create, SCHEMA};
use crate::support::*;
use mysql::prelude::Queryable;

const TABLES: &[&str] = &[
    "cust omers",
    "departments",
    "employees",
    "orders",
    "order_items",
];

/// The shop schema with rows: 40 customers (each referred by the one before), 200
/// orders, 600 order items, 3 departments managed by their employees.
fn shop(test: &str) -> Dbs {
    let mut dbs = Dbs::new(test);
    for s in SCHEMA {
        dbs.src(s);
    }
    dbs.src(
        "CREATE TABLE order_items (id INT PRIMARY KEY, order_id BIGINT NOT NULL, \
         `what's it` VARCHAR(40) NOT NULL, qty INT NOT NULL, \
         CONSTRAINT fk_order FOREIGN KEY (order_id) REFERENCES orders (id))",
    )
    .src(
        "INSERT INTO `cust omers` (id, `e-mail`, referred_by, note) \
         SELECT seq, CONCAT('c', seq, '@x.org'), NULLIF(seq - 1, 0), REPEAT('ü', seq) \
         FROM seq_1_to_40",
    )
    .src(
        "INSERT INTO orders (id, customer_id, amount, placed) \
         SELECT seq, 1 + seq % 40, seq * 1.25, '2024-01-01' + INTERVAL seq HOUR \
         FROM seq_1_to_200",
    )
    .src(
        "INSERT INTO order_items SELECT seq, 1 + seq % 200, CONCAT('thing ', seq), seq % 7 \
         FROM seq_1_to_600",
    )
    .src("INSERT INTO departments VALUES (1, NULL), (2, NULL), (3, NULL)")
    .src("INSERT INTO employees SELECT seq, 1 + seq % 3 FROM seq_1_to_12")
    .src("UPDATE departments SET manager_id = id + 3")
    .src("CREATE VIEW big_orders AS SELECT id FROM orders WHERE amount > 100");
    dbs
}

fn same_rows(dbs: &mut Dbs, table: &str) {
    let quoted = format!("`{table}`");
    assert_eq!(
        dbs.dump_dst(&quoted, "id"),
        dbs.dump_src(&quoted, "id"),
        "rows of {table}"
    );
}

fn target_tables(dbs: &mut Dbs) -> Vec<String> {
    dbs.dst
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
             AND TABLE_NAME NOT LIKE '\\_ferry%' ORDER BY 1",
            (dbs.dst_db.clone(),),
        )
        .unwrap()
}

#[test]
fn a_whole_database_is_created_and_copied_parents_first() {
    let mut dbs = shop("many_whole");
    let job = dbs.job(
        "clone.lua",
        "local s = copy { tables = '*', create = true, page = 50 }\n\
         log.info('all: %d read, %d written, orders %d', s.read, s.written, s.tables.orders.written)\n",
    );
    let dry = dbs.run(&job, &["--dry-run"]).ok();
    let listing = dry.stdout.clone();
    assert!(
        listing.contains("copy of 5 tables (")
            && listing.contains("clone.lua:1), in 3 levels, parents first:"),
        "{listing}"
    );
    // Parents first: customers and departments, then what references them.
    let at = |t: &str| {
        listing
            .find(&format!(". {t} "))
            .unwrap_or_else(|| panic!("{t}: {listing}"))
    };
    assert!(at("cust omers") < at("orders") && at("orders") < at("order_items"));
    assert!(at("departments") < at("employees"));
    assert!(listing.contains("level 2, ~"), "{listing}");
    assert!(
        listing.contains("created from the source's definition"),
        "{listing}"
    );
    assert!(listing.contains("foreign keys added after the data: cust omers.fk_referrer, departments.fk_manager, employees.fk_dept, order_items.fk_order, orders.fk_customer"), "{listing}");
    assert!(listing.contains("not copied: VIEW big_orders"), "{listing}");
    assert!(listing.contains("plan OK: 5 copies"), "{listing}");
    assert!(
        target_tables(&mut dbs).is_empty(),
        "a dry run created tables"
    );

    dbs.run(&job, &[]).ok();
    assert_eq!(target_tables(&mut dbs), TABLES);
    for t in TABLES {
        assert_eq!(
            show_create(&mut dbs.dst, t),
            show_create(&mut dbs.src, t),
            "{t}"
        );
        same_rows(&mut dbs, t);
    }
    assert!(
        dbs.log().contains("all: 855 read, 855 written, orders 200"),
        "{}",
        dbs.log()
    );
    // The view is listed, not made.
    assert!(
        dbs.log().contains("VIEW big_orders is not copied"),
        "{}",
        dbs.log()
    );
    let views: Vec<String> = dbs
        .dst
        .exec(
            "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?",
            (dbs.dst_db.clone(),),
        )
        .unwrap();
    assert!(views.is_empty());

    // ferry verify compares every table of the copy.
    dbs.verify(&job, &[]).ok().says("order_items");
    dbs.src("UPDATE employees SET department_id = 2 WHERE id = 12");
    dbs.verify(&job, &[])
        .status(1)
        .says("employees: 12 rows")
        .says("orders: 200 rows in 1 chunk: equal");
    dbs.src("UPDATE employees SET department_id = 1 WHERE id = 12");

    // Again: the tables are there; insert mode adds nothing and the keys stay as they are.
    dbs.run(&job, &[]).ok();
    assert!(
        dbs.log().contains("all: 855 read, 0 written"),
        "{}",
        dbs.log()
    );
    for t in TABLES {
        assert_eq!(show_create(&mut dbs.dst, t), show_create(&mut dbs.src, t));
    }

    // create = "replace" drops what the target holds and makes the table again.
    dbs.dst("SET foreign_key_checks = 0")
        .dst("ALTER TABLE order_items ADD COLUMN extra INT")
        .dst("INSERT INTO order_items VALUES (9999, 1, 'stray', 1, 1)");
    dbs.run_code("copy { tables = 'order_*', create = 'replace' }\n", &[])
        .ok();
    assert_eq!(
        show_create(&mut dbs.dst, "order_items"),
        show_create(&mut dbs.src, "order_items")
    );
    same_rows(&mut dbs, "order_items");
}

#[test]
fn globs_and_exclude_choose_the_tables_and_a_missing_target_table_is_a_problem() {
    let mut dbs = shop("many_globs");
    let orders = show_create(&mut dbs.src, "orders");
    dbs.dst("SET foreign_key_checks = 0").dst(&orders);
    // Only orders: order_items is excluded, the customers are not named.
    dbs.run_code(
        "copy { tables = {'order*'}, exclude = {'*_items'}, mode = 'upsert' }\n",
        &[],
    )
    .ok();
    same_rows(&mut dbs, "orders");
    assert_eq!(target_tables(&mut dbs), ["orders"]);

    // A target without the tables, and no create: each one named, nothing written.
    dbs.run_code("copy { tables = '*', exclude = 'orders' }\n", &[])
        .status(2)
        .says("copy tables *: the target database")
        .says("has no table `cust omers`: create it first, or add create = true")
        .says("has no table `order_items`")
        .says("has no table `employees`")
        .never_says("no table `orders`");
    // Unknown names, globs matching nothing, options that would apply to every table.
    dbs.run_code("copy { tables = {'ordres', 'x_*'} }\n", &[])
        .status(2)
        .says("copy tables ordres, x_*: tables names `ordres`, not a source table (did you mean `orders`?)")
        .says("tables `x_*` matches no source table");
    dbs.run_code(
        "copy { tables = '*', where = 'id > 1', map = { a = 'b' }, create = 'yes' }\n",
        &[],
    )
    .status(2)
    .says("copy tables *: copy: `where` is not allowed with `tables`")
    .says("copy: `map` is not allowed with `tables`")
    .says("copy: `create` must be true, false or \"replace\", not \"yes\"");
    // `create` on a copy of one table points to the form that does it.
    dbs.run_code("copy { from = 'order_items', create = true }\n", &[])
        .status(2)
        .says("copy: `create` needs `tables` (a copy of many tables): for one table, name it in `tables` (copy{tables = {\"order_items\"}, create = true}");
    assert_eq!(target_tables(&mut dbs), ["orders"]);
}

#[test]
fn a_copy_of_many_tables_that_fails_in_the_middle_resumes_exactly() {
    let mut dbs = shop("many_resume");
    dbs.dst("SET foreign_key_checks = 0");
    for t in TABLES {
        let create = show_create(&mut dbs.src, t);
        dbs.dst(&create);
    }
    // Orders 1-150 go in; order 151 breaks a check the target alone has; the order
    // items (the next level) never start.
    dbs.dst("ALTER TABLE orders ADD CONSTRAINT not_151 CHECK (id <> 151)");
    let job = dbs.job(
        "all.lua",
        "copy { tables = '*', page = 50, write = 'prepared' }\n",
    );
    dbs.run(&job, &[])
        .status(1)
        .says("copy orders, page 4, row id=151")
        .says("--resume");
    assert_eq!(dbs.count_dst("orders"), 150);
    assert_eq!(dbs.count_dst("order_items"), 0);
    for t in ["cust omers", "departments", "employees"] {
        same_rows(&mut dbs, t);
    }
    dbs.dst("ALTER TABLE orders DROP CONSTRAINT not_151");
    let resumed = dbs.run(&job, &["--resume"]).ok();
    // The tables done before are not read again; orders go on from page 4.
    for t in ["cust omers", "departments", "employees"] {
        assert!(
            resumed.stderr.contains(&format!(
                "copy {t}: already done by an earlier run, skipped"
            )),
            "{}",
            resumed.describe()
        );
    }
    let resumed = resumed
        .says("copy orders: resuming: 150 rows were copied by an earlier run")
        .says("copy orders: done: 50 read, 50 written")
        .says("copy order_items: done: 600 read, 600 written");
    resumed.never_says("copy order_items: resuming");
    for t in TABLES {
        same_rows(&mut dbs, t);
    }
}

/// Waits until the target's `table` exists and holds at least `rows` rows.
fn wait_for_rows(dbs: &mut Dbs, table: &str, rows: u64, run: &mut Spawned) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let exists: Option<String> = dbs
            .dst
            .exec_first(
                "SELECT TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (dbs.dst_db.clone(), table),
            )
            .unwrap();
        if exists.is_some() && dbs.count_dst(table) >= rows {
            return;
        }
        assert!(!run.ended(), "ended early\n{}", run.describe());
        assert!(std::time::Instant::now() < deadline, "{}", run.describe());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_whole_database_copy_killed_in_the_middle_resumes_exactly() {
    killed_and_resumed("true");
}

/// `create = "replace"`: the resumed run does not drop what the killed one wrote.
#[test]
fn a_replacing_copy_killed_in_the_middle_resumes_without_dropping_its_rows() {
    killed_and_resumed("'replace'");
}

fn killed_and_resumed(create: &str) {
    let mut dbs = shop(&format!("many_kill{}", create.len()));
    dbs.src(
        "INSERT INTO orders (id, customer_id, amount, placed) \
         SELECT seq, 1 + seq % 40, seq / 100, '2024-01-01' + INTERVAL seq MINUTE \
         FROM seq_201_to_20000",
    );
    let job = dbs.job(
        "clone.lua",
        &format!(
            "copy {{ tables = '*', create = {create}, page = 200, max_rows_per_second = 5000 }}\n"
        ),
    );
    let mut run = dbs.spawn(&job, &[]);
    // Killed while orders (level 1) loads: order_items (level 2) is not made yet.
    wait_for_rows(&mut dbs, "orders", 2000, &mut run);
    run.signal(libc::SIGKILL);
    let killed = run
        .wait_within(std::time::Duration::from_secs(60))
        .status(-libc::SIGKILL);
    let made = target_tables(&mut dbs);
    assert!(
        !made.contains(&"order_items".to_string()),
        "{made:?}\n{}",
        killed.describe()
    );
    let part = dbs.count_dst("orders");
    assert!(part < 20_000, "orders: {part}");
    dbs.run(&job, &["--resume"])
        .ok()
        .says("copy orders: resuming:")
        .says("copy cust omers: already done by an earlier run, skipped");
    assert_eq!(target_tables(&mut dbs), TABLES);
    for t in TABLES {
        assert_eq!(
            show_create(&mut dbs.dst, t),
            show_create(&mut dbs.src, t),
            "{t}"
        );
        same_rows(&mut dbs, t);
    }
}

#[test]
fn a_parallel_job_runs_a_levels_tables_at_once_and_levels_in_order() {
    let mut dbs = shop("many_parallel");
    let run = dbs
        .run_code(
            "job { parallel = 3 }\n\
             local s = copy { tables = '*', create = true, page = 40 }\n\
             log.info('parallel: %d written', s.written)\n",
            &[],
        )
        .ok();
    for t in TABLES {
        assert_eq!(
            show_create(&mut dbs.dst, t),
            show_create(&mut dbs.src, t),
            "{t}"
        );
        same_rows(&mut dbs, t);
    }
    assert!(
        dbs.log().contains("parallel: 855 written"),
        "{}",
        run.describe()
    );
    // Every table in the summary, the last level last.
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains(" insert "))
        .collect();
    assert_eq!(lines.len(), 5, "{}", run.describe());
    assert!(lines[4].starts_with("order_items "), "{}", run.describe());
}

#[test]
fn a_table_given_options_of_its_own_is_copied_with_them() {
    let mut dbs = shop("many_own");
    let job = dbs.job(
        "own.lua",
        "local s = copy {\n\
           tables = {\n\
             '*',\n\
             orders = { where = 'id <= 100', map = { amount = function(r) return r.amount * 2 end } },\n\
             ['cust omers'] = { transform = function(r) r.note = 'hidden'; return r end, page = 7 },\n\
           },\n\
           exclude = 'order_items',\n\
           create = true,\n\
         }\n\
         log.info('own: orders %d, customers %d', s.tables.orders.written, s.tables['cust omers'].written)\n",
    );
    dbs.run(&job, &["--dry-run"])
        .ok()
        .says("where id <= 100")
        .says("page 7");
    dbs.run(&job, &[]).ok();
    assert!(
        dbs.log().contains("own: orders 100, customers 40"),
        "{}",
        dbs.log()
    );
    let doubled: Vec<(i64, String, i64)> = dbs
        .dst
        .query("SELECT id, amount, cents FROM orders WHERE id IN (1, 100) ORDER BY id")
        .unwrap();
    assert_eq!(
        doubled,
        [(1, "2.50".into(), 250), (100, "250.00".into(), 25000)]
    );
    let notes: Vec<String> = dbs
        .dst
        .query("SELECT DISTINCT note FROM `cust omers`")
        .unwrap();
    assert_eq!(notes, ["hidden"]);
    for t in ["departments", "employees"] {
        same_rows(&mut dbs, t);
    }
    for t in ["cust omers", "orders", "departments", "employees"] {
        assert_eq!(
            show_create(&mut dbs.dst, t),
            show_create(&mut dbs.src, t),
            "{t}"
        );
    }
    // Options a table cannot take alone, and a table both given options and excluded.
    dbs.run_code(
        "copy { tables = { '*', orders = { from = 'x', wher = 'id > 1' } }, exclude = 'orders' }\n",
        &[],
    )
    .status(2)
    .says("tables.orders: `from` cannot be one table's option")
    .says("tables.orders: copy: unknown option `wher` (did you mean `where`?)");
    dbs.run_code(
        "copy { tables = { '*', orders = { mode = 'upsert' } }, exclude = 'order?' }\n",
        &[],
    )
    .status(2)
    .says("`orders` is named in tables and left out by exclude `order?`");
}

#[test]
fn a_cycle_of_not_null_foreign_keys_loads_with_the_keys_added_after() {
    let mut dbs = Dbs::new("many_cycle");
    dbs.src("SET foreign_key_checks = 0")
        .src("CREATE TABLE `a``b` (id INT PRIMARY KEY, c_id INT NOT NULL, KEY (c_id))")
        .src(
            "CREATE TABLE c (id INT PRIMARY KEY, ab_id INT NOT NULL, \
             CONSTRAINT to_ab FOREIGN KEY (ab_id) REFERENCES `a``b` (id))",
        )
        .src("ALTER TABLE `a``b` ADD CONSTRAINT to_c FOREIGN KEY (c_id) REFERENCES c (id)")
        .src("INSERT INTO `a``b` SELECT seq, 31 - seq FROM seq_1_to_30")
        .src("INSERT INTO c SELECT seq, seq FROM seq_1_to_30")
        .src("SET foreign_key_checks = 1");
    let job = dbs.job(
        "cycle.lua",
        "copy { tables = '*', create = true, page = 4 }\n",
    );
    dbs.run(&job, &["--dry-run"])
        .ok()
        .says("cycle of NOT NULL foreign keys, loaded together: a`b, c")
        .says("foreign keys added after the data: a`b.to_c, c.to_ab");
    dbs.run(&job, &[]).ok();
    for t in ["a`b", "c"] {
        let quoted = format!("`{}`", t.replace('`', "``"));
        assert_eq!(
            show_create(&mut dbs.dst, t),
            show_create(&mut dbs.src, t),
            "{t}"
        );
        assert_eq!(dbs.dump_dst(&quoted, "id"), dbs.dump_src(&quoted, "id"));
    }
}
