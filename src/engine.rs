//! The copy engine: runs one `CopyPlan` from a source session into a target session.
//! It reads the source in key order by keyset pages (or streams a keyless table in one
//! pass), turns each source row into a target row (directly, or through a
//! `RowProcessor` the caller supplies, e.g. Lua), writes each page in one transaction
//! and reports progress. It knows nothing of Lua.

use std::time::Instant;

use mysql::prelude::Queryable;
use mysql::{Params, Value};

use crate::db::Db;
use crate::error::{Error, Result};
use crate::plan::{CopyPlan, Fill};
use crate::progress::{CopyProgress, Display};
use crate::schema::{quote_ident, TableInfo};
use crate::writer::Writer;

/// Turns one source row into the values of the plan's value columns
/// (`CopyPlan::value_columns`, in order), or `None` to skip the row.
pub trait RowProcessor {
    fn process(&mut self, row: Vec<Value>) -> std::result::Result<Option<Vec<Value>>, String>;
}

/// What a copy did.
#[derive(Debug, Default, Clone)]
pub struct CopyStats {
    pub read: u64,
    pub written: u64,
    pub inserted: u64,
    pub updated: u64,
    pub ignored: u64,
    pub skipped: u64,
    pub seconds: f64,
}

/// Builds target rows straight from source rows: source columns and fixed defaults.
/// A source value is moved into its (last) target column rather than copied.
pub struct DirectProcessor {
    cells: Vec<DirectCell>,
}

enum DirectCell {
    /// Copy source column i (a later cell still needs it).
    Copy(usize),
    /// Move source column i out of the row.
    Take(usize),
    Value(Value),
}

impl DirectProcessor {
    /// `None` when the plan needs a processor that runs code (transform, map functions).
    pub fn new(plan: &CopyPlan) -> Option<DirectProcessor> {
        let mut cells = Vec::new();
        for c in plan.value_columns() {
            cells.push(match &c.fill {
                Fill::Source(i) => DirectCell::Take(*i),
                Fill::Value(v) => DirectCell::Value(v.clone()),
                _ => return None,
            });
        }
        // Every use of a column but its last copies it.
        for i in 0..cells.len() {
            if let DirectCell::Take(col) = cells[i] {
                if cells[i + 1..]
                    .iter()
                    .any(|c| matches!(c, DirectCell::Take(later) if *later == col))
                {
                    cells[i] = DirectCell::Copy(col);
                }
            }
        }
        Some(DirectProcessor { cells })
    }
}

impl RowProcessor for DirectProcessor {
    fn process(&mut self, mut row: Vec<Value>) -> std::result::Result<Option<Vec<Value>>, String> {
        Ok(Some(
            self.cells
                .iter()
                .map(|c| match c {
                    DirectCell::Copy(i) => row[*i].clone(),
                    DirectCell::Take(i) => std::mem::replace(&mut row[*i], Value::NULL),
                    DirectCell::Value(v) => v.clone(),
                })
                .collect(),
        ))
    }
}

/// The SELECT that reads the source, in key order when there is a key.
pub struct SourceQuery {
    columns: String,
    table: String,
    filter: Option<String>,
    key: Vec<String>,
    page: usize,
}

impl SourceQuery {
    pub fn new(plan: &CopyPlan) -> SourceQuery {
        SourceQuery::for_table(&plan.source, plan.filter.clone(), plan.page)
    }

    /// Reads `table` (filtered by `filter`) in pages of `page` rows, in the order of
    /// its paging key.
    pub fn for_table(table: &TableInfo, filter: Option<String>, page: usize) -> SourceQuery {
        SourceQuery {
            columns: table
                .columns
                .iter()
                .map(|c| quote_ident(&c.name))
                .collect::<Vec<_>>()
                .join(", "),
            table: format!(
                "{}.{}",
                quote_ident(&table.database),
                quote_ident(&table.name)
            ),
            filter,
            key: table
                .paging_key()
                .map(|k| k.columns.iter().map(|c| quote_ident(c)).collect())
                .unwrap_or_default(),
            page,
        }
    }

    /// The first page (`after` = None) or the page after a key.
    pub fn page_sql(&self, after: Option<&[Value]>, limit: usize) -> (String, Vec<Value>) {
        let mut conds = Vec::new();
        if let Some(f) = &self.filter {
            conds.push(format!("({f})"));
        }
        let mut params = Vec::new();
        if let Some(after) = after {
            conds.push(keyset_condition(&self.key, after, &mut params));
        }
        let mut sql = format!("SELECT {} FROM {}", self.columns, self.table);
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        if !self.key.is_empty() {
            sql.push_str(&format!(" ORDER BY {}", self.key.join(", ")));
        }
        sql.push_str(&format!(" LIMIT {limit}"));
        (sql, params)
    }

    /// The whole table in one pass (no key).
    pub fn stream_sql(&self) -> String {
        let mut sql = format!("SELECT {} FROM {}", self.columns, self.table);
        if let Some(f) = &self.filter {
            sql.push_str(&format!(" WHERE ({f})"));
        }
        sql
    }
}

/// `(k1 > ? OR (k1 = ? AND k2 > ?))`, with its parameters.
fn keyset_condition(key: &[String], after: &[Value], params: &mut Vec<Value>) -> String {
    let (first, rest) = (&key[0], &key[1..]);
    params.push(after[0].clone());
    if rest.is_empty() {
        return format!("{first} > ?");
    }
    params.push(after[0].clone());
    let inner = keyset_condition(rest, &after[1..], params);
    format!("({first} > ? OR ({first} = ? AND {inner}))")
}

/// Runs one copy. `processor` turns source rows into target rows.
pub fn run_copy(
    plan: &CopyPlan,
    src: &mut Db,
    dst: &mut Db,
    processor: &mut dyn RowProcessor,
    display: Display,
) -> Result<CopyStats> {
    let start = Instant::now();
    let total = {
        let filter = plan.filter.as_deref();
        if filter.is_some() || plan.source.estimated_rows < 1_000_000 {
            src.count(&plan.source.name, filter)?
        } else {
            plan.source.estimated_rows
        }
    };
    let mut progress = CopyProgress::start(&plan.name, total, display);
    for w in &plan.warnings {
        log::warn!("copy {}: {w}", plan.name);
    }
    let mut run = CopyRun {
        plan,
        writer: Writer::new(plan, dst.max_packet),
        stats: CopyStats::default(),
        page_no: 0,
    };
    let result = if plan.key.is_some() {
        run.keyset(src, dst, processor, &mut progress)
    } else {
        run.stream(src, dst, processor, &mut progress)
    };
    let mut stats = run.stats;
    stats.seconds = start.elapsed().as_secs_f64();
    match result {
        Ok(()) => {
            progress.finish(&format!(
                "done: {} read, {} written ({} inserted, {} updated, {} ignored), {} skipped in {:.1}s",
                stats.read,
                stats.written,
                stats.inserted,
                stats.updated,
                stats.ignored,
                stats.skipped,
                stats.seconds
            ));
            Ok(stats)
        }
        Err(e) => {
            // The run logs the error once, with the script's context.
            progress.abandon();
            Err(e)
        }
    }
}

struct CopyRun<'a> {
    plan: &'a CopyPlan,
    writer: Writer,
    stats: CopyStats,
    page_no: u64,
}

impl CopyRun<'_> {
    fn keyset(
        &mut self,
        src: &mut Db,
        dst: &mut Db,
        processor: &mut dyn RowProcessor,
        progress: &mut CopyProgress,
    ) -> Result<()> {
        let query = SourceQuery::new(self.plan);
        let mut last: Option<Vec<Value>> = None;
        loop {
            let (sql, params) = query.page_sql(last.as_deref(), query.page);
            let params = if params.is_empty() {
                Params::Empty
            } else {
                Params::Positional(params)
            };
            let rows: Vec<mysql::Row> = src
                .conn()
                .exec(&sql, params)
                .map_err(|e| src.err(&format!("reading {}", self.plan.source.name), e))?;
            let n = rows.len();
            if n == 0 {
                break;
            }
            let rows: Vec<Vec<Value>> = rows.into_iter().map(|r| r.unwrap()).collect();
            last = rows.last().map(|r| self.plan.key_values(r));
            self.page(rows, dst, processor, progress)?;
            if n < query.page {
                break;
            }
        }
        Ok(())
    }

    fn stream(
        &mut self,
        src: &mut Db,
        dst: &mut Db,
        processor: &mut dyn RowProcessor,
        progress: &mut CopyProgress,
    ) -> Result<()> {
        let sql = SourceQuery::new(self.plan).stream_sql();
        let page = self.plan.page;
        let table = self.plan.source.name.clone();
        // The result set borrows the connection, so errors are built from a copy of
        // its spec.
        let spec = src.spec.clone();
        let context = format!("{} {}: reading {table}", src.role.name(), spec);
        let err = |e: mysql::Error| Error::Database {
            context: context.clone(),
            message: spec.scrub(&crate::db::error_text(&e)),
        };
        let mut result = src.conn().exec_iter(&sql, Params::Empty).map_err(err)?;
        let mut buf = Vec::with_capacity(page);
        if let Some(set) = result.iter() {
            for row in set {
                let row = row.map_err(err)?;
                buf.push(row.unwrap());
                if buf.len() == page {
                    self.page(std::mem::take(&mut buf), dst, processor, progress)?;
                }
            }
        }
        if !buf.is_empty() {
            self.page(buf, dst, processor, progress)?;
        }
        Ok(())
    }

    /// Processes and writes one page of source rows.
    fn page(
        &mut self,
        rows: Vec<Vec<Value>>,
        dst: &mut Db,
        processor: &mut dyn RowProcessor,
        progress: &mut CopyProgress,
    ) -> Result<()> {
        self.page_no += 1;
        let mut out = Vec::with_capacity(rows.len());
        // Key values and stream positions of the rows written, to name a failing row.
        let mut keys: Vec<(Vec<Value>, u64)> = Vec::with_capacity(rows.len());
        for row in rows {
            self.stats.read += 1;
            let row_key = (self.plan.key_values(&row), self.stats.read);
            match processor.process(row) {
                Ok(Some(values)) => {
                    out.push(values);
                    keys.push(row_key);
                }
                Ok(None) => self.stats.skipped += 1,
                Err(message) => {
                    return Err(Error::Row {
                        copy: self.plan.name.clone(),
                        page: self.page_no,
                        key: self.label(&row_key.0, row_key.1),
                        message,
                    })
                }
            }
        }
        let counts = self.writer.write_page(dst, out).map_err(|e| match e.row {
            Some(r) if r < keys.len() => Error::Row {
                copy: self.plan.name.clone(),
                page: self.page_no,
                key: self.label(&keys[r].0, keys[r].1),
                message: e.error.to_string(),
            },
            _ => e.error,
        })?;
        self.stats.inserted += counts.inserted;
        self.stats.updated += counts.updated;
        self.stats.ignored += counts.ignored;
        self.stats.written += counts.inserted + counts.updated + counts.ignored;
        progress.page(self.page_no, self.stats.read, self.stats.written);
        Ok(())
    }

    fn label(&self, key: &[Value], ordinal: u64) -> String {
        self.plan.row_label(Some(key), ordinal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{resolve, CopySpec, MapSource, Mode};
    use crate::schema::{ColumnInfo, TableInfo};

    fn table(name: &str, cols: &[&str]) -> TableInfo {
        TableInfo {
            database: "d".into(),
            name: name.into(),
            columns: cols
                .iter()
                .map(|c| ColumnInfo {
                    name: c.to_string(),
                    column_type: "varchar(10)".into(),
                    data_type: "varchar".into(),
                    nullable: true,
                    default: None,
                    key: String::new(),
                    extra: String::new(),
                })
                .collect(),
            indexes: Vec::new(),
            estimated_rows: 0,
        }
    }

    #[test]
    fn direct_rows_copy_a_column_used_twice_and_move_the_rest() {
        let spec = CopySpec {
            from: "s".into(),
            to: "t".into(),
            mode: Mode::Insert,
            page: 10,
            filter: None,
            map: vec![
                ("a".into(), MapSource::Column("x".into())),
                ("b".into(), MapSource::Column("x".into())),
            ],
            defaults: Vec::new(),
            has_transform: false,
            sample_fields: None,
            location: "job.lua:1".into(),
        };
        let plan = resolve(
            &spec,
            &table("s", &["x", "y"]),
            &table("t", &["a", "b", "y"]),
        )
        .unwrap();
        let mut p = DirectProcessor::new(&plan).unwrap();
        let out = p
            .process(vec![Value::from("one"), Value::from("two")])
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            vec![Value::from("one"), Value::from("one"), Value::from("two")]
        );
    }

    #[test]
    fn keyset_condition_for_composite_keys() {
        let mut p = Vec::new();
        let sql = keyset_condition(
            &["`a`".into(), "`b`".into()],
            &[Value::Int(1), Value::Int(2)],
            &mut p,
        );
        assert_eq!(sql, "(`a` > ? OR (`a` = ? AND `b` > ?))");
        assert_eq!(p, vec![Value::Int(1), Value::Int(1), Value::Int(2)]);
    }
}
