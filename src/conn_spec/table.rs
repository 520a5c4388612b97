//! The Lua-table form of a connection (`{ host = ..., database = ..., ssl_mode = ... }`),
//! its fields already read as text by the Lua layer.

use super::{ConnSpec, SpecError, Tls};

impl ConnSpec {
    /// Builds a spec from the Lua-table form's fields (`host`, `port`, `user`,
    /// `password`, `database`, and every URL option, with `_` for `-`: `ssl_mode`).
    pub fn from_fields(fields: &[(String, String)]) -> Result<ConnSpec, SpecError> {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        };
        let database = get("database").ok_or(SpecError::TableNeedsDatabase)?;
        let mut spec = ConnSpec {
            user: get("user").unwrap_or_else(|| "root".into()),
            password: get("password"),
            host: get("host").unwrap_or_else(|| "localhost".into()),
            port: match get("port") {
                Some(p) => p.parse().map_err(|_| SpecError::BadTablePort { port: p })?,
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
            spec.set_option(k, v).map_err(|e| {
                if e.is_unknown_option() {
                    SpecError::UnknownField { key: k.clone() }
                } else {
                    e
                }
            })?;
        }
        spec.check().map_err(|reason| SpecError::InSpec {
            spec: spec.to_string(),
            reason: Box::new(reason),
        })?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::super::PasswordSource;
    use super::*;
    use crate::conn_spec::SslMode;

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
        let e = f(&[("database", "crm"), ("ssl", "on")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown connection field `ssl`"), "{e}");
        assert!(e.contains("ssl_mode"), "{e}");
        let e = f(&[("database", "crm"), ("ssl_mode", "nope")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown ssl-mode `nope`"), "{e}");
    }
}
