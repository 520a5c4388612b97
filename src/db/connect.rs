//! Opening a session for a connection spec: the mysql crate's options (TLS included),
//! and `preferred`'s fallback to a session without TLS.

use crate::conn_spec::{ConnSpec, SslMode};

/// mysql crate options for this spec that connect to any server its mode accepts:
/// with TLS for `required` and `verify-*`, without for `disabled` and `preferred`.
/// `connect` is better: it also tries TLS first for `preferred`.
pub fn opts(spec: &ConnSpec) -> mysql::Opts {
    build_opts(spec, spec.tls.mode().requires_tls())
}

fn build_opts(spec: &ConnSpec, tls: bool) -> mysql::Opts {
    let mut b = mysql::OptsBuilder::new()
        .user(Some(spec.user.clone()))
        .pass(spec.password.clone())
        .db_name(Some(spec.database.clone()))
        .tcp_connect_timeout(Some(std::time::Duration::from_secs(10)))
        .prefer_socket(false)
        .stmt_cache_size(64);
    if let Some(sock) = &spec.socket {
        b = b.socket(Some(sock.clone()));
    } else {
        b = b
            .ip_or_hostname(Some(spec.host.clone()))
            .tcp_port(spec.port);
        if tls {
            b = b.ssl_opts(Some(ssl_opts(spec)));
        }
    }
    mysql::Opts::from(b)
}

/// Opens a session. With `preferred`, a server that offers no TLS is logged in to
/// without it on the same connection, and one whose TLS handshake fails is
/// connected to again without TLS.
pub fn connect(spec: &ConnSpec) -> mysql::Result<mysql::Conn> {
    if spec.tls.mode() != SslMode::Preferred || spec.socket.is_some() {
        return mysql::Conn::new(opts(spec));
    }
    match mysql::Conn::new(build_opts(spec, true)) {
        Err(e) if tls_failure(&e) => {
            if !matches!(
                e,
                mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)
            ) {
                log::warn!(
                    "{spec}: the TLS handshake failed ({}); connecting without TLS \
                         (ssl-mode=preferred; use ssl-mode=required to refuse)",
                    spec.scrub(&super::error_text(&e))
                );
            }
            mysql::Conn::new(opts(spec))
        }
        other => other,
    }
}

fn ssl_opts(spec: &ConnSpec) -> mysql::SslOpts {
    let mode = spec.tls.mode();
    let ssl = mysql::SslOpts::default()
        .with_root_cert_path(spec.tls.ca.clone())
        .with_danger_accept_invalid_certs(matches!(mode, SslMode::Preferred | SslMode::Required))
        .with_danger_skip_domain_validation(mode != SslMode::VerifyIdentity);
    // Preferred: a server without TLS is logged in to in the clear on the same
    // connection (no second connection, no unauthenticated one left behind).
    let mut ssl = super::fork::tls_optional(ssl, mode == SslMode::Preferred);
    if let (Some(cert), Some(key)) = (&spec.tls.cert, &spec.tls.key) {
        ssl = ssl.with_client_identity(Some(mysql::ClientIdentity::new(cert.clone(), key.clone())));
    }
    ssl
}

/// An error that says the TLS part of a connection failed (not the server, the
/// network or the login).
pub fn tls_failure(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => true,
        mysql::Error::TlsError(_) => true,
        e => super::io_error(e).is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput
            )
        }),
    }
}
