//! A new user's session in `ferry repl`, as issue 17 is checked: what a stopped or
//! failed copy says at the prompt (no `--resume`, which the prompt does not have),
//! tables made at the prompt known to Tab without `.rehash`, and `.desc` of tables
//! whose names hold a space, or that one side lacks.

use std::time::Duration;

use crate::repl::{piped, repl, wait};
use crate::support::*;
use expectrl::{ControlCode, Expect};

const ROWS: u64 = 20_000;

fn big(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20))");
    dbs.src(&format!(
        "INSERT INTO big SELECT seq, CONCAT('v', seq) FROM seq_1_to_{ROWS}"
    ));
    dbs.dst("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20))");
}

#[test]
fn repl_a_stopped_or_failed_copy_says_what_to_do_at_the_prompt() {
    let mut dbs = Dbs::new("repl_session_stop");
    big(&mut dbs);
    dbs.src("CREATE TABLE moods (id INT PRIMARY KEY, mood ENUM('ok','bad'))");
    dbs.src("INSERT INTO moods VALUES (1, 'ok'), (2, 'bad')");
    dbs.dst("CREATE TABLE moods (id INT PRIMARY KEY, mood ENUM('ok'))");
    let script = "\
h = copy{from = \"big\", to = \"big\", page = 100, background = true}
h:throttle(1000)
src:query(\"SELECT SLEEP(0.5) AS waited\")
h:stop()
h:wait()
.jobs
copy{from = \"moods\", to = \"moods\", page = 1}
";
    let run = piped(&dbs, script).status(2);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("error: stopped by h:stop() after the pages in flight; every committed page is kept: run the copy again to go on"),
        "{}",
        run.describe()
    );
    assert!(
        all.contains("#1 big: stopped by h:stop() after the pages in flight; every committed page is kept: run the copy again"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("cannot hold 'bad'") && run.stderr.contains("then run the copy again"),
        "{}",
        run.describe()
    );
    assert!(!all.contains("--resume"), "{}", run.describe());
    let stopped = dbs.count_dst("big");
    assert!(stopped > 0 && stopped < ROWS, "big holds {stopped}");
}

#[test]
fn repl_ctrl_c_on_a_copy_and_tables_made_at_the_prompt() {
    let mut dbs = Dbs::new("repl_session_pty");
    big(&mut dbs);
    dbs.src("CREATE TABLE `line items` (id INT PRIMARY KEY, sku VARCHAR(10))");
    dbs.src("CREATE TABLE only_here (id INT AUTO_INCREMENT PRIMARY KEY, note TEXT, n INT NOT NULL DEFAULT 7, twice INT AS (n * 2) STORED)");
    dbs.dst("CREATE TABLE `line items` (id BIGINT PRIMARY KEY, sku VARCHAR(10))");
    let mut p = repl(
        &dbs,
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        150,
    );
    wait(&mut p, "]> ");
    p.send_line(".rehash").unwrap();
    wait(&mut p, " columns\r\n");
    wait(&mut p, "]> ");

    // Ctrl-C on a copy: it stops after its page, and the prompt says what to do there.
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
    wait(
        &mut p,
        "cancelled (Ctrl-C); the copy stopped after the pages in flight",
    );
    let said = wait(&mut p, "]> ");
    assert!(said.contains("run the copy again"), "{said}");
    assert!(!said.contains("--resume"), "{said}");

    // A table made at the prompt is completed without `.rehash`.
    p.send_line("dst> CREATE TABLE fresh_table (id INT PRIMARY KEY, fresh_col INT)")
        .unwrap();
    wait(&mut p, "rows affected");
    wait(&mut p, "]> ");
    std::thread::sleep(Duration::from_millis(1500));
    p.send("dst:count(\"fresh_t\t").unwrap();
    wait(&mut p, "fresh_table");
    p.send("\")\r").unwrap();
    wait(&mut p, "\n0\r\n");
    wait(&mut p, "]> ");

    // `.desc` of a name with a space: completed in backticks, and read back.
    p.send(".desc src.line\t").unwrap();
    wait(&mut p, "src.`line items`");
    p.send(" dst.`line items`\r").unwrap();
    let desc = wait(&mut p, "]> ");
    assert!(
        desc.contains("int(11) NOT NULL PRI") && desc.contains("bigint(20) NOT NULL PRI"),
        "{desc}"
    );
    assert!(
        desc.contains("1 column differs") || desc.contains("type"),
        "{desc}"
    );
    // `.desc T` where only the source has T: the source's columns, and a line on dst.
    p.send_line(".desc only_here").unwrap();
    let one = wait(&mut p, "]> ");
    assert!(
        one.contains("note") && one.contains("no table `only_here` in dst"),
        "{one}"
    );
    // What `ferry columns` shows: the default and the extra.
    for want in [
        "int(11) NOT NULL PRI auto_increment",
        "int(11) NOT NULL DEFAULT 7",
        "int(11) NULL STORED GENERATED",
    ] {
        assert!(one.contains(want), "{want}: {one}");
    }
}

/// Every global of the job API a new user meets in the docs has its `.help`.
#[test]
fn repl_help_knows_sample_and_lookup() {
    let dbs = Dbs::new("repl_session_help");
    let run = piped(&dbs, ".help sample\n.help lookup\n.help try\n").ok();
    for want in [
        "sample{from=, where=, limit= | percent=",
        "lookup{db = target() | source(), table=, key=",
        "try{<copy options>, rows = 5 | key = K}",
    ] {
        assert!(run.stdout.contains(want), "{want}: {}", run.describe());
    }
    assert!(!run.stdout.contains("no help for"), "{}", run.describe());
}
