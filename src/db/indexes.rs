//! Secondary indexes built after the load: a copy into an empty target table drops the
//! table's plain (non-unique) secondary indexes before its first page and adds them back
//! once its rows are in, as mydumper's `--optimize-keys` and pgloader do. InnoDB then
//! inserts each row into the primary key only, and builds every deferred index in one
//! sorted pass (`ALTER TABLE ... ADD KEY`), instead of one random B-tree insert per row
//! and index.
//!
//! Unique keys (and the primary key) stay: they decide what insert and upsert modes do
//! with a duplicate. Full-text and spatial indexes stay too, and so does every index of a
//! table that takes part in a foreign key (one side may need it).
//!
//! The indexes a copy dropped are recorded in its job state before they are dropped, so
//! a run that dies half-way (kill -9, a lost server) leaves that record behind: the next
//! run of the job, resumed or not, adds them back when the copy ends, and
//! `ferry state --clear` adds them back before it forgets the state.

use mysql::prelude::Queryable;
use serde::{Deserialize, Serialize};

use crate::db::schema::TableInfo;
use crate::db::Db;
use crate::error::Result;

/// Copies of fewer rows than this (as estimated) keep their indexes unless told
/// otherwise: the two statements cost more than the sorted build saves.
pub const DEFER_FROM_ROWS: u64 = 50_000;

/// One index taken off the target table for the load.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeferredIndex {
    pub name: String,
    /// Its definition as `SHOW CREATE TABLE` prints it, e.g. ``KEY `k_1` (`k`)``: what
    /// `ALTER TABLE ... ADD` takes back, prefix lengths, order and comments included.
    pub definition: String,
}

/// The indexes a copy took off its target table, to add back when it ends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Deferred {
    /// The target table, quoted: `db`.`table`.
    pub table: String,
    pub indexes: Vec<DeferredIndex>,
}

impl Deferred {
    pub fn names(&self) -> String {
        self.indexes
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// For the log: "2 secondary indexes of t built after the load (indexes a, b)".
    pub fn describe(&self, table: &str) -> String {
        let (what, index) = match self.indexes.len() {
            1 => ("1 secondary index".to_string(), "index"),
            n => (format!("{n} secondary indexes"), "indexes"),
        };
        format!(
            "{what} of {table} built after the load ({index} {})",
            self.names()
        )
    }
}

/// The plain secondary indexes of `create` (a `SHOW CREATE TABLE` text): lines of the
/// form ``KEY `name` (...)``, each with its name unquoted.
pub fn plain_indexes(create: &str) -> Vec<DeferredIndex> {
    create
        .lines()
        .filter_map(|line| {
            let def = line.trim();
            let def = def.strip_suffix(',').unwrap_or(def);
            let rest = def.strip_prefix("KEY `")?;
            let name = unquote(rest)?;
            Some(DeferredIndex {
                name,
                definition: def.to_string(),
            })
        })
        .collect()
}

/// The identifier at the start of `rest` (just after its opening backtick), with
/// doubled backticks undone; `None` when it does not close.
fn unquote(rest: &str) -> Option<String> {
    let mut name = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            if chars.peek() == Some(&'`') {
                chars.next();
                name.push('`');
            } else {
                return Some(name);
            }
        } else {
            name.push(c);
        }
    }
    None
}

/// Why a copy defers no index of its target (said in the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotDeferred {
    /// `SHOW CREATE TABLE` gave nothing.
    Unreadable,
    NoPlainIndex,
    ForeignKey,
    NotEmpty,
}

impl std::fmt::Display for NotDeferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotDeferred::Unreadable => "its definition could not be read",
            NotDeferred::NoPlainIndex => "it has no plain secondary index",
            NotDeferred::ForeignKey => "it takes part in a foreign key",
            NotDeferred::NotEmpty => "it is not empty",
        })
    }
}

/// What a copy into `table` would defer, or why it defers nothing (`Err` holds the
/// reason, for the log). Reads the target only; changes nothing.
pub fn deferrable(
    db: &mut Db,
    table: &TableInfo,
) -> Result<std::result::Result<Deferred, NotDeferred>> {
    let quoted = table.quoted_name();
    let create: Option<(String, String)> = db
        .conn()
        .query_first(format!("SHOW CREATE TABLE {quoted}"))
        .map_err(|e| db.err(&format!("reading the definition of {}", table.name), e))?;
    let Some((_, create)) = create else {
        return Ok(Err(NotDeferred::Unreadable));
    };
    let indexes = plain_indexes(&create);
    if indexes.is_empty() {
        return Ok(Err(NotDeferred::NoPlainIndex));
    }
    let foreign: Option<u64> = db
        .conn()
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE (CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?) \
                OR (UNIQUE_CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?)",
            (&table.database, &table.name, &table.database, &table.name),
        )
        .map_err(|e| db.err(&format!("reading the foreign keys of {}", table.name), e))?;
    if foreign.unwrap_or(0) > 0 {
        return Ok(Err(NotDeferred::ForeignKey));
    }
    let rows: Option<u8> = db
        .conn()
        .query_first(format!("SELECT 1 FROM {quoted} LIMIT 1"))
        .map_err(|e| db.err(&format!("reading {}", table.name), e))?;
    if rows.is_some() {
        return Ok(Err(NotDeferred::NotEmpty));
    }
    Ok(Ok(Deferred {
        table: quoted,
        indexes,
    }))
}

/// Names of the indexes `table` has now.
fn present(db: &mut Db, d: &Deferred) -> Result<Vec<String>> {
    let rows: Vec<mysql::Row> = db
        .conn()
        .query(format!("SHOW INDEX FROM {}", d.table))
        .map_err(|e| db.err(&format!("reading the indexes of {}", d.table), e))?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.get_opt::<String, _>("Key_name").and_then(|v| v.ok()))
        .collect())
}

/// Takes the deferred indexes off the table (those it still has: a copy running beside
/// this one into the same table may have taken them first).
pub fn drop_indexes(db: &mut Db, d: &Deferred) -> Result<()> {
    let have = present(db, d)?;
    let drops: Vec<String> = d
        .indexes
        .iter()
        .filter(|i| have.contains(&i.name))
        .map(|i| format!("DROP KEY {}", crate::db::schema::quote_ident(&i.name)))
        .collect();
    if drops.is_empty() {
        return Ok(());
    }
    db.conn()
        .query_drop(format!("ALTER TABLE {} {}", d.table, drops.join(", ")))
        .map_err(|e| db.err(&format!("taking the secondary indexes off {}", d.table), e))
}

/// Adds back the deferred indexes the table lacks, in one `ALTER TABLE` (one pass over
/// the rows for all of them). Returns the names it added.
pub fn rebuild(db: &mut Db, d: &Deferred) -> std::result::Result<Vec<String>, RebuildError> {
    let have = present(db, d).map_err(RebuildError::Other)?;
    let (names, adds): (Vec<String>, Vec<String>) = d
        .indexes
        .iter()
        .filter(|i| !have.contains(&i.name))
        .map(|i| (i.name.clone(), format!("ADD {}", i.definition)))
        .unzip();
    if names.is_empty() {
        return Ok(names);
    }
    db.conn()
        .query_drop(format!("ALTER TABLE {} {}", d.table, adds.join(", ")))
        .map_err(|e| {
            let what = format!(
                "adding the secondary indexes of {} back ({})",
                d.table,
                names.join(", ")
            );
            // An ALTER cut off with its connection may still be running on the server:
            // the next try waits for its lock and finds the indexes there, or finds a
            // duplicate name (1061) when they came back meanwhile.
            let transient = crate::db::is_transient(&e)
                || matches!(&e, mysql::Error::MySqlError(m) if m.code == 1061);
            let err = db.err(&what, e);
            if transient {
                RebuildError::Transient(err)
            } else {
                RebuildError::Other(err)
            }
        })?;
    Ok(names)
}

/// Why `rebuild` failed: a fault worth trying again after a reconnect, or not.
#[derive(Debug)]
pub enum RebuildError {
    Transient(crate::error::Error),
    Other(crate::error::Error),
}

impl From<RebuildError> for crate::error::Error {
    fn from(e: RebuildError) -> Self {
        match e {
            RebuildError::Transient(e) | RebuildError::Other(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn why_nothing_is_deferred() {
        assert_eq!(
            NotDeferred::Unreadable.to_string(),
            "its definition could not be read"
        );
        assert_eq!(
            NotDeferred::NoPlainIndex.to_string(),
            "it has no plain secondary index"
        );
        assert_eq!(
            NotDeferred::ForeignKey.to_string(),
            "it takes part in a foreign key"
        );
        assert_eq!(NotDeferred::NotEmpty.to_string(), "it is not empty");
    }

    #[test]
    fn plain_keys_are_read_from_show_create_table() {
        let create =
            "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` varchar(20) DEFAULT NULL,\n  \
            `b` int(11) NOT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`b`),\n  \
            KEY `k_1` (`a`(10),`b` DESC) COMMENT 'x, y,',\n  KEY `we``ird` (`b`),\n  \
            FULLTEXT KEY `ft` (`a`),\n  KEY `last` (`b`,`a`)\n) ENGINE=InnoDB";
        let got = plain_indexes(create);
        let names: Vec<&str> = got.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["k_1", "we`ird", "last"]);
        assert_eq!(
            got[0].definition,
            "KEY `k_1` (`a`(10),`b` DESC) COMMENT 'x, y,'"
        );
        assert_eq!(got[1].definition, "KEY `we``ird` (`b`)");
        assert_eq!(got[2].definition, "KEY `last` (`b`,`a`)");
    }
}
