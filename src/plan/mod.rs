//! Plans as plain data. A `CopySpec` is what a job asked for (tables, mode, page, map,
//! defaults, whether a transform runs); `resolve` checks it against both tables' schemas
//! and yields a `CopyPlan` that says, for every target column, where its value comes
//! from, or every problem it found, all at once. No I/O and no Lua here.
//!
//! Here: the plain-data types. `resolve` builds a plan; `hazards` finds what in the
//! target could change or lose rows (triggers, a coarser key collation); `label` names
//! a plan's rows and the plan itself; `show` is how `ferry plan` prints it; `write` is
//! what a plan hands the writer (`db::write::Target`); `problem` types the problems the
//! plan's code decides on.

pub(crate) mod collation;
pub(crate) mod column_map;
mod hazards;
mod label;
pub(crate) mod order;
mod problem;
mod resolve;
pub(crate) mod sample;
mod show;
pub(crate) mod tables;
mod write;

use crate::db::Value;

use crate::db::schema::TableInfo;
use crate::plan::column_map::ColumnMap;

pub use problem::PlanProblem;
pub use resolve::resolve;
pub use tables::{Create, SetTable, TableSelection, TableSetPlan};

/// The write mode is the writer's (`db::write`), named here for the plan's users.
pub use crate::db::write::Mode;

/// Where a `map` entry takes its value from.
#[derive(Debug, Clone)]
pub enum MapSource {
    /// A source column (or a field the transform returns).
    Column(String),
    /// A Lua function of the row; `label` says where it is defined.
    Function { label: String },
}

/// A `default` entry.
#[derive(Debug, Clone)]
pub enum DefaultValue {
    Value(Value),
    Sql(String),
}

/// What a job asked one copy to do.
#[derive(Debug, Clone)]
pub struct CopySpec {
    pub from: String,
    pub to: String,
    pub mode: Mode,
    pub page: usize,
    pub filter: Option<String>,
    pub map: Vec<(String, MapSource)>,
    pub defaults: Vec<(String, DefaultValue)>,
    pub has_transform: bool,
    /// Field names of a source row after the transform, when one was tried in plan mode.
    pub sample_fields: Option<Vec<String>>,
    /// `file:line` of the `copy` call.
    pub location: String,
    /// Hazards the job accepted by name (`accept = {...}`).
    pub accept: Accept,
    /// Source columns masked (`mask = { email = "email" }`): (column, rule); `keep`
    /// lists a column as reviewed and left as it is.
    pub mask: Vec<(String, String)>,
    /// `mask_strict = true`: every source column the copy writes must be in `mask`.
    pub mask_strict: bool,
}

/// Hazards a copy may accept by name (`accept = {"triggers", ...}`): each stops the copy
/// unless named. Value hazards `ferry check` finds (`"truncate"`, or for one target
/// column `"zero_date:created"`) are reported as notes instead of blocking when named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    /// Write into a target table with BEFORE INSERT / BEFORE UPDATE triggers, which may
    /// rewrite what ferry writes.
    pub triggers: bool,
    /// Let a row collide with a *different* target row through a unique key other than
    /// the one the mode resolves on (insert: the row is dropped; overwrite: the other
    /// row is deleted; upsert: the other row is rewritten); such rows are counted and
    /// logged apart.
    pub unique_conflicts: bool,
    /// Write through a target key whose collation is coarser than the source key's
    /// (two source keys may be one target key; see `collation`).
    pub key_collation: bool,
    /// Value hazards of `ferry check` reviewed by the job: (kind, target column or
    /// `None` for every column).
    pub values: Vec<(String, Option<String>)>,
}

impl Accept {
    /// The value hazards `ferry check` reports, which `accept` takes alone or as
    /// `kind:column`.
    pub const VALUE_KINDS: &'static [&'static str] = &[
        "truncate",
        "charset",
        "range",
        "scale",
        "fraction",
        "char_trailing_space",
        "enum",
        "not_null",
        "zero_date",
        "timestamp_range",
        "float_precision",
        "json",
        "foreign_key",
        "privilege",
        "max_allowed_packet",
    ];

    /// The names `accept` takes.
    pub const NAMES: &'static [&'static str] = &[
        "triggers",
        "unique_conflicts",
        "key_collation",
        "truncate",
        "charset",
        "range",
        "scale",
        "fraction",
        "char_trailing_space",
        "enum",
        "not_null",
        "zero_date",
        "timestamp_range",
        "float_precision",
        "json",
        "foreign_key",
        "privilege",
        "max_allowed_packet",
    ];

    /// Adds the hazard `name` (a value hazard optionally as `kind:column`); an error
    /// naming the known ones when it is unknown.
    pub fn add(&mut self, name: &str) -> Result<(), PlanProblem> {
        let unknown = || PlanProblem::UnknownHazard {
            name: name.to_string(),
        };
        if let Some((kind, column)) = name.split_once(':') {
            if !Self::VALUE_KINDS.contains(&kind) || column.is_empty() {
                return Err(unknown());
            }
            self.values
                .push((kind.to_string(), Some(column.to_string())));
            return Ok(());
        }
        match name {
            "triggers" => self.triggers = true,
            "unique_conflicts" => self.unique_conflicts = true,
            "key_collation" => self.key_collation = true,
            _ if Self::VALUE_KINDS.contains(&name) => self.values.push((name.to_string(), None)),
            _ => return Err(unknown()),
        }
        Ok(())
    }

    /// Whether the job accepted value hazard `kind` in target column `column`.
    pub fn accepts_value(&self, kind: &str, column: &str) -> bool {
        self.values
            .iter()
            .any(|(k, c)| k == kind && c.as_deref().is_none_or(|c| c == column))
    }

    /// The columns named in `kind:column` entries.
    pub fn value_columns(&self) -> impl Iterator<Item = &str> {
        self.values.iter().filter_map(|(_, c)| c.as_deref())
    }
}

impl CopySpec {
    /// A copy of `from` into `to` in insert mode, pages of `page` rows, with nothing
    /// mapped, defaulted or accepted yet; `location` is the `copy` call's `file:line`.
    pub fn new(from: &str, to: &str, page: usize, location: &str) -> CopySpec {
        CopySpec {
            from: from.to_string(),
            to: to.to_string(),
            mode: Mode::Insert,
            page,
            filter: None,
            map: Vec::new(),
            defaults: Vec::new(),
            has_transform: false,
            sample_fields: None,
            location: location.to_string(),
            accept: Accept::default(),
            mask: Vec::new(),
            mask_strict: false,
        }
    }

    /// `users` or `users -> customers`.
    pub fn name(&self) -> String {
        if self.from == self.to {
            self.from.clone()
        } else {
            format!("{} -> {}", self.from, self.to)
        }
    }
}

/// How one target column gets its value.
#[derive(Debug, Clone)]
pub enum Fill {
    /// The source column at this index (no transform).
    Source(usize),
    /// A field of the row the transform returned.
    Field(String),
    /// A `map` function, by target column name.
    Function,
    /// A fixed value from `default`.
    Value(Value),
    /// A raw SQL expression from `default`.
    Sql(String),
}

#[derive(Debug, Clone)]
pub struct TargetColumn {
    pub name: String,
    pub fill: Fill,
    /// Named in `map` or auto-mapped by name (as opposed to a default); `upsert`
    /// updates these.
    pub mapped: bool,
    /// How the plan shows where the value comes from.
    pub origin: String,
}

#[derive(Debug, Clone)]
pub struct CopyPlan {
    pub name: String,
    pub location: String,
    pub source: TableInfo,
    pub target: TableInfo,
    pub mode: Mode,
    pub page: usize,
    pub filter: Option<String>,
    /// Target columns written, in target column order.
    pub columns: Vec<TargetColumn>,
    /// Indices of the source columns the source is paged on; `None`: streamed.
    pub key: Option<Vec<usize>>,
    pub has_transform: bool,
    /// Target columns left to the server (nullable, a server default, auto_increment).
    pub server_filled: Vec<String>,
    pub unused_source: Vec<String>,
    pub warnings: Vec<String>,
    /// Hazards the job accepted by name.
    pub accept: Accept,
    /// The copy's hooks and checks, one line each (the job fills them in; shown in the
    /// plan, never part of its fingerprint: a fixed check may resume).
    pub hooks: Vec<String>,
    /// How the copy writes and whether it defers the target's indexes, as the job
    /// settles them in the plan pass (`None` before; read by `ferry check`).
    pub method: Option<crate::db::write::Method>,
    pub defer_indexes: Option<bool>,
    /// An incremental copy's window as the job's state puts it in the plan pass (rows
    /// from the stored mark, less the overlap), as an SQL condition; `None` for a copy
    /// that reads its whole `where` (not incremental, a first run, `--full`). What
    /// reads ahead the rows a run would read (`ferry check`) adds it (`scan_filter`).
    pub window: Option<String>,
    /// Which source column feeds which target value, compiled from the above.
    column_map: ColumnMap,
}

impl CopyPlan {
    /// The rows a run reads: the copy's `where` and, for an incremental copy with a
    /// mark, its window (`None`: every row).
    pub fn scan_filter(&self) -> Option<String> {
        match (&self.filter, &self.window) {
            (Some(f), Some(w)) => Some(format!("({f}) AND ({w})")),
            (f, w) => f.clone().or_else(|| w.clone()),
        }
    }

    pub fn key_names(&self) -> Vec<String> {
        self.key
            .as_ref()
            .map(|k| {
                k.iter()
                    .map(|&i| self.source.columns[i].name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Which source column feeds which target value.
    pub fn column_map(&self) -> &ColumnMap {
        &self.column_map
    }

    /// The target columns sent as statement parameters, in order (the column map's
    /// values).
    pub fn value_columns(&self) -> impl Iterator<Item = &TargetColumn> {
        self.column_map
            .values()
            .iter()
            .map(|v| &self.columns[v.column])
    }
}

#[cfg(test)]
mod tests {
    use super::Accept;

    #[test]
    fn accept_takes_value_hazards_by_kind_and_column() {
        let mut a = Accept::default();
        a.add("truncate").unwrap();
        a.add("zero_date:created").unwrap();
        assert!(a.accepts_value("truncate", "v"));
        assert!(a.accepts_value("zero_date", "created"));
        assert!(!a.accepts_value("zero_date", "updated"));
        assert!(!a.accepts_value("range", "v"));
        assert_eq!(a.value_columns().collect::<Vec<_>>(), ["created"]);
        assert!(a.add("triggers:x").is_err());
        assert!(a.add("zero_date:").is_err());
        assert!(a.add("truncat").is_err());
        for kind in Accept::VALUE_KINDS {
            assert!(Accept::NAMES.contains(kind));
        }
    }
}
