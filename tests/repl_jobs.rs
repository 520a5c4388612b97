//! Background copies in `ferry repl`: `copy{..., background = true}` returns a handle
//! at once; paused, throttled and resumed while queries run on the prompt; `.jobs`
//! lists it; `h:stop()` stops one after its page; a copy with Lua code is refused in
//! the background; and Ctrl-C stops a foreground copy after its page, the prompt going
//! on.

use std::time::Duration;

use crate::repl::{piped, repl, wait};
use crate::support::*;
use expectrl::{ControlCode, Expect};
use mysql::prelude::Queryable;

const ROWS: u64 = 20_000;

fn big(dbs: &mut Dbs, targets: &[&str]) {
    dbs.src("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20))");
    dbs.src(&format!(
        "INSERT INTO big SELECT seq, CONCAT('v', seq) FROM seq_1_to_{ROWS}"
    ));
    for t in targets {
        dbs.dst(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(20))"
        ));
    }
}

/// The number printed after `label` on a line of `out`.
fn number_after(out: &str, label: &str) -> f64 {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no line {label:?} in\n{out}"));
    line.trim().parse().unwrap_or_else(|_| panic!("{line:?}"))
}

#[test]
fn repl_background_copy_paused_throttled_and_resumed_while_queries_run() {
    let mut dbs = Dbs::new("repl_bg");
    big(&mut dbs, &["big", "big2"]);
    let script = "\
h = copy{from = \"big\", to = \"big\", page = 100, background = true}
print(\"handle: \" .. tostring(h))
h:throttle(2000)
src:query(\"SELECT SLEEP(0.3) AS waited\")
function now_ms() return src:query(\"SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED) AS ms\")[1].ms end
a, t0 = h:status().rows, now_ms()
src:query(\"SELECT SLEEP(1) AS waited\")
b, t1 = h:status().rows, now_ms()
print(\"rows in a second: \" .. (b - a) * 1000 // (t1 - t0))
.jobs
h:pause()
src:query(\"SELECT SLEEP(0.3) AS waited\")
a = h:status().rows
dst:query(\"SELECT SLEEP(0.7) AS waited\")
print(\"paused rows: \" .. a .. \" \" .. h:status().rows .. \" \" .. h:status().state)
print(\"count while paused: \" .. src:count(\"big\"))
h:resume()
h:throttle(nil)
s = h:wait()
print(\"read: \" .. s.read)
print(\"state: \" .. h:status().state)
h2 = copy{from = \"big\", to = \"big2\", page = 100, background = true}
h2:throttle(1000)
src:query(\"SELECT SLEEP(0.5) AS waited\")
h2:stop()
ok, err = pcall(h2.wait, h2)
print(\"stopped: \" .. tostring(ok) .. \" \" .. h2:status().state)
.jobs
copy{from = \"big\", to = \"big2\", background = true, transform = function(r) return r end}
";
    let run = piped(&dbs, script).status(2);
    let out = &run.stdout;
    assert!(
        out.contains("handle: background copy 1 (big): running"),
        "{}",
        run.describe()
    );
    let rate = number_after(out, "rows in a second: ");
    assert!(
        rate > 100.0 && rate <= 2300.0,
        "throttled to 2000 rows/s: {rate}"
    );
    assert!(
        regex::Regex::new(r"(?m)^1 +big +running +\d+/~20000 +\d+ +\d+ s +2000/s$")
            .unwrap()
            .is_match(out),
        "{}",
        run.describe()
    );
    let paused: Vec<&str> = out
        .lines()
        .find_map(|l| l.strip_prefix("paused rows: "))
        .unwrap()
        .split(' ')
        .collect();
    assert_eq!(paused[0], paused[1], "rows moved while paused: {paused:?}");
    assert_eq!(paused[2], "paused");
    assert!(paused[0].parse::<u64>().unwrap() < ROWS, "{paused:?}");
    assert!(
        out.contains("count while paused: 20000"),
        "{}",
        run.describe()
    );
    assert_eq!(number_after(out, "read: ") as u64, ROWS);
    assert!(out.contains("state: done"), "{}", run.describe());
    assert_eq!(dbs.count_dst("big"), ROWS);
    assert!(out.contains("stopped: false stopped"), "{}", run.describe());
    let stopped = dbs.count_dst("big2");
    assert!(stopped > 0 && stopped < ROWS, "big2 holds {stopped}");
    assert!(
        regex::Regex::new(r"(?m)^2 +big -> big2 +stopped +\d+/~20000")
            .unwrap()
            .is_match(out),
        "{}",
        run.describe()
    );
    assert!(
        out.contains("#2 big -> big2: stopped by h:stop() after"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr
            .contains("`background = true` runs copies without Lua code"),
        "{}",
        run.describe()
    );
}

#[test]
fn repl_ctrl_c_stops_a_copy_after_its_page_and_the_prompt_goes_on() {
    let mut dbs = Dbs::new("repl_copy_ctrl_c");
    big(&mut dbs, &["big"]);
    let mut p = repl(
        &dbs,
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        120,
    );
    wait(&mut p, "]> ");
    p.send_line("copy{from = \"big\", to = \"big\", page = 100, max_rows_per_second = 2000}")
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while dbs.count_dst("big") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the copy never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    p.send(ControlCode::EndOfText).unwrap();
    wait(&mut p, "cancelled (Ctrl-C)");
    wait(&mut p, "]> ");
    let copied = dbs.count_dst("big");
    assert!(copied > 0 && copied < ROWS, "{copied}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        dbs.count_dst("big"),
        copied,
        "the copy goes on after Ctrl-C"
    );
    // The prompt goes on, and a second Ctrl-C does not end it.
    p.send_line("return \"after:\" .. 40 + 2").unwrap();
    wait(&mut p, "after:42");
    wait(&mut p, "]> ");
    p.send_line("src:query(\"SELECT SLEEP(20) AS slept_again\")")
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let running: Vec<u64> = dbs
            .src
            .query("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%AS slept_again%' AND INFO NOT LIKE '%PROCESSLIST%'")
            .unwrap();
        if !running.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the query never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    p.send(ControlCode::EndOfText).unwrap();
    wait(&mut p, "cancelled (Ctrl-C)");
    wait(&mut p, "]> ");
    p.send_line("return \"still:\" .. 1 + 1").unwrap();
    wait(&mut p, "still:2");
}

/// `background = true` in a job `ferry run` runs is a plan problem: nothing is written.
#[test]
fn a_background_copy_is_refused_by_ferry_run() {
    let mut dbs = Dbs::new("run_bg");
    big(&mut dbs, &["big"]);
    let run = dbs
        .run_code("copy{from = \"big\", to = \"big\", background = true}", &[])
        .status(2);
    assert!(
        run.stderr
            .contains("`background = true` is for ferry repl; job{parallel = N}"),
        "{}",
        run.describe()
    );
    assert_eq!(dbs.count_dst("big"), 0);
}

/// `.save FILE` writes the session's connections and copies as a job; `ferry run` of
/// it gives the target the session gave it.
#[test]
fn repl_save_writes_a_job_that_ferry_run_repeats() {
    let mut dbs = Dbs::new("repl_save");
    dbs.src("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20), email VARCHAR(40))");
    dbs.src(
        "INSERT INTO users VALUES (1, 'Ann', 'a@x.org'), (2, 'Bo', NULL), (3, 'Cy', 'c@x.org')",
    );
    dbs.src("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20))");
    dbs.src("INSERT INTO big SELECT seq, CONCAT('v', seq) FROM seq_1_to_500");
    dbs.dst("CREATE TABLE customers (id INT PRIMARY KEY, full_name VARCHAR(20), email VARCHAR(40), status VARCHAR(10))");
    dbs.dst("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20))");
    let script = "\
function shout(row)
  row.name = string.upper(row.name)
  return row
end
src:peek(\"users\")
copy{from = \"users\", to = \"customers\", transform = shout, map = map{full_name = \"name\"}, default = default{status = \"new\"}}
copy{from = \"nope\", to = \"customers\"}
h = copy{from = \"big\", to = \"big\", background = true}
h:wait()
.save saved.lua
";
    let run = piped(&dbs, script).status(2);
    assert!(
        run.stdout
            .contains("saved to saved.lua: connections and 3 copies"),
        "{}",
        run.describe()
    );
    let job = std::fs::read_to_string(dbs.dir.path().join("saved.lua")).unwrap();
    assert!(job.contains("-- failed in the session: "), "{job}");
    assert!(
        !job.contains("peek") && !job.contains("background"),
        "{job}"
    );
    let customers = dbs.dump_dst("customers", "id");
    assert_eq!(customers.len(), 3);
    assert_eq!(dbs.count_dst("big"), 500);
    dbs.dst("DELETE FROM customers").dst("DELETE FROM big");
    let again = ferry(&["run", "saved.lua"], dbs.dir.path());
    assert_eq!(again.status, 0, "{}\n{job}", again.describe());
    assert_eq!(dbs.dump_dst("customers", "id"), customers, "{job}");
    assert_eq!(dbs.count_dst("big"), 500);
}
