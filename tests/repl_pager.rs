//! Long results through a pager in `ferry repl`: at a terminal a result taller than
//! the window goes to the pager (`.pager CMD`), a short one and `.pager off` print
//! directly; piped output never goes through `$PAGER`. And `.help NAME` for the
//! standard library's functions and modules.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::repl::{repl, wait};
use crate::support::*;
use expectrl::Expect;

fn hundred_rows(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE nums (n INT PRIMARY KEY, label VARCHAR(20))");
    dbs.src("INSERT INTO nums SELECT seq, CONCAT('row-', seq) FROM seq_1_to_100");
}

#[test]
fn repl_pages_results_taller_than_the_terminal() {
    let mut dbs = Dbs::new("repl_pager");
    hundred_rows(&mut dbs);
    let paged = dbs.dir.path().join("paged.txt");
    let mut p = repl(&dbs, &["--source", &dbs.src_url], 100);
    wait(&mut p, "]> ");
    p.send_line(format!(".pager cat > '{}'", paged.display()))
        .unwrap();
    wait(&mut p, "pager: cat > ");
    wait(&mut p, "]> ");
    // 40 rows high: 100 rows go to the pager, whole.
    p.send_line("src:query(\"SELECT n, label FROM nums ORDER BY n\")")
        .unwrap();
    let text = paged_text(&paged);
    assert!(
        text.contains("row-1\n") && text.contains("row-100\n"),
        "{text}"
    );
    assert!(text.contains("(100 rows, "), "{text}");
    // A short result prints at the prompt.
    wait(&mut p, "]> ");
    std::fs::remove_file(&paged).unwrap();
    p.send_line("src:query(\"SELECT label FROM nums WHERE n = 7\")")
        .unwrap();
    wait(&mut p, "row-7");
    wait(&mut p, "]> ");
    assert!(!paged.exists(), "a short result went to the pager");
    // A pager that is not there: the result prints at the prompt, with why.
    p.send_line(".pager no-such-pager-here").unwrap();
    wait(&mut p, "pager: no-such-pager-here");
    p.send_line("src:query(\"SELECT n, label FROM nums ORDER BY n\")")
        .unwrap();
    wait(
        &mut p,
        "error: the pager `no-such-pager-here`: command not found",
    );
    wait(&mut p, "row-100");
    wait(&mut p, "]> ");
    // Off: long results print too.
    p.send_line(".pager off").unwrap();
    wait(&mut p, "pager: off");
    p.send_line("src:query(\"SELECT n, label FROM nums ORDER BY n\")")
        .unwrap();
    wait(&mut p, "row-100");
    wait(&mut p, "]> ");
    assert!(!paged.exists(), "the pager ran while off");
}

/// What the pager wrote, once it wrote the result's last line.
fn paged_text(path: &std::path::Path) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(" rows, ") || std::time::Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn repl_piped_output_bypasses_the_pager() {
    let mut dbs = Dbs::new("repl_pager_piped");
    hundred_rows(&mut dbs);
    let marker = dbs.dir.path().join("pager-ran");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["repl", "--source", &dbs.src_url])
        .current_dir(dbs.dir.path())
        .env("XDG_DATA_HOME", dbs.dir.path())
        .env("PAGER", format!("touch '{}'; cat", marker.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b".pager on\nsrc:query(\"SELECT n, label FROM nums ORDER BY n\")\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 103, "{stdout}");
    assert!(stdout.ends_with("row-100\n(100 rows)\n"), "{stdout}");
    assert!(!marker.exists(), "the pager ran on piped output");
}

/// `.help NAME` for the standard library: signature, line and example of any function,
/// and a module's functions, from the modules' own doc comments.
#[test]
fn repl_helps_with_every_stdlib_function() {
    let dbs = Dbs::new("repl_help_stdlib");
    let run = crate::repl::piped(
        &dbs,
        ".help date.add\n.help ferry.hash.sha256\n.help ferry.mask\n.help text.lowr\n",
    )
    .ok();
    let out = &run.stdout;
    assert!(
        out.contains("date.add(s, n, unit)\n  s moved by n units"),
        "{out}"
    );
    assert!(
        out.contains("example: date.add(\"2024-01-31\", 1, \"month\")  --> \"2024-02-29\""),
        "{out}"
    );
    assert!(out.contains("hash.sha256(s [, \"binary\"])\n"), "{out}");
    assert!(out.contains("local mask = require \"ferry.mask\""), "{out}");
    assert!(out.contains("functions: mask.salt mask.has_salt"), "{out}");
    assert!(
        out.contains("no help for `text.lowr` (did you mean"),
        "{out}"
    );
}
