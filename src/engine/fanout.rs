//! Fan-out: rows a transform `emit`s into other target tables, written in the same
//! transaction as the page of the source rows that made them (with its checkpoint),
//! so a resumed copy writes each exactly once. Each table a copy emits to is named in
//! the copy with its own mode (`EmitSpec`); its rows are mapped by field name onto its
//! columns, grouped by the columns they give (one statement shape each), and counted
//! per table (`EmitCounts`).

use std::collections::{BTreeMap, HashMap};

use crate::db::schema::TableInfo;
use crate::db::value::Kind;
use crate::db::write::{Cell, Column, Counts, Method, Mode, RowCheck, Target, Writer};
use crate::db::{Db, Value};
use crate::error::{Culprit, Error, Result};

use super::fit::Fit;
use super::transform::Emitted;
use crate::plan::Accept;

/// A table a copy emits rows into, and how they meet the rows already there.
#[derive(Debug, Clone, PartialEq)]
pub struct EmitSpec {
    pub table: String,
    pub mode: Mode,
}

/// What a copy's emitted rows did in one table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EmitCounts {
    pub written: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub ignored: u64,
}

impl EmitCounts {
    pub fn add(&mut self, c: &Counts) {
        self.written += c.inserted + c.updated;
        self.inserted += c.inserted;
        self.updated += c.updated;
        self.unchanged += c.unchanged;
        self.ignored += c.ignored + c.conflicts;
    }

    pub fn add_all(&mut self, o: &EmitCounts) {
        self.written += o.written;
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.ignored += o.ignored;
    }
}

/// The writers of one part's emitted rows: per table and set of columns.
pub(super) struct Fanout {
    specs: Vec<EmitSpec>,
    /// The copy's `accept`: the value hazards its emitted rows may carry too.
    accept: Accept,
    tables: HashMap<String, TableInfo>,
    writers: HashMap<(String, Vec<String>), Writer>,
}

/// One page's emitted rows, grouped: the writer's key and the rows in its column
/// order.
pub(super) type Groups = Vec<((String, Vec<String>), Vec<Vec<Value>>)>;

impl Fanout {
    pub fn new(specs: Vec<EmitSpec>, accept: Accept) -> Fanout {
        Fanout {
            specs,
            accept,
            tables: HashMap::new(),
            writers: HashMap::new(),
        }
    }

    /// A page's emitted rows grouped by table and columns, each group's writer made
    /// the first time (reading its table's definition), in the order first emitted.
    pub fn groups(&mut self, db: &mut Db, emitted: &[Emitted]) -> Result<Groups> {
        let mut groups: Groups = Vec::new();
        for rows in members(emitted) {
            let first = &emitted[rows[0]];
            let names: Vec<String> = first.fields.iter().map(|(n, _)| n.clone()).collect();
            let key = (first.table.clone(), names);
            if !self.writers.contains_key(&key) {
                let w = self.writer(db, &key.0, &key.1)?;
                self.writers.insert(key.clone(), w);
            }
            let order = self.order(&key);
            let rows = rows
                .iter()
                .map(|&r| {
                    order
                        .iter()
                        .map(|&i| emitted[r].fields[i].1.clone())
                        .collect()
                })
                .collect();
            groups.push((key, rows));
        }
        Ok(groups)
    }

    /// The writer of a group (made by `groups`).
    pub fn get(&self, key: &(String, Vec<String>)) -> &Writer {
        &self.writers[key]
    }

    /// An emitted row's writer (made by `groups`) and its values in that writer's
    /// order.
    pub fn row(&self, e: &Emitted) -> (&Writer, Vec<Value>) {
        let names: Vec<String> = e.fields.iter().map(|(n, _)| n.clone()).collect();
        let key = (e.table.clone(), names);
        let values = self
            .order(&key)
            .iter()
            .map(|&i| e.fields[i].1.clone())
            .collect();
        (&self.writers[&key], values)
    }

    /// Where each of a group's columns (in target column order) is in its rows'
    /// fields (sorted by name).
    fn order(&self, key: &(String, Vec<String>)) -> Vec<usize> {
        let table = &self.tables[&key.0];
        table
            .columns
            .iter()
            .filter_map(|c| key.1.iter().position(|f| *f == c.name))
            .collect()
    }

    fn writer(&mut self, db: &mut Db, table: &str, fields: &[String]) -> Result<Writer> {
        let bad = |message: String| Error::Database {
            context: format!("emit into {table}"),
            message,
            cause: None,
        };
        let Some(spec) = self.specs.iter().find(|s| s.table == table) else {
            return Err(bad(format!(
                "the copy does not emit into `{table}`: name it in the copy's `emit` \
                 (emit = {{ {table} = \"insert\" }})"
            )));
        };
        if !self.tables.contains_key(table) {
            let info = db
                .table_info(table)?
                .ok_or_else(|| bad(format!("no target table `{table}`")))?;
            self.tables.insert(table.to_string(), info);
        }
        let info = &self.tables[table];
        for f in fields {
            match info.columns.iter().find(|c| c.name == *f) {
                None => {
                    return Err(bad(format!(
                        "a row has a field `{f}`, which is not a column of {table}"
                    )))
                }
                Some(c) if c.is_generated() => {
                    return Err(bad(format!(
                        "a row has a field `{f}`, a generated column of {table}"
                    )))
                }
                Some(_) => {}
            }
        }
        let target = Target {
            table: info.clone(),
            columns: info
                .columns
                .iter()
                .filter(|c| fields.contains(&c.name))
                .map(|c| Column {
                    name: c.name.clone(),
                    cell: Cell::Param,
                    mapped: true,
                })
                .collect(),
            mode: spec.mode,
            accept_conflicts: false,
        };
        // The value checks the copy's own rows get (`fit`): a value the target would
        // change without a word fails the page, naming the row that emitted it.
        let columns: Vec<String> = target.columns.iter().map(|c| c.name.clone()).collect();
        let fit =
            Fit::emitted(info, &columns, &self.accept).map(|f| Box::new(f) as Box<dyn RowCheck>);
        Ok(Writer::new(&target, db, Method::Prepared, fit))
    }
}

impl Fanout {
    /// The columns of an emitted row's table that the server's `message` names
    /// (`'note'`, `` `note` ``), with the row's values there.
    pub fn culprits(&self, e: &Emitted, message: &str) -> Vec<Culprit> {
        let table = self.tables.get(&e.table);
        e.fields
            .iter()
            .filter(|(n, _)| {
                message.contains(&format!("'{n}'")) || message.contains(&format!("`{n}`"))
            })
            .map(|(n, v)| {
                let kind = table
                    .and_then(|t| t.column(n))
                    .map_or(Kind::Bytes, |c| c.kind());
                Culprit {
                    column: n.clone(),
                    value: Some(super::row_error::show_value(v, kind)),
                }
            })
            .collect()
    }
}

/// Which of a page's emitted rows each group holds (rows for one table with the same
/// fields), groups in the order of their first rows: `Fanout::groups` makes its groups
/// from these, and a failed group's row is found by them.
pub(super) fn members(emitted: &[Emitted]) -> Vec<Vec<usize>> {
    let mut keys: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, e) in emitted.iter().enumerate() {
        let key = (
            e.table.as_str(),
            e.fields.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        );
        match keys.iter().position(|k| *k == key) {
            Some(g) => out[g].push(i),
            None => {
                keys.push(key);
                out.push(vec![i]);
            }
        }
    }
    out
}

/// Adds a page's emitted counts (per group) to a copy's (per table).
pub(super) fn count(into: &mut BTreeMap<String, EmitCounts>, groups: &Groups, counts: &[Counts]) {
    for ((key, _), c) in groups.iter().zip(counts) {
        into.entry(key.0.clone()).or_default().add(c);
    }
}
