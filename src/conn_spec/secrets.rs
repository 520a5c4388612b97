//! The password: read from `password-env`, `password-file` or the role's variable right
//! before connecting (`resolve`), and hidden in every message that could show it
//! (`scrub`, `mask_urls`).

use std::path::{Path, PathBuf};

use super::tls::check_tls_file;
use super::{ConnSpec, PasswordSource, SpecError};

/// Where `ConnSpec::url_without_password` leaves the job to find the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordLeftOut {
    /// The spec has no password.
    Nothing,
    /// The spec's `password-env`: read from this variable when the job runs.
    Env(String),
    /// The spec's `password-file`.
    File(PathBuf),
    /// Typed into the URL: not written (read from `typed_env`, if one was given).
    Typed,
}

impl ConnSpec {
    /// This spec, ready to connect: the password read from `password-env` or
    /// `password-file`, or, when the spec names no password at all, from the variable
    /// `fallback_env` (`FERRY_SOURCE_PASSWORD`) when it is set; and the TLS files checked
    /// for readability. A spec that already holds its password is returned as it is.
    /// Errors name the variable or the file, never the password.
    pub fn resolve(&self, fallback_env: &str) -> Result<ConnSpec, SpecError> {
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
                    return Err(SpecError::PasswordEnvUnset { name: name.clone() })
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(SpecError::PasswordEnvNotUtf8 { name: name.clone() })
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

    /// The URL to write into a job file: no password in it. A `password-env` /
    /// `password-file` option stays as given; a password typed into the URL is left
    /// out, and with `typed_env` the URL says `password-env=typed_env` instead. The
    /// second value says which it was, for the caller's note to the user.
    pub fn url_without_password(&self, typed_env: Option<&str>) -> (String, PasswordLeftOut) {
        let mut clean = self.clone();
        let typed = clean.password.take().is_some();
        let source = clean.password_source.take();
        let mut url = clean.to_string();
        let sep = if url.contains('?') { '&' } else { '?' };
        let left_out = match source {
            Some(PasswordSource::Env(name)) => {
                url.push_str(&format!("{sep}password-env={name}"));
                PasswordLeftOut::Env(name)
            }
            Some(PasswordSource::File(p)) => {
                url.push_str(&format!("{sep}password-file={}", p.display()));
                PasswordLeftOut::File(p)
            }
            None if typed => {
                if let Some(name) = typed_env {
                    url.push_str(&format!("{sep}password-env={name}"));
                }
                PasswordLeftOut::Typed
            }
            None => PasswordLeftOut::Nothing,
        };
        (url, left_out)
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

fn read_password_file(path: &Path) -> Result<String, SpecError> {
    let data = std::fs::read(path).map_err(|cause| SpecError::PasswordFileUnreadable {
        path: path.into(),
        cause,
    })?;
    let mut text = String::from_utf8(data)
        .map_err(|_| SpecError::PasswordFileNotUtf8 { path: path.into() })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = s.resolve("FERRY_UNIT_NONE").unwrap_err().to_string();
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
        let e = s.resolve("X").unwrap_err().to_string();
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

        let e = ConnSpec::parse("mysql://app:x@db1/crm?password-env=A")
            .unwrap_err()
            .to_string();
        assert!(e.contains("given twice"), "{e}");
        let e = ConnSpec::parse("mysql://app@db1/crm?password-env=A&password-file=/f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not both"), "{e}");
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
}
