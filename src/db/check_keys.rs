//! The SQL of `ferry check`'s key scan: source rows that share a target unique key's
//! values (GROUP BY on the source, compared in the target column's collation), source
//! rows streamed in batches and probed against the target's rows (a derived table of
//! the batch joined to the target table, so the target's own collations decide what
//! is equal), foreign keys of and into a target table. What to probe is decided above
//! (`crate::check::keys`) as plain data (`KeyCol`, `Probe`).

use crate::db::hazards::count_of;
use mysql::prelude::Queryable;

use crate::db::schema::{quote_ident, TableInfo};
use crate::db::{Db, Value};
use crate::error::Result;

/// A source column compared as a target column would compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCol {
    /// The source column.
    pub source: String,
    /// The target column.
    pub target: String,
    /// The target column's character set and collation, when it is text.
    pub collation: Option<(String, String)>,
}

/// A plain name (character set, collation): letters, digits, `_`.
fn plain(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `expr` as the target column compares it: text converted to its character set and
/// collation (from utf8mb4, which is what ferry's sessions read and send).
fn compared(expr: &str, collation: &Option<(String, String)>) -> String {
    match collation {
        Some((cs, coll)) if plain(cs) && plain(coll) => {
            format!("CONVERT(CONVERT({expr} USING utf8mb4) USING {cs}) COLLATE {coll}")
        }
        _ => expr.to_string(),
    }
}

/// ` WHERE (a) AND (b)...`, or nothing.
fn where_all(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        let c: Vec<String> = conds.iter().map(|c| format!("({c})")).collect();
        format!(" WHERE {}", c.join(" AND "))
    }
}

/// Groups of source rows that share a key's values.
#[derive(Debug, Default)]
pub struct Duplicates {
    /// Rows beyond the first of each group (those that would meet an earlier one).
    pub rows: u64,
    /// The first groups: their values, and the keys of their rows (up to `limit`).
    pub groups: Vec<(Vec<Value>, Vec<Vec<Value>>)>,
}

/// A foreign key of the target's database, with what deleting its parent row does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub parent_database: String,
    pub parent: String,
    pub parent_columns: Vec<String>,
    /// `CASCADE`, `SET NULL`, `RESTRICT`, `NO ACTION`.
    pub on_delete: String,
}

impl Db {
    /// A second session on the same server, as the same user (the key scan reads a
    /// parent copy's source while it streams the child's).
    pub fn reopen(&self) -> Result<Db> {
        Db::connect(&self.spec, self.role)
    }

    /// Source rows of `table` (those `filter` keeps) sharing the values of `cols`, none
    /// of them NULL, compared in the target's collations; the first `limit` groups with
    /// the `key` values of their rows.
    pub fn key_duplicates(
        &mut self,
        table: &TableInfo,
        filter: Option<&str>,
        cols: &[KeyCol],
        key: &[String],
        limit: usize,
    ) -> Result<Duplicates> {
        let exprs: Vec<String> = cols
            .iter()
            .map(|c| compared(&quote_ident(&c.source), &c.collation))
            .collect();
        let mut conds: Vec<String> = filter.into_iter().map(str::to_string).collect();
        conds.extend(
            cols.iter()
                .map(|c| format!("{} IS NOT NULL", quote_ident(&c.source))),
        );
        let sql = format!(
            "SELECT COUNT(*), SUM(n - 1) FROM (SELECT COUNT(*) AS n FROM {}{} GROUP BY {} \
             HAVING COUNT(*) > 1) d",
            table.quoted_name(),
            where_all(&conds),
            exprs.join(", ")
        );
        let row = self.query(&sql, vec![])?.rows.into_iter().next();
        let rows = row.as_ref().and_then(|r| r.get(1)).map_or(0, count_of);
        let mut out = Duplicates {
            rows,
            groups: Vec::new(),
        };
        if rows == 0 {
            return Ok(out);
        }
        // The first groups, then each group's rows by key.
        let sql = format!(
            "SELECT {} FROM {}{} GROUP BY {} HAVING COUNT(*) > 1 ORDER BY MIN({}) LIMIT {limit}",
            cols.iter()
                .map(|c| format!("MIN({})", quote_ident(&c.source)))
                .collect::<Vec<_>>()
                .join(", "),
            table.quoted_name(),
            where_all(&conds),
            exprs.join(", "),
            key.first()
                .map_or_else(|| quote_ident(&cols[0].source), |k| quote_ident(k)),
        );
        let groups = self.query(&sql, vec![])?.rows;
        for values in groups {
            let mut conds: Vec<String> = filter.into_iter().map(str::to_string).collect();
            for (c, e) in cols.iter().zip(&exprs) {
                conds.push(format!("{e} = {}", compared("?", &c.collation)));
            }
            let select = if key.is_empty() {
                exprs.join(", ")
            } else {
                key.iter()
                    .map(|k| quote_ident(k))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let order = if key.is_empty() {
                String::new()
            } else {
                format!(" ORDER BY {select}")
            };
            let sql = format!(
                "SELECT {select} FROM {}{}{order} LIMIT {limit}",
                table.quoted_name(),
                where_all(&conds)
            );
            let keys = self.query(&sql, values.clone())?.rows;
            out.groups.push((values, keys));
        }
        Ok(out)
    }

    /// Whether `database.table` exists (a job may create it when it runs).
    pub fn table_exists(&mut self, database: &str, table: &str) -> Result<bool> {
        let rows = self.query(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            vec![Value::from(database), Value::from(table)],
        )?;
        Ok(!rows.rows.is_empty())
    }

    /// Whether `table` holds no row.
    pub fn is_empty_table(&mut self, database: &str, table: &str) -> Result<bool> {
        let sql = format!(
            "SELECT 1 FROM {}.{} LIMIT 1",
            quote_ident(database),
            quote_ident(table)
        );
        Ok(self.query(&sql, vec![])?.rows.is_empty())
    }

    /// Streams the rows of `columns` of `table` (those `filter` keeps) to `each`, `batch`
    /// rows at a time (memory: one batch); `each` returns `false` to stop.
    pub fn stream_batches(
        &mut self,
        table: &TableInfo,
        filter: Option<&str>,
        columns: &[String],
        batch: usize,
        each: &mut dyn FnMut(&[Vec<Value>]) -> Result<bool>,
    ) -> Result<()> {
        let sql = format!(
            "SELECT {} FROM {}{}",
            columns
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            table.quoted_name(),
            where_all(&filter.into_iter().map(str::to_string).collect::<Vec<_>>())
        );
        let context = format!("reading {} for its keys", table.name);
        let spec = self.spec.clone();
        let err = |e: mysql::Error| crate::error::Error::Database {
            context: spec.scrub(&format!("source {spec}: {context}")),
            message: spec.scrub(&crate::db::error_text(&e)),
            cause: Some(std::sync::Arc::new(e)),
        };
        let mut result = self.conn.exec_iter(sql, ()).map_err(err)?;
        let mut rows: Vec<Vec<Value>> = Vec::with_capacity(batch);
        let mut going = true;
        if let Some(set) = result.iter() {
            for row in set {
                if !going {
                    continue;
                }
                rows.push(row.map_err(err)?.unwrap());
                if rows.len() >= batch {
                    going = each(&rows)?;
                    rows.clear();
                }
            }
        }
        drop(result);
        if going && !rows.is_empty() {
            each(&rows)?;
        }
        Ok(())
    }

    /// For a batch of values (`values[i]`: one per `on` column, then one per `same`
    /// column), the indexes of the rows that meet a row of `database.table` on every
    /// `on` column (none NULL) that is not the same row by the `same` columns; with
    /// the first `show` columns of the row met. The target's collations decide.
    pub fn probe_rows(
        &mut self,
        database: &str,
        table: &str,
        on: &[KeyCol],
        same: &[KeyCol],
        show: &[String],
        values: &[Vec<Value>],
    ) -> Result<Vec<(usize, Vec<Value>)>> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let n = on.len() + same.len();
        let names: Vec<String> = (0..n).map(|j| format!("v{j}")).collect();
        let mut params = Vec::with_capacity(values.len() * (n + 1));
        let mut selects = Vec::with_capacity(values.len());
        for (i, row) in values.iter().enumerate() {
            let cells: Vec<String> = if i == 0 {
                names.iter().map(|a| format!("? AS {a}")).collect()
            } else {
                vec!["?".to_string(); n]
            };
            selects.push(format!(
                "SELECT {i}{} {}",
                if i == 0 { " AS i," } else { "," },
                cells.join(", ")
            ));
            params.extend(row.iter().take(n).cloned());
        }
        let join: Vec<String> = on
            .iter()
            .enumerate()
            .map(|(j, c)| {
                format!(
                    "t.{} = {}",
                    quote_ident(&c.target),
                    compared(&format!("s.v{j}"), &c.collation)
                )
            })
            .collect();
        let mut sql = format!(
            "SELECT s.i{} FROM ({}) s JOIN {}.{} t ON {}",
            show.iter()
                .map(|c| format!(", t.{}", quote_ident(c)))
                .collect::<String>(),
            selects.join(" UNION ALL "),
            quote_ident(database),
            quote_ident(table),
            join.join(" AND ")
        );
        if !same.is_empty() {
            let eq: Vec<String> = same
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    format!(
                        "t.{} <=> {}",
                        quote_ident(&c.target),
                        compared(&format!("s.v{}", on.len() + j), &c.collation)
                    )
                })
                .collect();
            sql.push_str(&format!(" WHERE NOT ({})", eq.join(" AND ")));
        }
        sql.push_str(" ORDER BY s.i");
        let rows = self.query(&sql, params)?.rows;
        Ok(rows
            .into_iter()
            .map(|mut r| {
                let i = r.first().map_or(0, count_of) as usize;
                r.remove(0);
                (i, r)
            })
            .collect())
    }

    /// For a batch of values (one per column of `cols`), the indexes of those that a
    /// row of `table` (those `filter` keeps) has on `cols`, compared on this server.
    pub fn present_in(
        &mut self,
        table: &TableInfo,
        filter: Option<&str>,
        cols: &[String],
        values: &[Vec<Value>],
    ) -> Result<Vec<usize>> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let n = cols.len();
        let mut params = Vec::new();
        let mut selects = Vec::new();
        for (i, row) in values.iter().enumerate() {
            let cells: Vec<String> = (0..n)
                .map(|j| {
                    if i == 0 {
                        format!("? AS v{j}")
                    } else {
                        "?".into()
                    }
                })
                .collect();
            selects.push(format!(
                "SELECT {i}{} {}",
                if i == 0 { " AS i," } else { "," },
                cells.join(", ")
            ));
            params.extend(row.iter().take(n).cloned());
        }
        let mut conds: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(j, c)| format!("p.{} = s.v{j}", quote_ident(c)))
            .collect();
        conds.extend(filter.map(|f| format!("({f})")));
        let sql = format!(
            "SELECT s.i FROM ({}) s WHERE EXISTS (SELECT 1 FROM {} p WHERE {})",
            selects.join(" UNION ALL "),
            table.quoted_name(),
            conds.join(" AND ")
        );
        Ok(self
            .query(&sql, params)?
            .rows
            .iter()
            .filter_map(|r| r.first().map(|v| count_of(v) as usize))
            .collect())
    }

    /// The foreign keys of the session's database that `table` holds (`children:
    /// false`) or that reference `table` (`children: true`), with their ON DELETE.
    pub fn references(&mut self, table: &str, children: bool) -> Result<Vec<Reference>> {
        let db = self.database().to_string();
        let side = if children {
            "k.REFERENCED_TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME = ?"
        } else {
            "k.TABLE_SCHEMA = ? AND k.TABLE_NAME = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL"
        };
        type Row = (String, String, String, String, String, String, String);
        let rows: Vec<Row> = self
            .conn
            .exec(
                format!(
                    "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, \
                            k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, \
                            k.REFERENCED_COLUMN_NAME, r.DELETE_RULE \
                     FROM information_schema.KEY_COLUMN_USAGE k \
                     JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
                       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
                      AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME \
                     WHERE {side} \
                     ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
                ),
                (&db, table),
            )
            .map_err(|e| self.err("reading the foreign keys", e))?;
        let mut out: Vec<Reference> = Vec::new();
        for (t, name, column, parent_db, parent, parent_column, rule) in rows {
            if !out.last().is_some_and(|k| k.table == t && k.name == name) {
                out.push(Reference {
                    name,
                    table: t,
                    columns: Vec::new(),
                    parent_database: parent_db,
                    parent,
                    parent_columns: Vec::new(),
                    on_delete: rule,
                });
            }
            let k = out.last_mut().expect("pushed above");
            k.columns.push(column);
            k.parent_columns.push(parent_column);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_in_the_target_collation() {
        let c = Some(("latin1".to_string(), "latin1_swedish_ci".to_string()));
        assert_eq!(
            compared("s.v0", &c),
            "CONVERT(CONVERT(s.v0 USING utf8mb4) USING latin1) COLLATE latin1_swedish_ci"
        );
        assert_eq!(compared("s.v0", &None), "s.v0");
        let bad = Some(("latin1".to_string(), "x; DROP".to_string()));
        assert_eq!(compared("s.v0", &bad), "s.v0");
        assert_eq!(where_all(&[]), "");
        assert_eq!(where_all(&["a".into(), "b".into()]), " WHERE (a) AND (b)");
    }
}
