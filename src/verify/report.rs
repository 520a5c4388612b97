//! What `ferry verify` found for one copy, and how it reads: one line per copy
//! (`orders: 60,036 rows in 7 chunks: equal`), the differing rows listed under it by
//! kind with their keys, and a summary line for the whole job.

use std::fmt;

/// Rows of one kind of difference: how many, and the first few, as labels.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub count: u64,
    pub shown: Vec<String>,
}

impl Rows {
    /// Counts a row, keeping its label while fewer than `limit` are kept.
    pub fn add(&mut self, limit: usize, label: impl FnOnce() -> String) {
        self.count += 1;
        if self.shown.len() < limit {
            self.shown.push(label());
        }
    }
}

/// How the rows were matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matching {
    /// By the source key, in key-range chunks.
    Chunks {
        total: usize,
        /// 1-based numbers of the chunks checked when `--sample` left some out.
        sampled: Option<Vec<usize>>,
    },
    /// By content, the whole table at once (no key to match rows by).
    Whole,
}

#[derive(Debug, Clone)]
pub struct CopyReport {
    pub name: String,
    pub matching: Matching,
    /// Source rows compared (after `where`).
    pub source_rows: u64,
    /// Target rows compared.
    pub target_rows: u64,
    /// Source rows the transform skipped (not expected in the target).
    pub skipped: u64,
    pub differing_chunks: usize,
    pub missing: Rows,
    pub extra: Rows,
    pub changed: Rows,
    /// Things the reader should know: what was not compared, how rows were matched.
    pub notes: Vec<String>,
    pub seconds: f64,
}

impl CopyReport {
    pub fn new(name: &str, matching: Matching) -> CopyReport {
        CopyReport {
            name: name.to_string(),
            matching,
            source_rows: 0,
            target_rows: 0,
            skipped: 0,
            differing_chunks: 0,
            missing: Rows::default(),
            extra: Rows::default(),
            changed: Rows::default(),
            notes: Vec::new(),
            seconds: 0.0,
        }
    }

    pub fn is_equal(&self) -> bool {
        self.differing() == 0
    }

    /// Rows that differ, of every kind.
    pub fn differing(&self) -> u64 {
        self.missing.count + self.extra.count + self.changed.count
    }

    fn headline(&self) -> String {
        let mut s = format!(
            "{}: {} row{}",
            self.name,
            thousands(self.source_rows),
            plural(self.source_rows)
        );
        if self.skipped > 0 {
            s.push_str(&format!(
                " ({} skipped by the transform)",
                thousands(self.skipped)
            ));
        }
        match &self.matching {
            Matching::Chunks {
                total,
                sampled: None,
            } => s.push_str(&format!(" in {total} chunk{}", plural(*total as u64))),
            Matching::Chunks {
                total,
                sampled: Some(which),
            } => s.push_str(&format!(
                " in {} of {total} chunks (sampled: {})",
                which.len(),
                which
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Matching::Whole => s.push_str(", compared as a whole by content"),
        }
        if self.is_equal() {
            s.push_str(": equal");
            return s;
        }
        let n = self.differing();
        let mut kinds = Vec::new();
        for (rows, what) in [
            (&self.missing, "missing"),
            (&self.extra, "extra"),
            (&self.changed, "changed"),
        ] {
            if rows.count > 0 {
                kinds.push(format!("{} {what}", thousands(rows.count)));
            }
        }
        s.push_str(&format!(
            ": {} row{} differ{} ({})",
            thousands(n),
            plural(n),
            if n == 1 { "s" } else { "" },
            kinds.join(", ")
        ));
        if let Matching::Chunks { .. } = self.matching {
            s.push_str(&format!(
                " in {} chunk{}",
                self.differing_chunks,
                plural(self.differing_chunks as u64)
            ));
        }
        s
    }
}

impl fmt::Display for CopyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline())?;
        for (rows, what) in [
            (&self.missing, "missing in target"),
            (&self.extra, "extra in target"),
            (&self.changed, "changed"),
        ] {
            for label in &rows.shown {
                writeln!(f, "  {what}: {label}")?;
            }
            let more = rows.count - rows.shown.len() as u64;
            if more > 0 {
                writeln!(f, "  ... and {} more {what}", thousands(more))?;
            }
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        Ok(())
    }
}

/// The last line of a verify: how many copies, how many differ.
pub fn summary(reports: &[CopyReport]) -> String {
    let n = reports.len();
    let differ: Vec<&CopyReport> = reports.iter().filter(|r| !r.is_equal()).collect();
    let copies = format!("{n} cop{}", if n == 1 { "y" } else { "ies" });
    if differ.is_empty() {
        return format!("verify: {copies}, all equal");
    }
    let rows: u64 = differ.iter().map(|r| r.differing()).sum();
    format!(
        "verify: {copies}, {} equal, {} differ{} ({} row{}: {})",
        n - differ.len(),
        differ.len(),
        if differ.len() == 1 { "s" } else { "" },
        thousands(rows),
        plural(rows),
        differ
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// 60036 -> "60,036"
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_copies_read_as_one_line() {
        let mut r = CopyReport::new(
            "orders",
            Matching::Chunks {
                total: 7,
                sampled: None,
            },
        );
        r.source_rows = 60_036;
        r.target_rows = 60_036;
        assert_eq!(r.to_string(), "orders: 60,036 rows in 7 chunks: equal\n");
        assert_eq!(summary(&[r]), "verify: 1 copy, all equal");
    }

    #[test]
    fn differences_are_listed_by_kind() {
        let mut r = CopyReport::new(
            "t",
            Matching::Chunks {
                total: 10,
                sampled: Some(vec![1, 5, 10]),
            },
        );
        r.source_rows = 30_000;
        r.differing_chunks = 2;
        r.missing.add(1, || "id=5".into());
        r.missing.add(1, || "id=6".into());
        r.changed.add(20, || "id=9: v 'a' -> 'b'".into());
        assert_eq!(
            r.to_string(),
            "t: 30,000 rows in 3 of 10 chunks (sampled: 1, 5, 10): 3 rows differ \
             (2 missing, 1 changed) in 2 chunks\n\
             \x20 missing in target: id=5\n\
             \x20 ... and 1 more missing in target\n\
             \x20 changed: id=9: v 'a' -> 'b'\n"
        );
        assert_eq!(
            summary(&[r]),
            "verify: 1 copy, 0 equal, 1 differs (3 rows: t)"
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
