//! Plans as plain data. A `CopySpec` is what a job asked for (tables, mode, page, map,
//! defaults, whether a transform runs); `resolve` checks it against both tables' schemas
//! and yields a `CopyPlan` that says, for every target column, where its value comes
//! from, or every problem it found, all at once. No I/O and no Lua here.

use std::fmt;

use mysql::Value;

use crate::column_map::ColumnMap;
use crate::schema::{suggest, TableInfo};
use crate::value::{show_key, Kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Insert,
    Overwrite,
    Upsert,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "insert" => Some(Mode::Insert),
            "overwrite" => Some(Mode::Overwrite),
            "upsert" => Some(Mode::Upsert),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Insert => "insert",
            Mode::Overwrite => "overwrite",
            Mode::Upsert => "upsert",
        }
    }
}

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
}

/// Hazards a copy may accept by name (`accept = {"triggers", ...}`): each stops the copy
/// unless named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
}

impl Accept {
    /// The names `accept` takes.
    pub const NAMES: &'static [&'static str] = &["triggers", "unique_conflicts", "key_collation"];

    /// Adds the hazard `name`; a message naming the known ones when it is unknown.
    pub fn add(&mut self, name: &str) -> Result<(), String> {
        match name {
            "triggers" => self.triggers = true,
            "unique_conflicts" => self.unique_conflicts = true,
            "key_collation" => self.key_collation = true,
            _ => {
                return Err(format!(
                    "unknown hazard `{name}` in `accept`{}; known: {}",
                    crate::schema::did_you_mean(name, Accept::NAMES.iter().copied()),
                    Accept::NAMES.join(", ")
                ))
            }
        }
        Ok(())
    }
}

impl CopySpec {
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

impl TargetColumn {
    /// Sent as a statement parameter (everything but raw SQL).
    pub fn is_value(&self) -> bool {
        !matches!(self.fill, Fill::Sql(_))
    }
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
    /// Which source column feeds which target value, compiled from the above.
    column_map: ColumnMap,
}

impl CopyPlan {
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

    /// How a row is named in messages: `id=42`, `(a=1, b='x')`, or for a keyless
    /// source its position in the stream, `#17 (no key)`.
    pub fn row_label(&self, key_values: Option<&[Value]>, ordinal: u64) -> String {
        match (&self.key, key_values) {
            (Some(key), Some(values)) => {
                let names: Vec<String> = key
                    .iter()
                    .map(|&i| self.source.columns[i].name.clone())
                    .collect();
                let kinds: Vec<Kind> = key.iter().map(|&i| self.source.columns[i].kind()).collect();
                show_key(&names, values, &kinds)
            }
            _ => format!("#{ordinal} (no key)"),
        }
    }

    /// The key values of a source row (empty for a keyless source).
    pub fn key_values(&self, row: &[Value]) -> Vec<Value> {
        self.column_map.key_values(row)
    }

    /// Which source column feeds which target value.
    pub fn column_map(&self) -> &ColumnMap {
        &self.column_map
    }

    /// What the job state records to recognise this copy on `--resume`: tables, mode,
    /// key, filter and where every target column comes from (not the page size, nor
    /// where in the script the copy or its functions are).
    pub fn fingerprint(&self) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let from = match &c.fill {
                    Fill::Source(i) => format!("source.{}", self.source.columns[*i].name),
                    Fill::Field(f) => format!("field.{f}"),
                    Fill::Function => "function".to_string(),
                    Fill::Value(v) => format!("value {v:?}"),
                    Fill::Sql(e) => format!("sql {e}"),
                };
                format!("{}<-{from}", c.name)
            })
            .collect();
        format!(
            "{}.{} -> {}.{}; mode {}; key ({}); where {}; transform {}; {}",
            self.source.database,
            self.source.name,
            self.target.database,
            self.target.name,
            self.mode.name(),
            self.key_names().join(", "),
            self.filter.as_deref().unwrap_or("-"),
            self.has_transform,
            cols.join(", ")
        )
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

/// Checks `spec` against both schemas. Returns the plan, or every problem found.
pub fn resolve(
    spec: &CopySpec,
    source: &TableInfo,
    target: &TableInfo,
) -> Result<CopyPlan, Vec<String>> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let src_names = || source.columns.iter().map(|c| c.name.as_str());
    let dst_names = || target.columns.iter().map(|c| c.name.as_str());
    let hint = |name: &str, cands: &mut dyn Iterator<Item = &str>| -> String {
        let v: Vec<&str> = cands.collect();
        match suggest(name, v.iter().copied()) {
            Some(s) => format!(" (did you mean `{s}`?)"),
            None => format!(" (it has: {})", v.join(", ")),
        }
    };

    if spec.page == 0 {
        problems.push("page must be at least 1".to_string());
    }

    // Every map and default key must be a writable target column.
    for (col, _) in &spec.map {
        match target.column(col) {
            None => problems.push(format!(
                "map names target column `{col}`, but {}.{} has no such column{}",
                target.database,
                target.name,
                hint(col, &mut dst_names())
            )),
            Some(c) if c.is_generated() => problems.push(format!(
                "map names target column `{col}`, which is generated and cannot be written"
            )),
            _ => {}
        }
    }
    for (col, _) in &spec.defaults {
        match target.column(col) {
            None => problems.push(format!(
                "default names target column `{col}`, but {}.{} has no such column{}",
                target.database,
                target.name,
                hint(col, &mut dst_names())
            )),
            Some(c) if c.is_generated() => problems.push(format!(
                "default names target column `{col}`, which is generated and cannot be written"
            )),
            Some(_) => {
                if spec.map.iter().any(|(m, _)| m == col) {
                    problems.push(format!(
                        "target column `{col}` is both in map and in default; keep one"
                    ));
                }
            }
        }
    }

    // Field lookup for a name: a source column, or (with a transform) a field of the
    // transformed sample row. Exact name first, then case-insensitive.
    let lookup = |name: &str, exact_only: bool| -> Option<Fill> {
        if spec.has_transform {
            if let Some(fields) = &spec.sample_fields {
                if fields.iter().any(|f| f == name) {
                    return Some(Fill::Field(name.to_string()));
                }
                if !exact_only {
                    if let Some(f) = fields
                        .iter()
                        .find(|f| f.to_lowercase() == name.to_lowercase())
                    {
                        return Some(Fill::Field(f.clone()));
                    }
                }
                return None;
            }
            let c = if exact_only {
                source.column(name)
            } else {
                source.find_column(name)
            };
            return c.map(|c| Fill::Field(c.name.clone()));
        }
        let c = if exact_only {
            source.column(name)
        } else {
            source.find_column(name)
        };
        c.and_then(|c| source.position(&c.name)).map(Fill::Source)
    };

    let mut columns = Vec::new();
    let mut server_filled = Vec::new();
    let mut used_source: Vec<String> = Vec::new();
    for col in &target.columns {
        if col.is_generated() {
            continue;
        }
        if let Some((_, src)) = spec.map.iter().find(|(m, _)| m == &col.name) {
            match src {
                MapSource::Column(name) => match lookup(name, false) {
                    Some(fill) => {
                        used_source.push(fill_field_name(&fill, source));
                        columns.push(TargetColumn {
                            name: col.name.clone(),
                            origin: name.clone(),
                            fill,
                            mapped: true,
                        });
                    }
                    None => {
                        let what = if spec.has_transform && spec.sample_fields.is_some() {
                            "the rows the transform returns have"
                        } else {
                            "the source table has"
                        };
                        problems.push(format!(
                            "map: target column `{}` <- `{name}`, but {what} no column `{name}`{}",
                            col.name,
                            match &spec.sample_fields {
                                Some(f) if spec.has_transform =>
                                    hint(name, &mut f.iter().map(|s| s.as_str())),
                                _ => hint(name, &mut src_names()),
                            }
                        ));
                    }
                },
                MapSource::Function { label } => columns.push(TargetColumn {
                    name: col.name.clone(),
                    fill: Fill::Function,
                    mapped: true,
                    origin: label.clone(),
                }),
            }
            continue;
        }
        if let Some((_, d)) = spec.defaults.iter().find(|(m, _)| m == &col.name) {
            let (fill, origin) = match d {
                DefaultValue::Value(v) => (
                    Fill::Value(v.clone()),
                    format!(
                        "default {}",
                        crate::value::show(v, crate::value::Kind::Bytes)
                    ),
                ),
                DefaultValue::Sql(e) => (Fill::Sql(e.clone()), format!("default sql {e}")),
            };
            columns.push(TargetColumn {
                name: col.name.clone(),
                fill,
                mapped: false,
                origin,
            });
            continue;
        }
        if let Some(fill) = lookup(&col.name, false) {
            let field = fill_field_name(&fill, source);
            used_source.push(field.clone());
            columns.push(TargetColumn {
                name: col.name.clone(),
                origin: if field == col.name {
                    "same name".into()
                } else {
                    format!("{field} (same name, case-insensitive)")
                },
                fill,
                mapped: true,
            });
            continue;
        }
        if col.server_fills() {
            server_filled.push(col.name.clone());
        } else {
            problems.push(format!(
                "target column `{}` ({}) is NOT NULL, has no default, and nothing maps it: \
                 add it to map or default",
                col.name, col.column_type
            ));
        }
    }
    if columns.is_empty() && problems.is_empty() {
        problems.push(format!(
            "no target column of {} gets a value: map at least one",
            target.name
        ));
    }

    let key = source.paging_key().map(|k| {
        k.columns
            .iter()
            .filter_map(|c| source.position(c))
            .collect::<Vec<_>>()
    });
    if key.is_none() {
        warnings.push(format!(
            "source table {} has no primary key or NOT NULL unique key: it is read in one \
             pass and cannot be resumed part-way",
            source.name
        ));
    }
    if spec.mode != Mode::Insert && !target.has_unique_key() {
        warnings.push(format!(
            "target table {} has no primary or unique key: mode {} can only insert",
            target.name,
            spec.mode.name()
        ));
    }
    trigger_hazards(spec, target, &mut problems, &mut warnings);
    key_collation_hazards(spec, &columns, source, target, &mut problems, &mut warnings);
    // Functions may read any column, so "unused" is only known without them.
    let any_function = spec
        .map
        .iter()
        .any(|(_, m)| matches!(m, MapSource::Function { .. }));
    let unused_source = if spec.has_transform || any_function {
        Vec::new()
    } else {
        source
            .columns
            .iter()
            .filter(|c| !used_source.contains(&c.name))
            .map(|c| c.name.clone())
            .collect()
    };

    if !problems.is_empty() {
        return Err(problems);
    }
    let column_map = ColumnMap::compile(&columns, source, key.as_deref());
    Ok(CopyPlan {
        name: spec.name(),
        location: spec.location.clone(),
        source: source.clone(),
        target: target.clone(),
        mode: spec.mode,
        page: spec.page,
        filter: spec.filter.clone(),
        columns,
        key,
        has_transform: spec.has_transform,
        server_filled,
        unused_source,
        warnings,
        accept: spec.accept,
        column_map,
    })
}

/// Whether a trigger on `event` fires for the statements of `mode`: INSERT IGNORE
/// fires INSERT triggers; REPLACE, INSERT and (for a row it replaces) DELETE triggers;
/// INSERT ... ON DUPLICATE KEY UPDATE, INSERT and (for a row it updates) UPDATE triggers.
pub fn trigger_fires(mode: Mode, event: &str) -> bool {
    match event.to_ascii_uppercase().as_str() {
        "INSERT" => true,
        "DELETE" => mode == Mode::Overwrite,
        "UPDATE" => mode == Mode::Upsert,
        _ => false,
    }
}

/// The target's triggers that fire for this copy's writes: a BEFORE INSERT or BEFORE
/// UPDATE trigger may change the row ferry writes, so it is a problem unless the copy
/// accepts it (`accept = {"triggers"}`); the others (AFTER, and DELETE triggers of
/// REPLACE) write elsewhere once per row, and are named among the plan's warnings.
fn trigger_hazards(
    spec: &CopySpec,
    target: &TableInfo,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let firing: Vec<&crate::schema::TriggerInfo> = target
        .triggers
        .iter()
        .filter(|t| trigger_fires(spec.mode, &t.event))
        .collect();
    let (rewriting, others): (Vec<_>, Vec<_>) = firing
        .into_iter()
        .partition(|t| t.is_before() && !t.event.eq_ignore_ascii_case("DELETE"));
    let list = |ts: &[&crate::schema::TriggerInfo]| {
        ts.iter()
            .map(|t| t.describe())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let table = format!("{}.{}", target.database, target.name);
    if !rewriting.is_empty() {
        if spec.accept.triggers {
            warnings.push(format!(
                "target table {table} has triggers that may change the rows this copy \
                 writes (accepted): {}",
                list(&rewriting)
            ));
        } else {
            problems.push(format!(
                "target table {table} has triggers that may change the rows this copy \
                 writes (mode {}): {}; drop them for the copy and create them again \
                 after it (as tools that load whole databases do), or accept them with \
                 `accept = {{\"triggers\"}}`",
                spec.mode.name(),
                list(&rewriting)
            ));
        }
    }
    if !others.is_empty() {
        warnings.push(format!(
            "target table {table} has triggers that fire for the rows this copy \
             writes (mode {}): {}",
            spec.mode.name(),
            list(&others)
        ));
    }
}

/// The target key the mode resolves rows on (the primary key when the copy writes all
/// of it, else the first unique key it writes all of) must tell apart every key the
/// source does (see `collation`); a coarser collation is a problem unless accepted
/// (`accept = {"key_collation"}`).
fn key_collation_hazards(
    spec: &CopySpec,
    columns: &[TargetColumn],
    source: &TableInfo,
    target: &TableInfo,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let written = |c: &String| columns.iter().any(|t| &t.name == c);
    let Some(key) = target
        .indexes
        .iter()
        .find(|i| i.name == "PRIMARY" && i.columns.iter().all(written))
        .or_else(|| {
            target
                .indexes
                .iter()
                .find(|i| i.unique && i.columns.iter().all(written))
        })
    else {
        return;
    };
    let why: Vec<String> = key
        .columns
        .iter()
        .filter_map(|name| {
            let t = target.column(name)?;
            let Fill::Source(i) = columns.iter().find(|c| &c.name == name)?.fill else {
                return None;
            };
            crate::collation::coarser(&source.columns[i], t)
        })
        .collect();
    if why.is_empty() {
        return;
    }
    let effect = match spec.mode {
        Mode::Insert => "the second would be ignored",
        Mode::Overwrite => "the second would replace the first",
        Mode::Upsert => "the second would update the first",
    };
    let text = format!(
        "the target's key `{}` may not tell apart keys the source does: {}; two source rows \
         whose keys differ only in letter case, accents or trailing spaces would be one row \
         in {}.{} ({effect})",
        key.name,
        why.join("; "),
        target.database,
        target.name
    );
    if spec.accept.key_collation {
        warnings.push(format!("{text} (accepted)"));
    } else {
        problems.push(format!(
            "{text}; give the target column the source's collation, or accept it with \
             `accept = {{\"key_collation\"}}`"
        ));
    }
}

fn fill_field_name(fill: &Fill, source: &TableInfo) -> String {
    match fill {
        Fill::Source(i) => source.columns[*i].name.clone(),
        Fill::Field(f) => f.clone(),
        _ => String::new(),
    }
}

impl fmt::Display for CopyPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.key_names();
        writeln!(
            f,
            "copy {} ({})\n  {}.{} -> {}.{}, mode {}, page {}, {}, ~{} rows{}",
            self.name,
            self.location,
            self.source.database,
            self.source.name,
            self.target.database,
            self.target.name,
            self.mode.name(),
            self.page,
            if key.is_empty() {
                "no key: one pass".to_string()
            } else {
                format!("keyset on ({})", key.join(", "))
            },
            self.source.estimated_rows,
            self.filter
                .as_ref()
                .map(|w| format!(", where {w}"))
                .unwrap_or_default()
        )?;
        if self.has_transform {
            writeln!(f, "  transform: runs on every row first")?;
        }
        let width = self
            .columns
            .iter()
            .map(|c| c.name.chars().count())
            .chain(self.server_filled.iter().map(|c| c.chars().count()))
            .max()
            .unwrap_or(0);
        for c in &self.columns {
            writeln!(f, "  {:width$} <- {}", c.name, c.origin)?;
        }
        for c in &self.server_filled {
            writeln!(
                f,
                "  {c:width$} (left to the server: NULL, its default or auto_increment)"
            )?;
        }
        if !self.unused_source.is_empty() {
            writeln!(
                f,
                "  unused source columns: {}",
                self.unused_source.join(", ")
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_fire_by_mode() {
        assert!(trigger_fires(Mode::Insert, "INSERT"));
        assert!(!trigger_fires(Mode::Insert, "UPDATE"));
        assert!(!trigger_fires(Mode::Insert, "DELETE"));
        assert!(trigger_fires(Mode::Overwrite, "DELETE"));
        assert!(!trigger_fires(Mode::Overwrite, "UPDATE"));
        assert!(trigger_fires(Mode::Upsert, "UPDATE"));
        assert!(!trigger_fires(Mode::Upsert, "DELETE"));
    }
}
