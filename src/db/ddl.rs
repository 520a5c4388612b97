//! Table definitions from one server made on another: a table's `SHOW CREATE TABLE`
//! split into the statement that creates it without its foreign keys (and without its
//! AUTO_INCREMENT counter) and the foreign keys, added once every table holds its
//! rows, so tables load in any order and cycles of foreign keys load at all. Also the
//! database's other objects (views, triggers, routines, events), listed so a plan can
//! say what it does not copy.

use mysql::prelude::Queryable;

use super::schema::quote_ident;
use super::Db;
use crate::error::{Error, Result};

/// A table's definition as the source server gives it, split for loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    pub table: String,
    /// `CREATE TABLE ...` without foreign keys and without `AUTO_INCREMENT=N`.
    pub create: String,
    /// Each foreign key's clause (`CONSTRAINT `fk` FOREIGN KEY (...) REFERENCES ...`).
    pub foreign_keys: Vec<String>,
}

impl TableDefinition {
    /// Splits `SHOW CREATE TABLE`'s text.
    pub fn parse(table: &str, text: &str) -> TableDefinition {
        let mut lines: Vec<String> = Vec::new();
        let mut foreign_keys = Vec::new();
        for line in text.lines() {
            let body = line.trim();
            if body.starts_with("CONSTRAINT ") && body.contains(" FOREIGN KEY ") {
                foreign_keys.push(body.trim_end_matches(',').to_string());
                continue;
            }
            if body.starts_with(')') {
                // The line before the table's options ends the column list: no comma.
                if let Some(last) = lines.last_mut() {
                    if last.ends_with(',') {
                        last.pop();
                    }
                }
                lines.push(without_auto_increment(line));
                continue;
            }
            lines.push(line.to_string());
        }
        TableDefinition {
            table: table.to_string(),
            create: lines.join("\n"),
            foreign_keys,
        }
    }
}

impl TableDefinition {
    /// The name of each foreign key, in the order of `foreign_keys`.
    pub fn foreign_key_names(&self) -> Vec<String> {
        self.foreign_keys
            .iter()
            .map(|f| constraint_name(f))
            .collect()
    }

    /// The definition with only the foreign keys not named in `present`.
    pub fn keys_missing_from(&self, present: &[String]) -> TableDefinition {
        TableDefinition {
            foreign_keys: self
                .foreign_keys
                .iter()
                .filter(|f| !present.contains(&constraint_name(f)))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }
}

/// The name in `` CONSTRAINT `a``b` FOREIGN KEY ... `` (`` a`b ``).
fn constraint_name(clause: &str) -> String {
    let rest = clause.strip_prefix("CONSTRAINT `").unwrap_or("");
    let mut name = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            if chars.peek() == Some(&'`') {
                chars.next();
            } else {
                break;
            }
        }
        name.push(c);
    }
    name
}

/// A table options line without its `AUTO_INCREMENT=N` (the target starts its own).
fn without_auto_increment(line: &str) -> String {
    line.split(' ')
        .filter(|w| !w.starts_with("AUTO_INCREMENT="))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What else a database holds besides tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbObject {
    /// `VIEW`, `TRIGGER`, `PROCEDURE`, `FUNCTION` or `EVENT`.
    pub kind: String,
    pub name: String,
    pub definer: String,
}

impl Db {
    /// `table`'s definition, split for loading.
    pub fn table_definition(&mut self, table: &str) -> Result<TableDefinition> {
        let sql = format!(
            "SHOW CREATE TABLE {}.{}",
            quote_ident(self.database()),
            quote_ident(table)
        );
        let context = format!("reading the definition of {table}");
        let row: Option<(String, String)> = self
            .conn
            .query_first(sql)
            .map_err(|e| self.err(&context, e))?;
        let (_, text) = row.ok_or_else(|| Error::database(context, "no such table"))?;
        Ok(TableDefinition::parse(table, &text))
    }

    /// Creates `def`'s table in this session's database, dropping a table of that name
    /// first when `replace`.
    pub fn create_table(&mut self, def: &TableDefinition, replace: bool) -> Result<()> {
        if replace {
            let drop = format!("DROP TABLE IF EXISTS {}", quote_ident(&def.table));
            self.exec(&drop, Vec::new())?;
        }
        self.exec(&def.create, Vec::new()).map(|_| ())
    }

    /// Adds `def`'s foreign keys to its table (one statement for all of them).
    pub fn add_foreign_keys(&mut self, def: &TableDefinition) -> Result<()> {
        if def.foreign_keys.is_empty() {
            return Ok(());
        }
        let adds: Vec<String> = def
            .foreign_keys
            .iter()
            .map(|f| format!("ADD {f}"))
            .collect();
        let sql = format!(
            "ALTER TABLE {} {}",
            quote_ident(&def.table),
            adds.join(", ")
        );
        self.exec(&sql, Vec::new()).map(|_| ())
    }

    /// The database's views, triggers, routines and events, by kind and name.
    pub fn other_objects(&mut self) -> Result<Vec<DbObject>> {
        let db = self.database().to_string();
        let rows: Vec<(String, String, String)> = self
            .conn
            .exec(
                "SELECT 'VIEW', TABLE_NAME, DEFINER FROM information_schema.VIEWS \
                   WHERE TABLE_SCHEMA = ? \
                 UNION ALL SELECT 'TRIGGER', TRIGGER_NAME, DEFINER \
                   FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? \
                 UNION ALL SELECT ROUTINE_TYPE, ROUTINE_NAME, DEFINER \
                   FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? \
                 UNION ALL SELECT 'EVENT', EVENT_NAME, DEFINER \
                   FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? \
                 ORDER BY 1, 2",
                (&db, &db, &db, &db),
            )
            .map_err(|e| self.err("listing views, triggers and routines", e))?;
        Ok(rows
            .into_iter()
            .map(|(kind, name, definer)| DbObject {
                kind,
                name,
                definer,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOWN: &str = "CREATE TABLE `order items` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `order_id` int(11) NOT NULL,
  `parent_id` int(11) DEFAULT NULL,
  `qty` int(11) NOT NULL CHECK (`qty` > 0),
  PRIMARY KEY (`id`),
  KEY `order_id` (`order_id`),
  CONSTRAINT `qty_positive` CHECK (`qty` < 1000),
  CONSTRAINT `fk_order` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_parent` FOREIGN KEY (`parent_id`) REFERENCES `order items` (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";

    #[test]
    fn foreign_keys_and_the_counter_are_split_off() {
        let def = TableDefinition::parse("order items", SHOWN);
        assert_eq!(
            def.foreign_keys,
            vec![
                "CONSTRAINT `fk_order` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE CASCADE",
                "CONSTRAINT `fk_parent` FOREIGN KEY (`parent_id`) REFERENCES `order items` (`id`)",
            ]
        );
        assert!(def
            .create
            .contains("CONSTRAINT `qty_positive` CHECK (`qty` < 1000)\n)"));
        assert!(def
            .create
            .ends_with(") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"));
        assert!(def.create.contains("`id` int(11) NOT NULL AUTO_INCREMENT,"));
        assert!(!def.create.contains("FOREIGN KEY"));
        assert_eq!(def.foreign_key_names(), ["fk_order", "fk_parent"]);
        let left = def.keys_missing_from(&["fk_order".to_string()]);
        assert_eq!(left.foreign_key_names(), ["fk_parent"]);
        assert_eq!(
            constraint_name("CONSTRAINT `a``b` FOREIGN KEY (`x`) REFERENCES `t` (`id`)"),
            "a`b"
        );
    }

    #[test]
    fn a_table_without_foreign_keys_is_kept_as_it_is() {
        let text = "CREATE TABLE `t` (\n  `a` int(11) DEFAULT NULL\n) ENGINE=InnoDB";
        let def = TableDefinition::parse("t", text);
        assert_eq!(def.create, text);
        assert!(def.foreign_keys.is_empty());
    }
}
