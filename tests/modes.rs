//! Each write mode on a pre-populated target: exact contents and exact counts, with
//! single-row and multi-row statements.

use crate::support::*;
use mysql::prelude::Queryable;

fn setup(name: &str) -> Dbs {
    let mut dbs = Dbs::new(name);
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)");
    dbs.src("INSERT INTO t VALUES (1,'one'),(2,'two'),(3,'three'),(4,'four'),(5,'five')");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, extra VARCHAR(10) NOT NULL DEFAULT 'dflt')");
    dbs.dst("INSERT INTO t VALUES (1,'old1','kept'),(2,'two','kept'),(9,'nine','kept')");
    dbs
}

fn run_mode(mode: &str, page: u32, write: &str) -> (Vec<(i32, String, String)>, String) {
    let mut dbs = setup(mode);
    let run = dbs
        .run_code(
            &format!(
                "local s = copy {{ from = 't', mode = '{mode}', page = {page}, write = '{write}' }}\n\
                 log.info('counts read=%d written=%d inserted=%d updated=%d unchanged=%d ignored=%d \
                 conflicts=%d skipped=%d', s.read, s.written, s.inserted, s.updated, s.unchanged, \
                 s.ignored, s.conflicts, s.skipped)\n"
            ),
            &[],
        )
        .ok();
    let rows = dbs
        .dst
        .query("SELECT id, v, extra FROM t ORDER BY id")
        .unwrap();
    let counts = run
        .stderr
        .lines()
        .find(|l| l.starts_with("counts "))
        .unwrap_or_else(|| panic!("no counts line\n{}", run.describe()))
        .to_string();
    (rows, counts)
}

/// Runs `mode` at page sizes 1, 2 and 1000 (single- and multi-row statements) and
/// checks the target's rows and the copy's counts each time.
fn check_mode(mode: &str, expected: &[(i32, &str, &str)], expected_counts: &str) {
    let expected: Vec<(i32, String, String)> = expected
        .iter()
        .map(|(i, v, e)| (*i, v.to_string(), e.to_string()))
        .collect();
    // Bulk execution (the default), multi-row prepared INSERTs and LOAD DATA (upsert
    // has no LOAD DATA form: it falls back).
    for write in ["bulk", "prepared", "load"] {
        for page in [1, 2, 1000] {
            let (got, counts) = run_mode(mode, page, write);
            assert_eq!(got, expected, "page {page}, write {write}");
            assert_eq!(counts, expected_counts, "page {page}, write {write}");
        }
    }
}

#[test]
fn insert_keeps_existing_rows_and_counts_them_ignored() {
    check_mode(
        "insert",
        &[
            (1, "old1", "kept"),
            (2, "two", "kept"),
            (3, "three", "dflt"),
            (4, "four", "dflt"),
            (5, "five", "dflt"),
            (9, "nine", "kept"),
        ],
        "counts read=5 written=3 inserted=3 updated=0 unchanged=0 ignored=2 conflicts=0 skipped=0",
    );
}

#[test]
fn overwrite_replaces_rows_and_resets_unmapped_columns() {
    check_mode(
        "overwrite",
        &[
            (1, "one", "dflt"),
            (2, "two", "dflt"),
            (3, "three", "dflt"),
            (4, "four", "dflt"),
            (5, "five", "dflt"),
            (9, "nine", "kept"),
        ],
        "counts read=5 written=5 inserted=3 updated=2 unchanged=0 ignored=0 conflicts=0 skipped=0",
    );
}

#[test]
fn upsert_updates_mapped_columns_and_keeps_the_rest() {
    // Row 2 is identical in the target: left as it was, so counted unchanged.
    check_mode(
        "upsert",
        &[
            (1, "one", "kept"),
            (2, "two", "kept"),
            (3, "three", "dflt"),
            (4, "four", "dflt"),
            (5, "five", "dflt"),
            (9, "nine", "kept"),
        ],
        "counts read=5 written=4 inserted=3 updated=1 unchanged=1 ignored=0 conflicts=0 skipped=0",
    );
}

#[test]
fn overwrite_into_a_keyless_target_only_inserts() {
    let mut dbs = Dbs::new("keyless_overwrite");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)");
    dbs.src("INSERT INTO t VALUES (1,'a'),(2,'b')");
    dbs.dst("CREATE TABLE t (id INT, v VARCHAR(20))");
    dbs.dst("INSERT INTO t VALUES (1,'a')");
    dbs.run_code("copy { from = 't', mode = 'overwrite' }", &[])
        .ok()
        .says("has no primary or unique key: mode overwrite can only insert");
    assert_eq!(dbs.count_dst("t"), 3);
}

/// A server that refuses LOAD DATA LOCAL INFILE (`local_infile` off): a copy asking
/// for `write = "load"` says so once and writes with prepared statements instead.
#[test]
fn load_data_falls_back_to_prepared_statements_when_the_server_refuses_it() {
    let server = ferry::throwaway::ThrowawayServer::start_with("noinfile", &["--local-infile=0"])
        .unwrap_or_else(|e| panic!("starting a server without local_infile: {e:#}"));
    let base = server.url("").trim_end_matches('/').to_string();
    let mut dbs = Dbs::on("noinfile", &base, &base);
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)");
    dbs.src("INSERT INTO t VALUES (1,'one'),(2,'two'),(3,'three')");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)");
    let run = dbs
        .run_code("copy { from = 't', write = 'load', page = 2 }", &[])
        .ok();
    run.says("refuses LOAD DATA LOCAL INFILE");
    let rows: Vec<(i32, String)> = dbs.dst.query("SELECT id, v FROM t ORDER BY id").unwrap();
    assert_eq!(
        rows,
        vec![(1, "one".into()), (2, "two".into()), (3, "three".into())]
    );
}

/// A target with a small `max_allowed_packet` (1 MiB): a page of 3 MB crosses undecoded
/// in several bulk requests, each under the limit, with every request's counts added
/// up (rows already in the target are ignored in every one of them), and no request is
/// refused and written again row by row.
#[test]
fn a_page_bigger_than_max_allowed_packet_goes_in_several_bulk_requests() {
    let server =
        ferry::throwaway::ThrowawayServer::start_with("smallpacket", &["--max-allowed-packet=1M"])
            .unwrap_or_else(|e| panic!("starting a server with a 1 MiB max_allowed_packet: {e:#}"));
    let base = server.url("").trim_end_matches('/').to_string();
    let mut dbs = Dbs::on("smallpacket", &base, &base);
    let table = "CREATE TABLE t (id INT PRIMARY KEY, v MEDIUMBLOB NOT NULL)";
    dbs.src(table);
    dbs.src("INSERT INTO t SELECT seq, REPEAT(UNHEX(SHA2(seq, 256)), 320) FROM seq_1_to_300");
    dbs.dst(table);
    // Rows spread over the page, so each request meets some of them.
    dbs.dst("INSERT INTO t SELECT seq * 6, 'old' FROM seq_1_to_50");
    let run = dbs
        .run_code(
            "local s = copy { from = 't' }\n\
             log.info('counts read=%d inserted=%d ignored=%d', s.read, s.inserted, s.ignored)\n",
            &[],
        )
        .ok();
    let run = run.says("counts read=300 inserted=250 ignored=50");
    let log = dbs.log();
    assert!(log.contains("rows cross undecoded"), "{}", run.describe());
    assert!(!log.contains("a bulk request failed"), "{log}");
    let kept: u64 = dbs
        .dst
        .query_first("SELECT COUNT(*) FROM t WHERE v = 'old'")
        .unwrap()
        .unwrap();
    assert_eq!(kept, 50);
    let sum = |conn: &mut mysql::Conn| -> Vec<(i32, String)> {
        conn.query("SELECT id, MD5(v) FROM t WHERE v <> 'old' ORDER BY id")
            .unwrap()
    };
    let copied = sum(&mut dbs.dst);
    assert_eq!(copied.len(), 250);
    let source: Vec<(i32, String)> = sum(&mut dbs.src)
        .into_iter()
        .filter(|(id, _)| id % 6 != 0 || *id > 300)
        .collect();
    assert_eq!(copied, source);
}
