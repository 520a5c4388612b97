//! Every call into what the vendored mysql crate adds to its upstream release
//! (`vendor/README.md`): the two methods that let rows cross undecoded, and the
//! TLS-optional login of `ssl-mode=preferred`. Nothing else in ferry uses them, so a
//! move to a new upstream release changes this file and `vendor/` only.

use mysql::prelude::AsStatement;
use mysql::{Column, Conn, Params, SslOpts};

/// Executes a prepared statement and hands each row packet of its result to `row` as
/// the server sent it, with the result's columns, never decoded.
pub fn exec_raw_rows<S, P, F>(conn: &mut Conn, stmt: S, params: P, row: F) -> mysql::Result<()>
where
    S: AsStatement,
    P: Into<Params>,
    F: FnMut(&[Column], &[u8]),
{
    conn.exec_raw_rows(stmt, params, row)
}

/// Sends a `COM_STMT_BULK_EXECUTE` packet serialized by the caller (`raw`) and reads
/// its result; affected rows, info and warnings are then read as after any statement.
pub fn exec_bulk_raw(conn: &mut Conn, packet: &[u8]) -> mysql::Result<()> {
    conn.exec_bulk_raw(packet)
}

/// TLS when the server offers it, else a plain login on the same connection
/// (`ssl-mode=preferred`), instead of failing and leaving that connection
/// unauthenticated.
pub fn tls_optional(ssl: SslOpts, optional: bool) -> SslOpts {
    ssl.with_tls_optional(optional)
}
