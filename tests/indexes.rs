//! Secondary indexes built after the load (`defer_indexes`): the target's definition
//! comes back exactly, whatever the index (composite, prefix, descending, commented,
//! oddly named), unique and full-text keys stay on during the load, and a non-empty
//! target, a foreign key or `defer_indexes = false` keep every index on. Kills and
//! restarts mid-load are in `faults.rs`.

use mysql::prelude::Queryable;

use crate::support::*;

/// A table with every kind of index: primary, unique, full-text, and plain ones that
/// are composite, prefixed, descending, commented, and named with a backtick, a space
/// and CJK.
const INDEXED: &str = "CREATE TABLE t (\
    id INT NOT NULL PRIMARY KEY, \
    a VARCHAR(40) NOT NULL, \
    b INT NOT NULL, \
    c DATETIME(6) NULL, \
    body TEXT NULL, \
    UNIQUE KEY u_b (b), \
    KEY k_a (a(10)), \
    KEY k_ab (a, b DESC) COMMENT 'for lookups, by a then b', \
    KEY `we``ird 名前` (c, id), \
    FULLTEXT KEY ft_body (body)\
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

/// A pair of databases for test `name`: `t` (`INDEXED`) with `rows` rows on the source,
/// and empty on the target.
fn indexed_pair(name: &str, rows: u64) -> Dbs {
    let mut dbs = Dbs::new(name);
    dbs.src(INDEXED);
    dbs.dst(INDEXED);
    dbs.src(&format!(
        "INSERT INTO t SELECT seq, CONCAT('名前 ', seq % 977, ' 😀'), seq * 7, \
           IF(seq % 5 = 0, NULL, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq * 1001 MICROSECOND), \
           CONCAT('body ', seq) FROM seq_1_to_{rows}"
    ));
    dbs
}

#[test]
fn deferred_indexes_come_back_exactly_as_defined() {
    let mut dbs = indexed_pair("defer_exact", 3000);
    let before = create_table(&mut dbs.dst, "t");
    dbs.run_code("copy { from = 't', page = 500, defer_indexes = true }", &[])
        .ok()
        .says("3 secondary indexes of t built after the load (indexes k_a, k_ab, we`ird 名前)")
        .says("built k_a, k_ab, we`ird 名前");
    assert_eq!(create_table(&mut dbs.dst, "t"), before);
    assert_eq!(dbs.dump_src("t", "id"), dbs.dump_dst("t", "id"));
    // The rebuilt indexes hold every row: a lookup through each finds them.
    for (index, filter) in [
        ("k_a", "a LIKE '名前 1%'"),
        ("k_ab", "a = '名前 5 😀'"),
        ("`we``ird 名前`", "c IS NULL"),
    ] {
        let want: Option<u64> = dbs
            .src
            .query_first(format!("SELECT COUNT(*) FROM t WHERE {filter}"))
            .unwrap();
        let got: Option<u64> = dbs
            .dst
            .query_first(format!(
                "SELECT COUNT(*) FROM t FORCE INDEX ({index}) WHERE {filter}"
            ))
            .unwrap();
        assert_eq!(got, want, "rows found through {index}");
        assert!(want.unwrap() > 0, "{index}: the lookup must find rows");
    }
}

#[test]
fn big_copies_defer_by_default_and_small_ones_do_not() {
    let mut dbs = indexed_pair("defer_default", 60_000);
    dbs.src("CREATE TABLE small LIKE t");
    dbs.src("INSERT INTO small SELECT * FROM t WHERE id <= 2000");
    dbs.dst(&INDEXED.replace("CREATE TABLE t ", "CREATE TABLE small "));
    let before = create_table(&mut dbs.dst, "t");
    let run = dbs
        .run_code("copy { from = 't' }\ncopy { from = 'small' }", &[])
        .ok()
        .says("copy t: 3 secondary indexes of t built after the load");
    assert!(
        !run.stderr.contains("copy small: 3 secondary indexes"),
        "a 2,000-row copy keeps its indexes by default\n{}",
        run.describe()
    );
    assert_eq!(create_table(&mut dbs.dst, "t"), before);
    assert_eq!(dbs.dump_src("t", "id"), dbs.dump_dst("t", "id"));
    assert_eq!(dbs.dump_src("small", "id"), dbs.dump_dst("small", "id"));
}

#[test]
fn indexes_stay_on_a_non_empty_target_a_foreign_key_or_when_told() {
    let mut dbs = indexed_pair("defer_kept", 2000);
    dbs.src("CREATE TABLE parent (id INT NOT NULL PRIMARY KEY)");
    dbs.src("INSERT INTO parent SELECT seq FROM seq_1_to_10");
    dbs.src("CREATE TABLE child (id INT NOT NULL PRIMARY KEY, p INT NOT NULL, KEY k_p (p))");
    dbs.src("INSERT INTO child SELECT seq, 1 + seq % 10 FROM seq_1_to_500");

    // Not empty: one row is there before the copy.
    dbs.dst("INSERT INTO t VALUES (1, 'x', 7, NULL, NULL)");
    dbs.run_code(
        "copy { from = 't', mode = 'upsert', defer_indexes = true }",
        &[],
    )
    .ok()
    .says("the indexes of t are kept during the load: it is not empty");

    // A foreign key: the child's index backs it.
    dbs.dst("CREATE TABLE parent (id INT NOT NULL PRIMARY KEY)");
    dbs.dst(
        "CREATE TABLE child (id INT NOT NULL PRIMARY KEY, p INT NOT NULL, KEY k_p (p), \
         CONSTRAINT fk_p FOREIGN KEY (p) REFERENCES parent (id))",
    );
    let child = create_table(&mut dbs.dst, "child");
    dbs.run_code(
        "copy 'parent'\ncopy { from = 'child', defer_indexes = true }",
        &[],
    )
    .ok()
    .says("the indexes of child are kept during the load: it takes part in a foreign key");
    assert_eq!(create_table(&mut dbs.dst, "child"), child);

    // Told not to, through job{}: nothing about deferring in the log.
    dbs.dst("DROP TABLE t");
    dbs.dst(INDEXED);
    let run = dbs
        .run_code(
            "job { defer_indexes = false }\ncopy { from = 't', page = 100 }",
            &[],
        )
        .ok();
    assert!(
        !run.stderr.contains("built after the load") && !dbs.log().contains("copy t: 3 secondary"),
        "{}",
        run.describe()
    );
    assert_eq!(dbs.dump_src("t", "id"), dbs.dump_dst("t", "id"));
}

#[test]
fn a_copy_that_fails_puts_its_indexes_back_and_keeps_its_whole_pages() {
    let mut dbs = indexed_pair("defer_fail", 3000);
    let before = create_table(&mut dbs.dst, "t");
    let run = dbs
        .run_code(
            "copy { from = 't', page = 100, workers = 1, defer_indexes = true,\n\
             transform = function(r) if r.id == 1234 then error('no ' .. r.id) end return r end }",
            &[],
        )
        .status(1)
        .says("row id=1234")
        .says("built k_a, k_ab, we`ird 名前");
    assert_eq!(
        create_table(&mut dbs.dst, "t"),
        before,
        "{}",
        run.describe()
    );
    // Pages 1-12 (rows 1-1200) committed; page 13 was rolled back.
    assert_eq!(dbs.count_dst("t"), 1200);
    assert_eq!(
        index_names(&mut dbs.dst, "t"),
        ["PRIMARY", "u_b", "k_a", "k_ab", "we`ird 名前", "ft_body"]
    );
}

#[test]
fn a_bad_defer_indexes_value_is_a_plan_error() {
    let mut dbs = indexed_pair("defer_bad", 10);
    dbs.run_code("copy { from = 't', defer_indexes = 'yes' }", &[])
        .status(2)
        .says("`defer_indexes` must be true or false, not \"yes\"");
    dbs.run_code("job { defer_indexes = 1 }\ncopy 't'", &[])
        .status(2)
        .says("`defer_indexes` must be true or false, not 1");
    assert_eq!(dbs.count_dst("t"), 0);
}

/// The connection building the indexes back is killed mid-ALTER: the copy reconnects
/// and adds what is missing, as a page would; the run succeeds and the table ends
/// defined exactly as it began.
#[test]
fn a_connection_lost_while_indexes_build_is_ridden_out() {
    let mut dbs = indexed_pair("defer_kill", 200_000);
    let before = create_table(&mut dbs.dst, "t");
    let job = dbs.job(
        "defer_kill.lua",
        "copy { from = 't', defer_indexes = true }\n",
    );
    let mut run = dbs.spawn(&job, &[]);
    let dst_db = dbs.dst_db.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut killed = 0;
    while killed == 0 && !run.ended() && std::time::Instant::now() < deadline {
        let ids: Vec<u64> = dbs
            .dst
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? \
                 AND INFO LIKE 'ALTER TABLE%ADD KEY%'",
                (&dst_db,),
            )
            .unwrap();
        for id in ids {
            if dbs.dst.query_drop(format!("KILL CONNECTION {id}")).is_ok() {
                killed += 1;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(killed > 0, "the index build was not seen running");
    let run = run.wait_within(std::time::Duration::from_secs(120)).ok();
    let log = dbs.log();
    assert!(
        log.contains("adding the secondary indexes back failed") && log.contains("reconnecting"),
        "the log does not show the reconnect:\n{log}\n{}",
        run.describe()
    );
    assert_eq!(create_table(&mut dbs.dst, "t"), before);
    assert_eq!(dbs.dump_src("t", "id"), dbs.dump_dst("t", "id"));
}
