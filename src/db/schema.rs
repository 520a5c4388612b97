//! What ferry knows about a table: its columns (with type, nullability, default, key
//! and generated flags) and the key it pages on. Read from `information_schema` and
//! `SHOW INDEX` by `Db`, then used as plain data by plans and the engine.

use crate::db::value::Kind;

#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub name: String,
    /// Full type, e.g. `decimal(65,30) unsigned`.
    pub column_type: String,
    /// Bare type name, e.g. `decimal`.
    pub data_type: String,
    pub nullable: bool,
    /// The default as `information_schema` shows it (`NULL` text for DEFAULT NULL).
    pub default: Option<String>,
    /// `PRI`, `UNI`, `MUL` or empty.
    pub key: String,
    pub extra: String,
    /// The character set of a text column (`utf8mb4`, `latin1`, ...); `None` for
    /// numbers, dates and binary strings.
    pub charset: Option<String>,
    /// The collation of a text column (`utf8mb4_general_ci`, ...); `None` otherwise.
    pub collation: Option<String>,
}

impl ColumnInfo {
    pub fn is_generated(&self) -> bool {
        let e = self.extra.to_ascii_uppercase();
        e.contains("GENERATED") || e.contains("VIRTUAL") || e.contains("PERSISTENT")
    }

    pub fn is_auto_increment(&self) -> bool {
        self.extra.to_ascii_lowercase().contains("auto_increment")
    }

    /// How values of this column read back (for Lua and messages).
    pub fn kind(&self) -> Kind {
        let fsp = || {
            self.column_type
                .split_once('(')
                .and_then(|(_, r)| r.trim_end_matches(')').parse::<u8>().ok())
                .unwrap_or(0)
        };
        match self.data_type.to_ascii_lowercase().as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
                Kind::Int
            }
            "float" => Kind::Float,
            "double" | "real" | "double precision" => Kind::Double,
            "date" => Kind::Date,
            "datetime" | "timestamp" => Kind::DateTime(fsp()),
            "time" => Kind::Time(fsp()),
            _ => Kind::Bytes,
        }
    }

    /// The server fills this column when an INSERT leaves it out.
    pub fn server_fills(&self) -> bool {
        self.nullable || self.default.is_some() || self.is_auto_increment() || self.is_generated()
    }
}

#[derive(Debug, Clone)]
pub struct IndexInfo {
    pub name: String,
    pub unique: bool,
    pub columns: Vec<String>,
    /// Every column of the index is NOT NULL.
    pub not_null: bool,
}

/// A trigger on a table, from `information_schema.TRIGGERS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerInfo {
    pub name: String,
    /// `BEFORE` or `AFTER`.
    pub timing: String,
    /// `INSERT`, `UPDATE` or `DELETE`.
    pub event: String,
}

impl TriggerInfo {
    pub fn is_before(&self) -> bool {
        self.timing.eq_ignore_ascii_case("BEFORE")
    }

    /// `` `payment_date_now` (BEFORE INSERT) ``
    pub fn describe(&self) -> String {
        format!("`{}` ({} {})", self.name, self.timing, self.event)
    }
}

#[derive(Debug, Clone)]
pub struct TableInfo {
    pub database: String,
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    pub indexes: Vec<IndexInfo>,
    /// Estimated rows (from `information_schema.TABLES`).
    pub estimated_rows: u64,
    /// The server's estimate of a row's size (0: unknown).
    pub avg_row_bytes: u64,
    /// The table's triggers (those the session may see: the TRIGGER privilege).
    pub triggers: Vec<TriggerInfo>,
}

impl TableInfo {
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Exact name first, then a case-insensitive match.
    pub fn find_column(&self, name: &str) -> Option<&ColumnInfo> {
        self.column(name).or_else(|| {
            self.columns
                .iter()
                .find(|c| c.name.to_lowercase() == name.to_lowercase())
        })
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The key ferry pages on: the primary key, else the first unique index whose
    /// columns are all NOT NULL.
    pub fn paging_key(&self) -> Option<&IndexInfo> {
        self.indexes
            .iter()
            .find(|i| i.name == "PRIMARY")
            .or_else(|| self.indexes.iter().find(|i| i.unique && i.not_null))
    }

    /// Whether a unique index over NOT NULL columns exists: then writing a row twice
    /// cannot make two rows (a unique key with a NULL in it can hold many).
    pub fn has_not_null_unique_key(&self) -> bool {
        self.indexes.iter().any(|i| i.unique && i.not_null)
    }

    /// Whether any unique index exists (so REPLACE / ON DUPLICATE KEY can match rows).
    pub fn has_unique_key(&self) -> bool {
        self.indexes.iter().any(|i| i.unique)
    }
}

/// A closest-name suggestion for "did you mean" hints.
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&lower, &c.to_lowercase());
        let limit = (name.chars().count() / 3).max(2);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// ` (did you mean `x`?)` when a close name exists, else an empty string. A name no
/// server can hold says so instead.
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    if !is_possible_name(name) {
        return " (MariaDB and MySQL names cannot hold characters outside Unicode's Basic \
                 Multilingual Plane, such as most emoji)"
            .to_string();
    }
    suggest(name, candidates)
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// Whether a server can have a table or column of this name: MariaDB and MySQL store
/// names as utf8mb3, so characters past U+FFFF (most emoji) cannot occur.
pub fn is_possible_name(name: &str) -> bool {
    name.chars().all(|c| (c as u32) <= 0xFFFF)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Quotes an identifier for MySQL: backticks, with embedded backticks doubled.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

impl TableInfo {
    /// `db`.`table`, quoted.
    pub fn quoted_name(&self) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.database),
            quote_ident(&self.name)
        )
    }

    /// Every column, quoted, in table order: `a`, `b`, ...
    pub fn quoted_columns(&self) -> Vec<String> {
        self.columns.iter().map(|c| quote_ident(&c.name)).collect()
    }
}

/// The quoted members of `enum('a','b')` / `set(...)`, quotes undoubled.
pub fn members(column_type: &str) -> Vec<String> {
    let Some(start) = column_type.find('(') else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut chars = column_type[start + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut m = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    m.push('\'');
                }
                '\'' => break,
                '\\' => {
                    if let Some(n) = chars.next() {
                        m.push(n);
                    }
                }
                c => m.push(c),
            }
        }
        out.push(m);
    }
    out
}

#[cfg(test)]
impl ColumnInfo {
    /// A column for unit tests: `column_type` as information_schema writes it
    /// (`varchar(10)`, `int(10) unsigned`), its data type read from it; nullable, no
    /// key, default, extra, character set or collation (set the fields a test needs).
    pub(crate) fn for_test(name: &str, column_type: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            column_type: column_type.into(),
            data_type: column_type
                .split(['(', ' '])
                .next()
                .unwrap_or_default()
                .to_string(),
            nullable: true,
            default: None,
            key: String::new(),
            extra: String::new(),
            charset: None,
            collation: None,
        }
    }
}

#[cfg(test)]
impl TableInfo {
    /// A table for unit tests in database `d`: `varchar(10)` utf8mb4 columns, nullable,
    /// without indexes, triggers or estimates.
    pub(crate) fn for_test(name: &str, cols: &[&str]) -> TableInfo {
        TableInfo {
            database: "d".into(),
            name: name.into(),
            columns: cols
                .iter()
                .map(|c| ColumnInfo {
                    charset: Some("utf8mb4".into()),
                    ..ColumnInfo::for_test(c, "varchar(10)")
                })
                .collect(),
            indexes: Vec::new(),
            estimated_rows: 0,
            avg_row_bytes: 0,
            triggers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_suggestions() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(
            suggest("nmae", ["id", "name", "email"].into_iter()),
            Some("name")
        );
        assert_eq!(suggest("zzzzzz", ["id", "name"].into_iter()), None);
        assert!(is_possible_name("表 ☃ ⚡"));
        assert!(!is_possible_name("x🚀"));
        assert!(did_you_mean("x🚀", ["x"].into_iter()).contains("Basic Multilingual Plane"));
    }
}
