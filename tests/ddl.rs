//! Table definitions made on the target from the source's (`db::ddl`, the ground of
//! `create = true`): a shop schema with odd names, a generated column, a prefix index,
//! a CHECK, a self-reference and a cycle of foreign keys is created table by table in
//! any order, its foreign keys added afterwards, and every `SHOW CREATE TABLE` on the
//! target is the source's (AUTO_INCREMENT aside).

use crate::support::*;
use ferry::conn_spec::ConnSpec;
use ferry::db::{Db, Role};
use mysql::prelude::Queryable;

pub(crate) const SCHEMA: &[&str] = &[
    "CREATE TABLE `cust omers` (id INT AUTO_INCREMENT PRIMARY KEY, `e-mail` VARCHAR(200) CHARACTER SET latin1 COLLATE latin1_bin NOT NULL, referred_by INT NULL, note TEXT, UNIQUE KEY uq_mail (`e-mail`), KEY note_prefix (note(10)), CONSTRAINT fk_referrer FOREIGN KEY (referred_by) REFERENCES `cust omers` (id) ON DELETE SET NULL) AUTO_INCREMENT=1000 COMMENT='the customers'",
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2) NOT NULL CHECK (amount >= 0), cents BIGINT AS (amount * 100) PERSISTENT, placed DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY (customer_id), CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES `cust omers` (id) ON DELETE CASCADE) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
    "CREATE TABLE departments (id INT PRIMARY KEY, manager_id INT NULL)",
    "CREATE TABLE employees (id INT PRIMARY KEY, department_id INT NOT NULL, CONSTRAINT fk_dept FOREIGN KEY (department_id) REFERENCES departments (id))",
    "ALTER TABLE departments ADD CONSTRAINT fk_manager FOREIGN KEY (manager_id) REFERENCES employees (id)",
];

pub(crate) fn show_create(conn: &mut mysql::Conn, table: &str) -> String {
    let (_, text): (String, String) = conn
        .query_first(format!("SHOW CREATE TABLE `{}`", table.replace('`', "``")))
        .unwrap()
        .unwrap();
    text.split(' ')
        .filter(|w| !w.starts_with("AUTO_INCREMENT="))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn definitions_are_made_again_on_the_target_foreign_keys_last() {
    let mut dbs = Dbs::new("ddl_shop");
    for s in SCHEMA {
        dbs.src(s);
    }
    let spec = |url: &str| ConnSpec::parse(url).unwrap();
    let mut src = Db::connect(&spec(&dbs.src_url), Role::Source).unwrap();
    let mut dst = Db::connect(&spec(&dbs.dst_url), Role::Target).unwrap();
    // Children first, the worst order: the foreign keys come last, so any order works.
    let tables = ["employees", "orders", "departments", "cust omers"];
    let defs: Vec<_> = tables
        .iter()
        .map(|t| src.table_definition(t).unwrap())
        .collect();
    assert_eq!(defs[0].foreign_keys.len(), 1);
    assert!(defs[3].create.contains("COMMENT='the customers'"));
    for d in &defs {
        dst.create_table(d, false).unwrap();
    }
    // A second create without replace is the server's error, named; with replace it
    // drops the table first.
    let again = dst.create_table(&defs[1], false).unwrap_err().to_string();
    assert!(again.contains("already exists"), "{again}");
    dst.create_table(&defs[1], true).unwrap();
    for d in &defs {
        dst.add_foreign_keys(d).unwrap();
    }
    for t in tables {
        assert_eq!(
            show_create(&mut dbs.dst, t),
            show_create(&mut dbs.src, t),
            "{t}"
        );
    }
    let keys = src.foreign_keys().unwrap();
    let names: Vec<(&str, &str, bool)> = keys
        .iter()
        .map(|k| (k.table.as_str(), k.name.as_str(), k.nullable))
        .collect();
    assert_eq!(
        names,
        [
            ("cust omers", "fk_referrer", true),
            ("departments", "fk_manager", true),
            ("employees", "fk_dept", false),
            ("orders", "fk_customer", false),
        ]
    );
    assert!(keys[0].is_self_reference());
    dbs.src("CREATE VIEW big_orders AS SELECT id FROM orders WHERE amount > 100");
    let others = src.other_objects().unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(
        (others[0].kind.as_str(), others[0].name.as_str()),
        ("VIEW", "big_orders")
    );
}
