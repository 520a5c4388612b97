//! Parsing a `mysql://user[:password]@host[:port]/database[?option=value&...]` URL, and
//! hiding the password of one that does not parse (`redact_raw`), so that a parse error
//! never repeats it.

use super::{ConnSpec, SpecError, Tls};

impl ConnSpec {
    /// Parses a `mysql://` URL. The error text never repeats the password: it shows the
    /// URL with everything between `//` and the last `@` hidden (`redact_raw`).
    ///
    /// The user and password end at the last `@` before the `?` of the options, so a
    /// password holding an unescaped `/` or `@` is still read whole; `?` and `#` (and
    /// `%`) in a password must be %-escaped, and an `@` in a database name too.
    pub fn parse(url: &str) -> Result<ConnSpec, SpecError> {
        ConnSpec::parse_url(url).map_err(|reason| SpecError::InUrl {
            reason: Box::new(reason),
            url: redact_raw(url),
        })
    }

    fn parse_url(url: &str) -> Result<ConnSpec, SpecError> {
        let rest = url
            .strip_prefix("mysql://")
            .or_else(|| url.strip_prefix("mariadb://"))
            .ok_or(SpecError::NotAUrl)?;
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
            let (h, after) = h.split_once(']').ok_or(SpecError::BadHost)?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        let port = match port {
            // The port is not echoed: in a mistyped URL it may be part of a password.
            Some(p) if !p.is_empty() => p.parse::<u16>().map_err(|_| SpecError::BadPort)?,
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
            return Err(SpecError::NoDatabase);
        }
        spec.check()?;
        Ok(spec)
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

fn decode(s: &str) -> Result<String, SpecError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(SpecError::BadEscape)?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| SpecError::NotUtf8)
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
        let e = ConnSpec::parse("postgres://u:hunter2@h/d")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
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
            let e = ConnSpec::parse(url).unwrap_err().to_string();
            assert!(!e.contains(secret), "{url}: {e}");
            assert!(e.contains("***"), "{url}: {e}");
        }
        let e = ConnSpec::parse("mysql://app:p?ss@db1/crm")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`mysql://app:***@db1/crm`"), "{e}");
        let e = ConnSpec::parse("mysql://a/pp:h1dden@db1:x/crm")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`mysql://***@db1:x/crm`"), "{e}");
        assert_eq!(redact_raw("mysql://app@db1/crm"), "mysql://app@db1/crm");
        assert_eq!(redact_raw("mysql://db1:3306/crm"), "mysql://db1:3306/crm");
    }
}
