//! What a writer would do with one row, found without writing anything (`ferry
//! explain`, `try{}` in the REPL): the statement it would send for the row alone, its
//! values written in as literals; the target row that already has the row's value of
//! the key the mode resolves on, every column of it, and which written columns the row
//! would change (compared as `ferry verify` compares, as the target stores them); and
//! a different target row the row meets through another unique key. Only SELECTs; and
//! `read_only`, which makes a session refuse writes.

use mysql::prelude::Queryable;
use mysql::Value;

use super::statement::literal_row;
use super::{Cell, Target, Writer};
use crate::db::checksum::rowtext::{self, Common, Family};
use crate::db::schema::quote_ident;
use crate::db::value::{hex, to_text, Kind};
use crate::db::Db;
use crate::error::Error;

/// Literals longer than this are cut in the statement shown (`…`).
const LITERAL_MAX: usize = 200;

/// What the target holds for one row the copy would write.
#[derive(Debug, Clone)]
pub struct Outlook {
    /// The statement for this row alone, with its values in place of the placeholders.
    pub statement: String,
    /// The key the mode resolves rows on (name, columns); `None`: the copy writes no
    /// unique key of the target whole, so every row is a new row.
    pub key: Option<(String, Vec<String>)>,
    /// The key is written by an SQL expression: rows cannot be looked up by it.
    pub key_unreadable: bool,
    /// The target row with the row's key, every column in table order; or, when there
    /// is none, the different row `other` names.
    pub existing: Option<Vec<Value>>,
    /// `existing` is the different row met through another unique key (`other`).
    pub existing_is_other: bool,
    /// Per written column (the target's columns, in order): whether the existing row
    /// holds another value (all false without one).
    pub differs: Vec<bool>,
    /// A different target row the row meets through another unique key: the key's
    /// name and the other row's key.
    pub other: Option<(String, String)>,
    /// How many unique keys the target has.
    pub unique_keys: usize,
}

/// The target row there now (every column, in table order), and per written column
/// whether it holds another value.
type Existing = (Vec<Value>, Vec<bool>);

impl Writer {
    /// How this writer sends a page, for `ferry explain` (LOAD DATA has no upsert and
    /// carries no BIT or spatial value; bulk requests are MariaDB's).
    pub fn sent_as(&self, mariadb: bool) -> &'static str {
        if self.load.is_some() {
            "write = \"load\": LOAD DATA LOCAL INFILE, one per page, with the same IGNORE \
             or REPLACE as the statement shown"
        } else if self.bulk && mariadb {
            "write = \"bulk\": the statement shown, prepared once, its values sent as \
             parameters for every row of a page in one request"
        } else {
            "write = \"prepared\": statements of the form shown with many rows each, the \
             values sent as parameters"
        }
    }

    /// The key the mode resolves rows on: its name and columns.
    pub fn resolving_key(&self) -> Option<(String, Vec<String>)> {
        self.keys.as_ref().map(|k| (k.name.clone(), k.cols.clone()))
    }

    /// What the target holds for `row` (the values of `target`'s parameter columns, in
    /// order), read with SELECTs only.
    pub fn outlook(&self, db: &mut Db, target: &Target, row: &[Value]) -> Result<Outlook, Error> {
        let literals: Vec<String> = row.iter().map(literal).collect();
        let statement = format!(
            "{}{}{}",
            self.prefix,
            literal_row(target, self.binary_params, &literals),
            self.suffix
        );
        let unique_keys = target.table.indexes.iter().filter(|i| i.unique).count();
        let mut out = Outlook {
            statement,
            key: self.resolving_key(),
            key_unreadable: self.keys.as_ref().is_some_and(|k| k.at.is_none()),
            existing: None,
            existing_is_other: false,
            differs: vec![false; target.columns.len()],
            other: None,
            unique_keys,
        };
        let Some(k) = &self.keys else { return Ok(out) };
        if let Some(at) = &k.at {
            if let Some((values, differs)) = self.existing_row(db, target, row, &k.cols, at)? {
                out.existing = Some(values);
                out.differs = differs;
            }
        }
        out.other = self.other_row(db, row).map_err(|e| e.error)?;
        // No row with the key, but a different one through another unique key: that
        // row is the one the mode meets.
        let via = out.other.as_ref().and_then(|(name, _)| {
            k.others
                .iter()
                .find(|(n, _, _)| n == name)
                .and_then(|(_, cols, at)| Some((cols, at.as_ref()?)))
        });
        if let (None, Some((cols, at))) = (&out.existing, via) {
            if let Some((values, differs)) = self.existing_row(db, target, row, cols, at)? {
                out.existing = Some(values);
                out.differs = differs;
                out.existing_is_other = true;
            }
        }
        Ok(out)
    }

    /// The target row whose unique key `cols` holds `row`'s values (at `at` among
    /// them), and per written column whether it holds another value than `row` gives it.
    fn existing_row(
        &self,
        db: &mut Db,
        target: &Target,
        row: &[Value],
        cols: &[String],
        at: &[usize],
    ) -> Result<Option<Existing>, Error> {
        let mut selected = target.table.quoted_columns();
        let n = selected.len();
        let mut params = Vec::new();
        let mut values = row.iter();
        for c in &target.columns {
            let family = target
                .table
                .column(&c.name)
                .map_or(Family::Other, Family::of);
            let stored = rowtext::column_token(&c.name, &family, Common::AsIs);
            let given = match &c.cell {
                Cell::Param => {
                    params.push(values.next().cloned().unwrap_or(Value::NULL));
                    rowtext::param_token(&family)
                }
                Cell::Sql(expr) => rowtext::token(&rowtext::text(
                    &rowtext::cast_param(&family).replacen('?', &format!("({expr})"), 1),
                    &family,
                    Common::AsIs,
                )),
            };
            selected.push(format!("NOT ({stored} <=> {given})"));
        }
        let matching = self.match_sql(db, cols, 1).map_err(|e| e.error)?;
        params.extend(at.iter().map(|&j| row[j].clone()));
        let sql = format!(
            "SELECT {} FROM {} WHERE {matching} LIMIT 1",
            selected.join(", "),
            self.table
        );
        let found: Option<mysql::Row> = db.conn().exec_first(sql, params).map_err(|e| {
            db.err(
                &format!(
                    "reading the target row by {}",
                    cols.iter()
                        .map(|c| quote_ident(c))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                e,
            )
        })?;
        Ok(found.map(|r| {
            let mut all = r.unwrap();
            let flags = all.split_off(n);
            let differs = flags
                .iter()
                .map(|v| matches!(v, Value::Int(1) | Value::UInt(1)))
                .collect();
            (all, differs)
        }))
    }
}

/// Makes `db`'s session read-only (`ferry explain`'s target: it only reads, and a
/// mistake in that would be refused by the server).
pub fn read_only(db: &mut Db) -> Result<(), Error> {
    db.conn()
        .query_drop("SET SESSION TRANSACTION READ ONLY")
        .map_err(|e| db.err("making the session read-only", e))
}

/// A value as an SQL literal: numbers as they are, text quoted, bytes that are not
/// printable UTF-8 as `X'..'`, NULL; a literal longer than `LITERAL_MAX` is cut (`…`).
pub fn literal(v: &Value) -> String {
    let kind = match v {
        Value::Date(_, _, _, 0, 0, 0, 0) => Kind::Date,
        _ => Kind::Bytes,
    };
    let text = match (v, to_text(v, kind)) {
        (_, None) => return "NULL".into(),
        (Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Double(_), Some(t)) => {
            return String::from_utf8_lossy(&t).into_owned()
        }
        (_, Some(t)) => t,
    };
    let lit = match std::str::from_utf8(&text) {
        Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => format!(
            "'{}'",
            s.replace('\\', "\\\\")
                .replace('\'', "''")
                .replace('\n', "\\n")
                .replace('\t', "\\t")
        ),
        _ => format!("X'{}'", hex(&text)),
    };
    if lit.chars().count() > LITERAL_MAX {
        let cut: String = lit.chars().take(LITERAL_MAX).collect();
        format!("{cut}…")
    } else {
        lit
    }
}

#[cfg(test)]
mod tests {
    use super::literal;
    use mysql::Value;

    #[test]
    fn literals_read_back_as_the_values() {
        assert_eq!(literal(&Value::NULL), "NULL");
        assert_eq!(literal(&Value::Int(-3)), "-3");
        assert_eq!(literal(&Value::from("it's a\\b")), "'it''s a\\\\b'");
        assert_eq!(literal(&Value::Bytes(vec![0, 255])), "X'00ff'");
        assert_eq!(
            literal(&Value::Date(2024, 2, 29, 13, 45, 0, 0)),
            "'2024-02-29 13:45:00'"
        );
        assert_eq!(literal(&Value::Time(true, 0, 1, 2, 3, 0)), "'-01:02:03'");
        assert!(literal(&Value::from("x".repeat(500))).ends_with('…'));
    }
}
