//! The foreign keys of the session's database, read from information_schema: which
//! table references which, on which columns, and whether the referencing columns may
//! be NULL (a nullable foreign key can be filled in after its parent rows, which is
//! how a cycle of foreign keys is loaded).

use mysql::prelude::Queryable;

use super::Db;
use crate::error::Result;

/// One foreign key: `table (columns)` references `parent (parent_columns)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub parent: String,
    /// The parent's database (the session's own, unless the key crosses databases).
    pub parent_database: String,
    pub parent_columns: Vec<String>,
    /// Every referencing column may be NULL.
    pub nullable: bool,
}

impl ForeignKey {
    /// The key references its own table (a tree: an employee's manager).
    pub fn is_self_reference(&self) -> bool {
        self.table == self.parent
    }
}

impl Db {
    /// Every foreign key of the session's database, by table, name and column order.
    pub fn foreign_keys(&mut self) -> Result<Vec<ForeignKey>> {
        let db = self.database().to_string();
        type Row = (String, String, String, String, String, String, String);
        let rows: Vec<Row> = self
            .conn
            .exec(
                "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, \
                        k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, \
                        k.REFERENCED_COLUMN_NAME, c.IS_NULLABLE \
                 FROM information_schema.KEY_COLUMN_USAGE k \
                 JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = k.TABLE_SCHEMA \
                   AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME \
                 WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL \
                 ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
                (db,),
            )
            .map_err(|e| self.err("reading the foreign keys", e))?;
        let mut keys: Vec<ForeignKey> = Vec::new();
        for (table, name, column, parent_db, parent, parent_column, nullable) in rows {
            let same = keys
                .last()
                .is_some_and(|k| k.table == table && k.name == name);
            if !same {
                keys.push(ForeignKey {
                    name,
                    table,
                    columns: Vec::new(),
                    parent,
                    parent_database: parent_db,
                    parent_columns: Vec::new(),
                    nullable: true,
                });
            }
            let key = keys.last_mut().expect("pushed above");
            key.columns.push(column);
            key.parent_columns.push(parent_column);
            key.nullable &= nullable == "YES";
        }
        Ok(keys)
    }
}
