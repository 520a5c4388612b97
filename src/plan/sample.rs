//! A subset for a test environment (`sample{}`): the seed rows (`where`, `percent`,
//! `limit` on one table), and, following foreign keys to a fixed point, exactly the
//! parent rows they reference (self-references and cycles included) and, for the
//! tables named in `children`, the rows that reference a chosen row; the result is a
//! key set per table, referentially complete. The search runs through a `KeyFinder`
//! (the source, in the job layer) and holds the key sets in memory, up to a cap per
//! table. Also the sample's plan as `--dry-run` shows it. No I/O here.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use crate::db::relations::ForeignKey;
use crate::db::Value;
use crate::error::Result;

/// One row's key values, in key column order.
pub type Key = Vec<Value>;

/// Keys a sample holds per table unless `max_keys` says otherwise: each table's keys
/// are held in memory and sent as the `where` of its copy.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// What a job asked one sample to select.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleSpec {
    pub from: String,
    pub filter: Option<String>,
    pub limit: Option<u64>,
    pub percent: Option<f64>,
    /// Tables whose rows referencing a chosen row are chosen too.
    pub children: Vec<String>,
    pub max_keys: usize,
    /// `file:line` of the `sample` call.
    pub location: String,
}

impl SampleSpec {
    /// What the sample selects, as text: a resumed run's sample must match it.
    pub fn fingerprint(&self) -> String {
        format!(
            "from {}; where {}; limit {:?}; percent {:?}; children {}",
            self.from,
            self.filter.as_deref().unwrap_or("-"),
            self.limit,
            self.percent,
            self.children.join(", ")
        )
    }

    /// Whether the sample follows `k` down, from parent rows to the rows referencing
    /// them: into a `children` table, from the seed table or another `children` table
    /// (never from a table reached as a parent: the products of the chosen order items
    /// do not bring every other order item of those products).
    pub fn follows_down(&self, k: &ForeignKey) -> bool {
        self.children.contains(&k.table)
            && (k.parent == self.from || self.children.contains(&k.parent))
    }
}

/// One table's chosen keys, each once, in the order found.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Key>,
    seen: HashSet<String>,
}

impl KeySet {
    /// Adds `key`; whether it was new.
    pub fn insert(&mut self, key: Key) -> bool {
        if self.seen.insert(format!("{key:?}")) {
            self.keys.push(key);
            true
        } else {
            false
        }
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Where a sample's key sets come from.
pub trait KeyFinder {
    /// The seed table's chosen keys.
    fn seed(&mut self) -> Result<Vec<Key>>;
    /// The keys of `fk.parent`'s rows that `fk.table`'s rows with `keys` reference.
    fn parents(&mut self, fk: &ForeignKey, keys: &[Key]) -> Result<Vec<Key>>;
    /// The keys of `fk.table`'s rows that reference `fk.parent`'s rows with `keys`.
    fn children(&mut self, fk: &ForeignKey, keys: &[Key]) -> Result<Vec<Key>>;
}

/// The tables a sample may touch: the seed table, every table it reaches through
/// foreign keys upward, and the `children` tables that reference the seed table or
/// another children table (with what they reach upward), to a fixed point. `keys` are the keys within the
/// database (the caller leaves out those to other databases).
pub fn sample_tables(spec: &SampleSpec, keys: &[ForeignKey]) -> BTreeSet<String> {
    let mut tables = BTreeSet::from([spec.from.clone()]);
    loop {
        let before = tables.len();
        for k in keys {
            if tables.contains(&k.table) {
                tables.insert(k.parent.clone());
            }
            if tables.contains(&k.parent) && spec.follows_down(k) {
                tables.insert(k.table.clone());
            }
        }
        if tables.len() == before {
            return tables;
        }
    }
}

/// The sample's key sets, per table (every table of `sample_tables`, some maybe
/// empty); `Ok(Err(problem))` when a table's keys pass `spec.max_keys`.
pub fn closure(
    spec: &SampleSpec,
    keys: &[ForeignKey],
    finder: &mut dyn KeyFinder,
) -> Result<std::result::Result<BTreeMap<String, KeySet>, String>> {
    let tables = sample_tables(spec, keys);
    let mut sets: BTreeMap<String, KeySet> = tables
        .iter()
        .map(|t| (t.clone(), KeySet::default()))
        .collect();
    // Keys found and not yet followed, per table.
    let mut fresh: BTreeMap<String, Vec<Key>> = BTreeMap::new();
    let seed = finder.seed()?;
    add(&mut sets, &mut fresh, &spec.from, seed);
    while let Some(table) = fresh.keys().next().cloned() {
        let delta = fresh.remove(&table).unwrap_or_default();
        if let Some(problem) = over_cap(spec, &sets) {
            return Ok(Err(problem));
        }
        for k in keys.iter().filter(|k| tables.contains(&k.parent)) {
            if k.table == table {
                let found = finder.parents(k, &delta)?;
                add(&mut sets, &mut fresh, &k.parent, found);
            }
            if k.parent == table && spec.follows_down(k) {
                let found = finder.children(k, &delta)?;
                add(&mut sets, &mut fresh, &k.table, found);
            }
        }
    }
    Ok(match over_cap(spec, &sets) {
        Some(problem) => Err(problem),
        None => Ok(sets),
    })
}

fn add(
    sets: &mut BTreeMap<String, KeySet>,
    fresh: &mut BTreeMap<String, Vec<Key>>,
    table: &str,
    found: Vec<Key>,
) {
    let set = sets.entry(table.to_string()).or_default();
    let new: Vec<Key> = found
        .into_iter()
        .filter(|k| set.insert(k.clone()))
        .collect();
    if !new.is_empty() {
        fresh.entry(table.to_string()).or_default().extend(new);
    }
}

fn over_cap(spec: &SampleSpec, sets: &BTreeMap<String, KeySet>) -> Option<String> {
    let (table, set) = sets.iter().find(|(_, s)| s.len() > spec.max_keys)?;
    Some(format!(
        "the sample holds more than {} keys of `{table}` ({} so far): a sample's keys are \
         held in memory and sent as each table's `where`; choose fewer rows (`limit`, \
         `percent`, a narrower `where`, fewer `children`) or raise `max_keys`",
        spec.max_keys,
        set.len()
    ))
}

/// One table of a sample, in load order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleTable {
    pub name: String,
    pub level: usize,
    /// Rows chosen.
    pub rows: usize,
    /// How it got in: `seed`, `parent`, `children`.
    pub role: &'static str,
    /// `created`, `replaced` or empty.
    pub action: &'static str,
}

/// A sample as the plan shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SamplePlan {
    pub location: String,
    pub from: String,
    pub tables: Vec<SampleTable>,
    /// Tables in a cycle of NOT NULL foreign keys, loaded together.
    pub cycles: Vec<Vec<String>>,
    /// Whether the key sets come from an earlier run's state (`--resume`).
    pub frozen: bool,
    /// Objects created after the data (`objects = true`), in order: `KIND name`.
    pub objects: Vec<String>,
    /// Views, triggers, routines and events of the source not copied.
    pub not_copied: Vec<String>,
}

impl fmt::Display for SamplePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: usize = self.tables.iter().map(|t| t.rows).sum();
        writeln!(
            f,
            "sample of {} ({}): {rows} rows in {} tables, parents first{}:",
            self.from,
            self.location,
            self.tables.len(),
            if self.frozen {
                ", keys as the first run chose them"
            } else {
                ""
            }
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
                "  {:>3}. {:width$}  level {}, {} rows ({}){action}",
                i + 1,
                t.name,
                t.level,
                t.rows,
                t.role
            )?;
        }
        for c in &self.cycles {
            writeln!(
                f,
                "  cycle of NOT NULL foreign keys, loaded together: {}",
                c.join(", ")
            )?;
        }
        if !self.objects.is_empty() {
            writeln!(
                f,
                "  created after the data (a view reading a table outside the sample is \
                 left out): {}",
                self.objects.join(", ")
            )?;
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

    fn fk(table: &str, column: &str, parent: &str) -> ForeignKey {
        ForeignKey {
            name: format!("{table}_{column}"),
            table: table.into(),
            columns: vec![column.into()],
            parent: parent.into(),
            parent_database: "d".into(),
            parent_columns: vec!["id".into()],
            nullable: true,
        }
    }

    /// Rows as (table, id, column, value): the finder answers from them.
    struct Rows(Vec<(&'static str, i64, &'static str, i64)>);

    impl KeyFinder for Rows {
        fn seed(&mut self) -> Result<Vec<Key>> {
            Ok(vec![vec![Value::Int(1)]])
        }
        fn parents(&mut self, fk: &ForeignKey, keys: &[Key]) -> Result<Vec<Key>> {
            Ok(self
                .0
                .iter()
                .filter(|(t, id, c, _)| {
                    *t == fk.table && *c == fk.columns[0] && keys.contains(&vec![Value::Int(*id)])
                })
                .map(|r| vec![Value::Int(r.3)])
                .collect())
        }
        fn children(&mut self, fk: &ForeignKey, keys: &[Key]) -> Result<Vec<Key>> {
            Ok(self
                .0
                .iter()
                .filter(|(t, _, c, v)| {
                    *t == fk.table && *c == fk.columns[0] && keys.contains(&vec![Value::Int(*v)])
                })
                .map(|r| vec![Value::Int(r.1)])
                .collect())
        }
    }

    fn ids(set: &KeySet) -> Vec<i64> {
        let mut v: Vec<i64> = set
            .keys()
            .iter()
            .map(|k| match k[0] {
                Value::Int(i) => i,
                _ => 0,
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn parents_self_references_and_children_reach_a_fixed_point() {
        let keys = vec![
            fk("orders", "customer_id", "customers"),
            fk("customers", "referred_by", "customers"),
            fk("items", "order_id", "orders"),
            fk("items", "product_id", "products"),
            fk("notes", "order_id", "orders"),
        ];
        let rows = Rows(vec![
            ("orders", 1, "customer_id", 10),
            ("orders", 2, "customer_id", 11),
            ("orders", 3, "customer_id", 12),
            ("customers", 10, "referred_by", 12),
            ("customers", 12, "referred_by", 13),
            ("items", 100, "order_id", 1),
            ("items", 100, "product_id", 7),
            ("items", 101, "order_id", 2),
            ("items", 102, "order_id", 2),
            ("items", 102, "product_id", 7),
            ("notes", 5, "order_id", 1),
        ]);
        let spec = SampleSpec {
            from: "orders".into(),
            filter: None,
            limit: None,
            percent: None,
            children: vec!["items".into()],
            max_keys: 10,
            location: "job.lua:1".into(),
        };
        let mut finder = rows;
        let sets = closure(&spec, &keys, &mut finder).unwrap().unwrap();
        assert_eq!(
            sets.keys().collect::<Vec<_>>(),
            ["customers", "items", "orders", "products"]
        );
        assert_eq!(ids(&sets["orders"]), [1]);
        assert_eq!(ids(&sets["customers"]), [10, 12, 13]);
        assert_eq!(ids(&sets["items"]), [100]);
        assert_eq!(ids(&sets["products"]), [7]);
        let small = SampleSpec {
            max_keys: 2,
            ..spec
        };
        let p = closure(&small, &keys, &mut finder).unwrap().unwrap_err();
        assert!(
            p.starts_with("the sample holds more than 2 keys of `customers`"),
            "{p}"
        );
    }
}
