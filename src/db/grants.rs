//! The session user's grants (`ferry ui`'s connection panel): the statement lines as
//! the server prints them, with any password hash cut out, and which of the privileges
//! a copy uses they grant on this database.

use crate::db::Db;
use crate::error::Result;

/// The privileges a copy may use, in the order the page lists them.
pub const COPY_PRIVILEGES: [&str; 7] = [
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP",
];

/// What the session user may do.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// `GRANT ... TO ...` lines, password hashes replaced by `'***'`.
    pub lines: Vec<String>,
    /// The subset of `COPY_PRIVILEGES` granted globally or on this database.
    pub copy_privileges: Vec<&'static str>,
}

impl Db {
    /// The session user's grants as the page shows them (`check_env`'s `grants` parses
    /// the same statement for `ferry check`).
    pub fn grant_lines(&mut self) -> Result<Grants> {
        let rows = self.query("SHOW GRANTS", vec![])?;
        let lines: Vec<String> = rows
            .rows
            .iter()
            .filter_map(|r| r.first())
            .filter_map(|v| crate::db::value::to_text(v, crate::db::value::Kind::Bytes))
            .map(|b| hide_hash(&String::from_utf8_lossy(&b)))
            .collect();
        let database = self.database().to_string();
        Ok(Grants {
            copy_privileges: copy_privileges(&lines, &database),
            lines,
        })
    }
}

/// `... IDENTIFIED BY PASSWORD '*94BD...'` with the quoted hash as `'***'`.
fn hide_hash(line: &str) -> String {
    let upper = line.to_ascii_uppercase();
    let Some(at) = upper.find(" PASSWORD '").or_else(|| upper.find(" AS '")) else {
        return line.to_string();
    };
    let open = at + upper[at..].find('\'').unwrap_or(0) + 1;
    match line[open..].find('\'') {
        Some(len) => format!("{}***{}", &line[..open], &line[open + len..]),
        None => format!("{}***'", &line[..open]),
    }
}

/// Which copy privileges the lines grant on `*.*` or on `database`.
fn copy_privileges(lines: &[String], database: &str) -> Vec<&'static str> {
    let mut granted: Vec<&'static str> = Vec::new();
    for line in lines {
        let Some(rest) = line.strip_prefix("GRANT ") else {
            continue;
        };
        let Some(on) = rest.find(" ON ") else {
            continue;
        };
        let (privs, target) = (&rest[..on], &rest[on + 4..]);
        let object = target.split_whitespace().next().unwrap_or("");
        let db = object.split('.').next().unwrap_or("").trim_matches('`');
        let applies = db == "*" || db == database || like(db, database);
        if !applies {
            continue;
        }
        for p in COPY_PRIVILEGES {
            let all = privs.contains("ALL PRIVILEGES");
            if (all || privs.split(',').any(|x| x.trim() == p)) && !granted.contains(&p) {
                granted.push(p);
            }
        }
    }
    COPY_PRIVILEGES
        .into_iter()
        .filter(|p| granted.contains(p))
        .collect()
}

/// A grant's database pattern (`shop\_%`) against a name: `%` any run, `_` one
/// character, `\` escapes.
fn like(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('%', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('_', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some(('\\', rest)) if !rest.is_empty() => {
                n.first() == Some(&rest[0]) && go(&rest[1..], &n[1..])
            }
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_hidden() {
        assert_eq!(
            hide_hash("GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*94BDCEBE19'"),
            "GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '***'"
        );
        assert_eq!(
            hide_hash("GRANT SELECT ON `a`.* TO `u`@`%`"),
            "GRANT SELECT ON `a`.* TO `u`@`%`"
        );
    }

    #[test]
    fn privileges_on_this_database() {
        let lines = vec![
            "GRANT USAGE ON *.* TO `u`@`%`".to_string(),
            "GRANT SELECT, INSERT ON `shop\\_%`.* TO `u`@`%`".to_string(),
            "GRANT DELETE ON `other`.* TO `u`@`%`".to_string(),
        ];
        assert_eq!(copy_privileges(&lines, "shop_1"), vec!["SELECT", "INSERT"]);
        assert_eq!(copy_privileges(&lines, "shopx1"), Vec::<&str>::new());
        let all = vec!["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`".to_string()];
        assert_eq!(copy_privileges(&all, "x").len(), 7);
    }
}
