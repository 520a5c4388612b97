//! The SQL of `ferry verify`'s checksums: a table as the verifier hashes it
//! (`HashedTable`: key ranges as SQL, a range's count and hash sums, its (key, hash)
//! rows, rows by key or by hash, every hash; in `table` and `whole`), the canonical
//! text of a row as SQL (`rowtext`) and rows a processor produced rendered by the
//! target (`render`). Here: the plain data those reads return (a key range, a row hash,
//! a chunk summary, a row as a drill-down sees it, a row's column tokens). What to
//! compare, how to drill down and how to report stay in `verify`.

mod render;
pub(crate) mod rowtext;
mod table;
mod whole;

pub use render::{render_hashes, render_tokens, RenderColumn, RENDER_BATCH};
pub use rowtext::{Common, Family};
pub use table::HashedTable;

use crate::db::value::{to_text, Kind};
use crate::db::{Db, Rows, Value};
use crate::error::{Error, Result};

/// Per compared column, a value's text (`None`: NULL).
pub type Tokens = Vec<Option<Vec<u8>>>;

/// A key range: after `lower` (exclusive) up to `upper` (inclusive); `None`: open.
#[derive(Debug, Clone, Default)]
pub struct Range {
    pub lower: Option<Vec<Value>>,
    pub upper: Option<Vec<Value>>,
}

/// A row's SHA-256, from the 64 hex digits the server returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RowHash(pub [u8; 32]);

impl RowHash {
    pub fn parse(v: &Value) -> Option<RowHash> {
        let text = to_text(v, Kind::Bytes)?;
        let bytes = unhex(&text)?;
        Some(RowHash(bytes.try_into().ok()?))
    }

    /// The two summed slices: hex digits 1-15 and 16-30, as the servers sum them.
    pub fn slices(&self) -> (u128, u128) {
        let hex = crate::db::value::hex(&self.0);
        let part = |r: std::ops::Range<usize>| u64::from_str_radix(&hex[r], 16).unwrap_or(0);
        (part(0..15) as u128, part(15..30) as u128)
    }
}

/// A chunk's (or a table's) row count and hash sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub rows: u64,
    pub sums: (u128, u128),
}

impl Summary {
    pub fn add(&mut self, h: &RowHash) {
        let (a, b) = h.slices();
        self.rows += 1;
        self.sums.0 += a;
        self.sums.1 += b;
    }
}

/// A row as a drill-down sees it: key (for a keyless match, empty), key text, hash.
pub struct Entry {
    pub key: Vec<Value>,
    pub key_text: Vec<u8>,
    pub hash: RowHash,
    /// For rows a processor produced: the index of its values in the chunk.
    pub row: usize,
}

/// A token as the server returned it: `N` is NULL, else hex of the value's text.
pub fn untoken(v: &Value) -> Option<Vec<u8>> {
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
fn query(db: &mut Db, what: &str, sql: &str, params: Vec<Value>) -> Result<Rows> {
    db.query(sql, params).map_err(|e| match e {
        Error::Database { message, cause, .. } => Error::Database {
            context: format!("{} {}: {what}", db.role.name(), db.spec),
            message,
            cause,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
