//! The ways of moving a table that the benchmark times, and how each one is run: as
//! real client processes (wall-clock from the first spawn to the last exit, peak RSS
//! from `wait4` per process), or, for the server-side copy, as one statement.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use mysql::prelude::Queryable;
use mysql::Conn;

use crate::data::Table;

/// The database the benchmark uses on both servers.
pub const DB: &str = "bench";

/// One way of moving a table from the source to the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `ferry run`, release build; `workers` is passed to `copy{}` when set.
    Ferry {
        transform: Transform,
        workers: Option<u32>,
    },
    /// `INSERT INTO t2 SELECT * FROM t1` on the source server: no client, no network.
    InsertSelect,
    /// `mariadb-dump --quick | mariadb`.
    MariadbDump,
    /// `mydumper -t 2` into files, then `myloader -t 2`.
    Mydumper,
    /// `LOAD DATA LOCAL INFILE` of a file made beforehand (write side only).
    LoadData,
    /// `pt-archiver --bulk-insert --no-delete`.
    PtArchiver,
    /// `ferry check` of the plain copy's job: nothing is written. `worst`: into a
    /// target table whose every column narrows the source's (every column scanned, a
    /// unique key grouped) instead of an identical one (no scan at all).
    Check { worst: bool },
}

/// The row transform of a ferry run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transform {
    /// No transform: rows may cross undecoded.
    None,
    /// `function(r) return r end`: every row through Lua, unchanged.
    Identity,
    /// Light ETL: one text column lower-cased with `ferry.text`, another replaced by its
    /// SHA-256 with `ferry.hash` (issue 16's second speed bar).
    Etl,
    /// A `lookup` per row by the row's id into a 100,000-key table on the target
    /// (`LOOKUP_TABLE`), its answer checked, the row returned unchanged (issue 16's
    /// third speed bar).
    Lookup,
}

/// The table `ferry-lookup` looks in, on the target: `LOOKUP_KEYS` keys `k` spread
/// over the source's ids (every `stride`-th id from 1), `v = 2 * k`.
pub const LOOKUP_TABLE: &str = "lookup_keys";
pub const LOOKUP_KEYS: u64 = 100_000;

/// The ids `ferry-lookup` finds for `rows` rows: every `stride`-th from 1.
pub fn lookup_stride(rows: u64) -> u64 {
    (rows / LOOKUP_KEYS).max(1)
}

impl Method {
    /// `ferry`: plain, no transform, the default workers.
    pub const FERRY: Method = Method::Ferry {
        transform: Transform::None,
        workers: None,
    };
    /// `ferry-transform`: `function(r) return r end`.
    pub const FERRY_TRANSFORM: Method = Method::Ferry {
        transform: Transform::Identity,
        workers: None,
    };
    /// `ferry-etl`: `ferry.text.lower` on one column, `ferry.hash.sha256` on another.
    pub const FERRY_ETL: Method = Method::Ferry {
        transform: Transform::Etl,
        workers: None,
    };

    /// `ferry-lookup`: a lookup per row into a 100,000-key table.
    pub const FERRY_LOOKUP: Method = Method::Ferry {
        transform: Transform::Lookup,
        workers: None,
    };

    pub const ALL: [Method; 14] = [
        Method::FERRY,
        Method::FERRY_TRANSFORM,
        Method::FERRY_ETL,
        Method::FERRY_LOOKUP,
        Method::Ferry {
            transform: Transform::None,
            workers: Some(1),
        },
        Method::Ferry {
            transform: Transform::None,
            workers: Some(2),
        },
        Method::Ferry {
            transform: Transform::None,
            workers: Some(4),
        },
        Method::InsertSelect,
        Method::Mydumper,
        Method::LoadData,
        Method::MariadbDump,
        Method::PtArchiver,
        Method::Check { worst: false },
        Method::Check { worst: true },
    ];

    /// The methods the goals compare, in the order a rep runs them: ferry next
    /// to each method it is measured against (mydumper, the widest margin, furthest).
    pub const GOALS: [Method; 6] = [
        Method::InsertSelect,
        Method::FERRY,
        Method::FERRY_TRANSFORM,
        Method::FERRY_ETL,
        Method::FERRY_LOOKUP,
        Method::Mydumper,
    ];

    /// The method's name on the command line and in the results.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ferry {
                transform: Transform::None,
                workers: None,
            } => "ferry",
            Method::Ferry {
                transform: Transform::Identity,
                ..
            } => "ferry-transform",
            Method::Ferry {
                transform: Transform::Etl,
                ..
            } => "ferry-etl",
            Method::Ferry {
                transform: Transform::Lookup,
                ..
            } => "ferry-lookup",
            Method::Ferry {
                workers: Some(1), ..
            } => "ferry-w1",
            Method::Ferry {
                workers: Some(2), ..
            } => "ferry-w2",
            Method::Ferry { .. } => "ferry-w4",
            Method::InsertSelect => "insert-select",
            Method::MariadbDump => "mariadb-dump",
            Method::Mydumper => "mydumper",
            Method::LoadData => "load-data",
            Method::PtArchiver => "pt-archiver",
            Method::Check { worst: false } => "ferry-check",
            Method::Check { worst: true } => "ferry-check-worst",
        }
    }

    /// What the method does, in one line.
    pub fn describe(self) -> &'static str {
        match self {
            Method::Ferry {
                transform: Transform::None,
                workers: None,
            } => "ferry run, defaults, no transform",
            Method::Ferry {
                transform: Transform::Identity,
                ..
            } => "ferry run, transform = function(r) return r end",
            Method::Ferry {
                transform: Transform::Etl,
                ..
            } => "ferry run, a transform lower-casing one column and hashing another (SHA-256)",
            Method::Ferry {
                transform: Transform::Lookup,
                ..
            } => "ferry run, a lookup per row (the issue's form, no `from`) into a 100,000-key target table",
            Method::Ferry {
                workers: Some(1), ..
            } => "ferry run, copy{workers = 1}",
            Method::Ferry {
                workers: Some(2), ..
            } => "ferry run, copy{workers = 2}",
            Method::Ferry { .. } => "ferry run, copy{workers = 4}",
            Method::InsertSelect => "INSERT INTO t2 SELECT * FROM t1 on the source server",
            Method::MariadbDump => "mariadb-dump --quick | mariadb, across the servers",
            Method::Mydumper => "mydumper -t 2 into files, then myloader -t 2",
            Method::LoadData => "LOAD DATA LOCAL INFILE of a pre-made file (write side only)",
            Method::PtArchiver => "pt-archiver --bulk-insert --limit 1000 --no-delete",
            Method::Check { worst: false } => {
                "ferry check of the plain copy (identical schemas: no scan); nothing written"
            }
            Method::Check { worst: true } => {
                "ferry check into a table narrowing every column (each scanned, a unique key \
                 grouped); nothing written"
            }
        }
    }

    /// Whether the method runs without `--only`: pt-archiver is slow and, with
    /// utf8mb4 data, does not deliver the source's bytes, so it runs when asked for.
    pub fn by_default(self) -> bool {
        self != Method::PtArchiver
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The `workers = N` a ferry method passes to `copy{}`.
    pub fn workers(self) -> Option<u32> {
        match self {
            Method::Ferry { workers, .. } => workers,
            _ => None,
        }
    }

    pub fn is_ferry(self) -> bool {
        matches!(self, Method::Ferry { .. })
    }

    /// Whether the method is a `ferry check` (writes nothing).
    pub fn is_check(self) -> bool {
        matches!(self, Method::Check { .. })
    }

    /// Whether the method runs on `table` (the BLOB table is ferry's memory check).
    pub fn applies_to(self, table: Table) -> bool {
        if self.is_check() {
            return table.narrowed_ddl().is_some();
        }
        (table != Table::Blobs && !table.is_unique_check())
            || self
                == Method::Ferry {
                    transform: Transform::None,
                    workers: None,
                }
    }

    /// Programs the method needs besides ferry.
    pub fn programs(self) -> &'static [&'static str] {
        match self {
            Method::Ferry { .. } | Method::InsertSelect | Method::Check { .. } => &[],
            Method::MariadbDump => &["mariadb-dump", "mariadb"],
            Method::Mydumper => &["mydumper", "myloader"],
            Method::LoadData => &["mariadb"],
            Method::PtArchiver => &["pt-archiver"],
        }
    }
}

/// Whether `program` is on PATH.
pub fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// Everything a method needs to run: the servers, the ferry binary, scratch space.
pub struct Env {
    pub ferry: PathBuf,
    pub src_port: u16,
    pub dst_port: u16,
    /// Job files, ferry logs and every tool's output, kept for reading afterwards.
    pub logs: PathBuf,
    /// Dumps and pre-made files, deleted with the run.
    pub work: PathBuf,
    /// Whether this ferry accepts `workers` in `copy{}`.
    pub workers_supported: bool,
    /// The servers' process ids, for their CPU time.
    pub src_pid: u32,
    pub dst_pid: u32,
}

/// What one timed run took. `peak_rss_kb` is `None` when no client process ran.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    pub secs: f64,
    pub peak_rss_kb: Option<u64>,
    pub cpu: Cpu,
}

/// CPU seconds (user + system) a run cost: the two servers' processes over the run's
/// window (every thread, background ones included), and its client processes' own.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    pub source: f64,
    pub target: f64,
    pub client: f64,
}

impl Cpu {
    pub fn total(&self) -> f64 {
        self.source + self.target + self.client
    }
}

/// CPU seconds (user + system) process `pid` has used so far, from /proc/PID/stat.
fn process_cpu(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count from
    // after its closing one. utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .with_context(|| format!("no command name in {path}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .map(|t| t as f64)
            .with_context(|| format!("no CPU times in {path}"))
    };
    // SAFETY: sysconf takes an integer and returns one.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // Fields after the name start at 3 (state), so utime (14) is index 11.
    Ok((ticks(11)? + ticks(12)?) / hz)
}

impl Env {
    fn src_url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/{DB}", self.src_port)
    }

    fn dst_url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/{DB}", self.dst_port)
    }

    /// `mariadb` client arguments for one of the servers.
    fn client_args(port: u16) -> Vec<String> {
        vec![
            "--no-defaults".into(),
            "--host=127.0.0.1".into(),
            format!("--port={port}"),
            "--user=root".into(),
        ]
    }

    /// The ferry job for `method` on `table` (of `rows` rows).
    pub fn ferry_job(&self, method: Method, table: Table, rows: u64) -> String {
        let Method::Ferry { transform, workers } = method else {
            unreachable!("ferry_job for {method:?}");
        };
        let mut job = format!(
            "-- {} on {}: written by benches/throughput.rs\ncopy {{\n  from = \"{}\",\n",
            method.name(),
            table.name(),
            table.name()
        );
        match transform {
            Transform::None => {}
            Transform::Identity => job.push_str("  transform = function(r) return r end,\n"),
            Transform::Etl => {
                let (lower, hashed) = table.etl_columns();
                job = format!(
                    "local text, hash = require \"ferry.text\", require \"ferry.hash\"\n{job}"
                );
                job.push_str(&format!(
                    "  transform = function(r)\n    r.{lower} = text.lower(r.{lower})\n    \
                     r.{hashed} = hash.sha256(r.{hashed})\n    return r\n  end,\n"
                ));
            }
            Transform::Lookup => {
                // Every `stride`-th id from 1 is found (its value checked), the others
                // are not; the row goes on unchanged.
                let stride = lookup_stride(rows);
                let last = 1 + (LOOKUP_KEYS - 1) * stride;
                // The issue's own form: no `from`, the page's keys asked as its
                // transforms wait for them.
                job = format!(
                    "local value = lookup {{ table = \"{LOOKUP_TABLE}\", key = \"k\", value = \"v\" }}\n{job}"
                );
                job.push_str(&format!(
                    "  transform = function(r)\n    local id = r.id\n    local v = value(id)\n    \
                     if (id - 1) % {stride} == 0 and id <= {last} then\n      \
                     if v ~= 2 * id then error(\"lookup gave \" .. tostring(v) .. \" for \" .. id) end\n    \
                     elseif v ~= null then error(\"lookup found \" .. id) end\n    \
                     return r\n  end,\n"
                ));
            }
        }
        if table.is_unique_check() {
            // Upsert checks rows against a second unique key with a SELECT per page.
            job.push_str("  mode = \"upsert\",\n");
        }
        if let Some(n) = workers.filter(|_| self.workers_supported) {
            job.push_str(&format!("  workers = {n},\n"));
        }
        job.push_str("}\n");
        job
    }

    /// The `ferry check` job of `table`: into the narrowed table for the worst case,
    /// every hazard accepted (each is still counted, with its examples read).
    pub fn check_job(&self, table: Table, worst: bool) -> String {
        let name = table.name();
        if worst {
            format!(
                "-- ferry-check-worst on {name}: written by benches/throughput.rs\n\
                 copy {{ from = \"{name}\", to = \"{}\", accept = {{ \"truncate\", \
                 \"charset\", \"range\", \"scale\", \"fraction\", \"enum\", \"not_null\", \
                 \"unique_conflicts\", \"char_trailing_space\" }} }}\n",
                Table::narrowed_name(table)
            )
        } else {
            format!("-- ferry-check on {name}: written by benches/throughput.rs\ncopy {{ from = \"{name}\" }}\n")
        }
    }

    /// A `ferry run` command for a job file, its log next to it.
    fn ferry_command(&self, job: &Path, extra: &[&str]) -> Command {
        self.ferry_with("run", job, extra)
    }

    /// A `ferry COMMAND` for a job file, its log next to it.
    fn ferry_with(&self, command: &str, job: &Path, extra: &[&str]) -> Command {
        let mut cmd = Command::new(&self.ferry);
        cmd.arg(command)
            .arg(job)
            .arg("--source")
            .arg(self.src_url())
            .arg("--target")
            .arg(self.dst_url())
            .args((command == "run").then_some("--quiet"))
            .arg("--log")
            .arg(job.with_extension("log"))
            .args(extra);
        cmd
    }

    /// Asks this ferry whether `copy{}` takes `workers`: a dry run of a job that passes
    /// it, on a one-row table present on both sides.
    pub fn probe_workers(&self, src: &mut Conn, dst: &mut Conn) -> Result<bool> {
        for conn in [&mut *src, &mut *dst] {
            conn.query_drop("DROP TABLE IF EXISTS probe")?;
            conn.query_drop("CREATE TABLE probe (id INT NOT NULL PRIMARY KEY)")?;
        }
        src.query_drop("INSERT INTO probe VALUES (1)")?;
        let job = self.logs.join("probe-workers.lua");
        fs::write(&job, "copy { from = \"probe\", workers = 2 }\n")?;
        let out = self
            .ferry_command(&job, &["--dry-run"])
            .output()
            .context("running ferry")?;
        for conn in [src, dst] {
            conn.query_drop("DROP TABLE probe")?;
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(true)
        } else if text.contains("unknown option `workers`") {
            Ok(false)
        } else {
            bail!(
                "ferry's dry run of {} failed ({}):\n{text}",
                job.display(),
                out.status
            )
        }
    }

    /// Writes the file `load-data` loads: the source table as `SELECT ... INTO OUTFILE`
    /// writes it (tab-separated, backslash escapes, `\N` for NULL). `CHARACTER SET
    /// binary` on both sides: text goes through as its utf8mb4 bytes, and VARBINARY
    /// values are not mangled by a conversion to utf8mb4.
    pub fn make_load_file(&self, src: &mut Conn, table: Table) -> Result<PathBuf> {
        let path = self.work.join(format!("{}.tsv", table.name()));
        let _ = fs::remove_file(&path);
        src.query_drop(format!(
            "SELECT * INTO OUTFILE '{}' CHARACTER SET binary FROM `{}`",
            path.display(),
            table.name()
        ))
        .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    pub fn remove_load_file(&self, table: Table) {
        let _ = fs::remove_file(self.work.join(format!("{}.tsv", table.name())));
    }

    /// Makes `ferry-lookup`'s table on the target (see `LOOKUP_TABLE`) for `rows` rows.
    pub fn make_lookup_table(dst: &mut Conn, rows: u64) -> Result<()> {
        let stride = lookup_stride(rows);
        dst.query_drop(format!("DROP TABLE IF EXISTS {LOOKUP_TABLE}"))?;
        dst.query_drop(format!(
            "CREATE TABLE {LOOKUP_TABLE} (k BIGINT NOT NULL PRIMARY KEY, v BIGINT NOT NULL)"
        ))?;
        dst.query_drop(format!(
            "INSERT INTO {LOOKUP_TABLE} SELECT 1 + (seq - 1) * {stride}, 2 * (1 + (seq - 1) * {stride}) \
             FROM seq_1_to_{LOOKUP_KEYS}"
        ))
        .context("making the lookup table")?;
        Ok(())
    }

    /// Runs `method` on `table` (the target table exists and is empty), with the CPU
    /// both servers used meanwhile.
    pub fn run(&self, method: Method, table: Table, rows: u64, src: &mut Conn) -> Result<Measured> {
        let before = (process_cpu(self.src_pid)?, process_cpu(self.dst_pid)?);
        let mut m = self.run_method(method, table, rows, src)?;
        m.cpu.source = process_cpu(self.src_pid)? - before.0;
        m.cpu.target = process_cpu(self.dst_pid)? - before.1;
        Ok(m)
    }

    /// Times `method` on `table`: its wall-clock, and its client processes' peak RSS
    /// and CPU.
    fn run_method(
        &self,
        method: Method,
        table: Table,
        rows: u64,
        src: &mut Conn,
    ) -> Result<Measured> {
        let name = table.name();
        let log = self.logs.join(format!("{}-{name}.out", method.name()));
        let src_args = Self::client_args(self.src_port);
        let dst_args = Self::client_args(self.dst_port);
        match method {
            Method::Ferry { .. } => {
                let job = self.logs.join(format!("{}-{name}.lua", method.name()));
                fs::write(&job, self.ferry_job(method, table, rows))?;
                let _ = fs::remove_file(job.with_extension("log"));
                run_stages(vec![vec![self.ferry_command(&job, &[])]], &log)
            }
            Method::Check { worst } => {
                let job = self.logs.join(format!("{}-{name}.lua", method.name()));
                fs::write(&job, self.check_job(table, worst))?;
                let _ = fs::remove_file(job.with_extension("log"));
                run_stages(vec![vec![self.ferry_with("check", &job, &[])]], &log)
            }
            Method::InsertSelect => {
                let start = Instant::now();
                src.query_drop(format!(
                    "INSERT INTO `{}` SELECT * FROM `{name}`",
                    copy_of(table)
                ))
                .context("INSERT ... SELECT on the source")?;
                Ok(Measured {
                    secs: start.elapsed().as_secs_f64(),
                    peak_rss_kb: None,
                    cpu: Cpu::default(),
                })
            }
            Method::MariadbDump => {
                let mut dump = Command::new("mariadb-dump");
                dump.args(&src_args)
                    .args(["--quick", "--no-create-info", DB, name]);
                let mut load = Command::new("mariadb");
                load.args(&dst_args).arg(DB);
                run_stages(vec![vec![dump, load]], &log)
            }
            Method::Mydumper => {
                let dir = self.work.join(format!("mydumper-{name}"));
                let _ = fs::remove_dir_all(&dir);
                // Chunks of rows, so both threads work on the one table.
                let rows: u64 = src
                    .query_first(format!("SELECT COUNT(*) FROM `{name}`"))?
                    .unwrap_or(0);
                let chunk = (rows / 16).max(1000);
                let mut dump = Command::new("mydumper");
                dump.args(["--host", "127.0.0.1", "--user", "root", "--port"])
                    .arg(self.src_port.to_string())
                    .args(["--database", DB, "--tables-list", name])
                    .args(["--threads", "2", "--rows"])
                    .arg(chunk.to_string())
                    .args(["--no-schemas", "--verbose", "3", "--outputdir"])
                    .arg(&dir);
                let mut load = Command::new("myloader");
                load.args(["--host", "127.0.0.1", "--user", "root", "--port"])
                    .arg(self.dst_port.to_string())
                    .args(["--database", DB, "--threads", "2", "--verbose", "3"])
                    .arg("--directory")
                    .arg(&dir);
                let measured = run_stages(vec![vec![dump], vec![load]], &log);
                let _ = fs::remove_dir_all(&dir);
                measured
            }
            Method::LoadData => {
                let file = self.work.join(format!("{name}.tsv"));
                let mut load = Command::new("mariadb");
                load.args(&dst_args)
                    .arg("--local-infile=1")
                    .arg(DB)
                    .arg("-e")
                    .arg(format!(
                    "SET time_zone = '+00:00'; LOAD DATA LOCAL INFILE '{}' INTO TABLE `{name}` \
                     CHARACTER SET binary",
                    file.display()
                ));
                run_stages(vec![vec![load]], &log)
            }
            Method::PtArchiver => {
                // Its Perl knows no "utf8mb4" encoding: the connections say utf8mb4 (A=),
                // the bulk-insert file and its LOAD DATA say utf8. The checksum tells
                // whether that carried the data.
                let dsn = |port: u16| {
                    format!("h=127.0.0.1,P={port},u=root,D={DB},t={name},L=1,A=utf8mb4")
                };
                let mut arch = Command::new("pt-archiver");
                arch.arg("--no-version-check")
                    .arg("--source")
                    .arg(dsn(self.src_port))
                    .arg("--dest")
                    .arg(dsn(self.dst_port))
                    .args(["--where", "1=1", "--no-delete", "--bulk-insert"])
                    .args([
                        "--limit",
                        "1000",
                        "--commit-each",
                        "--no-safe-auto-increment",
                    ])
                    .args(["--charset", "utf8", "--no-check-charset"]);
                run_stages(vec![vec![arch]], &log)
            }
        }
    }
}

/// The table `insert-select` fills on the source server.
pub fn copy_of(table: Table) -> String {
    format!("{}_copy", table.name())
}

/// Runs `stages` one after another, each a pipeline of commands (stdout into the next
/// one's stdin); every command's stderr, and the last one's stdout, go to `log`.
/// Wall-clock is from the first spawn to the last exit; peak RSS is the largest of all
/// the processes' own (`wait4`), which for a pipeline is the max of both sides; client
/// CPU is the sum of all of theirs.
pub fn run_stages(stages: Vec<Vec<Command>>, log: &Path) -> Result<Measured> {
    let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let start = Instant::now();
    let mut peak = 0u64;
    let mut client_cpu = 0.0;
    for stage in stages {
        let mut children: Vec<(String, Child)> = Vec::new();
        let mut feed: Option<Stdio> = None;
        let n = stage.len();
        for (i, mut cmd) in stage.into_iter().enumerate() {
            let program = cmd.get_program().to_string_lossy().into_owned();
            cmd.stdin(feed.take().unwrap_or_else(Stdio::null))
                .stderr(out.try_clone()?);
            if i + 1 < n {
                cmd.stdout(Stdio::piped());
            } else {
                cmd.stdout(out.try_clone()?);
            }
            let mut child = cmd.spawn().with_context(|| format!("starting {program}"))?;
            if let Some(stdout) = child.stdout.take() {
                feed = Some(Stdio::from(stdout));
            }
            children.push((program, child));
        }
        let mut failed = Vec::new();
        for (program, child) in children {
            let (status, rss_kb, cpu) = wait_rusage(&child)?;
            peak = peak.max(rss_kb);
            client_cpu += cpu;
            if !status.success() {
                failed.push(format!("{program} {status}"));
            }
        }
        if !failed.is_empty() {
            bail!(
                "{}; the end of {}:\n{}",
                failed.join(", "),
                log.display(),
                tail(log)
            );
        }
    }
    Ok(Measured {
        secs: start.elapsed().as_secs_f64(),
        peak_rss_kb: Some(peak),
        cpu: Cpu {
            client: client_cpu,
            ..Cpu::default()
        },
    })
}

/// Reaps `child` with `wait4`, returning its exit status, peak RSS in KiB and CPU
/// seconds (user + system).
fn wait_rusage(child: &Child) -> Result<(ExitStatus, u64, f64)> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain integers (all-zero is valid); wait4 fills it for our own
    // child, which no one else reaps (Child::wait is never called on it).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context(format!("waiting for process {pid}"));
        }
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok((
        ExitStatus::from_raw(status),
        usage.ru_maxrss.max(0) as u64,
        secs(usage.ru_utime) + secs(usage.ru_stime),
    ))
}

/// The last few KiB of a file, for error messages.
pub fn tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(3000)));
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        text = String::from_utf8_lossy(&buf).into_owned();
    }
    text
}
