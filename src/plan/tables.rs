//! Many tables in one copy (`copy{tables = "*", exclude = {...}, create = true}`): which
//! source tables a selection of names and globs resolves to (ferry's own `_ferry*`
//! bookkeeping tables never among them), and the table set's plan as `--dry-run` shows
//! it: each table in load order with its level and row estimate, what is created, the
//! foreign keys added after the data, and the objects not copied. Plain data, no I/O.

use std::fmt;

use crate::db::schema::did_you_mean;

/// Whether a copy of many tables creates the target tables (`create = ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Create {
    /// The target tables must exist (a missing one is a plan problem).
    #[default]
    No,
    /// A missing target table is created from the source's definition.
    Missing,
    /// Every target table is dropped and created again (unless `--resume` continues it).
    Replace,
}

/// The tables a copy names: names or globs (`*`, `?`), and those left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSelection {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub create: Create,
    /// `objects = true`: views, triggers and routines made on the target too.
    pub objects: bool,
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters and
/// `?` for one (case-sensitive, as table names are on the usual Linux servers).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Whether a table is ferry's own bookkeeping (state, locks), never copied as data.
pub fn is_ferry_table(name: &str) -> bool {
    name.starts_with("_ferry")
}

impl TableSelection {
    /// The source tables (`available`, sorted) the selection names; problems: a plain
    /// name the source lacks (with a "did you mean"), a glob of `tables` matching nothing,
    /// or nothing left at all.
    pub fn resolve(&self, available: &[String]) -> Result<Vec<String>, Vec<String>> {
        let mut problems = Vec::new();
        let candidates: Vec<&String> = available.iter().filter(|t| !is_ferry_table(t)).collect();
        // A glob in `exclude` may match nothing (the job may run on databases that
        // differ); a plain name that matches nothing is likely a typo.
        let mut check = |pattern: &str, what: &str| {
            if is_glob(pattern) {
                if what == "tables" && !candidates.iter().any(|t| glob_match(pattern, t)) {
                    problems.push(format!("{what} `{pattern}` matches no source table"));
                }
            } else if !available.iter().any(|t| t == pattern) {
                let hint = did_you_mean(pattern, available.iter().map(String::as_str));
                problems.push(format!(
                    "{what} names `{pattern}`, not a source table{hint}"
                ));
            }
        };
        for p in &self.include {
            check(p, "tables");
        }
        for p in &self.exclude {
            check(p, "exclude");
        }
        for p in self.include.iter().filter(|p| !is_glob(p)) {
            if let Some(e) = self.exclude.iter().find(|e| glob_match(e, p)) {
                problems.push(format!(
                    "`{p}` is named in tables and left out by exclude `{e}`"
                ));
            }
        }
        let chosen: Vec<String> = available
            .iter()
            .filter(|t| {
                let named = |p: &String| glob_match(p, t);
                self.include
                    .iter()
                    .any(|p| named(p) && (!is_glob(p) || !is_ferry_table(t)))
                    && !self.exclude.iter().any(named)
            })
            .cloned()
            .collect();
        if self.include.is_empty() {
            problems.push("`tables` names no table (use \"*\" for every table)".into());
        } else if chosen.is_empty() && problems.is_empty() {
            problems.push("no source table is left once `exclude` is applied".into());
        }
        if problems.is_empty() {
            Ok(chosen)
        } else {
            Err(problems)
        }
    }
}

/// One table of a table set, in load order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetTable {
    pub name: String,
    /// Its level in the load order (0: references no other copied table).
    pub level: usize,
    pub estimated_rows: u64,
    /// `created`, `replaced` or empty (the target table is written as it is).
    pub action: &'static str,
}

/// A copy of many tables as the plan shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableSetPlan {
    /// `file:line` of the `copy` call.
    pub location: String,
    pub tables: Vec<SetTable>,
    /// Foreign keys added once every table holds its rows: `table.key`.
    pub foreign_keys: Vec<String>,
    /// Tables in a cycle of NOT NULL foreign keys, loaded in one level.
    pub cycles: Vec<Vec<String>>,
    /// Views, triggers, routines and events of the source not copied: `KIND name`.
    pub not_copied: Vec<String>,
    /// Objects created once every table holds its rows (`objects = true`), in order.
    pub objects: Vec<String>,
}

impl fmt::Display for TableSetPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let levels = self.tables.iter().map(|t| t.level + 1).max().unwrap_or(0);
        writeln!(
            f,
            "copy of {} table{} ({}), in {levels} level{}, parents first:",
            self.tables.len(),
            if self.tables.len() == 1 { "" } else { "s" },
            self.location,
            if levels == 1 { "" } else { "s" },
        )?;
        let width = self
            .tables
            .iter()
            .map(|t| t.name.chars().count())
            .max()
            .unwrap_or(0);
        for (i, t) in self.tables.iter().enumerate() {
            let action = match t.action {
                "" => String::new(),
                a => format!(", {a} from the source's definition"),
            };
            writeln!(
                f,
                "  {:>3}. {:width$}  level {}, ~{} rows{action}",
                i + 1,
                t.name,
                t.level,
                t.estimated_rows
            )?;
        }
        for c in &self.cycles {
            writeln!(
                f,
                "  cycle of NOT NULL foreign keys, loaded together: {}",
                c.join(", ")
            )?;
        }
        if !self.foreign_keys.is_empty() {
            writeln!(
                f,
                "  foreign keys added after the data: {}",
                self.foreign_keys.join(", ")
            )?;
        }
        if !self.objects.is_empty() {
            writeln!(f, "  created after the data: {}", self.objects.join(", "))?;
        }
        for o in &self.not_copied {
            writeln!(f, "  not copied: {o}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn globs_match_runs_and_single_characters() {
        assert!(glob_match("*", "orders"));
        assert!(glob_match("order_*", "order_items"));
        assert!(glob_match("order_*", "order_"));
        assert!(!glob_match("order_*", "orders"));
        assert!(glob_match("*_log", "audit_log"));
        assert!(glob_match("a?c", "abc") && !glob_match("a?c", "abbc"));
        assert!(glob_match("*o*s", "cust omers"));
        assert!(!glob_match("users", "Users"));
    }

    #[test]
    fn a_selection_resolves_to_source_tables_without_ferrys_own() {
        let available = names(&[
            "_ferry_state",
            "audit_log",
            "order_items",
            "orders",
            "users",
        ]);
        let all = TableSelection {
            include: names(&["*"]),
            exclude: names(&["*_log"]),
            ..Default::default()
        };
        assert_eq!(
            all.resolve(&available).unwrap(),
            names(&["order_items", "orders", "users"])
        );
        let some = TableSelection {
            include: names(&["users", "order_*"]),
            ..Default::default()
        };
        assert_eq!(
            some.resolve(&available).unwrap(),
            names(&["order_items", "users"])
        );
    }

    #[test]
    fn unknown_names_and_empty_patterns_are_problems() {
        let available = names(&["orders", "users"]);
        let bad = TableSelection {
            include: names(&["user", "x_*"]),
            exclude: names(&["nothing", "*_old"]),
            ..Default::default()
        };
        let p = bad.resolve(&available).unwrap_err();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(
            p[0].starts_with("tables names `user`, not a source table"),
            "{p:?}"
        );
        assert!(p[0].contains("did you mean `users`"), "{p:?}");
        assert_eq!(p[1], "tables `x_*` matches no source table");
        let both = TableSelection {
            include: names(&["*", "users"]),
            exclude: names(&["user?"]),
            ..Default::default()
        };
        assert_eq!(
            both.resolve(&available).unwrap_err(),
            vec!["`users` is named in tables and left out by exclude `user?`"]
        );
        assert!(p[2].starts_with("exclude names `nothing`"), "{p:?}");
        let none = TableSelection {
            include: names(&["*"]),
            exclude: names(&["*s"]),
            ..Default::default()
        };
        assert_eq!(
            none.resolve(&available).unwrap_err(),
            vec!["no source table is left once `exclude` is applied"]
        );
        assert_eq!(
            TableSelection::default().resolve(&available).unwrap_err(),
            vec!["`tables` names no table (use \"*\" for every table)"]
        );
    }
}
