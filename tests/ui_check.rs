//! POST /api/check over HTTP: `ferry check` of the job as saved, and of the job as the
//! page's edits would make it (nothing written, the file untouched), each finding placed
//! in the cell of its copy and target column; the plan's problems instead of a scan;
//! an edit the page cannot make refused with 400.

use serde_json::json;

use crate::support::*;
use crate::ui::Ui;
use crate::ui_grid_browser::tables;

const JOB: &str = r#"copy {
  from = "people", to = "members",
  map = map { email = "mail" },
  default = default { status = "active" },
}
"#;

#[test]
fn ui_check_places_findings_in_cells_for_the_saved_job_and_for_edits() {
    let mut dbs = Dbs::new("ui_check");
    tables(&mut dbs);
    let job = dbs.job("checked.lua", JOB);
    let ui = Ui::with_job(&dbs, "checked.lua");

    // The job as saved: 'Germany' does not fit the target's CHAR(2).
    let (status, r, body) = ui.post_json("/api/check", &json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(r["blocking"], 1, "{r}");
    assert_eq!(r["problems"], json!([]));
    assert_eq!(r["copy_findings"], json!([]));
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{r}");
    let c = &cells[0];
    assert_eq!(
        (
            &c["index"],
            &c["from"],
            &c["to"],
            &c["column"],
            &c["kind"],
            &c["blocking"],
            &c["count"]
        ),
        (
            &json!(0),
            &json!("people"),
            &json!("members"),
            &json!("country"),
            &json!("truncate"),
            &json!(true),
            &json!(1)
        ),
        "{c}"
    );
    assert_eq!(
        c["examples"],
        json!([{"key": "id=2", "value": "'Germany'"}]),
        "{c}"
    );
    assert!(c["fix"].as_str().unwrap().contains("char(2)"), "{c}");
    assert_eq!(
        r["copies"][0]["hazards"][0]["kind"], "truncate",
        "the report of ferry check --json is there too: {r}"
    );
    assert!(r["summary"]
        .as_str()
        .unwrap()
        .starts_with("check: 1 blocking hazard, 0 notes in 1 copy"));

    // With edits: the file's copy mended, a new copy of the same pair with a planted
    // hazard (a 60-character name into CHAR(2): every row).
    let edits = json!({"copies": [
        {"index": 0, "from": "people", "to": "members", "mode": "insert", "page": 5000,
         "columns": [{"target": "country", "source": "country_code"}]},
        {"index": null, "from": "people", "to": "members", "mode": "upsert", "page": 10,
         "columns": [{"target": "email", "source": "mail", "transform": "text.lower"},
                     {"target": "country", "source": "full_name"},
                     {"target": "status", "default": "new"}]}
    ]});
    let (status, r, body) = ui.post_json("/api/check", &json!({ "edits": edits }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(r["problems"], json!([]), "{r}");
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{r}");
    let c = &cells[0];
    assert_eq!(
        (&c["index"], &c["column"], &c["kind"], &c["count"]),
        (
            &json!(null),
            &json!("country"),
            &json!("truncate"),
            &json!(3)
        ),
        "{c}"
    );
    assert_eq!(c["examples"].as_array().unwrap().len(), 3);
    assert_eq!(
        std::fs::read_to_string(&job).unwrap(),
        JOB,
        "a check writes nothing"
    );
    assert_eq!(dbs.count_dst("members"), 0);

    // A source column that does not exist: the plan's problem, and no scan.
    let bad = json!({"copies": [{"index": 0, "from": "people", "to": "members",
        "columns": [{"target": "country", "source": "nope"}]}]});
    let (status, r, body) = ui.post_json("/api/check", &json!({ "edits": bad }));
    assert_eq!(status, 200, "{body}");
    let problems = r["problems"].to_string();
    assert!(problems.contains("nope"), "{r}");
    assert_eq!(r["cells"], json!([]));
    assert_eq!(r["copies"], json!([]));

    // A default of NULL for a NOT NULL column (the NULL picked in the page's "when
    // nothing fills it"): the server would refuse every row, so it is the plan's
    // problem at check time, not a surprise at Try or at run.
    let null_default = json!({"copies": [{"index": 0, "from": "people", "to": "members",
        "columns": [{"target": "country", "source": "country_code"},
                    {"target": "status", "default": null}]}]});
    let (status, r, body) = ui.post_json("/api/check", &json!({ "edits": null_default }));
    assert_eq!(status, 200, "{body}");
    let problems = r["problems"].to_string();
    assert!(
        problems.contains("`status` (varchar(10)) is NOT NULL and its default is null"),
        "{r}"
    );
    assert_eq!(r["cells"], json!([]));

    // An edit the page cannot make: 400, naming the column.
    let wrong = json!({"copies": [{"index": 0, "from": "people", "to": "members",
        "columns": [{"target": "country", "source": "country_code", "default": "x"}]}]});
    let (status, r, body) = ui.post_json("/api/check", &json!({ "edits": wrong }));
    assert_eq!(status, 400, "{body}");
    assert!(r["error"].as_str().unwrap().contains("country"), "{r}");
    ui.interrupt();
}
