//! Views, triggers, stored procedures and functions made on the target from the
//! source's (`objects = true`): each one's `SHOW CREATE` text (a view's references to
//! the source database made unqualified, so they name the target's tables), the
//! `sql_mode` it was defined under, and its definer; whether that definer exists on the
//! target; and the object created there (dropped first when it exists, so a re-run
//! makes it again). Events are not among them.

use mysql::prelude::Queryable;

use super::schema::quote_ident;
use super::Db;
use crate::error::{Error, Result};

/// The warning (MariaDB) or error (MySQL) of an object whose definer does not exist.
const NO_SUCH_DEFINER: u16 = 1449;

/// A view that reads a table (or view) the target lacks.
const NO_SUCH_TABLE: u16 = 1146;

/// One object as the source defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDefinition {
    /// `VIEW`, `TRIGGER`, `PROCEDURE` or `FUNCTION`.
    pub kind: String,
    pub name: String,
    /// `user@host`, as `information_schema` shows it.
    pub definer: String,
    /// A trigger's table.
    pub table: Option<String>,
    /// The statement that creates it.
    pub create: String,
    /// The `sql_mode` it was created under (a view's is the session's).
    pub sql_mode: Option<String>,
}

impl ObjectDefinition {
    /// `VIEW big_orders`.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }

    /// The definer quoted as a statement names it: `` `app`@`%` ``.
    pub fn quoted_definer(&self) -> String {
        let (user, host) = split_definer(&self.definer);
        format!("{}@{}", quote_ident(user), quote_ident(host))
    }
}

/// `user@host` split at its last `@` (a user name may hold one).
fn split_definer(definer: &str) -> (&str, &str) {
    definer.rsplit_once('@').unwrap_or((definer, "%"))
}

/// `text` with `` `db`. `` before a name taken out: a view's `SHOW CREATE VIEW`
/// qualifies every table and column with the source database.
fn unqualified(text: &str, db: &str) -> String {
    text.replace(&format!("{}.", quote_ident(db)), "")
}

impl Db {
    /// The views, triggers, procedures and functions of the session's database, each
    /// with its definition: functions and procedures first (a view may call one),
    /// then views, then triggers.
    pub fn object_definitions(&mut self) -> Result<Vec<ObjectDefinition>> {
        let db = self.database().to_string();
        let rows: Vec<(String, String, String, Option<String>)> = self
            .conn
            .exec(
                "SELECT ROUTINE_TYPE, ROUTINE_NAME, DEFINER, NULL FROM information_schema.ROUTINES \
                   WHERE ROUTINE_SCHEMA = ? \
                 UNION ALL SELECT 'VIEW', TABLE_NAME, DEFINER, NULL \
                   FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? \
                 UNION ALL SELECT 'TRIGGER', TRIGGER_NAME, DEFINER, EVENT_OBJECT_TABLE \
                   FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?",
                (&db, &db, &db),
            )
            .map_err(|e| self.err("listing views, triggers and routines", e))?;
        let mut defs = Vec::new();
        for (kind, name, definer, table) in rows {
            let (create, sql_mode) = self.show_create(&kind, &name)?;
            let create = if kind == "VIEW" {
                unqualified(&create, &db)
            } else {
                create
            };
            defs.push(ObjectDefinition {
                kind,
                name,
                definer,
                table,
                create,
                sql_mode,
            });
        }
        let rank = |k: &str| match k {
            "FUNCTION" => 0,
            "PROCEDURE" => 1,
            "VIEW" => 2,
            _ => 3,
        };
        defs.sort_by(|a, b| (rank(&a.kind), &a.name).cmp(&(rank(&b.kind), &b.name)));
        Ok(defs)
    }

    /// `SHOW CREATE kind name`: the statement and, but for a view, its `sql_mode`.
    fn show_create(&mut self, kind: &str, name: &str) -> Result<(String, Option<String>)> {
        let sql = format!(
            "SHOW CREATE {kind} {}.{}",
            quote_ident(self.database()),
            quote_ident(name)
        );
        let context = format!("reading the definition of {kind} {name}");
        let row: Option<mysql::Row> = self
            .conn
            .query_first(&sql)
            .map_err(|e| self.err(&context, e))?;
        let row = row.ok_or_else(|| Error::database(&context, "no such object"))?;
        let text = |i: usize| -> Option<String> { row.get_opt::<String, _>(i)?.ok() };
        Ok(match kind {
            // View, Create View, character_set_client, collation_connection.
            "VIEW" => (text(1).unwrap_or_default(), None),
            // Trigger, sql_mode, SQL Original Statement, ...; Procedure / Function,
            // sql_mode, Create Procedure / Create Function, ...
            _ => (text(2).unwrap_or_default(), text(1)),
        })
    }

    /// Whether `definer` (`user@host`) exists on this server; `None` when the session
    /// may not read `mysql.user`.
    pub fn definer_exists(&mut self, definer: &str) -> Result<Option<bool>> {
        let (user, host) = split_definer(definer);
        let n: std::result::Result<Option<u64>, _> = self.conn.exec_first(
            "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?",
            (user, host),
        );
        Ok(n.ok().map(|n| n.unwrap_or(0) > 0))
    }

    /// Drops `def` from this session's database when it is there (a trigger made
    /// again after the data, so it does not fire on the copied rows).
    pub fn drop_object(&mut self, def: &ObjectDefinition) -> Result<()> {
        let drop = format!("DROP {} IF EXISTS {}", def.kind, quote_ident(&def.name));
        self.conn
            .query_drop(&drop)
            .map_err(|e| self.err(&format!("dropping {} on the target", def.label()), e))
    }

    /// Creates `def` here (dropping one of that name first), under its own `sql_mode`;
    /// a definer the server lacks is an error naming it (the object is dropped again:
    /// MariaDB only warns). `Ok(Some(message))`: not made, as it reads a table the
    /// database lacks (the server's message).
    pub fn create_object(&mut self, def: &ObjectDefinition) -> Result<Option<String>> {
        let context = format!("creating {} on the target", def.label());
        let drop = format!("DROP {} IF EXISTS {}", def.kind, quote_ident(&def.name));
        self.conn
            .query_drop(&drop)
            .map_err(|e| self.err(&context, e))?;
        let mode: Option<String> = self
            .conn
            .query_first("SELECT @@SESSION.sql_mode")
            .map_err(|e| self.err(&context, e))?;
        if let Some(m) = &def.sql_mode {
            self.conn
                .exec_drop("SET SESSION sql_mode = ?", (m,))
                .map_err(|e| self.err(&context, e))?;
        }
        let created = self.conn.query_drop(&def.create);
        let missing = match &created {
            Err(mysql::Error::MySqlError(e)) => e.code == NO_SUCH_DEFINER,
            Err(_) => false,
            Ok(()) => {
                let warnings: Vec<(String, u16, String)> = self
                    .conn
                    .query("SHOW WARNINGS")
                    .map_err(|e| self.err(&context, e))?;
                warnings.iter().any(|w| w.1 == NO_SUCH_DEFINER)
            }
        };
        if let Some(m) = mode {
            self.conn
                .exec_drop("SET SESSION sql_mode = ?", (m,))
                .map_err(|e| self.err(&context, e))?;
        }
        if missing {
            let _ = self.conn.query_drop(&drop);
            return Err(Error::database(context, missing_definer(def)));
        }
        match created {
            Err(mysql::Error::MySqlError(e)) if e.code == NO_SUCH_TABLE => Ok(Some(e.message)),
            other => other.map(|()| None).map_err(|e| self.err(&context, e)),
        }
    }
}

/// What to say of an object whose definition the source does not show.
pub fn hidden_definition() -> &'static str {
    "the source does not show its definition to this user (it needs SHOW VIEW for a \
     view, or to be the routine's definer or read mysql.proc)"
}

/// What to say of an object whose definer the target lacks.
pub fn missing_definer(def: &ObjectDefinition) -> String {
    format!(
        "its definer {} does not exist on the target: create that user there first (or \
         change the {}'s definer on the source)",
        def.quoted_definer(),
        def.kind.to_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_views_source_database_is_taken_out_and_definers_split() {
        let text = "CREATE VIEW `v` AS select `src_1`.`orders`.`id` AS `id` from `src_1`.`orders`";
        assert_eq!(
            unqualified(text, "src_1"),
            "CREATE VIEW `v` AS select `orders`.`id` AS `id` from `orders`"
        );
        assert_eq!(split_definer("app@x@%"), ("app@x", "%"));
        let def = ObjectDefinition {
            kind: "VIEW".into(),
            name: "v".into(),
            definer: "gh`ost@%".into(),
            table: None,
            create: String::new(),
            sql_mode: None,
        };
        assert_eq!(def.quoted_definer(), "`gh``ost`@`%`");
        assert_eq!(def.label(), "VIEW v");
    }
}
