//! Rows written by `emit` get the value checks the copy's own rows get: a value the
//! target would cut, round or refuse fails the page (uncommitted, exit 1), naming the
//! source row that emitted it and the table and column, unless the copy accepts it.

use mysql::prelude::Queryable;

use crate::support::*;

/// Source `t`: 10 rows in pages of 5. Target `t` and `notes`, whose `note` holds 5
/// characters, `score` whole numbers, `at` whole seconds, `code` a CHAR (no trailing
/// spaces).
fn setup(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)");
    dbs.src("INSERT INTO t SELECT seq, CONCAT('n', seq) FROM seq_1_to_10");
    dbs.dst("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)");
    dbs.dst(
        "CREATE TABLE notes (id INT PRIMARY KEY, note VARCHAR(5) NULL, score INT NULL, \
         at DATETIME NULL, code CHAR(3) NULL)",
    );
}

fn job(field: &str, bad: &str, accept: &str) -> String {
    format!(
        r#"copy {{
  from = "t", page = 5, emit = {{ notes = "insert" }}, accept = {{ {accept} }},
  transform = function(r)
    local row = {{ id = r.id }}
    if r.id == 7 then row.{field} = {bad} end
    emit("notes", row)
    return r
  end,
}}
"#
    )
}

fn notes(dbs: &mut Dbs) -> Vec<i32> {
    dbs.dst.query("SELECT id FROM notes ORDER BY id").unwrap()
}

#[test]
fn an_emitted_value_too_long_fails_its_page_naming_the_row() {
    let mut dbs = Dbs::new("emit_checks_long");
    setup(&mut dbs);
    dbs.run_code(&job("note", "'far too long'", ""), &["--no-check"])
        .status(1)
        .says("row id=7")
        .says("notes")
        .says("note")
        .says("page 2 was rolled back");
    // Page 1 is committed with its emitted rows; page 2 is not, neither part.
    assert_eq!(dbs.count_dst("t"), 5);
    assert_eq!(notes(&mut dbs), vec![1, 2, 3, 4, 5]);
}

#[test]
fn an_emitted_value_the_target_would_change_silently_fails_its_page() {
    let mut dbs = Dbs::new("emit_checks_round");
    setup(&mut dbs);
    for (field, bad, shown) in [
        ("score", "1.5", "cannot hold 1.5"),
        (
            "at",
            "'2024-01-02 03:04:05.5'",
            "cannot hold '2024-01-02 03:04:05.5'",
        ),
        ("code", "'ab '", "cannot hold 'ab '"),
    ] {
        dbs.dst("DELETE FROM notes").dst("DELETE FROM t");
        let run = dbs
            .run_code(&job(field, bad, ""), &["--no-check"])
            .status(1)
            .says("row id=7")
            .says(&format!("emitting into {}.notes", dbs.dst_db))
            .says(&format!("column `{field}`"))
            .says(shown)
            .says("page 2 was rolled back");
        assert_eq!(notes(&mut dbs), vec![1, 2, 3, 4, 5], "{}", run.describe());
        assert_eq!(dbs.count_dst("t"), 5, "{field}");
    }
    // What `accept` lets be in a run (trailing spaces into a CHAR) it lets be in an
    // emitted row too.
    dbs.dst("DELETE FROM notes").dst("DELETE FROM t");
    dbs.run_code(
        &job("code", "'ab '", "\"char_trailing_space\""),
        &["--no-check"],
    )
    .ok();
    assert_eq!(notes(&mut dbs), (1..=10).collect::<Vec<_>>());
}

#[test]
fn a_rejected_copy_sets_the_row_with_a_bad_emitted_value_aside() {
    let mut dbs = Dbs::new("emit_checks_reject");
    setup(&mut dbs);
    let job = job("score", "1.5", "").replace("page = 5,", "page = 5, on_error = \"reject\",");
    let job = format!("{job}\nif not planning then print(\"done\") end\n");
    let run = dbs.run_code(&job, &["--no-check"]).ok();
    let want: Vec<i32> = (1..=10).filter(|&i| i != 7).collect();
    assert_eq!(notes(&mut dbs), want, "{}", run.describe());
    let t: Vec<i32> = dbs.dst.query("SELECT id FROM t ORDER BY id").unwrap();
    assert_eq!(t, want, "{}", run.describe());
}
