//! How a session uses TLS: the `ssl-mode` values, the TLS settings of a spec, the mysql
//! crate's TLS options built from them, the check that the TLS files hold what they
//! should, and telling a TLS failure from other connection errors.

use std::path::{Path, PathBuf};

use super::SpecError;

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
    pub(super) const ALL: [SslMode; 5] = [
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

pub(super) fn check_tls_file(what: &str, path: &Path) -> Result<(), SpecError> {
    let data = std::fs::read(path).map_err(|cause| SpecError::TlsFileUnreadable {
        what: what.into(),
        path: path.into(),
        cause,
    })?;
    let pem = String::from_utf8_lossy(&data);
    let ok = match what {
        "ssl-key" => pem.contains("PRIVATE KEY-----") || data.first() == Some(&0x30),
        _ => pem.contains("-----BEGIN CERTIFICATE-----") || data.first() == Some(&0x30),
    };
    if !ok {
        return Err(SpecError::TlsFileWrongKind {
            what: what.into(),
            path: path.into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::conn_spec::ConnSpec;

    #[test]
    fn tls_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let s = ConnSpec::parse(&format!("mysql://app@db1/crm?ssl-ca={}", junk.display())).unwrap();
        let e = s.resolve("X").unwrap_err().to_string();
        assert!(e.contains("holds no certificate"), "{e}");
        let s = ConnSpec::parse("mysql://app@db1/crm?ssl-ca=/no/such/ca.pem").unwrap();
        let e = s.resolve("X").unwrap_err().to_string();
        assert!(e.contains("ssl-ca file /no/such/ca.pem"), "{e}");
    }
}
