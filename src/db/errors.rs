//! Reading the client library's errors: the server's message, whether trying again
//! may pass, the I/O error under a lost connection, and what a failed login means.

use crate::conn_spec::{ConnSpec, SslMode};

use super::connect::tls_failure;

/// What a refused write on the source says after the server's message.
pub(super) const READ_ONLY_HINT: &str = " (the source is read-only: ferry opens its sessions with \
     SET SESSION TRANSACTION READ ONLY so nothing writes to it by mistake; to write to \
     the source, opt in with `source { ..., writable = true }` or `?writable=true` in \
     its URL)";

/// The server refused a statement because the transaction is read-only
/// (ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION).
pub(super) fn refused_as_read_only(e: &mysql::Error) -> bool {
    matches!(e, mysql::Error::MySqlError(m) if m.code == 1792)
}

pub(super) fn connect_message(e: &mysql::Error, spec: &ConnSpec) -> String {
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
