//! Field mapping, defaults, function maps, transforms (modify, add fields, skip),
//! `where`, `vars`, `env`, and the built-in stdlib.

use crate::support::*;
use mysql::prelude::Queryable;

#[test]
fn map_defaults_functions_transform_and_where() {
    let mut dbs = Dbs::new("mapping");
    dbs.src("CREATE TABLE users (id INT PRIMARY KEY, Name VARCHAR(50) NOT NULL, email VARCHAR(100) NULL, first VARCHAR(20), last VARCHAR(20), deleted_at DATETIME NULL, score INT)");
    dbs.src(
        "INSERT INTO users VALUES
        (1, 'Ann', '  ANN@Example.com ', 'Ann', 'Lee', NULL, 10),
        (2, 'Bob', NULL, 'Bob', 'Ray', NULL, 20),
        (3, 'Gone', 'gone@x.org', 'G', 'One', '2020-01-01 00:00:00', 30),
        (4, 'Skip', 'skip@x.org', 'S', 'Kip', NULL, -1),
        (5, '张三', 'zhang@例子.cn', '三', '张', NULL, 50)",
    );
    dbs.dst(
        "CREATE TABLE customers (
        id INT PRIMARY KEY,
        full_name VARCHAR(50) NOT NULL,
        email VARCHAR(100) NULL,
        display VARCHAR(50) NOT NULL,
        status VARCHAR(10) NOT NULL,
        note VARCHAR(20) NULL DEFAULT 'server',
        nulled VARCHAR(20) NULL DEFAULT 'server',
        created_at DATETIME NOT NULL,
        name VARCHAR(50) NOT NULL,
        doubled INT NOT NULL,
        tier VARCHAR(10) NOT NULL)",
    );
    let run = dbs
        .run_code(
            r#"
local text = require "ferry.text"
local stats = copy {
  from = "users", to = "customers",
  where = "deleted_at IS NULL",
  map = map {
    full_name = "Name",
    email = function(r) return text.lower(text.trim(r.email)) end,
    display = function(r) return r.first .. " " .. r.last end,
    tier = "tier",
  },
  default = default { status = vars.status, nulled = null, created_at = sql "'2001-02-03 04:05:06'" },
  transform = function(row)
    if row.score < 0 then return nil end
    row.doubled = row.score * 2          -- a field the target has, by same name
    row.tier = row.score >= 20 and "gold" or "basic"   -- a field map uses
    return row
  end,
}
log.info("stats %d %d %d", stats.read, stats.written, stats.skipped)
log.info("env %s %s", env("FERRY_TEST_UNSET_VAR", "fallback"), env("HOME"))
"#,
            &["--var", "status=active"],
        )
        .ok()
        .says("stats 4 3 1")
        .says("env fallback /");
    type Row = (
        i32,
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        i32,
        String,
    );
    let rows: Vec<Row> = dbs
        .dst
        .query("SELECT id, full_name, email, display, status, note, nulled, CAST(created_at AS CHAR), name, doubled, tier FROM customers ORDER BY id")
        .unwrap();
    let expect = vec![
        (
            1,
            "Ann".to_string(),
            Some("ann@example.com".to_string()),
            "Ann Lee".to_string(),
            "active".to_string(),
            Some("server".to_string()),
            None,
            "2001-02-03 04:05:06".to_string(),
            "Ann".to_string(),
            20,
            "basic".to_string(),
        ),
        (
            2,
            "Bob".into(),
            None,
            "Bob Ray".into(),
            "active".into(),
            Some("server".into()),
            None,
            "2001-02-03 04:05:06".into(),
            "Bob".into(),
            40,
            "gold".into(),
        ),
        (
            5,
            "张三".into(),
            Some("zhang@例子.cn".into()),
            "三 张".into(),
            "active".into(),
            Some("server".into()),
            None,
            "2001-02-03 04:05:06".into(),
            "张三".into(),
            100,
            "gold".into(),
        ),
    ];
    assert_eq!(rows, expect, "{}", run.describe());
}

#[test]
fn same_name_mapping_is_exact_first_then_case_insensitive() {
    let mut dbs = Dbs::new("casemap");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, EMAIL VARCHAR(20), Email2 VARCHAR(20))");
    dbs.src("INSERT INTO t VALUES (1, 'upper', 'two')");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(20), Email2 VARCHAR(20))");
    dbs.run_code("copy 't'", &[]).ok();
    let row: Option<(i32, String, String)> = dbs.dst.query_first("SELECT * FROM t").unwrap();
    assert_eq!(row, Some((1, "upper".into(), "two".into())));
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let mut dbs = Dbs::new("dryrun");
    dbs.src("CREATE TABLE a (id INT PRIMARY KEY, name VARCHAR(10), legacy INT)");
    dbs.src("INSERT INTO a VALUES (1, 'x', 0)");
    dbs.dst("CREATE TABLE b (id INT PRIMARY KEY, full_name VARCHAR(10), status VARCHAR(5) NOT NULL, note TEXT)");
    dbs.run_code(
        "copy { from = 'a', to = 'b', map = map { full_name = 'name' }, default = default { status = 'new' } }\n\
         target():exec('INSERT INTO b VALUES (99, \"no\", \"no\", NULL)')",
        &["--dry-run"],
    )
    .ok()
    .says("full_name <- name")
    .says("status    <- default 'new'")
    .says("note      (left to the server")
    .says("unused source columns: legacy")
    .says("nothing was written");
    assert_eq!(dbs.count_dst("b"), 0);
}

#[test]
fn row_tables_list_set_and_delete_fields_and_do_not_outlive_their_call() {
    let mut dbs = Dbs::new("rowtables");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10), b VARCHAR(10), gone INT)");
    dbs.src("INSERT INTO t VALUES (1, 'x', NULL, 7), (2, 'y', 'z', 8)");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10), b VARCHAR(10), fields VARCHAR(100), added VARCHAR(10))");
    dbs.run_code(
        r#"
copy { from = "t", transform = function(r)
  r.gone = nil                      -- deleted: pairs no longer lists it
  r.added = "new"
  local names = {}
  for k, v in pairs(r) do names[#names + 1] = k end
  table.sort(names)
  r.fields = table.concat(names, ",")
  if r.id == 2 then r.a = r.a .. "!" end
  return r
end }
"#,
        &[],
    )
    .ok();
    let rows: Vec<(i32, String, Option<String>, String, String)> = dbs
        .dst
        .query("SELECT id, a, b, fields, added FROM t ORDER BY id")
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, "x".into(), None, "a,added,b,id".into(), "new".into()),
            (
                2,
                "y!".into(),
                Some("z".into()),
                "a,added,b,id".into(),
                "new".into()
            ),
        ]
    );

    // A row kept past its own transform call is an error that says so.
    let mut dbs = Dbs::new("rowkept");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))");
    dbs.src("INSERT INTO t VALUES (1, 'x'), (2, 'y')");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))");
    dbs.run_code(
        r#"
local last
copy { from = "t", transform = function(r)
  if last then r.a = last.a end
  last = r
  return r
end }
"#,
        &[],
    )
    .status(1)
    .says("row id=2")
    .says("a row table can only be used during its own transform call");
}
