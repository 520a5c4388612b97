//! One run of a job at a time: a second run of a job while the first holds its lock
//! (the named lock of the state table, or the lock file of `state = "file"`) is refused
//! with exit 1, names the holder and writes nothing, so a keyless target is never
//! written twice; a lock left by a run killed with kill -9 blocks nothing; `ferry
//! state` names the run that holds the lock, and only while it does; `ferry state
//! --clear` waits its turn.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

use crate::support::*;

const LIMIT: Duration = Duration::from_secs(120);

/// Which state store a job keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Store {
    Table,
    File,
}

const STORES: [Store; 2] = [Store::Table, Store::File];

/// `items` on the source (`rows` rows, primary key `id`); `t` on the target, with a
/// primary key or without any key.
fn seed(dbs: &mut Dbs, rows: u64, keyed: bool) {
    dbs.src("CREATE TABLE items (id INT NOT NULL PRIMARY KEY, v VARCHAR(40) NOT NULL)");
    dbs.src(&format!(
        "INSERT INTO items SELECT seq, CONCAT('row ', seq, ' ', REPEAT('x', seq % 17)) \
         FROM seq_1_to_{rows}"
    ));
    dbs.dst(&format!(
        "CREATE TABLE t (id INT NOT NULL, v VARCHAR(40) NOT NULL{})",
        if keyed { ", PRIMARY KEY (id)" } else { "" }
    ));
}

/// The job `lockjob.lua`: items into t, `rate` rows a second, in pages of 200.
fn job(dbs: &Dbs, store: Store, rate: u64) -> PathBuf {
    let state = match store {
        Store::Table => "",
        Store::File => "state = 'file', ",
    };
    dbs.job(
        "lockjob.lua",
        &format!(
            "job {{ {state}max_rows_per_second = {rate} }}\n\
             local s = copy {{ from = 'items', to = 't', page = 200, workers = 1 }}\n\
             log.info('stats read=%d resumed=%d', s.read, s.resumed)\n"
        ),
    )
}

fn lock_file(dbs: &Dbs) -> PathBuf {
    dbs.dir.path().join("lockjob.state.json.lock")
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(rc, 0, "gethostname");
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Whether the job's lock is held, as the server or the file system says (not ferry).
fn held(dbs: &mut Dbs, store: Store) -> bool {
    match store {
        Store::Table => {
            let name = format!("ferry:{}:lockjob", dbs.dst_db);
            let who: Option<Option<u64>> = dbs
                .dst
                .exec_first("SELECT IS_USED_LOCK(?)", (&name,))
                .unwrap();
            who.flatten().is_some()
        }
        Store::File => {
            let Ok(f) = std::fs::File::open(lock_file(dbs)) else {
                return false;
            };
            match f.try_lock_shared() {
                Ok(()) => false,
                Err(std::fs::TryLockError::WouldBlock) => true,
                Err(e) => panic!("{e}"),
            }
        }
    }
}

/// Waits until the running job holds its lock and has written its holder record.
fn wait_held(dbs: &mut Dbs, store: Store, run: &mut Spawned) {
    let deadline = Instant::now() + LIMIT;
    loop {
        assert!(!run.ended(), "the run ended early\n{}", run.describe());
        let recorded = match store {
            Store::Table => {
                let name = format!("ferry:{}:lockjob", dbs.dst_db);
                // Until the first run makes it, the state table may not be there.
                let n: Option<u64> = dbs
                    .dst
                    .exec_first(
                        "SELECT COUNT(*) FROM _ferry_state WHERE job = 'lockjob' AND part = -2 \
                         AND JSON_VALUE(state, '$.session') = IS_USED_LOCK(?)",
                        (&name,),
                    )
                    .unwrap_or(None);
                n == Some(1)
            }
            Store::File => std::fs::read_to_string(lock_file(dbs))
                .map(|t| t.contains("pid"))
                .unwrap_or(false),
        };
        if recorded && held(dbs, store) {
            return;
        }
        assert!(Instant::now() < deadline, "the run never took its lock");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the target table holds at least `rows` rows.
fn wait_rows(dbs: &mut Dbs, rows: u64, run: &mut Spawned) {
    let deadline = Instant::now() + LIMIT;
    while dbs.count_dst("t") < rows {
        assert!(!run.ended(), "the run ended early\n{}", run.describe());
        assert!(Instant::now() < deadline, "{rows} rows never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The target equals the source, row for row (a doubled row would show).
fn assert_exact(dbs: &mut Dbs, what: &str) {
    let src = dbs.dump_src("items", "id");
    let dst = dbs.dump_dst("t", "id");
    assert_eq!(src.len(), dst.len(), "{what}: row counts differ");
    assert!(src == dst, "{what}: the target differs from the source");
}

fn says_holder(run: Run, pid: u32) -> Run {
    run.says(&format!("pid {pid} on host {}", hostname()))
        .says("started ")
}

/// A second run while the first holds the lock exits 1 at once, naming the first
/// (pid, host, start time), and writes nothing: the keyless target ends with every row
/// once.
#[test]
fn a_second_run_is_refused_and_nothing_is_doubled() {
    for store in STORES {
        let what = format!("{store:?} store");
        let mut dbs = Dbs::new("lock2nd");
        let rows = 6000;
        seed(&mut dbs, rows, false);
        let job = job(&dbs, store, 2000);
        let mut first = dbs.spawn(&job, &[]);
        wait_held(&mut dbs, store, &mut first);
        let started = Instant::now();
        let second = dbs.run(&job, &[]).status(1).says("already running");
        let second = says_holder(second, first.pid()).says("wrote nothing");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: the refusal took {:?}",
            started.elapsed()
        );
        if store == Store::Table {
            second.says(&format!("ferry:{}:lockjob", dbs.dst_db));
        } else {
            second.says("lockjob.state.json.lock");
        }
        // A script that catches the copy's error (pcall) is refused all the same.
        let caught = dbs.job(
            "caught.lua",
            &format!(
                "job {{ name = 'lockjob'{} }}\n\
                 local ok, err = pcall(copy, {{ from = 'items', to = 't', page = 200 }})\n\
                 log.info('caught: %s', tostring(err))\n",
                if store == Store::File {
                    ", state_file = 'lockjob.state.json'"
                } else {
                    ""
                }
            ),
        );
        dbs.run(&caught, &[])
            .status(1)
            .says("already running")
            .says(&format!("pid {}", first.pid()));
        if store == Store::File {
            // A file-state job takes the file lock only, and makes no state table.
            assert!(!held(&mut dbs, Store::Table), "{what}: a named lock too");
        }
        assert!(!first.ended(), "{what}: the first run ended too soon");
        first.wait_within(LIMIT).ok();
        assert_exact(&mut dbs, &what);
        assert!(!held(&mut dbs, store), "{what}: the lock outlived its run");
        if store == Store::File {
            let tables: Vec<String> = dbs
                .dst
                .query("SHOW TABLES LIKE '\\_ferry\\_state'")
                .unwrap();
            assert!(
                tables.is_empty(),
                "{what}: a file-state job made the state table"
            );
        }
    }
}

/// Two runs started at the same instant: exactly one copies, the other is refused
/// with exit 1; every row arrives once.
#[test]
fn two_runs_started_together_copy_once() {
    for store in STORES {
        let what = format!("{store:?} store");
        let mut dbs = Dbs::new("lockboth");
        seed(&mut dbs, 3000, false);
        let job = job(&dbs, store, 3000);
        let a = dbs.spawn(&job, &[]);
        let b = dbs.spawn(&job, &[]);
        let (a, b) = (a.wait_within(LIMIT), b.wait_within(LIMIT));
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [0, 1],
            "{what}\n{}\n{}",
            a.describe(),
            b.describe()
        );
        let refused = if a.status == 1 { a } else { b };
        refused.says("already running").says("pid ");
        assert_exact(&mut dbs, &what);
    }
}

/// kill -9 leaves no lock behind: `ferry state` does not claim the dead run, and the
/// next run (`--resume`) goes and ends with exactly the source rows; the dead run's
/// holder record is simply overwritten.
#[test]
fn a_lock_left_by_kill_9_blocks_nothing() {
    for store in STORES {
        let what = format!("{store:?} store");
        let mut dbs = Dbs::new("lockkill");
        let rows = 20_000;
        // A state file cannot resume into a keyless table (the copy says so): keyed there.
        seed(&mut dbs, rows, store == Store::File);
        let job = job(&dbs, store, 4000);
        let mut run = dbs.spawn(&job, &[]);
        let pid = run.pid();
        wait_held(&mut dbs, store, &mut run);
        wait_rows(&mut dbs, 1000, &mut run);
        run.signal(libc::SIGKILL);
        run.wait_within(LIMIT).status(-libc::SIGKILL);
        // The dead run's record is still there...
        match store {
            Store::Table => {
                let left: Option<String> = dbs
                    .dst
                    .exec_first(
                        "SELECT state FROM _ferry_state WHERE job = 'lockjob' AND part = -2",
                        (),
                    )
                    .unwrap();
                assert!(
                    left.is_some_and(|s| s.contains(&format!("\"pid\":{pid}"))),
                    "{what}: the killed run's holder record is gone"
                );
            }
            Store::File => {
                let left = std::fs::read_to_string(lock_file(&dbs)).unwrap();
                assert!(left.contains(&format!("\"pid\":{pid}")), "{what}: {left}");
            }
        }
        // ...and not believed, even where the pid it names is alive (this test's).
        if store == Store::Table {
            dbs.dst(&format!(
                "UPDATE _ferry_state SET state = JSON_SET(state, '$.pid', {}) \
                 WHERE job = 'lockjob' AND part = -2",
                std::process::id()
            ));
        }
        dbs.state(&job, &[])
            .ok()
            .says("part-way")
            .never_says("running now");
        let next = dbs.run(&job, &["--resume"]).ok();
        next.never_says("already running");
        assert_exact(&mut dbs, &what);
        assert!(!held(&mut dbs, store), "{what}: the lock outlived its run");
    }
}

/// `ferry state` names the run holding the lock (pid, host, start time) while it runs,
/// and not once it has ended.
#[test]
fn ferry_state_shows_the_holder_only_while_it_runs() {
    for store in STORES {
        let what = format!("{store:?} store");
        let mut dbs = Dbs::new("lockshow");
        seed(&mut dbs, 6000, false);
        let job = job(&dbs, store, 2000);
        let mut run = dbs.spawn(&job, &[]);
        wait_held(&mut dbs, store, &mut run);
        wait_rows(&mut dbs, 400, &mut run);
        let shown = dbs.state(&job, &[]).ok().says("running now");
        let shown = says_holder(shown, run.pid());
        assert!(
            shown.stdout.lines().any(|l| l.starts_with("items")),
            "{what}: no line for the copy\n{}",
            shown.describe()
        );
        assert!(!run.ended(), "{what}: the run ended too soon");
        run.wait_within(LIMIT).ok();
        dbs.state(&job, &[])
            .ok()
            .says("done")
            .never_says("running now")
            .never_says("pid ");
        if store == Store::Table {
            let records: u64 = dbs
                .dst
                .query_first("SELECT COUNT(*) FROM _ferry_state WHERE part = -2")
                .unwrap()
                .unwrap();
            assert_eq!(records, 0, "{what}: the holder record outlived its run");
        }
        assert_exact(&mut dbs, &what);
    }
}

/// `ferry state --clear` is refused (exit 1, naming the holder) while a run holds the
/// lock, and leaves the state alone; once the run has ended it clears.
#[test]
fn ferry_state_clear_is_refused_while_a_run_holds_the_lock() {
    for store in STORES {
        let what = format!("{store:?} store");
        let mut dbs = Dbs::new("lockclear");
        seed(&mut dbs, 6000, false);
        let job = job(&dbs, store, 2000);
        let mut run = dbs.spawn(&job, &[]);
        wait_held(&mut dbs, store, &mut run);
        wait_rows(&mut dbs, 400, &mut run);
        let refused = dbs
            .state(&job, &["--clear"])
            .status(1)
            .says("already running")
            .says("--clear")
            .never_says("state dropped");
        says_holder(refused, run.pid());
        assert!(!run.ended(), "{what}: the run ended too soon");
        // The state is still there, and the run finishes as if nothing happened.
        dbs.state(&job, &[]).ok().says("items").says("running now");
        run.wait_within(LIMIT).ok();
        assert_exact(&mut dbs, &what);
        dbs.state(&job, &["--clear"])
            .ok()
            .says("state dropped (1 copy)");
        dbs.state(&job, &[]).ok().says("no saved state");
        if store == Store::File {
            assert!(
                !state_file(&dbs).exists(),
                "{what}: the state file is still there"
            );
        }
    }
}

fn state_file(dbs: &Dbs) -> PathBuf {
    Path::new(dbs.dir.path()).join("lockjob.state.json")
}

/// `--dry-run` and `ferry verify` take no lock: they go while a run holds it.
#[test]
fn dry_runs_and_verify_take_no_lock() {
    let mut dbs = Dbs::new("lockdry");
    seed(&mut dbs, 6000, false);
    let job = job(&dbs, Store::Table, 2000);
    let mut run = dbs.spawn(&job, &[]);
    wait_held(&mut dbs, Store::Table, &mut run);
    dbs.run(&job, &["--dry-run"]).ok().says("plan OK");
    // The target is part-way: verify runs and reports a difference (exit 1), not a lock.
    dbs.verify(&job, &[]).never_says("already running");
    assert!(!run.ended(), "the run ended too soon");
    run.wait_within(LIMIT).ok();
    assert_exact(&mut dbs, "after the dry run and verify");
}

/// The session holding the named lock is killed mid-run: the run takes the lock again
/// on a new session and finishes exactly; if another session takes the lock first, the
/// run stops after its pages in flight (exit 143, as on SIGTERM), says why, and
/// `--resume` finishes the copy exactly.
#[test]
fn a_lost_lock_session_is_replaced_or_stops_the_run() {
    let mut dbs = Dbs::new("locklost");
    let rows = 24_000;
    seed(&mut dbs, rows, false);
    let job = job(&dbs, Store::Table, 2000);
    let name = format!("ferry:{}:lockjob", dbs.dst_db);
    let session = |dbs: &mut Dbs| -> Option<u64> {
        let s: Option<Option<u64>> = dbs
            .dst
            .exec_first("SELECT IS_USED_LOCK(?)", (&name,))
            .unwrap();
        s.flatten()
    };

    // Killed: taken again.
    let mut run = dbs.spawn(&job, &[]);
    wait_held(&mut dbs, Store::Table, &mut run);
    let first = session(&mut dbs).unwrap();
    dbs.dst(&format!("KILL {first}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(!run.ended(), "the run ended early\n{}", run.describe());
        if session(&mut dbs).is_some_and(|s| s != first) {
            break;
        }
        assert!(Instant::now() < deadline, "the lock was not taken again");
        std::thread::sleep(Duration::from_millis(50));
    }
    run.wait_within(LIMIT).ok();
    assert!(dbs.log().contains("took the job's lock"), "{}", dbs.log());
    assert_exact(&mut dbs, "after the lock session was killed");

    // Killed, and another session takes the lock first: the run stops.
    dbs.dst("TRUNCATE TABLE t");
    let mut run = dbs.spawn(&job, &[]);
    wait_held(&mut dbs, Store::Table, &mut run);
    wait_rows(&mut dbs, 400, &mut run);
    let holder = session(&mut dbs).unwrap();
    let mut thief = mysql::Conn::new(mysql::Opts::from_url(&dbs.dst_url).unwrap()).unwrap();
    dbs.dst(&format!("KILL {holder}"));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got: Option<i64> = thief
            .exec_first("SELECT GET_LOCK(?, 0)", (&name,))
            .unwrap()
            .flatten();
        if got == Some(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed session kept the lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let stopped = run.wait_within(LIMIT).status(143);
    assert!(
        dbs.log().contains("another run took it meanwhile"),
        "{}\n{}",
        stopped.describe(),
        dbs.log()
    );
    assert!(dbs.count_dst("t") < rows, "the run did not stop");
    // While the other session holds it, a run is refused; once it lets go, --resume
    // finishes exactly.
    dbs.run(&job, &["--resume"])
        .status(1)
        .says("already running")
        .says("records no holder");
    let _: Option<i64> = thief
        .exec_first("SELECT RELEASE_LOCK(?)", (&name,))
        .unwrap()
        .flatten();
    dbs.run(&job, &["--resume"]).ok();
    assert_exact(&mut dbs, "after the lock was lost to another session");
}
