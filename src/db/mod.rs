//! The only module that speaks SQL or imports the mysql crate. Here: one session, set up
//! the way ferry needs it (UTC, utf8mb4, and on the target an sql_mode that takes
//! whatever the source holds, zero dates included), with queries through the binary
//! protocol (so FLOAT is exact) and statements; and, each in its own file, the typed
//! reads and writes the layers above ask for: the catalog and table schemas (`catalog`,
//! `schema`), keyset pages (`keyset`, `read`, `stream`), page writes (`write`,
//! `load_data`, `packed`, and `wire` for rows that cross undecoded), key ranges and
//! incremental marks (`ranges`, `window`), the state store and checkpoints (`state`,
//! `checkpoint`), the run lock (`lock`), deferred indexes (`indexes`), verify's hashes
//! (`checksum`), a job's hook statements and checks (`hooks`), lookups (`lookup`), the
//! REPL's peek and the demo's data. Server errors come back as `Error::Database` with what was being done
//! and the driver's error as its cause; passwords never appear.

pub(crate) mod catalog;
pub(crate) mod check_env;
pub(crate) mod check_keys;
mod checkpoint;
pub(crate) mod checksum;
pub(crate) mod closure;
pub(crate) mod connect;
pub mod ddl;
pub(crate) mod demo_data;
mod errors;
mod fault;
pub(crate) mod fork;
mod grants;
pub(crate) mod hazards;
pub(crate) mod hooks;
pub(crate) mod indexes;
pub mod keylist;
pub mod keyset;
pub(crate) mod load_data;
mod lock;
pub(crate) mod lookup;
pub(crate) mod objects;
pub(crate) mod packed;
mod peek;
pub(crate) mod predicate;
mod ranges;
pub(crate) mod read;
pub mod relations;
pub(crate) mod sample_state;
pub(crate) mod schema;
mod schema_cache;
mod session;
pub(crate) mod shape;
pub(crate) mod state;
pub(crate) mod stream;
pub(crate) mod value;
pub(crate) mod window;
pub(crate) mod wire;
pub(crate) mod write;

/// The value of one column of one row, as the client library reads it: every other
/// layer names it `db::Value`, so the mysql crate stays inside this module.
pub use mysql::Value;

pub use errors::{backoff, error_text, io_error, is_transient};
use errors::{connect_message, refused_as_read_only, READ_ONLY_HINT};
pub use fault::Fault;

use mysql::prelude::Queryable;
use mysql::{Conn, Params};

use crate::conn_spec::{ConnSpec, SslMode};
use crate::db::schema::quote_ident;
use crate::db::value::ColMeta;
use crate::error::{Error, Result};

/// The target's sql_mode: strict, so a value that does not fit is an error instead of a
/// silent change, but with no NO_ZERO_DATE / NO_ZERO_IN_DATE, so zero and partial dates
/// the source holds are accepted; NO_AUTO_VALUE_ON_ZERO keeps an id of 0 as 0.
pub const TARGET_SQL_MODE: &str =
    "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION,ALLOW_INVALID_DATES";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Source,
    Target,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Target => "target",
        }
    }

    /// The variable a password comes from when the URL names none.
    pub fn password_env(self) -> &'static str {
        match self {
            Role::Source => "FERRY_SOURCE_PASSWORD",
            Role::Target => "FERRY_TARGET_PASSWORD",
        }
    }
}

pub struct Db {
    /// Dropped by hand in `Drop`, before the session is counted closed.
    conn: std::mem::ManuallyDrop<Conn>,
    pub spec: ConnSpec,
    pub role: Role,
    /// The server's max_allowed_packet, to size multi-row statements under it.
    pub max_packet: usize,
    pub version: String,
    /// The TLS cipher of the session (`TLS_AES_256_GCM_SHA384`), `None` when plain.
    pub cipher: Option<String>,
    /// String parameters arrive as binary strings (`character_set_client = binary`);
    /// see `Writer`.
    pub binary_params: bool,
}

/// A table as `ferry tables` lists it.
#[derive(Debug, Clone)]
pub struct TableSummary {
    pub name: String,
    pub rows: u64,
    pub bytes: u64,
}

/// The result of a query: column metadata and rows.
#[derive(Debug, Default)]
pub struct Rows {
    pub columns: Vec<ColMeta>,
    pub rows: Vec<Vec<Value>>,
}

/// Sessions open in this process (`Db` values alive), so the process can wait for
/// threads still closing theirs before it exits (`wait_for_sessions`).
static OPEN_SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for Db {
    fn drop(&mut self) {
        // The driver's drop sends COM_QUIT; only then is the session closed, so a
        // process waiting for its sessions (`wait_for_sessions`) never exits between.
        // SAFETY: `conn` is not used again: this is `Db`'s drop.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.conn) };
        OPEN_SESSIONS.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The number of sessions open in this process.
pub fn open_sessions() -> usize {
    OPEN_SESSIONS.load(std::sync::atomic::Ordering::SeqCst)
}

/// Waits, at most `limit`, until every session of the process is closed: a copy's
/// reader and writer threads end on their own after the run returns (a stopped stream
/// reads out its killed query first), and a process that exits under them drops their
/// connections without COM_QUIT, which the server logs as "Aborted connection".
/// Sessions that stay open three seconds without any other closing are taken as held
/// for good (not closing), and the wait ends: on a loaded machine a stopped copy's
/// threads can take over a second to finish the page in flight.
pub fn wait_for_sessions(limit: std::time::Duration) {
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + limit;
    let (mut open, mut since) = (open_sessions(), Instant::now());
    while open > 0 && Instant::now() < deadline && since.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(5));
        let now = open_sessions();
        if now < open {
            since = Instant::now();
        }
        open = now;
    }
}

impl Db {
    /// Opens a session for `role`. The spec's password is read first (see
    /// `ConnSpec::resolve`); a missing variable or an unreadable file is a usage error.
    pub fn connect(spec: &ConnSpec, role: Role) -> Result<Db> {
        let spec = spec
            .resolve(role.password_env())
            .map_err(|m| Error::usage(format!("{} {spec}: {m}", role.name())))?;
        let conn = connect::connect(&spec).map_err(|e| Error::Connect {
            url: spec.to_string(),
            message: spec.scrub(&connect_message(&e, &spec)),
        })?;
        let mut db = Db {
            conn: std::mem::ManuallyDrop::new(conn),
            spec,
            role,
            max_packet: 4 << 20,
            version: String::new(),
            cipher: None,
            binary_params: false,
        };
        OPEN_SESSIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if db.spec.tls.mode() != SslMode::Disabled && db.spec.socket.is_none() {
            let row: Option<(String, String)> = db
                .conn
                .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                .map_err(|e| db.err("reading the TLS status", e))?;
            db.cipher = row.map(|(_, c)| c).filter(|c| !c.is_empty());
            // Belt and braces: the driver never sends a TLS-required session in the
            // clear, and this proves it from the server's side.
            if db.cipher.is_none() && db.spec.tls.mode().requires_tls() {
                return Err(Error::Connect {
                    url: db.spec.to_string(),
                    message: format!(
                        "ssl-mode={} was asked, but the server reports a session without TLS",
                        db.spec.tls.mode().name()
                    ),
                });
            }
        }
        let mut setup = vec![
            "SET time_zone = '+00:00'".to_string(),
            "SET NAMES utf8mb4".to_string(),
        ];
        if role == Role::Source && !db.spec.writable {
            // The source is only read (keyset SELECTs, COUNT, MAX, SHOW): a write through
            // `src:exec`, or a target passed as the source by mistake, is refused.
            setup.push("SET SESSION TRANSACTION READ ONLY".into());
        }
        if role == Role::Target {
            setup.push(format!("SET SESSION sql_mode = '{TARGET_SQL_MODE}'"));
            setup.push("SET SESSION max_error_count = 65535".into());
            setup.push("SET SESSION foreign_key_checks = 0".into());
        }
        for stmt in &setup {
            db.conn
                .query_drop(stmt)
                .map_err(|e| db.err("setting up the session", e))?;
        }
        let row: Option<(u64, String)> = db
            .conn
            .query_first("SELECT @@max_allowed_packet, VERSION()")
            .map_err(|e| db.err("reading server settings", e))?;
        if let Some((packet, version)) = row {
            db.max_packet = packet as usize;
            db.version = version;
        }
        Ok(db)
    }

    /// Whether the server is MariaDB (which has bulk execution of prepared statements).
    pub fn is_mariadb(&self) -> bool {
        self.version.contains("MariaDB")
    }

    /// The database this session works in.
    pub fn database(&self) -> &str {
        &self.spec.database
    }

    /// Wraps a server error with what was being done and on which side.
    pub fn err(&self, context: &str, e: mysql::Error) -> Error {
        let mut message = self.spec.scrub(&error_text(&e));
        if self.role == Role::Source && !self.spec.writable && refused_as_read_only(&e) {
            message.push_str(READ_ONLY_HINT);
        }
        // The context may quote SQL the job built, password and all.
        Error::Database {
            context: self
                .spec
                .scrub(&format!("{} {}: {context}", self.role.name(), self.spec)),
            message,
            cause: Some(std::sync::Arc::new(e)),
        }
    }

    pub(in crate::db) fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Runs a query and collects its rows. Uses the binary protocol (exact FLOAT,
    /// typed dates) and falls back to the text protocol for statements the server
    /// cannot prepare.
    pub fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<Rows> {
        let context = format!("running `{}`", short_sql(sql));
        let params = if params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(params)
        };
        let no_params = matches!(params, Params::Empty);
        match collect(self.conn.exec_iter(sql, params)) {
            Err(mysql::Error::MySqlError(ref e)) if e.code == 1295 && no_params => {
                collect(self.conn.query_iter(sql)).map_err(|e| self.err(&context, e))
            }
            other => other.map_err(|e| self.err(&context, e)),
        }
    }

    /// Runs a statement; returns the affected-row count.
    pub fn exec(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        let context = format!("running `{}`", short_sql(sql));
        let r = if params.is_empty() {
            self.conn.query_drop(sql)
        } else {
            self.conn.exec_drop(sql, Params::Positional(params))
        };
        r.map_err(|e| self.err(&context, e))?;
        Ok(self.conn.affected_rows())
    }

    /// `SELECT COUNT(*)` of a table, optionally filtered.
    pub fn count(&mut self, table: &str, filter: Option<&str>) -> Result<u64> {
        let mut sql = format!(
            "SELECT COUNT(*) FROM {}.{}",
            quote_ident(self.database()),
            quote_ident(table)
        );
        if let Some(w) = filter {
            sql.push_str(&format!(" WHERE ({w})"));
        }
        let n: Option<u64> = self
            .conn
            .query_first(&sql)
            .map_err(|e| self.err(&format!("counting rows of {table}"), e))?;
        Ok(n.unwrap_or(0))
    }

    /// The server's warnings for the last statement (level, code, message).
    pub fn warnings(&mut self) -> Result<Vec<(String, u32, String)>> {
        self.conn
            .query("SHOW WARNINGS")
            .map_err(|e| self.err("reading warnings", e))
    }
}

fn collect<P: mysql::prelude::Protocol>(
    result: mysql::Result<mysql::QueryResult<'_, '_, '_, P>>,
) -> mysql::Result<Rows> {
    let mut result = result?;
    let mut out = Rows::default();
    if let Some(set) = result.iter() {
        out.columns = set
            .columns()
            .as_ref()
            .iter()
            .map(ColMeta::from_column)
            .collect();
        for row in set {
            out.rows.push(row?.unwrap());
        }
    }
    Ok(out)
}

/// The first line of a statement, shortened for messages.
pub fn short_sql(sql: &str) -> String {
    let one_line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 120 {
        let s: String = one_line.chars().take(117).collect();
        format!("{s}...")
    } else {
        one_line
    }
}
