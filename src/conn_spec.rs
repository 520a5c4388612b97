//! Connection specs: `mysql://user[:password]@host[:port]/database[?socket=/path]` URLs and
//! their Lua-table form, parsed into one `ConnSpec`. Its `Display` is the only way a spec
//! is ever shown, and it always hides the password (`mysql://app:***@db1:3306/crm`).

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct ConnSpec {
    pub user: String,
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub socket: Option<String>,
}

impl fmt::Debug for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnSpec({self})")
    }
}

impl ConnSpec {
    /// Parses a `mysql://` URL. The error text never repeats the password.
    pub fn parse(url: &str) -> Result<ConnSpec, String> {
        let rest = url
            .strip_prefix("mysql://")
            .or_else(|| url.strip_prefix("mariadb://"))
            .ok_or_else(|| {
                format!(
                    "a connection URL must look like mysql://user[:password]@host[:port]/database, not `{}`",
                    redact_raw(url)
                )
            })?;
        let (rest, query) = match rest.split_once('?') {
            Some((a, b)) => (a, Some(b)),
            None => (rest, None),
        };
        let (authority, database) = match rest.split_once('/') {
            Some((a, d)) => (a, d),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
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
            let (h, after) = h
                .split_once(']')
                .ok_or_else(|| format!("bad host in `{}`", redact_raw(url)))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        let port = match port {
            Some(p) if !p.is_empty() => p
                .parse::<u16>()
                .map_err(|_| format!("bad port `{p}` in `{}`", redact_raw(url)))?,
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
        };
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                match k {
                    "socket" => spec.socket = Some(decode(v)?),
                    other => {
                        return Err(format!(
                            "unknown URL option `{other}` in `{}` (known: socket)",
                            redact_raw(url)
                        ))
                    }
                }
            }
        }
        if spec.database.is_empty() {
            return Err(format!(
                "the URL `{}` names no database (mysql://user@host/DATABASE)",
                spec
            ));
        }
        Ok(spec)
    }

    /// mysql crate options for this spec.
    pub fn opts(&self) -> mysql::Opts {
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
        }
        mysql::Opts::from(b)
    }

    /// The password, if any, so callers can scrub it from server messages.
    pub fn secret(&self) -> Option<&str> {
        self.password.as_deref().filter(|p| !p.is_empty())
    }

    /// Replaces any occurrence of the password in `text` with `***`.
    pub fn scrub(&self, text: &str) -> String {
        match self.secret() {
            Some(p) => text.replace(p, "***"),
            None => text.to_string(),
        }
    }
}

impl fmt::Display for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mysql://{}", self.user)?;
        if self.password.is_some() {
            write!(f, ":***")?;
        }
        if self.host.contains(':') {
            write!(f, "@[{}]:{}/{}", self.host, self.port, self.database)?;
        } else {
            write!(f, "@{}:{}/{}", self.host, self.port, self.database)?;
        }
        if let Some(s) = &self.socket {
            write!(f, "?socket={s}")?;
        }
        Ok(())
    }
}

/// Hides the password of something that looks like a URL but did not parse.
pub fn redact_raw(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let after = &url[scheme_end + 3..];
    let auth_end = after.find('/').unwrap_or(after.len());
    let authority = &after[..auth_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &after[at..]
                ),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
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
}
