//! A copy learns where its transform's lookup keys come from: after a page whose rows
//! all waited for one source column's values (`country(r.cid)`), its next pages ask
//! that column's values before their rows run, so the rows no longer wait (they run in
//! order, each to its end); keys that came from a column by chance end the guess, and
//! the values stay those a query per row gives.

use crate::lookup_batch::statements_on;
use crate::lookup_yield::{setup, written};
use crate::support::*;
use mysql::prelude::Queryable;

/// The place each row's transform came in after its lookup call (`n`), by id.
fn places(dbs: &mut Dbs) -> Vec<(i32, i32)> {
    dbs.dst
        .query("SELECT id, n FROM people ORDER BY id")
        .unwrap()
}

#[test]
fn after_a_page_that_waited_for_a_columns_values_the_pages_ask_them_ahead() {
    let mut dbs = Dbs::new("lookup_learn");
    setup(&mut dbs);
    // `n` counts the rows past their lookup call. cid by row: 2 3 4 NULL 1 2 3 | 4 5 1
    // 2 3 9 5 | 1 2 3 4 5 1.
    let job = r#"
local country = lookup { table = "countries", key = "id", value = "name" }
local past = 0
copy {
  from = "people", page = 7,
  transform = function(r)
    local name = country(r.cid)
    past = past + 1
    return { id = r.id, country = name, n = past }
  end,
}
"#;
    let mut run = None;
    let sql = statements_on(&mut dbs, "countries", |dbs| {
        run = Some(dbs.run_code(job, &[]));
    });
    let run = run.unwrap().ok();
    let got: Vec<(i32, Option<String>)> = written(&mut dbs)
        .into_iter()
        .map(|(id, _, c)| (id, c))
        .collect();
    let want: Vec<(i32, Option<String>)> = (1..=20)
        .map(|id| {
            let name = (![4, 13].contains(&id)).then(|| format!("country {}", 1 + id % 5));
            (id, name)
        })
        .collect();
    assert_eq!(got, want, "{}", run.describe());
    let n: std::collections::HashMap<i32, i32> = places(&mut dbs).into_iter().collect();
    // Page 1 ran together: row 4 (a NULL key: nothing to wait for) came past its call
    // before the rows ahead of it, which waited for their keys.
    assert!(n[&4] < n[&1], "{n:?}");
    // Pages 2 and 3 asked the cid values ahead: every row ran to its end in turn. Had
    // they waited, rows 8, 10, 11 and 12 (keys known from page 1) would have come past
    // their calls before row 9.
    for id in 9..=20 {
        assert!(n[&(id - 1)] < n[&id], "row {id}: {n:?}");
    }
    // Still one IN query per page that had keys to ask: the sample's, page 1's (1 to
    // 4), page 2's (5 and 9, the page's cid values not known); page 3 knows its keys.
    let sql: Vec<&String> = sql.iter().filter(|s| s.starts_with("SELECT")).collect();
    let ins: Vec<&&String> = sql.iter().filter(|s| s.contains("`id` IN (")).collect();
    assert_eq!(ins.len(), 3, "{sql:#?}");
    assert!(ins[2].ends_with("IN (5, 9)"), "{sql:#?}");
}

#[test]
fn keys_that_came_from_a_column_by_chance_end_the_guess_and_the_values_hold() {
    let mut dbs = Dbs::new("lookup_learn_chance");
    setup(&mut dbs);
    // Page 1's keys are its cc values ('K3' ... 'K21'); from row 8 on the keys are
    // 'K8', 'K9', ...: page 2 asks its cc values ahead for nothing, its rows wait, and
    // the copy stops asking ahead.
    let job = r#"
local code = lookup { table = "codes", key = "k", value = "v" }
copy {
  from = "people", page = 7,
  transform = function(r)
    local key = r.id <= 7 and r.cc or ("K" .. r.id)
    return { id = r.id, code_id = code(key), n = null }
  end,
}
"#;
    let mut run = None;
    let sql = statements_on(&mut dbs, "codes", |dbs| {
        run = Some(dbs.run_code(job, &[]));
    });
    let run = run.unwrap().ok();
    let codes: Vec<(i32, Option<i32>)> = written(&mut dbs)
        .into_iter()
        .map(|(id, c, _)| (id, c))
        .collect();
    let want: Vec<(i32, Option<i32>)> = (1..=20)
        .map(|id| (id, Some(1000 + if id <= 7 { 3 * id } else { id })))
        .collect();
    assert_eq!(codes, want, "{}", run.describe());
    // The sample's query, page 1's, page 2's two (its cc values ahead, then the keys
    // its rows waited for), page 3's one: one query more than without the guess, once.
    let sql: Vec<&String> = sql.iter().filter(|s| s.starts_with("SELECT")).collect();
    let ins: Vec<&&String> = sql.iter().filter(|s| s.contains("`k` IN (")).collect();
    assert_eq!(ins.len(), 5, "{sql:#?}");
    assert!(
        ins[2].contains("'K24'") && ins[3].contains("'K8'"),
        "{sql:#?}"
    );
    assert!(
        ins[4].contains("'K16'") && !ins[4].contains("'K45'"),
        "{sql:#?}"
    );
}
