//! `lookup{...}`: a key mapped to one value or to a row of values, on the target or the
//! source, asked per distinct key and kept (`cache = "keys"`) or read whole
//! (`cache = "all"`); `null` for a missing or NULL key, or with `required = true` an
//! error naming the row; bad options (exit 2, "did you mean"); keys that are not unique.

use crate::support::*;
use mysql::prelude::Queryable;

fn setup(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, country VARCHAR(2) NULL)");
    dbs.src("INSERT INTO people VALUES (1, 'Ann', 'FR'), (2, 'Bob', 'de'), (3, 'Cy', 'XX'), (4, 'Di', NULL), (5, 'Ed', 'FR')");
    dbs.src("CREATE TABLE nick (name VARCHAR(20) PRIMARY KEY, nick VARCHAR(20) NOT NULL)");
    dbs.src("INSERT INTO nick VALUES ('Ann', 'annie'), ('Ed', 'eddie')");
    dbs.dst("CREATE TABLE countries (id INT PRIMARY KEY, code VARCHAR(2) NOT NULL UNIQUE, name VARCHAR(20) NOT NULL, founded DATE NULL)");
    dbs.dst("INSERT INTO countries VALUES (33, 'FR', 'France', '1792-09-22'), (49, 'DE', 'Germany', NULL)");
    dbs.dst("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, country_id INT NULL, country_name VARCHAR(20) NULL, founded VARCHAR(10) NULL, nick VARCHAR(20) NULL)");
}

type Person = (
    i32,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[test]
fn lookups_give_values_rows_and_null() {
    let mut dbs = Dbs::new("lookup");
    setup(&mut dbs);
    dbs.run_code(
        r#"
local country = lookup { db = target(), table = "countries", key = "code", value = "id" }
local full = lookup { table = "countries", key = "code", value = { "name", "founded" }, cache = "all" }
local nick = lookup { db = source(), table = "nick", key = "name", value = "nick" }
local by_id = lookup { table = "countries", key = "id", value = "code" }
assert(by_id(33) == "FR" and by_id("49") == "DE" and by_id(1) == null and by_id(null) == null)
copy {
  from = "people",
  transform = function(r)
    r.country_id = country(r.country)
    local c = full(r.country)
    if c ~= null then
      r.country_name, r.founded = c.name, c.founded
    else
      r.country_name, r.founded = null, null
    end
    r.nick = nick(r.name)
    return r
  end,
}
if not planning then
  -- Each distinct key is asked once and kept for the run.
  target():exec("UPDATE countries SET id = 34 WHERE code = 'FR'")
  log.info("FR is still %d", country("FR"))
end
"#,
        &[],
    )
    .ok()
    .says("FR is still 33")
    .never_says("no index starts with the key column");
    let rows: Vec<Person> = dbs
        .dst
        .query("SELECT id, country_id, country_name, founded, nick FROM people ORDER BY id")
        .unwrap();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        rows,
        vec![
            (1, Some(33), s("France"), s("1792-09-22"), s("annie")),
            // The server compares `de` with `DE` by the column's collation; `cache = "all"`
            // matches keys exactly.
            (2, Some(49), None, None, None),
            (3, None, None, None, None),
            (4, None, None, None, None),
            (5, Some(33), s("France"), s("1792-09-22"), s("eddie")),
        ]
    );
}

#[test]
fn a_required_key_that_is_missing_names_the_row() {
    let mut dbs = Dbs::new("lookup_required");
    setup(&mut dbs);
    let run = dbs
        .run_code(
            r#"local country = lookup { table = "countries", key = "code", value = "id", required = true }
copy {
  from = "people", page = 2,
  transform = function(r)
    r.country_id = country(r.country)
    return r
  end,
}
"#,
            &[],
        )
        .status(1)
        .says("row id=3")
        .says("lookup countries.code: no row with code = 'XX' (required = true)");
    assert_eq!(dbs.count_dst("people"), 2, "{}", run.describe());
}

#[test]
fn bad_lookups_are_refused_with_their_line() {
    let mut dbs = Dbs::new("lookup_bad");
    setup(&mut dbs);
    for (code, text) in [
        (
            "lookup { table = 'countris', key = 'code', value = 'id' }",
            ":1: lookup: unknown table `countris` in database ",
        ),
        (
            "lookup { table = 'countris', key = 'code', value = 'id' }",
            "(did you mean `countries`?)",
        ),
        (
            "lookup { table = 'countries', key = 'code', vlaue = 'id' }",
            ":1: lookup: unknown option `vlaue` (did you mean `value`?)",
        ),
        (
            "lookup { table = 'countries', key = 'code', value = { 'id', 'nme' } }",
            "lookup: unknown column `nme` in table countries (did you mean `name`?)",
        ),
        (
            "lookup { table = 'countries', key = 'code', value = 'id', cache = 'some' }",
            "lookup: unknown cache `some` (use \"keys\" or \"all\")",
        ),
        (
            "lookup { db = 'target', table = 'countries', key = 'code', value = 'id' }",
            "lookup: `db` must be a connection (source() or target()), not \"target\"",
        ),
        (
            "lookup { table = 'countries', value = 'id' }",
            "lookup: `key` is missing",
        ),
    ] {
        dbs.run_code(&format!("{code}\ncopy 'people'"), &[])
            .status(2)
            .says(text);
    }
    assert_eq!(dbs.count_dst("people"), 0);
}

#[test]
fn a_key_in_two_rows_is_an_error() {
    let mut dbs = Dbs::new("lookup_dup");
    setup(&mut dbs);
    dbs.dst("INSERT INTO countries VALUES (50, 'DX', 'Germany', NULL)");
    dbs.run_code(
        "local c = lookup { table = 'countries', key = 'name', value = 'id', cache = 'all' }",
        &[],
    )
    .status(1)
    .says(":1: lookup countries.name: name = 'Germany' is in more than one row; a lookup's key must be unique");
    dbs.run_code(
        r#"local c = lookup { table = "countries", key = "name", value = "id" }
copy { from = "people", transform = function(r) r.country_id = c("Germany") return r end }"#,
        &[],
    )
    .status(1)
    .says(":1: lookup countries.name: no index starts with the key column, so each key asked is a scan")
    .says("row id=1")
    .says("name = 'Germany' is in more than one row");
}
