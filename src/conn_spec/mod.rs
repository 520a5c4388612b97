//! Connection specs: `mysql://user[:password]@host[:port]/database[?option=value&...]` URLs
//! and their Lua-table form, parsed into one `ConnSpec`: where the server is, where the
//! password comes from (the URL, `password-env`, `password-file`, or
//! `FERRY_SOURCE_PASSWORD`/`FERRY_TARGET_PASSWORD`), and how TLS is used (`ssl-mode`,
//! `ssl-ca`, `ssl-cert`, `ssl-key`). Parsing does no I/O; `resolve` reads the password and
//! checks the TLS files right before connecting, and `connect` opens the session.
//! `Display` is the only way a spec is ever shown, and it always hides the password
//! (`mysql://app:***@db1:3306/crm`); `scrub` hides it in server messages too, wherever
//! it came from.
//!
//! Here: the `ConnSpec` itself and how it is shown. Parsing a URL is `url`, the table
//! form `table`, the options both share `options`, TLS `tls`, the password and hiding
//! it `secrets`; opening a session is `db::connect`.

mod error;
mod options;
mod secrets;
mod table;
mod tls;
mod url;

use std::fmt;
use std::path::PathBuf;

pub use error::SpecError;
pub use secrets::{mask_urls, PasswordLeftOut};
pub use tls::{SslMode, Tls};
pub use url::redact_raw;

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
