//! The SQL of `lookup{...}`: the value columns of the row whose key column equals one
//! key (compared as the server compares, the column's collation included; at most two
//! rows, so a key that is not unique is told), the key and value columns of the rows
//! whose key is in a list (a page's keys, one `IN` query) or a range (close integer
//! keys), or those of every row of the table (`cache = "all"`). The cache and when to
//! ask are the job's (`crate::job::lookup`).

use crate::db::schema::quote_ident;
use crate::db::{Db, Rows, Value};
use crate::error::Result;

/// A lookup table's resolved names.
#[derive(Debug, Clone)]
pub struct LookupTable {
    pub table: String,
    pub key: String,
    pub values: Vec<String>,
}

impl LookupTable {
    fn columns(&self) -> String {
        let cols: Vec<String> = self.values.iter().map(|c| quote_ident(c)).collect();
        cols.join(", ")
    }

    fn from(&self, db: &Db) -> String {
        format!(
            "{}.{}",
            quote_ident(db.database()),
            quote_ident(&self.table)
        )
    }
}

impl Db {
    /// The value columns of the rows whose key is `key` (two at most).
    pub fn lookup_key(&mut self, l: &LookupTable, key: Value) -> Result<Rows> {
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = ? LIMIT 2",
            l.columns(),
            l.from(self),
            quote_ident(&l.key)
        );
        self.query(&sql, vec![key])
    }

    /// The key column, then the value columns, of the rows whose key is one of `keys`
    /// (one query: `key IN (?, ...)`, compared as `lookup_key` compares).
    pub fn lookup_keys(&mut self, l: &LookupTable, keys: Vec<Value>) -> Result<Rows> {
        let key = quote_ident(&l.key);
        let marks = vec!["?"; keys.len()].join(", ");
        let sql = format!(
            "SELECT {key}, {} FROM {} WHERE {key} IN ({marks})",
            l.columns(),
            l.from(self)
        );
        self.query(&sql, keys)
    }

    /// The key column, then the value columns, of the rows whose key is from `lo` to
    /// `hi` (an integer key column: one range read in place of an `IN` list of most of
    /// the keys in it).
    pub fn lookup_range(&mut self, l: &LookupTable, lo: i64, hi: i64) -> Result<Rows> {
        let key = quote_ident(&l.key);
        let sql = format!(
            "SELECT {key}, {} FROM {} WHERE {key} BETWEEN ? AND ?",
            l.columns(),
            l.from(self)
        );
        self.query(&sql, vec![Value::Int(lo), Value::Int(hi)])
    }

    /// The key column, then the value columns, of every row with a key that is not NULL.
    pub fn lookup_all(&mut self, l: &LookupTable) -> Result<Rows> {
        let key = quote_ident(&l.key);
        let sql = format!(
            "SELECT {key}, {} FROM {} WHERE {key} IS NOT NULL",
            l.columns(),
            l.from(self)
        );
        self.query(&sql, Vec::new())
    }
}
