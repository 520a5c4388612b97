//! The command line around jobs: `ferry tables`, `ferry columns`, `--help`, flag errors,
//! `run --dry-run`, and passwords kept out of every output and the log.

use mysql::prelude::Queryable;

use crate::support::*;

/// An aligned table printed by ferry: the header, the `----  ---` rule under it, and the
/// rows up to the first line that is not part of it. Cells are cut at the rule's column
/// spans, so a cell out of its column shows up as a wrong value.
struct Printed {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Every line of the table, header and rule included.
    lines: Vec<String>,
}

fn printed_table(out: &str) -> Printed {
    let lines: Vec<&str> = out.lines().collect();
    let r = lines
        .iter()
        .position(|l| !l.is_empty() && l.chars().all(|c| c == '-' || c == ' '))
        .unwrap_or_else(|| panic!("no table in:\n{out}"));
    assert!(r >= 1, "a table needs a header above its rule:\n{out}");
    let rule = lines[r];
    // Column spans (in chars) from the dash groups.
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in rule.chars().chain(std::iter::once(' ')).enumerate() {
        match (c, start) {
            ('-', None) => start = Some(i),
            (' ', Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    let cut = |line: &str| -> Vec<String> {
        let chars: Vec<char> = line.chars().collect();
        spans
            .iter()
            .enumerate()
            .map(|(k, &(s, e))| {
                // The last column may run past the rule (left-aligned, not padded).
                let e = if k + 1 == spans.len() {
                    chars.len().max(e)
                } else {
                    e
                };
                let cell: String = chars
                    .get(s.min(chars.len())..e.min(chars.len()))
                    .unwrap_or_default()
                    .iter()
                    .collect();
                cell.trim().to_string()
            })
            .collect()
    };
    let headers = cut(lines[r - 1]);
    let mut rows = Vec::new();
    let mut table_lines = vec![lines[r - 1].to_string(), rule.to_string()];
    for l in &lines[r + 1..] {
        // A row keeps the gaps between columns blank; anything else ends the table.
        let chars: Vec<char> = l.chars().collect();
        let fits = !l.trim().is_empty()
            && spans
                .windows(2)
                .all(|w| (w[0].1..w[1].0).all(|i| chars.get(i).is_none_or(|c| *c == ' ')));
        if !fits {
            break;
        }
        rows.push(cut(l));
        table_lines.push(l.to_string());
    }
    Printed {
        headers,
        rows,
        lines: table_lines,
    }
}

fn row<'a>(t: &'a Printed, first: &str) -> &'a Vec<String> {
    t.rows
        .iter()
        .find(|r| r[0] == first)
        .unwrap_or_else(|| panic!("no row `{first}` in:\n{}", t.lines.join("\n")))
}

/// `url` with `password` put in (any existing password replaced).
fn with_password(url: &str, password: &str) -> String {
    let rest = url.strip_prefix("mysql://").expect("a mysql:// URL");
    let (user, host) = rest.split_once('@').expect("a URL with a user");
    let user = user.split(':').next().unwrap();
    format!("mysql://{user}:{password}@{host}")
}

#[test]
fn tables_lists_names_rows_and_sizes() {
    let mut dbs = Dbs::new("cli_tables");
    dbs.src("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50))")
        .src("INSERT INTO customers VALUES (1, 'Ada'), (2, 'Zoë'), (3, '李')")
        .src("CREATE TABLE order_lines_with_a_long_name (id INT PRIMARY KEY, note TEXT)")
        .src("CREATE TABLE empty_one (id INT PRIMARY KEY)")
        .src("CREATE VIEW customer_names AS SELECT name FROM customers")
        .src("ANALYZE TABLE customers, order_lines_with_a_long_name, empty_one");

    let out = ferry(&["tables", dbs.src_url.as_str()], dbs.dir.path()).ok();
    let t = printed_table(&out.stdout);
    assert_eq!(
        t.headers,
        ["table", "references", "load", "rows", "size"],
        "{}",
        out.describe()
    );
    let names: Vec<&str> = t.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        ["customers", "empty_one", "order_lines_with_a_long_name"],
        "base tables, by name (no views)\n{}",
        out.describe()
    );
    assert_eq!(row(&t, "customers")[3], "~3", "{}", out.describe());
    assert_eq!(row(&t, "empty_one")[3], "~0", "{}", out.describe());
    for r in &t.rows {
        assert_eq!((r[1].as_str(), r[2].as_str()), ("", "1"), "no foreign keys");
        let (n, unit) = r[4]
            .split_once(' ')
            .unwrap_or_else(|| panic!("size `{}`\n{}", r[4], out.describe()));
        assert!(
            n.parse::<f64>().is_ok() && ["B", "kB", "MB", "GB"].contains(&unit),
            "size `{}`\n{}",
            r[4],
            out.describe()
        );
    }
    // Aligned: the numbers are right-aligned, so every line of the table ends in the same column.
    let widths: Vec<usize> = t.lines.iter().map(|l| l.chars().count()).collect();
    assert!(
        widths.iter().all(|w| *w == widths[0]),
        "ragged table:\n{}",
        out.stdout
    );
    assert!(out.stdout.contains("3 tables"), "{}", out.describe());
    assert!(
        out.stdout.contains("\nnot tables: view customer_names\n"),
        "{}",
        out.describe()
    );
}

/// `ferry tables` names the tables each table references and its place in the load
/// order (parents first), names a cycle of NOT NULL keys, and the nullable key that
/// breaks another cycle; a self-reference orders nothing.
#[test]
fn tables_shows_foreign_keys_and_the_load_order() {
    let mut dbs = Dbs::new("cli_fk_order");
    dbs.src("CREATE TABLE customers (id INT PRIMARY KEY, referred_by INT NULL, FOREIGN KEY (referred_by) REFERENCES customers (id))")
        .src("CREATE TABLE `order items` (id INT PRIMARY KEY, order_id INT NOT NULL, product_id INT NOT NULL)")
        .src("CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, FOREIGN KEY (customer_id) REFERENCES customers (id))")
        .src("CREATE TABLE products (id INT PRIMARY KEY)")
        .src("ALTER TABLE `order items` ADD CONSTRAINT fk_order FOREIGN KEY (order_id) REFERENCES orders (id), ADD CONSTRAINT fk_product FOREIGN KEY (product_id) REFERENCES products (id)")
        // departments <-> employees, broken at the nullable manager key.
        .src("CREATE TABLE departments (id INT PRIMARY KEY, manager_id INT NULL)")
        .src("CREATE TABLE employees (id INT PRIMARY KEY, department_id INT NOT NULL, FOREIGN KEY (department_id) REFERENCES departments (id))")
        .src("ALTER TABLE departments ADD CONSTRAINT fk_manager FOREIGN KEY (manager_id) REFERENCES employees (id)")
        // a <-> b with NOT NULL keys on both sides: only keys added after the data load it.
        .src("SET foreign_key_checks = 0")
        .src("CREATE TABLE a (id INT PRIMARY KEY, b_id INT NOT NULL, FOREIGN KEY (b_id) REFERENCES b (id))")
        .src("CREATE TABLE b (id INT PRIMARY KEY, a_id INT NOT NULL, FOREIGN KEY (a_id) REFERENCES a (id))")
        .src("SET foreign_key_checks = 1");
    let out = ferry(&["tables", dbs.src_url.as_str()], dbs.dir.path()).ok();
    let t = printed_table(&out.stdout);
    let refs_and_load = |name: &str| {
        let r = row(&t, name);
        (r[1].clone(), r[2].clone())
    };
    let want = [
        ("a", "b", "1"),
        ("b", "a", "1"),
        ("customers", "customers", "1"),
        ("employees", "departments", "2"),
        ("departments", "employees", "1"),
        ("order items", "orders, products", "3"),
        ("orders", "customers", "2"),
        ("products", "", "1"),
    ];
    for (name, refs, load) in want {
        assert_eq!(
            refs_and_load(name),
            (refs.to_string(), load.to_string()),
            "{name}\n{}",
            out.describe()
        );
    }
    assert!(
        out.stdout
            .contains("a cycle of NOT NULL foreign keys: a, b"),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout
            .contains("nullable foreign key departments.fk_manager breaks a cycle"),
        "{}",
        out.describe()
    );
}

#[test]
fn columns_shows_name_type_nullable_default_key_extra() {
    let mut dbs = Dbs::new("cli_columns");
    dbs.src(
        "CREATE TABLE customers (\
           id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, \
           email VARCHAR(100) NULL, \
           status VARCHAR(10) NOT NULL DEFAULT 'new', \
           created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, \
           `näme` VARCHAR(20) NOT NULL, \
           UNIQUE KEY (email))",
    );

    let out = ferry(
        &["columns", dbs.src_url.as_str(), "customers"],
        dbs.dir.path(),
    )
    .ok();
    let t = printed_table(&out.stdout);
    assert_eq!(
        t.headers,
        ["name", "type", "nullable", "default", "key", "extra"],
        "{}",
        out.describe()
    );
    let names: Vec<&str> = t.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        ["id", "email", "status", "created_at", "näme"],
        "in table order\n{}",
        out.describe()
    );
    let d = out.describe();
    assert_eq!(
        row(&t, "id"),
        &["id", "int(10) unsigned", "NO", "", "PRI", "auto_increment"],
        "{d}"
    );
    let email = row(&t, "email");
    assert_eq!(
        (&email[1][..], &email[2][..], &email[4][..], &email[5][..]),
        ("varchar(100)", "YES", "UNI", ""),
        "{d}"
    );
    assert!(
        email[3].is_empty() || email[3] == "NULL",
        "email defaults to NULL: {d}"
    );
    let status = row(&t, "status");
    assert_eq!(
        (&status[1][..], &status[2][..], &status[4][..]),
        ("varchar(10)", "NO", ""),
        "{d}"
    );
    assert!(
        status[3] == "'new'" || status[3] == "new",
        "status default: {d}"
    );
    let created = row(&t, "created_at");
    assert!(
        created[3].to_lowercase().starts_with("current_timestamp"),
        "created_at default: {d}"
    );
    assert_eq!(
        row(&t, "näme")[1..3],
        ["varchar(20)", "NO"],
        "non-ASCII names keep the columns aligned: {d}"
    );
}

#[test]
fn columns_of_an_unknown_table() {
    let mut dbs = Dbs::new("cli_nocol");
    dbs.src("CREATE TABLE customers (id INT PRIMARY KEY)");
    ferry(
        &["columns", dbs.src_url.as_str(), "no_such_table"],
        dbs.dir.path(),
    )
    .status(2)
    .says("no_such_table");
    // A near miss gets a suggestion.
    ferry(
        &["columns", dbs.src_url.as_str(), "custmers"],
        dbs.dir.path(),
    )
    .status(2)
    .says("custmers")
    .says("did you mean `customers`");
}

#[test]
fn help_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = ferry(&["--help"], dir.path()).ok();
    for cmd in ["run", "verify", "repl", "tables", "columns", "demo"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{cmd} "))),
            "--help must list `{cmd}`\n{}",
            out.describe()
        );
    }
}

#[test]
fn run_help_lists_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = ferry(&["run", "--help"], dir.path()).ok();
    for flag in [
        "--source",
        "--target",
        "--log",
        "--var",
        "--dry-run",
        "--quiet",
    ] {
        assert!(
            out.stdout.contains(flag),
            "`run --help` must list {flag}\n{}",
            out.describe()
        );
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    let dbs = Dbs::new("cli_flags");
    let job = dbs.job("job.lua", "copy \"t\"\n");
    let job = job.to_str().unwrap();
    ferry(&["run", job, "--bogus"], dbs.dir.path())
        .status(2)
        .says("--bogus");
    ferry(&["no-such-command"], dbs.dir.path())
        .status(2)
        .says("no-such-command");
    ferry(&["run"], dbs.dir.path()).status(2);
    ferry(&["run", job, "--var", "novalue"], dbs.dir.path())
        .status(2)
        .says("novalue");
    ferry(&["tables", "postgres://x@y/z"], dbs.dir.path()).status(2);
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let mut dbs = Dbs::new("cli_dry");
    dbs.src(
        "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, email VARCHAR(100))",
    )
    .src("INSERT INTO users VALUES (1, 'Ada', 'ada@example.com'), (2, 'Zoë', NULL)");
    dbs.dst(
        "CREATE TABLE customers (id INT PRIMARY KEY, full_name VARCHAR(50) NOT NULL, \
         email VARCHAR(100) NULL, status VARCHAR(10) NOT NULL, \
         created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, note TEXT NULL)",
    );
    let job = dbs.job(
        "job.lua",
        r#"
target():exec("INSERT INTO customers (id, full_name, status) VALUES (99, 'exec', 'x')")
copy {
  from = "users", to = "customers",
  map = map { full_name = "name", email = function(r) return r.email end },
  default = default { status = "active" },
}
"#,
    );
    let out = dbs.run(&job, &["--dry-run"]).ok();
    let d = out.describe();
    let plan = &out.stdout;
    assert!(plan.contains("users -> customers"), "{d}");
    // Every target column and where its value comes from.
    let line = |col: &str| -> String {
        plan.lines()
            .map(str::trim)
            .find(|l| l.split_whitespace().next() == Some(col))
            .unwrap_or_else(|| panic!("no plan line for target column `{col}`\n{d}"))
            .to_string()
    };
    assert!(line("id").contains("<- same name"), "{d}");
    assert!(line("full_name").contains("<- name"), "{d}");
    assert!(line("email").contains("<- function"), "{d}");
    assert!(
        line("email").contains("job.lua:5"),
        "where the function is: {d}"
    );
    assert!(line("status").contains("<- default"), "{d}");
    assert!(line("status").contains("active"), "{d}");
    assert!(line("created_at").contains("server"), "{d}");
    assert!(line("note").contains("server"), "{d}");
    assert!(plan.contains("nothing was written"), "{d}");

    assert_eq!(dbs.count_dst("customers"), 0, "a dry run writes nothing");
    let tables: Vec<String> = dbs
        .dst
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (dbs.dst_db.clone(),),
        )
        .unwrap();
    assert_eq!(tables, ["customers"], "a dry run creates nothing");

    // The same job without --dry-run does write.
    dbs.run(&job, &[]).ok();
    assert_eq!(dbs.count_dst("customers"), 3);
}

#[test]
fn dry_run_reports_every_problem_and_exits_2() {
    let mut dbs = Dbs::new("cli_dry_bad");
    dbs.src("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL)")
        .src("INSERT INTO users VALUES (1, 'Ada')");
    dbs.dst("CREATE TABLE customers (id INT PRIMARY KEY, full_name VARCHAR(50) NOT NULL)");
    let job = dbs.job(
        "job.lua",
        r#"
copy { from = "users", to = "customers", map = map { full_name = "nmae" } }
copy "no_such_table"
"#,
    );
    dbs.run(&job, &["--dry-run"])
        .status(2)
        .says("nmae")
        .says("no_such_table");
    assert_eq!(dbs.count_dst("customers"), 0);
}

/// A password in a URL never shows: not on the terminal, not in the log.
#[test]
fn passwords_never_show() {
    let dbs = Dbs::new("cli_pw");
    let refused = "mysql://root:hunter2@127.0.0.1:1/x";
    let dir = dbs.dir.path();
    let check = |out: Run, status: i32| {
        let out = out.status(status).never_says("hunter2");
        assert!(
            out.stderr.contains("***"),
            "the URL shows, password hidden\n{}",
            out.describe()
        );
    };
    check(ferry(&["tables", refused], dir), 1);
    check(ferry(&["columns", refused, "t"], dir), 1);

    // A wrong password against a real server: access denied.
    let denied = with_password(&dbs.src_url, "hunter2");
    check(ferry(&["tables", denied.as_str()], dir), 1);

    // In a job: through --source, and in the script itself.
    let job = dbs.job("job.lua", "copy \"t\"\n");
    let log = dir.join("pw.log");
    let log_s = log.to_str().unwrap();
    let job_s = job.to_str().unwrap();
    check(
        ferry(
            &[
                "run",
                job_s,
                "--source",
                refused,
                "--target",
                dbs.dst_url.as_str(),
                "--log",
                log_s,
            ],
            dir,
        ),
        1,
    );
    let in_script = dbs.job(
        "in_script.lua",
        &format!(
            "source \"{refused}\"\ntarget \"{}\"\ncopy \"t\"\n",
            dbs.dst_url
        ),
    );
    check(
        ferry(&["run", in_script.to_str().unwrap(), "--log", log_s], dir),
        1,
    );
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!logged.is_empty(), "failed runs are logged too");
    assert!(
        !logged.contains("hunter2"),
        "password in the log:\n{logged}"
    );
    assert!(logged.contains("***"), "{logged}");
}

/// A reader that closes ferry's output early (`ferry tables URL | head`) ends it
/// quietly with success: no panic, nothing on stderr.
#[test]
fn a_closed_stdout_ends_quietly() {
    let mut dbs = Dbs::new("cli_pipe");
    dbs.src("CREATE TABLE t (id INT PRIMARY KEY)");
    for args in [
        vec!["tables", dbs.src_url.as_str()],
        vec!["columns", dbs.src_url.as_str(), "t"],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(&args)
            .current_dir(dbs.dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reading end closes before ferry writes a byte.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "ferry {args:?}: {stderr}");
        assert!(stderr.is_empty(), "ferry {args:?} printed: {stderr}");
    }
}

/// `ferry demo` (its own two throwaway servers, `scripts/demo.lua`, its checks) runs in
/// the test suite, on a smaller shop.
#[test]
fn the_demo_runs() {
    let dir = tempfile::tempdir().unwrap();
    ferry(&["demo", "--rows", "3000"], dir.path())
        .ok()
        .says("demo OK");
}
