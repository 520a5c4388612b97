//! The benchmark's results: every run's outcome, the medians, the table printed on
//! stdout, the issue's goals checked against them, and the files written to the output
//! directory (`results.csv`, `results.md`, `rows_per_s.svg`).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use ferry::table_fmt::render;

use crate::data::{SourceTable, Table};
use crate::methods::{Cpu, Measured, Method};

/// A ratio to three decimals, or to as many more as it takes for the figure not to
/// round onto the goal `need` from the other side (0.9996 is not shown as "1.000").
fn against(r: f64, need: f64) -> String {
    let mut digits = 3;
    loop {
        let shown = format!("{r:.digits$}");
        let rounded: f64 = shown.parse().unwrap_or(r);
        if digits >= 8 || (rounded >= need) == (r >= need) {
            return shown;
        }
        digits += 1;
    }
}

/// Peak RSS the memory check allows (issue 4, item 4).
const RSS_LIMIT_MIB: f64 = 100.0;

/// Whether a run's target matched its source.
#[derive(Clone, Debug)]
pub enum Status {
    Ok,
    /// Ran, but the target is not the source: its time does not count.
    Wrong(String),
    Failed(String),
    Skipped(String),
}

/// One run of one method on one table.
#[derive(Clone, Debug)]
pub struct Outcome {
    measured: Option<Measured>,
    status: Status,
    /// Something the reader should know about the run (e.g. a retry).
    note: Option<String>,
    /// The rep it ran in (1-based): goals compare runs of the same rep.
    rep: usize,
}

impl Outcome {
    pub fn measured(m: Measured, status: Status) -> Outcome {
        Outcome {
            measured: Some(m),
            status,
            note: None,
            rep: 0,
        }
    }

    pub fn failed(message: String) -> Outcome {
        Outcome {
            measured: None,
            status: Status::Failed(message),
            note: None,
            rep: 0,
        }
    }

    pub fn skipped(why: String) -> Outcome {
        Outcome {
            measured: None,
            status: Status::Skipped(why),
            note: None,
            rep: 0,
        }
    }

    pub fn at_rep(self, rep: usize) -> Outcome {
        Outcome { rep, ..self }
    }

    pub fn with_note(self, note: String) -> Outcome {
        Outcome {
            note: Some(note),
            ..self
        }
    }

    /// The progress line's ending: the time and rate, or what went wrong.
    pub fn summary(&self, s: &SourceTable) -> String {
        let rss = self
            .measured
            .and_then(|m| m.peak_rss_kb)
            .map(|kb| format!(", peak RSS {:.0} MiB", kb as f64 / 1024.0))
            .unwrap_or_default();
        let note = self
            .note
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        match (&self.status, self.measured) {
            (Status::Ok, Some(m)) => format!(
                "{:.2}s, {} rows/s{rss}, checked{note}",
                m.secs,
                thousands(s.rows as f64 / m.secs)
            ),
            (Status::Wrong(why), Some(m)) => format!("{:.2}s{rss}, WRONG DATA: {why}", m.secs),
            (Status::Failed(why), _) => format!("FAILED: {why}"),
            (Status::Skipped(why), _) => format!("skipped: {why}"),
            (status, None) => format!("{status:?}"),
        }
    }
}

/// Every run of one method on one table.
struct Entry {
    method: Method,
    table: Table,
    rows: u64,
    bytes: u64,
    runs: Vec<Outcome>,
}

impl Entry {
    /// The worst status of the runs: one failure or wrong target spoils the entry.
    fn status(&self) -> Status {
        let find = |f: fn(&Status) -> bool| self.runs.iter().find(|o| f(&o.status));
        if let Some(o) = find(|s| matches!(s, Status::Failed(_))) {
            return o.status.clone();
        }
        if let Some(o) = find(|s| matches!(s, Status::Wrong(_))) {
            return o.status.clone();
        }
        if let Some(o) = find(|s| matches!(s, Status::Skipped(_))) {
            return o.status.clone();
        }
        Status::Ok
    }

    fn ok(&self) -> bool {
        matches!(self.status(), Status::Ok)
    }

    /// The runs' notes, each once.
    fn notes(&self) -> String {
        let mut notes: Vec<&str> = Vec::new();
        for n in self.runs.iter().filter_map(|o| o.note.as_deref()) {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
        notes.join("; ")
    }

    /// Median wall-clock seconds of the measured runs.
    fn secs(&self) -> Option<f64> {
        median(
            self.runs
                .iter()
                .filter_map(|o| o.measured.map(|m| m.secs))
                .collect(),
        )
    }

    /// Rows per second, only for a correct target.
    fn rows_per_s(&self) -> Option<f64> {
        self.secs()
            .filter(|_| self.ok())
            .map(|s| self.rows as f64 / s)
    }

    fn mb_per_s(&self) -> Option<f64> {
        self.secs()
            .filter(|_| self.ok())
            .map(|s| self.bytes as f64 / 1e6 / s)
    }

    /// Median CPU seconds of the measured runs, each part on its own.
    fn cpu(&self) -> Option<Cpu> {
        let part = |f: fn(&Cpu) -> f64| {
            median(
                self.runs
                    .iter()
                    .filter_map(|o| o.measured.map(|m| f(&m.cpu)))
                    .collect(),
            )
        };
        Some(Cpu {
            source: part(|c| c.source)?,
            target: part(|c| c.target)?,
            client: part(|c| c.client)?,
        })
    }

    /// The reps this entry ran in, in order.
    fn reps(&self) -> Vec<usize> {
        let mut reps: Vec<usize> = self.runs.iter().map(|o| o.rep).collect();
        reps.dedup();
        reps
    }

    /// `f` of this entry's run and `other`'s in each rep where both were measured.
    fn per_rep(&self, other: &Entry, f: impl Fn(Measured, Measured) -> Option<f64>) -> Vec<f64> {
        self.reps()
            .into_iter()
            .filter_map(|r| f(self.measured_in(r)?, other.measured_in(r)?))
            .collect()
    }

    /// The run of `rep`, when it was measured.
    fn measured_in(&self, rep: usize) -> Option<Measured> {
        self.runs
            .iter()
            .find(|o| o.rep == rep)
            .and_then(|o| o.measured)
    }

    /// The largest peak RSS of any run, in MiB.
    fn rss_mib(&self) -> Option<f64> {
        self.runs
            .iter()
            .filter_map(|o| o.measured.and_then(|m| m.peak_rss_kb))
            .max()
            .map(|kb| kb as f64 / 1024.0)
    }
}

/// All the runs of one benchmark.
pub struct Results {
    rows: u64,
    /// The machine's cores (for what the CPU time allows).
    cores: usize,
    reps: usize,
    other_reps: usize,
    date: String,
    /// Lines about the machine and the run, printed above the table.
    context: Vec<String>,
    entries: Vec<Entry>,
}

impl Results {
    pub fn new(rows: u64, reps: usize, other_reps: usize) -> Results {
        let date = std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M UTC"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        Results {
            rows,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            reps,
            other_reps,
            date,
            context: Vec::new(),
            entries: Vec::new(),
        }
    }

    pub fn context(&mut self, line: String) {
        self.context.push(line);
    }

    /// What the figures are: size, repetitions, date, machine, units.
    pub fn header(&self) -> String {
        let mut out = format!(
            "{} rows per main table, {} rep(s) of the goal methods and {} of the others \
             (median seconds), {}\n",
            thousands(self.rows as f64),
            self.reps,
            self.other_reps,
            self.date
        );
        for line in &self.context {
            let _ = writeln!(out, "{line}");
        }
        out.push_str(
            "MB/s: 10^6 bytes of values (the sum of LENGTH() of every column) per second; \
             peak RSS: the largest of any client process (for a pipe, the larger side); \
             CPU s: seconds of CPU that the source server, the target server and the client \
             processes used in all, from the method's start to its end\n",
        );
        out
    }

    pub fn push(&mut self, method: Method, s: &SourceTable, outcome: Outcome) {
        match self
            .entries
            .iter_mut()
            .find(|e| e.method == method && e.table == s.table)
        {
            Some(e) => e.runs.push(outcome),
            None => self.entries.push(Entry {
                method,
                table: s.table,
                rows: s.rows,
                bytes: s.bytes,
                runs: vec![outcome],
            }),
        }
    }

    /// Entries in table order, then method order (as `Method::ALL` lists them).
    fn sorted(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.iter().collect();
        let rank = |e: &Entry| {
            (
                Table::ALL.iter().position(|t| *t == e.table),
                Method::ALL.iter().position(|m| *m == e.method),
            )
        };
        v.sort_by_key(|e| rank(e));
        v
    }

    /// The ferry run other methods on `table` are compared with: plain `ferry` when it
    /// ran correctly, else the fastest correct ferry variant.
    fn reference(&self, table: Table) -> Option<&Entry> {
        let ferries = || {
            self.entries
                .iter()
                .filter(move |e| e.table == table && e.method.is_ferry() && e.ok())
        };
        ferries().find(|e| e.method.name() == "ferry").or_else(|| {
            ferries().max_by(|a, b| {
                a.rows_per_s()
                    .unwrap_or(0.0)
                    .total_cmp(&b.rows_per_s().unwrap_or(0.0))
            })
        })
    }

    /// ferry's rows/s over the entry's rows/s.
    fn ratio(&self, e: &Entry) -> Option<f64> {
        let ferry = self.reference(e.table)?.rows_per_s()?;
        e.rows_per_s().map(|r| ferry / r)
    }

    fn cells(&self, e: &Entry) -> Vec<String> {
        let check = match e.status() {
            Status::Ok => "ok".to_string(),
            Status::Wrong(why) => format!("WRONG DATA: {why}"),
            Status::Failed(why) => format!("FAILED: {}", why.lines().next().unwrap_or("")),
            Status::Skipped(why) => format!("skipped: {why}"),
        };
        let check = match e.notes() {
            n if n.is_empty() => check,
            n => format!("{check} ({n})"),
        };
        vec![
            e.method.name().to_string(),
            e.table.name().to_string(),
            thousands(e.rows as f64),
            e.secs().map(|s| format!("{s:.2}")).unwrap_or_default(),
            e.rows_per_s().map(thousands).unwrap_or_default(),
            e.mb_per_s().map(|m| format!("{m:.1}")).unwrap_or_default(),
            e.rss_mib()
                .map(|m| format!("{m:.0} MiB"))
                .unwrap_or_else(|| {
                    if e.method == Method::InsertSelect && e.ok() {
                        "(no client)".into()
                    } else {
                        String::new()
                    }
                }),
            e.cpu()
                .map(|c| format!("{:.2}", c.total()))
                .unwrap_or_default(),
            self.ratio(e)
                .map(|r| format!("{r:.2}x"))
                .unwrap_or_default(),
            check,
        ]
    }

    const HEADERS: [&'static str; 10] = [
        "method", "table", "rows", "seconds", "rows/s", "MB/s", "peak RSS", "CPU s", "ferry x",
        "check",
    ];

    /// The results table for the terminal.
    pub fn render(&self) -> String {
        let rows: Vec<Vec<String>> = self.sorted().iter().map(|e| self.cells(e)).collect();
        let right = [
            false, false, true, true, true, true, true, true, true, false,
        ];
        let mut out = render(&Self::HEADERS, &rows, &right);
        out.push_str(
            "\nferry x: ferry's rows/s over the method's, same table (plain `ferry`, else the \
             fastest ferry variant run)\n",
        );
        out
    }

    /// The results table in Markdown, for the README.
    pub fn markdown(&self) -> String {
        let mut out = format!("| {} |\n", Self::HEADERS.join(" | "));
        out.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n");
        for e in self.sorted() {
            let cells = self.cells(e);
            let _ = writeln!(out, "| {} |", cells.join(" | ").replace('\n', " "));
        }
        out
    }

    /// The issue's goals, each with the measured figure and whether it is met. A ratio
    /// is taken within each rep, where the two methods ran back to back (on this VM the
    /// whole machine's speed drifts by a quarter over tens of seconds, so a run is
    /// compared with its neighbour, not with another minute's), and the goal is judged
    /// on the median of those; the ratio of the medians in the table is shown beside.
    pub fn goals(&self) -> String {
        let mut out = String::from(
            "goals (issue 4): the median over the reps of each rep's ratio (the two ran back \
             to back); each rep's ratio and the ratio of the table's medians follow\n",
        );
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        let find = |t: Table, name: &str| {
            self.entries
                .iter()
                .find(|e| e.table == t && e.method.name() == name && e.ok())
        };
        // `a`'s seconds over `b`'s, rep by rep.
        let paired = |a: &Entry, b: &Entry| a.per_rep(b, |x, y| Some(x.secs / y.secs));
        for table in [Table::Wide, Table::Sysbench] {
            let Some(ferry) = self.reference(table) else {
                continue;
            };
            for (peer, need) in [("insert-select", 1.0), ("mydumper", 1.3)] {
                let Some(p) = find(table, peer) else {
                    continue;
                };
                let each = paired(p, ferry);
                if let (Some(r), Some(m)) = (median(each.clone()), self.ratio(p)) {
                    let _ = writeln!(
                        out,
                        "  {:<7} {} vs {peer}: {}x (needs >= {need:.1}x) {}; reps {}; medians {m:.3}x",
                        table.name(),
                        ferry.method.name(),
                        against(r, need),
                        verdict(r >= need),
                        list(&each, &|x| format!("{x:.2}")),
                    );
                }
                if peer == "insert-select" {
                    if let Some(line) = self.cpu_ceiling(ferry, p) {
                        let _ = writeln!(out, "  {:<7} {line}", table.name());
                    }
                }
            }
            // Issue 4 and issue 16, item 6: what a transform costs against no transform,
            // in rows/s as the bars are worded (1 - the method's rows/s over plain
            // ferry's, rep by rep), with the extra time beside it.
            for (method, what, bar) in [
                ("ferry-transform", "trivial transform", 10.0),
                ("ferry-etl", "lower + sha256 transform", 30.0),
                ("ferry-lookup", "a lookup per row (100,000 keys)", 30.0),
            ] {
                let (Some(p), Some(t)) = (find(table, "ferry"), find(table, method)) else {
                    continue;
                };
                let (tr, pr) = (t.rows as f64, p.rows as f64);
                let each: Vec<f64> = t
                    .per_rep(p, |x, y| {
                        Some((1.0 - (tr / x.secs) / (pr / y.secs)) * 100.0)
                    })
                    .into_iter()
                    .collect();
                let time: Vec<f64> = paired(t, p).iter().map(|r| (r - 1.0) * 100.0).collect();
                if let (Some(cost), Some(extra), Some(ps), Some(ts)) =
                    (median(each.clone()), median(time), p.secs(), t.secs())
                {
                    let _ = writeln!(
                        out,
                        "  {:<7} {what} costs {cost:.1}% of rows/s (needs <= {bar}%) {}; reps {}; \
                         medians {:.0} against {:.0} rows/s, {:.1}% of rows/s; time {extra:+.1}%",
                        table.name(),
                        verdict(cost <= bar),
                        list(&each, &|x| format!("{x:.0}%")),
                        tr / ts,
                        pr / ps,
                        (1.0 - (tr / ts) / (pr / ps)) * 100.0,
                    );
                }
            }
        }
        // Issue 13, item 5: upsert into a target with a second unique key checks each
        // page's rows against it (a SELECT by key per page); the same table with a plain
        // index instead needs no check.
        if let (Some(u), Some(p)) = (
            find(Table::Unique, "ferry"),
            find(Table::UniquePlain, "ferry"),
        ) {
            if let (Some(us), Some(ps)) = (u.secs(), p.secs()) {
                let _ = writeln!(
                    out,
                    "  uniq    ferry upsert with the second-unique-key check {:.0} rows/s, \
                     without (uniq_plain: a plain index) {:.0} rows/s: {:+.1}% time (medians)",
                    u.rows as f64 / us,
                    p.rows as f64 / ps,
                    (us / ps - 1.0) * 100.0
                );
            }
        }
        if let Some(rss) = find(Table::Blobs, "ferry").and_then(|e| e.rss_mib()) {
            let _ = writeln!(
                out,
                "  blobs   ferry peak RSS with 4 MiB BLOBs: {rss:.0} MiB (needs < {RSS_LIMIT_MIB:.0} MiB) {}",
                verdict(rss < RSS_LIMIT_MIB)
            );
        }
        out
    }

    /// What the CPU time allows: `INSERT ... SELECT` runs on one thread, while ferry's
    /// copy keeps three processes busy (source server, target server, ferry), and a
    /// copy cannot take less wall-clock time than its CPU seconds over the machine's
    /// cores. So ferry's speed over `INSERT ... SELECT`'s is at most, rep by rep,
    /// insert-select's seconds times the cores over ferry's CPU seconds.
    fn cpu_ceiling(&self, ferry: &Entry, is: &Entry) -> Option<String> {
        let (fc, ic) = (ferry.cpu()?, is.cpu()?);
        let each = ferry.per_rep(is, |f, i| {
            (f.cpu.total() > 0.0).then(|| i.secs * self.cores as f64 / f.cpu.total())
        });
        let ceiling = median(each.clone())?;
        Some(format!(
            "CPU: {} {:.2} s (source server {:.2}, target server {:.2}, ferry {:.2}), \
             insert-select {:.2} s: {:.2}x the CPU, so on {} cores at most {ceiling:.3}x \
             insert-select's speed; reps {}",
            ferry.method.name(),
            fc.total(),
            fc.source,
            fc.target,
            fc.client,
            ic.total(),
            fc.total() / ic.total().max(f64::MIN_POSITIVE),
            self.cores,
            list(&each, &|x| format!("{x:.2}")),
        ))
    }

    /// Entries whose run failed or left a target unlike the source: every such ferry
    /// entry, or with `all`, every entry.
    pub fn problems(&self, all: bool) -> Vec<String> {
        self.sorted()
            .into_iter()
            .filter(|e| all || e.method.is_ferry())
            .filter_map(|e| match e.status() {
                Status::Wrong(w) | Status::Failed(w) => Some(format!(
                    "{} on {}: {}",
                    e.method.name(),
                    e.table.name(),
                    w.lines().next().unwrap_or("")
                )),
                Status::Ok | Status::Skipped(_) => None,
            })
            .collect()
    }

    /// `results.csv`, `results.md` and `rows_per_s.svg` in `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let csv = dir.join("results.csv");
        std::fs::write(&csv, self.csv()).with_context(|| format!("writing {}", csv.display()))?;
        let md = dir.join("results.md");
        // Markdown joins adjacent lines: one paragraph per header line.
        let header = self.header().replace('\n', "\n\n");
        let text = format!("{header}{}\n```\n{}```\n", self.markdown(), self.goals());
        std::fs::write(&md, text).with_context(|| format!("writing {}", md.display()))?;
        let svg = dir.join("rows_per_s.svg");
        std::fs::write(&svg, self.svg()).with_context(|| format!("writing {}", svg.display()))?;
        Ok(())
    }

    fn csv(&self) -> String {
        let mut out = String::from(
            "date,method,table,rows,bytes,reps,seconds_median,seconds_each,rows_per_s,\
             mb_per_s,peak_rss_mib,cpu_source_s,cpu_target_s,cpu_client_s,ferry_ratio,\
             status,note\n",
        );
        let num =
            |v: Option<f64>, digits: usize| v.map(|x| format!("{x:.digits$}")).unwrap_or_default();
        for e in self.sorted() {
            let each: Vec<String> = e
                .runs
                .iter()
                .filter_map(|o| o.measured.map(|m| format!("{:.3}", m.secs)))
                .collect();
            let (status, why) = match e.status() {
                Status::Ok => ("ok", String::new()),
                Status::Wrong(w) => ("wrong", w),
                Status::Failed(w) => ("failed", w),
                Status::Skipped(w) => ("skipped", w),
            };
            let note = [why, e.notes()]
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            let cpu = e.cpu();
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                self.date,
                e.method.name(),
                e.table.name(),
                e.rows,
                e.bytes,
                e.runs.len(),
                num(e.secs(), 3),
                each.join(";"),
                num(e.rows_per_s(), 0),
                num(e.mb_per_s(), 2),
                num(e.rss_mib(), 1),
                num(cpu.map(|c| c.source), 3),
                num(cpu.map(|c| c.target), 3),
                num(cpu.map(|c| c.client), 3),
                num(self.ratio(e), 3),
                status,
                csv_field(&note),
            );
        }
        out
    }

    /// Horizontal bars of rows/s, one group per table, each group on its own scale.
    fn svg(&self) -> String {
        const WIDTH: f64 = 960.0;
        const LABEL: f64 = 150.0;
        const BAR_MAX: f64 = 560.0;
        const ROW: f64 = 24.0;
        const HEAD: f64 = 34.0;
        let entries = self.sorted();
        let mut body = String::new();
        let mut y = 50.0;
        for table in Table::ALL {
            let group: Vec<&&Entry> = entries.iter().filter(|e| e.table == table).collect();
            if group.is_empty() {
                continue;
            }
            let max = group
                .iter()
                .filter_map(|e| e.rows_per_s())
                .fold(0.0, f64::max)
                .max(1.0);
            let _ = writeln!(
                body,
                r#"<text x="10" y="{:.0}" class="head">{} ({} rows, {} bytes/row)</text>"#,
                y + 16.0,
                table.name(),
                thousands(group[0].rows as f64),
                thousands(group[0].bytes as f64 / group[0].rows.max(1) as f64)
            );
            y += HEAD;
            for e in group {
                let _ = writeln!(
                    body,
                    r#"<text x="{:.0}" y="{:.0}" text-anchor="end">{}</text>"#,
                    LABEL - 8.0,
                    y + 15.0,
                    e.method.name()
                );
                match e.rows_per_s() {
                    Some(r) => {
                        let w = (r / max * BAR_MAX).max(1.0);
                        let class = if e.method.is_ferry() { "ferry" } else { "peer" };
                        let rss = e
                            .rss_mib()
                            .map(|m| format!(", {m:.0} MiB"))
                            .unwrap_or_default();
                        let _ = writeln!(
                            body,
                            r#"<rect x="{LABEL:.0}" y="{:.0}" width="{w:.1}" height="{:.0}" class="{class}"/>"#,
                            y + 2.0,
                            ROW - 6.0
                        );
                        let _ = writeln!(
                            body,
                            r#"<text x="{:.1}" y="{:.0}">{} rows/s, {:.2}s{rss}</text>"#,
                            LABEL + w + 6.0,
                            y + 15.0,
                            thousands(r),
                            e.secs().unwrap_or(0.0)
                        );
                    }
                    None => {
                        let why = match e.status() {
                            Status::Wrong(_) => "wrong data: not counted".to_string(),
                            Status::Failed(_) => "failed".to_string(),
                            Status::Skipped(w) => format!("skipped: {w}"),
                            Status::Ok => String::new(),
                        };
                        let _ = writeln!(
                            body,
                            r#"<text x="{LABEL:.0}" y="{:.0}" class="note">{}</text>"#,
                            y + 15.0,
                            xml(&why)
                        );
                    }
                }
                y += ROW;
            }
            y += 10.0;
        }
        let height = y + 30.0;
        format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0}" height="{height:.0}" viewBox="0 0 {WIDTH:.0} {height:.0}" font-family="sans-serif" font-size="13">
<style>
.head {{ font-weight: bold; font-size: 15px; }}
.ferry {{ fill: #d9480f; }}
.peer {{ fill: #4a6fa5; }}
.note {{ fill: #888; font-style: italic; }}
</style>
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="24" class="head">rows/s by method: {} rows per main table, {} rep(s) of the goal methods, medians, {}</text>
{body}<text x="10" y="{:.0}" class="note">each table's bars on its own scale; a method whose target differed from the source has no bar</text>
</svg>
"##,
            thousands(self.rows as f64),
            self.reps,
            xml(&self.date),
            height - 12.0
        )
    }
}

/// Each of `v` as `f` shows it, joined by spaces.
fn list(v: &[f64], f: &dyn Fn(f64) -> String) -> String {
    v.iter().map(|x| f(*x)).collect::<Vec<_>>().join(" ")
}

/// The median of `v` (the mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// 1234567.8 -> "1,234,568".
pub fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
