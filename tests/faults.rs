//! Real faults against the real binary and real servers: ferry killed with SIGKILL at
//! random points of a 300,000-row copy and resumed (keyed and keyless targets, page
//! sizes, key ranges, table and file state), a target server killed and started again,
//! ferry's source connections killed mid-copy, SIGTERM and SIGINT, a job changed since
//! its state was written, incremental runs, `ferry state`, parallel copies and rate
//! limits. Every result is checked byte for byte against the source.
//!
//! Kill points are drawn from a seed that every failure message shows;
//! `FERRY_FAULT_SEED=N cargo test --test integration faults::` replays them.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, Value};

use crate::support::*;

/// Rows of the big table the kill tests copy.
const BIG: u64 = 300_000;

/// splitmix64: kill points that a seed replays.
struct Rng {
    seed: u64,
    state: u64,
}

impl Rng {
    fn new(test: &str) -> Rng {
        let seed = std::env::var("FERRY_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                t.as_nanos() as u64 ^ u64::from(std::process::id()) << 32
            });
        println!("{test}: seed {seed} (FERRY_FAULT_SEED={seed} replays it)");
        Rng { seed, state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

/// The columns of the mixed table: integers, NULLs, DECIMAL, DOUBLE, DATETIME(6),
/// utf8mb4 text with emoji and raw bytes (every byte value occurs).
const MIXED_COLUMNS: &str = "id INT NOT NULL, n BIGINT NULL, amount DECIMAL(20,6) NOT NULL, \
    ratio DOUBLE NULL, at DATETIME(6) NOT NULL, \
    name VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
    raw VARBINARY(40) NULL, updated_at DATETIME(6) NOT NULL";

fn mixed_ddl(table: &str, keyed: bool) -> String {
    if keyed {
        format!("CREATE TABLE {table} ({MIXED_COLUMNS}, PRIMARY KEY (id))")
    } else {
        format!("CREATE TABLE {table} ({MIXED_COLUMNS})")
    }
}

/// A keyed source table of `rows` mixed rows, generated on the server.
fn seed_mixed(dbs: &mut Dbs, table: &str, rows: u64) {
    dbs.src(&mixed_ddl(table, true));
    dbs.src(&format!(
        "INSERT INTO {table} SELECT seq, \
           IF(seq % 7 = 0, NULL, CAST(seq AS SIGNED) * 1000003 - 5000000000), \
           seq * 3.141593, \
           IF(seq % 11 = 0, NULL, seq / 3e0), \
           TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq SECOND \
             + INTERVAL (seq * 7919) % 1000000 MICROSECOND, \
           CONCAT('名前 ', seq, IF(seq % 3 = 0, ' 😀', ' é')), \
           IF(seq % 13 = 0, NULL, CONCAT(CHAR(seq % 256 USING binary), UNHEX(SHA2(seq, 256)))), \
           TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND \
         FROM seq_1_to_{rows}"
    ));
}

/// `assert_same` on one table of both sides, ordered by id.
fn assert_copied(dbs: &mut Dbs, table: &str, what: &str) {
    let src = dbs.dump_src(table, "id");
    assert_same(&src, &dbs.dump_dst(table, "id"), what);
}

/// Panics unless `dst` holds exactly the rows of `src` (both ordered by id), naming
/// missing, doubled and extra ids and the first differing row.
fn assert_same(src: &[Vec<Value>], dst: &[Vec<Value>], what: &str) {
    if src == dst {
        return;
    }
    let id = |r: &Vec<Value>| format!("{:?}", r[0]);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in dst {
        *counts.entry(id(r)).or_default() += 1;
    }
    let missing: Vec<String> = src
        .iter()
        .map(id)
        .filter(|i| !counts.contains_key(i))
        .take(10)
        .collect();
    let doubled: Vec<String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(i, n)| format!("{i} x{n}"))
        .take(10)
        .collect();
    let first = src
        .iter()
        .zip(dst)
        .position(|(a, b)| a != b)
        .unwrap_or(src.len().min(dst.len()));
    panic!(
        "{what}: the target differs from the source: {} rows vs {}; missing ids (first 10) \
         {missing:?}; doubled ids {doubled:?}; first difference at row {first}:\n  source {:?}\n  \
         target {:?}",
        src.len(),
        dst.len(),
        src.get(first),
        dst.get(first),
    );
}

/// The job's `stats` line: rows read by this run, and rows earlier runs committed.
fn read_and_resumed(run: &Run) -> (u64, u64) {
    (stat(run, "stats ", "read"), stat(run, "stats ", "resumed"))
}

/// `name=NUMBER` from the line of the run's output that starts with `prefix`.
fn stat(run: &Run, prefix: &str, name: &str) -> u64 {
    let line = run
        .stderr
        .lines()
        .chain(run.stdout.lines())
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?}\n{}", run.describe()));
    let at = line
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"));
    line[at + name.len() + 1..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{name} in {line:?}: {e}"))
}

/// How long a run may take before a test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(180);

/// Where a job's state is kept, to watch it while the job runs.
enum Watch<'a> {
    /// The state table `_ferry_state` in the target database: the job's copies, or one.
    Table { job: &'a str, copy: Option<&'a str> },
    /// A state file.
    File(&'a Path),
}

/// Rows committed so far by the watched copies that are not finished, and whether
/// every watched copy is done; `None` while there is no state yet.
fn committed(conn: &mut Conn, watch: &Watch) -> Option<(u64, bool)> {
    match watch {
        Watch::Table { job, copy } => {
            let row: Option<(Option<u64>, Option<u64>, Option<u64>)> = conn
                .exec_first(
                    "SELECT CAST(SUM(IF(part >= 0, JSON_VALUE(state, '$.read'), 0)) AS UNSIGNED), \
                       CAST(SUM(part = -1 AND JSON_VALUE(state, '$.done') = 'true') AS UNSIGNED), \
                       CAST(SUM(part = -1) AS UNSIGNED) \
                     FROM _ferry_state WHERE job = ? AND (? IS NULL OR copy_id = ?)",
                    (job, copy, copy),
                )
                .ok()?;
            let (read, done, copies) = row?;
            let copies = copies.unwrap_or(0);
            (copies > 0).then(|| (read.unwrap_or(0), done == Some(copies)))
        }
        Watch::File(path) => {
            let text = std::fs::read_to_string(path).ok()?;
            let state: serde_json::Value = serde_json::from_str(&text).ok()?;
            let copies = state["copies"].as_object()?;
            let mut read = 0;
            let mut done = !copies.is_empty();
            for c in copies.values() {
                done &= c["done"].as_bool() == Some(true);
                for p in c["parts"].as_object().into_iter().flat_map(|p| p.values()) {
                    read += p["read"].as_u64().unwrap_or(0);
                }
            }
            Some((read, done))
        }
    }
}

/// Waits until the running job has committed at least `rows` rows (as its state says)
/// and returns the rows committed then. Panics when the run ends first.
fn when_committed(conn: &mut Conn, run: &mut Spawned, watch: &Watch, rows: u64, what: &str) -> u64 {
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if run.ended() {
            panic!(
                "{what}: the run ended before {rows} rows were committed:\n{}",
                run.describe()
            );
        }
        if let Some((n, false)) = committed(conn, watch) {
            if n >= rows {
                return n;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {rows} rows were not committed within {RUN_LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// One kill -9 scenario on the table `big`: the copy is killed at a random point, the
/// `--resume` run at a later one, and a last `--resume` finishes it. The target must
/// equal the source, and the last run must read exactly the rows the state said were
/// left.
fn kill_and_resume(
    dbs: &mut Dbs,
    src_rows: &[Vec<Value>],
    rng: &mut Rng,
    name: &str,
    page: u64,
    workers: u32,
    keyed: bool,
) {
    let table = format!("t_{name}");
    let what = format!(
        "{name} (page {page}, workers {workers}, {} target, seed {})",
        if keyed { "keyed" } else { "keyless" },
        rng.seed
    );
    dbs.dst(&mixed_ddl(&table, keyed));
    let job = dbs.job(
        &format!("{name}.lua"),
        &format!(
            "local s = copy {{ from = 'big', to = '{table}', page = {page}, workers = {workers} }}\n\
             log.info('stats read=%d resumed=%d written=%d', s.read, s.resumed, s.written)\n"
        ),
    );
    let watch = Watch::Table {
        job: name,
        copy: None,
    };
    // The first kill may come before any page commits, the second as the resumed run
    // starts or anywhere later.
    let mut at = 0;
    for (round, upto) in [(1, 40), (2, 90)] {
        let hi = BIG * upto / 100;
        let rows = rng.range(at.min(hi - 1), hi);
        let delay = Duration::from_millis(rng.range(0, 25));
        let extra: &[&str] = if round == 1 { &[] } else { &["--resume"] };
        let mut run = dbs.spawn(&job, extra);
        at = when_committed(&mut dbs.dst, &mut run, &watch, rows, &what);
        // Anywhere in a page's life: reading, writing, committing.
        std::thread::sleep(delay);
        run.signal(libc::SIGKILL);
        let run = run.wait_within(RUN_LIMIT);
        assert_eq!(run.status, -libc::SIGKILL, "{what}\n{}", run.describe());
        println!("{what}: killed at {at} committed rows (kill point {rows}, +{delay:?})");
    }
    let run = dbs.run(&job, &["--resume"]).ok();
    let (read, resumed) = read_and_resumed(&run);
    assert_eq!(
        (read + resumed, read > 0),
        (BIG, true),
        "{what}: the last run read {read} rows after {resumed} committed ones\n{}",
        run.describe()
    );
    assert_same(src_rows, &dbs.dump_dst(&table, "id"), &what);
}

/// kill -9 during a 300,000-row copy and again while resuming: keyed target, pages of
/// 1,000, one key range; keyless target (a page written twice would show as
/// duplicates), pages of 7,777, three key ranges.
#[test]
fn kill_9_at_random_points_then_resume_gives_an_exact_copy() {
    let mut rng = Rng::new("kill_9_at_random_points_then_resume_gives_an_exact_copy");
    let mut dbs = Dbs::new("kill9");
    seed_mixed(&mut dbs, "big", BIG);
    let src = dbs.dump_src("big", "id");
    kill_and_resume(&mut dbs, &src, &mut rng, "keyed_1000", 1000, 1, true);
    kill_and_resume(&mut dbs, &src, &mut rng, "keyless_7777_w3", 7777, 3, false);
}

/// `mysql://root@127.0.0.1:PORT` of a throwaway server.
fn base(server: &ferry::throwaway::ThrowawayServer) -> String {
    server.url("").trim_end_matches('/').to_string()
}

/// The target server is killed (SIGKILL) mid-copy into a keyless table (two key
/// ranges, so two writers in doubt) and started again: with retries the run rides
/// through; with `retries = 0` it exits 1 and
/// `--resume` finishes it. Either way the target equals the source. Then, on the same
/// private target, a lock wait timeout (1205) is ridden through too.
#[test]
fn target_server_killed_mid_copy_and_started_again() {
    let mut rng = Rng::new("target_server_killed_mid_copy_and_started_again");
    // A private pair of servers: the shared target must not die under other tests.
    let t = std::thread::spawn(|| ferry::throwaway::ThrowawayServer::start("faults-target"));
    let source = ferry::throwaway::ThrowawayServer::start("faults-source")
        .unwrap_or_else(|e| panic!("starting the source server: {e:#}"));
    let mut target = t
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("starting the target server: {e:#}"));
    let mut dbs = Dbs::on("tkill", &base(&source), &base(&target));
    let rows = 60_000;
    seed_mixed(&mut dbs, "big", rows);
    let src = dbs.dump_src("big", "id");
    for (name, retries) in [("rides_through", 10), ("exits_resumably", 0)] {
        let what = format!("{name} (seed {})", rng.seed);
        let table = format!("t_{name}");
        dbs.dst(&mixed_ddl(&table, false));
        let job = dbs.job(
            &format!("{name}.lua"),
            &format!(
                "job {{ retries = {retries} }}\n\
                 local s = copy {{ from = 'big', to = '{table}', page = 1000, workers = 2, \
                   max_rows_per_second = 30000 }}\n\
                 log.info('stats read=%d resumed=%d', s.read, s.resumed)\n"
            ),
        );
        let watch = Watch::Table {
            job: name,
            copy: None,
        };
        let mut run = dbs.spawn(&job, &[]);
        let kill_at = rng.range(5_000, 40_000);
        let at = when_committed(&mut dbs.dst, &mut run, &watch, kill_at, &what);
        target.kill();
        println!("{what}: target killed at {at} committed rows");
        if retries > 0 {
            std::thread::sleep(Duration::from_millis(rng.range(0, 1000)));
            target.restart().unwrap();
            let run = run.wait_within(RUN_LIMIT);
            assert_eq!(run.status, 0, "{what}\n{}", run.describe());
            assert!(
                dbs.log().contains("reconnecting"),
                "{what}: the log does not show the reconnect\n{}",
                dbs.log()
            );
        } else {
            run.wait_within(RUN_LIMIT).status(1);
            target.restart().unwrap();
            let run = dbs.run(&job, &["--resume"]).ok();
            let (read, resumed) = read_and_resumed(&run);
            assert_eq!(read + resumed, rows, "{what}\n{}", run.describe());
        }
        dbs.reconnect_dst();
        assert_same(&src, &dbs.dump_dst(&table, "id"), &what);
    }

    // A lock wait timeout (1205) on a row another session holds: the page is rolled
    // back and tried again until the lock goes. (The timeout is global, and this
    // server is ours alone.)
    dbs.dst("SET GLOBAL innodb_lock_wait_timeout = 1");
    dbs.dst(&mixed_ddl("t_locked", true));
    let mut holder = mysql::Conn::new(mysql::Opts::from_url(&dbs.dst_url).unwrap()).unwrap();
    holder.query_drop("START TRANSACTION").unwrap();
    holder
        .query_drop(
            "INSERT INTO t_locked (id, amount, at, name, updated_at) \
             VALUES (30000, 0, NOW(), 'held', NOW())",
        )
        .unwrap();
    let run = dbs.spawn(
        &dbs.job(
            "locked.lua",
            "copy { from = 'big', to = 't_locked', page = 1000, workers = 1 }\n",
        ),
        &[],
    );
    let deadline = Instant::now() + RUN_LIMIT;
    while !dbs.log().contains("Lock wait timeout") {
        assert!(
            Instant::now() < deadline,
            "no lock wait timeout:\n{}",
            dbs.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    holder.query_drop("ROLLBACK").unwrap();
    run.wait_within(RUN_LIMIT).ok();
    assert_same(&src, &dbs.dump_dst("t_locked", "id"), "lock wait timeout");
}

/// Ids of ferry's connections to a database (every one but ours).
fn connections(conn: &mut Conn, db: &str) -> Vec<u64> {
    conn.exec(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
        (db,),
    )
    .unwrap()
}

/// `KILL` on ferry's source connections, twice during a rate-limited copy: the page
/// being read is read again on a new connection, the run succeeds, the target (keyless)
/// equals the source, and the log shows the reconnect.
#[test]
fn source_connections_killed_mid_copy_are_replaced() {
    let mut dbs = Dbs::new("srckill");
    let rows = 40_000;
    seed_mixed(&mut dbs, "items", rows);
    dbs.dst(&mixed_ddl("items", false));
    let job = dbs.job(
        "srckill.lua",
        "local s = copy { from = 'items', page = 1000, workers = 1, max_rows_per_second = 20000 }\n\
         log.info('stats read=%d written=%d', s.read, s.written)\n",
    );
    let mut run = dbs.spawn(&job, &[]);
    let watch = Watch::Table {
        job: "srckill",
        copy: None,
    };
    let src_db = dbs.src_db.clone();
    for at in [rows / 4, rows * 3 / 5] {
        when_committed(&mut dbs.dst, &mut run, &watch, at, "srckill");
        let ids = connections(&mut dbs.src, &src_db);
        assert!(!ids.is_empty(), "no ferry connection to the source");
        for id in ids {
            // One may have gone on its own meanwhile.
            let _ = dbs.src.query_drop(format!("KILL {id}"));
        }
    }
    let run = run.wait_within(RUN_LIMIT).ok();
    assert_eq!(stat(&run, "stats ", "read"), rows, "{}", run.describe());
    let log = dbs.log();
    assert!(
        log.contains("reading the source failed") && log.contains("reconnecting"),
        "the log does not show the reconnect:\n{log}"
    );
    assert_copied(&mut dbs, "items", "source connections killed");
}

/// SIGTERM mid-copy exits 143 and says how to resume; SIGINT during the resumed run
/// exits 130; the next `--resume` finishes with exactly the source's rows (keyless
/// target) and reads only the rows left.
#[test]
fn sigterm_and_sigint_stop_after_the_page_and_resume_exactly() {
    let mut dbs = Dbs::new("sigterm");
    let rows = 30_000;
    seed_mixed(&mut dbs, "items", rows);
    dbs.dst(&mixed_ddl("items", false));
    let job = dbs.job(
        "sigterm.lua",
        "local s = copy { from = 'items', page = 500, workers = 1, max_rows_per_second = 15000 }\n\
         log.info('stats read=%d resumed=%d', s.read, s.resumed)\n",
    );
    let watch = Watch::Table {
        job: "sigterm",
        copy: None,
    };
    let mut at = 0;
    for (signal, status, extra) in [
        (libc::SIGTERM, 143, &[][..]),
        (libc::SIGINT, 130, &["--resume"][..]),
    ] {
        let mut run = dbs.spawn(&job, extra);
        at = when_committed(&mut dbs.dst, &mut run, &watch, at + 4000, "signal");
        run.signal(signal);
        let sent = Instant::now();
        let run = run.wait_within(RUN_LIMIT).status(status).says("--resume");
        // It stops after the page in flight, not at the end of the copy.
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "{:?} to stop\n{}",
            sent.elapsed(),
            run.describe()
        );
        let (committed, _) = committed(&mut dbs.dst, &watch).unwrap();
        assert!(
            committed < rows,
            "the copy finished anyway\n{}",
            run.describe()
        );
        assert_eq!(
            dbs.count_dst("items"),
            committed,
            "rows in the target vs the state"
        );
    }
    let run = dbs.run(&job, &["--resume"]).ok();
    let (read, resumed) = read_and_resumed(&run);
    assert_eq!(
        (read + resumed, read > 0),
        (rows, true),
        "{}",
        run.describe()
    );
    assert_copied(&mut dbs, "items", "after SIGTERM and SIGINT");
}

/// `job{state = "file"}`: kill -9 and `--resume` into a keyed target gives an exact
/// copy; into a keyless target `--resume` refuses (exit 2), names the copy and writes
/// nothing.
#[test]
fn file_state_resumes_keyed_targets_and_refuses_keyless_ones() {
    let mut rng = Rng::new("file_state_resumes_keyed_targets_and_refuses_keyless_ones");
    let mut dbs = Dbs::new("filestate");
    let rows = 60_000;
    seed_mixed(&mut dbs, "items", rows);
    let src = dbs.dump_src("items", "id");
    for keyed in [true, false] {
        let name = if keyed { "file_keyed" } else { "file_keyless" };
        let what = format!("{name} (seed {})", rng.seed);
        let table = format!("t_{name}");
        dbs.dst(&mixed_ddl(&table, keyed));
        let job = dbs.job(
            &format!("{name}.lua"),
            &format!(
                "job {{ state = 'file' }}\n\
                 local s = copy {{ from = 'items', to = '{table}', page = 1000, workers = 1 }}\n\
                 log.info('stats read=%d resumed=%d', s.read, s.resumed)\n"
            ),
        );
        let state_file = dbs.dir.path().join(format!("{name}.state.json"));
        let mut run = dbs.spawn(&job, &[]);
        let kill_at = rng.range(2000, rows * 7 / 10);
        let delay = Duration::from_millis(rng.range(0, 25));
        let at = when_committed(
            &mut dbs.dst,
            &mut run,
            &Watch::File(&state_file),
            kill_at,
            &what,
        );
        std::thread::sleep(delay);
        run.signal(libc::SIGKILL);
        run.wait_within(RUN_LIMIT).status(-libc::SIGKILL);
        println!("{what}: killed at {at} committed rows");
        let in_target = dbs.count_dst(&table);
        if keyed {
            let run = dbs.run(&job, &["--resume"]).ok();
            let (read, resumed) = read_and_resumed(&run);
            assert!(read > 0 && resumed >= at, "{what}\n{}", run.describe());
            assert_same(&src, &dbs.dump_dst(&table, "id"), &what);
        } else {
            dbs.run(&job, &["--resume"])
                .status(2)
                .says(&format!("copy items -> {table}"))
                .says("no unique key");
            assert_eq!(
                dbs.count_dst(&table),
                in_target,
                "{what}: the refused run wrote"
            );
            assert!(state_file.exists(), "{what}: the state file is gone");
        }
    }
    assert!(
        !dbs.dst
            .query::<String, _>("SHOW TABLES LIKE '\\_ferry\\_state'")
            .unwrap()
            .iter()
            .any(|t| t == "_ferry_state"),
        "a file-state job created the state table"
    );
}

/// A job changed since its state was written: `--resume` refuses with a clear message
/// (exit 2, nothing written); `--resume --force` starts that copy over.
#[test]
fn a_changed_job_is_refused_on_resume_unless_forced() {
    let mut dbs = Dbs::new("changed");
    let rows = 20_000;
    seed_mixed(&mut dbs, "items", rows);
    dbs.dst(&mixed_ddl("items", true));
    let copy = "copy { from = 'items', page = 500, workers = 1, max_rows_per_second = 10000";
    let job = dbs.job(
        "changed.lua",
        &format!("local s = {copy} }}\nlog.info('stats read=%d', s.read)\n"),
    );
    let mut run = dbs.spawn(&job, &[]);
    let watch = Watch::Table {
        job: "changed",
        copy: None,
    };
    when_committed(&mut dbs.dst, &mut run, &watch, 3000, "changed");
    run.signal(libc::SIGTERM);
    run.wait_within(RUN_LIMIT).status(143);
    let before = dbs.count_dst("items");
    // Same job file, another `where`.
    dbs.job(
        "changed.lua",
        &format!("local s = {copy}, where = 'id > 0' }}\nlog.info('stats read=%d', s.read)\n"),
    );
    dbs.run(&job, &["--resume"])
        .status(2)
        .says("copy items")
        .says("changed since its state was written")
        .says("--force")
        .never_says("stats ");
    assert_eq!(dbs.count_dst("items"), before, "the refused run wrote");
    let run = dbs.run(&job, &["--resume", "--force"]).ok();
    assert_eq!(stat(&run, "stats ", "read"), rows, "{}", run.describe());
    assert_copied(&mut dbs, "items", "forced");
}

/// `since = "updated_at"` with mode upsert: the first run copies all rows, the next
/// only those updated or inserted since plus the row at the last mark (rows at the mark
/// are read again, so one committed later with the same value is not lost), `--full`
/// all again, and a run with nothing new reads only the row at the mark; the target
/// equals the source after each.
#[test]
fn incremental_runs_read_rows_from_the_mark() {
    let mut dbs = Dbs::new("since");
    seed_mixed(&mut dbs, "items", 1000);
    dbs.dst(&mixed_ddl("items", true));
    let job = dbs.job(
        "since.lua",
        "local s = copy { from = 'items', mode = 'upsert', since = 'updated_at', page = 100 }\n\
         log.info('stats read=%d written=%d', s.read, s.written)\n",
    );
    let check = |dbs: &mut Dbs, extra: &[&str], read: u64, what: &str| {
        let run = dbs.run(&job, extra).ok();
        assert_eq!(
            stat(&run, "stats ", "read"),
            read,
            "{what}\n{}",
            run.describe()
        );
        assert_copied(dbs, "items", what);
    };
    check(&mut dbs, &[], 1000, "first run");
    dbs.src(
        "UPDATE items SET name = CONCAT(name, ' changed'), raw = NULL, \
         updated_at = TIMESTAMP'2030-01-01 00:00:00' + INTERVAL id SECOND WHERE id % 100 = 7",
    );
    dbs.src(
        "INSERT INTO items SELECT 1000 + seq, seq, 1.5, NULL, NOW(6), CONCAT('new ', seq), \
         NULL, TIMESTAMP'2030-06-01 00:00:00.5' + INTERVAL seq SECOND FROM seq_1_to_5",
    );
    check(&mut dbs, &[], 16, "second run");
    check(&mut dbs, &[], 1, "nothing new");
    check(&mut dbs, &["--full"], 1005, "--full");
}

/// `ferry state` lists a killed job's copies (one done, one part-way); a plain re-run
/// starts over; `--clear` drops the state, and `--resume` then starts over too.
#[test]
fn ferry_state_shows_and_clears_a_jobs_state() {
    let mut dbs = Dbs::new("state");
    seed_mixed(&mut dbs, "a", 3000);
    seed_mixed(&mut dbs, "b", 20_000);
    dbs.dst(&mixed_ddl("a", true));
    dbs.dst(&mixed_ddl("b", true));
    let job = dbs.job(
        "twocopies.lua",
        "local a = copy { from = 'a', page = 500 }\n\
         local b = copy { from = 'b', page = 500, workers = 1, max_rows_per_second = 10000 }\n\
         log.info('stats a=%d b=%d', a.read, b.read)\n",
    );
    let state = |dbs: &Dbs, extra: &[&str]| dbs.state(&job, extra).ok();
    let mut run = dbs.spawn(&job, &[]);
    let watch = Watch::Table {
        job: "twocopies",
        copy: Some("b"),
    };
    when_committed(&mut dbs.dst, &mut run, &watch, 4000, "state");
    run.signal(libc::SIGKILL);
    run.wait_within(RUN_LIMIT).status(-libc::SIGKILL);
    let shown = state(&dbs, &[]);
    let line = |name: &str| {
        shown
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for copy {name}\n{}", shown.describe()))
            .to_string()
    };
    assert!(
        line("a").contains("done") && line("a").contains("3000"),
        "{}",
        shown.describe()
    );
    assert!(line("b").contains("part-way"), "{}", shown.describe());

    let run = dbs.run(&job, &[]).ok();
    assert_eq!(
        (stat(&run, "stats ", "a"), stat(&run, "stats ", "b")),
        (3000, 20_000),
        "a plain re-run starts over\n{}",
        run.describe()
    );
    state(&dbs, &["--clear"]).says("state dropped (2 copies)");
    state(&dbs, &[]).says("no saved state");
    let run = dbs.run(&job, &["--resume"]).ok();
    assert_eq!(
        (stat(&run, "stats ", "a"), stat(&run, "stats ", "b")),
        (3000, 20_000),
        "--resume after --clear starts over\n{}",
        run.describe()
    );
    for t in ["a", "b"] {
        assert_copied(&mut dbs, t, t);
    }
}

/// A lighter table for the bigger volume tests: id, utf8mb4 text, raw bytes.
fn seed_light(dbs: &mut Dbs, table: &str, rows: u64) {
    let ddl = format!(
        "CREATE TABLE {table} (id INT NOT NULL PRIMARY KEY, \
         v VARCHAR(30) CHARACTER SET utf8mb4 NULL, b VARBINARY(16) NULL)"
    );
    dbs.src(&ddl);
    dbs.dst(&ddl);
    dbs.src(&format!(
        "INSERT INTO {table} SELECT seq, IF(seq % 9 = 0, NULL, CONCAT('värde ', seq, ' ✓')), \
         UNHEX(MD5(seq)) FROM seq_1_to_{rows}"
    ));
}

/// `job{parallel = 2}`: two copies at once, one of them in four key ranges over
/// 200,000 rows; both exact.
#[test]
fn parallel_copies_with_key_ranges_are_exact() {
    let mut dbs = Dbs::new("parallel");
    seed_light(&mut dbs, "big", 200_000);
    seed_light(&mut dbs, "small", 30_000);
    let run = dbs
        .run_code(
            "job { parallel = 2 }\n\
             local big = copy { from = 'big', workers = 4, page = 2000 }\n\
             local small = copy { from = 'small', page = 1000 }\n\
             log.info('stats big=%d small=%d', big.read, small.read)\n",
            &[],
        )
        .ok();
    assert_eq!(
        (stat(&run, "stats ", "big"), stat(&run, "stats ", "small")),
        (200_000, 30_000)
    );
    let ranges: Option<u64> = dbs
        .dst
        .query_first(
            "SELECT JSON_LENGTH(state, '$.bounds') + 1 FROM _ferry_state \
             WHERE copy_id = 'big' AND part = -1",
        )
        .unwrap();
    assert_eq!(ranges, Some(4), "key ranges of big");
    // Both ran at once: the small copy started before the big one was done.
    let log = dbs.log();
    let (small_started, big_done) = (log.find("copy small: started"), log.find("copy big: done"));
    assert!(
        matches!((small_started, big_done), (Some(s), Some(b)) if s < b),
        "the copies did not overlap:\n{log}"
    );
    for t in ["big", "small"] {
        assert_copied(&mut dbs, t, t);
    }
}

/// Keys whose first column is not an integer are split by rows: a case-insensitive
/// text key (its order is the collation's, not the bytes'), a DATETIME(6) first column
/// of a composite key with repeated values, and a DECIMAL key; each in three ranges
/// that together hold every row exactly once, with `where` applied.
#[test]
fn keys_that_are_not_integers_split_into_ranges_by_rows() {
    let mut dbs = Dbs::new("rowsplit");
    let rows = 90_000;
    for (table, ddl, key) in [
        (
            "by_text",
            "k VARCHAR(30) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, n INT NOT NULL",
            "CONCAT(ELT(1 + seq % 6, 'a', 'B', 'ä', 'Z', '😀', 'é'), MD5(seq))",
        ),
        (
            "by_time",
            "at DATETIME(6) NOT NULL, n INT NOT NULL, PRIMARY KEY (at, n)",
            "TIMESTAMP'2024-01-01 00:00:00' + INTERVAL (seq % 4000) SECOND",
        ),
        (
            "by_decimal",
            "d DECIMAL(20,6) NOT NULL PRIMARY KEY, n INT NOT NULL",
            "(seq * 7919 % 1000003) / 7 + seq / 1000000",
        ),
    ] {
        let create = format!("CREATE TABLE {table} ({ddl})");
        dbs.src(&create);
        dbs.dst(&create);
        dbs.src(&format!(
            "INSERT INTO {table} SELECT {key}, seq FROM seq_1_to_{rows}"
        ));
        dbs.src(&format!("ANALYZE TABLE {table}"));
        let run = dbs
            .run_code(
                &format!(
                    "local s = copy {{ from = '{table}', workers = 3, page = 1000, where = 'n % 10 <> 3' }}\n\
                     log.info('stats read=%d', s.read)\n"
                ),
                &[],
            )
            .ok()
            .says(&format!("copy {table}: 3 key ranges by rows"));
        assert_eq!(stat(&run, "stats ", "read"), rows - rows / 10, "{table}");
        let order = if table == "by_time" { "at, n" } else { "n" };
        let src = dump(
            &mut dbs.src,
            &format!("(SELECT * FROM {table} WHERE n % 10 <> 3) AS x"),
            order,
        );
        assert_same(&src, &dbs.dump_dst(table, order), table);
    }
}

/// `max_rows_per_second = 20000` on 60,000 rows in pages of 1,000: the last page may
/// not start before 59,000 rows were due, 2.95 s in.
#[test]
fn a_copy_rate_limit_is_honoured() {
    let mut dbs = Dbs::new("ratecopy");
    seed_light(&mut dbs, "t", 60_000);
    let run = dbs
        .run_code(
            "local s = copy { from = 't', page = 1000, max_rows_per_second = 20000 }\n\
             log.info('stats read=%d ms=%d', s.read, math.floor(s.seconds * 1000))\n",
            &[],
        )
        .ok();
    let ms = stat(&run, "stats ", "ms");
    assert_eq!(stat(&run, "stats ", "read"), 60_000);
    assert!((2850..30_000).contains(&ms), "{ms} ms\n{}", run.describe());
    assert_copied(&mut dbs, "t", "rate");
}

/// `job{max_rows_per_second = 20000}` is shared by every copy of the job: two copies
/// of 30,000 rows take as long as one of 60,000.
#[test]
fn a_job_rate_limit_is_shared_by_its_copies() {
    let mut dbs = Dbs::new("ratejob");
    seed_light(&mut dbs, "a", 30_000);
    seed_light(&mut dbs, "b", 30_000);
    let start = Instant::now();
    let run = dbs
        .run_code(
            "job { max_rows_per_second = 20000 }\n\
             local a = copy { from = 'a', page = 1000 }\n\
             local b = copy { from = 'b', page = 1000 }\n\
             log.info('stats read=%d ms=%d', a.read + b.read, \
               math.floor((a.seconds + b.seconds) * 1000))\n",
            &[],
        )
        .ok();
    let ms = stat(&run, "stats ", "ms");
    assert_eq!(stat(&run, "stats ", "read"), 60_000);
    assert!(
        (2850..30_000).contains(&ms) && start.elapsed() >= Duration::from_millis(2850),
        "{ms} ms\n{}",
        run.describe()
    );
}

/// kill -9 and resume where rows go through a Lua transform (processed on the main
/// thread) and the key is a composite of utf8mb4 text and an integer (checkpoints
/// hold text keys): the target equals the transformed source.
#[test]
fn kill_9_with_a_transform_and_a_text_key() {
    let mut rng = Rng::new("kill_9_with_a_transform_and_a_text_key");
    let mut dbs = Dbs::new("kill9tf");
    let rows = 60_000;
    let ddl =
        "CREATE TABLE items (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
               n INT NOT NULL, v VARCHAR(40) CHARACTER SET utf8mb4 NULL, b VARBINARY(20) NULL, \
               PRIMARY KEY (k, n))";
    dbs.src(ddl);
    dbs.dst(&ddl.replace(", PRIMARY KEY (k, n)", ""));
    dbs.src(&format!(
        "INSERT INTO items SELECT CONCAT(ELT(1 + seq % 5, 'ä', 'b', 'ß', '😀', 'z'), seq % 97), \
           seq, IF(seq % 10 = 0, NULL, CONCAT('v', seq)), UNHEX(MD5(seq)) FROM seq_1_to_{rows}"
    ));
    let job = dbs.job(
        "kill9tf.lua",
        "local s = copy { from = 'items', page = 999, transform = function(r)\n\
           if r.v ~= null then r.v = r.v .. '!' end\n\
           return r\n\
         end }\n\
         log.info('stats read=%d resumed=%d', s.read, s.resumed)\n",
    );
    let watch = Watch::Table {
        job: "kill9tf",
        copy: None,
    };
    let what = format!("transform (seed {})", rng.seed);
    let mut at = 0;
    for round in 0..3 {
        let rows_at = rng.range(at, rows * (3 + 2 * round) / 10);
        let mut run = dbs.spawn(&job, if round == 0 { &[] } else { &["--resume"] });
        at = when_committed(&mut dbs.dst, &mut run, &watch, rows_at, &what);
        std::thread::sleep(Duration::from_millis(rng.range(0, 25)));
        run.signal(libc::SIGKILL);
        run.wait_within(RUN_LIMIT).status(-libc::SIGKILL);
        println!("{what}: killed at {at}");
    }
    let run = dbs.run(&job, &["--resume"]).ok();
    let (read, resumed) = read_and_resumed(&run);
    assert_eq!(read + resumed, rows, "{what}\n{}", run.describe());
    let expected = dump(
        &mut dbs.src,
        "(SELECT k, n, CONCAT(v, '!') AS v, b FROM items) AS x",
        "k, n",
    );
    assert_same(&expected, &dbs.dump_dst("items", "k, n"), &what);
}

/// An incremental copy killed part-way resumes up to the mark its first run chose
/// (rows changed meanwhile are the next run's), and the next plain run takes those
/// (with the row at the mark, which every run reads again).
#[test]
fn an_incremental_copy_resumes_within_its_window() {
    let mut dbs = Dbs::new("sinceresume");
    let rows = 20_000;
    seed_mixed(&mut dbs, "items", rows);
    dbs.dst(&mixed_ddl("items", true));
    let job = dbs.job(
        "sinceresume.lua",
        "local s = copy { from = 'items', mode = 'upsert', since = 'updated_at', page = 500, \
           workers = 1, max_rows_per_second = 20000 }\n\
         log.info('stats read=%d resumed=%d', s.read, s.resumed)\n",
    );
    let watch = Watch::Table {
        job: "sinceresume",
        copy: None,
    };
    let mut run = dbs.spawn(&job, &[]);
    when_committed(&mut dbs.dst, &mut run, &watch, 5000, "since");
    run.signal(libc::SIGKILL);
    run.wait_within(RUN_LIMIT).status(-libc::SIGKILL);
    // Changed after the window was set: an early row and a new one.
    dbs.src("UPDATE items SET name = 'late', updated_at = '2031-01-01' WHERE id = 3");
    dbs.src(
        "INSERT INTO items SELECT 100000, 1, 2.5, NULL, NOW(6), 'newer', NULL, '2031-01-02' \
         FROM DUAL",
    );
    let run = dbs.run(&job, &["--resume"]).ok();
    let (read, resumed) = read_and_resumed(&run);
    assert_eq!(read + resumed, rows, "{}", run.describe());
    // The two rows changed meanwhile, and the row at the mark, read again.
    let run = dbs.run(&job, &[]).ok();
    assert_eq!(stat(&run, "stats ", "read"), 3, "{}", run.describe());
    assert_copied(&mut dbs, "items", "since resumed");
}

/// A source without a key is read in one pass: after a kill, `--resume` starts it over
/// when the target's key keeps rows from doubling, and refuses, naming the copy, when
/// the target has no key either.
#[test]
fn a_keyless_source_starts_over_or_refuses_on_resume() {
    let mut dbs = Dbs::new("keylesssrc");
    let rows = 30_000;
    dbs.src(&format!("CREATE TABLE items ({MIXED_COLUMNS})"));
    dbs.src(&format!(
        "INSERT INTO items SELECT seq, NULL, seq, NULL, NOW(6), CONCAT('n', seq), NULL, NOW(6) \
         FROM seq_1_to_{rows}"
    ));
    for keyed in [true, false] {
        let table = if keyed { "t_keyed" } else { "t_keyless" };
        dbs.dst(&mixed_ddl(table, keyed));
        let name = format!("keylesssrc_{table}");
        let job = dbs.job(
            &format!("{name}.lua"),
            &format!(
                "local s = copy {{ from = 'items', to = '{table}', page = 500, \
                   max_rows_per_second = 20000 }}\n\
                 log.info('stats read=%d resumed=%d', s.read, s.resumed)\n"
            ),
        );
        let watch = Watch::Table {
            job: &name,
            copy: None,
        };
        let mut run = dbs.spawn(&job, &[]);
        when_committed(&mut dbs.dst, &mut run, &watch, 5000, &name);
        run.signal(libc::SIGKILL);
        run.wait_within(RUN_LIMIT).status(-libc::SIGKILL);
        let before = dbs.count_dst(table);
        if keyed {
            let run = dbs
                .run(&job, &["--resume"])
                .ok()
                .says("cannot resume part-way");
            assert_eq!(stat(&run, "stats ", "read"), rows, "{}", run.describe());
            let src = dbs.dump_src("items", "id");
            assert_same(&src, &dbs.dump_dst(table, "id"), table);
        } else {
            dbs.run(&job, &["--resume"])
                .status(2)
                .says(&format!("copy items -> {table}"))
                .says("no key");
            assert_eq!(dbs.count_dst(table), before, "the refused run wrote");
        }
    }
}

/// The state file is written after each page commits, so even a run stopped before its
/// first save may have landed a page: into a keyless target, `--resume` from a file
/// must refuse whatever the file says. The gap is made exact here: the first page waits
/// on a table lock while the state file is swapped for a directory, so the page
/// commits and saving its checkpoint fails; the file is then put back as it was.
#[test]
fn file_state_into_a_keyless_target_refuses_even_before_the_first_save() {
    let mut dbs = Dbs::new("filegap");
    let rows = 5000;
    seed_mixed(&mut dbs, "items", rows);
    dbs.dst(&mixed_ddl("items", false));
    let job = dbs.job(
        "filegap.lua",
        "job { state = 'file' }\n\
         copy { from = 'items', page = 1000, workers = 1 }\n",
    );
    let path = dbs.dir.path().join("filegap.state.json");
    let mut lock = mysql::Conn::new(mysql::Opts::from_url(&dbs.dst_url).unwrap()).unwrap();
    lock.query_drop("LOCK TABLES items WRITE").unwrap();
    let mut run = dbs.spawn(&job, &[]);
    let deadline = Instant::now() + RUN_LIMIT;
    while committed(&mut dbs.dst, &Watch::File(&path)).is_none() {
        assert!(!run.ended(), "{}", run.describe());
        assert!(Instant::now() < deadline, "no state file");
        std::thread::sleep(Duration::from_millis(5));
    }
    let saved = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("in-the-way"), "").unwrap();
    lock.query_drop("UNLOCK TABLES").unwrap();
    run.wait_within(RUN_LIMIT).status(1);
    let landed = dbs.count_dst("items");
    assert!(landed > 0, "no page landed");
    std::fs::remove_dir_all(&path).unwrap();
    std::fs::write(&path, saved).unwrap();
    dbs.run(&job, &["--resume"])
        .status(2)
        .says("copy items")
        .says("no unique key");
    assert_eq!(dbs.count_dst("items"), landed, "the refused run wrote");
}

/// A refused resume is a plan problem: the plan pass finds it, so copies that come
/// before the refused one in the job write nothing either (exit 2). Two refusals: a
/// keyless source part-way into a keyless target (state table), and a state file into
/// a keyless target.
#[test]
fn a_refused_resume_is_found_in_the_plan_pass_before_any_copy_writes() {
    let mut dbs = Dbs::new("refusedplan");
    let rows = 20_000;
    dbs.src(&format!("CREATE TABLE loose ({MIXED_COLUMNS})"));
    dbs.src(&format!(
        "INSERT INTO loose SELECT seq, NULL, seq, NULL, NOW(6), CONCAT('n', seq), NULL, NOW(6) \
         FROM seq_1_to_{rows}"
    ));
    seed_mixed(&mut dbs, "items", rows);
    seed_mixed(&mut dbs, "first", 100);
    dbs.dst(&mixed_ddl("first", true));
    for (name, header, from, table, says) in [
        ("refused_keyless", "", "loose", "t_loose", "no key"),
        (
            "refused_file",
            "job { state = 'file' }\n",
            "items",
            "t_file",
            "no unique key",
        ),
    ] {
        dbs.dst(&mixed_ddl(table, false));
        let copy = format!(
            "copy {{ from = '{from}', to = '{table}', page = 500, workers = 1, \
               max_rows_per_second = 20000 }}\n"
        );
        let job = dbs.job(&format!("{name}.lua"), &format!("{header}{copy}"));
        let state_file = dbs.dir.path().join(format!("{name}.state.json"));
        let watch = if header.is_empty() {
            Watch::Table {
                job: name,
                copy: None,
            }
        } else {
            Watch::File(&state_file)
        };
        let mut run = dbs.spawn(&job, &[]);
        when_committed(&mut dbs.dst, &mut run, &watch, 3000, name);
        run.signal(libc::SIGTERM);
        run.wait_within(RUN_LIMIT).status(143);
        let before = dbs.count_dst(table);
        // The job now copies another table first; its state says nothing of it.
        dbs.job(
            &format!("{name}.lua"),
            &format!("{header}copy {{ from = 'first' }}\n{copy}"),
        );
        dbs.run(&job, &["--resume"])
            .status(2)
            .says(&format!("copy {from} -> {table}"))
            .says(says)
            .says("nothing was written");
        assert_eq!(dbs.count_dst("first"), 0, "{name}: the first copy wrote");
        assert_eq!(
            dbs.count_dst(table),
            before,
            "{name}: the refused copy wrote"
        );
        dbs.dst("TRUNCATE TABLE first");
    }
}

/// A parallel job (two copies at once, one in two key ranges, keyless targets) stopped
/// by SIGTERM, then killed with SIGKILL while resuming, then resumed: both exact.
#[test]
fn a_parallel_job_stopped_and_killed_resumes_exactly() {
    let mut dbs = Dbs::new("parstop");
    seed_mixed(&mut dbs, "a", 60_000);
    seed_mixed(&mut dbs, "b", 20_000);
    dbs.dst(&mixed_ddl("a", false));
    dbs.dst(&mixed_ddl("b", false));
    let job = dbs.job(
        "parstop.lua",
        "job { parallel = 2 }\n\
         local a = copy { from = 'a', page = 700, workers = 2, max_rows_per_second = 30000 }\n\
         local b = copy { from = 'b', page = 300, max_rows_per_second = 10000 }\n\
         log.info('stats a=%d b=%d', a.read + a.resumed, b.read + b.resumed)\n",
    );
    let watch = Watch::Table {
        job: "parstop",
        copy: None,
    };
    let mut run = dbs.spawn(&job, &[]);
    let at = when_committed(&mut dbs.dst, &mut run, &watch, 15_000, "parstop");
    run.signal(libc::SIGTERM);
    run.wait_within(RUN_LIMIT).status(143).says("--resume");
    let mut run = dbs.spawn(&job, &["--resume"]);
    when_committed(&mut dbs.dst, &mut run, &watch, at + 10_000, "parstop");
    run.signal(libc::SIGKILL);
    run.wait_within(RUN_LIMIT).status(-libc::SIGKILL);
    let run = dbs.run(&job, &["--resume"]).ok();
    assert_eq!(
        (stat(&run, "stats ", "a"), stat(&run, "stats ", "b")),
        (60_000, 20_000),
        "{}",
        run.describe()
    );
    for t in ["a", "b"] {
        assert_copied(&mut dbs, t, t);
    }
}

/// SIGTERM while a keyless source is streamed slowly (each row costs the server 0.5 ms)
/// stops after the page in flight, not after the rest of the table (the driver would
/// read all of it first), with and without a transform (whose pages pass through the
/// engine's thread, which must not keep a stopped writer waiting).
#[test]
fn a_stop_takes_a_page_not_the_rest_of_a_keyless_source() {
    let mut dbs = Dbs::new("slowstop");
    let rows = 8000;
    dbs.src(&format!("CREATE TABLE items ({MIXED_COLUMNS})"));
    dbs.src(&format!(
        "INSERT INTO items SELECT seq, NULL, seq, NULL, NOW(6), CONCAT('n', seq), NULL, NOW(6) \
         FROM seq_1_to_{rows}"
    ));
    for (name, transform) in [
        ("slowstop_direct", ""),
        ("slowstop_lua", ", transform = function(r) return r end"),
    ] {
        dbs.dst(&mixed_ddl(name, false));
        let job = dbs.job(
            &format!("{name}.lua"),
            &format!(
                "copy {{ from = 'items', to = '{name}', page = 200, \
                   where = 'SLEEP(0.0005) = 0'{transform} }}\n"
            ),
        );
        let watch = Watch::Table {
            job: name,
            copy: None,
        };
        let mut run = dbs.spawn(&job, &[]);
        when_committed(&mut dbs.dst, &mut run, &watch, 600, name);
        run.signal(libc::SIGTERM);
        let sent = Instant::now();
        // The rest of the table would take the server 3 s and more to send.
        let run = run.wait_within(RUN_LIMIT).status(143);
        assert!(
            sent.elapsed() < Duration::from_millis(2000),
            "{name}: {:?} from SIGTERM to the end\n{}",
            sent.elapsed(),
            run.describe()
        );
        let (done, _) = committed(&mut dbs.dst, &watch).unwrap();
        assert_eq!(
            dbs.count_dst(name),
            done,
            "{name}: rows in the target vs the state"
        );
    }
}

/// What follows a load killed with its indexes off.
#[derive(Clone, Copy, Debug)]
enum AfterKill {
    Resume,
    RunAgain,
    ClearState,
}

/// kill -9 while a copy loads with its secondary indexes off: `ferry state` says so,
/// and `--resume`, a plain re-run and `ferry state --clear` each put them back, the
/// table defined exactly as before and its rows exact.
#[test]
fn a_load_killed_with_its_indexes_off_gets_them_back() {
    let mut dbs = Dbs::new("defer_kill");
    let rows = 60_000;
    seed_mixed(&mut dbs, "big", rows);
    let src = dbs.dump_src("big", "id");
    for after in [
        AfterKill::Resume,
        AfterKill::RunAgain,
        AfterKill::ClearState,
    ] {
        let name = format!("{after:?}").to_lowercase();
        let table = format!("t_{name}");
        dbs.dst(&mixed_ddl(&table, true));
        dbs.dst(&format!(
            "ALTER TABLE {table} ADD KEY k_at (at), ADD KEY k_name (name(8), n DESC)"
        ));
        let before = create_table(&mut dbs.dst, &table);
        let job = dbs.job(
            &format!("{name}.lua"),
            &format!(
                "copy {{ from = 'big', to = '{table}', page = 1000, workers = 1, \
                 max_rows_per_second = 20000, defer_indexes = true }}\n"
            ),
        );
        let mut run = dbs.spawn(&job, &[]);
        let watch = Watch::Table {
            job: &name,
            copy: None,
        };
        when_committed(&mut dbs.dst, &mut run, &watch, 5000, &name);
        assert_eq!(
            index_names(&mut dbs.dst, &table),
            ["PRIMARY"],
            "{name}: the plain indexes are off while it loads"
        );
        run.signal(libc::SIGKILL);
        run.wait_within(RUN_LIMIT).status(-libc::SIGKILL);
        dbs.state(&job, &[])
            .ok()
            .says("indexes off the table: k_at, k_name");
        match after {
            AfterKill::Resume => {
                dbs.run(&job, &["--resume"]).ok().says("built k_at, k_name");
            }
            AfterKill::RunAgain => {
                dbs.run(&job, &[]).ok().says("built k_at, k_name");
            }
            AfterKill::ClearState => {
                dbs.state(&job, &["--clear"])
                    .ok()
                    .says("added the secondary indexes k_at, k_name back to");
                assert_eq!(create_table(&mut dbs.dst, &table), before, "{name}");
                dbs.run(&job, &[])
                    .ok()
                    .says("kept during the load: it is not empty");
            }
        }
        assert_eq!(create_table(&mut dbs.dst, &table), before, "{name}");
        assert_same(&src, &dbs.dump_dst(&table, "id"), &name);
    }
}
