//! What can be wrong with a connection spec: a URL or table that does not parse, options
//! that contradict each other, a password or TLS file that cannot be read. `Display`
//! gives the text users see; none of it ever holds a password (a URL is shown with its
//! password hidden by `redact_raw`).

use std::fmt;
use std::path::PathBuf;

use super::options::OPTIONS;
use super::SslMode;

#[derive(Debug)]
pub enum SpecError {
    /// A URL that did not parse: why, and the URL with its password hidden.
    InUrl {
        reason: Box<SpecError>,
        url: String,
    },
    /// A table form's spec whose options contradict each other: the spec, shown
    /// redacted, and why.
    InSpec {
        spec: String,
        reason: Box<SpecError>,
    },
    /// Not a `mysql://` (or `mariadb://`) URL.
    NotAUrl,
    /// An IPv6 host whose `[` is not closed.
    BadHost,
    /// A URL's port that is not a number (not echoed: it may be part of a password).
    BadPort,
    /// A table form's port that is not a number.
    BadTablePort {
        port: String,
    },
    BadEscape,
    NotUtf8,
    /// A URL without a database.
    NoDatabase,
    /// A table form without `database`.
    TableNeedsDatabase,
    /// A file option (`ssl-ca`, `password-file`) given empty.
    NeedsPath {
        key: String,
    },
    UnknownSslMode {
        value: String,
    },
    PasswordEnvNeedsName,
    TwoPasswordSources,
    BadWritable {
        value: String,
    },
    /// An option no option could be named like: not echoed, it may be a piece of a
    /// password whose `?` was not escaped.
    UnknownOptionUnechoed,
    UnknownOption {
        key: String,
    },
    /// A field of the table form that is no option.
    UnknownField {
        key: String,
    },
    PasswordTwice,
    CertWithoutKey,
    DisabledWithFiles,
    TlsNeedsTcp {
        mode: SslMode,
    },
    PasswordEnvUnset {
        name: String,
    },
    PasswordEnvNotUtf8 {
        name: String,
    },
    PasswordFileUnreadable {
        path: PathBuf,
        cause: std::io::Error,
    },
    PasswordFileNotUtf8 {
        path: PathBuf,
    },
    TlsFileUnreadable {
        what: String,
        path: PathBuf,
        cause: std::io::Error,
    },
    /// A TLS file holding no certificate (or key, `what` = `ssl-key`).
    TlsFileWrongKind {
        what: String,
        path: PathBuf,
    },
}

impl SpecError {
    /// An unknown option, as an option of a URL or as a field of the table form.
    pub fn is_unknown_option(&self) -> bool {
        matches!(
            self,
            SpecError::UnknownOption { .. } | SpecError::UnknownOptionUnechoed
        )
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SpecError::*;
        match self {
            InUrl { reason, url } => write!(f, "{reason} in `{url}`"),
            InSpec { spec, reason } => write!(f, "{spec}: {reason}"),
            NotAUrl => f.write_str(
                "a connection URL must look like mysql://user[:password]@host[:port]/database",
            ),
            BadHost => f.write_str("bad host"),
            BadPort => {
                f.write_str("bad port (a password holding `?`, `#` or `%` must be %-escaped)")
            }
            BadTablePort { port } => write!(f, "bad port `{port}`"),
            BadEscape => f.write_str("bad %-escape in connection URL"),
            NotUtf8 => f.write_str("connection URL is not valid UTF-8"),
            NoDatabase => f.write_str("the URL names no database (mysql://user@host/DATABASE)"),
            TableNeedsDatabase => f.write_str("the connection table needs `database`"),
            NeedsPath { key } => write!(f, "`{key}` needs a file path"),
            UnknownSslMode { value } => write!(
                f,
                "unknown ssl-mode `{value}` (known: {})",
                SslMode::ALL.map(|m| m.name()).join(", ")
            ),
            PasswordEnvNeedsName => {
                f.write_str("`password-env` needs the name of an environment variable")
            }
            TwoPasswordSources => {
                f.write_str("give one of password-env and password-file, not both")
            }
            BadWritable { value } => write!(f, "`writable` is true or false, not `{value}`"),
            UnknownOptionUnechoed => write!(
                f,
                "unknown URL option (a `?` in a password must be %-escaped as %3F; \
                 known options: {})",
                OPTIONS.join(", ")
            ),
            UnknownOption { key } => {
                write!(
                    f,
                    "unknown URL option `{key}` (known: {})",
                    OPTIONS.join(", ")
                )
            }
            UnknownField { key } => {
                let known: Vec<String> = OPTIONS.iter().map(|o| o.replace('-', "_")).collect();
                write!(
                    f,
                    "unknown connection field `{key}` (known: host, port, user, password, \
                     database, {})",
                    known.join(", ")
                )
            }
            PasswordTwice => f.write_str(
                "the password is given twice: keep it in the URL, or in password-env, or in \
                 password-file",
            ),
            CertWithoutKey => f.write_str("ssl-cert and ssl-key go together: give both or neither"),
            DisabledWithFiles => f.write_str("ssl-mode=disabled with ssl-ca/ssl-cert: drop one"),
            TlsNeedsTcp { mode } => write!(
                f,
                "ssl-mode={} needs a TCP connection; a unix socket is not encrypted \
                 (drop socket=, or use ssl-mode=preferred)",
                mode.name()
            ),
            PasswordEnvUnset { name } => write!(
                f,
                "password-env names the environment variable {name}, which is not set"
            ),
            PasswordEnvNotUtf8 { name } => write!(
                f,
                "the environment variable {name} (password-env) is not valid UTF-8"
            ),
            PasswordFileUnreadable { path, cause } => write!(
                f,
                "cannot read the password-file {}: {cause}",
                path.display()
            ),
            PasswordFileNotUtf8 { path } => {
                write!(f, "the password-file {} is not valid UTF-8", path.display())
            }
            TlsFileUnreadable { what, path, cause } => {
                write!(f, "{what} file {}: {cause}", path.display())
            }
            TlsFileWrongKind { what, path } => {
                let expected = if what == "ssl-key" {
                    "private key"
                } else {
                    "certificate"
                };
                write!(
                    f,
                    "{what} file {} holds no {expected} (PEM or DER expected)",
                    path.display()
                )
            }
        }
    }
}

/// A connection spec that does not parse, or whose password or TLS files cannot be
/// read, is the job's (or the flags') fault: a usage error, exit 2.
impl From<SpecError> for crate::error::Error {
    fn from(e: SpecError) -> crate::error::Error {
        crate::error::Error::usage(e.to_string())
    }
}

impl std::error::Error for SpecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpecError::InUrl { reason, .. } | SpecError::InSpec { reason, .. } => Some(reason),
            SpecError::PasswordFileUnreadable { cause, .. }
            | SpecError::TlsFileUnreadable { cause, .. } => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let in_url = SpecError::InUrl {
            reason: Box::new(SpecError::BadPort),
            url: "mysql://app:***@db1:x/crm".into(),
        };
        assert_eq!(
            in_url.to_string(),
            "bad port (a password holding `?`, `#` or `%` must be %-escaped) in \
             `mysql://app:***@db1:x/crm`"
        );
        assert!(std::error::Error::source(&in_url).is_some());
        assert_eq!(
            SpecError::TlsNeedsTcp {
                mode: SslMode::Required
            }
            .to_string(),
            "ssl-mode=required needs a TCP connection; a unix socket is not encrypted \
             (drop socket=, or use ssl-mode=preferred)"
        );
        assert_eq!(
            SpecError::UnknownOption { key: "x".into() }.to_string(),
            format!("unknown URL option `x` (known: {})", OPTIONS.join(", "))
        );
        assert!(SpecError::UnknownField { key: "ssl".into() }
            .to_string()
            .starts_with("unknown connection field `ssl` (known: host, port, user, password, database, socket, ssl_mode,"));
        assert_eq!(
            SpecError::TlsFileWrongKind {
                what: "ssl-key".into(),
                path: "/k.pem".into()
            }
            .to_string(),
            "ssl-key file /k.pem holds no private key (PEM or DER expected)"
        );
        assert_eq!(
            SpecError::InSpec {
                spec: "mysql://root@localhost:3306/crm".into(),
                reason: Box::new(SpecError::CertWithoutKey)
            }
            .to_string(),
            "mysql://root@localhost:3306/crm: ssl-cert and ssl-key go together: give both or \
             neither"
        );
        let e = crate::error::Error::from(SpecError::NoDatabase);
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "the URL names no database (mysql://user@host/DATABASE)"
        );
    }
}
