//! `ferry ui` saving the job back as Lua (issue 19, part 5), over HTTP on throwaway
//! servers: a hand-written job keeps every line the edits do not concern (the diff is
//! compared line for line), new pairs are appended, a new file holds no password and runs
//! as a hand-written job does, a file changed on disk is not overwritten (409), and
//! defaults with quotes, newlines, NUL and non-UTF-8 bytes reach the target as they were;
//! copies of many tables or made in a function are marked and left alone.

use mysql::prelude::Queryable;
use serde_json::{json, Value as Json};

use crate::support::*;
use crate::ui::{password_urls, Ui};

/// id, full_name, email, status, city, note, made
type UserRow = (
    i32,
    String,
    Option<String>,
    String,
    Option<String>,
    Vec<u8>,
    String,
);

/// The `-`/`+` lines of a unified diff, without its `---`/`+++` header.
fn changed(diff: &str) -> Vec<String> {
    diff.lines()
        .filter(|l| !l.starts_with("---") && !l.starts_with("+++"))
        .filter(|l| l.starts_with('-') || l.starts_with('+'))
        .map(str::to_string)
        .collect()
}

fn legacy(dbs: &mut Dbs) {
    dbs.src("CREATE TABLE legacy_users (id INT PRIMARY KEY, name VARCHAR(40), mail VARCHAR(80), town VARCHAR(40))");
    dbs.src(
        "INSERT INTO legacy_users VALUES (1, ' Ann', 'ANN@Example.COM', 'Oslo'), \
         (2, 'Bob', NULL, 'Bergen'), (3, 'Åsa', 'Asa@X.se', NULL)",
    );
    dbs.src("CREATE TABLE legacy_orders (id INT PRIMARY KEY, user_id INT, total DECIMAL(8,2))");
    dbs.src("INSERT INTO legacy_orders VALUES (10, 1, 9.50), (11, 3, 100.00)");
    dbs.dst(
        "CREATE TABLE users (id INT PRIMARY KEY, full_name VARCHAR(40), email VARCHAR(80), \
         status VARCHAR(10) NOT NULL, city VARCHAR(40), note VARBINARY(64), made DATE NULL)",
    );
    dbs.dst("CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, total DECIMAL(8,2))");
}

const HAND_WRITTEN: &str = r#"-- moved by hand: users first
source "SRC"
target   "DST"      -- the new crm

local function tidy(row)
  row.name = row.name   -- as it is
  return row
end

copy {
  from = "legacy_users",  to = "users",
  map = map {
    full_name = "name",        -- renamed
  },
  default = default { status = "new" },

  transform = tidy,
}

for _, t in ipairs({ "orders" }) do
  copy { from = "legacy_" .. t, to = t }
end
"#;

#[test]
fn ui_save_changes_only_the_edited_lines_and_refuses_a_file_changed_on_disk() {
    let mut dbs = Dbs::new("ui_save_edit");
    legacy(&mut dbs);
    let text = HAND_WRITTEN
        .replace("SRC", &dbs.src_url)
        .replace("DST", &dbs.dst_url);
    let path = dbs.job("job.lua", &text);
    let ui = Ui::start(&["job.lua"], dbs.dir.path());

    let (status, job, body) = ui.get_json("/api/job");
    assert_eq!(status, 200, "{body}");
    assert_eq!(job["writable"], true, "{body}");
    let sha = job["sha"].as_str().expect("a sha").to_string();
    assert_eq!(sha.len(), 64);
    let copies = job["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 2, "{body}");
    assert_eq!(copies[0]["index"], 0);
    assert_eq!(copies[0]["editable"], true, "{}", copies[0]);
    assert_eq!(copies[1]["editable"], false);
    assert!(
        copies[1]["why"].as_str().unwrap().contains("loop"),
        "{}",
        copies[1]["why"]
    );
    let edit_of = |name: &str| {
        copies[0]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no column {name}: {}", copies[0]))["edit"]
            .clone()
    };
    assert_eq!(
        edit_of("full_name"),
        json!({"target": "full_name", "source": "name"})
    );
    assert_eq!(
        edit_of("status"),
        json!({"target": "status", "default": "new"})
    );
    assert_eq!(edit_of("id"), json!({"target": "id"}));

    let note = b"it's \"quoted\"\nline 2\0\xff\xfe end";
    let hex: String = note.iter().map(|b| format!("{b:02x}")).collect();
    let edits = json!({"copies": [{
    "index": 0, "from": "legacy_users", "to": "users",
    "columns": [
        {"target": "email", "source": "mail", "transform": "text.lower"},
        {"target": "full_name", "source": "name", "transform": "text.trim"},
        {"target": "status", "default": "active"},
        {"target": "note", "default": {"hex": hex}},
        {"target": "made", "sql": "DATE('2024-02-29')"},
        {"target": "city", "source": "town"}
    ]}]});
    let (status, diff, body) = ui.post_json("/api/job/diff", &json!({"edits": edits, "base": sha}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "diff writes nothing"
    );
    assert_eq!(diff["problems"], json!([]), "{body}");
    let d = diff["diff"].as_str().unwrap();
    let expected = r#"--- a/job.lua
+++ b/job.lua
@@ -1,6 +1,7 @@
 -- moved by hand: users first
 source "SRC"
 target   "DST"      -- the new crm
+local text = require "ferry.text"
 
 local function tidy(row)
   row.name = row.name   -- as it is
@@ -10,9 +11,11 @@
 copy {
   from = "legacy_users",  to = "users",
   map = map {
-    full_name = "name",        -- renamed
+    full_name = function(r) return text.trim(r.name) end,        -- renamed
+    email = function(r) return text.lower(r.mail) end,
+    city = "town",
   },
-  default = default { status = "new" },
+  default = default { status = "active", note = "it's \"quoted\"\nline 2\000\255\254 end", made = sql "DATE('2024-02-29')" },
 
   transform = tidy,
 }
"#
    .replace("SRC", &dbs.src_url)
    .replace("DST", &dbs.dst_url);
    assert_eq!(d, expected, "the diff, exactly");

    let (status, saved, body) =
        ui.post_json("/api/job/save", &json!({"edits": edits, "base": sha}));
    assert_eq!(status, 200, "{body}");
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert_eq!(on_disk, diff["text"].as_str().unwrap());
    let new_sha = saved["sha"].as_str().unwrap().to_string();
    assert_ne!(new_sha, sha);
    assert_eq!(saved["copies"][0]["editable"], true, "{body}");
    let (_, again, _) = ui.get_json("/api/job");
    assert_eq!(again["sha"], new_sha.as_str());
    let email = again["copies"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "email")
        .unwrap()["edit"]
        .clone();
    assert_eq!(
        email,
        json!({"target": "email", "source": "mail", "transform": "text.lower"}),
        "the page reads back what it wrote"
    );
    let note_edit = again["copies"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "note")
        .unwrap()["edit"]
        .clone();
    assert_eq!(
        note_edit,
        json!({"target": "note", "default": {"hex": hex}})
    );

    // the saved job runs, unchanged, with `ferry run`
    ferry(&["run", "job.lua"], dbs.dir.path()).ok();
    let rows: Vec<UserRow> = dbs
        .dst
        .query("SELECT id, full_name, email, status, city, note, CAST(made AS CHAR) FROM users ORDER BY id")
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].1, "Ann");
    assert_eq!(rows[0].2.as_deref(), Some("ann@example.com"));
    assert_eq!(rows[1].2, None);
    assert_eq!(rows[2].2.as_deref(), Some("asa@x.se"));
    assert_eq!(rows[0].3, "active");
    assert_eq!(rows[0].4.as_deref(), Some("Oslo"));
    assert_eq!(rows[1].5, note.to_vec(), "the default's bytes, exactly");
    assert_eq!(rows[2].6, "2024-02-29");
    assert_eq!(dbs.count_dst("orders"), 2, "the loop's copy ran as before");

    // a new pair is appended; the rest stays
    let add = json!({"copies": [{
        "index": null, "from": "legacy_orders", "to": "orders",
        "mode": "upsert", "page": 100,
        "columns": [{"target": "total", "default": 0}]}]});
    let (status, d2, body) = ui.post_json("/api/job/diff", &json!({"edits": add, "base": new_sha}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        changed(d2["diff"].as_str().unwrap()),
        [
            "+",
            "+copy {",
            "+  from = \"legacy_orders\", to = \"orders\",",
            "+  mode = \"upsert\",",
            "+  page = 100,",
            "+  default = default {",
            "+    total = 0,",
            "+  },",
            "+}",
        ]
    );

    // changed on disk since the page read it: 409, and the file is left alone
    let changed_by_hand = format!("{on_disk}-- edited in vim\n");
    std::fs::write(&path, &changed_by_hand).unwrap();
    let (status, _, body) = ui.post_json("/api/job/save", &json!({"edits": add, "base": new_sha}));
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("changed on disk"), "{body}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), changed_by_hand);

    // an edit the page cannot make is refused with the copy named
    let (status, _, body) = ui.post_json(
        "/api/job/diff",
        &json!({"edits": {"copies": [{"index": 1, "from": "legacy_orders", "to": "orders",
            "columns": [{"target": "total", "default": 1}]}]}}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("copy 1") && body.contains("line"), "{body}");
}

#[test]
fn ui_save_creates_a_new_job_without_passwords_that_runs_as_a_hand_written_one() {
    let mut dbs = Dbs::new("ui_save_new");
    legacy(&mut dbs);
    let password = "Sv3Secret_pw";
    let (src, dst) = password_urls(&mut dbs, password);
    // the job state table is made on the target
    let grant = format!(
        "GRANT CREATE ON `{}`.* TO 'ui_{}'@'%'",
        dbs.dst_db,
        std::process::id()
    );
    dbs.dst(&grant);
    let ui = Ui::start(
        &["new.lua", "--source", &src, "--target", &dst],
        dbs.dir.path(),
    );
    let (status, job, body) = ui.get_json("/api/job");
    assert_eq!(status, 200, "{body}");
    assert_eq!(job["sha"], Json::Null, "{body}");
    assert_eq!(job["writable"], true);
    assert_eq!(job["copies"], json!([]));

    let edits = json!({"copies": [
        {"index": null, "from": "legacy_users", "to": "users", "mode": "insert",
         "columns": [
            {"target": "full_name", "source": "name"},
            {"target": "email", "source": "mail", "transform": "text.lower"},
            {"target": "status", "default": "active"}]},
        {"index": null, "from": "legacy_orders", "to": "orders"}]});
    let (status, diff, body) = ui.post_json("/api/job/diff", &json!({"edits": edits}));
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(password), "{body}");
    let notes = diff["notes"].to_string();
    assert!(
        notes.contains("FERRY_SOURCE_PASSWORD") && notes.contains("FERRY_TARGET_PASSWORD"),
        "{notes}"
    );
    assert_eq!(diff["problems"], json!([]), "{body}");
    let d = diff["diff"].as_str().unwrap();
    assert!(d.starts_with("--- /dev/null\n+++ b/new.lua\n"), "{d}");
    let (status, saved, body) =
        ui.post_json("/api/job/save", &json!({"edits": edits, "base": null}));
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(password), "{body}");
    assert_eq!(saved["copies"].as_array().unwrap().len(), 2, "{body}");
    let written = std::fs::read_to_string(dbs.dir.path().join("new.lua")).unwrap();
    assert!(!written.contains(password), "{written}");
    assert!(!written.contains("***"), "{written}");
    assert!(
        written.contains("local text = require \"ferry.text\""),
        "{written}"
    );

    // a second save of a page that had no file: now against the new sha
    let (status, _, body) = ui.post_json("/api/job/save", &json!({"edits": edits, "base": null}));
    assert_eq!(status, 409, "{body}");

    let env = [
        ("FERRY_SOURCE_PASSWORD", password),
        ("FERRY_TARGET_PASSWORD", password),
    ];
    ferry_env(&["run", "new.lua"], dbs.dir.path(), &[])
        .status(2)
        .says("FERRY_SOURCE_PASSWORD, which is not set");
    assert!(
        written.contains("?password-env=FERRY_SOURCE_PASSWORD\"\n")
            && written.contains("?password-env=FERRY_TARGET_PASSWORD\"\n"),
        "{written}"
    );
    ferry_env(&["run", "new.lua"], dbs.dir.path(), &env).ok();
    let by_page = dbs.dump_dst("users", "id");
    let orders_by_page = dbs.dump_dst("orders", "id");
    assert_eq!(by_page.len(), 3);
    dbs.dst("DELETE FROM users");
    dbs.dst("DELETE FROM orders");
    let hand = dbs.job(
        "hand.lua",
        &format!(
            "source \"{src}\"\ntarget \"{dst}\"\nlocal text = require \"ferry.text\"\n\
             copy {{ from = \"legacy_users\", to = \"users\",\n  \
             map = {{ full_name = \"name\", email = function(r) return text.lower(r.mail) end }},\n  \
             default = {{ status = \"active\" }} }}\n\
             copy {{ from = \"legacy_orders\", to = \"orders\" }}\n"
        ),
    );
    ferry(&["run", hand.to_str().unwrap()], dbs.dir.path()).ok();
    assert_eq!(dbs.dump_dst("users", "id"), by_page);
    assert_eq!(dbs.dump_dst("orders", "id"), orders_by_page);
}

#[test]
fn ui_save_without_a_job_takes_a_path_and_never_overwrites() {
    let mut dbs = Dbs::new("ui_save_path");
    legacy(&mut dbs);
    let ui = Ui::start(
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        dbs.dir.path(),
    );
    let edits = json!({"copies": [{"index": null, "from": "legacy_orders", "to": "orders"}]});
    let (status, _, body) = ui.post_json("/api/job/save", &json!({"edits": edits}));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("path"), "{body}");
    // a save is a state-changing request: without the token header, from another site, 403
    let (status, _, body) = ui.post_from(
        "/api/job/save",
        "http://evil.example",
        &json!({"edits": edits, "path": "evil.lua"}),
    );
    assert_eq!(status, 403, "{body}");
    assert!(!dbs.dir.path().join("evil.lua").exists());
    let existing = dbs.job("mine.lua", "-- mine\n");
    let (status, _, body) = ui.post_json(
        "/api/job/save",
        &json!({"edits": edits, "path": "mine.lua"}),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "-- mine\n");
    let (status, saved, body) = ui.post_json(
        "/api/job/save",
        &json!({"edits": edits, "path": "fresh.lua"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(saved["path"], "fresh.lua");
    let text = std::fs::read_to_string(dbs.dir.path().join("fresh.lua")).unwrap();
    assert!(
        text.starts_with(
            "-- written by `ferry ui`; run it with `ferry run`\nsource \"mysql://root@"
        ),
        "{text}"
    );
    // the page now edits that file
    let (_, job, _) = ui.get_json("/api/job");
    assert_eq!(job["path"], "fresh.lua");
    assert_eq!(job["copies"].as_array().unwrap().len(), 1);
    ferry(&["run", "fresh.lua"], dbs.dir.path()).ok();
    assert_eq!(dbs.count_dst("orders"), 2);
}

#[test]
fn ui_transforms_lists_the_stdlibs_one_value_functions() {
    let dbs = Dbs::new("ui_transforms");
    let ui = Ui::start(&["--source", &dbs.src_url], dbs.dir.path());
    let (status, list, body) = ui.get_json("/api/transforms");
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for want in [
        "text.lower",
        "text.trim",
        "hash.sha256",
        "date.zero_to_null",
    ] {
        assert!(names.contains(&want), "{want}: {names:?}");
    }
    let lower = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "text.lower")
        .unwrap();
    assert!(
        lower["doc"].as_str().unwrap().contains("lower-cased"),
        "{lower}"
    );
}

#[test]
fn ui_job_marks_what_the_page_cannot_rewrite() {
    let mut dbs = Dbs::new("ui_save_fixed");
    for t in ["t1", "t2"] {
        dbs.src(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(10))"
        ));
        dbs.dst(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(10))"
        ));
    }
    let text = format!(
        "source \"{}\"\ntarget \"{}\"\ncopy {{ tables = {{ \"t1\", \"t2\" }} }}\n\
         local function again(name)\n  return copy {{ from = name }}\nend\nagain(\"t2\")\n\
         copy \"t1\"\n",
        dbs.src_url, dbs.dst_url
    );
    dbs.job("fixed.lua", &text);
    let ui = Ui::start(&["fixed.lua"], dbs.dir.path());
    let (status, job, body) = ui.get_json("/api/job");
    assert_eq!(status, 200, "{body}");
    let copies = job["copies"].as_array().unwrap();
    let seen: Vec<(String, bool, String)> = copies
        .iter()
        .map(|c| {
            (
                c["to"].as_str().unwrap().to_string(),
                c["editable"].as_bool().unwrap(),
                c["why"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 4, "{body}");
    assert!(
        !seen[0].1 && seen[0].2.contains("several copies"),
        "{seen:?}"
    );
    assert!(
        !seen[1].1 && seen[1].2.contains("several copies"),
        "{seen:?}"
    );
    assert!(!seen[2].1 && seen[2].2.contains("function"), "{seen:?}");
    assert_eq!((seen[3].0.as_str(), seen[3].1), ("t1", true), "{seen:?}");
    // the editable one is rewritten, the others are left as they are
    let (status, saved, body) = ui.post_json(
        "/api/job/save",
        &json!({"base": job["sha"], "edits": {"copies": [{"index": 3, "from": "t1", "to": "t1",
            "mode": "upsert"}]}}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(saved["copies"][3]["mode"], "upsert", "{body}");
    let after = std::fs::read_to_string(dbs.dir.path().join("fixed.lua")).unwrap();
    assert_eq!(
        after,
        text.replace(
            "copy \"t1\"\n",
            "copy {\n  from = \"t1\",\n  mode = \"upsert\",\n}\n"
        )
    );
}
