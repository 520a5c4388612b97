//! A table as `ferry verify` hashes it (`HashedTable`: its key, the copy's `where` on
//! the source, the token of each compared column), key ranges as SQL, and the reads of
//! a key range: chunk boundaries, a range's count and hash sums, its (key, hash) rows,
//! its rows, and the values of rows by key. All computed by the server; which table and
//! which columns is the verifier's to say. The whole-table reads are in `whole`.

use std::collections::HashMap;

use super::{count_of, query, rowtext, untoken, Entry, Range, RowHash, Summary, Tokens};
use crate::db::keyset::{self, KeyColumn};
use crate::db::value::{to_text, Kind};
use crate::db::{Db, Value};
use crate::error::{Error, Result};

/// One side's table as the verifier queries it.
pub struct HashedTable {
    /// `db`.`table`
    pub table: String,
    /// The copy's `where` (source only).
    pub filter: Option<String>,
    /// Key columns, quoted; empty without a key.
    pub key: Vec<String>,
    /// How the key columns compare (see `keyset`).
    pub key_cols: Vec<KeyColumn>,
    /// Some key column may hold NULL (a target without a matching key): such rows go
    /// to the first chunk so they are not missed.
    pub null_key: bool,
    /// Per compared column, its token (see `rowtext`).
    pub tokens: Vec<String>,
    /// The tokens of the key columns.
    pub key_tokens: Vec<String>,
}

impl HashedTable {
    /// ` WHERE ...` for the copy's `where` and a key range, with its parameters.
    pub(super) fn conditions(&self, range: &Range) -> Result<(String, Vec<Value>)> {
        let mut conds = Vec::new();
        let mut params = Vec::new();
        if let Some(f) = &self.filter {
            conds.push(format!("({f})"));
        }
        if let Some(lower) = &range.lower {
            conds.push(keyset::after(&self.key_cols, lower, &mut params)?);
        }
        if let Some(upper) = &range.upper {
            let mut c = format!("NOT {}", keyset::after(&self.key_cols, upper, &mut params)?);
            if self.null_key && range.lower.is_none() {
                let nulls: Vec<String> = self.key.iter().map(|k| format!("{k} IS NULL")).collect();
                c = format!("({c} OR {})", nulls.join(" OR "));
            }
            conds.push(c);
        }
        Ok(if conds.is_empty() {
            (String::new(), params)
        } else {
            (format!(" WHERE {}", conds.join(" AND ")), params)
        })
    }

    fn order_by(&self) -> String {
        if self.key.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", self.key.join(", "))
        }
    }

    pub(super) fn hash(&self) -> String {
        rowtext::hash(&self.tokens)
    }

    fn key_text(&self) -> String {
        rowtext::join(&self.key_tokens)
    }

    /// The key of the row `offset` rows after `lower` (from the start when `None`), in
    /// key order: a chunk boundary; `None` past the end.
    pub fn key_at_offset(
        &self,
        db: &mut Db,
        lower: Option<Vec<Value>>,
        offset: u64,
    ) -> Result<Option<Vec<Value>>> {
        let keys = self.key.join(", ");
        let (cond, params) = self.conditions(&Range { lower, upper: None })?;
        let sql = format!(
            "SELECT {keys} FROM {}{cond} ORDER BY {keys} LIMIT 1 OFFSET {offset}",
            self.table
        );
        let rows = query(db, "finding chunk boundaries", &sql, params)?;
        Ok(rows.rows.into_iter().next())
    }

    /// Whether any row comes after `lower` in key order.
    pub fn has_rows_after(&self, db: &mut Db, lower: &[Value]) -> Result<bool> {
        let (cond, params) = self.conditions(&Range {
            lower: Some(lower.to_vec()),
            upper: None,
        })?;
        let sql = format!("SELECT 1 FROM {}{cond} LIMIT 1", self.table);
        Ok(!query(db, "finding chunk boundaries", &sql, params)?
            .rows
            .is_empty())
    }

    /// Count and hash sums of a range, computed by the server.
    pub fn summary(&self, db: &mut Db, range: &Range, what: &str) -> Result<Summary> {
        let (cond, params) = self.conditions(range)?;
        // For a key range, LIMIT keeps the derived table from being merged into the
        // outer query, so each row's hash is computed once (a small in-memory table); a
        // whole table is left merged rather than materialised.
        let limit = if range.lower.is_some() || range.upper.is_some() {
            " LIMIT 18446744073709551615"
        } else {
            ""
        };
        let sql = format!(
            "SELECT COUNT(*), \
             SUM(CAST(CONV(SUBSTRING(h, 1, 15), 16, 10) AS UNSIGNED)), \
             SUM(CAST(CONV(SUBSTRING(h, 16, 15), 16, 10) AS UNSIGNED)) \
             FROM (SELECT {} AS h FROM {}{cond}{limit}) AS v",
            self.hash(),
            self.table
        );
        let rows = query(db, &format!("checksumming {what}"), &sql, params)?;
        let r = rows.rows.first().ok_or_else(|| {
            Error::database(format!("checksumming {what}"), "the server returned no row")
        })?;
        Ok(Summary {
            rows: count_of(&r[0]) as u64,
            sums: (count_of(&r[1]), count_of(&r[2])),
        })
    }

    /// (key, key text, hash) of every row of a range, in key order.
    pub fn entries(&self, db: &mut Db, range: &Range, what: &str) -> Result<Vec<Entry>> {
        let (cond, params) = self.conditions(range)?;
        let n = self.key.len();
        let key_cols = if n == 0 {
            String::new()
        } else {
            format!("{}, ", self.key.join(", "))
        };
        let sql = format!(
            "SELECT {key_cols}{}, {} FROM {}{cond}{}",
            self.key_text(),
            self.hash(),
            self.table,
            self.order_by()
        );
        let rows = query(db, &format!("reading row hashes of {what}"), &sql, params)?;
        rows.rows
            .into_iter()
            .map(|mut r| {
                let hash = RowHash::parse(&r[n + 1]).ok_or_else(|| {
                    Error::database(format!("reading row hashes of {what}"), "not a SHA-256")
                })?;
                let key_text = to_text(&r[n], Kind::Bytes).unwrap_or_default();
                r.truncate(n);
                Ok(Entry {
                    key: r,
                    key_text,
                    hash,
                    row: 0,
                })
            })
            .collect()
    }

    /// `columns` (quoted) of every row of a range, in key order.
    pub fn rows(
        &self,
        db: &mut Db,
        columns: &[String],
        range: &Range,
        what: &str,
    ) -> Result<Vec<Vec<Value>>> {
        let (cond, params) = self.conditions(range)?;
        let sql = format!(
            "SELECT {} FROM {}{cond}{}",
            columns.join(", "),
            self.table,
            self.order_by()
        );
        Ok(query(db, &format!("reading {what}"), &sql, params)?.rows)
    }

    /// Per compared column, the values of the rows with `keys`, by key text.
    pub fn tokens_by_key(
        &self,
        db: &mut Db,
        keys: &[&[Value]],
    ) -> Result<HashMap<Vec<u8>, Tokens>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        // Text parameters in each column's own character set and collation (see
        // `KeyColumn::placeholder`).
        let marks: Vec<String> = self.key_cols.iter().map(|k| k.placeholder()).collect();
        let one = if self.key.len() == 1 {
            marks[0].clone()
        } else {
            format!("({})", marks.join(", "))
        };
        let lhs = if self.key.len() == 1 {
            self.key[0].clone()
        } else {
            format!("({})", self.key.join(", "))
        };
        let sql = format!(
            "SELECT {}, {} FROM {} WHERE {lhs} IN ({})",
            self.key_text(),
            self.tokens.join(", "),
            self.table,
            vec![one; keys.len()].join(", ")
        );
        let params: Vec<Value> = keys.iter().flat_map(|k| k.iter().cloned()).collect();
        let rows = query(db, "reading the changed rows", &sql, params)?;
        Ok(rows
            .rows
            .into_iter()
            .map(|r| {
                let key = to_text(&r[0], Kind::Bytes).unwrap_or_default();
                (key, r[1..].iter().map(untoken).collect())
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::ColumnInfo;

    fn int_col(name: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            column_type: "int(11)".into(),
            data_type: "int".into(),
            nullable: false,
            default: None,
            key: "PRI".into(),
            extra: String::new(),
            charset: None,
            collation: None,
        }
    }

    #[test]
    fn chunk_ranges_use_keyset_conditions() {
        let side = HashedTable {
            table: "`d`.`t`".into(),
            filter: Some("x > 1".into()),
            key: vec!["`a`".into(), "`b`".into()],
            key_cols: ["a", "b"]
                .iter()
                .map(|n| KeyColumn::new(&int_col(n)))
                .collect(),
            null_key: true,
            tokens: vec![],
            key_tokens: vec![],
        };
        let (sql, params) = side
            .conditions(&Range {
                lower: None,
                upper: Some(vec![Value::Int(5), Value::Int(6)]),
            })
            .unwrap();
        assert_eq!(
            sql,
            " WHERE (x > 1) AND (NOT ((`a` > ?) OR ((`a` = ?) AND (`b` > ?))) OR `a` IS NULL OR `b` IS NULL)"
        );
        assert_eq!(params, vec![Value::Int(5), Value::Int(5), Value::Int(6)]);
        let (sql, _) = side
            .conditions(&Range {
                lower: Some(vec![Value::Int(1), Value::Int(2)]),
                upper: Some(vec![Value::Int(5), Value::Int(6)]),
            })
            .unwrap();
        assert!(!sql.contains("IS NULL"), "{sql}");
    }
}
