//! The grid on a job written by hand, in headless Chromium: the column the job fills
//! with its own Lua is read-only and never sent back, `try` runs that Lua, and a change
//! of mode and of one default is all the save's diff holds; a page started without a
//! job file asks where to save the new one.

use crate::support::browser::browser;
use crate::support::*;
use crate::ui::Ui;
use crate::ui_grid_browser::{
    add_pair, row, set, tables, try_grid, wait_for_dialog, wait_for_grid, wait_for_tables,
};
use serde_json::{json, Value as Json};

/// A hand-written job: its copy is a grid, the column it fills with its own Lua is shown
/// read-only and never sent back, `try` shows that Lua at work, and a change of mode and
/// of one default is all the diff holds. Then a page started without a job file asks
/// where to save.
#[test]
fn ui_grid_edits_a_hand_written_job_and_saves_a_new_one_where_asked() {
    let Some(b) = browser("ui_grid_hand") else {
        return;
    };
    let mut dbs = Dbs::new("ui_grid_hand");
    tables(&mut dbs);
    let job = dbs.job("hand.lua", HAND_JOB);
    let ui = Ui::with_job(&dbs, "hand.lua");
    b.go(&ui.url());
    let g = "copy:0";
    wait_for_grid(&b, g, "status");
    let email = b.text(&row(g, "email"));
    assert!(
        email.contains("function(r) return r.mail:upper() end"),
        "{email}"
    );
    assert_eq!(
        b.js(&format!(
            "return document.querySelectorAll({}).length;",
            json!(format!("{} select", row(g, "email")))
        )),
        json!(0),
        "a column of the job's own Lua has no pickers"
    );
    b.js("document.querySelector('[data-grid=\"copy:0\"]').scrollIntoView();");
    b.screenshot("grid-6-hand-written");
    assert_eq!(
        b.js(&format!(
            "return document.querySelector({}).value;",
            json!(format!("{} input.dvalue", row(g, "status")))
        )),
        json!("active")
    );
    // try: the job's own Lua runs on the rows.
    let tried = try_grid(&b, g);
    assert!(tried.contains("ANN@EXAMPLE.COM"), "{tried}");

    set(&b, &format!("[data-grid=\"{g}\"] select.mode"), "upsert");
    set(&b, &format!("{} input.dvalue", row(g, "status")), "new");
    b.click("#save");
    wait_for_dialog(&b, "the diff", "ready");
    let changed: Json = b.js(
        "return [...document.querySelectorAll('#diff .diff-add, #diff .diff-del')].map(d => d.textContent);",
    );
    assert_eq!(
        changed,
        json!([
            "-  default = default { status = \"active\" },",
            "+  default = default { status = \"new\" },",
            "+  mode = \"upsert\","
        ]),
        "{}",
        b.text("#diff")
    );
    b.click("#save-go");
    wait_for_dialog(&b, "saved", "saved");
    let saved = std::fs::read_to_string(&job).unwrap();
    assert_eq!(
        saved,
        HAND_JOB.replace(
            "  default = default { status = \"active\" },",
            "  default = default { status = \"new\" },\n  mode = \"upsert\","
        )
    );
    drop(ui);

    // No job file: Save asks for the path first.
    let ui = Ui::start(
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        dbs.dir.path(),
    );
    b.go(&ui.url());
    wait_for_tables(&b, 2);
    let g2 = &add_pair(&b, "orders_old", "orders", "channel");
    set(
        &b,
        &format!("{} select.source", row(g2, "member_id")),
        "person_id",
    );
    set(&b, &format!("{} select.dkind", row(g2, "channel")), "sql");
    set(&b, &format!("{} input.dvalue", row(g2, "channel")), "'web'");
    b.click("#save");
    b.wait_for(
        "the path asked",
        "return document.querySelector('#save-dialog').open && !document.querySelector('#save-path-row').hidden;",
    );
    assert_eq!(
        b.js("return document.querySelector('#save-go').disabled;"),
        json!(true)
    );
    b.type_into("#save-path", "made.lua");
    b.click("#save-show");
    wait_for_dialog(&b, "the diff", "ready");
    assert!(
        b.text("#diff").contains("channel = sql \"'web'\""),
        "{}",
        b.text("#diff")
    );
    b.click("#save-go");
    wait_for_dialog(&b, "saved", "saved");
    let made = std::fs::read_to_string(dbs.dir.path().join("made.lua")).expect("made.lua");
    assert!(made.contains("member_id = \"person_id\""), "{made}");
    dbs.run(&dbs.dir.path().join("made.lua"), &[]).ok();
    assert_eq!(dbs.count_dst("orders"), 3);
    drop(b);
    ui.interrupt();
}

const HAND_JOB: &str = r#"-- the people, by hand
copy {
  from = "people", to = "members",   -- keep this comment
  map = map {
    email = function(r) return r.mail:upper() end,
    country = "country_code",
  },
  default = default { status = "active" },
}
"#;
