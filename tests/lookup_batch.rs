//! `lookup{..., from = "column"}`: a page's keys are asked in one `IN` query per page
//! per lookup before its transforms run (counted in the target server's general log),
//! found, missing and `required` keys answer as key by key, and keys the `IN` query
//! cannot settle (another case in a case-insensitive column) are still asked alone.

use crate::support::*;
use mysql::prelude::Queryable;

/// The statements the target server ran against `table` of the test's database while
/// `f` ran (its general log, on for that time: one test at a time, as the log is the
/// server's).
pub fn statements_on(dbs: &mut Dbs, table: &str, f: impl FnOnce(&mut Dbs)) -> Vec<String> {
    static LOG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = LOG.lock().unwrap_or_else(|e| e.into_inner());
    // The log table keeps what other tests' windows caught of this database's
    // earlier statements (a run of this test while another test had the log on):
    // only this window's lines count.
    let since: String = dbs.dst.query_first("SELECT NOW(6)").unwrap().unwrap();
    dbs.dst("SET GLOBAL log_output = 'TABLE'");
    dbs.dst("SET GLOBAL general_log = 1");
    f(dbs);
    dbs.dst("SET GLOBAL general_log = 0");
    let like = format!("%`{}`.`{table}`%", dbs.dst_db);
    dbs.dst
        .exec(
            "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log \
             WHERE command_type IN ('Query', 'Execute') AND argument LIKE ? \
             AND event_time >= ?",
            (like, since),
        )
        .unwrap()
}

fn setup(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE people (id INT PRIMARY KEY, cid INT NULL, code VARCHAR(2) NULL)");
    // 20 rows in pages of 7: ids 1..20, country ids 1..5 (and 9, in no row), codes
    // 'C1'..'C5' ('c2' for row 20: another case, and 'XX', in no row).
    dbs.src(
        "INSERT INTO people SELECT seq, IF(seq = 13, 9, 1 + seq % 5), \
         CASE seq WHEN 20 THEN 'c2' WHEN 6 THEN 'XX' WHEN 7 THEN NULL ELSE CONCAT('C', 1 + seq % 5) END \
         FROM seq_1_to_20",
    );
    dbs.dst("CREATE TABLE countries (id INT PRIMARY KEY, code VARCHAR(2) NOT NULL UNIQUE, name VARCHAR(20) NOT NULL)");
    dbs.dst("INSERT INTO countries SELECT seq, CONCAT('C', seq), CONCAT('country ', seq) FROM seq_1_to_5");
    dbs.dst("CREATE TABLE people (id INT PRIMARY KEY, by_id VARCHAR(20) NULL, by_code INT NULL)");
}

const JOB: &str = r#"
local name = lookup { table = "countries", key = "id", value = "name", from = "cid" }
local id = lookup { table = "countries", key = "code", value = "id", from = "people.code" }
-- Another table's column: not asked ahead for this copy.
local other = lookup { table = "countries", key = "name", value = "id", from = "elsewhere.code" }
copy {
  from = "people", page = 7,
  transform = function(r)
    return { id = r.id, by_id = name(r.cid), by_code = id(r.code) }
  end,
}
"#;

#[test]
fn a_pages_keys_are_asked_in_one_query() {
    let mut dbs = Dbs::new("lookup_batch");
    setup(&mut dbs);
    let mut run = None;
    let sql = statements_on(&mut dbs, "countries", |dbs| {
        run = Some(dbs.run_code(JOB, &["--no-check"]).ok());
    });
    let run = run.unwrap();
    assert!(
        run.stderr.is_empty() || !run.stderr.contains("error"),
        "{}",
        run.describe()
    );
    let rows: Vec<(i32, Option<String>, Option<i32>)> = dbs
        .dst
        .query("SELECT id, by_id, by_code FROM people ORDER BY id")
        .unwrap();
    assert_eq!(rows.len(), 20, "{}", run.describe());
    for (id, by_id, by_code) in &rows {
        let cid = if *id == 13 { 9 } else { 1 + id % 5 };
        let want = (cid != 9).then(|| format!("country {cid}"));
        assert_eq!(by_id, &want, "row {id}");
        let code = match id {
            6 | 7 => None,
            // 'c2' finds 'C2' as the server compares (case-insensitive).
            20 => Some(2),
            _ => Some(1 + id % 5),
        };
        assert_eq!(by_code, &code, "row {id}");
    }
    let sql: Vec<&String> = sql.iter().filter(|s| s.starts_with("SELECT")).collect();
    let count = |pat: &str| sql.iter().filter(|s| s.contains(pat)).count();
    // Per lookup, one IN query for the plan pass's sample and one for each page of the
    // real pass with a key not known yet (pages 1 and 2 for ids: 9 first shows in page
    // 2; pages 1 and 3 for codes: 'c2' in page 3), never one per row.
    assert_eq!(count("`id` IN ("), 3, "{sql:#?}");
    assert_eq!(count("`code` IN ("), 3, "{sql:#?}");
    // Integer keys are settled by the IN query, found or not (9 is in no row); 'XX' and
    // 'c2' (not given back as written, in a case-insensitive column) are asked alone,
    // once per pass; and the plan pass asks its first row's keys before its sample.
    assert_eq!(count("`id` = "), 1, "{sql:#?}");
    assert_eq!(count("`code` = 'C2'"), 1, "{sql:#?}");
    assert_eq!(count("`code` = 'XX'"), 2, "{sql:#?}");
    assert_eq!(count("`code` = 'c2'"), 1, "{sql:#?}");
    assert_eq!(sql.len(), 11, "{sql:#?}");
}

#[test]
fn a_required_key_the_pages_query_did_not_find_names_the_row() {
    let mut dbs = Dbs::new("lookup_batch_required");
    setup(&mut dbs);
    dbs.run_code(
        r#"local name = lookup { table = "countries", key = "id", value = "name", from = "cid", required = true }
copy {
  from = "people", page = 7,
  transform = function(r) return { id = r.id, by_id = name(r.cid) } end,
}
"#,
        &["--no-check"],
    )
    .status(1)
    .says("row id=13")
    .says("lookup countries.id: no row with id = 9 (required = true)");
    // Page 1 is committed, page 2 (rows 8 to 14) rolled back.
    assert_eq!(dbs.count_dst("people"), 7);
}
