//! Subsets for test environments (`sample{}`), on the shop schema of `tests/ddl.rs`
//! (odd names, a self-reference, a cycle of foreign keys) plus products and order
//! items (three levels of foreign keys), orders dated relative to NOW(): a 30-day
//! subset is exactly the rows a hand-written SQL closure names (recursive over the
//! self-reference), every foreign key resolves on the target, `children` adds exactly
//! the child rows, a cycle closes at its fixed point, `limit` and `percent` choose what
//! they say, `--dry-run` shows the closure's counts and writes nothing, masked columns
//! never hold a source value (the same salt gives the same output), and a sample killed
//! in the middle resumes exactly the rows the first run chose, though the source moved.

use crate::ddl::SCHEMA;
use crate::support::*;
use mysql::prelude::Queryable;

/// The shop with dates relative to NOW(): 40 customers in referral chains of five
/// (1 <- 2 <- ... <- 5, 6 <- 7 ...), 200 orders placed 1..200 days ago, 10 products,
/// 600 order items, 3 departments managed by employees of other departments.
fn shop(test: &str) -> Dbs {
    let mut dbs = Dbs::new(test);
    for s in SCHEMA {
        dbs.src(s);
    }
    dbs.src("CREATE TABLE products (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)")
        .src(
            "CREATE TABLE order_items (id INT PRIMARY KEY, order_id BIGINT NOT NULL, \
             product_id INT NULL, `what's it` VARCHAR(40) NOT NULL, \
             CONSTRAINT fk_order FOREIGN KEY (order_id) REFERENCES orders (id), \
             CONSTRAINT fk_product FOREIGN KEY (product_id) REFERENCES products (id))",
        )
        .src(
            "INSERT INTO `cust omers` (id, `e-mail`, referred_by, note) \
             SELECT seq, CONCAT('c', seq, '@x.org'), IF(seq % 5 = 1, NULL, seq - 1), \
             CONCAT('note of ', seq) FROM seq_1_to_40",
        )
        .src(
            "INSERT INTO orders (id, customer_id, amount, placed) \
             SELECT seq, 1 + (seq * 7) % 40, seq * 1.25, NOW(6) - INTERVAL seq DAY - INTERVAL 1 HOUR \
             FROM seq_1_to_200",
        )
        .src("INSERT INTO products SELECT seq, CONCAT('product ', seq) FROM seq_1_to_10")
        .src(
            "INSERT INTO order_items SELECT seq, 1 + seq % 200, \
             IF(seq % 4 = 0, NULL, 1 + seq % 10), CONCAT('thing ', seq) FROM seq_1_to_600",
        )
        .src("INSERT INTO departments VALUES (1, NULL), (2, NULL), (3, NULL)")
        .src("INSERT INTO employees SELECT seq, 1 + seq % 3 FROM seq_1_to_12")
        .src("UPDATE departments SET manager_id = id + 3");
    dbs
}

const RECENT: &str = "placed > NOW() - INTERVAL 30 DAY";

fn ids(conn: &mut mysql::Conn, sql: &str) -> Vec<i64> {
    let mut v: Vec<i64> = conn.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    v.sort();
    v
}

/// The 30-day closure by hand, on the source: (table, ids).
fn expected(dbs: &mut Dbs, children: bool) -> Vec<(&'static str, Vec<i64>)> {
    let orders = ids(
        &mut dbs.src,
        &format!("SELECT id FROM orders WHERE {RECENT}"),
    );
    let customers = ids(
        &mut dbs.src,
        &format!(
            "WITH RECURSIVE c (id) AS (SELECT customer_id FROM orders WHERE {RECENT} \
             UNION SELECT p.referred_by FROM `cust omers` p JOIN c ON p.id = c.id \
             WHERE p.referred_by IS NOT NULL) SELECT id FROM c"
        ),
    );
    let mut all = vec![("cust omers", customers), ("orders", orders)];
    if children {
        let items_of = format!(
            "SELECT id FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE {RECENT})"
        );
        all.push(("order_items", ids(&mut dbs.src, &items_of)));
        let products = format!("SELECT DISTINCT product_id FROM order_items WHERE product_id IS NOT NULL AND id IN ({items_of})");
        all.push(("products", ids(&mut dbs.src, &products)));
    }
    all.sort();
    all
}

fn target_tables(dbs: &mut Dbs) -> Vec<String> {
    let mut names: Vec<String> = dbs
        .dst
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
             AND TABLE_NAME NOT LIKE '\\_ferry%' ORDER BY 1",
            (dbs.dst_db.clone(),),
        )
        .unwrap();
    names.sort();
    names
}

fn on_target(dbs: &mut Dbs, tables: &[(&str, Vec<i64>)]) -> Vec<(String, Vec<i64>)> {
    tables
        .iter()
        .map(|(t, _)| {
            let sql = format!("SELECT id FROM `{t}`");
            (t.to_string(), ids(&mut dbs.dst, &sql))
        })
        .collect()
}

/// Every foreign key the target's tables have, and that none has a row without its
/// parent (checked with the target's own definitions).
fn every_key_resolves(dbs: &mut Dbs) -> usize {
    type Key = (String, String, String, String);
    let keys: Vec<Key> = dbs
        .dst
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME \
             FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? \
             AND REFERENCED_TABLE_NAME IS NOT NULL",
            (dbs.dst_db.clone(),),
        )
        .unwrap();
    for (t, c, p, pc) in &keys {
        let sql = format!(
            "SELECT COUNT(*) FROM `{t}` x LEFT JOIN `{p}` y ON y.`{pc}` = x.`{c}` \
             WHERE x.`{c}` IS NOT NULL AND y.`{pc}` IS NULL"
        );
        let orphans: Option<u64> = dbs.dst.query_first(&sql).unwrap();
        assert_eq!(orphans, Some(0), "{t}.{c} -> {p}.{pc}");
    }
    keys.len()
}

const SALT: &str = "job { mask_salt = \"a salt of the sample test\" }\n";

fn masked_job(dbs: &Dbs, create: &str) -> std::path::PathBuf {
    dbs.job(
        "subset.lua",
        &format!(
            "{SALT}local s = sample {{ from = 'orders', where = \"{RECENT}\", \
               children = {{ 'order_items' }}, create = {create}, page = 7, \
               tables = {{ ['cust omers'] = {{ mask = {{ ['e-mail'] = 'hash', note = 'text' }} }} }} }}\n\
             log.info('sample: %d rows, orders %d', s.written, s.tables.orders.written)\n"
        ),
    )
}

#[test]
fn a_masked_30_day_subset_is_exact_and_referentially_complete() {
    let mut dbs = shop("sample_30");
    let want = expected(&mut dbs, true);
    assert!(want.iter().all(|(_, v)| !v.is_empty()), "{want:?}");
    let job = masked_job(&dbs, "true");
    let dry = dbs.run(&job, &["--dry-run"]).ok();
    let rows: usize = want.iter().map(|(_, v)| v.len()).sum();
    let out = dry.stdout.clone();
    assert!(
        out.contains(&format!(
            "subset.lua:2): {rows} rows in 4 tables, parents first:"
        )),
        "{out}"
    );
    for (t, v) in &want {
        let role = match *t {
            "orders" => "seed",
            "order_items" => "children",
            _ => "parent",
        };
        let line = format!(
            "{} rows ({role}), created from the source's definition",
            v.len()
        );
        assert!(
            out.lines()
                .any(|l| l.contains(&format!(" {t} ")) && l.contains(&line)),
            "{t}: {line}\n{out}"
        );
    }
    assert!(
        target_tables(&mut dbs).is_empty(),
        "a dry run writes nothing"
    );
    dbs.run(&job, &[])
        .ok()
        .says(&format!("sample: {rows} rows"));
    assert_eq!(
        target_tables(&mut dbs),
        ["cust omers", "order_items", "orders", "products"]
    );
    let got = on_target(&mut dbs, &want);
    let want_named: Vec<(String, Vec<i64>)> = want
        .iter()
        .map(|(t, v)| (t.to_string(), v.clone()))
        .collect();
    assert_eq!(got, want_named);
    // fk_referrer, fk_customer, fk_order, fk_product: added after the data, all resolve.
    assert_eq!(every_key_resolves(&mut dbs), 4);
    // Masked columns never hold a source value; the rest arrive as they were.
    let source: Vec<(i64, String, String)> = dbs
        .src
        .query("SELECT id, `e-mail`, note FROM `cust omers`")
        .unwrap();
    let target: Vec<(i64, String, String)> = dbs
        .dst
        .query("SELECT id, `e-mail`, note FROM `cust omers` ORDER BY id")
        .unwrap();
    for (id, mail, note) in &target {
        assert!(source.iter().all(|(_, m, _)| m != mail), "{id}: {mail}");
        assert!(source.iter().all(|(_, _, n)| n != note), "{id}: {note}");
    }
    let orders = "SELECT id, customer_id, amount, cents, placed FROM orders";
    let in_target = dbs
        .dst
        .query::<(i64, i64, String, i64, String), _>(format!("{orders} ORDER BY id"))
        .unwrap();
    let ids_in: Vec<String> = in_target.iter().map(|r| r.0.to_string()).collect();
    let in_source = dbs
        .src
        .query::<(i64, i64, String, i64, String), _>(format!(
            "{orders} WHERE id IN ({}) ORDER BY id",
            ids_in.join(",")
        ))
        .unwrap();
    assert_eq!(in_target, in_source);
    // The same salt gives the same output: a plain re-run replaces everything.
    let before = dbs.dump_dst("`cust omers`", "id");
    dbs.run(&masked_job(&dbs, "'replace'"), &[]).ok();
    assert_eq!(dbs.dump_dst("`cust omers`", "id"), before);
    assert_eq!(on_target(&mut dbs, &want), want_named);
}

#[test]
fn without_children_only_parents_follow_and_limit_and_percent_choose() {
    let mut dbs = shop("sample_limit");
    let job = dbs.job(
        "first.lua",
        &format!(
            "job {{ parallel = 2 }}\n\
             sample {{ from = 'orders', where = \"{RECENT}\", limit = 5, create = true }}\n"
        ),
    );
    dbs.run(&job, &[]).ok();
    assert_eq!(target_tables(&mut dbs), ["cust omers", "orders"]);
    let first = ids(
        &mut dbs.src,
        &format!("SELECT id FROM orders WHERE {RECENT} ORDER BY id LIMIT 5"),
    );
    assert_eq!(ids(&mut dbs.dst, "SELECT id FROM orders"), first);
    let mut customers = Vec::new();
    let mut next: Vec<i64> = ids(
        &mut dbs.src,
        &format!(
            "SELECT customer_id FROM orders WHERE id IN ({})",
            first
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
    );
    while let Some(c) = next.pop() {
        if !customers.contains(&c) {
            customers.push(c);
            let up: Option<Option<i64>> = dbs
                .src
                .exec_first("SELECT referred_by FROM `cust omers` WHERE id = ?", (c,))
                .unwrap();
            next.extend(up.flatten());
        }
    }
    customers.sort();
    assert_eq!(ids(&mut dbs.dst, "SELECT id FROM `cust omers`"), customers);
    every_key_resolves(&mut dbs);

    let mut dbs = shop("sample_percent");
    let job = dbs.job(
        "share.lua",
        "sample { 'order_items', percent = 10, create = true }\n",
    );
    dbs.run(&job, &[]).ok();
    let items = ids(&mut dbs.dst, "SELECT id FROM order_items");
    assert!((20..=120).contains(&items.len()), "{} items", items.len());
    assert_eq!(
        items,
        ids(
            &mut dbs.src,
            "SELECT id FROM order_items WHERE MOD(CRC32(CONCAT_WS(0x1f, id)), 100000) < 10000"
        )
    );
    assert_eq!(
        target_tables(&mut dbs),
        ["cust omers", "order_items", "orders", "products"]
    );
    every_key_resolves(&mut dbs);
}

#[test]
fn a_cycle_of_foreign_keys_closes_at_its_fixed_point() {
    let mut dbs = shop("sample_cycle");
    let job = dbs.job(
        "staff.lua",
        "sample { from = 'employees', where = 'id <= 2', create = true }\n",
    );
    let dry = dbs.run(&job, &["--dry-run"]).ok();
    assert!(
        dry.stdout.contains("staff.lua:1): 8 rows in 2 tables"),
        "{}",
        dry.stdout
    );
    dbs.run(&job, &[]).ok();
    // Employees 1, 2 -> departments 2, 3 -> managers 5, 6 -> department 1 -> manager 4.
    assert_eq!(
        ids(&mut dbs.dst, "SELECT id FROM employees"),
        [1, 2, 4, 5, 6]
    );
    assert_eq!(ids(&mut dbs.dst, "SELECT id FROM departments"), [1, 2, 3]);
    assert_eq!(every_key_resolves(&mut dbs), 2);

    // Into target tables that have the cycle's foreign keys already: then the server
    // itself checks every row when the keys are made again with its checks on.
    let mut dbs = shop("sample_cycle_keys");
    for s in &SCHEMA[2..] {
        dbs.dst(s);
    }
    let job = dbs.job(
        "staff.lua",
        "sample { from = 'employees', where = 'id <= 2' }\n",
    );
    dbs.run(&job, &[]).ok();
    assert_eq!(
        ids(&mut dbs.dst, "SELECT id FROM employees"),
        [1, 2, 4, 5, 6]
    );
    dbs.dst("SET foreign_key_checks = 1")
        .dst("ALTER TABLE employees DROP FOREIGN KEY fk_dept")
        .dst("ALTER TABLE departments DROP FOREIGN KEY fk_manager")
        .dst("ALTER TABLE employees ADD CONSTRAINT fk_dept FOREIGN KEY (department_id) REFERENCES departments (id)")
        .dst("ALTER TABLE departments ADD CONSTRAINT fk_manager FOREIGN KEY (manager_id) REFERENCES employees (id)");
    // The check is real: an employee whose department is missing fails it.
    dbs.dst("SET foreign_key_checks = 0")
        .dst("INSERT INTO employees VALUES (99, 42)")
        .dst("SET foreign_key_checks = 1");
    let refused = dbs
        .dst
        .query_drop("ALTER TABLE employees DROP FOREIGN KEY fk_dept, ADD CONSTRAINT fk_dept2 FOREIGN KEY (department_id) REFERENCES departments (id)");
    assert!(refused.is_err(), "the server accepted an orphan");
}

#[test]
fn a_bad_sample_is_a_plan_problem_and_writes_nothing() {
    let mut dbs = shop("sample_bad");
    let job = dbs.job(
        "bad.lua",
        "sample { from = 'order', children = { 'products' } }\n\
         sample { from = 'orders', children = { 'products' }, tables = { employees = { page = 5 } } }\n\
         sample { from = 'orders', where = \"placed > NOW() - INTERVAL 300 DAY\", max_keys = 50 }\n\
         sample { from = 'orders', where = 'no_such_column = 1' }\n\
         sample { from = 'orders' }\n",
    );
    dbs.run(&job, &[])
        .status(2)
        .says("bad.lua:1: copy sample order: `order` is not a source table (did you mean `orders`?)")
        .says("bad.lua:2: copy sample orders: children names `products`, which references neither `orders` nor another children table")
        .says("bad.lua:2: copy sample orders: tables.employees: `employees` is not among the sample's tables")
        .says("bad.lua:3: copy sample orders: the sample holds more than 50 keys of `orders`")
        .says("bad.lua:4: copy sample orders: choosing the sample's rows failed (check `where`)")
        .says("bad.lua:5: copy sample orders: the target has no table `orders`: create it, or add create = true");
    assert!(target_tables(&mut dbs).is_empty());
}

#[test]
fn a_sample_killed_in_the_middle_resumes_the_rows_the_first_run_chose() {
    let mut dbs = shop("sample_kill");
    dbs.src(
        "INSERT INTO orders (id, customer_id, amount, placed) \
         SELECT seq, 1 + seq % 40, seq / 100, NOW(6) - INTERVAL seq SECOND \
         FROM seq_1001_to_6000",
    );
    let want = expected(&mut dbs, false);
    let job = dbs.job(
        "subset.lua",
        &format!(
            "sample {{ from = 'orders', where = \"{RECENT}\", create = true, page = 100, \
               max_rows_per_second = 2000 }}\n"
        ),
    );
    let mut run = dbs.spawn(&job, &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let made: Option<String> = dbs
            .dst
            .exec_first(
                "SELECT TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'orders'",
                (dbs.dst_db.clone(),),
            )
            .unwrap();
        if made.is_some() && dbs.count_dst("orders") >= 500 {
            break;
        }
        assert!(!run.ended(), "ended early\n{}", run.describe());
        assert!(std::time::Instant::now() < deadline, "{}", run.describe());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    run.signal(libc::SIGKILL);
    let killed = run
        .wait_within(std::time::Duration::from_secs(60))
        .status(-libc::SIGKILL);
    let part = dbs.count_dst("orders");
    assert!(part < 5029, "orders: {part}\n{}", killed.describe());
    // The source moves: a re-chosen sample would lose 1001..1100 and gain order 40.
    dbs.src("UPDATE orders SET placed = NOW(6) - INTERVAL 40 DAY WHERE id BETWEEN 1001 AND 1100");
    dbs.src("UPDATE orders SET placed = NOW(6) WHERE id = 40");
    dbs.run(&job, &["--dry-run", "--resume"])
        .ok()
        .says("keys as the first run chose them");
    dbs.run(&job, &["--resume"])
        .ok()
        .says("copy orders: resuming:");
    let got = on_target(&mut dbs, &want);
    let want_named: Vec<(String, Vec<i64>)> = want
        .iter()
        .map(|(t, v)| (t.to_string(), v.clone()))
        .collect();
    assert_eq!(got, want_named);
    every_key_resolves(&mut dbs);
    // Every chosen row as it was (`placed` aside: the source moved it afterwards).
    let chosen: Vec<String> = want[1].1.iter().map(|i| i.to_string()).collect();
    let cols = "SELECT id, customer_id, amount, cents FROM orders";
    let in_target: Vec<(i64, i64, String, i64)> =
        dbs.dst.query(format!("{cols} ORDER BY id")).unwrap();
    let in_source: Vec<(i64, i64, String, i64)> = dbs
        .src
        .query(format!(
            "{cols} WHERE id IN ({}) ORDER BY id",
            chosen.join(",")
        ))
        .unwrap();
    assert_eq!(in_target, in_source);
    // `ferry verify` compares the rows the first run chose (order 40 is not among
    // them), and finds the 100 whose `placed` moved on the source since they were copied.
    dbs.verify(&job, &[])
        .status(1)
        .says("cust omers: 40 rows in 1 chunk: equal")
        .says("orders: 5,029 rows in 1 chunk: 100 rows differ (100 changed)")
        .never_says("id=40");
}

#[test]
fn a_target_left_incomplete_is_an_error_naming_the_key() {
    let mut dbs = shop("sample_orphan");
    let job = dbs.job(
        "subset.lua",
        &format!(
            "sample {{ from = 'orders', where = \"{RECENT}\", children = {{ 'order_items' }}, \
               create = true }}\n"
        ),
    );
    dbs.run(&job, &[]).ok();
    // An order item of an order the sample does not hold, left by something else.
    dbs.dst("SET foreign_key_checks = 0")
        .dst("INSERT INTO order_items VALUES (9999, 150, NULL, 'stale')")
        .dst("SET foreign_key_checks = 1");
    dbs.run(&job, &[]).status(1).says(
        "sample orders: the target is not referentially complete: 1 row of `order_items` \
         references a row of `orders` the target lacks (foreign key fk_order)",
    );
}

/// Keys of text in latin1 (with a quote and a non-ASCII letter), DATETIME(6), bytes
/// and DECIMAL, composite: each table's `where` selects exactly the chosen keys.
#[test]
fn keys_of_every_kind_select_exactly_their_rows() {
    let mut dbs = Dbs::new("sample_keys");
    dbs.src("CREATE TABLE tags (name VARCHAR(20) CHARACTER SET latin1 PRIMARY KEY)")
        .src("CREATE TABLE codes (code VARBINARY(8) PRIMARY KEY, price DECIMAL(8,3) NOT NULL, UNIQUE KEY (price))")
        .src(
            "CREATE TABLE events (at DATETIME(6), tag VARCHAR(20) CHARACTER SET latin1, \
             code VARBINARY(8) NULL, price DECIMAL(8,3) NULL, PRIMARY KEY (at, tag), \
             FOREIGN KEY (tag) REFERENCES tags (name), FOREIGN KEY (code) REFERENCES codes (code), \
             FOREIGN KEY (price) REFERENCES codes (price))",
        )
        .src("INSERT INTO tags VALUES ('café'), ('o''clock'), ('plain'), ('unused')")
        .src("INSERT INTO codes VALUES (X'00ff', -1.5), (X'27', 2.25), (X'41', 3)")
        .src(
            "INSERT INTO events VALUES \
             ('2024-01-01 00:00:00.000001', 'plain', X'41', NULL), \
             ('2024-01-02 10:00:00.500000', 'café', X'00ff', NULL), \
             ('2024-01-02 10:00:00.500000', 'o''clock', NULL, 2.25), \
             ('2024-01-03 00:00:00', 'plain', NULL, NULL)",
        );
    let job = dbs.job(
        "keys.lua",
        "sample { from = 'events', where = \"at >= '2024-01-02'\", create = true }\n",
    );
    dbs.run(&job, &[]).ok();
    let tags: Vec<String> = dbs
        .dst
        .query("SELECT name FROM tags ORDER BY name")
        .unwrap();
    assert_eq!(tags, ["café", "o'clock", "plain"]);
    let codes: Vec<(Vec<u8>, String)> = dbs
        .dst
        .query("SELECT code, CAST(price AS CHAR) FROM codes ORDER BY code")
        .unwrap();
    assert_eq!(
        codes,
        [
            (vec![0, 255], "-1.500".to_string()),
            (vec![39], "2.250".to_string())
        ]
    );
    assert_eq!(
        dbs.dump_dst("events", "at, tag"),
        dbs.dump_src("events", "at, tag")[1..].to_vec()
    );
    every_key_resolves(&mut dbs);
}

/// With `state = "file"`, the chosen keys are frozen beside the state file, used by
/// `--resume`, and removed by `ferry state --clear`.
#[test]
fn a_file_state_keeps_the_chosen_keys_beside_it() {
    let mut dbs = shop("sample_file");
    let job = dbs.job(
        "subset.lua",
        &format!(
            "job {{ state = 'file' }}\n\
             sample {{ from = 'orders', where = \"{RECENT}\", create = true }}\n"
        ),
    );
    dbs.run(&job, &[]).ok();
    let frozen = dbs.dir.path().join("subset.state.sample.json");
    let text = std::fs::read_to_string(&frozen).unwrap();
    assert!(
        text.contains("\"sample orders\"") && text.contains("\"orders\""),
        "{text}"
    );
    // The window moves: a new choice would hold order 40 too; the resume does not.
    dbs.src("UPDATE orders SET placed = NOW(6) WHERE id = 40");
    dbs.run(&job, &["--dry-run", "--resume"])
        .ok()
        .says("keys as the first run chose them")
        .says("29 rows (seed)");
    dbs.run(&job, &["--dry-run"]).ok().says("30 rows (seed)");
    // A job whose sample changed cannot resume its keys, but with --force.
    let wider = dbs.job(
        "subset.lua",
        "job { state = 'file' }\n\
         sample { from = 'orders', where = 'id <= 50', create = true }\n",
    );
    dbs.run(&wider, &["--resume"])
        .status(2)
        .says("copy sample orders: it changed since its keys were chosen, so it cannot resume");
    dbs.run(&wider, &["--resume", "--force", "--dry-run"])
        .ok()
        .says("50 rows (seed)");
    dbs.state(&job, &["--clear"]).ok();
    assert!(!frozen.exists(), "{}", frozen.display());
}
