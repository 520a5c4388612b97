//! The first lines of a job the page creates: `source` and `target` without a password.
//! A password typed into a URL on the command line is left out: the URL says
//! `?password-env=FERRY_SOURCE_PASSWORD` (`FERRY_TARGET_PASSWORD`), so the job reads it
//! from there, and a `password-env` / `password-file` option stays as it was given.

use super::lua_text::quote;
use crate::conn_spec::{ConnSpec, PasswordLeftOut};
use crate::db::Role;

/// The header text, and the notes telling the user what to set before `ferry run`.
pub fn header(source: Option<&ConnSpec>, target: Option<&ConnSpec>) -> (String, Vec<String>) {
    let mut text = String::from("-- written by `ferry ui`; run it with `ferry run`\n");
    let mut notes = Vec::new();
    for (role, spec) in [(Role::Source, source), (Role::Target, target)] {
        match spec {
            Some(spec) => {
                let (url, note) = url_without_password(spec, role);
                text.push_str(&format!("{} {}\n", role.name(), quote(url.as_bytes())));
                notes.extend(note);
            }
            None => {
                text.push_str(&format!(
                    "-- {} \"mysql://USER@HOST/DATABASE\"  (none was given: pass --{} URL)\n",
                    role.name(),
                    role.name()
                ));
                notes.push(format!(
                    "the job names no {0}: run it with --{0} URL",
                    role.name()
                ));
            }
        }
    }
    (text, notes)
}

/// A spec's URL with no password in it, and a note when a typed one was left out.
pub fn url_without_password(spec: &ConnSpec, role: Role) -> (String, Option<String>) {
    let (url, left_out) = spec.url_without_password(Some(role.password_env()));
    let note = match left_out {
        PasswordLeftOut::Env(name) => Some(format!(
            "the {} password is read from the variable {name} when the job runs",
            role.name()
        )),
        PasswordLeftOut::Typed => Some(format!(
            "the {} password typed on the command line is not written to the file: \
             the job reads it from {} (set it before `ferry run`)",
            role.name(),
            role.password_env()
        )),
        PasswordLeftOut::File(_) | PasswordLeftOut::Nothing => None,
    };
    (url, note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_password_reaches_the_text() {
        let s = ConnSpec::parse("mysql://app:s3cr%40t@db1:3307/legacy").unwrap();
        let t = ConnSpec::parse("mysql://root@db2/crm?password-env=CRM_PW").unwrap();
        let (text, notes) = header(Some(&s), Some(&t));
        assert!(!text.contains("s3cr"), "{text}");
        assert!(!text.contains("***"), "{text}");
        assert!(
            text.contains(
                "source \"mysql://app@db1:3307/legacy?password-env=FERRY_SOURCE_PASSWORD\"\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("target \"mysql://root@db2:3306/crm?password-env=CRM_PW\"\n"),
            "{text}"
        );
        assert!(notes[0].contains("FERRY_SOURCE_PASSWORD"), "{notes:?}");
        assert!(notes[1].contains("CRM_PW"), "{notes:?}");
    }
}
