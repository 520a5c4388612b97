//! The options a URL's query (`ssl-mode=...`) and the table form's extra fields
//! (`ssl_mode = ...`) share: setting one, and refusing options that contradict each
//! other.

use std::path::PathBuf;

use super::{ConnSpec, PasswordSource, SpecError, SslMode};

/// The URL options, as written in a URL (`ssl-mode`) and in the table form (`ssl_mode`).
pub(super) const OPTIONS: &[&str] = &[
    "socket",
    "ssl-mode",
    "ssl-ca",
    "ssl-cert",
    "ssl-key",
    "password-env",
    "password-file",
    "writable",
];

impl ConnSpec {
    /// Sets one option (`ssl-mode` or `ssl_mode`).
    pub(super) fn set_option(&mut self, key: &str, value: &str) -> Result<(), SpecError> {
        let path = || -> Result<PathBuf, SpecError> {
            if value.is_empty() {
                Err(SpecError::NeedsPath { key: key.into() })
            } else {
                Ok(PathBuf::from(value))
            }
        };
        let source = |s: PasswordSource, this: &ConnSpec| -> Result<PasswordSource, SpecError> {
            if this.password_source.is_some() {
                Err(SpecError::TwoPasswordSources)
            } else {
                Ok(s)
            }
        };
        match key.replace('_', "-").as_str() {
            "socket" => self.socket = Some(value.to_string()),
            "ssl-mode" => {
                self.tls.mode =
                    Some(
                        SslMode::parse(value).ok_or_else(|| SpecError::UnknownSslMode {
                            value: value.into(),
                        })?,
                    )
            }
            "ssl-ca" => self.tls.ca = Some(path()?),
            "ssl-cert" => self.tls.cert = Some(path()?),
            "ssl-key" => self.tls.key = Some(path()?),
            "password-env" => {
                if value.is_empty() {
                    return Err(SpecError::PasswordEnvNeedsName);
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
                    _ => {
                        return Err(SpecError::BadWritable {
                            value: value.into(),
                        })
                    }
                }
            }
            // A key no option could have is not echoed: it may be a piece of a
            // password whose `?` was not escaped (`mysql://app:1?x@db1/crm`).
            _ if !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                return Err(SpecError::UnknownOptionUnechoed)
            }
            _ => return Err(SpecError::UnknownOption { key: key.into() }),
        }
        Ok(())
    }

    /// Options that contradict each other.
    pub(super) fn check(&self) -> Result<(), SpecError> {
        if self.password.is_some() && self.password_source.is_some() {
            return Err(SpecError::PasswordTwice);
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(SpecError::CertWithoutKey);
        }
        let mode = self.tls.mode();
        if mode == SslMode::Disabled && (self.tls.ca.is_some() || self.tls.cert.is_some()) {
            return Err(SpecError::DisabledWithFiles);
        }
        if mode.requires_tls() && self.socket.is_some() {
            return Err(SpecError::TlsNeedsTcp { mode });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

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

        let e = ConnSpec::parse("mysql://app:hunter2@db1/crm?ssl-mode=strict")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown ssl-mode `strict`"), "{e}");
        assert!(e.contains("verify-identity"), "{e}");
        assert!(e.contains("mysql://app:***@db1/crm"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");

        let e = ConnSpec::parse("mysql://app@db1/crm?ssl-cert=/c.pem")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ssl-cert and ssl-key go together"), "{e}");
        let e = ConnSpec::parse("mysql://app@db1/crm?ssl-mode=required&socket=/s")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs a TCP connection"), "{e}");
        let e = ConnSpec::parse("mysql://app@db1/crm?ssl-mode=disabled&ssl-ca=/ca")
            .unwrap_err()
            .to_string();
        assert!(e.contains("disabled"), "{e}");
        let e = ConnSpec::parse("mysql://app@db1/crm?sslmode=required")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown URL option `sslmode`"), "{e}");
    }

    #[test]
    fn writable_option() {
        let s = ConnSpec::parse("mysql://app@db1/crm").unwrap();
        assert!(!s.writable);
        let s = ConnSpec::parse("mysql://app@db1/crm?writable=true").unwrap();
        assert!(s.writable);
        assert_eq!(s.to_string(), "mysql://app@db1:3306/crm?writable=true");
        let e = ConnSpec::parse("mysql://app@db1/crm?writable=maybe")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`writable` is true or false"), "{e}");
        let s = ConnSpec::from_fields(&[
            ("database".to_string(), "crm".to_string()),
            ("writable".to_string(), "true".to_string()),
        ])
        .unwrap();
        assert!(s.writable);
    }
}
