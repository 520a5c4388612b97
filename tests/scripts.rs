//! The example jobs in `scripts/`: each one runs against the schema it expects, and the
//! target must hold exactly what the script promises. Every script needs a test here
//! (`every_script_has_a_test`); `scripts/demo.lua` is covered by `ferry demo`.

use std::path::PathBuf;

use mysql::prelude::Queryable;

use crate::support::*;

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// Asserts the log file has a line containing `text`.
fn logged(dbs: &Dbs, text: &str) {
    let log = dbs.log();
    assert!(
        log.lines().any(|l| l.contains(text)),
        "expected the log to contain {text:?}\n--- log\n{log}"
    );
}

/// `--dry-run` of an example succeeds and leaves `tables` of the target as they were.
fn dry_run(dbs: &mut Dbs, name: &str, tables: &[&str], extra: &[&str]) {
    let before: Vec<_> = tables.iter().map(|t| dbs.dump_dst(t, "1")).collect();
    let mut args = vec!["--dry-run"];
    args.extend_from_slice(extra);
    dbs.run(&script(name), &args)
        .ok()
        .says("nothing was written");
    let after: Vec<_> = tables.iter().map(|t| dbs.dump_dst(t, "1")).collect();
    assert_eq!(
        before, after,
        "--dry-run of scripts/{name} wrote to the target"
    );
}

#[test]
fn every_script_has_a_test() {
    let this = include_str!("scripts.rs");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lua"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "scripts/: {names:?}");
    for name in &names {
        let code = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            code.starts_with("--"),
            "scripts/{name} must start with a comment saying what it shows"
        );
        assert!(
            code.contains(&format!("ferry run scripts/{name}")),
            "scripts/{name}: its header must say how to run it (`ferry run scripts/{name} ...`)"
        );
        assert!(
            code.contains("\nsource \"mysql://") && code.contains("\ntarget \"mysql://"),
            "scripts/{name} must name a source and a target URL"
        );
        if name == "demo.lua" {
            continue; // run by `ferry demo`
        }
        assert!(
            this.contains(&format!("script(\"{name}\")")),
            "scripts/{name} has no test in tests/scripts.rs"
        );
    }
}

#[test]
fn copy_all_tables() {
    let mut dbs = Dbs::new("ex_all");
    let customers = "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, \
                     email VARCHAR(200) NULL, balance DECIMAL(10,2) NULL)";
    let orders = "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, \
                  note TEXT NULL, placed_at DATETIME(6) NOT NULL)";
    dbs.src(customers)
        .src(orders)
        .src("CREATE TABLE audit_old (id INT PRIMARY KEY, msg VARCHAR(50))")
        .src(
            "INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com', 10.50), \
             (2, 'Zoë Ångström', NULL, NULL), (3, '李小龙', 'lee@example.cn', 0.00)",
        )
        .src(
            "INSERT INTO orders VALUES (10, 1, 'first 🚀', '2024-02-29 13:45:00.123456'), \
             (11, 3, NULL, '2024-03-01 00:00:00')",
        )
        .src("INSERT INTO audit_old VALUES (1, 'x')");
    dbs.dst(customers)
        .dst(orders)
        .dst("CREATE TABLE only_here (id INT PRIMARY KEY)")
        // Already in the target: mode insert leaves it as it is.
        .dst("INSERT INTO customers VALUES (1, 'Ada (target)', NULL, 1.00)");

    dry_run(
        &mut dbs,
        "copy_all_tables.lua",
        &["customers", "orders"],
        &[],
    );
    dbs.run(&script("copy_all_tables.lua"), &[]).ok();

    let rows: Vec<(i32, String, Option<String>, Option<String>)> = dbs
        .dst
        .query("SELECT id, name, email, balance FROM customers ORDER BY id")
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, "Ada (target)".into(), None, s("1.00")),
            (2, "Zoë Ångström".into(), None, None),
            (3, "李小龙".into(), s("lee@example.cn"), s("0.00")),
        ]
    );
    assert_eq!(dbs.dump_dst("orders", "id"), dbs.dump_src("orders", "id"));
    assert_eq!(
        dbs.dump_dst("customers", "id")[1..],
        dbs.dump_src("customers", "id")[1..]
    );
    assert_eq!(dbs.count_dst("only_here"), 0);
    let created: Option<String> = dbs
        .dst
        .exec_first(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'audit_old'",
            (dbs.dst_db.clone(),),
        )
        .unwrap();
    assert_eq!(created, None, "ferry must not create tables");
    logged(&dbs, "customers: 3 read, 2 inserted, 1 already there");
    logged(&dbs, "orders: 2 read, 2 inserted, 0 already there");
    logged(&dbs, "audit_old: not in the target database, skipped");
    logged(&dbs, "copied 2 tables, 4 new rows");

    // Again: nothing new, nothing changed.
    let before = dbs.dump_dst("customers", "id");
    dbs.run(&script("copy_all_tables.lua"), &[]).ok();
    assert_eq!(dbs.dump_dst("customers", "id"), before);
    assert_eq!(dbs.dump_dst("orders", "id"), dbs.dump_src("orders", "id"));
    logged(&dbs, "customers: 3 read, 0 inserted, 3 already there");
    logged(&dbs, "copied 2 tables, 0 new rows");
}

#[test]
fn clone_database() {
    let mut dbs = Dbs::new("ex_clone");
    dbs.src("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL)")
        .src(
            "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, \
             CONSTRAINT fk_c FOREIGN KEY (customer_id) REFERENCES customers (id))",
        )
        .src("CREATE TABLE scratch_tmp (id INT PRIMARY KEY)")
        .src("INSERT INTO customers VALUES (1, 'Ada'), (2, '李小龙')")
        .src("INSERT INTO orders VALUES (10, 2), (11, 1), (12, 2)")
        .src("CREATE VIEW v AS SELECT id FROM orders");
    // customers is there already, with one row; orders is made.
    dbs.dst("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL)")
        .dst("INSERT INTO customers VALUES (1, 'Ada')");
    let dry = dbs
        .run(&script("clone_database.lua"), &["--dry-run"])
        .ok()
        .says("2. orders     level 1, ~")
        .says("created from the source's definition")
        .says("not copied: VIEW v")
        .says("nothing was written");
    assert!(!dry.stdout.contains("scratch_tmp"), "{}", dry.describe());
    dbs.run(&script("clone_database.lua"), &[]).ok();
    assert_eq!(
        dbs.dump_dst("customers", "id"),
        dbs.dump_src("customers", "id")
    );
    assert_eq!(dbs.dump_dst("orders", "id"), dbs.dump_src("orders", "id"));
    let fk: Option<String> = dbs
        .dst
        .exec_first(
            "SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = 'orders'",
            (dbs.dst_db.clone(),),
        )
        .unwrap();
    assert_eq!(fk.as_deref(), Some("fk_c"));
    logged(&dbs, "customers: 2 read, 1 inserted");
    logged(&dbs, "orders: 3 read, 3 inserted");
    logged(&dbs, "cloned: 4 rows in all");
    assert_eq!(dbs.count_dst("customers"), 2);
}

/// `scripts/test_env_sample.lua` with `MASK_SALT` set and `extra` arguments.
fn test_env_run(dbs: &Dbs, extra: &[&str]) -> Run {
    let job = script("test_env_sample.lua");
    let mut args = vec![
        "run".to_string(),
        job.display().to_string(),
        "--source".into(),
        dbs.src_url.clone(),
        "--target".into(),
        dbs.dst_url.clone(),
        "--log".into(),
        dbs.log_path().display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    ferry_env(
        &args,
        dbs.dir.path(),
        &[("MASK_SALT", "the salt of the script test")],
    )
}

#[test]
fn test_env_sample() {
    let mut dbs = Dbs::new("ex_sample");
    dbs.src(
        "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, \
         email VARCHAR(200) NULL, phone VARCHAR(30) NULL, referred_by INT NULL, \
         FOREIGN KEY (referred_by) REFERENCES customers (id))",
    )
    .src("CREATE TABLE products (id INT PRIMARY KEY, title VARCHAR(100) NOT NULL)")
    .src(
        "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, \
         amount DECIMAL(10,2) NOT NULL, ordered_at DATETIME NOT NULL, \
         FOREIGN KEY (customer_id) REFERENCES customers (id))",
    )
    .src(
        "CREATE TABLE order_items (id INT PRIMARY KEY, order_id INT NOT NULL, \
         product_id INT NOT NULL, FOREIGN KEY (order_id) REFERENCES orders (id), \
         FOREIGN KEY (product_id) REFERENCES products (id))",
    )
    .src(
        "INSERT INTO customers VALUES (1, 'Ada Lovelace', 'ada@example.com', '+44 20 7946 0001', NULL), \
         (2, 'Zoë Müller', 'zoe@example.de', '+49 170 1234567', 1), \
         (3, '王芳', NULL, NULL, NULL), (4, 'Old Timer', 'old@example.com', '0', NULL)",
    )
    .src("INSERT INTO products VALUES (1, 'kettle'), (2, 'teapot'), (3, 'cups')")
    .src(
        "INSERT INTO orders VALUES (10, 2, 19.99, NOW() - INTERVAL 2 DAY), \
         (11, 3, 5.00, NOW() - INTERVAL 10 DAY), (12, 4, 7.50, NOW() - INTERVAL 400 DAY), \
         (13, 2, 1.00, NOW() - INTERVAL 40 DAY)",
    )
    .src("INSERT INTO order_items VALUES (100, 10, 1), (101, 10, 2), (102, 11, 2), (103, 12, 3)");
    let dry = test_env_run(&dbs, &["--dry-run"]).ok();
    assert!(
        dry.stdout.contains("orders       level 1, 2 rows (seed)")
            && dry.stdout.contains("customers    level 0, 3 rows (parent)")
            && dry
                .stdout
                .contains("order_items  level 2, 3 rows (children)"),
        "{}",
        dry.describe()
    );
    let made: Vec<String> = dbs.dst.query("SHOW TABLES").unwrap();
    assert!(made.is_empty(), "a dry run made {made:?}");
    test_env_run(&dbs, &[]).ok();
    let ids = |dbs: &mut Dbs, t: &str| -> Vec<i32> {
        dbs.dst
            .query(format!("SELECT id FROM {t} ORDER BY id"))
            .unwrap()
    };
    // Orders of the last 30 days, their items, their customers (and the referrer of
    // customer 2) and the products the items name.
    assert_eq!(ids(&mut dbs, "orders"), [10, 11]);
    assert_eq!(ids(&mut dbs, "order_items"), [100, 101, 102]);
    assert_eq!(ids(&mut dbs, "customers"), [1, 2, 3]);
    assert_eq!(ids(&mut dbs, "products"), [1, 2]);
    type Customer = (i32, String, Option<String>, Option<String>);
    let masked: Vec<Customer> = dbs
        .dst
        .query("SELECT id, name, email, phone FROM customers ORDER BY id")
        .unwrap();
    let source: Vec<Customer> = dbs
        .src
        .query("SELECT id, name, email, phone FROM customers WHERE id <= 3 ORDER BY id")
        .unwrap();
    for (m, s) in masked.iter().zip(&source) {
        assert_ne!(m.1, s.1, "name of {}", m.0);
        assert_eq!(m.2.is_none(), s.2.is_none(), "email of {}", m.0);
        if let (Some(a), Some(b)) = (&m.2, &s.2) {
            assert_ne!(a, b, "email of {}", m.0);
        }
        if let (Some(a), Some(b)) = (&m.3, &s.3) {
            assert_ne!(a, b, "phone of {}", m.0);
            assert_eq!(a[a.len() - 2..], b[b.len() - 2..], "phone of {}", m.0);
        }
    }
    logged(&dbs, "test subset of the last 30 days: 10 rows");
    logged(&dbs, "order_items: 3 rows");
    // A longer window and a limit: the first order of the last 60 days only.
    test_env_run(&dbs, &["--var", "days=60", "--var", "limit=1"]).ok();
    logged(&dbs, "test subset of the last 60 days: 0 rows");
}

#[test]
fn upsert_daily() {
    let mut dbs = Dbs::new("ex_upsert");
    dbs.src(
        "CREATE TABLE items (item_no VARCHAR(20) PRIMARY KEY, name VARCHAR(100) NOT NULL, \
         price DECIMAL(10,2) NOT NULL, stock INT NULL, updated_at DATETIME NOT NULL)",
    )
    .src(
        "INSERT INTO items VALUES \
         ('A1', 'Kaffeebohnen Äthiopien', 12.90, 5, NOW()), \
         ('B2', '抹茶 Matcha', 8.50, NULL, NOW() - INTERVAL 2 HOUR), \
         ('C3', 'Old stock', 1.00, 0, NOW() - INTERVAL 10 DAY)",
    );
    dbs.dst(
        "CREATE TABLE products (sku VARCHAR(20) PRIMARY KEY, name VARCHAR(100) NOT NULL, \
         price DECIMAL(10,2) NOT NULL, stock INT NULL, \
         promo_price DECIMAL(10,2) NULL DEFAULT 0.00, listed_at DATETIME NOT NULL)",
    )
    .dst(
        "INSERT INTO products VALUES ('A1', 'Kaffee', 11.00, 9, 9.99, '2020-01-01 00:00:00'), \
         ('Z9', 'Kept', 1.00, 1, NULL, '2019-05-05 05:05:05')",
    );

    dry_run(&mut dbs, "upsert_daily.lua", &["products"], &[]);
    dbs.run(&script("upsert_daily.lua"), &[]).ok();

    type Product = (String, String, String, Option<i32>, Option<String>, String);
    let sql = "SELECT sku, name, CAST(price AS CHAR), stock, CAST(promo_price AS CHAR), \
               CAST(listed_at AS CHAR) FROM products ORDER BY sku";
    let rows: Vec<Product> = dbs.dst.query(sql).unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    // Updated: the mapped columns; promo_price and listed_at kept.
    assert_eq!(
        rows[0],
        (
            "A1".into(),
            "Kaffeebohnen Äthiopien".into(),
            "12.90".into(),
            Some(5),
            s("9.99"),
            "2020-01-01 00:00:00".into()
        )
    );
    // New: listed now, no promotion (NULL, not the server's 0.00).
    let b2_listed = rows[1].5.clone();
    assert_eq!(
        rows[1],
        (
            "B2".into(),
            "抹茶 Matcha".into(),
            "8.50".into(),
            None,
            None,
            b2_listed.clone()
        )
    );
    let age: i64 = dbs
        .dst
        .query_first(
            "SELECT TIMESTAMPDIFF(SECOND, listed_at, NOW()) FROM products WHERE sku = 'B2'",
        )
        .unwrap()
        .unwrap();
    assert!((0..600).contains(&age), "listed_at of B2 is {b2_listed}");
    // Not in the source: untouched. C3 changed 10 days ago: not copied.
    assert_eq!(
        rows[2],
        (
            "Z9".into(),
            "Kept".into(),
            "1.00".into(),
            Some(1),
            None,
            "2019-05-05 05:05:05".into()
        )
    );
    logged(
        &dbs,
        "products: 2 changed in the last 1 day(s): 1 new, 1 updated, 0 unchanged",
    );

    // A wider window: C3 is new, A1 and B2 are already current.
    dbs.run(&script("upsert_daily.lua"), &["--var", "days=30"])
        .ok();
    let again: Vec<Product> = dbs.dst.query(sql).unwrap();
    assert_eq!(again.len(), 4, "{again:?}");
    assert_eq!(again[0], rows[0]);
    assert_eq!(again[1], rows[1], "an unchanged product keeps listed_at");
    assert_eq!(
        (
            &again[2].0,
            &again[2].1,
            &again[2].2,
            again[2].3,
            &again[2].4
        ),
        (
            &"C3".to_string(),
            &"Old stock".to_string(),
            &"1.00".to_string(),
            Some(0),
            &None
        )
    );
    assert_eq!(again[3], rows[2]);
    logged(
        &dbs,
        "products: 3 changed in the last 30 day(s): 1 new, 0 updated, 2 unchanged",
    );
}

#[test]
fn legacy_rename() {
    let mut dbs = Dbs::new("ex_legacy");
    dbs.src(
        "CREATE TABLE tblMember (MemberID INT PRIMARY KEY, FName VARCHAR(50) NULL, \
         LName VARCHAR(50) NULL, EMail VARCHAR(100) NULL, Phone VARCHAR(30) NULL, \
         CountryCode CHAR(3) NULL, JoinDate VARCHAR(12) NULL, \
         Deleted TINYINT NOT NULL DEFAULT 0)",
    )
    .src(
        "INSERT INTO tblMember VALUES \
         (1, '  José ', 'Núñez', '  José.Núñez@Example.COM ', '+34 600 000 000', 'es', '1.2.2003', 0), \
         (2, 'Zoë', NULL, '   ', NULL, ' de', '31.12.1999', 0), \
         (3, NULL, NULL, NULL, NULL, NULL, 'unknown', 0), \
         (4, 'Gone', 'Away', 'gone@example.com', NULL, 'fr', '01.01.2010', 1), \
         (5, '', '王', 'WANG@EXAMPLE.CN', '010-1234', 'CN', NULL, 0)",
    );
    dbs.dst(
        "CREATE TABLE members (id INT PRIMARY KEY, full_name VARCHAR(100) NULL, \
         email VARCHAR(100) NULL, phone VARCHAR(30) NULL, country CHAR(2) NULL, \
         joined_on DATE NULL, status VARCHAR(10) NOT NULL, source_system VARCHAR(20) NOT NULL)",
    );

    dry_run(&mut dbs, "legacy_rename.lua", &["members"], &[]);
    dbs.run(&script("legacy_rename.lua"), &[]).ok();

    type Member = (
        i32,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
    );
    let rows: Vec<Member> = dbs
        .dst
        .query(
            "SELECT id, full_name, email, phone, country, CAST(joined_on AS CHAR), status, \
             source_system FROM members ORDER BY id",
        )
        .unwrap();
    let m = |id, name, email, phone, country, joined| -> Member {
        (
            id,
            name,
            email,
            phone,
            country,
            joined,
            "active".into(),
            "legacy".into(),
        )
    };
    assert_eq!(
        rows,
        vec![
            m(
                1,
                s("José Núñez"),
                // ASCII letters lowered; é, ñ and ú already lower-case
                s("josé.núñez@example.com"),
                s("+34 600 000 000"),
                s("ES"),
                s("2003-02-01")
            ),
            m(2, s("Zoë"), None, None, s("DE"), s("1999-12-31")),
            m(3, None, None, None, None, None),
            m(
                5,
                s("王"),
                s("wang@example.cn"),
                s("010-1234"),
                s("CN"),
                None
            ),
        ]
    );
    logged(&dbs, "members: 5 read, 4 written, 1 deleted ones skipped");
}

/// The worked ETL job: every order cleaned, looked up and converted as a hand-written
/// SQL migration would, the summary rebuilt by the job's `after` hook; then an order
/// whose country the lookup cannot find fails the run's check (exit 1), and the
/// summary is left as it was.
#[test]
fn etl_orders() {
    let mut dbs = Dbs::new("ex_etl");
    dbs.src(
        "CREATE TABLE legacy_orders (order_no INT PRIMARY KEY, cust_name VARCHAR(60) NULL, \
         cust_email VARCHAR(100) NULL, country CHAR(3) NULL, status_code CHAR(1) NOT NULL, \
         placed_local DATETIME NOT NULL, total DECIMAL(10,2) NOT NULL, deleted TINYINT NOT NULL)",
    )
    .src(
        "INSERT INTO legacy_orders VALUES \
         (1, '  Ann   Lee ', ' Ann@X.org ', 'de', 'P', '2024-07-01 12:00:00', 10.50, 0), \
         (2, 'Bob', 'bob@y.org', 'FR', 'Q', '2024-01-15 08:30:00', 3.00, 0), \
         (3, 'Cy', 'cy@z.org', 'de ', 'S', '2024-10-27 02:30:00', 7.25, 0), \
         (4, 'Gone', 'g@x.org', 'de', 'N', '2024-05-05 05:05:05', 1.00, 1), \
         (5, 'Dee', 'ANN@x.org', 'fr', 'X', '2024-03-31 02:30:00', 0.00, 0), \
         (7, 'Neg', 'neg@x.org', 'de', 'P', '2024-04-04 04:04:04', -2.00, 0)",
    );
    dbs.dst("CREATE TABLE countries (id INT PRIMARY KEY, code CHAR(2) NOT NULL UNIQUE)")
        .dst("INSERT INTO countries VALUES (49, 'DE'), (33, 'FR')")
        .dst(
            "CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(60) NULL, \
             customer_key CHAR(64) NULL, country_id INT NULL, status VARCHAR(10) NOT NULL, \
             placed_utc DATETIME NOT NULL, total DECIMAL(10,2) NOT NULL)",
        )
        .dst("CREATE TABLE country_totals (country_id INT PRIMARY KEY, orders INT NOT NULL, total DECIMAL(12,2) NOT NULL)")
        .dst("CREATE TABLE order_notes (order_id INT PRIMARY KEY, note VARCHAR(60) NOT NULL)");
    let rejects = dbs.dir.path().join("etl.rejects.jsonl");
    let var = format!("rejects={}", rejects.display());

    dry_run(
        &mut dbs,
        "etl_orders.lua",
        &["orders", "country_totals", "order_notes"],
        &["--var", &var],
    );
    // Order 7 (a negative total) is set aside, the others copied.
    dbs.run(&script("etl_orders.lua"), &["--var", &var])
        .ok()
        .says("holds 1")
        .says("emitted into order_notes: 1 written");
    let set_aside = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(set_aside.lines().count(), 1, "{set_aside}");
    assert!(
        set_aside.contains("\"key\":{\"order_no\":7}")
            && set_aside.contains("a negative total: -2.00"),
        "{set_aside}"
    );
    let notes: Vec<(i32, String)> = dbs
        .dst
        .query("SELECT order_id, note FROM order_notes")
        .unwrap();
    assert_eq!(notes, vec![(2, "unknown status code Q".to_string())]);

    type Order = (i32, String, String, Option<i32>, String, String, String);
    let rows: Vec<Order> = dbs
        .dst
        .query(
            "SELECT id, customer, customer_key, country_id, status, CAST(placed_utc AS CHAR), \
             CAST(total AS CHAR) FROM orders ORDER BY id",
        )
        .unwrap();
    // The same migration by hand: the key is the server's SHA2 of the cleaned e-mail.
    let mut key = |email: &str| -> String {
        dbs.src
            .exec_first("SELECT SHA2(?, 256)", (email,))
            .unwrap()
            .unwrap()
    };
    let (ann, bob, cy) = (key("ann@x.org"), key("bob@y.org"), key("cy@z.org"));
    let o = |id, customer: &str, key: &str, country, status: &str, utc: &str, total: &str| {
        (
            id,
            customer.to_string(),
            key.to_string(),
            Some(country),
            status.to_string(),
            utc.to_string(),
            total.to_string(),
        )
    };
    assert_eq!(
        rows,
        vec![
            o(
                1,
                "Ann Lee",
                &ann,
                49,
                "paid",
                "2024-07-01 10:00:00",
                "10.50"
            ),
            o(2, "Bob", &bob, 33, "unknown", "2024-01-15 07:30:00", "3.00"),
            // 02:30 happens twice that night in Berlin: the first (summer time) is meant.
            o(3, "Cy", &cy, 49, "shipped", "2024-10-27 00:30:00", "7.25"),
            // 02:30 does not exist that night: it reads as 03:30 summer time.
            o(
                5,
                "Dee",
                &ann,
                33,
                "cancelled",
                "2024-03-31 01:30:00",
                "0.00"
            ),
        ]
    );
    let totals: Vec<(i32, i32, String)> = dbs
        .dst
        .query("SELECT country_id, orders, CAST(total AS CHAR) FROM country_totals ORDER BY 1")
        .unwrap();
    assert_eq!(
        totals,
        vec![(33, 2, "3.00".into()), (49, 2, "17.75".into())]
    );

    // A country the lookup cannot find: the check fails the run, the summary stays.
    dbs.src("INSERT INTO legacy_orders VALUES (6, 'Eve', 'eve@q.org', 'zz', 'N', '2024-02-02 02:02:02', 5.00, 0)");
    dbs.run(&script("etl_orders.lua"), &["--var", &var])
        .status(1)
        .says("check failed");
    let after: Vec<(i32, i32, String)> = dbs
        .dst
        .query("SELECT country_id, orders, CAST(total AS CHAR) FROM country_totals ORDER BY 1")
        .unwrap();
    assert_eq!(
        after, totals,
        "the job's after hook ran after a failed check"
    );
}
