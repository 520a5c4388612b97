//! Runs from `ferry ui`'s page in headless Chromium: press Run, see each copy's
//! progress bar and the log grow, pause (the badge says so and the target's rows stop
//! growing), continue, stop (exit 130, the resume state part-way), press Resume, see
//! the bar reach 100% and the summary table, every row once; a reload catches up with
//! the run. Screenshots in target/ui-screenshots/runs-*.png.

use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::support::browser::browser;
use crate::support::*;
use crate::ui::{until, Ui};

/// A count as the page shows it: `1,500`.
fn grouped(n: u64) -> String {
    if n >= 1000 {
        format!("{},{:03}", n / 1000, n % 1000)
    } else {
        n.to_string()
    }
}

#[test]
fn ui_runs_in_chromium_run_pause_stop_resume_and_summary() {
    let Some(b) = browser("ui_runs_in_chromium") else {
        return;
    };
    let mut dbs = Dbs::new("ui_runs_browser");
    let ddl = "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40), qty INT)";
    dbs.src(ddl).dst(ddl);
    dbs.src("INSERT INTO items SELECT seq, CONCAT('item ', seq), seq % 7 FROM seq_1_to_4000");
    // Slow enough to watch, even on a loaded machine: 4000 rows at 500 rows/s.
    let job = dbs.job(
        "items.lua",
        "copy { from = \"items\", to = \"items\", page = 100, max_rows_per_second = 500 }\n",
    );
    let ui = Ui::with_job(&dbs, job.to_str().unwrap());
    b.go(&ui.url());
    b.wait_for(
        "the Run button",
        "return document.querySelector('#run-job').textContent.includes('items.lua') \
         && !document.querySelector('#run-start').disabled;",
    );
    assert_eq!(b.text("#run-none"), "none yet");
    b.wait_for(
        "the resume state",
        "return document.querySelector('#run-saved').textContent.includes('no saved state');",
    );
    b.js("document.querySelector('#runs').scrollIntoView();");
    b.screenshot("runs-0-ready");
    b.click("#run-start");
    b.wait_for(
        "a progress bar moving",
        "const p = document.querySelector('#run-progress progress'); return !!p && p.value > 0;",
    );
    b.click("#run-pause");
    b.wait_for(
        "the paused badge",
        "return document.querySelector('#run-state').textContent === 'paused';",
    );
    std::thread::sleep(Duration::from_millis(500));
    let held = dbs.count_dst("items");
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(dbs.count_dst("items"), held, "rows grew while paused");
    assert!(held < 4000, "{held}");
    let buttons: Json = b.js(
        "return ['#run-pause', '#run-continue', '#run-stop', '#run-start']\
         .map(s => document.querySelector(s).disabled);",
    );
    assert_eq!(buttons, json!([true, false, false, true]), "while paused");
    b.js("document.querySelector('#runs').scrollIntoView();");
    b.screenshot("runs-1-paused");

    b.click("#run-continue");
    b.wait_for(
        "the run going again",
        "return document.querySelector('#run-state').textContent === 'running';",
    );
    until("rows after Continue", 30, || {
        dbs.count_dst("items") >= held + 500
    });
    // Stop: after the page in flight, as Ctrl-C; the state table says where.
    b.click("#run-stop");
    b.wait_for(
        "the stopped run and its Resume button",
        "return document.querySelector('#run-state').textContent === 'stopped' \
         && !!document.querySelector('#run-resume-saved');",
    );
    assert_eq!(b.text("#run-exit"), "exit status 130");
    assert!(b.text("#run-error").contains("--resume"));
    let stopped_at = dbs.count_dst("items");
    assert!(stopped_at < 4000, "{stopped_at}");
    // The resume state, read again once the run ended: part-way, at the rows written.
    b.wait_for(
        "the resume state at the stop",
        &format!(
            "const t = document.querySelector('#run-saved-table'); \
             return !!t && t.textContent.includes('part-way') && t.textContent.includes('{}');",
            grouped(stopped_at)
        ),
    );
    b.js("document.querySelector('#runs').scrollIntoView();");
    b.screenshot("runs-2-stopped");

    b.click("#run-resume-saved");
    b.wait_for(
        "run 2's summary table",
        "return document.querySelector('#run-title').textContent === 'Run 2' \
         && !!document.querySelector('#run-summary-table');",
    );
    assert_eq!(b.text("#run-state"), "done");
    assert_eq!(b.text("#run-exit"), "exit status 0");
    assert_eq!(b.text("#run-progress .pct"), "100.0%");
    let bar: Json = b.js("return document.querySelector('#run-progress progress').value;");
    assert_eq!(bar, json!(100));
    let row: Json = b.js(
        "return [...document.querySelectorAll('#run-summary-table tr')[1].cells].map(c => c.textContent);",
    );
    assert_eq!(row[0], "items", "{row}");
    assert_eq!(row[2], "ok", "{row}");
    assert_eq!(
        row[4],
        json!(grouped(4000 - stopped_at)),
        "written by the resumed run: {row}"
    );
    assert_eq!(
        dbs.dump_dst("items", "id"),
        dbs.dump_src("items", "id"),
        "every row once"
    );
    let log = b.text("#run-log");
    assert!(log.contains("(--resume)"), "{log}");
    assert!(log.contains("copy items: page 40, 4000/4000 rows"), "{log}");
    b.wait_for(
        "both runs listed and the state saved",
        "const t = document.querySelector('#run-saved-table'); \
         return document.querySelectorAll('#run-list tr').length === 3 && !!t && t.textContent.includes('done');",
    );
    assert!(b.text("#run-list").contains("--resume"));
    b.js("document.querySelector('#runs').scrollIntoView();");
    let shot = b.screenshot("runs-3-done");
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

    // A reload catches up: the newest run's log, progress and summary again.
    b.go(&format!("http://127.0.0.1:{}/", ui.port));
    b.wait_for(
        "the summary after a reload",
        "return !!document.querySelector('#run-summary-table') \
         && document.querySelector('#run-log').textContent.includes('4000/4000 rows');",
    );
    assert_eq!(b.text("#run-progress .pct"), "100.0%");
    ui.interrupt();
}

#[test]
fn ui_runs_in_chromium_show_the_check_report_and_rejects() {
    let Some(b) = browser("ui_runs_check_in_chromium") else {
        return;
    };
    let mut dbs = Dbs::new("ui_runs_browser_check");
    dbs.src("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40))");
    dbs.src("INSERT INTO people VALUES (1, 'Ann'), (2, 'Bartholomew Longname'), (3, 'Bo')");
    dbs.dst("CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(8))");
    let job = dbs.job(
        "people.lua",
        "copy { from = \"people\", to = \"people\" }\n",
    );
    let ui = Ui::with_job(&dbs, job.to_str().unwrap());
    b.go(&ui.url());
    b.wait_for(
        "the Run button",
        "return !document.querySelector('#run-start').disabled;",
    );
    b.click("#run-start");
    b.wait_for(
        "the failed run",
        "return document.querySelector('#run-state').textContent === 'failed';",
    );
    assert_eq!(b.text("#run-exit"), "exit status 2");
    assert!(b.text("#run-error").contains("1 blocking hazard"));
    let report = b.text("#run-report");
    assert!(
        report.contains("BLOCKING") && report.contains("truncate") && report.contains("name"),
        "{report}"
    );
    b.js("document.querySelector('#runs').scrollIntoView();");
    b.screenshot("runs-4-check-refused");

    // Saved again with the row set aside: the rejects under the summary.
    std::fs::write(
        &job,
        "copy { from = \"people\", to = \"people\", on_error = \"reject\" }\n",
    )
    .unwrap();
    b.click("#run-start");
    b.wait_for(
        "run 2's rejects",
        "return document.querySelector('#run-title').textContent === 'Run 2' \
         && !!document.querySelector('#run-rejects table');",
    );
    assert_eq!(b.text("#run-exit"), "exit status 0");
    assert!(b.text("#run-report").is_empty());
    let rejects: Json = b.js(
        "return [...document.querySelectorAll('#run-rejects tr')].map(r => [...r.cells].map(c => c.textContent));",
    );
    assert_eq!(rejects[1][0], "{\"id\":2}", "{rejects}");
    assert!(
        rejects[1][1].as_str().unwrap().contains("name"),
        "{rejects}"
    );
    assert!(b
        .text("#run-rejects")
        .contains("1 row rejected in this run"));
    b.js("document.querySelector('#runs').scrollIntoView();");
    b.screenshot("runs-5-rejects");
    ui.interrupt();
}
