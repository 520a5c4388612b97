//! `ferry check` and `ferry run`'s check before an incremental copy (`since`, issue
//! 15): the scan reads the rows the run would read, those past the mark the job's
//! state keeps (less `since_overlap`); the whole table on a first run or with
//! `--full`.

use crate::support::*;

/// (kind, column, count, example keys) of every hazard of the first copy.
fn hazards(run: &Run) -> Vec<(String, String, u64, Vec<String>)> {
    hazards_found(&json(run), 0, "column")
        .into_iter()
        .map(|(kind, column, n, keys, _)| (kind, column, n, keys))
        .collect()
}

fn truncate(n: u64, keys: &[&str]) -> Vec<(String, String, u64, Vec<String>)> {
    vec![(
        "truncate".into(),
        "v".into(),
        n,
        keys.iter().map(|k| k.to_string()).collect(),
    )]
}

#[test]
fn check_of_an_incremental_copy_scans_only_the_rows_past_the_mark() {
    let mut dbs = Dbs::new("check_since");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, ts DATETIME NOT NULL, v VARCHAR(20))");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, ts DATETIME NOT NULL, v VARCHAR(5))");
    dbs.src(
        "INSERT INTO t SELECT seq, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND, 'ok' \
         FROM seq_1_to_5",
    );
    let code = "copy { from = 't', since = 'ts' }\n";
    let job = dbs.job("since.lua", code);
    // The first run: the whole table, clean; the mark is 2024-01-01 00:00:05.
    let first = dbs.command("check", "since.lua", code, &["--json"]).ok();
    assert_eq!(hazards(&first), Vec::new());
    dbs.run(&job, &["--quiet"]).ok();
    assert_eq!(dbs.count_dst("t"), 5);

    // A hazard in an old row, behind the mark (a run does not read it again), and one
    // in a new row.
    dbs.src("UPDATE t SET v = 'far too long' WHERE id = 2");
    dbs.src("INSERT INTO t VALUES (6, '2024-01-02 00:00:00', 'also too long')");
    let check = dbs
        .command("check", "since.lua", code, &["--json"])
        .status(2);
    assert_eq!(
        hazards(&check),
        truncate(1, &["id=6"]),
        "{}",
        check.describe()
    );
    let notes = json(&check)["copies"][0]["notes"].to_string();
    assert!(
        notes.contains("incremental: only the rows past the stored mark are scanned")
            && notes.contains("2024-01-01 00:00:05"),
        "{notes}"
    );
    // The run's own check says the same, and writes nothing.
    let run = dbs.run(&job, &[]).status(2).says("id=6 'also too long'");
    assert!(
        !run.stdout.contains("id=2") && !run.stderr.contains("id=2"),
        "{}",
        run.describe()
    );
    assert_eq!(dbs.count_dst("t"), 5);

    // With an overlap reaching back past row 2's time, row 2 is read again: checked.
    let overlap = "copy { from = 't', since = 'ts', since_overlap = '1 hour' }\n";
    let check = dbs
        .command("check", "since.lua", overlap, &["--json"])
        .status(2);
    assert_eq!(hazards(&check), truncate(2, &["id=2", "id=6"]));
    // --full reads the whole table again: so does its check.
    let run = dbs.run(&job, &["--full"]).status(2);
    assert!(
        run.stdout.contains("id=2 'far too long'") || run.stderr.contains("id=2 'far too long'"),
        "{}",
        run.describe()
    );
    assert_eq!(dbs.count_dst("t"), 5);
}
