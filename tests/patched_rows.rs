//! A transform that sets a few fields of its row and returns it: the rows cross as
//! read with the set values patched in, or, when a set value is not one the row's
//! request can carry as is (another type, a key column, a value its column's check
//! refuses), decoded, as every such row did before. Either way the target holds what a
//! hand-written migration gives, and a value the server refuses names its row.

use crate::support::*;
use mysql::prelude::Queryable;

const COLUMNS: &str = "id INT PRIMARY KEY, name VARCHAR(40) NULL, n INT NULL, \
    u INT UNSIGNED NULL, d DECIMAL(8,2) NULL, c CHAR(10) NULL, dt DATETIME(6) NULL, \
    b VARBINARY(20) NULL, note TEXT NULL";

fn setup(dbs: &mut Dbs) {
    dbs.src(&format!("CREATE TABLE t ({COLUMNS})"));
    dbs.src(
        "INSERT INTO t SELECT seq, CONCAT('name ', seq), seq * 3, seq, seq / 4, \
         CONCAT('c', seq), TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq * 1001 MICROSECOND, \
         UNHEX(MD5(seq)), IF(seq % 5 = 0, NULL, REPEAT('note ', seq)) FROM seq_1_to_42",
    );
    dbs.dst(&format!("CREATE TABLE t ({COLUMNS})"));
}

/// Every column of `t` as hex (numbers and dates as their text), by id, so that
/// bytes compare exactly.
const HEXED: &str = "SELECT id, HEX(name), HEX(CAST(n AS CHAR)), HEX(CAST(u AS CHAR)), \
    HEX(CAST(d AS CHAR)), HEX(c), HEX(CAST(dt AS CHAR)), HEX(b), HEX(note) FROM";

type Hexed = Vec<(
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
)>;

#[test]
fn set_fields_write_what_a_hand_written_migration_does() {
    let mut dbs = Dbs::new("patched_rows");
    setup(&mut dbs);
    // Pages of 7: ids 1-7, 8-14, ...; page 4 (ids 22-28) also sets values the requests
    // cannot carry as read (a number into DECIMAL, a string into DATETIME, an integer
    // into an unsigned column), page 5 (29-35) moves a key.
    let job = r#"
local text = require "ferry.text"
copy {
  from = "t", page = 7,
  transform = function(r)
    local k = r.id % 6
    if k == 1 then r.name = text.upper(r.name); r.note = null
    elseif k == 2 then r.n = r.n * 2
    elseif k == 3 then r.name = r.name; r.b = "\0\1\255"
    elseif k == 4 then r.c = "x"; r.d = "12.50"
    elseif k == 5 then r.extra = 5; r.n = null
    end
    if r.id >= 22 and r.id <= 28 then
      r.d = 1.5; r.dt = "2021-02-03 04:05:06.5"; r.u = 7
    end
    if r.id >= 29 and r.id <= 35 then r.id = r.id + 100 end
    return r
  end,
}
"#;
    let run = dbs.run_code(job, &[]).ok();
    let got: Hexed = dbs.dst.query(format!("{HEXED} t ORDER BY id")).unwrap();
    // The same migration in SQL, on the source.
    let want: Hexed = dbs
        .src
        .query(format!(
            "{HEXED} (SELECT IF(id BETWEEN 29 AND 35, id + 100, id) AS id,
               IF(id % 6 = 1, UPPER(name), name) AS name,
               CASE id % 6 WHEN 2 THEN n * 2 WHEN 5 THEN NULL ELSE n END AS n,
               IF(id BETWEEN 22 AND 28, 7, u) AS u,
               CAST(IF(id BETWEEN 22 AND 28, 1.5, IF(id % 6 = 4, 12.50, d)) AS DECIMAL(8,2)) AS d,
               IF(id % 6 = 4, 'x', c) AS c,
               CAST(IF(id BETWEEN 22 AND 28, '2021-02-03 04:05:06.5', dt) AS DATETIME(6)) AS dt,
               IF(id % 6 = 3, X'0001FF', b) AS b,
               IF(id % 6 = 1, NULL, note) AS note
             FROM t) AS m ORDER BY id"
        ))
        .unwrap();
    assert_eq!(got.len(), 42);
    assert_eq!(got, want, "{}", run.describe());
}

#[test]
fn a_set_value_the_server_refuses_names_its_row() {
    let mut dbs = Dbs::new("patched_refused");
    setup(&mut dbs);
    let job = dbs.job(
        "rows.lua",
        "copy {\n  from = 't', page = 7,\n  transform = function(r) if r.id == 10 then r.name = string.rep('x', 50) end return r end,\n}\n",
    );
    dbs.run(&job, &["--no-check"])
        .status(1)
        .says("rows.lua:1: copy ")
        .says(", page 2, row id=10, column `name` = 'xxxxxxxx")
        .says("--resume")
        .never_says("row id=9")
        .never_says("at row");
    assert_eq!(
        dbs.count_dst("t"),
        7,
        "page 1 committed, page 2 rolled back"
    );
}

#[test]
fn a_set_value_its_column_would_change_is_refused_before_the_write() {
    let mut dbs = Dbs::new("patched_misfit");
    setup(&mut dbs);
    let job = dbs.job(
        "rows.lua",
        "copy {\n  from = 't', page = 7,\n  transform = function(r) if r.id == 17 then r.c = 'ab  ' end return r end,\n}\n",
    );
    dbs.run(&job, &["--no-check"])
        .status(1)
        .says(", page 3, row id=17, column `c`")
        .says("ends in spaces");
    assert_eq!(dbs.count_dst("t"), 14);
}
