//! `.save FILE`: the session as a job `ferry run` accepts: its connections (passwords
//! left out: `password-env`/`password-file` kept, a typed password replaced by a note
//! naming the variable `ferry run` reads), the statements that defined functions,
//! required modules or set `job{}`, and the statements that called `copy` (those that
//! failed kept as comments, with why; `background = true` dropped, since `ferry run`
//! runs copies in order).

use crate::conn_spec::{ConnSpec, PasswordLeftOut};
use crate::db::Role;
use crate::error::{Error, Result};

/// The statements of the session that `.save` writes.
#[derive(Default)]
pub struct Recorder {
    entries: Vec<Entry>,
}

struct Entry {
    code: String,
    /// Why it failed (a failed copy is written as a comment).
    failed: Option<String>,
}

/// Whether `code` calls `copy` itself (`copy{`, `copy(`, `copy "t"`).
fn calls_copy(code: &str) -> bool {
    let b = code.as_bytes();
    let mut from = 0;
    while let Some(i) = code[from..].find("copy") {
        let at = from + i;
        from = at + 4;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_' || b[at - 1] == b':') {
            continue;
        }
        let rest = code[from..].trim_start();
        if rest.starts_with(['{', '(', '"', '\'']) {
            return true;
        }
    }
    false
}

/// Whether `code` defines something a later copy may use: a function, a module
/// `require`d into a global, `job{...}` settings.
fn defines(code: &str) -> bool {
    let t = code.trim_start();
    if t.starts_with("function ")
        || t.starts_with("job") && t[3..].trim_start().starts_with(['{', '('])
    {
        return true;
    }
    let Some((lhs, rhs)) = t.split_once('=') else {
        return false;
    };
    let lhs = lhs.trim();
    let is_name = !lhs.is_empty()
        && lhs
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
    let rhs = rhs.trim_start();
    is_name && !rhs.starts_with('=') && (rhs.starts_with("function") || rhs.starts_with("require"))
}

/// `code` without `background = true` (and its comma).
fn without_background(code: &str) -> String {
    let mut out = code.to_string();
    while let Some(at) = out.find("background") {
        let rest = &out[at + "background".len()..];
        let trimmed = rest.trim_start();
        let Some(after_eq) = trimmed.strip_prefix('=') else {
            break;
        };
        let after_eq = after_eq.trim_start();
        let Some(after) = after_eq.strip_prefix("true") else {
            break;
        };
        let mut end = out.len() - after.len();
        let tail = &out[end..];
        let skip = tail.len() - tail.trim_start().len();
        let mut start = at;
        if tail[skip..].starts_with(',') {
            end += skip + 1;
            end += out[end..].len() - out[end..].trim_start().len();
        } else {
            // The last field: take the comma before it instead.
            let head = out[..at].trim_end();
            if let Some(h) = head.strip_suffix(',') {
                start = h.len();
            }
        }
        out.replace_range(start..end, "");
    }
    out
}

impl Recorder {
    /// Keeps a Lua statement the session ran (already masked of passwords) when it
    /// matters to a job; `failed` says why it failed.
    pub fn record(&mut self, code: &str, failed: Option<String>) {
        let copies = calls_copy(code);
        if copies || (failed.is_none() && defines(code)) {
            self.entries.push(Entry {
                code: if copies {
                    without_background(code)
                } else {
                    code.to_string()
                },
                failed: failed.filter(|_| copies),
            });
        }
    }

    /// The job's text.
    pub fn job(&self, sides: &[(Role, Option<ConnSpec>)]) -> String {
        let mut out = String::from(
            "-- Saved by `.save` in ferry repl: the session's connections and copies.\n",
        );
        for (role, spec) in sides {
            let Some(spec) = spec else { continue };
            let (url, note) = url_without_password(spec, *role);
            if let Some(note) = note {
                out.push_str(&format!("-- {note}\n"));
            }
            out.push_str(&format!("{} {}\n", role.name(), lua_string(&url)));
        }
        out.push('\n');
        for e in &self.entries {
            match &e.failed {
                None => {
                    out.push_str(&e.code);
                    out.push('\n');
                }
                Some(why) => {
                    // The first line; when it only announces a list ("the job has 1
                    // problem; nothing was written:"), the list too, on the same line.
                    let mut lines = why.lines();
                    let mut why = lines.next().unwrap_or_default().to_string();
                    if why.ends_with(':') {
                        for l in lines {
                            why.push(' ');
                            why.push_str(l.trim());
                        }
                    }
                    out.push_str(&format!("-- failed in the session: {why}\n"));
                    for line in e.code.lines() {
                        out.push_str(&format!("-- {line}\n"));
                    }
                }
            }
        }
        out
    }

    /// Writes the job to `path`.
    pub fn save(&self, path: &str, sides: &[(Role, Option<ConnSpec>)]) -> Result<String> {
        if path.is_empty() {
            return Err(Error::usage(".save takes a file name: .save job.lua"));
        }
        std::fs::write(path, self.job(sides)).map_err(|e| Error::Io {
            path: path.into(),
            message: e.to_string(),
        })?;
        let n = self.entries.iter().filter(|e| calls_copy(&e.code)).count();
        Ok(format!(
            "saved to {path}: connections and {n} cop{} (`ferry run {path}`)",
            if n == 1 { "y" } else { "ies" }
        ))
    }
}

/// A spec's URL with no password in it, and a note when a typed one was left out.
fn url_without_password(spec: &ConnSpec, role: Role) -> (String, Option<String>) {
    let (url, left_out) = spec.url_without_password(None);
    let note = (left_out == PasswordLeftOut::Typed).then(|| {
        format!(
            "the {} password is left out: set {} (or add ?password-env=NAME)",
            role.name(),
            role.password_env()
        )
    });
    (url, note)
}

/// `s` as a Lua string literal.
fn lua_string(s: &str) -> String {
    format!("{s:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_becomes_a_job_without_passwords() {
        let mut r = Recorder::default();
        r.record(
            "function up(row) row.v = row.v:upper() return row end",
            None,
        );
        r.record("text = require \"ferry.text\"", None);
        r.record("x = 1", None);
        r.record("src:peek(\"t\")", None);
        r.record(
            "h = copy{from = \"a\", background = true, to = \"b\"}",
            None,
        );
        r.record("copy{from = \"a\", to = \"c\", background = true}", None);
        r.record(
            "copy{from = \"nope\"}",
            Some("no table `nope`\nmore".into()),
        );
        r.record(
            "copy{from = \"a\", to = \"d\", create = true}",
            Some(
                "the job has 1 problem; nothing was written:\n  - copy: `create` needs `tables`"
                    .into(),
            ),
        );
        r.record("function broken(", Some("syntax".into()));
        let src = ConnSpec::parse("mysql://app:S3cret-pw@db1/crm").unwrap();
        let mut dst = ConnSpec::parse("mysql://app@db2/crm?password-env=DST_PW").unwrap();
        dst.password = Some("from-the-variable".into());
        let job = r.job(&[(Role::Source, Some(src)), (Role::Target, Some(dst))]);
        assert!(
            !job.contains("S3cret") && !job.contains("from-the-variable"),
            "{job}"
        );
        assert!(
            job.contains("-- the source password is left out: set FERRY_SOURCE_PASSWORD"),
            "{job}"
        );
        assert!(
            job.contains("source \"mysql://app@db1:3306/crm\"\n"),
            "{job}"
        );
        assert!(
            job.contains("target \"mysql://app@db2:3306/crm?password-env=DST_PW\"\n"),
            "{job}"
        );
        assert!(job.contains("\nfunction up(row)"), "{job}");
        assert!(job.contains("\ntext = require \"ferry.text\"\n"), "{job}");
        assert!(!job.contains("x = 1") && !job.contains("peek"), "{job}");
        assert!(
            job.contains("\nh = copy{from = \"a\", to = \"b\"}\n"),
            "{job}"
        );
        assert!(job.contains("\ncopy{from = \"a\", to = \"c\"}\n"), "{job}");
        assert!(
            job.contains("-- failed in the session: no table `nope`\n-- copy{from = \"nope\"}\n"),
            "{job}"
        );
        assert!(!job.contains("broken"), "{job}");
        assert!(
            job.contains("-- failed in the session: the job has 1 problem; nothing was written: - copy: `create` needs `tables`\n"),
            "{job}"
        );
    }
}
