//! apply() on hand-written jobs: only the edited lines change.

use super::edits::{ColumnEdit, CopyEdit, JobEdits};
use super::parse::{self, Shape};
use super::{apply, apply_at};

const JOB: &str = r#"-- the legacy shop, moved by hand
source "mysql://app@127.0.0.1/legacy"   -- read only
target "mysql://root@127.0.0.1/crm"

local function tidy(row)
  row.name = row.name:gsub("^%s+", "")   -- leading blanks
  return row
end

copy "orders"

local stats = copy {
  from = "users", to = "customers",
  mode   =   "upsert",   -- keep theirs

  map = map {
    full_name = "name",          -- renamed
    email = function(r) return r.mail:lower() end,
    [ "odd name" ] = 'x',
  },
  default = default { status = "active", note = null },
  transform = tidy,
}

for _, t in ipairs({ "a", "b" }) do
  copy { from = t }
end
log.info("copied %d", stats.written)
"#;

fn col(target: &str) -> ColumnEdit {
    ColumnEdit {
        target: target.into(),
        ..Default::default()
    }
}

fn source(target: &str, s: &str) -> ColumnEdit {
    ColumnEdit {
        source: Some(s.into()),
        ..col(target)
    }
}

fn default(target: &str, v: serde_json::Value) -> ColumnEdit {
    ColumnEdit {
        default: Some(v),
        ..col(target)
    }
}

fn edit(index: Option<usize>, from: &str, to: &str, columns: Vec<ColumnEdit>) -> CopyEdit {
    CopyEdit {
        index,
        from: from.into(),
        to: to.into(),
        mode: None,
        page: None,
        columns,
    }
}

fn diff_lines(a: &str, b: &str) -> Vec<String> {
    similar::TextDiff::from_lines(a, b)
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| format!("{}{}", c.tag(), c.value().trim_end_matches('\n')))
        .collect()
}

#[test]
fn reads_the_copies_and_what_it_cannot_rewrite() {
    let job = parse::read(JOB).unwrap();
    assert_eq!(job.copies.len(), 2, "the copy in the loop is not top level");
    assert_eq!(job.copies[0].line, 10);
    assert!(matches!(&job.copies[0].shape, Shape::Name { name, .. } if name == b"orders"));
    assert_eq!(job.copies[1].line, 12);
    let Shape::Table(t) = &job.copies[1].shape else {
        panic!("a table")
    };
    assert!(t.why.is_none(), "{:?}", t.why);
    assert!(t.transform);
    let map = t.map.as_ref().unwrap();
    let names: Vec<&str> = map.entries.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(names, ["full_name", "email", "odd name"]);
    assert!(
        matches!(map.entries[1].value, parse::Value::Lua(ref s) if s.contains("r.mail:lower()"))
    );
}

#[test]
fn an_edit_changes_only_its_lines() {
    let edits = JobEdits {
        copies: vec![edit(
            Some(1),
            "users",
            "customers",
            vec![
                source("full_name", "first_name"),
                default("status", serde_json::json!("new")),
                col("note"),
                ColumnEdit {
                    transform: Some("text.upper".into()),
                    ..source("city", "town")
                },
                ColumnEdit {
                    sql: Some("NOW()".into()),
                    ..col("created")
                },
            ],
        )],
    };
    let out = apply(JOB, &edits).unwrap();
    assert_eq!(
        diff_lines(JOB, &out),
        [
            "+local text = require \"ferry.text\"",
            "-    full_name = \"name\",          -- renamed",
            "+    full_name = \"first_name\",          -- renamed",
            "+    city = function(r) return text.upper(r.town) end,",
            "-  default = default { status = \"active\", note = null },",
            "+  default = default { status = \"new\", created = sql \"NOW()\" },",
        ]
    );
    assert!(out.starts_with(
        "-- the legacy shop, moved by hand\nsource \"mysql://app@127.0.0.1/legacy\"   -- read only\ntarget \"mysql://root@127.0.0.1/crm\"\nlocal text = require \"ferry.text\"\n"
    ));
    // nothing asked: nothing changes
    let same = apply(
        JOB,
        &JobEdits {
            copies: vec![edit(
                Some(1),
                "users",
                "customers",
                vec![source("full_name", "name")],
            )],
        },
    )
    .unwrap();
    assert_eq!(same, JOB);
}

#[test]
fn a_read_only_entry_and_a_loop_are_refused() {
    let e = apply(
        JOB,
        &JobEdits {
            copies: vec![edit(
                Some(1),
                "users",
                "customers",
                vec![source("email", "mail")],
            )],
        },
    )
    .unwrap_err()
    .0;
    assert!(
        e.contains("email") && e.contains("Lua of the file's own"),
        "{e}"
    );
    // the entry sent back as GET /api/job shows it: kept
    let kept = apply(
        JOB,
        &JobEdits {
            copies: vec![edit(
                Some(1),
                "users",
                "customers",
                vec![ColumnEdit {
                    lua: Some("function(r) return r.mail:lower() end".into()),
                    ..col("email")
                }],
            )],
        },
    )
    .unwrap();
    assert_eq!(kept, JOB);
    // the plan's copies: orders, customers, then a and b from the loop's line 27
    let lines = [10, 12, 27, 27];
    let e = apply_at(
        JOB,
        &lines,
        &JobEdits {
            copies: vec![edit(
                Some(2),
                "a",
                "a",
                vec![default("x", serde_json::json!(1))],
            )],
        },
    )
    .unwrap_err()
    .0;
    assert!(e.contains("line 27"), "{e}");
}

#[test]
fn fields_are_added_with_the_files_indentation() {
    let job = "source \"mysql://a@h/s\"\ntarget \"mysql://a@h/t\"\n\ncopy {\n    from = \"a\",\n    to = \"b\"\n}\n";
    let mut e = edit(
        Some(0),
        "a",
        "b",
        vec![default("status", serde_json::json!("x"))],
    );
    e.mode = Some("overwrite".into());
    e.page = Some(500);
    let out = apply(job, &JobEdits { copies: vec![e] }).unwrap();
    assert_eq!(
        out,
        "source \"mysql://a@h/s\"\ntarget \"mysql://a@h/t\"\n\ncopy {\n    from = \"a\",\n    to = \"b\",\n    mode = \"overwrite\",\n    page = 500,\n    default = default {\n        status = \"x\",\n    },\n}\n"
    );
}

#[test]
fn a_copy_by_name_becomes_a_table_and_a_new_copy_is_appended() {
    let edits = JobEdits {
        copies: vec![
            edit(Some(0), "orders", "orders", vec![source("total", "amount")]),
            {
                let mut e = edit(
                    None,
                    "legacy_users",
                    "users",
                    vec![
                        ColumnEdit {
                            transform: Some("hash.sha256".into()),
                            ..source("email", "mail")
                        },
                        source("id", "id"),
                        default("bytes", serde_json::json!({"hex": "00ff22"})),
                    ],
                );
                e.mode = Some("insert".into());
                e.page = Some(100);
                e
            },
        ],
    };
    let out = apply(JOB, &edits).unwrap();
    assert_eq!(
        diff_lines(JOB, &out),
        [
            "+local hash = require \"ferry.hash\"",
            "-copy \"orders\"",
            "+copy {",
            "+  from = \"orders\",",
            "+  map = map {",
            "+    total = \"amount\",",
            "+  },",
            "+}",
            "+",
            "+copy {",
            "+  from = \"legacy_users\", to = \"users\",",
            "+  mode = \"insert\",",
            "+  page = 100,",
            "+  map = map {",
            "+    email = function(r) return hash.sha256(r.mail) end,",
            "+  },",
            "+  default = default {",
            "+    bytes = \"\\000\\255\\\"\",",
            "+  },",
            "+}",
        ]
    );
}

#[test]
fn removing_entries_keeps_the_rest() {
    let job = "copy {\n  from = \"a\",\n  map = map {\n    x = \"y\", -- gone\n    z = \"w\"\n  },\n  default = { p = 1, q = 2 },\n}\n";
    let out = apply(
        job,
        &JobEdits {
            copies: vec![edit(
                Some(0),
                "a",
                "a",
                vec![col("x"), col("q"), source("z", "v")],
            )],
        },
    )
    .unwrap();
    assert_eq!(
        out,
        "copy {\n  from = \"a\",\n  map = map {\n    z = \"v\"\n  },\n  default = { p = 1 },\n}\n"
    );
}

#[test]
fn a_name_taken_by_another_local_is_not_shadowed() {
    let job = "local text = \"mine\"\ncopy { from = \"a\" }\n";
    let out = apply(
        job,
        &JobEdits {
            copies: vec![edit(
                Some(0),
                "a",
                "a",
                vec![ColumnEdit {
                    transform: Some("text.lower".into()),
                    ..source("b", "c")
                }],
            )],
        },
    )
    .unwrap();
    assert_eq!(
        out,
        "local text = \"mine\"\ncopy { from = \"a\", map = map { b = function(r) return require(\"ferry.text\").lower(r.c) end } }\n"
    );
}

#[test]
fn long_strings_block_comments_and_tight_spacing_stay() {
    let job = "--[==[ a long\ncomment with copy { from = \"x\" } ]==]\ncopy{from='a',to=[[b]],where=[=[\nid > 1 -- not a comment\n]=],map=map{x='y'--[[ why ]]}}\n";
    let parsed = parse::read(job).unwrap();
    assert_eq!(
        parsed.copies.len(),
        1,
        "the copy in the comment is not read"
    );
    assert_eq!(parsed.copies[0].line, 3);
    let out = apply(
        job,
        &JobEdits {
            copies: vec![edit(
                Some(0),
                "a",
                "b",
                vec![source("z", "w"), default("n", serde_json::json!(-1.5))],
            )],
        },
    )
    .unwrap();
    assert_eq!(
        out,
        "--[==[ a long\ncomment with copy { from = \"x\" } ]==]\ncopy{from='a',to=[[b]],where=[=[\nid > 1 -- not a comment\n]=],map=map{x='y', z = \"w\"--[[ why ]]}, default = default { n = -1.5 }}\n"
    );
}

#[test]
fn crlf_files_stay_crlf() {
    let job = "copy {\r\n  from = \"a\",\r\n}\r\n";
    let out = apply(
        job,
        &JobEdits {
            copies: vec![edit(
                Some(0),
                "a",
                "a",
                vec![default("n", serde_json::json!(null))],
            )],
        },
    )
    .unwrap();
    assert_eq!(
        out,
        "copy {\r\n  from = \"a\",\r\n  default = default {\r\n    n = null,\r\n  },\r\n}\r\n"
    );
    let out = apply(
        job,
        &JobEdits {
            copies: vec![edit(None, "b", "c", vec![])],
        },
    )
    .unwrap();
    assert_eq!(
        out,
        "copy {\r\n  from = \"a\",\r\n}\r\n\r\ncopy {\r\n  from = \"b\", to = \"c\",\r\n}\r\n"
    );
}

#[test]
fn what_the_page_cannot_rewrite_is_said() {
    let job = "copy { tables = \"*\" }\ncopy { from = name_of(1) }\ncopy { from = \"a\", map = my_map }\nsample { from = \"o\", limit = 5 }\n";
    let lines: Vec<Option<usize>> = vec![Some(1), Some(1), Some(2), Some(3), Some(4)];
    let st = super::state::states(Some(job.as_bytes()), &lines);
    assert!(st.iter().all(|s| !s.editable));
    assert!(
        st[0].why.as_deref().unwrap().contains("several copies"),
        "{:?}",
        st[0].why
    );
    assert!(
        st[2].why.as_deref().unwrap().contains("`from` is computed"),
        "{:?}",
        st[2].why
    );
    assert!(
        st[3].why.as_deref().unwrap().contains("`map` is computed"),
        "{:?}",
        st[3].why
    );
    assert!(
        st[4].why.as_deref().unwrap().contains("sample"),
        "{:?}",
        st[4].why
    );
    let e = apply(
        job,
        &JobEdits {
            copies: vec![edit(
                Some(1),
                "a",
                "a",
                vec![default("n", serde_json::json!(1))],
            )],
        },
    )
    .unwrap_err()
    .0;
    assert!(e.contains("`from` is computed"), "{e}");
}

#[test]
fn a_new_copy_goes_before_a_final_return() {
    let job = "copy \"a\"\nreturn 1\n";
    let out = apply(
        job,
        &JobEdits {
            copies: vec![edit(None, "b", "b", vec![])],
        },
    )
    .unwrap();
    assert_eq!(out, "copy \"a\"\ncopy {\n  from = \"b\",\n}\n\nreturn 1\n");
}

#[test]
fn an_entry_removed_and_another_added_in_one_table() {
    let job = "copy {\n  from = \"a\",\n  default = default {\n    p = 1,\n    q = 2\n  },\n  map = { x = \"y\" }\n}\n";
    let out = apply(
        job,
        &JobEdits {
            copies: vec![edit(
                Some(0),
                "a",
                "a",
                vec![
                    col("q"),
                    default("r", serde_json::json!(3)),
                    col("x"),
                    source("z", "w"),
                ],
            )],
        },
    )
    .unwrap();
    assert_eq!(
        out,
        "copy {\n  from = \"a\",\n  default = default {\n    p = 1,\n    r = 3,\n  },\n  map = { z = \"w\" }\n}\n"
    );
}

#[test]
fn applying_the_same_edits_twice_changes_nothing_more() {
    let sets = vec![
        vec![
            source("full_name", "first_name"),
            default("status", serde_json::json!("new")),
            col("note"),
            ColumnEdit {
                transform: Some("text.upper".into()),
                ..source("city", "town")
            },
            ColumnEdit {
                sql: Some("NOW()".into()),
                ..col("created")
            },
        ],
        vec![col("full_name"), col("status"), col("note")],
        vec![
            default("odd name", serde_json::json!({"hex": "00ff0a22"})),
            default("n", serde_json::json!(-2)),
            default("f", serde_json::json!(0.25)),
            default("z", serde_json::json!(null)),
        ],
    ];
    for columns in sets {
        let mut e = edit(Some(1), "users", "clients", columns);
        e.mode = Some("overwrite".into());
        e.page = Some(10);
        let edits = JobEdits {
            copies: vec![
                e,
                edit(Some(0), "orders", "orders", vec![source("total", "amount")]),
            ],
        };
        let once = apply(JOB, &edits).unwrap();
        parse::read(&once).unwrap();
        let twice = apply(&once, &edits).unwrap();
        assert_eq!(once, twice, "{edits:?}");
    }
}

/// Every mix of what a column may ask for, on entries that are there and ones that are
/// not, in one-line and laid-out tables: the result parses, keeps what it was not asked
/// to change, and a second application changes nothing.
#[test]
fn every_mix_of_column_edits_parses_and_settles() {
    let targets = ["full_name", "status", "note", "odd name"];
    let choice = |t: &str, k: usize| -> Option<ColumnEdit> {
        match k {
            0 => None,
            1 => Some(col(t)),
            2 => Some(source(t, t)),
            3 => Some(source(t, "other")),
            4 => Some(default(t, serde_json::json!("v"))),
            _ => Some(ColumnEdit {
                sql: Some("NOW()".into()),
                ..col(t)
            }),
        }
    };
    let mut n = 0;
    for mix in 0..6usize.pow(targets.len() as u32) {
        let mut columns = Vec::new();
        let mut m = mix;
        for t in targets {
            columns.extend(choice(t, m % 6));
            m /= 6;
        }
        let edits = JobEdits {
            copies: vec![edit(Some(1), "users", "customers", columns)],
        };
        let once = apply(JOB, &edits).unwrap_or_else(|e| panic!("{edits:?}: {e}"));
        let read = parse::read(&once).unwrap_or_else(|e| panic!("{once}\n{e}"));
        assert_eq!(read.copies.len(), 2);
        assert!(once.contains("    email = function(r) return r.mail:lower() end,\n"));
        assert!(once.contains("  transform = tidy,\n}\n\nfor _, t in ipairs"));
        assert_eq!(apply(&once, &edits).unwrap(), once, "{edits:?}");
        n += 1;
    }
    assert_eq!(n, 1296);
}

#[test]
fn an_empty_from_or_to_keeps_the_files() {
    let out = apply(
        JOB,
        &JobEdits {
            copies: vec![edit(
                Some(1),
                "",
                "",
                vec![default("status", serde_json::json!("x"))],
            )],
        },
    )
    .unwrap();
    assert!(
        out.contains("  from = \"users\", to = \"customers\",\n"),
        "{out}"
    );
    assert!(
        out.contains("default { status = \"x\", note = null }"),
        "{out}"
    );
}
