//! The mode's SQL: the statement's prefix (verb, table, columns), the row template
//! repeated once per row (a placeholder per value, an SQL default in place), the
//! suffix (upsert's `ON DUPLICATE KEY UPDATE`), whether string values go as binary
//! strings, and the prepared statements, cached per connection and row count.

use mysql::prelude::Queryable;
use mysql::Statement;

use super::{Cell, Mode, Target, WriteError, Writer};
use crate::db::schema::quote_ident;
use crate::db::Db;

/// The most placeholders one statement may have.
pub(super) const MAX_PLACEHOLDERS: usize = 65_535;

/// Whether the server may take a copy's string values as binary strings, which spares
/// it a character-set pass over every string parameter (a tenth of its work on text-
/// heavy rows). The bytes are UTF-8 (every session reads in utf8mb4), so this is exact
/// for utf8mb4 columns (still checked as UTF-8 when stored), binary columns and
/// non-text columns; a column in another character set is given its value through
/// `CONVERT(? USING utf8mb4)`, so the server converts it as before. A copy with SQL
/// defaults keeps a utf8mb4 session: their literals must be read as text. MariaDB
/// only: MySQL refuses binary strings for its JSON columns.
pub(super) fn binary_params(target: &Target, mariadb: bool) -> bool {
    mariadb
        && !target
            .columns
            .iter()
            .any(|c| matches!(c.cell, Cell::Sql(_)))
}

/// The placeholder for a value of target column `name` (see `binary_params`).
fn placeholder(target: &Target, name: &str, binary: bool) -> &'static str {
    let charset = target
        .table
        .columns
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.charset.as_deref());
    match charset {
        Some(cs) if binary && cs != "utf8mb4" => "CONVERT(? USING utf8mb4)",
        _ => "?",
    }
}

/// The mode's statement for a page in three parts: the prefix, the template of one
/// row (repeated once per row, comma-separated) and the suffix.
pub(super) fn parts(target: &Target, binary: bool) -> (String, String, String) {
    let verb = match target.mode {
        Mode::Insert => "INSERT IGNORE INTO",
        Mode::Overwrite => "REPLACE INTO",
        Mode::Upsert => "INSERT INTO",
    };
    let table = target.table.quoted_name();
    let cols: Vec<String> = target
        .columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect();
    let prefix = format!("{verb} {table} ({}) VALUES ", cols.join(", "));
    let cells: Vec<String> = target
        .columns
        .iter()
        .map(|c| match &c.cell {
            Cell::Sql(expr) => format!("({expr})"),
            Cell::Param => placeholder(target, &c.name, binary).to_string(),
        })
        .collect();
    let row_template = format!("({})", cells.join(", "));
    let suffix = if target.mode == Mode::Upsert {
        let mut sets: Vec<String> = target
            .columns
            .iter()
            .filter(|c| c.mapped)
            .map(|c| {
                let q = quote_ident(&c.name);
                format!("{q} = VALUES({q})")
            })
            .collect();
        if sets.is_empty() {
            let q = quote_ident(&target.columns[0].name);
            sets.push(format!("{q} = {q}"));
        }
        format!(" ON DUPLICATE KEY UPDATE {}", sets.join(", "))
    } else {
        String::new()
    };
    (prefix, row_template, suffix)
}

/// One row of the mode's statement with `literals` (one per parameter, in order) in
/// place of its placeholders, as `ferry explain` shows it.
pub(super) fn literal_row(target: &Target, binary: bool, literals: &[String]) -> String {
    let mut next = literals.iter();
    let cells: Vec<String> = target
        .columns
        .iter()
        .map(|c| match &c.cell {
            Cell::Sql(expr) => format!("({expr})"),
            Cell::Param => placeholder(target, &c.name, binary).replacen(
                '?',
                next.next().map_or("NULL", |s| s.as_str()),
                1,
            ),
        })
        .collect();
    format!("({})", cells.join(", "))
}

impl Writer {
    /// The prepared statement for `rows` rows. Statements are prepared once per
    /// connection and row count: the crate would otherwise hash and scan the whole
    /// statement text on every execution.
    pub(super) fn statement(&self, db: &mut Db, rows: usize) -> Result<Statement, WriteError> {
        let conn_id = db.conn().connection_id();
        let cached = self
            .statements
            .borrow()
            .get(&rows)
            .filter(|(id, _)| *id == conn_id)
            .map(|(_, st)| st.clone());
        if let Some(st) = cached {
            return Ok(st);
        }
        let st = db
            .conn()
            .prep(self.statement_sql(rows))
            .map_err(|e| WriteError::server(db, &self.writing(), e, None))?;
        let mut cache = self.statements.borrow_mut();
        // Stay well inside the crate's own statement cache (32), which closes what it
        // evicts.
        if cache.len() >= 16 {
            cache.clear();
        }
        cache.insert(rows, (conn_id, st.clone()));
        Ok(st)
    }

    /// The multi-row statement for `rows` rows.
    fn statement_sql(&self, rows: usize) -> String {
        let mut sql = String::with_capacity(
            self.prefix.len() + rows * (self.row_template.len() + 2) + self.suffix.len(),
        );
        sql.push_str(&self.prefix);
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&self.row_template);
        }
        sql.push_str(&self.suffix);
        sql
    }
}
