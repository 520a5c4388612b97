//! One side of a comparison: a table as the verifier queries it (its key, the copy's
//! `where` on the source, the token of each compared column), key ranges as SQL, and
//! the reads: a range's count and hash sums, its (key, hash) rows, the values of rows
//! by key, every hash of a table. All computed by the server.

use std::collections::HashMap;

use mysql::prelude::Queryable;
use mysql::{Params, Value};

use super::rowtext::{self, Common, Family};
use super::{Compared, KeyMap};
use crate::db::keyset::{self, KeyColumn};
use crate::db::schema::{quote_ident, ColumnInfo};
use crate::db::value::{to_text, Kind};
use crate::db::{Db, Rows as DbRows};
use crate::error::{Error, Result};
use crate::plan::CopyPlan;

/// Per compared column, a value's text (`None`: NULL).
pub(super) type Tokens = Vec<Option<Vec<u8>>>;

/// A key range: after `lower` (exclusive) up to `upper` (inclusive); `None`: open.
#[derive(Debug, Clone, Default)]
pub(super) struct Range {
    pub(super) lower: Option<Vec<Value>>,
    pub(super) upper: Option<Vec<Value>>,
}

/// One side's table as the verifier queries it.
pub(super) struct Side {
    /// `db`.`table`
    pub(super) table: String,
    /// The copy's `where` (source only).
    pub(super) filter: Option<String>,
    /// Key columns, quoted; empty without a key.
    pub(super) key: Vec<String>,
    /// How the key columns compare (see `keyset`).
    pub(super) key_cols: Vec<KeyColumn>,
    /// Some key column may hold NULL (a target without a matching key): such rows go
    /// to the first chunk so they are not missed.
    pub(super) null_key: bool,
    /// Per compared column, its token (see `rowtext`).
    pub(super) tokens: Vec<String>,
    /// The tokens of the key columns.
    pub(super) key_tokens: Vec<String>,
}

impl Side {
    pub(super) fn source(plan: &CopyPlan, cols: &[Compared]) -> Side {
        let key: Vec<usize> = plan.key.clone().unwrap_or_default();
        let tokens: Vec<String> = cols
            .iter()
            .map(|c| match &c.source {
                Some((s, common)) => rowtext::column_token(&s.name, &Family::of(s), *common),
                None => "''".into(),
            })
            .collect();
        let key_tokens = key
            .iter()
            .filter_map(|&k| cols.iter().position(|c| c.carries == Some(k)))
            .map(|i| tokens[i].clone())
            .collect();
        Side {
            table: plan.source.quoted_name(),
            filter: plan.filter.clone(),
            key: key
                .iter()
                .map(|&k| quote_ident(&plan.source.columns[k].name))
                .collect(),
            key_cols: key
                .iter()
                .map(|&k| KeyColumn::new(&plan.source.columns[k]))
                .collect(),
            null_key: false,
            tokens,
            key_tokens,
        }
    }

    pub(super) fn target(plan: &CopyPlan, cols: &[Compared], keys: Option<&KeyMap>) -> Side {
        let tokens: Vec<String> = cols
            .iter()
            .map(|c| {
                let common = c.source.as_ref().map_or(Common::AsIs, |(_, k)| *k);
                rowtext::column_token(&c.target.name, &c.family, common)
            })
            .collect();
        let key_cols: Vec<&ColumnInfo> = keys
            .map(|k| k.compared.iter().map(|&i| &cols[i].target).collect())
            .unwrap_or_default();
        Side {
            table: plan.target.quoted_name(),
            filter: None,
            key: key_cols.iter().map(|c| quote_ident(&c.name)).collect(),
            key_cols: key_cols.iter().map(|c| KeyColumn::new(c)).collect(),
            null_key: key_cols.iter().any(|c| c.nullable),
            key_tokens: keys
                .map(|k| k.compared.iter().map(|&i| tokens[i].clone()).collect())
                .unwrap_or_default(),
            tokens,
        }
    }

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

    pub(super) fn order_by(&self) -> String {
        if self.key.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", self.key.join(", "))
        }
    }

    pub(super) fn hash(&self) -> String {
        rowtext::hash(&self.tokens)
    }

    pub(super) fn key_text(&self) -> String {
        rowtext::join(&self.key_tokens)
    }

    /// Count and hash sums of a range, computed by the server.
    pub(super) fn summary(&self, db: &mut Db, range: &Range, what: &str) -> Result<Summary> {
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
    pub(super) fn entries(&self, db: &mut Db, range: &Range, what: &str) -> Result<Vec<Entry>> {
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

    /// Per compared column, the values of the rows with `keys`, by key text.
    pub(super) fn tokens_by_key(
        &self,
        db: &mut Db,
        keys: &[&[Value]],
    ) -> Result<HashMap<Vec<u8>, Tokens>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let one = if self.key.len() == 1 {
            "?".to_string()
        } else {
            format!("({})", vec!["?"; self.key.len()].join(", "))
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

    /// Streams every row hash of the whole table (the copy's `where` applied).
    pub(super) fn each_hash(&self, db: &mut Db, mut f: impl FnMut(RowHash)) -> Result<()> {
        let (cond, params) = self.conditions(&Range::default())?;
        let sql = format!("SELECT {} FROM {}{cond}", self.hash(), self.table);
        let spec = db.spec.clone();
        let context = format!("{} {spec}: reading row hashes", db.role.name());
        let err = |m: String| Error::Database {
            context: context.clone(),
            message: m,
        };
        let params = if params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(params)
        };
        let mut result = db
            .conn()
            .exec_iter(&sql, params)
            .map_err(|e| err(spec.scrub(&crate::db::error_text(&e))))?;
        if let Some(set) = result.iter() {
            for row in set {
                let row = row.map_err(|e| err(spec.scrub(&crate::db::error_text(&e))))?;
                let v: Value = row.get(0).unwrap_or(Value::NULL);
                f(RowHash::parse(&v).ok_or_else(|| err("not a SHA-256".into()))?);
            }
        }
        Ok(())
    }
}

/// A row's SHA-256, from the 64 hex digits the server returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct RowHash(pub(super) [u8; 32]);

impl RowHash {
    pub(super) fn parse(v: &Value) -> Option<RowHash> {
        let text = to_text(v, Kind::Bytes)?;
        let bytes = unhex(&text)?;
        Some(RowHash(bytes.try_into().ok()?))
    }

    /// The two summed slices: hex digits 1-15 and 16-30, as the servers sum them.
    pub(super) fn slices(&self) -> (u128, u128) {
        let hex = crate::db::value::hex(&self.0);
        let part = |r: std::ops::Range<usize>| u64::from_str_radix(&hex[r], 16).unwrap_or(0);
        (part(0..15) as u128, part(15..30) as u128)
    }
}

/// A chunk's (or a table's) row count and hash sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Summary {
    pub(super) rows: u64,
    pub(super) sums: (u128, u128),
}

impl Summary {
    pub(super) fn add(&mut self, h: &RowHash) {
        let (a, b) = h.slices();
        self.rows += 1;
        self.sums.0 += a;
        self.sums.1 += b;
    }
}

/// A row as a drill-down sees it: key (for a keyless match, empty), key text, hash.
pub(super) struct Entry {
    pub(super) key: Vec<Value>,
    pub(super) key_text: Vec<u8>,
    pub(super) hash: RowHash,
    /// For rows a processor produced: the index of its values in the chunk.
    pub(super) row: usize,
}

/// A token as the server returned it: `N` is NULL, else hex of the value's text.
pub(super) fn untoken(v: &Value) -> Option<Vec<u8>> {
    let t = to_text(v, Kind::Bytes)?;
    if t == b"N" {
        None
    } else {
        unhex(&t)
    }
}

fn unhex(t: &[u8]) -> Option<Vec<u8>> {
    if !t.len().is_multiple_of(2) {
        return None;
    }
    t.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

fn count_of(v: &Value) -> u128 {
    to_text(v, Kind::Bytes)
        .and_then(|t| String::from_utf8(t).ok())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// Runs a query, naming what it was for in an error.
pub(super) fn query(db: &mut Db, what: &str, sql: &str, params: Vec<Value>) -> Result<DbRows> {
    db.query(sql, params).map_err(|e| match e {
        Error::Database { message, .. } => Error::Database {
            context: format!("{} {}: {what}", db.role.name(), db.spec),
            message,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let side = Side {
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

    #[test]
    fn hash_slices_match_the_server_substrings() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0x12;
        bytes[7] = 0xab;
        let h = RowHash(bytes);
        // Digits 1-15: 12 00 00 00 00 00 00 a -> 0x12000000000000a
        assert_eq!(h.slices().0, 0x12000000000000a);
        // Digits 16-30 start with the low nibble of byte 7.
        assert_eq!(h.slices().1, 0xb00000000000000);
    }

    #[test]
    fn tokens_decode() {
        assert_eq!(untoken(&Value::Bytes(b"N".to_vec())), None);
        assert_eq!(untoken(&Value::Bytes(b"".to_vec())), Some(vec![]));
        assert_eq!(untoken(&Value::Bytes(b"4E".to_vec())), Some(b"N".to_vec()));
    }
}
