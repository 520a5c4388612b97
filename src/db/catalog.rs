//! What the server holds: the database's tables with their sizes, and one table's
//! columns, keys, triggers and statistics read from information_schema into a
//! `TableInfo`.

use mysql::prelude::Queryable;

use super::schema::{is_possible_name, quote_ident, ColumnInfo, IndexInfo, TableInfo, TriggerInfo};
use super::value::{to_text, Kind};
use super::{Db, TableSummary, Value};
use crate::error::{Error, Result};

impl Db {
    /// Base tables of the database, with estimated rows and size.
    pub fn tables(&mut self) -> Result<Vec<TableSummary>> {
        let db = self.database().to_string();
        let rows: Vec<(String, Option<u64>, Option<u64>)> = self
            .conn
            .exec(
                "SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH \
                 FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
                (db,),
            )
            .map_err(|e| self.err("listing tables", e))?;
        Ok(rows
            .into_iter()
            .map(|(name, rows, bytes)| TableSummary {
                name,
                rows: rows.unwrap_or(0),
                bytes: bytes.unwrap_or(0),
            })
            .collect())
    }

    /// The schema of `table`, or `None` when the database has no such table.
    pub fn table_info(&mut self, table: &str) -> Result<Option<TableInfo>> {
        if !is_possible_name(table) {
            // The server would only answer with a collation error.
            return Ok(None);
        }
        let db = self.database().to_string();
        let context = format!("reading the columns of {table}");
        let est: Option<(String, Option<u64>, Option<u64>)> = self
            .conn
            .exec_first(
                "SELECT TABLE_NAME, TABLE_ROWS, AVG_ROW_LENGTH FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&db, table),
            )
            .map_err(|e| self.err(&context, e))?;
        let Some((name, estimated_rows, avg_row_bytes)) = est else {
            return Ok(None);
        };
        // Byte-exact name match: information_schema compares case-insensitively on
        // some setups.
        if name != table {
            return Ok(None);
        }
        let columns = self.columns_of(table, &context)?;
        let indexes = self.indexes_of(table, context)?;
        let triggers = self.triggers_of(table)?;
        Ok(Some(TableInfo {
            triggers,
            database: db,
            name: table.to_string(),
            columns,
            indexes,
            estimated_rows: estimated_rows.unwrap_or(0),
            avg_row_bytes: avg_row_bytes.unwrap_or(0),
        }))
    }

    /// The columns of `table`, in order.
    fn columns_of(&mut self, table: &str, context: &str) -> Result<Vec<ColumnInfo>> {
        let db = self.database().to_string();
        type ColRow = (
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let cols: Vec<ColRow> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT, \
                 COLUMN_KEY, EXTRA, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (&db, table),
            )
            .map_err(|e| self.err(context, e))?;
        Ok(cols
            .into_iter()
            .map(
                |(
                    name,
                    column_type,
                    data_type,
                    nullable,
                    default,
                    key,
                    extra,
                    charset,
                    collation,
                )| {
                    ColumnInfo {
                        name,
                        column_type,
                        data_type,
                        nullable: nullable == "YES",
                        default,
                        key,
                        extra,
                        charset: charset.filter(|c| c != "binary"),
                        collation: collation.filter(|c| c != "binary"),
                    }
                },
            )
            .collect())
    }

    /// The indexes of `table`, each with its columns in order.
    fn indexes_of(&mut self, table: &str, context: String) -> Result<Vec<IndexInfo>> {
        let db = self.database().to_string();
        let sql = format!(
            "SHOW INDEX FROM {}.{}",
            quote_ident(&db),
            quote_ident(table)
        );
        let result = self.query(&sql, vec![]).map_err(|e| match e {
            Error::Database { message, cause, .. } => Error::Database {
                context,
                message,
                cause,
            },
            other => other,
        })?;
        let col = |name: &str| result.columns.iter().position(|c| c.name == name);
        let (Some(ki), Some(ni), Some(ci), Some(nulli)) = (
            col("Key_name"),
            col("Non_unique"),
            col("Column_name"),
            col("Null"),
        ) else {
            return Err(Error::database(
                "reading indexes",
                "SHOW INDEX returned unexpected columns",
            ));
        };
        let mut indexes: Vec<IndexInfo> = Vec::new();
        for row in &result.rows {
            let name = text(&row[ki]);
            let unique = text(&row[ni]) == "0";
            let column = text(&row[ci]);
            let not_null = text(&row[nulli]) != "YES";
            match indexes.iter_mut().find(|i| i.name == name) {
                Some(i) => {
                    i.columns.push(column);
                    i.not_null &= not_null;
                }
                None => indexes.push(IndexInfo {
                    name,
                    unique,
                    columns: vec![column],
                    not_null,
                }),
            }
        }
        Ok(indexes)
    }

    /// The triggers of `table`, in the order they fire.
    fn triggers_of(&mut self, table: &str) -> Result<Vec<TriggerInfo>> {
        let db = self.database().to_string();
        let triggers: Vec<(String, String, String)> = self
            .conn
            .exec(
                "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION \
                 FROM information_schema.TRIGGERS \
                 WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? \
                 ORDER BY ACTION_TIMING DESC, EVENT_MANIPULATION, ACTION_ORDER",
                (&db, table),
            )
            .map_err(|e| self.err(&format!("reading the triggers of {table}"), e))?;
        Ok(triggers
            .into_iter()
            .map(|(name, timing, event)| TriggerInfo {
                name,
                timing,
                event,
            })
            .collect())
    }
}

fn text(v: &Value) -> String {
    to_text(v, Kind::Bytes)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
