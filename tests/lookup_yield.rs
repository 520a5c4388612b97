//! Lookups in the issue's own form, `lookup{ table=, key=, value= }` called in a
//! transform with no `from`: a page's transforms run together, and the keys they wait
//! for are asked in one `IN` query per page per lookup (counted in the target server's
//! general log). The rows are those a query per row gives, in order; `required` names
//! the row; a rejected row is isolated; emitted rows carry the looked-up values; a call
//! that cannot wait (inside `string.gsub`'s callback, a coroutine of the transform's
//! own, a map function) asks its key at once and still gives the right value.

use crate::lookup_batch::statements_on;
use crate::support::*;
use mysql::prelude::Queryable;
use std::time::Duration;

/// Source `people`: 20 rows in pages of 7; each row's `cc` is a code of its own
/// ('K3', 'K6', ... 'K60': every page asks new keys), `cid` a country id 1..5 (9 for row
/// 13: in no row) and NULL for row 4. Target `codes` (k 'K1'..'K60' -> 1000 + n) and
/// `countries` (1..5).
pub fn setup(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE people (id INT PRIMARY KEY, cc VARCHAR(4) NOT NULL, cid INT NULL)");
    dbs.src(
        "INSERT INTO people SELECT seq, CONCAT('K', 3 * seq), \
         CASE seq WHEN 13 THEN 9 WHEN 4 THEN NULL ELSE 1 + seq % 5 END FROM seq_1_to_20",
    );
    dbs.dst("CREATE TABLE codes (k VARCHAR(4) PRIMARY KEY, v INT NOT NULL)");
    dbs.dst("INSERT INTO codes SELECT CONCAT('K', seq), 1000 + seq FROM seq_1_to_60");
    dbs.dst("CREATE TABLE countries (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)");
    dbs.dst("INSERT INTO countries SELECT seq, CONCAT('country ', seq) FROM seq_1_to_5");
    dbs.dst(
        "CREATE TABLE people (id INT PRIMARY KEY, code_id INT NULL, country VARCHAR(20) NULL, \
         n INT NULL)",
    );
}

/// What each row must get, as a query per row gives it.
pub fn expected() -> Vec<(i32, Option<i32>, Option<String>)> {
    (1..=20)
        .map(|id| {
            let country = match id {
                13 | 4 => None,
                _ => Some(format!("country {}", 1 + id % 5)),
            };
            (id, Some(1000 + 3 * id), country)
        })
        .collect()
}

pub fn written(dbs: &mut Dbs) -> Vec<(i32, Option<i32>, Option<String>)> {
    dbs.dst
        .query("SELECT id, code_id, country FROM people ORDER BY id")
        .unwrap()
}

const ISSUE_FORM: &str = r#"
local code = lookup { db = target(), table = "codes", key = "k", value = "v" }
local country = lookup { table = "countries", key = "id", value = "name" }
copy {
  from = "people", page = 7,
  transform = function(r)
    return { id = r.id, code_id = code(r.cc), country = country(r.cid), n = null }
  end,
}
"#;

#[test]
fn the_issues_form_asks_one_in_query_per_page_per_lookup() {
    let mut dbs = Dbs::new("lookup_yield");
    setup(&mut dbs);
    let mut run = None;
    let sql = statements_on(&mut dbs, "codes", |dbs| {
        run = Some(dbs.run_code(ISSUE_FORM, &[]));
    });
    let run = run.unwrap().ok();
    assert_eq!(written(&mut dbs), expected(), "{}", run.describe());
    let sql: Vec<&String> = sql.iter().filter(|s| s.starts_with("SELECT")).collect();
    // The plan pass's sample (one page) and the real pass's three pages: one IN query
    // each, never a query per key; only the plan pass's first row, run alone to learn
    // what the transform returns, asks its key on its own.
    let ins = sql.iter().filter(|s| s.contains("`k` IN (")).count();
    assert_eq!(ins, 4, "{sql:#?}");
    let alone = sql.iter().filter(|s| s.contains("`k` = 'K3'")).count();
    assert_eq!(alone, 1, "{sql:#?}");
    assert_eq!(sql.len(), 5, "{sql:#?}");
    // Each page's query asks that page's keys: page 2 holds rows 8 to 14.
    let page2 = sql
        .iter()
        .find(|s| s.contains("'K24'"))
        .expect("a query asks row 8's key");
    for id in 8..=14 {
        assert!(page2.contains(&format!("'K{}'", 3 * id)), "{page2}");
    }
    assert!(
        !page2.contains("'K21'") && !page2.contains("'K45'"),
        "{page2}"
    );
}

#[test]
fn the_other_lookup_is_batched_too_and_its_missing_key_costs_nothing_more() {
    let mut dbs = Dbs::new("lookup_yield_int");
    setup(&mut dbs);
    let mut run = None;
    let sql = statements_on(&mut dbs, "countries", |dbs| {
        run = Some(dbs.run_code(ISSUE_FORM, &[]));
    });
    let run = run.unwrap().ok();
    assert_eq!(written(&mut dbs), expected(), "{}", run.describe());
    let sql: Vec<&String> = sql.iter().filter(|s| s.starts_with("SELECT")).collect();
    // The sample's query, page 1's (ids 1 to 4), page 2's (5, and 9: in no row, settled
    // by its IN query, an integer key in an integer column); page 3 knows its keys. And
    // the plan pass's first row asks its key on its own.
    let ins = sql.iter().filter(|s| s.contains("`id` IN (")).count();
    assert_eq!(ins, 3, "{sql:#?}");
    assert!(
        sql.iter()
            .any(|s| s.ends_with("IN (5, 9)") || s.ends_with("IN (9, 5)")),
        "{sql:#?}"
    );
    assert_eq!(sql.len(), 4, "{sql:#?}");
}

#[test]
fn calls_that_cannot_wait_ask_at_once_and_give_the_same_rows() {
    let mut dbs = Dbs::new("lookup_yield_direct");
    setup(&mut dbs);
    // Inside string.gsub's callback (a C call: no yield across it), inside a coroutine
    // of the transform's own, inside pcall (yieldable in Lua 5.4), and in a map function.
    let job = r#"
local code = lookup { table = "codes", key = "k", value = "v" }
local country = lookup { table = "countries", key = "id", value = "name" }
copy {
  from = "people", page = 7,
  transform = function(r)
    local code_id
    string.gsub(r.cc, ".+", function(s) code_id = code(s) end)
    local co = coroutine.wrap(function() return country(r.cid) end)
    local ok, name = pcall(country, r.cid)
    assert(ok and name == co(), "pcall and the coroutine agree")
    return { id = r.id, code_id = code_id, country = name, cid = r.cid }
  end,
  map = { n = function(row) return code(row.cid == null and "K1" or "K2") - 1000 end },
}
"#;
    let mut run = None;
    let sql = statements_on(&mut dbs, "codes", |dbs| {
        run = Some(dbs.run_code(job, &[]));
    });
    let run = run.unwrap().ok();
    assert_eq!(written(&mut dbs), expected(), "{}", run.describe());
    let n: Vec<(i32, i32)> = dbs
        .dst
        .query("SELECT id, n FROM people ORDER BY id")
        .unwrap();
    for (id, n) in n {
        assert_eq!(n, if id == 4 { 1 } else { 2 }, "row {id}");
    }
    // Every call of `code` asked its key at once: none waited for an IN query.
    let by_key = sql.iter().filter(|s| s.contains("`k` = ")).count();
    let ins = sql.iter().filter(|s| s.contains("`k` IN (")).count();
    assert!(by_key >= 20 && ins == 0, "{sql:#?}");
}

#[test]
fn a_required_key_names_its_row_and_a_rejected_row_is_set_aside_alone() {
    let mut dbs = Dbs::new("lookup_yield_required");
    setup(&mut dbs);
    let job = |on_error: &str| {
        format!(
            r#"local country = lookup {{ table = "countries", key = "id", value = "name", required = true }}
local s = copy {{
  from = "people", page = 7, on_error = "{on_error}",
  transform = function(r)
    if r.cid == null then return {{ id = r.id, country = null }} end
    return {{ id = r.id, country = country(r.cid) }}
  end,
}}
if not planning then print("rejected=" .. s.rejected) end
"#
        )
    };
    dbs.run_code(&job("abort"), &["--no-check"])
        .status(1)
        .says("row id=13")
        .says("lookup countries.id: no row with id = 9 (required = true)");
    // Page 1 is committed, page 2 (rows 8 to 14) rolled back.
    assert_eq!(dbs.count_dst("people"), 7);
    dbs.dst("DELETE FROM people");
    let run = dbs
        .run_code(&job("reject"), &["--no-check"])
        .ok()
        .says("rejected=1");
    let got: Vec<(i32, Option<String>)> = dbs
        .dst
        .query("SELECT id, country FROM people ORDER BY id")
        .unwrap();
    let want: Vec<(i32, Option<String>)> = expected()
        .into_iter()
        .filter(|(id, _, _)| *id != 13)
        .map(|(id, _, c)| (id, c))
        .collect();
    assert_eq!(got, want, "{}", run.describe());
}

#[test]
fn emitted_rows_carry_looked_up_values_in_order() {
    let mut dbs = Dbs::new("lookup_yield_emit");
    setup(&mut dbs);
    // Keyless: the order rows are written in shows in the auto-increment.
    dbs.dst(
        "CREATE TABLE log (seq INT AUTO_INCREMENT PRIMARY KEY, id INT NOT NULL, \
         what VARCHAR(30) NULL)",
    );
    let job = r#"
local code = lookup { table = "codes", key = "k", value = "v" }
local country = lookup { table = "countries", key = "id", value = "name" }
copy {
  from = "people", page = 7, emit = { log = "insert" },
  transform = function(r)
    emit("log", { id = r.id, what = "before" })
    local c = code(r.cc)
    emit("log", { id = r.id, what = tostring(c) })
    local name = country(r.cid)
    emit("log", { id = r.id, what = name })
    return { id = r.id, code_id = c, country = name, n = null }
  end,
}
"#;
    let run = dbs.run_code(job, &[]).ok();
    assert_eq!(written(&mut dbs), expected(), "{}", run.describe());
    let log: Vec<(i32, Option<String>)> = dbs
        .dst
        .query("SELECT id, what FROM log ORDER BY seq")
        .unwrap();
    let want: Vec<(i32, Option<String>)> = expected()
        .into_iter()
        .flat_map(|(id, c, name)| {
            [
                (id, Some("before".to_string())),
                (id, c.map(|c| c.to_string())),
                (id, name),
            ]
        })
        .collect();
    assert_eq!(log, want, "{}", run.describe());
}

#[test]
fn verify_runs_the_lookups_of_a_chunk_together_and_finds_a_changed_row() {
    let mut dbs = Dbs::new("lookup_yield_verify");
    setup(&mut dbs);
    let job = dbs.job("issue.lua", ISSUE_FORM);
    dbs.run(&job, &[]).ok();
    let mut run = None;
    let sql = statements_on(&mut dbs, "codes", |dbs| {
        run = Some(dbs.verify(&job, &[]));
    });
    run.unwrap().ok().says("equal");
    // The plan pass as in a run (its first row alone, its sample together), then the
    // one chunk's 20 rows: one IN query.
    let ins = sql.iter().filter(|s| s.contains("`k` IN (")).count();
    let alone = sql.iter().filter(|s| s.contains("`k` = ")).count();
    assert_eq!((ins, alone), (2, 1), "{sql:#?}");
    dbs.dst("UPDATE people SET code_id = 1 WHERE id = 9");
    dbs.verify(&job, &[]).status(1).says("changed: id=9");
}

#[test]
fn ctrl_c_in_the_repl_stops_a_transform_that_loops_while_rows_run_together() {
    use crate::repl::{repl, wait};
    use expectrl::{ControlCode, Expect};
    let mut dbs = Dbs::new("lookup_yield_repl");
    setup(&mut dbs);
    let mut p = repl(
        &dbs,
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        120,
    );
    wait(&mut p, "]> ");
    p.send_line("code = lookup { table = \"codes\", key = \"k\", value = \"v\" }")
        .unwrap();
    wait(&mut p, "]> ");
    // Row 10 loops for ever after its lookup, in its page's coroutines.
    p.send_line(
        "copy { from = \"people\", page = 7, transform = function(r) local v = code(r.cc) \
         if r.id == 10 then while true do end end return { id = r.id, code_id = v } end }",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    p.send(ControlCode::EndOfText).unwrap();
    wait(&mut p, "cancelled");
    wait(&mut p, "]> ");
    p.send_line("return \"after:\" .. 40 + 2").unwrap();
    wait(&mut p, "after:42");
}
