//! Connection specs: `mysql://user[:password]@host[:port]/database[?option=value&...]` URLs
//! and their Lua-table form, parsed into one `ConnSpec`: where the server is, where the
//! password comes from (the URL, `password-env`, `password-file`, or
//! `FERRY_SOURCE_PASSWORD`/`FERRY_TARGET_PASSWORD`), and how TLS is used (`ssl-mode`,
//! `ssl-ca`, `ssl-cert`, `ssl-key`). Parsing does no I/O; `resolve` reads the password and
//! checks the TLS files right before connecting, and `connect` opens the session.
//! `Display` is the only way a spec is ever shown, and it always hides the password
//! (`mysql://app:***@db1:3306/crm`); `scrub` hides it in server messages too, wherever
//! it came from.

use std::fmt;
use std::path::{Path, PathBuf};

/// The URL options, as written in a URL (`ssl-mode`) and in the table form (`ssl_mode`).
const OPTIONS: &[&str] = &[
    "socket",
    "ssl-mode",
    "ssl-ca",
    "ssl-cert",
    "ssl-key",
    "password-env",
    "password-file",
    "writable",
];

/// How the session uses TLS, as MySQL's own `--ssl-mode` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Never encrypted.
    Disabled,
    /// Encrypted when the server offers TLS, certificate not checked; otherwise plain.
    Preferred,
    /// Encrypted, certificate not checked; a server without TLS is an error.
    Required,
    /// Encrypted, the certificate chain checked against `ssl-ca`; not the host name.
    VerifyCa,
    /// Encrypted, the chain and the host name checked.
    VerifyIdentity,
}

impl SslMode {
    const ALL: [SslMode; 5] = [
        SslMode::Disabled,
        SslMode::Preferred,
        SslMode::Required,
        SslMode::VerifyCa,
        SslMode::VerifyIdentity,
    ];

    /// `verify-ca`, `VERIFY_CA` and `verify_ca` are one mode.
    pub fn parse(s: &str) -> Option<SslMode> {
        let s = s.to_ascii_lowercase().replace('_', "-");
        SslMode::ALL.into_iter().find(|m| m.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disabled => "disabled",
            SslMode::Preferred => "preferred",
            SslMode::Required => "required",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyIdentity => "verify-identity",
        }
    }

    /// The session must be encrypted (a server without TLS is an error).
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Required | SslMode::VerifyCa | SslMode::VerifyIdentity
        )
    }
}

/// TLS settings of one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    /// As asked; `None` means `verify-ca` when `ca` is given (as MySQL's client does),
    /// else `preferred`.
    pub mode: Option<SslMode>,
    /// CA certificates (PEM or DER) the server's certificate must chain to.
    pub ca: Option<PathBuf>,
    /// A client certificate (PEM) and its key (PEM), for accounts that `REQUIRE X509`.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl Tls {
    /// The mode in force.
    pub fn mode(&self) -> SslMode {
        match self.mode {
            Some(m) => m,
            None if self.ca.is_some() => SslMode::VerifyCa,
            None => SslMode::Preferred,
        }
    }
}

/// Where a password not written in the URL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// An environment variable, by name.
    Env(String),
    /// A file holding the password (one trailing newline dropped).
    File(PathBuf),
}

#[derive(Clone, PartialEq, Eq)]
pub struct ConnSpec {
    pub user: String,
    /// The password: written in the URL or table, or read by `resolve`.
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub socket: Option<String>,
    /// `password-env` / `password-file`, or the role's variable once `resolve` used it.
    pub password_source: Option<PasswordSource>,
    pub tls: Tls,
    /// `writable=true`: the session may write. Without it a source session is
    /// read-only (`SET SESSION TRANSACTION READ ONLY`); a target always writes.
    pub writable: bool,
}

impl fmt::Debug for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnSpec({self})")
    }
}

impl ConnSpec {
    /// Parses a `mysql://` URL. The error text never repeats the password: it shows the
    /// URL with everything between `//` and the last `@` hidden (`redact_raw`).
    ///
    /// The user and password end at the last `@` before the `?` of the options, so a
    /// password holding an unescaped `/` or `@` is still read whole; `?` and `#` (and
    /// `%`) in a password must be %-escaped, and an `@` in a database name too.
    pub fn parse(url: &str) -> Result<ConnSpec, String> {
        ConnSpec::parse_url(url).map_err(|m| format!("{m} in `{}`", redact_raw(url)))
    }

    fn parse_url(url: &str) -> Result<ConnSpec, String> {
        let rest = url
            .strip_prefix("mysql://")
            .or_else(|| url.strip_prefix("mariadb://"))
            .ok_or(
                "a connection URL must look like mysql://user[:password]@host[:port]/database",
            )?;
        let (rest, query) = match rest.split_once('?') {
            Some((a, b)) => (a, Some(b)),
            None => (rest, None),
        };
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, rest),
        };
        let (hostport, database) = match rest.split_once('/') {
            Some((a, d)) => (a, d),
            None => (rest, ""),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (decode(u)?, Some(decode(p)?)),
                None => (decode(u)?, None),
            },
            None => (String::new(), None),
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            // [::1]:3306
            let (h, after) = h.split_once(']').ok_or("bad host")?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        let port = match port {
            // The port is not echoed: in a mistyped URL it may be part of a password.
            Some(p) if !p.is_empty() => p
                .parse::<u16>()
                .map_err(|_| "bad port (a password holding `?`, `#` or `%` must be %-escaped)")?,
            _ => 3306,
        };
        let mut spec = ConnSpec {
            user: if user.is_empty() { "root".into() } else { user },
            password,
            host: if host.is_empty() {
                "localhost".into()
            } else {
                decode(&host)?
            },
            port,
            database: decode(database.trim_end_matches('/'))?,
            socket: None,
            password_source: None,
            tls: Tls::default(),
            writable: false,
        };
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                spec.set_option(k, &decode(v)?)?;
            }
        }
        if spec.database.is_empty() {
            return Err("the URL names no database (mysql://user@host/DATABASE)".into());
        }
        spec.check()?;
        Ok(spec)
    }

    /// Builds a spec from the Lua-table form's fields (`host`, `port`, `user`,
    /// `password`, `database`, and every URL option, with `_` for `-`: `ssl_mode`).
    pub fn from_fields(fields: &[(String, String)]) -> Result<ConnSpec, String> {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        };
        let database = get("database").ok_or("the connection table needs `database`")?;
        let mut spec = ConnSpec {
            user: get("user").unwrap_or_else(|| "root".into()),
            password: get("password"),
            host: get("host").unwrap_or_else(|| "localhost".into()),
            port: match get("port") {
                Some(p) => p.parse().map_err(|_| format!("bad port `{p}`"))?,
                None => 3306,
            },
            database,
            socket: None,
            password_source: None,
            tls: Tls::default(),
            writable: false,
        };
        for (k, v) in fields {
            if ["host", "port", "user", "password", "database"].contains(&k.as_str()) {
                continue;
            }
            spec.set_option(k, v).map_err(|m| {
                if m.starts_with("unknown URL option") {
                    let known: Vec<String> = OPTIONS.iter().map(|o| o.replace('-', "_")).collect();
                    format!(
                        "unknown connection field `{k}` (known: host, port, user, password, \
                         database, {})",
                        known.join(", ")
                    )
                } else {
                    m
                }
            })?;
        }
        spec.check().map_err(|m| format!("{spec}: {m}"))?;
        Ok(spec)
    }

    /// Sets one option (`ssl-mode` or `ssl_mode`).
    fn set_option(&mut self, key: &str, value: &str) -> Result<(), String> {
        let path = || -> Result<PathBuf, String> {
            if value.is_empty() {
                Err(format!("`{key}` needs a file path"))
            } else {
                Ok(PathBuf::from(value))
            }
        };
        let source = |s: PasswordSource, this: &ConnSpec| -> Result<PasswordSource, String> {
            if this.password_source.is_some() {
                Err("give one of password-env and password-file, not both".into())
            } else {
                Ok(s)
            }
        };
        match key.replace('_', "-").as_str() {
            "socket" => self.socket = Some(value.to_string()),
            "ssl-mode" => {
                self.tls.mode = Some(SslMode::parse(value).ok_or_else(|| {
                    format!(
                        "unknown ssl-mode `{value}` (known: {})",
                        SslMode::ALL.map(|m| m.name()).join(", ")
                    )
                })?)
            }
            "ssl-ca" => self.tls.ca = Some(path()?),
            "ssl-cert" => self.tls.cert = Some(path()?),
            "ssl-key" => self.tls.key = Some(path()?),
            "password-env" => {
                if value.is_empty() {
                    return Err("`password-env` needs the name of an environment variable".into());
                }
                self.password_source = Some(source(PasswordSource::Env(value.into()), self)?)
            }
            "password-file" => {
                self.password_source = Some(source(PasswordSource::File(path()?), self)?)
            }
            "writable" => {
                self.writable = match value.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => true,
                    "false" | "0" | "no" | "off" => false,
                    _ => return Err(format!("`writable` is true or false, not `{value}`")),
                }
            }
            // A key no option could have is not echoed: it may be a piece of a
            // password whose `?` was not escaped (`mysql://app:1?x@db1/crm`).
            _ if !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                return Err(format!(
                    "unknown URL option (a `?` in a password must be %-escaped as %3F; \
                     known options: {})",
                    OPTIONS.join(", ")
                ))
            }
            _ => {
                return Err(format!(
                    "unknown URL option `{key}` (known: {})",
                    OPTIONS.join(", ")
                ))
            }
        }
        Ok(())
    }

    /// Options that contradict each other.
    fn check(&self) -> Result<(), String> {
        if self.password.is_some() && self.password_source.is_some() {
            return Err(
                "the password is given twice: keep it in the URL, or in password-env, or in \
                 password-file"
                    .into(),
            );
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err("ssl-cert and ssl-key go together: give both or neither".into());
        }
        let mode = self.tls.mode();
        if mode == SslMode::Disabled && (self.tls.ca.is_some() || self.tls.cert.is_some()) {
            return Err("ssl-mode=disabled with ssl-ca/ssl-cert: drop one".into());
        }
        if mode.requires_tls() && self.socket.is_some() {
            return Err(format!(
                "ssl-mode={} needs a TCP connection; a unix socket is not encrypted \
                 (drop socket=, or use ssl-mode=preferred)",
                mode.name()
            ));
        }
        Ok(())
    }

    /// This spec, ready to connect: the password read from `password-env` or
    /// `password-file`, or, when the spec names no password at all, from the variable
    /// `fallback_env` (`FERRY_SOURCE_PASSWORD`) when it is set; and the TLS files checked
    /// for readability. A spec that already holds its password is returned as it is.
    /// Errors name the variable or the file, never the password.
    pub fn resolve(&self, fallback_env: &str) -> Result<ConnSpec, String> {
        for (what, file) in [
            ("ssl-ca", &self.tls.ca),
            ("ssl-cert", &self.tls.cert),
            ("ssl-key", &self.tls.key),
        ] {
            if let Some(path) = file {
                check_tls_file(what, path)?;
            }
        }
        let mut spec = self.clone();
        if spec.password.is_some() {
            return Ok(spec);
        }
        match &self.password_source {
            Some(PasswordSource::Env(name)) => match std::env::var(name) {
                Ok(p) => spec.password = Some(p),
                Err(std::env::VarError::NotPresent) => {
                    return Err(format!(
                        "password-env names the environment variable {name}, which is not set"
                    ))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(format!(
                        "the environment variable {name} (password-env) is not valid UTF-8"
                    ))
                }
            },
            Some(PasswordSource::File(path)) => {
                spec.password = Some(read_password_file(path)?);
            }
            None => {
                if let Ok(p) = std::env::var(fallback_env) {
                    spec.password = Some(p);
                    spec.password_source = Some(PasswordSource::Env(fallback_env.to_string()));
                }
            }
        }
        Ok(spec)
    }

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

    fn ssl_opts(&self) -> mysql::SslOpts {
        let mode = self.tls.mode();
        let ssl = mysql::SslOpts::default()
            .with_root_cert_path(self.tls.ca.clone())
            .with_danger_accept_invalid_certs(matches!(
                mode,
                SslMode::Preferred | SslMode::Required
            ))
            .with_danger_skip_domain_validation(mode != SslMode::VerifyIdentity);
        // Preferred: a server without TLS is logged in to in the clear on the same
        // connection (no second connection, no unauthenticated one left behind).
        let mut ssl = crate::fork::tls_optional(ssl, mode == SslMode::Preferred);
        if let (Some(cert), Some(key)) = (&self.tls.cert, &self.tls.key) {
            ssl = ssl
                .with_client_identity(Some(mysql::ClientIdentity::new(cert.clone(), key.clone())));
        }
        ssl
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

    /// The password, if any, so callers can scrub it from server messages.
    pub fn secret(&self) -> Option<&str> {
        self.password.as_deref().filter(|p| !p.is_empty())
    }

    /// Hides this spec's password in a message (a server error, a context quoting SQL
    /// the job built): the password field of every URL in it (`mysql://u:***@h/db`,
    /// whoever's password it is), and this password where it stands as a whole token:
    /// quoted (`'pw'`, `"pw"`, `` `pw` ``), in a URL (`:pw@`), or, when it cannot be
    /// mistaken for a word (8 characters or more, or holding a character other than a
    /// letter, digit or `_`), between non-word characters. Never inside a word: a
    /// password `in` leaves "Connecting" alone.
    pub fn scrub(&self, text: &str) -> String {
        let text = mask_urls(text);
        let Some(p) = self.secret() else {
            return text;
        };
        let wordlike = p.chars().count() < 8 && p.chars().all(is_word);
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(i) = rest.find(p) {
            let before = match i {
                0 => out.chars().last(),
                _ => rest[..i].chars().last(),
            };
            let after = rest[i + p.len()..].chars().next();
            let quoted = matches!(
                (before, after),
                (Some('\''), Some('\''))
                    | (Some('"'), Some('"'))
                    | (Some('`'), Some('`'))
                    | (Some(':'), Some('@'))
            );
            // A side where the password itself ends in a non-word character is bounded.
            let token = (!p.starts_with(is_word) || !before.is_some_and(is_word))
                && (!p.ends_with(is_word) || !after.is_some_and(is_word));
            out.push_str(&rest[..i]);
            out.push_str(if quoted || (token && !wordlike) {
                "***"
            } else {
                p
            });
            rest = &rest[i + p.len()..];
        }
        out.push_str(rest);
        out
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// An error that says the TLS part of a connection failed (not the server, the
/// network or the login).
pub fn tls_failure(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => true,
        mysql::Error::TlsError(_) => true,
        e => crate::db::io_error(e).is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput
            )
        }),
    }
}

fn check_tls_file(what: &str, path: &Path) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| format!("{what} file {}: {e}", path.display()))?;
    let pem = String::from_utf8_lossy(&data);
    let ok = match what {
        "ssl-key" => pem.contains("PRIVATE KEY-----") || data.first() == Some(&0x30),
        _ => pem.contains("-----BEGIN CERTIFICATE-----") || data.first() == Some(&0x30),
    };
    if !ok {
        let expected = if what == "ssl-key" {
            "private key"
        } else {
            "certificate"
        };
        return Err(format!(
            "{what} file {} holds no {expected} (PEM or DER expected)",
            path.display()
        ));
    }
    Ok(())
}

fn read_password_file(path: &Path) -> Result<String, String> {
    let data = std::fs::read(path)
        .map_err(|e| format!("cannot read the password-file {}: {e}", path.display()))?;
    let mut text = String::from_utf8(data)
        .map_err(|_| format!("the password-file {} is not valid UTF-8", path.display()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

impl fmt::Display for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mysql://{}", self.user)?;
        if self.password.is_some() || self.password_source.is_some() {
            write!(f, ":***")?;
        }
        if self.host.contains(':') {
            write!(f, "@[{}]:{}/{}", self.host, self.port, self.database)?;
        } else {
            write!(f, "@{}:{}/{}", self.host, self.port, self.database)?;
        }
        let mut options: Vec<String> = Vec::new();
        if let Some(s) = &self.socket {
            options.push(format!("socket={s}"));
        }
        if let Some(m) = self.tls.mode {
            options.push(format!("ssl-mode={}", m.name()));
        }
        for (what, file) in [
            ("ssl-ca", &self.tls.ca),
            ("ssl-cert", &self.tls.cert),
            ("ssl-key", &self.tls.key),
        ] {
            if let Some(p) = file {
                options.push(format!("{what}={}", p.display()));
            }
        }
        match &self.password_source {
            Some(PasswordSource::Env(name)) => options.push(format!("password-env={name}")),
            Some(PasswordSource::File(p)) => options.push(format!("password-file={}", p.display())),
            None => {}
        }
        if self.writable {
            options.push("writable=true".into());
        }
        if !options.is_empty() {
            write!(f, "?{}", options.join("&"))?;
        }
        Ok(())
    }
}

/// Hides the password of something that looks like a URL but did not parse: everything
/// between `//` and the last `@` becomes `***` (the user name stays when it can be told
/// apart: the text before the first `:`, holding no `/`). Without any `@`, a `:` in the
/// part before the first `/` followed by anything but a port number hides all that
/// follows it (`mysql://app:***`, a URL that forgot its host).
pub fn redact_raw(url: &str) -> String {
    let Some(start) = url.find("//") else {
        return url.to_string();
    };
    let head = &url[..start + 2];
    let after = &url[start + 2..];
    match after.rfind('@') {
        Some(at) => {
            let userinfo = &after[..at];
            match userinfo.split_once(':') {
                Some((user, _)) if !user.contains(['/', '?', '#']) => {
                    format!("{head}{user}:***{}", &after[at..])
                }
                Some(_) => format!("{head}***{}", &after[at..]),
                None => url.to_string(),
            }
        }
        None => {
            let auth_end = after.find(['/', '?']).unwrap_or(after.len());
            match after[..auth_end].split_once(':') {
                Some((user, port))
                    if !port.is_empty() && !port.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    // Where such a password ends cannot be told: hide the rest.
                    format!("{head}{user}:***")
                }
                _ => url.to_string(),
            }
        }
    }
}

/// Hides the password field of every `scheme://user:password@host` in a message. The
/// URL's part before the host runs to the first space, quote, backtick or bracket (a
/// password in a message is hidden up to the last `@` of that stretch).
pub fn mask_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '<' | '>' | '(' | ')')
            })
            .unwrap_or(rest.len());
        let stretch = &rest[..end];
        if let Some((at, colon)) = stretch
            .rfind('@')
            .and_then(|at| Some((at, stretch[..at].find(':')?)))
        {
            out.push_str(&stretch[..colon + 1]);
            out.push_str("***");
            rest = &rest[at..];
        }
    }
    out.push_str(rest);
    out
}

fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "bad %-escape in connection URL".to_string())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "connection URL is not valid UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_redacts() {
        let s = ConnSpec::parse("mysql://app:s%40cret@db1:3307/crm").unwrap();
        assert_eq!(s.user, "app");
        assert_eq!(s.password.as_deref(), Some("s@cret"));
        assert_eq!(s.host, "db1");
        assert_eq!(s.port, 3307);
        assert_eq!(s.database, "crm");
        assert_eq!(s.to_string(), "mysql://app:***@db1:3307/crm");
        assert!(!format!("{s:?}").contains("cret"));
    }

    #[test]
    fn socket_and_defaults() {
        let s = ConnSpec::parse("mysql://root@localhost/x?socket=/tmp/m.sock").unwrap();
        assert_eq!(s.port, 3306);
        assert_eq!(s.socket.as_deref(), Some("/tmp/m.sock"));
        assert!(ConnSpec::parse("mysql://root@localhost").is_err());
        let e = ConnSpec::parse("postgres://u:hunter2@h/d").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn tls_options() {
        let s = ConnSpec::parse("mysql://app@db1/crm").unwrap();
        assert_eq!(s.tls.mode(), SslMode::Preferred);
        assert_eq!(s.to_string(), "mysql://app@db1:3306/crm");

        let s = ConnSpec::parse("mysql://app@db1/crm?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ca.pem")
            .unwrap();
        assert_eq!(s.tls.mode(), SslMode::VerifyIdentity);
        assert_eq!(s.tls.ca.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(
            s.to_string(),
            "mysql://app@db1:3306/crm?ssl-mode=verify-identity&ssl-ca=/etc/ca.pem"
        );
        // Display round-trips.
        assert_eq!(ConnSpec::parse(&s.to_string()).unwrap(), s);

        // ssl-ca alone means verify-ca, as with MySQL's client.
        let s = ConnSpec::parse("mysql://app@db1/crm?ssl_ca=/etc/ca.pem").unwrap();
        assert_eq!(s.tls.mode(), SslMode::VerifyCa);

        let e = ConnSpec::parse("mysql://app:hunter2@db1/crm?ssl-mode=strict").unwrap_err();
        assert!(e.contains("unknown ssl-mode `strict`"), "{e}");
        assert!(e.contains("verify-identity"), "{e}");
        assert!(e.contains("mysql://app:***@db1/crm"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");

        let e = ConnSpec::parse("mysql://app@db1/crm?ssl-cert=/c.pem").unwrap_err();
        assert!(e.contains("ssl-cert and ssl-key go together"), "{e}");
        let e = ConnSpec::parse("mysql://app@db1/crm?ssl-mode=required&socket=/s").unwrap_err();
        assert!(e.contains("needs a TCP connection"), "{e}");
        let e = ConnSpec::parse("mysql://app@db1/crm?ssl-mode=disabled&ssl-ca=/ca").unwrap_err();
        assert!(e.contains("disabled"), "{e}");
        let e = ConnSpec::parse("mysql://app@db1/crm?sslmode=required").unwrap_err();
        assert!(e.contains("unknown URL option `sslmode`"), "{e}");
    }

    #[test]
    fn passwords_from_env_and_file() {
        let s = ConnSpec::parse("mysql://app@db1/crm?password-env=FERRY_UNIT_PW_1").unwrap();
        assert_eq!(
            s.password_source,
            Some(PasswordSource::Env("FERRY_UNIT_PW_1".into()))
        );
        assert_eq!(s.password, None);
        assert_eq!(
            s.to_string(),
            "mysql://app:***@db1:3306/crm?password-env=FERRY_UNIT_PW_1"
        );
        let e = s.resolve("FERRY_UNIT_NONE").unwrap_err();
        assert!(
            e.contains("FERRY_UNIT_PW_1") && e.contains("not set"),
            "{e}"
        );

        std::env::set_var("FERRY_UNIT_PW_1", "t0p-s3cret");
        let r = s.resolve("FERRY_UNIT_NONE").unwrap();
        assert_eq!(r.password.as_deref(), Some("t0p-s3cret"));
        assert_eq!(r.scrub("denied for t0p-s3cret"), "denied for ***");
        assert!(!r.to_string().contains("t0p"));
        assert!(!format!("{r:?}").contains("t0p"));
        // Resolving again changes nothing.
        assert_eq!(r.resolve("FERRY_UNIT_NONE").unwrap(), r);

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "line one\r\n").unwrap();
        let s = ConnSpec::parse(&format!(
            "mysql://app@db1/crm?password-file={}",
            file.display()
        ))
        .unwrap();
        assert_eq!(
            s.resolve("X").unwrap().password.as_deref(),
            Some("line one")
        );
        let missing = dir.path().join("nope");
        let s = ConnSpec::parse(&format!(
            "mysql://app@db1/crm?password-file={}",
            missing.display()
        ))
        .unwrap();
        let e = s.resolve("X").unwrap_err();
        assert!(e.contains(&missing.display().to_string()), "{e}");

        // The role's variable only when nothing else names a password.
        std::env::set_var("FERRY_UNIT_ROLE_PW", "r0le");
        let s = ConnSpec::parse("mysql://app@db1/crm").unwrap();
        let r = s.resolve("FERRY_UNIT_ROLE_PW").unwrap();
        assert_eq!(r.password.as_deref(), Some("r0le"));
        assert_eq!(
            r.to_string(),
            "mysql://app:***@db1:3306/crm?password-env=FERRY_UNIT_ROLE_PW"
        );
        let s = ConnSpec::parse("mysql://app:url@db1/crm").unwrap();
        assert_eq!(
            s.resolve("FERRY_UNIT_ROLE_PW").unwrap().password.as_deref(),
            Some("url")
        );

        let e = ConnSpec::parse("mysql://app:x@db1/crm?password-env=A").unwrap_err();
        assert!(e.contains("given twice"), "{e}");
        let e = ConnSpec::parse("mysql://app@db1/crm?password-env=A&password-file=/f").unwrap_err();
        assert!(e.contains("not both"), "{e}");
    }

    #[test]
    fn table_form() {
        let f = |pairs: &[(&str, &str)]| {
            ConnSpec::from_fields(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        let s = f(&[
            ("database", "crm"),
            ("host", "db1"),
            ("port", "3307"),
            ("ssl_mode", "required"),
            ("password_env", "PW"),
        ])
        .unwrap();
        assert_eq!(s.port, 3307);
        assert_eq!(s.tls.mode(), SslMode::Required);
        assert_eq!(s.password_source, Some(PasswordSource::Env("PW".into())));
        let e = f(&[("database", "crm"), ("ssl", "on")]).unwrap_err();
        assert!(e.contains("unknown connection field `ssl`"), "{e}");
        assert!(e.contains("ssl_mode"), "{e}");
        let e = f(&[("database", "crm"), ("ssl_mode", "nope")]).unwrap_err();
        assert!(e.contains("unknown ssl-mode `nope`"), "{e}");
    }

    #[test]
    fn tls_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let s = ConnSpec::parse(&format!("mysql://app@db1/crm?ssl-ca={}", junk.display())).unwrap();
        let e = s.resolve("X").unwrap_err();
        assert!(e.contains("holds no certificate"), "{e}");
        let s = ConnSpec::parse("mysql://app@db1/crm?ssl-ca=/no/such/ca.pem").unwrap();
        let e = s.resolve("X").unwrap_err();
        assert!(e.contains("ssl-ca file /no/such/ca.pem"), "{e}");
    }

    #[test]
    fn a_password_with_slash_or_at_is_read_whole_and_never_echoed() {
        let s = ConnSpec::parse("mysql://app:pa/ss@w0rd@db1:3307/crm").unwrap();
        assert_eq!(s.user, "app");
        assert_eq!(s.password.as_deref(), Some("pa/ss@w0rd"));
        assert_eq!((s.host.as_str(), s.port), ("db1", 3307));
        assert_eq!(s.database, "crm");
        // URLs that do not parse: everything between `//` and the last `@` hidden.
        for (url, secret) in [
            ("mysql://app:pa/ss@db1:x/crm", "pa/ss"),
            ("mysql://app:p?ss@db1/crm", "p?ss"),
            ("mysql://app:p?s/s@db1/crm", "s/s"),
            ("mysql://a/pp:h1dden@db1:x/crm", "h1dden"),
            ("mysql://app:h1dden/crm", "h1dden"),
            ("mysql://app:%zz@db1/crm", "%zz"),
            ("mysql://app:1?s3cr/et@db1/crm", "s3cr"),
            ("postgres://app:h/1dden@db1/crm", "h/1dden"),
        ] {
            let e = ConnSpec::parse(url).unwrap_err();
            assert!(!e.contains(secret), "{url}: {e}");
            assert!(e.contains("***"), "{url}: {e}");
        }
        let e = ConnSpec::parse("mysql://app:p?ss@db1/crm").unwrap_err();
        assert!(e.contains("`mysql://app:***@db1/crm`"), "{e}");
        let e = ConnSpec::parse("mysql://a/pp:h1dden@db1:x/crm").unwrap_err();
        assert!(e.contains("`mysql://***@db1:x/crm`"), "{e}");
        assert_eq!(redact_raw("mysql://app@db1/crm"), "mysql://app@db1/crm");
        assert_eq!(redact_raw("mysql://db1:3306/crm"), "mysql://db1:3306/crm");
    }

    #[test]
    fn scrub_hides_password_fields_not_substrings() {
        let s = ConnSpec::parse("mysql://app:in@db1/crm").unwrap();
        // A short, word-like password is not hidden inside words or as a bare word.
        assert_eq!(
            s.scrub("Connecting in progress: Got timeout reading"),
            "Connecting in progress: Got timeout reading"
        );
        // Quoted, or in a URL: hidden.
        assert_eq!(s.scrub("near 'in' at line 1"), "near '***' at line 1");
        assert_eq!(
            s.scrub("see mysql://app:in@db1/crm and mysql://x:other@h/d"),
            "see mysql://app:***@db1/crm and mysql://x:***@h/d"
        );
        // A password that cannot be a word: hidden as a whole token, not inside one.
        let s = ConnSpec::parse("mysql://app:T0p-s3cret@db1/crm").unwrap();
        assert_eq!(s.scrub("-- T0p-s3cret;"), "-- ***;");
        assert_eq!(s.scrub("xT0p-s3cretx"), "xT0p-s3cretx");
        let s = ConnSpec::parse("mysql://app:longpassword@db1/crm").unwrap();
        assert_eq!(s.scrub("pw longpassword."), "pw ***.");
        // No password: URLs in the text are still masked.
        let s = ConnSpec::parse("mysql://app@db1/crm").unwrap();
        assert_eq!(
            s.scrub("source \"mysql://u:p/w@h/d\" failed"),
            "source \"mysql://u:***@h/d\" failed"
        );
    }

    #[test]
    fn writable_option() {
        let s = ConnSpec::parse("mysql://app@db1/crm").unwrap();
        assert!(!s.writable);
        let s = ConnSpec::parse("mysql://app@db1/crm?writable=true").unwrap();
        assert!(s.writable);
        assert_eq!(s.to_string(), "mysql://app@db1:3306/crm?writable=true");
        let e = ConnSpec::parse("mysql://app@db1/crm?writable=maybe").unwrap_err();
        assert!(e.contains("`writable` is true or false"), "{e}");
        let s = ConnSpec::from_fields(&[
            ("database".to_string(), "crm".to_string()),
            ("writable".to_string(), "true".to_string()),
        ])
        .unwrap();
        assert!(s.writable);
    }
}
