//! Fan-out: `emit(to_table, row)` in a transform writes rows into other target tables
//! (each named in the copy's `emit` with its mode) in the transaction of the page that
//! made them, counted per table; a transform that returns a list writes several rows
//! into the copy's own table. Compared row by row with what SQL makes of the source;
//! killed with kill -9 and resumed, every row is there once.

use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

use crate::support::*;

/// `orders` with one or two lines each (item2 NULL on every third).
fn orders(dbs: &mut Dbs, rows: u32) {
    dbs.src(
        "CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(40) NOT NULL, \
         item1 VARCHAR(20) NOT NULL, qty1 INT NOT NULL, item2 VARCHAR(20) NULL, qty2 INT NULL)",
    );
    dbs.src(&format!(
        "INSERT INTO orders SELECT seq, CONCAT('cust ', seq % 17), CONCAT('item', seq % 7), \
         seq % 5 + 1, IF(seq % 3 = 0, NULL, CONCAT('extra', seq % 11)), \
         IF(seq % 3 = 0, NULL, seq % 4) FROM seq_1_to_{rows}"
    ));
    dbs.dst("CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(40) NOT NULL)");
    // Keyless: a page written twice would show as duplicate lines.
    dbs.dst(
        "CREATE TABLE order_lines (order_id INT NOT NULL, n INT NOT NULL, \
         item VARCHAR(20) NOT NULL, qty INT NOT NULL)",
    );
}

const SPLIT: &str =
    "local s = copy { from = 'orders', page = 100, emit = { order_lines = 'insert' },\n\
  transform = function(r)\n\
    emit('order_lines', { order_id = r.id, n = 1, item = r.item1, qty = r.qty1 })\n\
    if r.item2 ~= null then\n\
      emit('order_lines', { order_id = r.id, n = 2, item = r.item2, qty = r.qty2 })\n\
    end\n\
    return { id = r.id, customer = r.customer }\n\
  end }\n\
if not planning then\n\
  print(string.format('stats read=%d resumed=%d written=%d lines=%d', s.read, s.resumed, \
    s.written, s.emitted.order_lines.written))\n\
end\n";

const LINES_SQL: &str = "(SELECT id AS order_id, 1 AS n, item1 AS item, qty1 AS qty FROM orders \
     UNION ALL SELECT id, 2, item2, qty2 FROM orders WHERE item2 IS NOT NULL) AS x";

fn assert_split(dbs: &mut Dbs) {
    let expected = dump(&mut dbs.src, "(SELECT id, customer FROM orders) AS x", "id");
    assert_eq!(dbs.dump_dst("orders", "id"), expected);
    let lines = dump(&mut dbs.src, LINES_SQL, "order_id, n");
    assert_eq!(dbs.dump_dst("order_lines", "order_id, n"), lines);
}

#[test]
fn one_table_split_into_two() {
    let mut dbs = Dbs::new("emit_split");
    orders(&mut dbs, 1000);
    let job = dbs.job("split.lua", SPLIT);
    // 1000 orders, 667 with a second line.
    dbs.run(&job, &[])
        .ok()
        .says("stats read=1000 resumed=0 written=1000 lines=1667")
        .says("copy orders: emitted into order_lines: 1667 written (1667 inserted, 0 updated)");
    assert_split(&mut dbs);
}

#[test]
fn emitted_rows_take_their_tables_mode() {
    let mut dbs = Dbs::new("emit_mode");
    orders(&mut dbs, 30);
    dbs.dst("ALTER TABLE order_lines ADD PRIMARY KEY (order_id, n)");
    // A line already there, different: upsert updates it; one already as it will be.
    dbs.dst("INSERT INTO order_lines VALUES (1, 1, 'old', 9), (2, 1, 'item2', 3)");
    let job = dbs.job(
        "modes.lua",
        &SPLIT.replace(
            "order_lines = 'insert'",
            "order_lines = { mode = 'upsert' }",
        ),
    );
    dbs.run(&job, &[])
        .ok()
        .says("emitted into order_lines: 49 written (48 inserted, 1 updated), 1 unchanged");
    assert_split(&mut dbs);
}

#[test]
fn a_list_of_rows_writes_each_into_the_copys_table() {
    let mut dbs = Dbs::new("emit_list");
    dbs.src("CREATE TABLE pairs (id INT PRIMARY KEY, a VARCHAR(10), b VARCHAR(10))");
    dbs.src("INSERT INTO pairs SELECT seq, CONCAT('a', seq), IF(seq % 4 = 0, NULL, CONCAT('b', seq)) FROM seq_1_to_500");
    dbs.dst("CREATE TABLE vals (id INT NOT NULL, k CHAR(1) NOT NULL, v VARCHAR(10), PRIMARY KEY (id, k))");
    dbs.run_code(
        "local s = copy { from = 'pairs', to = 'vals', page = 64, transform = function(r)\n\
           if r.id % 10 == 0 then return {} end\n\
           local rows = { { id = r.id, k = 'a', v = r.a } }\n\
           if r.b ~= null then rows[#rows + 1] = { id = r.id, k = 'b', v = r.b } end\n\
           return rows\n\
         end }\n\
         if not planning then print('written=' .. s.written .. ' skipped=' .. s.skipped) end\n",
        &[],
    )
    .ok()
    // 450 kept, 50 skipped; 350 of them with a b (b is NULL on 100 kept ids: the
    // multiples of 4 but not of 20).
    .says("written=800 skipped=50");
    let expected = dump(
        &mut dbs.src,
        "(SELECT id, 'a' AS k, a AS v FROM pairs WHERE id % 10 <> 0 \
          UNION ALL SELECT id, 'b', b FROM pairs WHERE id % 10 <> 0 AND b IS NOT NULL) AS x",
        "id, k",
    );
    assert_eq!(dbs.dump_dst("vals", "id, k"), expected);
}

#[test]
fn emitting_into_a_table_the_copy_does_not_name_fails() {
    let mut dbs = Dbs::new("emit_bad");
    orders(&mut dbs, 10);
    dbs.run_code(
        "copy { from = 'orders', emit = { nowhere = 'insert' }, transform = function(r)\n\
           return { id = r.id, customer = r.customer } end }\n",
        &[],
    )
    .status(2)
    .says("emit: unknown target table `nowhere`");
    dbs.run_code(
        "copy { from = 'orders', transform = function(r)\n\
           emit('order_lines', { order_id = r.id, n = 1, item = 'x', qty = 1 })\n\
           return { id = r.id, customer = r.customer } end }\n",
        &[],
    )
    .status(1)
    .says("the copy does not emit into `order_lines`");
    assert_eq!(dbs.count_dst("order_lines"), 0);
    dbs.run_code(
        "copy { from = 'orders', emit = { order_lines = 'insert' }, transform = function(r)\n\
           emit('order_lines', { order_id = r.id, nope = 1 })\n\
           return { id = r.id, customer = r.customer } end }\n",
        &[],
    )
    .status(1)
    .says("a row has a field `nope`, which is not a column of order_lines");
    dbs.run_code(
        "copy { from = 'orders', emit = { order_lines = 'insert' }, transform = function(r)\n\
           emit('order_lines', r)\n\
           return { id = r.id, customer = r.customer } end }\n",
        &[],
    )
    .status(1)
    .says("give a table of your own");
    dbs.run_code("emit('order_lines', { order_id = 1 })\n", &[])
        .status(2)
        .says("from inside a copy's transform");
}

/// With on_error = "reject", a source row is set aside whole: an order whose line
/// the target refuses (too long) is not written, nor its other line; an order the
/// transform raises on emits nothing.
#[test]
fn a_rejected_row_takes_its_emitted_rows_with_it() {
    let mut dbs = Dbs::new("emit_reject");
    orders(&mut dbs, 100);
    dbs.src("ALTER TABLE orders MODIFY item2 VARCHAR(40)");
    dbs.src("UPDATE orders SET item2 = 'a line item far too long' WHERE id = 44");
    let job = dbs.job(
        "rejsplit.lua",
        &SPLIT
            .replace(
                "emit = { order_lines = 'insert' },",
                "emit = { order_lines = 'insert' }, on_error = 'reject',",
            )
            .replace(
                "return { id = r.id, customer",
                "if r.id == 71 then error('no order 71') end\nreturn { id = r.id, customer",
            ),
    );
    // 98 orders; lines: 167 less order 44's two and order 71's two.
    dbs.run(&job, &[])
        .ok()
        .says("stats read=100 resumed=0 written=98 lines=163")
        .says("holds 2");
    let file = dbs.dir.path().join("rejsplit.orders.rejects.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("\"key\":{\"id\":44}") && text.contains("item2"),
        "{text}"
    );
    assert!(text.contains("no order 71"), "{text}");
    let keep = "WHERE id NOT IN (44, 71)";
    let expected = dump(
        &mut dbs.src,
        &format!("(SELECT id, customer FROM orders {keep}) AS x"),
        "id",
    );
    assert_eq!(dbs.dump_dst("orders", "id"), expected);
    let lines = dump(
        &mut dbs.src,
        &format!(
            "(SELECT * FROM {LINES_SQL} {}) AS y",
            keep.replace("id", "order_id")
        ),
        "order_id, n",
    );
    assert_eq!(dbs.dump_dst("order_lines", "order_id, n"), lines);
}

/// kill -9 twice while a copy splits one table into two (two key ranges), then
/// --resume: both tables exactly as SQL makes them, each line once.
#[test]
fn kill_9_and_resume_give_both_tables_exactly() {
    let mut dbs = Dbs::new("emit_kill");
    let rows = 40_000;
    orders(&mut dbs, rows);
    let job = dbs.job(
        "killsplit.lua",
        &SPLIT.replace("page = 100", "page = 250, workers = 2"),
    );
    for (round, at_least) in [(0, 5_000u64), (1, 20_000)] {
        let extra: &[&str] = if round == 0 { &[] } else { &["--resume"] };
        let mut run = dbs.spawn(&job, extra);
        let start = Instant::now();
        loop {
            let n: u64 = dbs
                .dst
                .query_first("SELECT COUNT(*) FROM orders")
                .unwrap()
                .unwrap();
            if n >= at_least || run.ended() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{}",
                run.describe()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        run.signal(libc::SIGKILL);
        run.wait_within(Duration::from_secs(60))
            .status(-libc::SIGKILL);
    }
    let run = dbs.run(&job, &["--resume"]).ok();
    let stats = run
        .stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("stats read="))
        .unwrap_or_else(|| panic!("{}", run.describe()))
        .to_string();
    let (read, rest) = stats.split_once(" resumed=").unwrap();
    let resumed: u64 = rest.split_whitespace().next().unwrap().parse().unwrap();
    let read: u64 = read.parse().unwrap();
    assert!(resumed >= 20_000, "{}", run.describe());
    assert_eq!(read + resumed, u64::from(rows), "{}", run.describe());
    assert_split(&mut dbs);
}

#[test]
fn verify_compares_the_copys_own_table_and_says_emitted_rows_are_not_compared() {
    let mut dbs = Dbs::new("emit_verify");
    orders(&mut dbs, 300);
    let job = dbs.job("split.lua", SPLIT);
    dbs.run(&job, &[]).ok();
    // A line lost in the emitted table: verify does not see it (it compares the copy's
    // own table), and says what it did not compare.
    dbs.dst("DELETE FROM order_lines WHERE order_id = 7");
    dbs.verify(&job, &[])
        .ok()
        .says("equal")
        .says("not compared: the rows the transform emits into order_lines");
    // The copy's own table is compared as ever.
    dbs.dst("DELETE FROM orders WHERE id = 7");
    dbs.verify(&job, &[])
        .status(1)
        .says("missing in target: id=7");
}
