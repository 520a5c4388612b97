//! `lookup{...}` without Lua: a table's key column mapped to its value columns, for
//! transforms. The table and its columns are checked when the lookup is made (with a
//! "did you mean"); then each distinct key is asked once (`cache = "keys"`, the
//! default: one query per distinct key, the answer kept for the rest of the run, a
//! missing key included) or the whole table is read at once (`cache = "all"`, for a
//! small table). A key found in two rows is an error: a lookup's key must be unique.
//! A page's keys can be asked together beforehand (`prefetch`: one `IN` query), so the
//! calls of the page's transforms find them known.

use std::collections::HashMap;

use crate::db::lookup::LookupTable;
use crate::db::schema::did_you_mean;
use crate::db::value::{show, to_text, Kind};
use crate::db::{Db, Value};
use crate::error::{Error, Result};

/// How a lookup keeps what it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// Ask each distinct key once, when first needed.
    Keys,
    /// Read the whole table when the lookup is made.
    All,
}

impl Cache {
    pub const NAMES: &'static [&'static str] = &["keys", "all"];

    pub fn parse(name: &str) -> Option<Cache> {
        match name {
            "keys" => Some(Cache::Keys),
            "all" => Some(Cache::All),
            _ => None,
        }
    }
}

/// What `lookup{...}` asks for.
#[derive(Debug, Clone)]
pub struct LookupSpec {
    pub table: String,
    pub key: String,
    pub values: Vec<String>,
    pub cache: Cache,
}

/// Which keys the server compares with the key column exactly as their text is
/// compared here, so that a key an `IN` query did not give back is known to be in no
/// row. Other keys (`'fr'` in a case-insensitive column that holds `'FR'`, `"42"` for an
/// integer column) are asked on their own, as the server compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exact {
    /// An integer column: integer keys.
    Integers,
    /// A binary string column, or a text column with a `_bin` collation: string keys.
    Bytes,
    /// No key (a case- or accent-insensitive collation, DECIMAL, dates...).
    Never,
}

impl Exact {
    fn of(column: &crate::db::schema::ColumnInfo) -> Exact {
        let data_type = column.data_type.to_ascii_lowercase();
        match data_type.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => Exact::Integers,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                Exact::Bytes
            }
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext"
                if column
                    .collation
                    .as_deref()
                    .is_some_and(|c| c.to_ascii_lowercase().ends_with("_bin")) =>
            {
                Exact::Bytes
            }
            _ => Exact::Never,
        }
    }

    fn covers(self, key: &Value) -> bool {
        match self {
            Exact::Integers => matches!(key, Value::Int(_) | Value::UInt(_)),
            Exact::Bytes => matches!(key, Value::Bytes(_)),
            Exact::Never => false,
        }
    }
}

/// At most this many keys go in one `IN` query (a page's distinct keys, usually all).
const PREFETCH_CHUNK: usize = 5000;

/// A lookup, ready: its names, the kinds of its value columns, and what it has read.
pub struct Lookup {
    table: LookupTable,
    key_kind: Kind,
    /// The kinds of the value columns, in order.
    pub kinds: Vec<Kind>,
    cache: Cache,
    /// Whether an index starts with the key column (else each key asked is a scan).
    pub indexed: bool,
    /// How exactly the key column compares: whether a key the `IN` query of `prefetch`
    /// did not give back is in no row (see `Exact`).
    exact: Exact,
    /// Value rows by key (as text); `None`: no row has that key.
    found: HashMap<Vec<u8>, Option<Vec<Value>>>,
    /// Keys a transform asked that are not known yet, to be asked together
    /// (`want`, `ask_wanted`).
    wanted: Vec<Value>,
    /// Keys an `IN` query did not settle (see `Exact`): asked on their own, never again
    /// in an `IN` query.
    unsettled: std::collections::HashSet<Vec<u8>>,
}

impl Lookup {
    /// Checks `spec` against `db`'s tables; its problems, or the lookup (the whole
    /// table read with `cache = "all"`).
    pub fn open(db: &mut Db, spec: LookupSpec) -> Result<std::result::Result<Lookup, Vec<String>>> {
        let Some(info) = db.table_info(&spec.table)? else {
            let tables = db.tables()?;
            let hint = did_you_mean(&spec.table, tables.iter().map(|t| t.name.as_str()));
            return Ok(Err(vec![format!(
                "lookup: unknown table `{}` in database {}{hint}",
                spec.table,
                db.database()
            )]));
        };
        let mut problems = Vec::new();
        let exact = info.find_column(&spec.key).map_or(Exact::Never, Exact::of);
        let mut kind_of = |name: &str| match info.find_column(name) {
            Some(c) => Some((c.name.clone(), c.kind())),
            None => {
                let hint = did_you_mean(name, info.columns.iter().map(|c| c.name.as_str()));
                problems.push(format!(
                    "lookup: unknown column `{name}` in table {}{hint}",
                    info.name
                ));
                None
            }
        };
        let key = kind_of(&spec.key);
        let values: Vec<_> = spec.values.iter().map(|v| kind_of(v)).collect();
        let (Some((key, key_kind)), Some(values)) =
            (key, values.into_iter().collect::<Option<Vec<_>>>())
        else {
            return Ok(Err(problems));
        };
        let indexed = info.indexes.iter().any(|i| {
            i.columns
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case(&key))
        });
        let mut lookup = Lookup {
            indexed,
            exact,
            table: LookupTable {
                table: info.name.clone(),
                key,
                values: values.iter().map(|(n, _)| n.clone()).collect(),
            },
            key_kind,
            kinds: values.iter().map(|(_, k)| *k).collect(),
            cache: spec.cache,
            found: HashMap::new(),
            wanted: Vec::new(),
            unsettled: Default::default(),
        };
        if spec.cache == Cache::All {
            lookup.read_all(db)?;
        }
        Ok(Ok(lookup))
    }

    /// `countries.code`, for messages.
    pub fn name(&self) -> String {
        format!("{}.{}", self.table.table, self.table.key)
    }

    /// The value column names, in order.
    pub fn value_names(&self) -> &[String] {
        &self.table.values
    }

    /// The key as a message shows it (`code = 'FR'`).
    pub fn show_key(&self, key: &Value) -> String {
        format!("{} = {}", self.table.key, show(key, self.key_kind))
    }

    fn key_text(&self, key: &Value) -> Vec<u8> {
        to_text(key, self.key_kind).unwrap_or_default()
    }

    fn read_all(&mut self, db: &mut Db) -> Result<()> {
        let rows = db.lookup_all(&self.table)?;
        for mut row in rows.rows {
            let key = row.remove(0);
            let text = self.key_text(&key);
            if self.found.insert(text, Some(row)).is_some() {
                return Err(self.not_unique(&key));
            }
        }
        Ok(())
    }

    fn not_unique(&self, key: &Value) -> Error {
        Error::Check {
            message: format!(
                "lookup {}: {} is in more than one row; a lookup's key must be unique",
                self.name(),
                self.show_key(key)
            ),
        }
    }

    /// Asks for `key` unless its answer is known; the key as `found` takes it.
    pub fn fetch(&mut self, db: &mut Db, key: &Value) -> Result<Vec<u8>> {
        let text = self.key_text(key);
        self.fetch_text(db, key, text)
    }

    /// `fetch` of a key whose text (as `found` takes it) is `text`, as `want` gave it.
    pub fn fetch_text(&mut self, db: &mut Db, key: &Value, text: Vec<u8>) -> Result<Vec<u8>> {
        if !self.found.contains_key(&text) {
            let found = match self.cache {
                // Every row was read: a key not there is in no row.
                Cache::All => None,
                Cache::Keys => {
                    let mut rows = db.lookup_key(&self.table, key.clone())?.rows;
                    if rows.len() > 1 {
                        return Err(self.not_unique(key));
                    }
                    rows.pop()
                }
            };
            self.found.insert(text.clone(), found);
        }
        Ok(text)
    }

    /// Asks the keys among `keys` whose answer is not known in `IN` queries (one for up
    /// to 5,000 distinct keys), and keeps the answers: a key given back is found, one
    /// not given back is in no row when the column compares it exactly (`Exact`), and is
    /// left for `fetch` to ask on its own otherwise. Returns how many queries it sent.
    pub fn prefetch(&mut self, db: &mut Db, keys: &[Value]) -> Result<usize> {
        if self.cache == Cache::All {
            return Ok(0);
        }
        let mut asked: HashMap<Vec<u8>, &Value> = HashMap::new();
        for key in keys {
            if key == &Value::NULL {
                continue;
            }
            let text = self.key_text(key);
            if !self.found.contains_key(&text) && !self.unsettled.contains(&text) {
                asked.entry(text).or_insert(key);
            }
        }
        let asked: Vec<(Vec<u8>, &Value)> = asked.into_iter().collect();
        let mut queries = 0;
        for chunk in asked.chunks(PREFETCH_CHUNK) {
            let rows = db.lookup_keys(
                &self.table,
                chunk.iter().map(|(_, k)| (*k).clone()).collect(),
            )?;
            queries += 1;
            let mut given: HashMap<Vec<u8>, Vec<Value>> = HashMap::new();
            for mut row in rows.rows {
                let key = row.remove(0);
                if given.insert(self.key_text(&key), row).is_some() {
                    return Err(self.not_unique(&key));
                }
            }
            for (text, key) in chunk {
                match given.remove(text) {
                    Some(row) => {
                        self.found.insert(text.clone(), Some(row));
                    }
                    None if self.exact.covers(key) => {
                        self.found.insert(text.clone(), None);
                    }
                    None => {
                        self.unsettled.insert(text.clone());
                    }
                }
            }
        }
        Ok(queries)
    }

    /// Whether `key` is to be answered now: known (always with `cache = "all"`), or
    /// one an `IN` query could not settle, which `fetch` asks on its own; then its text
    /// (for `fetch_text`). Otherwise the key is kept for `ask_wanted`.
    pub fn want(&mut self, key: &Value) -> Option<Vec<u8>> {
        let text = self.key_text(key);
        if self.cache == Cache::All
            || self.found.contains_key(&text)
            || self.unsettled.contains(&text)
        {
            return Some(text);
        }
        self.wanted.push(key.clone());
        None
    }

    /// Whether keys wait for `ask_wanted`.
    pub fn has_wanted(&self) -> bool {
        !self.wanted.is_empty()
    }

    /// Asks the keys `want` kept, as `prefetch` asks a page's keys (one `IN` query for up
    /// to 5,000 distinct keys); returns how many queries it sent.
    pub fn ask_wanted(&mut self, db: &mut Db) -> Result<usize> {
        let keys = std::mem::take(&mut self.wanted);
        self.prefetch(db, &keys)
    }

    /// Forgets the keys `want` kept (their calls then ask them one by one).
    pub fn drop_wanted(&mut self) {
        self.wanted.clear();
    }

    /// The value columns of the row with the key `fetch` gave (`None`: no such row).
    pub fn found(&self, text: &[u8]) -> Option<&[Value]> {
        self.found.get(text).and_then(|r| r.as_deref())
    }
}
