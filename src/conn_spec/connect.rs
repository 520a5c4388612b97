//! Opening a session for a spec: the mysql crate's options, and `preferred`'s fallback
//! to a session without TLS.

use super::tls::tls_failure;
use super::{ConnSpec, SslMode};

impl ConnSpec {
    /// mysql crate options for this spec that connect to any server its mode accepts:
    /// with TLS for `required` and `verify-*`, without for `disabled` and `preferred`.
    /// `connect` is better: it also tries TLS first for `preferred`.
    pub fn opts(&self) -> mysql::Opts {
        self.build_opts(self.tls.mode().requires_tls())
    }

    fn build_opts(&self, tls: bool) -> mysql::Opts {
        let mut b = mysql::OptsBuilder::new()
            .user(Some(self.user.clone()))
            .pass(self.password.clone())
            .db_name(Some(self.database.clone()))
            .tcp_connect_timeout(Some(std::time::Duration::from_secs(10)))
            .prefer_socket(false)
            .stmt_cache_size(64);
        if let Some(sock) = &self.socket {
            b = b.socket(Some(sock.clone()));
        } else {
            b = b
                .ip_or_hostname(Some(self.host.clone()))
                .tcp_port(self.port);
            if tls {
                b = b.ssl_opts(Some(self.ssl_opts()));
            }
        }
        mysql::Opts::from(b)
    }

    /// Opens a session. With `preferred`, a server that offers no TLS is logged in to
    /// without it on the same connection, and one whose TLS handshake fails is
    /// connected to again without TLS.
    pub fn connect(&self) -> mysql::Result<mysql::Conn> {
        if self.tls.mode() != SslMode::Preferred || self.socket.is_some() {
            return mysql::Conn::new(self.opts());
        }
        match mysql::Conn::new(self.build_opts(true)) {
            Err(e) if tls_failure(&e) => {
                if !matches!(
                    e,
                    mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)
                ) {
                    log::warn!(
                        "{self}: the TLS handshake failed ({}); connecting without TLS \
                         (ssl-mode=preferred; use ssl-mode=required to refuse)",
                        self.scrub(&crate::db::error_text(&e))
                    );
                }
                mysql::Conn::new(self.opts())
            }
            other => other,
        }
    }
}
