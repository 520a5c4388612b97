//! The SQL of `ferry check`'s environment: the session user's grants (`SHOW GRANTS`,
//! read as privileges per scope), the server settings a copy depends on
//! (`local_infile`, `max_allowed_packet`, time zones, version), and which columns
//! hold JSON (MySQL's JSON type, or MariaDB's: LONGTEXT with a `json_valid` CHECK).

use mysql::prelude::Queryable;

use crate::db::schema::TableInfo;
use crate::db::Db;
use crate::error::Result;

/// What of a server a copy depends on.
#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    pub version: String,
    pub local_infile: bool,
    pub max_allowed_packet: u64,
    /// `@@global.time_zone`, with `SYSTEM` replaced by `@@system_time_zone`.
    pub time_zone: String,
}

/// One `GRANT ... ON scope TO ...` line: its privileges (upper case, table-wide
/// ones only) and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub privileges: Vec<String>,
    /// `None`: `*` (every database); else the database name or pattern.
    pub database: Option<String>,
    /// `None`: every table of the database.
    pub table: Option<String>,
}

/// The session user's grants.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub grants: Vec<Grant>,
    /// The user also holds roles (or proxies) whose privileges `SHOW GRANTS` may not
    /// list: a privilege not found is then unknown, not missing.
    pub roles: bool,
}

/// `` `a``b` `` -> ``a`b``, `*` -> `None`.
fn unquote(part: &str) -> Option<String> {
    let p = part.trim();
    if p == "*" {
        return None;
    }
    let inner = p
        .strip_prefix('`')
        .and_then(|r| r.strip_suffix('`'))
        .unwrap_or(p);
    Some(inner.replace("``", "`"))
}

/// Splits `` `db`.`t` `` at the dot outside quotes.
fn split_scope(scope: &str) -> (String, String) {
    let mut quoted = false;
    for (i, c) in scope.char_indices() {
        match c {
            '`' => quoted = !quoted,
            '.' if !quoted => return (scope[..i].to_string(), scope[i + 1..].to_string()),
            _ => {}
        }
    }
    (scope.to_string(), "*".to_string())
}

/// The privileges of a grant line, column lists dropped (a column privilege is not a
/// table's), or `None` for a line that grants a role or a proxy.
pub fn parse_grant(line: &str) -> Option<Grant> {
    let rest = line.strip_prefix("GRANT ")?;
    let on = rest.find(" ON ")?;
    let (privs, after) = (&rest[..on], &rest[on + 4..]);
    let scope = after.split(" TO ").next()?.trim();
    if privs.starts_with("PROXY") {
        return None;
    }
    let mut privileges = Vec::new();
    let (mut depth, mut word) = (0, String::new());
    let mut columns = false;
    for c in privs.chars().chain(std::iter::once(',')) {
        match c {
            '(' => {
                depth += 1;
                columns = true;
            }
            ')' => depth -= 1,
            ',' if depth == 0 => {
                if !columns && !word.trim().is_empty() {
                    privileges.push(word.trim().to_ascii_uppercase());
                }
                word.clear();
                columns = false;
            }
            _ if depth == 0 => word.push(c),
            _ => {}
        }
    }
    // `PROCEDURE db.p`, `FUNCTION db.f`: not about tables.
    let scope = scope.strip_prefix("TABLE ").unwrap_or(scope);
    if scope.starts_with("PROCEDURE ") || scope.starts_with("FUNCTION ") {
        return None;
    }
    let (db, table) = split_scope(scope);
    Some(Grant {
        privileges,
        database: unquote(&db),
        table: unquote(&table),
    })
}

/// Whether a grant's database pattern names `db` (`%` and `_` wildcards, `\_` and
/// `\%` literal).
fn db_matches(pattern: &str, db: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|i| go(&p[1..], &s[i..])),
            Some('_') => !s.is_empty() && go(&p[1..], &s[1..]),
            Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && go(&p[2..], &s[1..]),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = db.chars().collect();
    go(&p, &s)
}

impl Grants {
    /// Whether the user holds `privilege` on `db.table`: `Some(true)` granted,
    /// `Some(false)` not granted, `None` unknown (roles the grants do not list).
    pub fn holds(&self, privilege: &str, db: &str, table: &str) -> Option<bool> {
        let found = self.grants.iter().any(|g| {
            let scope = match (&g.database, &g.table) {
                (None, _) => true,
                (Some(d), None) => db_matches(d, db),
                (Some(d), Some(t)) => d == db && t == table,
            };
            scope
                && g.privileges
                    .iter()
                    .any(|p| p == privilege || p == "ALL" || p == "ALL PRIVILEGES")
        });
        if found {
            Some(true)
        } else if self.roles {
            None
        } else {
            Some(false)
        }
    }
}

impl Db {
    /// The session user's grants, from `SHOW GRANTS`.
    pub fn grants(&mut self) -> Result<Grants> {
        let lines: Vec<String> = self
            .conn
            .query("SHOW GRANTS")
            .map_err(|e| self.err("reading the session's grants", e))?;
        let mut out = Grants::default();
        for line in &lines {
            match parse_grant(line) {
                Some(g) => out.grants.push(g),
                // `GRANT role TO user`: privileges SHOW GRANTS does not list.
                None => out.roles |= line.starts_with("GRANT ") && !line.contains(" ON "),
            }
        }
        Ok(out)
    }

    /// The settings a copy depends on.
    pub fn check_settings(&mut self) -> Result<ServerSettings> {
        type Row = (String, Option<String>, u64, String, String);
        let row: Option<Row> = self
            .conn
            .query_first(
                "SELECT VERSION(), CAST(@@global.local_infile AS CHAR), @@global.max_allowed_packet, \
                 @@global.time_zone, @@system_time_zone",
            )
            .map_err(|e| self.err("reading server settings", e))?;
        let Some((version, infile, packet, tz, system)) = row else {
            return Ok(ServerSettings::default());
        };
        Ok(ServerSettings {
            version,
            local_infile: matches!(infile.as_deref(), Some("1" | "ON")),
            max_allowed_packet: packet,
            time_zone: if tz == "SYSTEM" { system } else { tz },
        })
    }

    /// The columns of `table` that hold JSON.
    pub fn json_columns(&mut self, table: &TableInfo) -> Result<Vec<String>> {
        let mut out: Vec<String> = table
            .columns
            .iter()
            .filter(|c| c.data_type.eq_ignore_ascii_case("json"))
            .map(|c| c.name.clone())
            .collect();
        if !self.is_mariadb() {
            return Ok(out);
        }
        let rows: Vec<String> = self
            .conn
            .exec(
                "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                 WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
                (&table.database, &table.name),
            )
            .map_err(|e| self.err("reading the check constraints", e))?;
        for clause in rows {
            let c = clause.trim();
            let Some(inner) = c
                .strip_prefix("json_valid(")
                .and_then(|r| r.strip_suffix(')'))
            else {
                continue;
            };
            if let Some(name) = unquote(inner) {
                if table.column(&name).is_some() && !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_lines() {
        let g = parse_grant("GRANT SELECT, INSERT ON `shop`.* TO `u`@`%`").unwrap();
        assert_eq!(g.privileges, ["SELECT", "INSERT"]);
        assert_eq!(g.database.as_deref(), Some("shop"));
        assert_eq!(g.table, None);
        let g = parse_grant("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION")
            .unwrap();
        assert_eq!(g.privileges, ["ALL PRIVILEGES"]);
        assert_eq!(g.database, None);
        let g = parse_grant("GRANT SELECT (`a`, `b`), UPDATE ON `d`.`t` TO `u`@`h`").unwrap();
        assert_eq!(g.privileges, ["UPDATE"]);
        assert_eq!(g.table.as_deref(), Some("t"));
        assert_eq!(parse_grant("GRANT `reader` TO `u`@`%`"), None);
        assert_eq!(
            parse_grant("GRANT PROXY ON ''@'%' TO 'root'@'localhost'"),
            None
        );
        let grants = Grants {
            grants: vec![
                parse_grant("GRANT SELECT ON `sh\\_op%`.* TO `u`@`%`").unwrap(),
                parse_grant("GRANT INSERT ON `x`.`t` TO `u`@`%`").unwrap(),
            ],
            roles: false,
        };
        assert_eq!(grants.holds("SELECT", "sh_op2", "t"), Some(true));
        assert_eq!(grants.holds("SELECT", "shXop", "t"), Some(false));
        assert_eq!(grants.holds("INSERT", "x", "t"), Some(true));
        assert_eq!(grants.holds("INSERT", "x", "u"), Some(false));
        let with_roles = Grants {
            roles: true,
            ..grants
        };
        assert_eq!(with_roles.holds("DELETE", "x", "t"), None);
    }
}
