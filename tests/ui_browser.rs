//! `ferry ui` in a real browser: headless Chromium driven through chromedriver (the
//! W3C WebDriver protocol, spoken here as plain HTTP and JSON). Open the printed
//! address, see both sides connected, search the source tables, open a preview;
//! a screenshot of each screen goes to target/ui-screenshots/.
//!
//! Skipped only when Chromium or chromedriver is missing and CI is not set: on CI
//! (`CI=true`, where .ci/run installs them) a missing browser fails the test.

use crate::support::browser::browser;
use crate::support::*;
use crate::ui::{shop, Ui};
use serde_json::{json, Value as Json};

#[test]
fn ui_in_chromium_connects_searches_and_previews() {
    let Some(b) = browser("ui_in_chromium") else {
        return;
    };
    let mut dbs = Dbs::new("ui_browser");
    shop(&mut dbs);
    let ui = Ui::start(
        &["--source", &dbs.src_url, "--target", &dbs.dst_url],
        dbs.dir.path(),
    );
    b.go(&ui.url());
    b.wait_for(
        "both sides connected",
        "return [...document.querySelectorAll('.side .status')].every(s => s.textContent === 'connected');",
    );
    // The token left the address bar for an HttpOnly cookie the script cannot read.
    assert_eq!(b.js("return location.search;"), json!(""));
    assert_eq!(b.js("return document.cookie;"), json!(""));
    let source = b.text("#conn-source");
    assert!(
        source.contains("SELECT") && source.contains("server") && !source.contains("testing"),
        "{source}"
    );
    b.wait_for(
        "three source tables",
        "return document.querySelectorAll('#tables-source li').length === 3;",
    );
    assert!(b.text("#tables-target").contains("clients"));
    b.screenshot("1-connections");

    b.type_into("#search-source", "order");
    b.wait_for(
        "the search",
        "return document.querySelectorAll('#tables-source li').length === 2;",
    );
    assert_eq!(b.text("#count-source"), "2 of 3 tables match");
    b.screenshot("2-search");

    b.type_into("#search-source", "_l");
    b.wait_for(
        "one match",
        "return document.querySelectorAll('#tables-source li').length === 1;",
    );
    b.js("document.querySelector('#search-source').value = 'cust'; document.querySelector('#search-source').dispatchEvent(new Event('input'));");
    b.wait_for(
        "customers",
        "return document.querySelectorAll('#tables-source li').length === 1;",
    );
    b.click("#tables-source li[data-table=customers]");
    b.wait_for(
        "the preview",
        "return document.querySelector('#preview').getAttribute('data-loaded') === 'customers';",
    );
    let cells: Json = b.js(
        "return [...document.querySelectorAll('#preview-table tbody tr')].map(r => [...r.cells].map(c => [c.textContent, c.className]));",
    );
    assert_eq!(cells[0][2], json!(["NULL", "null"]), "{cells}");
    assert_eq!(cells[0][3], json!(["0x4142", "binary"]));
    assert_eq!(cells[1][1], json!(["'NULL'", ""]));
    assert_eq!(cells[1][2][1], "cut");
    let shot = b.screenshot("3-preview");
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

    // A table on each side: the pair's mapping, as `copy` would do it.
    b.click("#tables-target li[data-table=clients]");
    b.wait_for(
        "the pair",
        "return !document.querySelector('#pair').hidden;",
    );
    assert_eq!(b.text("#pair-text"), "customers → clients");
    b.click("#show-mapping");
    b.wait_for(
        "the mapping",
        "return document.querySelector('#mapping').getAttribute('data-loaded') === 'customers->clients';",
    );
    let grid: Json = b.js(
        "return [...document.querySelectorAll('#mapping-copy tbody tr')].map(r => [...r.cells].map(c => c.textContent));",
    );
    assert_eq!(grid[0], json!(["id", "id", "same name"]), "{grid}");
    assert_eq!(grid[1], json!(["name", "name", "same name"]));
    assert!(b
        .text("#mapping-copy")
        .contains("left to the server: since"));
    b.screenshot("4-mapping");

    b.click("#try");
    b.wait_for(
        "try",
        "return document.querySelector('#try-rows').getAttribute('data-loaded') === 'customers->clients';",
    );
    assert_eq!(
        b.js("return document.querySelectorAll('#try-rows .try-row').length;"),
        json!(3),
        "{}",
        b.text("#try-rows")
    );
    assert!(b.text("#try-rows .try-row").contains("insert"));
    b.js("document.querySelector('#try-rows').scrollIntoView();");
    b.screenshot("5-try");
    drop(b);
    ui.interrupt();
}
