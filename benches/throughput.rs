//! The throughput benchmark (issue 4, item 6): ferry side by side with the other ways of
//! moving rows between two MariaDB servers, in one run, on the same servers and the
//! same data. It starts its own source and target servers, generates the tables on the
//! source, then for every table and method creates a fresh empty target table, times
//! the method, checks the target's row count and `CHECKSUM TABLE` against the source,
//! and drops it again. Results: a table on stdout, `results.csv`, `results.md` and
//! `rows_per_s.svg` in the output directory.
//!
//! `scripts/bench [--rows N] [--reps K] [--only ferry,insert-select] [--tables wide]
//! [--out DIR]`; `scripts/bench --list` names the methods and tables.

#[path = "throughput/data.rs"]
mod data;
#[path = "throughput/methods.rs"]
mod methods;
#[path = "throughput/report.rs"]
mod report;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use ferry::throwaway::ThrowawayServer;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

use data::{SourceTable, Table};
use methods::{Env, Method, DB};
use report::{Outcome, Results, Status};

/// Rows in each of the two main tables by default: the whole default run (generation,
/// ten methods on two tables, the BLOB check) takes about five minutes on 2 cores.
const DEFAULT_ROWS: u64 = 500_000;

/// Runs of each goal method by default: on this 2-core VM one run of a method can take
/// a quarter more or less time than the next, so a goal is judged on the median of
/// five side-by-side comparisons.
const DEFAULT_REPS: usize = 5;

/// Both servers get this buffer pool, so the source tables stay in memory for every method.
const BUFFER_POOL: u64 = 2 << 30;
/// And this redo log, so a big load is not throttled by checkpoints of a tiny log.
const REDO_LOG: u64 = 512 << 20;
/// And this write-back rate (pages/s), so pages dirtied by one method are flushed quickly.
const IO_CAPACITY: u64 = 10_000;

#[derive(Parser, Debug)]
#[command(
    name = "throughput",
    about = "Time ferry against INSERT ... SELECT, mydumper/myloader, mariadb-dump | mariadb \
             and friends on two throwaway MariaDB servers"
)]
struct Args {
    /// Rows in each main table (wide and sbtest).
    #[arg(long, default_value_t = DEFAULT_ROWS)]
    rows: u64,
    /// Runs of each method the issues' goals compare (ferry, ferry-transform, ferry-etl,
    /// ferry-lookup, insert-select, mydumper), side by side in every rep; the median is reported.
    #[arg(long, default_value_t = DEFAULT_REPS)]
    reps: usize,
    /// Runs of each other method (ferry-w1/w2/w4, load-data, mariadb-dump, pt-archiver).
    #[arg(long, default_value_t = 1)]
    other_reps: usize,
    /// Comma-separated methods to run (default: all but pt-archiver; see --list).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Comma-separated tables: wide, sbtest, blobs (default: all).
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
    /// Rows of 4 MiB in the BLOB table (ferry's memory check).
    #[arg(long, default_value_t = 200)]
    blob_rows: u64,
    /// Directory for results.csv, results.md, rows_per_s.svg and the logs.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
    /// List the methods and tables, then exit.
    #[arg(long)]
    list: bool,
    /// Passed by `cargo bench`; without it (`cargo test --benches`) this is a small smoke run.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(mut args: Args) -> Result<()> {
    if args.list {
        println!("methods (--only):");
        for m in Method::ALL {
            let note = if m.by_default() {
                ""
            } else {
                " (only with --only)"
            };
            println!("  {:<16} {}{note}", m.name(), m.describe());
        }
        println!(
            "tables (--tables): wide (the ~383-byte row), sbtest (sysbench), blobs (4 MiB BLOBs, \
             ferry only), uniq and uniq_plain (sbtest with a second unique key or a plain one, \
             ferry in upsert mode only: the unique-key check's cost)"
        );
        return Ok(());
    }
    let _smoke_dir;
    if !args.bench {
        // `cargo test --benches` runs this without --bench: prove the harness works on
        // a few rows instead of starting a five-minute run.
        args.rows = args.rows.min(2000);
        args.blob_rows = args.blob_rows.min(4);
        let dir = tempfile::tempdir()?;
        args.out = dir.path().to_path_buf();
        _smoke_dir = dir;
        println!("(no --bench flag: smoke run on {} rows)", args.rows);
    }
    if args.rows == 0 || args.reps == 0 {
        bail!("--rows and --reps must be at least 1");
    }
    if !args.bench {
        args.reps = args.reps.min(2);
    }
    let mut methods = pick(
        &args.only,
        &Method::ALL,
        Method::parse,
        Method::name,
        "method",
    )?;
    if args.only.is_empty() {
        methods.retain(|m| m.by_default());
    }
    let tables = pick(
        &args.tables,
        &Table::ALL,
        Table::parse,
        Table::name,
        "table",
    )?;

    // Methods that cannot run here are reported, never silently dropped.
    let mut skipped: HashMap<&'static str, String> = HashMap::new();
    for m in &methods {
        if let Some(p) = m.programs().iter().find(|p| !methods::installed(p)) {
            let hint = match *p {
                "mydumper" | "myloader" => "apt-get install -y mydumper",
                "pt-archiver" => "apt-get install -y percona-toolkit",
                _ => "apt-get install -y mariadb-client",
            };
            skipped.insert(m.name(), format!("{p} is not installed ({hint})"));
        }
    }

    let ferry = PathBuf::from(env!("CARGO_BIN_EXE_ferry"));
    let out = args.out.clone();
    let logs = out.join("logs");
    // This run's logs only: a stale one from an earlier run would mislead.
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let work = tempfile::Builder::new().prefix("ferry-bench-").tempdir()?;

    println!("ferry: {}", ferry.display());
    println!("starting the source and target servers ...");
    let target_start = std::thread::spawn(|| ThrowawayServer::start("bench-target"));
    let source = ThrowawayServer::start("bench-source")?;
    let target = target_start.join().expect("target start thread")?;
    let mut src = connect(source.port())?;
    let mut dst = connect(target.port())?;
    for (conn, side) in [(&mut src, "source"), (&mut dst, "target")] {
        tune(conn, side)?;
        conn.query_drop(format!("CREATE DATABASE {DB}"))?;
        conn.query_drop(format!("USE {DB}"))?;
    }
    let version: Option<String> = src.query_first("SELECT VERSION()")?;
    let (src_pid, dst_pid) = (server_pid(&mut src)?, server_pid(&mut dst)?);

    let mut env = Env {
        ferry,
        src_port: source.port(),
        dst_port: target.port(),
        logs: logs.clone(),
        work: work.path().to_path_buf(),
        workers_supported: false,
        src_pid,
        dst_pid,
    };
    if methods.iter().any(|m| m.workers().is_some()) {
        env.workers_supported = env.probe_workers(&mut src, &mut dst)?;
        if !env.workers_supported {
            for m in methods.iter().filter(|m| m.workers().is_some()) {
                let why = "this ferry has no copy{workers = N} option yet";
                skipped.insert(m.name(), why.into());
            }
        }
    }

    for m in &methods {
        if let Some(why) = skipped.get(m.name()) {
            println!("skipping {}: {why}", m.name());
        }
    }
    if methods.contains(&Method::FERRY_LOOKUP) {
        Env::make_lookup_table(&mut dst, args.rows)?;
    }
    let runnable = |table: Table| -> Vec<Method> {
        methods
            .iter()
            .copied()
            .filter(|m| m.applies_to(table) && !skipped.contains_key(m.name()))
            .collect()
    };
    // Each rep runs the goal methods back to back, in the order of `Method::GOALS` in
    // odd reps and the reverse in even ones (so neither side of a comparison always
    // runs first), for `reps` reps; then, in the first `other_reps` reps, the others
    // (and ferry on the BLOB table, a memory check that no goal compares).
    let order = |table: Table, rep: usize| -> Vec<Method> {
        let todo = runnable(table);
        let mut goals: Vec<Method> = Method::GOALS
            .iter()
            .copied()
            .filter(|m| todo.contains(m) && rep <= args.reps && table != Table::Blobs)
            .collect();
        if rep.is_multiple_of(2) {
            goals.reverse();
        }
        if rep <= args.other_reps {
            goals.extend(
                todo.iter()
                    .filter(|m| !Method::GOALS.contains(m) || table == Table::Blobs),
            );
        }
        goals
    };
    let reps = args.reps.max(args.other_reps);
    let total: usize = tables
        .iter()
        .map(|t| (1..=reps).map(|r| order(*t, r).len()).sum::<usize>())
        .sum();
    let mut results = Results::new(args.rows, args.reps, args.other_reps);
    results.context(format!(
        "MariaDB {} on this machine ({} cores, {}); load average at start {}",
        version.unwrap_or_default(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        load_average()
    ));

    // One table at a time: generated, then every method (every repetition) on it, then
    // dropped, so its pages are the ones in the source's buffer pool while it is timed.
    let mut done = 0;
    for &table in &tables {
        let rows = if table == Table::Blobs {
            args.blob_rows
        } else if table.is_unique_check() {
            args.rows.min(data::UNIQUE_ROWS)
        } else {
            args.rows
        };
        print!(
            "generating {} ({rows} rows) on the source ... ",
            table.name()
        );
        flush();
        let start = Instant::now();
        let s = data::generate(&mut src, table, rows)?;
        println!(
            "{:.1}s, {:.1} MB, {:.0} bytes/row",
            start.elapsed().as_secs_f64(),
            s.bytes as f64 / 1e6,
            s.bytes as f64 / s.rows.max(1) as f64
        );
        if runnable(table).contains(&Method::LoadData) {
            env.make_load_file(&mut src, table)?;
        }
        for m in methods.iter().filter(|m| m.applies_to(table)) {
            if let Some(why) = skipped.get(m.name()) {
                results.push(*m, &s, Outcome::skipped(why.clone()));
            }
        }
        for rep in 1..=reps {
            for method in order(table, rep) {
                done += 1;
                let shown = if reps > 1 {
                    format!(" rep {rep}")
                } else {
                    String::new()
                };
                print!(
                    "[{done:>2}/{total}] {:<7} {:<16}{shown} ... ",
                    table.name(),
                    method.name()
                );
                flush();
                let outcome = run_one(&env, &mut src, &mut dst, method, &s)?;
                println!("{}", outcome.summary(&s));
                results.push(method, &s, outcome.at_rep(rep));
            }
        }
        src.query_drop(format!("DROP TABLE `{}`", table.name()))?;
        env.remove_load_file(table);
    }
    results.context(format!("load average at the end {}", load_average()));

    let rendered = results.render();
    println!("\n{}\n{rendered}", results.header());
    println!("{}", results.goals());
    results.write(&out)?;
    println!(
        "wrote {}, {} and {} (logs in {})",
        out.join("results.csv").display(),
        out.join("results.md").display(),
        out.join("rows_per_s.svg").display(),
        logs.display()
    );
    // A smoke run checks every method; a real run fails only for ferry (a peer tool
    // that mangles data is a finding, reported in the table).
    let problems = results.problems(!args.bench);
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(())
}

/// Runs one method on one table into a fresh empty target table and checks the result.
fn run_one(
    env: &Env,
    src: &mut Conn,
    dst: &mut Conn,
    method: Method,
    s: &SourceTable,
) -> Result<Outcome> {
    let name = s.table.name();
    // The target: a fresh table, same definition, on the target server (or, for the
    // server-side copy, next to the source table).
    let on_source = method == Method::InsertSelect;
    let target_table = if on_source {
        methods::copy_of(s.table)
    } else {
        name.to_string()
    };
    let mut retries = 0;
    let measured = loop {
        if on_source {
            src.query_drop(format!("DROP TABLE IF EXISTS `{target_table}`"))?;
            src.query_drop(format!("CREATE TABLE `{target_table}` LIKE `{name}`"))?;
        } else {
            dst.query_drop(format!("DROP TABLE IF EXISTS `{target_table}`"))?;
            dst.query_drop(&s.create)?;
        }
        if let (Method::Check { worst: true }, Some(ddl)) = (method, s.table.narrowed_ddl()) {
            dst.query_drop(format!(
                "DROP TABLE IF EXISTS `{}`",
                s.table.narrowed_name()
            ))?;
            dst.query_drop(ddl)?;
        }
        settle(src)?;
        settle(dst)?;
        quiet_machine();
        match env.run(method, s.table, s.rows, src) {
            // myloader's threads can deadlock on their first inserts into the empty
            // table (MariaDB locks a table being bulk-loaded from empty); a user would
            // run it again, and so do we, from a fresh table, saying so.
            Err(e)
                if method == Method::Mydumper
                    && retries < MYLOADER_RETRIES
                    && format!("{e:#}").contains("Deadlock found") =>
            {
                retries += 1;
                print!("(myloader deadlocked; again) ");
                flush();
            }
            result => break result,
        }
    };
    // The ETL transform changes two columns: they are compared as SQL would make them.
    let etl = if method == Method::FERRY_ETL && measured.is_ok() {
        Some((
            data::etl_digest(src, name, s.table, true)?,
            data::etl_digest(dst, &target_table, s.table, false)?,
        ))
    } else {
        None
    };
    let conn = if on_source { src } else { dst };
    let outcome = match measured {
        Err(e) => Outcome::failed(format!("{e:#}")),
        Ok(m) => {
            let (rows, checksum) = data::count_and_checksum(conn, &target_table)?;
            let indexes = data::indexes(conn, &target_table)?;
            let status = if method.is_check() {
                // A check writes nothing.
                if rows == 0 {
                    Status::Ok
                } else {
                    Status::Wrong(format!("a check wrote {rows} rows"))
                }
            } else if rows != s.rows {
                Status::Wrong(format!(
                    "{rows} rows in the target, {} in the source",
                    s.rows
                ))
            } else if let Some((want, got)) = etl {
                if want == got {
                    Status::Ok
                } else {
                    Status::Wrong(format!(
                        "the transformed columns differ: target {got:?}, source {want:?}"
                    ))
                }
            } else if checksum != s.checksum {
                Status::Wrong(format!(
                    "CHECKSUM TABLE differs: target {checksum}, source {}",
                    s.checksum
                ))
            } else if indexes != s.indexes {
                Status::Wrong(format!(
                    "the target's indexes differ from the source's: {indexes:?} vs {:?}",
                    s.indexes
                ))
            } else {
                Status::Ok
            };
            Outcome::measured(m, status)
        }
    };
    let outcome = if retries > 0 {
        outcome.with_note(format!("retried {retries}x after a myloader deadlock"))
    } else {
        outcome
    };
    conn.query_drop(format!("DROP TABLE IF EXISTS `{target_table}`"))?;
    if method.is_check() {
        // A check's target table is on the target server (`conn` is `dst`).
        conn.query_drop(format!(
            "DROP TABLE IF EXISTS `{}`",
            s.table.narrowed_name()
        ))?;
    }
    Ok(outcome)
}

/// Picks the named items of `all` (all of them when `names` is empty).
fn pick<T: Copy + PartialEq>(
    names: &[String],
    all: &[T],
    parse: fn(&str) -> Option<T>,
    name: fn(T) -> &'static str,
    what: &str,
) -> Result<Vec<T>> {
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    let mut picked = Vec::new();
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let Some(item) = parse(n) else {
            let known: Vec<&str> = all.iter().map(|t| name(*t)).collect();
            bail!("unknown {what} `{n}`; known: {}", known.join(", "));
        };
        if !picked.contains(&item) {
            picked.push(item);
        }
    }
    // Keep the canonical order, so runs with different subsets line up.
    Ok(all.iter().copied().filter(|t| picked.contains(t)).collect())
}

fn connect(port: u16) -> Result<Conn> {
    let url = format!("mysql://root@127.0.0.1:{port}/mysql");
    let mut conn =
        Conn::new(Opts::from_url(&url)?).with_context(|| format!("connecting to {url}"))?;
    conn.query_drop("SET time_zone = '+00:00', NAMES utf8mb4")?;
    Ok(conn)
}

/// Fresh attempts mydumper/myloader get after myloader deadlocks on itself.
const MYLOADER_RETRIES: usize = 2;

/// The same settings on both servers, for every method.
fn tune(conn: &mut Conn, side: &str) -> Result<()> {
    conn.query_drop(format!(
        "SET GLOBAL innodb_buffer_pool_size = {BUFFER_POOL}"
    ))
    .with_context(|| format!("growing the {side} server's buffer pool"))?;
    // The default (200 pages/s) leaves a settled server flushing for minutes.
    conn.query_drop(format!(
        "SET GLOBAL innodb_io_capacity_max = {}",
        2 * IO_CAPACITY
    ))?;
    conn.query_drop(format!("SET GLOBAL innodb_io_capacity = {IO_CAPACITY}"))?;
    if let Err(e) = conn.query_drop(format!("SET GLOBAL innodb_log_file_size = {REDO_LOG}")) {
        println!("note: the {side} server keeps its redo log size ({e})");
    }
    // Resizing the buffer pool runs in the background; wait for it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status: Option<(String, String)> =
            conn.query_first("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_resize_status'")?;
        let text = status.map(|s| s.1).unwrap_or_default();
        if text.is_empty() || text.contains("Completed") || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Waits until the server has written out its dirty pages, so one method's
/// background flushing does not land on the next one's clock.
fn settle(conn: &mut Conn) -> Result<()> {
    let pct: Option<String> = conn.query_first("SELECT @@GLOBAL.innodb_max_dirty_pages_pct")?;
    conn.query_drop("SET GLOBAL innodb_max_dirty_pages_pct = 0")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let dirty: Option<(String, u64)> =
            conn.query_first("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")?;
        if dirty.map(|d| d.1).unwrap_or(0) < 100 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    conn.query_drop(format!(
        "SET GLOBAL innodb_max_dirty_pages_pct = {}",
        pct.unwrap_or_else(|| "90".into())
    ))?;
    Ok(())
}

/// Waits until the machine is idle: the kernel has written out its dirty file pages
/// (a method's redo log and files, written back later, would land on the next
/// method's clock) and the CPUs are at least 90% idle over a quarter of a second (the
/// servers' background work, purge and the like, has ended), for at most 20 seconds.
/// On two cores, whatever still runs takes a share from whichever method comes next.
fn quiet_machine() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = cpu_times();
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = cpu_times();
        let (busy, idle) = match (last, now) {
            (Some((b0, i0)), Some((b1, i1))) => (b1.saturating_sub(b0), i1.saturating_sub(i0)),
            _ => return,
        };
        if idle * 10 >= (busy + idle) * 9 || Instant::now() > deadline {
            return;
        }
        last = now;
    }
}

/// (busy, idle) jiffies of all CPUs, from /proc/stat.
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    let total: u64 = v.iter().take(8).sum();
    Some((total - idle, idle))
}

/// The process id of the server `conn` is connected to, from its pid file.
fn server_pid(conn: &mut Conn) -> Result<u32> {
    let file: Option<String> = conn.query_first("SELECT @@pid_file")?;
    let file = file.context("the server has no pid file")?;
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
    text.trim()
        .parse()
        .with_context(|| format!("no process id in {file}: {text:?}"))
}

/// The 1-, 5- and 15-minute load averages: how busy the machine was around the run.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn flush() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}
