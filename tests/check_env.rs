//! `ferry check` (issue 15): the remaining value kinds (a DOUBLE a FLOAT would print as
//! another number, text that is not JSON into a JSON column, SET members the target
//! lists in another order), a page's refusal named as check names it, and the
//! environment: privileges, `local_infile`, rows over the target's
//! `max_allowed_packet`, time zones; on a target server of its own.

use crate::support::*;
use mysql::prelude::Queryable;

fn check_on(dbs: &Dbs, target: &str, code: &str, extra: &[&str]) -> Run {
    let job = dbs.job("check.lua", code);
    let mut args = vec![
        "check".to_string(),
        job.display().to_string(),
        "--source".into(),
        dbs.src_url.clone(),
        "--target".into(),
        target.to_string(),
        "--log".into(),
        dbs.log_path().display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    ferry(&args, dbs.dir.path())
}

fn found(report: &serde_json::Value) -> Vec<(String, String, u64, Vec<String>, bool)> {
    hazards_found(report, 0, "column")
}

fn hazard(
    kind: &str,
    column: &str,
    n: u64,
    keys: &[i32],
    blocking: bool,
) -> (String, String, u64, Vec<String>, bool) {
    (
        kind.into(),
        column.into(),
        n,
        keys.iter().map(|k| format!("id={k}")).collect(),
        blocking,
    )
}

#[test]
fn check_finds_float_precision_json_and_set_order() {
    let mut dbs = Dbs::new("check_values_more");
    dbs.src(
        "CREATE TABLE v (id INT PRIMARY KEY, g DOUBLE, j LONGTEXT, s SET('a','b','c'), \
         k JSON NULL)",
    );
    // 0.1 and 3.5 read back the same from a FLOAT; the others do not.
    for row in [
        "1, 0.1, '{\"a\": 1}', 'a'",
        "2, 1.2345678901, 'not json', 'a,b'",
        "3, 3.5, NULL, ''",
        "4, 0.3333333333, '[1, 2]', 'b,c'",
        "5, 1e10, '{}', 'c'",
    ] {
        dbs.src(&format!("INSERT INTO v VALUES ({row}, NULL)"));
    }
    // MariaDB's JSON is a LONGTEXT with a json_valid CHECK: `k` into a plain LONGTEXT
    // is a note, not a scan.
    dbs.dst(
        "CREATE TABLE v (id INT PRIMARY KEY, g FLOAT, j JSON, s SET('c','b','a'), \
         k LONGTEXT NULL)",
    );
    let run = check_on(&dbs, &dbs.dst_url, "copy { from = 'v' }", &["--json"]).status(2);
    let report = json(&run);
    let mut expected = vec![
        hazard("float_precision", "g", 2, &[2, 4], true),
        hazard("json", "j", 1, &[2], true),
        hazard("set_order", "s", 2, &[2, 4], false),
    ];
    expected.sort();
    assert_eq!(found(&report), expected, "{}", run.describe());
    assert_eq!(report["blocking"].as_u64(), Some(2));
    assert_eq!(report["notes"].as_u64(), Some(1));
    assert_eq!(report["copies"][0]["hazards"][0]["kind"], "float_precision");
    assert_eq!(
        report["copies"][0]["hazards"][0]["examples"][0]["value"],
        "1.2345678901"
    );
    assert_eq!(
        report["copies"][0]["notes"][0],
        "column `k` is JSON in the source and longtext in the target: its values are \
         copied as text, which the target no longer checks to be JSON"
    );
    assert_eq!(dbs.count_dst("v"), 0);

    // Accepted: exit 0; the set_order note stays a note.
    let code = "copy { from = 'v', accept = { 'float_precision', 'json:j' } }";
    let run = check_on(&dbs, &dbs.dst_url, code, &[]).ok();
    run.says("accepted  float_precision")
        .says("accepted  json")
        .says("note      set_order")
        .says("check: 0 blocking hazards, 3 notes in 1 copy");

    // A run without its check refuses the page at the same row, in the same words.
    let job = dbs.job("g.lua", "copy { from = 'v', map = { id = 'id', g = 'g' } }");
    dbs.run(&job, &["--no-check"])
        .status(1)
        .says("row id=2")
        .says("(check: float_precision in column `g`)");
    assert_eq!(dbs.count_dst("v"), 0);
    dbs.run(&job, &[])
        .status(2)
        .says("BLOCKING  float_precision  g");
}

#[test]
fn a_page_refused_for_a_function_column_is_named_as_check_names_it() {
    let mut dbs = Dbs::new("check_per_page");
    dbs.src("CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10))");
    dbs.src("INSERT INTO p VALUES (1, 'ok'), (2, 'pad')");
    dbs.dst("CREATE TABLE p (id INT PRIMARY KEY, v CHAR(10), n INT, s VARCHAR(3))");
    // `v` and `n` made by functions: check cannot scan them, and says so.
    let code = "copy { from = 'p', map = { id = 'id', \
                v = function(r) return r.v .. ' ' end, \
                n = function(r) return r.id + 0.5 end } }";
    let run = check_on(&dbs, &dbs.dst_url, code, &["--json"]).ok();
    let notes = json(&run)["copies"][0]["notes"].to_string();
    assert!(
        notes.contains("`n`, `v` are made by map functions")
            || notes.contains("`v`, `n` are made by map functions"),
        "{notes}"
    );
    // The run refuses the first page, naming the kind and column as check would.
    let job = dbs.job("p.lua", code);
    dbs.run(&job, &[])
        .status(1)
        .says("row id=1")
        .says("(check: char_trailing_space in column `v`)");
    let code = "copy { from = 'p', map = { id = 'id', v = 'v', \
                n = function(r) return r.id + 0.5 end } }";
    let job = dbs.job("n.lua", code);
    dbs.run(&job, &[])
        .status(1)
        .says("(check: scale in column `n`)");
    // A value the server refuses (too long) is named so too.
    let code = "copy { from = 'p', map = { id = 'id', s = function(r) return r.v .. '!!' end } }";
    let job = dbs.job("s.lua", code);
    dbs.run(&job, &[])
        .status(1)
        .says("Data truncated for column 's'")
        .says("(check: truncate in column `s`)");
    assert_eq!(dbs.count_dst("p"), 0);
}

/// A target server of its own: LOAD DATA refused, a 1 MiB max_allowed_packet, another
/// time zone, and a user with only some privileges.
#[test]
fn check_reports_the_environment() {
    let server = ferry::throwaway::ThrowawayServer::start_with(
        "check-env",
        &[
            "--local-infile=0",
            "--max-allowed-packet=1M",
            "--default-time-zone=+05:00",
        ],
    )
    .unwrap_or_else(|e| panic!("starting the target server: {e:#}"));
    let base = server.url("").trim_end_matches('/').to_string();
    let source_base = {
        let probe = Dbs::new("check_env_probe");
        probe.src_url.rsplit_once('/').unwrap().0.to_string()
    };
    let mut dbs = Dbs::on("check_env", &source_base, &base);
    dbs.src("CREATE TABLE e (id INT PRIMARY KEY, big LONGTEXT, n VARCHAR(20), ts TIMESTAMP NULL)");
    dbs.src("INSERT INTO e VALUES (1, 'small', 'x', NULL), (2, REPEAT('x', 1500000), 'y', NULL)");
    dbs.dst("CREATE TABLE e (id INT PRIMARY KEY, big LONGTEXT, n VARCHAR(10), ts TIMESTAMP NULL)");

    // The narrower `n` makes a scan; the same pass measures the rows.
    let code = "copy { from = 'e', write = 'load' }";
    let run = check_on(&dbs, &dbs.dst_url, code, &["--json"]).status(2);
    let report = json(&run);
    let got: Vec<_> = found(&report)
        .into_iter()
        .map(|h| (h.0, h.2, h.3, h.4))
        .collect();
    assert_eq!(
        got,
        [
            ("local_infile".to_string(), 0, vec![], false),
            (
                "max_allowed_packet".to_string(),
                1,
                vec!["id=2".to_string()],
                true
            ),
        ],
        "{}",
        run.describe()
    );
    let notes = report["copies"][0]["notes"].to_string();
    assert!(notes.contains("the target in +05:00"), "{notes}");
    let h = report["copies"][0]["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "max_allowed_packet")
        .unwrap();
    assert_eq!(h["examples"][0]["value"], "1500002 bytes");
    assert!(h["fix"].as_str().unwrap().contains("1048576"));
    let code = "copy { from = 'e', accept = { 'max_allowed_packet' } }";
    check_on(&dbs, &dbs.dst_url, code, &[]).ok();

    // A user who may read and insert, not update: upsert needs UPDATE.
    let user = format!("kcheck{}", std::process::id());
    dbs.dst
        .query_drop(format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'"))
        .unwrap();
    dbs.dst
        .query_drop(format!(
            "GRANT SELECT, INSERT ON `{}`.* TO '{user}'@'%'",
            dbs.dst_db
        ))
        .unwrap();
    let limited = dbs.dst_url.replacen("root@", &format!("{user}:pw@"), 1);
    let code = "copy { from = 'e', accept = { 'max_allowed_packet' } }";
    check_on(&dbs, &limited, code, &[]).ok();
    let code = "copy { from = 'e', mode = 'upsert', accept = { 'max_allowed_packet' } }";
    let run = check_on(&dbs, &limited, code, &["--json"]).status(2);
    let report = json(&run);
    let h = &report["copies"][0]["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "privilege")
        .cloned()
        .unwrap_or_else(|| panic!("{}", run.describe()));
    assert_eq!(
        h["key"].as_str().unwrap(),
        format!("UPDATE on {}.e (target)", dbs.dst_db)
    );
    assert_eq!(h["blocking"], true);
    assert!(
        !run.stdout.contains("pw@") && !run.stderr.contains(":pw"),
        "{}",
        run.describe()
    );
    assert_eq!(dbs.count_dst("e"), 0);
    dbs.dst
        .query_drop(format!("DROP USER '{user}'@'%'"))
        .unwrap();
}
