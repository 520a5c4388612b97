//! One MySQL/MariaDB session, set up the way ferry needs it (UTC, utf8mb4, and on the
//! target an sql_mode that takes whatever the source holds, zero dates included), plus
//! the reads every other layer builds on: table lists, table schemas, queries through
//! the binary protocol (so FLOAT is exact) and statements. Server errors come back as
//! `Error::Database` with what was being done; passwords never appear.

use mysql::prelude::Queryable;
use mysql::{Conn, Params, Value};

use crate::conn_spec::{tls_failure, ConnSpec, SslMode};
use crate::error::{Error, Result};
use crate::schema::{is_possible_name, quote_ident, ColumnInfo, IndexInfo, TableInfo, TriggerInfo};
use crate::value::{to_text, ColMeta, Kind};

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
        let conn = spec.connect().map_err(|e| Error::Connect {
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
        }
    }

    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Base tables of the database, with estimated rows and size.
    pub fn tables(&mut self) -> Result<Vec<TableSummary>> {
        let db = self.database().to_string();
        let rows: Vec<(String, Option<u64>, Option<u64>)> = self
            .conn
            .exec(
                "SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH \
                 FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
                (db,),
            )
            .map_err(|e| self.err("listing tables", e))?;
        Ok(rows
            .into_iter()
            .map(|(name, rows, bytes)| TableSummary {
                name,
                rows: rows.unwrap_or(0),
                bytes: bytes.unwrap_or(0),
            })
            .collect())
    }

    /// The schema of `table`, or `None` when the database has no such table.
    pub fn table_info(&mut self, table: &str) -> Result<Option<TableInfo>> {
        if !is_possible_name(table) {
            // The server would only answer with a collation error.
            return Ok(None);
        }
        let db = self.database().to_string();
        let context = format!("reading the columns of {table}");
        let est: Option<(String, Option<u64>, Option<u64>)> = self
            .conn
            .exec_first(
                "SELECT TABLE_NAME, TABLE_ROWS, AVG_ROW_LENGTH FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&db, table),
            )
            .map_err(|e| self.err(&context, e))?;
        let Some((name, estimated_rows, avg_row_bytes)) = est else {
            return Ok(None);
        };
        // Byte-exact name match: information_schema compares case-insensitively on
        // some setups.
        if name != table {
            return Ok(None);
        }
        type ColRow = (
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let cols: Vec<ColRow> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT, \
                 COLUMN_KEY, EXTRA, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (&db, table),
            )
            .map_err(|e| self.err(&context, e))?;
        let columns = cols
            .into_iter()
            .map(
                |(
                    name,
                    column_type,
                    data_type,
                    nullable,
                    default,
                    key,
                    extra,
                    charset,
                    collation,
                )| {
                    ColumnInfo {
                        name,
                        column_type,
                        data_type,
                        nullable: nullable == "YES",
                        default,
                        key,
                        extra,
                        charset: charset.filter(|c| c != "binary"),
                        collation: collation.filter(|c| c != "binary"),
                    }
                },
            )
            .collect();
        let sql = format!(
            "SHOW INDEX FROM {}.{}",
            quote_ident(&db),
            quote_ident(table)
        );
        let result = self.query(&sql, vec![]).map_err(|e| match e {
            Error::Database { message, .. } => Error::Database { context, message },
            other => other,
        })?;
        let col = |name: &str| result.columns.iter().position(|c| c.name == name);
        let (Some(ki), Some(ni), Some(ci), Some(nulli)) = (
            col("Key_name"),
            col("Non_unique"),
            col("Column_name"),
            col("Null"),
        ) else {
            return Err(Error::database(
                "reading indexes",
                "SHOW INDEX returned unexpected columns",
            ));
        };
        let mut indexes: Vec<IndexInfo> = Vec::new();
        for row in &result.rows {
            let name = text(&row[ki]);
            let unique = text(&row[ni]) == "0";
            let column = text(&row[ci]);
            let not_null = text(&row[nulli]) != "YES";
            match indexes.iter_mut().find(|i| i.name == name) {
                Some(i) => {
                    i.columns.push(column);
                    i.not_null &= not_null;
                }
                None => indexes.push(IndexInfo {
                    name,
                    unique,
                    columns: vec![column],
                    not_null,
                }),
            }
        }
        let triggers: Vec<(String, String, String)> = self
            .conn
            .exec(
                "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION \
                 FROM information_schema.TRIGGERS \
                 WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? \
                 ORDER BY ACTION_TIMING DESC, EVENT_MANIPULATION, ACTION_ORDER",
                (&db, table),
            )
            .map_err(|e| self.err(&format!("reading the triggers of {table}"), e))?;
        let triggers = triggers
            .into_iter()
            .map(|(name, timing, event)| TriggerInfo {
                name,
                timing,
                event,
            })
            .collect();
        Ok(Some(TableInfo {
            triggers,
            database: db,
            name: table.to_string(),
            columns,
            indexes,
            estimated_rows: estimated_rows.unwrap_or(0),
            avg_row_bytes: avg_row_bytes.unwrap_or(0),
        }))
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

fn text(v: &Value) -> String {
    to_text(v, Kind::Bytes)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
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

/// What a refused write on the source says after the server's message.
const READ_ONLY_HINT: &str = " (the source is read-only: ferry opens its sessions with \
     SET SESSION TRANSACTION READ ONLY so nothing writes to it by mistake; to write to \
     the source, opt in with `source { ..., writable = true }` or `?writable=true` in \
     its URL)";

/// The server refused a statement because the transaction is read-only
/// (ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION).
fn refused_as_read_only(e: &mysql::Error) -> bool {
    matches!(e, mysql::Error::MySqlError(m) if m.code == 1792)
}

fn connect_message(e: &mysql::Error, spec: &ConnSpec) -> String {
    let mode = spec.tls.mode();
    match e {
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => format!(
            "ssl-mode={} asks for TLS, but the server does not offer it (enable TLS on the \
             server with its ssl_cert and ssl_key settings, or use ssl-mode=preferred)",
            mode.name()
        ),
        e if tls_failure(e) && mode != SslMode::Preferred => {
            let text = error_text(e);
            let ca = match &spec.tls.ca {
                Some(p) => format!("the CA in ssl-ca {}", p.display()),
                None => "the built-in public CAs (no ssl-ca given)".to_string(),
            };
            let hint = if text.contains("NotValidForName") || text.contains("not valid for name") {
                format!(
                    "the server's certificate does not name the host `{}` \
                     (ssl-mode=verify-identity; connect by a name the certificate holds, \
                     or use verify-ca)",
                    spec.host
                )
            } else if text.contains("UnknownIssuer") || text.contains("BadSignature") {
                format!("the server's certificate is not signed by {ca}")
            } else if text.contains("Expired") || text.contains("NotValidYet") {
                "the server's certificate is outside its validity dates".to_string()
            } else {
                format!("the TLS handshake with ssl-mode={} failed", mode.name())
            };
            format!("{hint}: {text}")
        }
        mysql::Error::IoError(io) => {
            let hint = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    " (is the server running and listening on that host and port?)"
                }
                std::io::ErrorKind::TimedOut => " (is the host reachable?)",
                _ => "",
            };
            format!("{io}{hint}")
        }
        mysql::Error::MySqlError(m) if m.code == 1045 => {
            format!("{} (check the user and password)", m.message)
        }
        mysql::Error::MySqlError(m) if m.code == 1049 => {
            format!(
                "{} (create the database first, or fix its name in the URL)",
                m.message
            )
        }
        mysql::Error::DriverError(d) => {
            let text = d.to_string();
            if text.contains("refused") {
                format!("{text} (is the server running and listening on that host and port?)")
            } else {
                text
            }
        }
        other => error_text(other),
    }
}

/// The I/O error under a client error, also when it is wrapped in a codec error (as
/// TLS handshake failures are).
pub fn io_error(e: &mysql::Error) -> Option<&std::io::Error> {
    match e {
        mysql::Error::IoError(io) => Some(io),
        mysql::Error::CodecError(c) => std::error::Error::source(c)?.downcast_ref(),
        _ => None,
    }
}

/// A client error as a plain sentence (the mysql crate's Display shows Rust debug
/// wrappers like `MySqlError { .. }`).
pub fn error_text(e: &mysql::Error) -> String {
    if let Some(io) = io_error(e) {
        return io.to_string();
    }
    match e {
        mysql::Error::MySqlError(m) => m.to_string(),
        mysql::Error::DriverError(d) => d.to_string(),
        mysql::Error::TlsError(t) => format!("TLS: {t}"),
        other => other.to_string(),
    }
}

/// Whether an error may pass if the page is tried again on a fresh connection: the
/// connection was lost or refused (server gone away, killed, restarting), or the
/// server chose this transaction as a deadlock victim or timed out a lock wait.
pub fn is_transient(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::MySqlError(m) => matches!(
            m.code,
            1213 // deadlock
                | 1205 // lock wait timeout
                | 1053 // server shutdown in progress
                | 1927 // connection killed
                | 1317 // query interrupted
                | 2002 | 2003 | 2006 | 2013 | 2055 // lost / cannot connect
                | 1040 // too many connections
                | 1047 | 1180 | 4031 // unknown command during shutdown, commit failed, idle timeout
        ),
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) => true,
        mysql::Error::DriverError(d) => matches!(
            d,
            mysql::DriverError::ConnectTimeout
                | mysql::DriverError::Timeout
                | mysql::DriverError::CouldNotConnect(_)
                | mysql::DriverError::PacketOutOfSync
                | mysql::DriverError::UnexpectedPacket
        ),
        _ => false,
    }
}

/// How long to wait before try `attempt` (1-based): 0.2 s doubling, at most 5 s.
pub fn backoff(attempt: u32) -> std::time::Duration {
    let ms = 200u64.saturating_mul(1 << attempt.saturating_sub(1).min(5));
    std::time::Duration::from_millis(ms.min(5_000))
}
