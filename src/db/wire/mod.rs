//! Rows that cross undecoded. A direct copy (no transform, no map function) into a
//! MariaDB target reads its source rows as the binary-protocol packets the server
//! sends and turns each one into a row of `COM_STMT_BULK_EXECUTE` parameters by
//! copying bytes: the value encodings are the same in both (integers are widened to
//! eight bytes). No `Value` is made, allocated or freed per row, which was most of
//! ferry's own CPU on such a copy.
//!
//! The request carries exactly what the crate would send for the decoded values:
//! the same parameter types (`BIGINT` for integers, `DATETIME` for dates and times of
//! day, `TIME`, `FLOAT`, `DOUBLE`, strings for everything else) and the same bytes.
//! A page is decoded into `Value`s only when it has to be written another way: row
//! by row to name a failing row, or by a writer that cannot bulk-execute.
//!
//! `layout` reads a result column's wire layout and builds a copy's [`RawLayout`];
//! `convert` turns one row (a result packet or a parameter row) into a parameter row;
//! `decode` turns parameter rows back into values; `rows` holds a page of them
//! ([`RawRows`]); `request` packs a page into bulk requests; `error` says what went
//! wrong ([`WireError`]).

mod convert;
mod decode;
mod error;
mod layout;
mod request;
mod rows;

use mysql::Value;

pub use error::WireError;
pub use layout::RawLayout;
pub use request::RequestError;
pub use rows::RawRows;

/// `COM_STMT_BULK_EXECUTE`'s indicator bytes.
const INDICATOR_NONE: u8 = 0;
const INDICATOR_NULL: u8 = 1;
/// `StmtExecuteParamFlags::UNSIGNED`.
const PARAM_UNSIGNED: u8 = 128;

/// Where a target value comes from in a raw copy.
#[derive(Debug, Clone, PartialEq)]
pub enum RawSource {
    /// Source column i.
    Column(usize),
    /// A fixed value (a `default`).
    Value(Value),
}

/// Rows and columns as a server writes them, for the tests of this folder.
#[cfg(test)]
mod packets {
    use mysql::consts::{ColumnFlags, ColumnType};
    use mysql::Column;

    pub fn column(t: ColumnType, flags: ColumnFlags) -> Column {
        Column::new(t).with_flags(flags)
    }

    /// A binary-protocol row packet for `values` of `columns`, as a server writes it.
    pub fn packet(columns: &[(ColumnType, ColumnFlags)], values: &[Option<&[u8]>]) -> Vec<u8> {
        let n = columns.len();
        let mut bitmap = vec![0u8; (n + 7 + 2) / 8];
        let mut body = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match v {
                None => bitmap[(i + 2) / 8] |= 1 << ((i + 2) % 8),
                Some(b) => body.extend_from_slice(b),
            }
        }
        let mut p = vec![0u8];
        p.extend(bitmap);
        p.extend(body);
        p
    }

    pub fn lenenc_str(s: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        mysql_common::io::BufMutExt::put_lenenc_str(&mut v, s);
        v
    }
}
