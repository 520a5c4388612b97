//! `on_error = "reject"`: rows a transform raises on or the target refuses (too long,
//! NULL into NOT NULL, a duplicate through another unique key) are set aside in the
//! rejects file with their source bytes while the rest of their page commits;
//! `max_rejects` stops the copy; kill -9 and `--resume` never duplicate an entry; and
//! `--replay` copies just those rows again through the fixed job.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use serde_json::Value as Json;

use crate::support::*;

/// Source `t`: 100 rows, five of them bad for the target or the transform; row 61
/// holds every byte value in `b`.
fn planted(dbs: &mut Dbs) {
    dbs.src(
        "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(40), note VARCHAR(40) NULL, \
         code VARCHAR(10), b VARBINARY(300))",
    );
    dbs.src(
        "INSERT INTO t SELECT seq, CONCAT('n', seq), CONCAT('note ', seq), CONCAT('c', seq), \
         UNHEX(MD5(seq)) FROM seq_1_to_100",
    );
    // 17: the transform raises; 23 and 61: too long; 42: NULL into NOT NULL; 55: its
    // code is a different target row's.
    dbs.src("UPDATE t SET name = 'a name far too long' WHERE id IN (23, 61)");
    dbs.src("UPDATE t SET note = NULL WHERE id = 42");
    dbs.src(
        "UPDATE t SET b = (SELECT GROUP_CONCAT(CHAR(seq) ORDER BY seq SEPARATOR '') \
         FROM seq_0_to_255) WHERE id = 61",
    );
    dbs.dst(
        "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, note VARCHAR(40) NOT \
         NULL, code VARCHAR(10) NOT NULL, b VARBINARY(300), UNIQUE KEY code (code))",
    );
    dbs.dst("INSERT INTO t VALUES (1000, 'other', 'x', 'c55', NULL)");
}

const BAD: [i64; 5] = [17, 23, 42, 55, 61];

fn entries(path: &std::path::Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn ids(entries: &[Json]) -> Vec<i64> {
    let mut ids: Vec<i64> = entries
        .iter()
        .map(|e| e["key"]["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

fn target_ids(dbs: &mut Dbs) -> Vec<i64> {
    dbs.dst.query("SELECT id FROM t ORDER BY id").unwrap()
}

#[test]
fn bad_rows_are_set_aside_and_the_rest_of_each_page_commits() {
    let mut dbs = Dbs::new("rejects_planted");
    planted(&mut dbs);
    for write in ["bulk", "prepared", "load"] {
        let job = dbs.job(
            "planted.lua",
            &format!(
                "local s = copy {{ from = 't', page = 10, write = '{write}', on_error = 'reject',\n\
                   transform = function(r)\n\
                     if r.id == 17 then error('row 17 is bad') end\n\
                     return r\n\
                   end }}\n\
                 assert(s.read == s.written + s.unchanged + s.ignored + s.skipped + s.rejected)\n\
                 print(string.format('stats read=%d written=%d rejected=%d file=%s', s.read, \
                   s.written, s.rejected, s.rejects))\n"
            ),
        );
        // No --no-check: the check before the run notes the values it would refuse
        // instead of stopping the run, since they are set aside.
        let run = dbs
            .run(&job, &[])
            .ok()
            .says("stats read=100 written=95 rejected=5")
            .says("rejected")
            .says("planted.t.rejects.jsonl holds 5");
        let file = dbs.dir.path().join("planted.t.rejects.jsonl");
        assert!(
            run.stdout.contains(&file.display().to_string()),
            "{}",
            run.describe()
        );
        let all = entries(&file);
        assert_eq!(ids(&all), BAD, "write {write}");
        let expected: Vec<i64> = (1..=100)
            .filter(|i| !BAD.contains(i))
            .chain([1000])
            .collect();
        assert_eq!(target_ids(&mut dbs), expected, "write {write}");
        let by_id = |id: i64| all.iter().find(|e| e["key"]["id"] == id).unwrap().clone();
        let e17 = by_id(17);
        assert!(
            e17["error"].as_str().unwrap().contains("row 17 is bad"),
            "{e17}"
        );
        assert_eq!(e17["row"], Json::Null, "no target row was made: {e17}");
        assert_eq!(e17["copy"], "t");
        assert_eq!(e17["page"], 2);
        assert!(
            by_id(23)["error"].as_str().unwrap().contains("name"),
            "{}",
            by_id(23)
        );
        assert_eq!(by_id(23)["row"]["name"], "a name far too long");
        assert!(
            by_id(42)["error"].as_str().unwrap().contains("note"),
            "{}",
            by_id(42)
        );
        assert_eq!(by_id(42)["source"]["note"], Json::Null);
        assert!(
            by_id(55)["error"].as_str().unwrap().contains("code"),
            "{}",
            by_id(55)
        );
        // The original bytes, 0x00 to 0xFF, in hex (not UTF-8).
        let all_bytes: String = (0..=255u8).map(|b| format!("{b:02x}")).collect();
        assert_eq!(by_id(61)["source"]["b"]["hex"], all_bytes.as_str());
        assert_eq!(by_id(61)["source"]["name"], "a name far too long");
        assert!(by_id(61)["time"].as_str().unwrap().ends_with('Z'));
        dbs.dst("DELETE FROM t WHERE id <> 1000");
    }
}

#[test]
fn max_rejects_stops_the_copy_past_it() {
    let mut dbs = Dbs::new("rejects_max");
    planted(&mut dbs);
    let job = dbs.job(
        "max.lua",
        "copy { from = 't', page = 10, on_error = 'reject', max_rejects = 2, \
           rejects = 'out/max.jsonl' }\n",
    );
    // The third reject (id 55, page 6) stops the copy after its page, which commits
    // without it (pages 1 to 6: ids 1 to 60 but 23, 42 and 55).
    dbs.run(&job, &[])
        .status(1)
        .says("max.lua:1: copy t: on_error = \"reject\": 3 rows rejected, more than max_rejects allows (2)")
        .says("out/max.jsonl")
        .says("--resume");
    // The check before the run noted the values it would have stopped on.
    assert!(
        dbs.log()
            .contains("in column `name` will be rejected (on_error = \"reject\")"),
        "{}",
        dbs.log()
    );
    let file = dbs.dir.path().join("out/max.jsonl");
    let mut expected: Vec<i64> = (1..=60).filter(|i| ![23, 42, 55].contains(i)).collect();
    expected.push(1000);
    assert_eq!(target_ids(&mut dbs), expected);
    assert_eq!(ids(&entries(&file)), [23, 42, 55]);
    dbs.state(&job, &[])
        .ok()
        .says("part-way")
        .says("3 rows rejected");
    // --resume counts the rows earlier runs set aside: still past 2 at the next one.
    dbs.run(&job, &["--resume"])
        .status(1)
        .says("4 rows rejected, more than max_rejects allows (2)");
    // Raised (a run option, not the plan): the resumed copy finishes, each row once.
    std::fs::write(
        &job,
        "copy { from = 't', page = 10, on_error = 'reject', max_rejects = 10, \
           rejects = 'out/max.jsonl' }\n",
    )
    .unwrap();
    dbs.run(&job, &["--resume"]).ok().says("holds 4");
    dbs.state(&job, &[]).ok().says("done; 4 rows rejected");
    assert_eq!(ids(&entries(&file)), [23, 42, 55, 61]);
    let mut expected: Vec<i64> = (1..=100)
        .filter(|i| ![23, 42, 55, 61].contains(i))
        .collect();
    expected.push(1000);
    assert_eq!(target_ids(&mut dbs), expected);
    dbs.dst("DELETE FROM t WHERE id <> 1000");
    // A fraction of the rows to copy: 5 of 100 is under 10%.
    let job = dbs.job(
        "frac.lua",
        "copy { from = 't', page = 10, on_error = 'reject', max_rejects = 0.1 }\n",
    );
    dbs.run(&job, &[]).ok().says("holds 4");
    let job = dbs.job(
        "frac2.lua",
        "copy { from = 't', page = 10, on_error = 'reject', max_rejects = 0.03 }\n",
    );
    dbs.dst("DELETE FROM t WHERE id <> 1000");
    dbs.run(&job, &[])
        .status(1)
        .says("more than max_rejects allows (3)");
}

#[test]
fn a_reject_option_without_on_error_reject_is_a_job_error() {
    let dbs = Dbs::new("rejects_opts");
    dbs.run_code("copy { from = 't', max_rejects = 3 }\n", &[])
        .status(2)
        .says("`rejects` and `max_rejects` go with on_error = \"reject\"");
    dbs.run_code("copy { from = 't', on_error = 'skip' }\n", &[])
        .status(2)
        .says("unknown on_error `skip`");
}

#[test]
fn replay_copies_just_the_rejected_rows_through_the_fixed_job() {
    let mut dbs = Dbs::new("rejects_replay");
    planted(&mut dbs);
    let job = dbs.job(
        "orders.lua",
        "copy { from = 't', page = 10, on_error = 'reject', transform = function(r)\n\
           if r.id == 17 then error('row 17 is bad') end\n\
           return r\n\
         end }\n",
    );
    dbs.run(&job, &[]).ok().says("holds 5");
    dbs.src("CREATE TABLE u (id INT PRIMARY KEY)");
    dbs.src("INSERT INTO u VALUES (1), (2)");
    dbs.dst("CREATE TABLE u (id INT PRIMARY KEY)");
    let file = dbs.dir.path().join("orders.t.rejects.jsonl");
    let kept = dbs.dir.path().join("first.jsonl");
    std::fs::copy(&file, &kept).unwrap();
    // Rows that are good now but not in the file must not be read: change one.
    dbs.src("UPDATE t SET name = 'changed' WHERE id = 3");
    // The fixed job: cuts long names, fills a missing note, renames the code that
    // collides; no row raises.
    std::fs::write(
        &job,
        "local s = copy { from = 't', page = 10, on_error = 'reject', transform = function(r)\n\
           if #r.name > 10 then r.name = r.name:sub(1, 10) end\n\
           if r.note == null then r.note = '' end\n\
           if r.code == 'c55' then r.code = 'c55b' end\n\
           return r\n\
         end }\n\
         print(string.format('replayed read=%d written=%d rejected=%d', s.read, s.written, \
           s.rejected))\n\
         copy 'u'\n",
    )
    .unwrap();
    dbs.run(&job, &["--replay", &kept.display().to_string()])
        .ok()
        .says("replayed read=5 written=5 rejected=0");
    // What a hand-written migration makes of the source (row 3 as first copied).
    let expected = dump(
        &mut dbs.src,
        "(SELECT id, IF(id = 3, 'n3', LEFT(name, 10)) AS name, COALESCE(note, '') AS note, \
          IF(code = 'c55', 'c55b', code) AS code, b FROM t \
          UNION ALL SELECT 1000, 'other', 'x', 'c55', NULL) AS x",
        "id",
    );
    assert_eq!(dbs.dump_dst("t", "id"), expected);
    // Nothing failed this time: the file is gone, its old entries kept aside.
    assert!(entries(&file).is_empty());
    // Copy u has no entry in the file: left out.
    assert_eq!(dbs.count_dst("u"), 0);
    // --replay with --resume is refused.
    dbs.run(&job, &["--replay", &kept.display().to_string(), "--resume"])
        .status(2);
}

#[test]
fn a_replay_of_a_keyless_source_is_refused() {
    let mut dbs = Dbs::new("rejects_keyless");
    dbs.src("CREATE TABLE k (v INT)");
    dbs.dst("CREATE TABLE k (v INT)");
    let file = dbs.dir.path().join("r.jsonl");
    std::fs::write(&file, "{\"copy\":\"k\",\"key\":{},\"page\":1,\"part\":0}\n").unwrap();
    dbs.run_code(
        "copy { from = 'k', on_error = 'reject' }\n",
        &["--replay", &file.display().to_string()],
    )
    .status(2)
    .says("has no key");
}

/// kill -9 twice during a copy that sets rows aside (two key ranges writing one
/// file), then --resume: each bad row is in the file once, the target holds every
/// other row once.
#[test]
fn kill_9_and_resume_never_duplicate_a_reject() {
    let mut dbs = Dbs::new("rejects_kill");
    let rows = 40_000i64;
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(40), pad VARCHAR(200))");
    dbs.src(&format!(
        "INSERT INTO t SELECT seq, IF(seq % 89 = 0, 'a name far too long', CONCAT('n', seq)), \
         REPEAT('p', 150) FROM seq_1_to_{rows}"
    ));
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(10), pad VARCHAR(200))");
    let job = dbs.job(
        "killed.lua",
        "local s = copy { from = 't', page = 200, workers = 2, on_error = 'reject', \
           transform = function(r)\n\
             if r.id % 97 == 0 then error('no multiples of 97') end\n\
             return r\n\
           end }\n\
         print(string.format('stats read=%d resumed=%d', s.read, s.resumed))\n",
    );
    let bad: BTreeSet<i64> = (1..=rows).filter(|i| i % 97 == 0 || i % 89 == 0).collect();
    for (round, at_least) in [(0, 4_000u64), (1, 15_000)] {
        let extra: &[&str] = if round == 0 { &[] } else { &["--resume"] };
        let mut run = dbs.spawn(&job, extra);
        let start = Instant::now();
        loop {
            let n: u64 = dbs
                .dst
                .query_first("SELECT COUNT(*) FROM t")
                .unwrap()
                .unwrap();
            if n >= at_least || run.ended() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{}",
                run.describe()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        run.signal(libc::SIGKILL);
        run.wait_within(Duration::from_secs(60))
            .status(-libc::SIGKILL);
    }
    let run = dbs.run(&job, &["--resume"]).ok();
    let stats = run
        .stdout
        .lines()
        // The last: the plan pass prints its own.
        .rev()
        .find_map(|l| l.strip_prefix("stats read="))
        .unwrap_or_else(|| panic!("{}", run.describe()))
        .to_string();
    let (read, resumed) = stats.split_once(" resumed=").unwrap();
    let (read, resumed): (i64, i64) = (read.parse().unwrap(), resumed.parse().unwrap());
    assert!(resumed >= 15_000, "{}", run.describe());
    assert_eq!(read + resumed, rows, "{}", run.describe());
    let file = dbs.dir.path().join("killed.t.rejects.jsonl");
    let all = entries(&file);
    let found: Vec<i64> = ids(&all);
    let unique: BTreeSet<i64> = found.iter().copied().collect();
    assert_eq!(
        found.len(),
        unique.len(),
        "duplicate entries\n{}",
        run.describe()
    );
    assert_eq!(unique, bad, "{}", run.describe());
    let good: Vec<i64> = (1..=rows).filter(|i| !bad.contains(i)).collect();
    assert_eq!(target_ids(&mut dbs), good);
    run.says(&format!("holds {}", bad.len()));
}

/// Replay finds rows by a composite key of bytes that are not text (0xFF, a quote, a
/// backslash, NUL) and an integer, and by a DATETIME(6) key.
#[test]
fn replay_finds_rows_by_composite_binary_and_temporal_keys() {
    let mut dbs = Dbs::new("rejects_keys");
    dbs.src("CREATE TABLE b (k VARBINARY(10), n INT, v VARCHAR(20), PRIMARY KEY (k, n))");
    dbs.src(
        "INSERT INTO b VALUES (X'FF00', 1, 'long value here'), ('it''s', 2, 'ok'), \
         ('a\\\\b', 3, 'another long one'), ('plain', 4, 'x'), (X'FF00', 2, 'ok')",
    );
    dbs.dst("CREATE TABLE b (k VARBINARY(10), n INT, v VARCHAR(5), PRIMARY KEY (k, n))");
    dbs.src("CREATE TABLE d (at DATETIME(6) PRIMARY KEY, v VARCHAR(20))");
    dbs.src(
        "INSERT INTO d VALUES ('2024-02-29 13:45:00.123456', 'far too long'), \
         ('2024-03-01 00:00:00', 'ok')",
    );
    dbs.dst("CREATE TABLE d (at DATETIME(6) PRIMARY KEY, v VARCHAR(5))");
    let job = dbs.job(
        "keys.lua",
        "copy { from = 'b', on_error = 'reject' }\ncopy { from = 'd', on_error = 'reject' }\n",
    );
    dbs.run(&job, &[]).ok().says("holds 2").says("holds 1");
    let all = entries(&dbs.dir.path().join("keys.b.rejects.jsonl"));
    let ff = all.iter().find(|e| e["key"]["n"] == 1).unwrap();
    assert_eq!(ff["key"]["k"]["hex"], "ff00", "{all:?}");
    // Fixed: values cut to the column.
    std::fs::write(
        &job,
        "local function cut(r) r.v = r.v:sub(1, 5) return r end\n\
         local b = copy { from = 'b', on_error = 'reject', transform = cut }\n\
         local d = copy { from = 'd', on_error = 'reject', transform = cut }\n\
         if not planning then print(string.format('read b=%d d=%d', b.read, d.read)) end\n",
    )
    .unwrap();
    // Just the file's rows are read; the other copy is left out.
    for (copy, read) in [("b", "read b=2 d=0"), ("d", "read b=0 d=1")] {
        let file = dbs.dir.path().join(format!("keys.{copy}.rejects.jsonl"));
        let kept = dbs.dir.path().join(format!("{copy}.replay.jsonl"));
        std::fs::copy(&file, &kept).unwrap();
        dbs.run(&job, &["--replay", &kept.display().to_string()])
            .ok()
            .says(read);
    }
    let expected = dump(
        &mut dbs.src,
        "(SELECT k, n, LEFT(v, 5) AS v FROM b) AS x",
        "k, n",
    );
    assert_eq!(dbs.dump_dst("b", "k, n"), expected);
    let expected = dump(
        &mut dbs.src,
        "(SELECT at, LEFT(v, 5) AS v FROM d) AS x",
        "at",
    );
    assert_eq!(dbs.dump_dst("d", "at"), expected);
}

/// A copy of many tables sets rows aside per table, each in its own file.
#[test]
fn a_copy_of_many_tables_sets_rows_aside_per_table() {
    let mut dbs = Dbs::new("rejects_tables");
    for t in ["a", "b"] {
        dbs.src(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(20))"
        ));
        dbs.src(&format!(
            "INSERT INTO {t} SELECT seq, IF(seq = 5, 'far too long', 'ok') FROM seq_1_to_9"
        ));
        dbs.dst(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(5))"
        ));
    }
    let job = dbs.job(
        "many.lua",
        "local s = copy { tables = '*', on_error = 'reject' }\n\
         if not planning then print('rejected=' .. s.rejected) end\n",
    );
    dbs.run(&job, &[]).ok().says("rejected=2");
    for t in ["a", "b"] {
        let all = entries(&dbs.dir.path().join(format!("many.{t}.rejects.jsonl")));
        assert_eq!(ids(&all), [5], "table {t}");
        assert_eq!(dbs.count_dst(t), 8);
    }
}

/// A rejects file that cannot be written stops the copy before the page whose rows it
/// should hold commits: no row is lost unrecorded.
#[test]
fn an_unwritable_rejects_file_stops_the_copy_before_its_page() {
    let mut dbs = Dbs::new("rejects_unwritable");
    planted(&mut dbs);
    let job = dbs.job(
        "nowhere.lua",
        "copy { from = 't', page = 10, on_error = 'reject', rejects = '/dev/null/r.jsonl' }\n",
    );
    dbs.run(&job, &[])
        .status(1)
        .says("/dev/null/r.jsonl")
        .says("rejects file");
    // Pages 1 and 2 committed; page 3 (id 23 refused) did not.
    let mut expected: Vec<i64> = (1..=20).collect();
    expected.push(1000);
    assert_eq!(target_ids(&mut dbs), expected);
}
