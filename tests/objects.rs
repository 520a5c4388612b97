//! `objects = true` (`db::objects`, `job::objects`): a copy of many tables makes the
//! source's stored function, procedure, views (one over another) and trigger on the
//! target after the data, so the trigger never fires on the copied rows, and each works
//! there; an event is listed as not copied; a definer the target lacks is a plan
//! problem naming it, and nothing is written.

use crate::support::*;
use mysql::prelude::Queryable;

fn shop(test: &str) -> Dbs {
    let mut dbs = Dbs::new(test);
    dbs.src("CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL)")
        .src("CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40) NOT NULL)")
        .src("CREATE FUNCTION cents(a DECIMAL(10,2)) RETURNS BIGINT DETERMINISTIC RETURN a * 100")
        .src(
            "CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW \
             INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.id))",
        )
        .src(
            "CREATE PROCEDURE add_order(IN i INT, IN a DECIMAL(10,2)) \
             BEGIN INSERT INTO orders VALUES (i, a); END",
        )
        .src(
            "CREATE VIEW big_orders AS SELECT id, cents(amount) AS c FROM orders WHERE amount > 10",
        )
        // Named to sort first: made once the view it reads exists.
        .src("CREATE VIEW a_top AS SELECT MAX(c) AS top FROM big_orders")
        .src("INSERT INTO orders VALUES (1, 5.00), (2, 12.50), (3, 99.99)");
    dbs
}

fn count(conn: &mut mysql::Conn, sql: &str) -> u64 {
    conn.query_first::<u64, _>(sql).unwrap().unwrap()
}

#[test]
fn views_triggers_and_routines_are_made_after_the_data() {
    let mut dbs = shop("objects_made");
    dbs.src("CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM audit WHERE id < 0");
    let job = dbs.job(
        "clone.lua",
        "copy { tables = '*', create = true, objects = true }\n",
    );
    let dry = dbs.run(&job, &["--dry-run"]).ok();
    assert!(
        dry.stdout.contains(
            "  created after the data: FUNCTION cents, PROCEDURE add_order, VIEW a_top, \
             VIEW big_orders, TRIGGER orders_audit\n  not copied: EVENT nightly\n"
        ),
        "{}",
        dry.describe()
    );
    let made: Vec<String> = dbs.dst.query("SHOW TABLES").unwrap();
    assert!(made.is_empty(), "{made:?}");
    dbs.run(&job, &[]).ok();
    // The trigger was made after the rows: the audit rows are the source's, once.
    assert_eq!(dbs.dump_dst("audit", "id"), dbs.dump_src("audit", "id"));
    assert_eq!(count(&mut dbs.dst, "SELECT COUNT(*) FROM audit"), 3);
    assert_eq!(
        dbs.dump_dst("big_orders", "id"),
        dbs.dump_src("big_orders", "id")
    );
    assert_eq!(count(&mut dbs.dst, "SELECT top FROM a_top"), 9999);
    assert_eq!(count(&mut dbs.dst, "SELECT cents(1.50)"), 150);
    dbs.dst("CALL add_order(4, 20.00)");
    let last: Option<String> = dbs
        .dst
        .query_first("SELECT what FROM audit ORDER BY id DESC LIMIT 1")
        .unwrap();
    assert_eq!(last.as_deref(), Some("order 4"));
    let events: u64 = count(
        &mut dbs.dst,
        &format!(
            "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{}'",
            dbs.dst_db
        ),
    );
    assert_eq!(events, 0);
    // A second run makes them again, over the ones there.
    dbs.run(&job, &[]).ok();
    assert_eq!(count(&mut dbs.dst, "SELECT COUNT(*) FROM big_orders"), 3);
}

#[test]
fn a_definer_missing_on_the_target_is_named_and_nothing_is_written() {
    let mut dbs = shop("objects_definer");
    dbs.src(
        "CREATE DEFINER = `ghost`@`%` SQL SECURITY DEFINER VIEW ghostly AS SELECT id FROM orders",
    );
    let job = dbs.job(
        "clone.lua",
        "copy { tables = '*', create = true, objects = true }\n",
    );
    dbs.run(&job, &[])
        .status(2)
        .says("VIEW ghostly: its definer `ghost`@`%` does not exist on the target: create that user there first");
    // Only ferry's state table (made when the run takes the job's lock).
    let made: Vec<String> = dbs.dst.query("SHOW TABLES").unwrap();
    assert_eq!(made, ["_ferry_state"]);
    // Without objects, the view is only listed.
    let plain = dbs.job("plain.lua", "copy { tables = '*', create = true }\n");
    dbs.run(&plain, &["--dry-run"])
        .ok()
        .says("not copied: VIEW ghostly");
}

/// `sample{ objects = true }`: the objects come along, but a view that reads a table
/// outside the sample is left out, with a warning.
#[test]
fn a_sample_makes_the_objects_its_tables_allow() {
    let mut dbs = shop("objects_sample");
    dbs.src("CREATE VIEW audit_view AS SELECT what FROM audit");
    let job = dbs.job(
        "subset.lua",
        "sample { from = 'orders', where = 'id >= 2', create = true, objects = true }\n",
    );
    dbs.run(&job, &["--dry-run"]).ok().says(
        "created after the data (a view reading a table outside the sample is left out): \
         FUNCTION cents, PROCEDURE add_order, VIEW a_top, VIEW audit_view, VIEW big_orders, \
         TRIGGER orders_audit",
    );
    dbs.run(&job, &[])
        .ok()
        .says("VIEW audit_view: not made, it reads a table the sample does not copy");
    assert_eq!(count(&mut dbs.dst, "SELECT COUNT(*) FROM big_orders"), 2);
    assert_eq!(count(&mut dbs.dst, "SELECT top FROM a_top"), 9999);
    let views: Vec<String> = dbs
        .dst
        .exec(
            "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY 1",
            (dbs.dst_db.clone(),),
        )
        .unwrap();
    assert_eq!(views, ["a_top", "big_orders"]);
}
