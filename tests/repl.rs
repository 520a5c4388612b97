//! `ferry repl` as a user meets it: through a pseudo-terminal (a side down at start-up
//! then `.connect`, results in the query's order with their time, `\G`, help and hints,
//! Ctrl-C ending a `SLEEP(30)` on the server), and with a script piped to stdin.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;
use expectrl::{ControlCode, Expect};
use mysql::prelude::Queryable;

pub(crate) type Pty = expectrl::session::OsSession;

fn re(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).unwrap()
}

/// `ferry repl ARGS` in a pseudo-terminal `cols` wide, its history in the test's
/// directory.
pub(crate) fn repl(dbs: &Dbs, args: &[&str], cols: u16) -> Pty {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.arg("repl")
        .args(args)
        .current_dir(dbs.dir.path())
        .env("XDG_DATA_HOME", dbs.dir.path())
        .env("TERM", "xterm")
        .env_remove("FERRY_SOURCE")
        .env_remove("FERRY_TARGET")
        .env_remove("FERRY_SOURCE_PASSWORD")
        .env_remove("FERRY_TARGET_PASSWORD");
    let mut p = expectrl::Session::spawn(cmd).expect("spawning ferry repl in a pty");
    p.get_process_mut().set_window_size(cols, 40).unwrap();
    p.set_expect_timeout(Some(Duration::from_secs(30)));
    p
}

/// Waits for `text`; returns what came before it.
#[track_caller]
pub(crate) fn wait(p: &mut Pty, text: &str) -> String {
    match p.expect(text) {
        Ok(found) => String::from_utf8_lossy(found.before()).into_owned(),
        Err(e) => panic!("waiting for {text:?}: {e}"),
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn repl_opens_with_a_side_down_and_connects_it_later() {
    let mut dbs = Dbs::new("repl_connect");
    dbs.dst("CREATE TABLE customers_x (id INT PRIMARY KEY)");
    let bad = format!("mysql://root:Pa55-word@127.0.0.1:{}/nowhere", closed_port());
    let mut p = repl(&dbs, &["--source", &dbs.src_url, "--target", &bad], 120);
    let before = wait(&mut p, "[src, no dst]> ");
    assert!(
        before.contains("error: cannot connect to mysql://root:***@127.0.0.1:"),
        "{before}"
    );
    assert!(before.contains("is the server running"), "{before}");
    assert!(!before.contains("Pa55-word"), "{before}");
    p.send_line("dst:tables()").unwrap();
    wait(&mut p, "dst is not connected: .connect dst URL");
    p.send_line(format!(".connect dst {}", dbs.dst_url))
        .unwrap();
    wait(&mut p, "dst connected: ");
    wait(&mut p, "[src, dst]> ");
    p.send_line("return \"found:\" .. table.concat(dst:tables(), \",\")")
        .unwrap();
    wait(&mut p, "found:customers_x");
    // A refused .connect says why and keeps the session it had.
    p.send_line(format!(".connect dst {bad}")).unwrap();
    wait(&mut p, "error: cannot connect to mysql://root:***@");
    let rest = wait(&mut p, "\n");
    assert!(!rest.contains("Pa55-word"), "{rest}");
    p.send_line("return \"still:\" .. #dst:tables()").unwrap();
    wait(&mut p, "still:1");
    // Ctrl-D once the prompt is back (at a terminal between prompts it is the line
    // discipline's end of file, which the prompt never sees).
    wait(&mut p, "]> ");
    p.send(ControlCode::EndOfTransmission).unwrap();
    // The history is written on leaving.
    p.expect(expectrl::Eof).unwrap();
    p.get_process_mut().wait().unwrap();
    let history = std::fs::read_to_string(dbs.dir.path().join("ferry/history")).unwrap();
    assert!(!history.contains("Pa55-word"), "{history}");
    assert!(history.contains(".connect dst"), "{history}");
}

#[test]
fn repl_prints_results_in_query_order_cut_to_the_terminal() {
    let mut dbs = Dbs::new("repl_results");
    dbs.src("CREATE TABLE t (zeta INT PRIMARY KEY, name VARCHAR(20) NULL, alpha VARCHAR(5), bin VARBINARY(8), note TEXT)");
    dbs.src("INSERT INTO t VALUES (1, NULL, 'a', 0x0102ff, 'short'), (2, 'NULL', 'b', NULL, REPEAT('long text ', 20)), (3, 'Cy', 'c', 0x41, 'x')");
    dbs.src("CREATE TABLE empty_t (id INT PRIMARY KEY, v INT)");
    let mut p = repl(&dbs, &["--source", &dbs.src_url], 60);
    wait(&mut p, "]> ");
    p.send_line("src:query(\"SELECT * FROM t ORDER BY zeta\")")
        .unwrap();
    let table = wait(&mut p, " s)");
    let table = &table[table.find("zeta ").expect("a header")..];
    assert!(
        re(r"zeta +name +alpha +bin +note").is_match(table),
        "columns in the query's order:\n{table}"
    );
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        re(r"^1 +NULL +a +0x0102ff +short").is_match(lines[2]),
        "{table}"
    );
    assert!(
        re(r"^2 +'NULL' +b +NULL +long text").is_match(lines[3]),
        "{table}"
    );
    assert!(lines[3].ends_with('…'), "a long cell is cut: {table}");
    for l in &lines[..5] {
        assert!(l.chars().count() <= 60, "wider than the terminal: {l:?}");
    }
    assert!(re(r"\(3 rows, \d+\.\d{3}$").is_match(lines[5]), "{table}");
    p.send_line("src:columns(\"empty_t\")").unwrap();
    let columns = wait(&mut p, "(2 rows, ");
    assert!(
        re(r"name +type +nullable +default +key +extra").is_match(&columns),
        "{columns}"
    );
    p.send_line("src:peek(\"empty_t\")").unwrap();
    let empty = wait(&mut p, "(0 rows)");
    assert!(re(r"id +v").is_match(&empty), "{empty}");
    // `\G` once, then `.x on` for good; `_` keeps the last result.
    p.send_line("src:query(\"SELECT zeta, alpha FROM t WHERE zeta = 3\")\\G")
        .unwrap();
    let vertical = wait(&mut p, "(1 row, ");
    assert!(vertical.contains("1. row *"), "{vertical}");
    assert!(
        re(r"zeta: 3\r?\nalpha: c").is_match(&vertical),
        "{vertical}"
    );
    p.send_line("return \"kept:\" .. #_ .. _[1].alpha").unwrap();
    wait(&mut p, "kept:1c");
    // (Each line is sent once the one before has answered: keys typed ahead of the
    // prompt are dropped.)
    p.send_line(".x on").unwrap();
    wait(&mut p, "vertical output: on");
    p.send_line("src:peek(\"t\", 2)").unwrap();
    let vertical = wait(&mut p, "(2 rows, ");
    assert!(vertical.contains("2. row *"), "{vertical}");
    // `.x auto`: vertical only when the table is wider than the terminal.
    p.send_line(".x auto").unwrap();
    wait(&mut p, "vertical output: auto");
    p.send_line("src:query(\"SELECT zeta, alpha FROM t\")")
        .unwrap();
    let narrow = wait(&mut p, "(3 rows, ");
    assert!(re(r"zeta +alpha").is_match(&narrow), "{narrow}");
    p.send_line("src:query(\"SELECT * FROM t\")").unwrap();
    let wide = wait(&mut p, "(3 rows, ");
    assert!(wide.contains("3. row *"), "{wide}");
    p.send(ControlCode::EndOfTransmission).unwrap();
}

#[test]
fn repl_helps_runs_sql_on_a_side_and_hints_at_colons() {
    let mut dbs = Dbs::new("repl_help");
    dbs.src("CREATE TABLE users (id INT PRIMARY KEY)");
    dbs.src("INSERT INTO users VALUES (1), (2)");
    dbs.dst("CREATE TABLE customers (id INT PRIMARY KEY)");
    let mut p = repl(
        &dbs,
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        120,
    );
    wait(&mut p, "]> ");
    p.send_line(".help").unwrap();
    let help = wait(&mut p, ".help NAME shows one");
    for needle in [
        "src:query(sql, ...)",
        ".connect src|dst URL",
        "\\G",
        "Ctrl-C",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    // What users of other prompts type shows it too.
    p.send_line("\\h").unwrap();
    wait(&mut p, ".help NAME shows one");
    p.send_line(".help copy").unwrap();
    wait(&mut p, "copy{from=");
    wait(&mut p, "example: copy{from = \"users\"");
    p.send_line(".help peek").unwrap();
    wait(&mut p, "db:peek(table [, n = 10])");
    p.send_line("SELECT COUNT(*) AS users_n FROM users")
        .unwrap();
    let out = wait(&mut p, "(1 row, ");
    assert!(
        out.contains("(ran on src; `dst> ...` runs on the target"),
        "{out}"
    );
    assert!(re(r"users_n\r?\n-+\r?\n2").is_match(&out), "{out}");
    p.send_line("dst> SHOW TABLES").unwrap();
    wait(&mut p, "customers");
    p.send_line(".sql dst").unwrap();
    wait(&mut p, "every line is SQL on dst");
    wait(&mut p, "sql dst> ");
    p.send_line("INSERT INTO customers VALUES (5), (6)")
        .unwrap();
    wait(&mut p, "(2 rows affected, ");
    p.send_line(".sql off").unwrap();
    wait(&mut p, "SQL mode off");
    p.send_line("src.tables()").unwrap();
    wait(&mut p, "did you mean `src:tables()`?");
    p.send(ControlCode::EndOfTransmission).unwrap();
    assert_eq!(dbs.count_dst("customers"), 2);
}

#[test]
fn repl_ctrl_c_ends_a_query_on_the_server_at_once() {
    let mut dbs = Dbs::new("repl_cancel");
    let mut p = repl(&dbs, &["--source", &dbs.src_url], 120);
    wait(&mut p, "]> ");
    p.send_line("src:query(\"SELECT SLEEP(30) AS slept\")")
        .unwrap();
    // The query is running once the server lists it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while running_sleeps(&mut dbs) == 0 {
        assert!(Instant::now() < deadline, "the query never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pressed = Instant::now();
    p.send(ControlCode::EndOfText).unwrap();
    wait(&mut p, "cancelled (Ctrl-C)");
    let took = pressed.elapsed();
    println!("Ctrl-C to the prompt: {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    wait(&mut p, "]> ");
    assert_eq!(running_sleeps(&mut dbs), 0, "the query still runs");
    // At the prompt Ctrl-C clears the line.
    p.send("junk junk").unwrap();
    p.send(ControlCode::EndOfText).unwrap();
    // (What is typed after the new prompt shows: keys typed ahead of it are dropped.)
    std::thread::sleep(Duration::from_millis(300));
    p.send_line("return \"after:\" .. 40 + 2").unwrap();
    wait(&mut p, "after:42");
    p.send(ControlCode::EndOfTransmission).unwrap();
}

fn running_sleeps(dbs: &mut Dbs) -> usize {
    let rows: Vec<(u64, Option<String>)> = dbs
        .src
        .query("SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(30) AS slept%' AND INFO NOT LIKE '%PROCESSLIST%'")
        .unwrap();
    rows.len()
}

/// `ferry repl` with `script` on stdin.
pub(crate) fn piped(dbs: &Dbs, script: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["repl", "--source", &dbs.src_url, "--target", &dbs.dst_url])
        .current_dir(dbs.dir.path())
        .env("XDG_DATA_HOME", dbs.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        args: vec!["repl".into()],
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn repl_reads_a_session_from_stdin_without_prompts() {
    let mut dbs = Dbs::new("repl_script");
    dbs.src("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(10))");
    dbs.src("INSERT INTO users VALUES (1, 'Ann'), (2, NULL)");
    dbs.dst("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(10))");
    let script = "\
function twice(x)
  return x * 2
end
print(twice(21))
src:query(\"SELECT id, name FROM users ORDER BY id\")
dst> INSERT INTO customers SELECT 7, 'Zed'
.x on
dst:peek(\"customers\")
";
    let run = piped(&dbs, script).ok();
    assert_eq!(
        run.stdout,
        "42\n\
         id  name\n\
         --  ----\n\
         1   Ann\n\
         2   NULL\n\
         (2 rows)\n\
         (1 row affected)\n\
         *************************** 1. row ***************************\n  \
         id: 7\n\
         name: Zed\n\
         (1 row)\n",
        "{}",
        run.describe()
    );
    assert!(
        !run.stdout.contains('\x1b') && run.stderr.is_empty(),
        "{}",
        run.describe()
    );
    // A failing statement is reported with its line, the rest still runs, and the exit
    // status says so.
    let run = piped(&dbs, "src:peek(\"nope\")\nprint(\"still here\")\n").status(2);
    assert_eq!(run.stdout, "still here\n", "{}", run.describe());
    assert!(run.stderr.contains("doesn't exist"), "{}", run.describe());
    assert!(
        run.stderr.contains("1 statement of the script failed"),
        "{}",
        run.describe()
    );
}

/// The first line of `run`'s output that starts with `start`, its runs of spaces as one.
fn line_starting(run: &Run, start: &str) -> String {
    run.stdout
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?}\n{}", run.describe()))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `.tables` lists both sides' tables with which side lacks one; `.desc` puts two
/// tables' columns side by side with what differs, and names a missing table.
#[test]
fn repl_compares_the_two_databases() {
    let mut dbs = Dbs::new("repl_compare");
    dbs.src("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, email VARCHAR(100) CHARACTER SET latin1, legacy INT)");
    dbs.src("CREATE TABLE only_src (id INT PRIMARY KEY)");
    dbs.dst("CREATE TABLE users (ID BIGINT PRIMARY KEY, name VARCHAR(10) NULL, email VARCHAR(100), created DATE)");
    dbs.dst("CREATE TABLE only_dst (id INT PRIMARY KEY)");
    // ferry's own state table is left out of `.tables` and `.diff`.
    dbs.dst("CREATE TABLE _ferry_state (id INT PRIMARY KEY)");
    let run = piped(
        &dbs,
        ".tables\n.desc users\n.desc src.users\n.desc dst.usres\n",
    )
    .status(2);
    let out = &run.stdout;
    let line = |start: &str| line_starting(&run, start);
    assert_eq!(line("only_dst "), "only_dst ~0 only in dst");
    assert_eq!(line("only_src "), "only_src ~0 only in src");
    assert!(!out.contains("_ferry_state"), "{}", run.describe());
    assert!(line("table ").ends_with(" note"), "{}", line("table "));
    assert!(
        out.contains("(3 tables; connected: src, dst)"),
        "{}",
        run.describe()
    );
    assert!(line("id ").ends_with(" type"), "{}", line("id "));
    assert!(line("name ").ends_with(" null"), "{}", line("name "));
    assert!(line("email ").ends_with(" charset"), "{}", line("email "));
    assert!(
        line("legacy ").ends_with("only in src"),
        "{}",
        line("legacy ")
    );
    assert!(
        line("created ").ends_with("only in dst"),
        "{}",
        line("created ")
    );
    assert!(out.contains("5 columns differ"), "{}", run.describe());
    assert!(out.contains(": 4 columns, ~0 rows"), "{}", run.describe());
    assert!(
        run.stderr
            .contains("no table `usres` in dst (did you mean `users`?)"),
        "{}",
        run.describe()
    );
    // .diff: the tables both sides have, with the columns that differ.
    dbs.src("CREATE TABLE twin (id INT PRIMARY KEY, v TEXT)");
    dbs.dst("CREATE TABLE twin (id INT PRIMARY KEY, v TEXT)");
    let run = piped(&dbs, ".diff\n").ok();
    let out = &run.stdout;
    let line = |start: &str| line_starting(&run, start);
    assert_eq!(line("twin "), "twin ~0 ~0 same columns");
    assert_eq!(
        line("users "),
        "users ~0 ~0 differ: id, name, email, legacy, created"
    );
    assert!(
        out.contains("(2 tables on both sides, 1 with the same columns;"),
        "{}",
        run.describe()
    );
    assert!(
        out.contains("only in src: only_src\nonly in dst: only_dst\n"),
        "{}",
        run.describe()
    );
}
