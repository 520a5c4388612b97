//! The whole path on the page, in headless Chromium (tests/support/browser.rs), on
//! throwaway servers with tables of this test's own: `ferry ui new.lua` with a job file
//! that does not exist yet; two table pairs added from the lists; a column mapped to a
//! differently named source column, a default on an unmatched NOT NULL column, a
//! transform; a planted check finding seen in its cell, then fixed; `try` showing the
//! edits; the save dialog's diff; the saved Lua read from disk; the job run; the target
//! compared with what a hand-written job writes. A screenshot of each screen goes to
//! target/ui-screenshots/grid-*.png.

use crate::support::browser::{browser, Browser};
use crate::support::*;
use crate::ui::Ui;
use serde_json::{json, Value as Json};

/// People with a mail column named otherwise on the target, a country name too long
/// for the target's CHAR(2) (the planted finding: fixed by mapping `country_code`),
/// and orders whose customer column is named otherwise.
pub fn tables(dbs: &mut Dbs) {
    dbs.src(
        "CREATE TABLE people (id INT PRIMARY KEY, mail VARCHAR(100), full_name VARCHAR(60), \
         country VARCHAR(40), country_code CHAR(2))",
    );
    dbs.src(
        "INSERT INTO people VALUES (1, 'Ann@Example.COM', 'Ann Lee', 'DE', 'DE'), \
         (2, 'bob@example.com', 'Bob Roe', 'Germany', 'DE'), \
         (3, 'CY@X.ORG', 'Cy Doe', 'FR', 'FR')",
    );
    dbs.src("CREATE TABLE orders_old (id INT PRIMARY KEY, person_id INT, amount DECIMAL(10,2))");
    dbs.src("INSERT INTO orders_old VALUES (10, 1, 9.50), (11, 2, 120.00), (12, 1, 3.25)");
    dbs.dst(
        "CREATE TABLE members (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, \
         full_name VARCHAR(60), country CHAR(2), status VARCHAR(10) NOT NULL)",
    );
    dbs.dst(
        "CREATE TABLE orders (id INT PRIMARY KEY, member_id INT NOT NULL, amount DECIMAL(10,2), \
         channel VARCHAR(10) NOT NULL)",
    );
}

/// Whether leaving the page now would ask first (the page's `beforeunload` handler).
const LEAVING: &str = "const e = new Event('beforeunload', {cancelable: true}); \
     window.dispatchEvent(e); return e.defaultPrevented;";

/// Sets a form control in a grid row (`select` or `input`) as a person would.
pub fn set(b: &Browser, css: &str, value: &str) {
    let script = format!(
        "const e = document.querySelector({css}); if (!e) return 'missing'; e.value = {value}; \
         e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); \
         return e.value;",
        css = json!(css),
        value = json!(value)
    );
    assert_eq!(b.js(&script), json!(value), "{css}");
}

pub fn row(grid: &str, column: &str) -> String {
    format!("[data-grid=\"{grid}\"] table.grid tr[data-column=\"{column}\"]")
}

/// Presses Check and waits for its answer.
pub fn check(b: &Browser) {
    let before = b.js("return document.querySelector('#grids').getAttribute('data-checked');");
    b.click("#check");
    wait_for_check(b, "the check", &before);
}

/// Waits for a check newer than the one `before` names (`#grids`'s `data-checked`).
fn wait_for_check(b: &Browser, what: &str, before: &Json) {
    b.wait_for(
        what,
        &format!(
            "const c = document.querySelector('#grids').getAttribute('data-checked'); \
             return c !== null && c !== {before};"
        ),
    );
}

/// Waits until both table lists show `n` tables.
pub fn wait_for_tables(b: &Browser, n: usize) {
    b.wait_for(
        "both table lists",
        &format!(
            "return document.querySelectorAll('#tables-source li').length === {n} && \
             document.querySelectorAll('#tables-target li').length === {n};"
        ),
    );
}

/// Waits until grid `grid` shows a row of `column`.
pub fn wait_for_grid(b: &Browser, grid: &str, column: &str) {
    b.wait_for(
        &format!("the grid {grid}"),
        &format!(
            "return !!document.querySelector({});",
            json!(row(grid, column))
        ),
    );
}

/// Picks `from` and `to` in the table lists and adds the pair; waits for its grid
/// (a row of `column`) and gives the grid's name.
pub fn add_pair(b: &Browser, from: &str, to: &str, column: &str) -> String {
    b.click(&format!("#tables-source li[data-table={from}]"));
    b.click(&format!("#tables-target li[data-table={to}]"));
    b.click("#add-pair");
    let grid = format!("new:{from}->{to}");
    wait_for_grid(b, &grid, column);
    grid
}

/// Waits until the save dialog's `data-state` is `state`.
pub fn wait_for_dialog(b: &Browser, what: &str, state: &str) {
    b.wait_for(
        what,
        &format!(
            "return document.querySelector('#save-dialog').getAttribute('data-state') === '{state}';"
        ),
    );
}

/// Presses a grid's Try and waits for it; the rows as the page shows them.
pub fn try_grid(b: &Browser, grid: &str) -> String {
    b.click(&format!("[data-grid=\"{grid}\"] .try-edits"));
    b.wait_for(
        "try",
        &format!("return document.querySelector('[data-grid=\"{grid}\"] .try-box').getAttribute('data-loaded') === '{grid}';"),
    );
    b.text(&format!("[data-grid=\"{grid}\"] .try-box"))
}

pub fn findings(b: &Browser, grid: &str, column: &str) -> Json {
    b.js(&format!(
        "return [...document.querySelectorAll({})].map(f => [f.className, f.getAttribute('data-kind'), f.textContent]);",
        json!(format!("{} .finding", row(grid, column)))
    ))
}

#[test]
fn ui_grid_builds_checks_saves_and_runs_a_new_job() {
    let Some(b) = browser("ui_grid") else {
        return;
    };
    let mut dbs = Dbs::new("ui_grid");
    tables(&mut dbs);
    let job = dbs.dir.path().join("new.lua");
    assert!(!job.exists());
    let ui = Ui::with_job(&dbs, "new.lua");
    b.go(&ui.url());
    wait_for_tables(&b, 2);

    // The first pair: people -> members.
    let g1 = &add_pair(&b, "people", "members", "status");
    // copy's own matching: full_name and country by name; email and status unmatched.
    let sources: Json = b.js(&format!(
        "return [...document.querySelectorAll('[data-grid=\"{g1}\"] table.grid tr[data-column]')].map(r => [r.dataset.column, r.querySelector('select.source').value]);"
    ));
    assert_eq!(
        sources,
        json!([
            ["id", "id"],
            ["email", ""],
            ["full_name", "full_name"],
            ["country", "country"],
            ["status", ""]
        ])
    );
    let same: Json = b.js(&format!(
        "return document.querySelector({} + ' select.source').selectedOptions[0].textContent;",
        json!(row(g1, "country"))
    ));
    assert_eq!(same, json!("country (same name)"));
    assert!(!b
        .js("return document.querySelector('#dirty').hidden;")
        .as_bool()
        .unwrap());
    b.js(&format!(
        "document.querySelector('[data-grid=\"{g1}\"]').scrollIntoView();"
    ));
    b.screenshot("grid-0-new-pair");
    assert_eq!(
        b.js(LEAVING),
        json!(true),
        "unsaved edits: leaving asks first"
    );

    // email <- mail, lower-cased; status: a default on an unmatched NOT NULL column.
    set(&b, &format!("{} select.source", row(g1, "email")), "mail");
    set(
        &b,
        &format!("{} select.transform", row(g1, "email")),
        "text.lower",
    );
    set(&b, &format!("{} select.dkind", row(g1, "status")), "value");
    set(&b, &format!("{} input.dvalue", row(g1, "status")), "active");

    // The planted finding: 'Germany' does not fit CHAR(2).
    check(&b);
    let found = findings(&b, g1, "country");
    assert_eq!(
        found.as_array().map(Vec::len),
        Some(1),
        "{found}\n{}",
        b.text("#grids")
    );
    assert_eq!(found[0][0], "finding blocking");
    assert_eq!(found[0][1], "truncate");
    let text = found[0][2].as_str().unwrap();
    assert!(
        text.contains("1 row") && text.contains("id=2") && text.contains("Germany"),
        "{text}"
    );
    assert!(b
        .js(&format!(
            "return document.querySelector({}).classList.contains('has-blocking');",
            json!(row(g1, "country"))
        ))
        .as_bool()
        .unwrap());
    assert!(
        b.text("#check-summary").contains("1 blocking hazard"),
        "{}",
        b.text("#check-summary")
    );
    b.js(&format!(
        "document.querySelector({}).scrollIntoView({{block: 'center'}});",
        json!(row(g1, "country"))
    ));
    b.screenshot("grid-2-finding");

    // The fix: the two-letter code instead. The check runs again by itself shortly
    // after the edit (no button).
    let before = b.js("return document.querySelector('#grids').getAttribute('data-checked');");
    set(
        &b,
        &format!("{} select.source", row(g1, "country")),
        "country_code",
    );
    wait_for_check(&b, "the check after the edit", &before);
    assert_eq!(findings(&b, g1, "country"), json!([]));
    assert!(
        b.text("#check-summary").contains("0 blocking hazards"),
        "{}",
        b.text("#check-summary")
    );

    // try with the edits: the lower-cased mail and the default show.
    let tried = try_grid(&b, g1);
    assert!(
        tried.contains("ann@example.com") && !tried.contains("Ann@Example.COM"),
        "{tried}"
    );
    assert!(tried.contains("active"), "{tried}");
    // An edit after the try: the tried rows say they are from before it.
    let stale = format!("[data-grid=\"{g1}\"] .try-box .stale");
    assert_eq!(
        b.js(&format!(
            "return document.querySelectorAll({}).length;",
            json!(stale)
        )),
        json!(0)
    );
    let page_css = format!("[data-grid=\"{g1}\"] input.page");
    let page = b.js(&format!(
        "return document.querySelector({}).value;",
        json!(page_css)
    ));
    set(&b, &page_css, "7");
    set(&b, &page_css, page.as_str().unwrap());
    let said = b.text(&stale);
    assert!(said.contains("before the last edit"), "{said}");

    // The second pair: orders_old -> orders in upsert mode.
    let g2 = &add_pair(&b, "orders_old", "orders", "channel");
    set(
        &b,
        &format!("{} select.source", row(g2, "member_id")),
        "person_id",
    );
    set(&b, &format!("{} select.dkind", row(g2, "channel")), "value");
    set(
        &b,
        &format!("{} input.dvalue", row(g2, "channel")),
        "legacy",
    );
    set(&b, &format!("[data-grid=\"{g2}\"] select.mode"), "upsert");
    assert!(b
        .text(&format!("[data-grid=\"{g2}\"] .mode-note"))
        .contains("mapped columns updated"));
    check(&b);
    assert!(
        b.text("#check-summary")
            .contains("0 blocking hazards, 0 notes in 2 copies"),
        "{}",
        b.text("#check-summary")
    );
    b.js("document.querySelector('#grids').scrollIntoView();");
    b.screenshot("grid-1-grid");

    // Save: the diff first, then the file.
    b.click("#save");
    wait_for_dialog(&b, "the diff", "ready");
    let diff = b.text("#diff");
    for line in [
        "from = \"people\"",
        "to = \"members\"",
        "r.mail",
        "text.lower",
        "active",
        "country_code",
        "\"upsert\"",
        "person_id",
        "legacy",
    ] {
        assert!(diff.contains(line), "{line} not in the diff:\n{diff}");
    }
    let added: Json = b.js("return document.querySelectorAll('#diff .diff-add').length;");
    assert!(added.as_u64().unwrap() > 6, "{added}");
    b.screenshot("grid-3-diff");
    b.click("#save-go");
    wait_for_dialog(&b, "saved", "saved");
    assert!(b
        .js("return document.querySelector('#dirty').hidden;")
        .as_bool()
        .unwrap());
    let saved = std::fs::read_to_string(&job).expect("the saved job");
    assert_eq!(saved_copies(&saved), expected_copies(), "{saved}");
    assert_eq!(b.js(LEAVING), json!(false), "saved: leaving does not ask");
    b.js("document.querySelector('#save-cancel').click();");
    assert!(!saved.contains("password"), "{saved}");

    // The saved job is now the page's job: its two copies are grids, and a check
    // without edits checks the file as saved.
    b.wait_for(
        "the saved copies as grids",
        "return !!document.querySelector('[data-grid=\"copy:0\"]') && \
         !!document.querySelector('[data-grid=\"copy:1\"]') && \
         !document.querySelector('[data-grid^=\"new:\"]');",
    );
    let checked = b.js(
        "return fetch('/api/check', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'}).then(r => r.json());",
    );
    assert_eq!(checked["blocking"], json!(0), "{checked}");
    assert_eq!(
        checked["copies"].as_array().map(Vec::len),
        Some(2),
        "{checked}"
    );
    assert_eq!(
        b.js("return document.querySelector('[data-grid=\"copy:1\"] select.mode').value;"),
        json!("upsert")
    );

    // The file changed on disk since the page read it: saving is refused (409), the
    // dialog says so and offers to reload, which keeps the file's change.
    std::fs::write(&job, format!("{saved}-- edited by hand\n")).unwrap();
    set(&b, "[data-grid=\"copy:0\"] input.page", "250");
    b.click("#save");
    b.wait_for(
        "the second diff",
        "return ['ready', 'conflict'].includes(document.querySelector('#save-dialog').getAttribute('data-state'));",
    );
    // The diff is refused already when the file changed (409); if it is shown, Save is.
    if b.js("return document.querySelector('#save-dialog').getAttribute('data-state');")
        == json!("ready")
    {
        b.click("#save-go");
    }
    wait_for_dialog(&b, "the conflict", "conflict");
    let said = b.text("#save-status");
    assert!(said.contains("changed"), "{said}");
    // Said to a person, not to an API client.
    assert!(
        said.contains("nothing was written") && !said.contains("/api/"),
        "{said}"
    );
    b.screenshot("grid-4-conflict");
    b.click("#save-reload");
    b.wait_for(
        "the reload",
        "return !document.querySelector('#save-dialog').open && \
         document.querySelector('#dirty').hidden;",
    );
    let on_disk = std::fs::read_to_string(&job).unwrap();
    assert!(
        on_disk.ends_with("-- edited by hand\n") && !on_disk.contains("250"),
        "{on_disk}"
    );
    assert_eq!(
        b.js("return document.querySelector('[data-grid=\"copy:0\"] input.page').value;"),
        json!("5000")
    );

    // Run it from the page (the Runs section): each copy's progress reaches 100% and
    // the summary counts every row; then the same job written by hand, and compare.
    b.wait_for(
        "the Run button",
        "return document.querySelector('#run-job').textContent.includes('new.lua') \
         && !document.querySelector('#run-start').disabled;",
    );
    b.click("#run-start");
    b.wait_for(
        "the run's summary",
        "return document.querySelector('#run-state').textContent === 'done' \
         && !!document.querySelector('#run-summary-table');",
    );
    assert_eq!(b.text("#run-exit"), "exit status 0");
    let bars: Json = b
        .js("return [...document.querySelectorAll('#run-progress .pct')].map(p => p.textContent);");
    assert_eq!(
        bars,
        json!(["100.0%", "100.0%"]),
        "{}",
        b.text("#run-progress")
    );
    let summary: Json = b.js(
        "return [...document.querySelectorAll('#run-summary-table tr')].slice(1).map(r => [...r.cells].map(c => c.textContent));",
    );
    assert_eq!(summary.as_array().map(Vec::len), Some(2), "{summary}");
    assert_eq!(summary[0][0], "people -> members", "{summary}");
    assert_eq!(summary[1][0], "orders_old -> orders", "{summary}");
    for r in summary.as_array().unwrap() {
        assert_eq!(r[2], "ok", "{summary}");
        assert_eq!(r[4], "3", "written: {summary}");
    }
    b.js("document.querySelector('#runs').scrollIntoView();");
    b.screenshot("grid-5-run");
    let by_page = (dbs.dump_dst("members", "id"), dbs.dump_dst("orders", "id"));
    assert_eq!(by_page.0.len(), 3);
    assert_eq!(by_page.1.len(), 3);
    dbs.dst("DELETE FROM members");
    dbs.dst("DELETE FROM orders");
    let hand = dbs.job("hand.lua", HAND_WRITTEN);
    dbs.run(&hand, &[]).ok();
    assert_eq!(
        (dbs.dump_dst("members", "id"), dbs.dump_dst("orders", "id")),
        by_page
    );
    drop(b);
    ui.interrupt();
}

const HAND_WRITTEN: &str = r#"
local text = require "ferry.text"
copy {
  from = "people", to = "members",
  map = map { email = function(r) return text.lower(r.mail) end, country = "country_code" },
  default = default { status = "active" },
}
copy {
  from = "orders_old", to = "orders", mode = "upsert",
  map = map { member_id = "person_id" },
  default = default { channel = "legacy" },
}
"#;

/// The saved job's `copy {` ... `}` blocks, trimmed lines.
fn saved_copies(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("copy {") {
            inside = true;
        }
        if inside {
            out.push(line.to_string());
        }
        if inside && line == "}" {
            inside = false;
        }
    }
    out
}

fn expected_copies() -> Vec<String> {
    [
        "copy {",
        "from = \"people\", to = \"members\",",
        "mode = \"insert\",",
        "page = 5000,",
        "map = map {",
        "email = function(r) return text.lower(r.mail) end,",
        "country = \"country_code\",",
        "},",
        "default = default {",
        "status = \"active\",",
        "},",
        "}",
        "copy {",
        "from = \"orders_old\", to = \"orders\",",
        "mode = \"upsert\",",
        "page = 5000,",
        "map = map {",
        "member_id = \"person_id\",",
        "},",
        "default = default {",
        "channel = \"legacy\",",
        "},",
        "}",
    ]
    .map(String::from)
    .to_vec()
}
