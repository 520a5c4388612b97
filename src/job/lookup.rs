//! `lookup{...}` without Lua: a table's key column mapped to its value columns, for
//! transforms. The table and its columns are checked when the lookup is made (with a
//! "did you mean"); then each distinct key is asked once (`cache = "keys"`, the
//! default: one query per distinct key, the answer kept for the rest of the run, a
//! missing key included) or the whole table is read at once (`cache = "all"`, for a
//! small table). A key found in two rows is an error: a lookup's key must be unique.
//! A page's keys can be asked together beforehand (`prefetch`: one `IN` query, or one
//! range for integer keys that lie close together, `dense`), so the
//! calls of the page's transforms find them known.

use rustc_hash::{FxHashMap, FxHashSet};

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

/// A key as the lookup keeps it: equal for two keys exactly when their text (as the
/// server is sent it) is equal, with the text of an integer kept as the integer, so
/// that the common key (an id) is hashed and compared without making its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyId {
    /// A key whose text is an `i64` written the way Rust writes it (`42`, `-7`).
    Int(i64),
    /// Any other key's text.
    Text(Vec<u8>),
}

impl KeyId {
    fn of_text(text: Vec<u8>) -> KeyId {
        let canonical = std::str::from_utf8(&text)
            .ok()
            .filter(|t| (1..=20).contains(&t.len()))
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|n| n.to_string().as_bytes() == text.as_slice());
        match canonical {
            Some(n) => KeyId::Int(n),
            None => KeyId::Text(text),
        }
    }
}

/// What a lookup knows, by key: integer keys in a map of their own (16 bytes a
/// slot, so that more of it stays in cache), the answers in the order they came (a
/// page's keys are asked and then read in the same order).
#[derive(Default)]
struct Found {
    ints: FxHashMap<i64, u32>,
    texts: FxHashMap<Vec<u8>, u32>,
    /// The value columns of the row with the key; `None`: no row has it.
    answers: Vec<Option<Vec<Value>>>,
}

impl Found {
    fn at(&self, id: &KeyId) -> Option<u32> {
        match id {
            KeyId::Int(i) => self.ints.get(i).copied(),
            KeyId::Text(t) => self.texts.get(t).copied(),
        }
    }

    fn contains(&self, id: &KeyId) -> bool {
        self.at(id).is_some()
    }

    /// Keeps the answer for `id`: where it is, and whether `id` had one already (then
    /// kept as it was).
    fn insert(&mut self, id: KeyId, answer: Option<Vec<Value>>) -> (u32, bool) {
        let next = u32::try_from(self.answers.len()).expect("fewer than 2^32 keys");
        let (at, had) = match id {
            KeyId::Int(i) => slot(self.ints.entry(i), next),
            KeyId::Text(t) => slot(self.texts.entry(t), next),
        };
        if !had {
            self.answers.push(answer);
        }
        (at, had)
    }

    fn reserve(&mut self, n: usize) {
        self.ints.reserve(n);
        self.answers.reserve(n);
    }
}

/// The place a map entry holds, `next` for a new entry; whether it was there.
fn slot<K>(entry: std::collections::hash_map::Entry<'_, K, u32>, next: u32) -> (u32, bool) {
    match entry {
        std::collections::hash_map::Entry::Occupied(e) => (*e.get(), true),
        std::collections::hash_map::Entry::Vacant(e) => (*e.insert(next), false),
    }
}

/// Where a lookup's answer for a key is (`Lookup::locate_next`).
#[derive(Debug, Clone, Copy)]
pub enum Located {
    /// At this place among the answers.
    At(u32),
    /// Nowhere: no row has the key (`cache = "all"` read every row).
    Missing,
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
    /// What it has read, by key.
    found: Found,
    /// Keys a transform asked that are not known yet, to be asked together
    /// (`wait_for`, `ask_wanted`).
    wanted: Vec<(KeyId, Value)>,
    /// Keys an `IN` query did not settle (see `Exact`): asked on their own, never again
    /// in an `IN` query.
    unsettled: FxHashSet<KeyId>,
    /// The keys last asked together (`ask`) in the order asked, with where their
    /// answers are, and how many of them calls found in turn (`locate_next`).
    recent: Vec<(KeyId, u32)>,
    cursor: usize,
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
            found: Found::default(),
            wanted: Vec::new(),
            unsettled: Default::default(),
            recent: Vec::new(),
            cursor: 0,
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

    /// How the lookup keeps `key` (not NULL).
    pub fn key_id(&self, key: &Value) -> KeyId {
        match key {
            Value::Int(i) => KeyId::Int(*i),
            Value::UInt(u) if i64::try_from(*u).is_ok() => KeyId::Int(*u as i64),
            Value::Bytes(b) if !b.first().is_some_and(|c| c.is_ascii_digit() || *c == b'-') => {
                KeyId::Text(b.clone())
            }
            _ => KeyId::of_text(to_text(key, self.key_kind).unwrap_or_default()),
        }
    }

    fn read_all(&mut self, db: &mut Db) -> Result<()> {
        let rows = db.lookup_all(&self.table)?;
        self.found.reserve(rows.rows.len());
        for mut row in rows.rows {
            let key = row.remove(0);
            // A NULL key is equal to no key (a unique column may hold several).
            if key == Value::NULL {
                continue;
            }
            let id = self.key_id(&key);
            if self.found.insert(id, Some(row)).1 {
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

    /// Where the answer for `id` is (`None`: not known yet), looked for first where
    /// the last keys asked together left off: a page's rows call in the order their
    /// keys were asked, so most calls find theirs there without hashing the key (the
    /// map is large, and what the rows did since their keys were asked has pushed it
    /// out of the cache).
    pub fn locate_next(&mut self, id: &KeyId) -> Option<Located> {
        if let Some((k, at)) = self.recent.get(self.cursor) {
            if k == id {
                let at = *at;
                self.cursor += 1;
                return Some(Located::At(at));
            }
        }
        self.locate(id)
    }

    fn locate(&self, id: &KeyId) -> Option<Located> {
        match self.found.at(id) {
            Some(at) => Some(Located::At(at)),
            None if self.cache == Cache::All => Some(Located::Missing),
            None => None,
        }
    }

    /// The value columns of the row at `at` (`None`: no row has the key).
    pub fn answer(&self, at: Located) -> Option<&[Value]> {
        match at {
            Located::At(at) => self.found.answers[at as usize].as_deref(),
            Located::Missing => None,
        }
    }

    /// Asks for `key` (whose id is `id`) on its own unless its answer is known, and
    /// keeps the answer; where it is.
    pub fn fetch(&mut self, db: &mut Db, key: &Value, id: KeyId) -> Result<Located> {
        if let Some(at) = self.locate(&id) {
            return Ok(at);
        }
        let mut rows = db.lookup_key(&self.table, key.clone())?.rows;
        if rows.len() > 1 {
            return Err(self.not_unique(key));
        }
        Ok(Located::At(self.found.insert(id, rows.pop()).0))
    }

    /// Asks the keys among `keys` whose answer is not known in `IN` queries (one for up
    /// to 5,000 distinct keys; a range for close integer keys, `dense`), and keeps the answers: a key given back is found, one
    /// not given back is in no row when the column compares it exactly (`Exact`), and is
    /// left for `fetch` to ask on its own otherwise. Returns how many queries it sent.
    pub fn prefetch<'k>(
        &mut self,
        db: &mut Db,
        keys: impl IntoIterator<Item = &'k Value>,
    ) -> Result<usize> {
        if self.cache == Cache::All {
            return Ok(0);
        }
        let keys = keys
            .into_iter()
            .filter(|k| **k != Value::NULL)
            .map(|k| (self.key_id(k), k.clone()))
            .collect();
        self.ask(db, keys)
    }

    /// `prefetch` of keys with their ids, in the order given.
    fn ask(&mut self, db: &mut Db, keys: Vec<(KeyId, Value)>) -> Result<usize> {
        let order: Vec<KeyId> = keys.iter().map(|(id, _)| id.clone()).collect();
        let mut seen = FxHashSet::default();
        let asked: Vec<(KeyId, Value)> = keys
            .into_iter()
            .filter(|(id, _)| {
                !self.found.contains(id) && !self.unsettled.contains(id) && seen.insert(id.clone())
            })
            .collect();
        let mut queries = 0;
        for chunk in asked.chunks(PREFETCH_CHUNK) {
            let rows = match self.dense(chunk) {
                Some((lo, hi)) => db.lookup_range(&self.table, lo, hi)?,
                None => {
                    db.lookup_keys(&self.table, chunk.iter().map(|(_, k)| k.clone()).collect())?
                }
            };
            queries += 1;
            let mut given: FxHashMap<KeyId, Vec<Value>> = FxHashMap::default();
            given.reserve(rows.rows.len());
            // Keys in two rows: an error for a key asked, left out for another key a
            // range read gave.
            let mut twice = FxHashSet::default();
            for mut row in rows.rows {
                let key = row.remove(0);
                match given.entry(self.key_id(&key)) {
                    std::collections::hash_map::Entry::Occupied(e) => {
                        twice.insert(e.key().clone());
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(row);
                    }
                }
            }
            if let Some((_, key)) = chunk.iter().find(|(id, _)| twice.contains(id)) {
                return Err(self.not_unique(key));
            }
            given.retain(|id, _| !twice.contains(id));
            self.found.reserve(chunk.len());
            for (id, key) in chunk {
                match given.remove(id) {
                    Some(row) => {
                        self.found.insert(id.clone(), Some(row));
                    }
                    None if self.exact.covers(key) => {
                        self.found.insert(id.clone(), None);
                    }
                    None => {
                        self.unsettled.insert(id.clone());
                    }
                }
            }
            // A range read gives rows of keys not asked too: they are answers all the same.
            for (id, row) in given {
                self.found.insert(id, Some(row));
            }
        }
        self.recent = order
            .into_iter()
            .filter_map(|id| self.found.at(&id).map(|at| (id, at)))
            .collect();
        self.cursor = 0;
        Ok(queries)
    }

    /// The range `lo..=hi` that holds the keys of `chunk` when it is cheaper for the
    /// server to read than an `IN` list of them: an integer key column, integer keys
    /// (compared exactly: a key the range does not give back is in no row), and a range
    /// at most twice as wide as the keys are many (a page of ids in order).
    fn dense(&self, chunk: &[(KeyId, Value)]) -> Option<(i64, i64)> {
        if self.exact != Exact::Integers || chunk.len() < 16 {
            return None;
        }
        let mut lo = i64::MAX;
        let mut hi = i64::MIN;
        for (id, key) in chunk {
            match (id, key) {
                (KeyId::Int(i), Value::Int(_) | Value::UInt(_)) => {
                    lo = lo.min(*i);
                    hi = hi.max(*i);
                }
                _ => return None,
            }
        }
        let width = (hi as i128) - (lo as i128) + 1;
        (width <= 2 * chunk.len() as i128).then_some((lo, hi))
    }

    /// Whether a key not known yet (`locate_next`) can wait to be asked with the page's
    /// others (`wait_for`, `ask_wanted`): not one an `IN` query could not settle, which
    /// `fetch` asks on its own.
    pub fn can_wait(&self, id: &KeyId) -> bool {
        self.cache == Cache::Keys && !self.unsettled.contains(id)
    }

    /// Keeps `key` (whose id is `id`) for `ask_wanted`.
    pub fn wait_for(&mut self, id: KeyId, key: Value) {
        self.wanted.push((id, key));
    }

    /// Whether keys wait for `ask_wanted`.
    pub fn has_wanted(&self) -> bool {
        !self.wanted.is_empty()
    }

    /// Asks the keys `wait_for` kept, as `prefetch` asks a page's keys (one `IN` query
    /// for up to 5,000 distinct keys); returns how many queries it sent.
    pub fn ask_wanted(&mut self, db: &mut Db) -> Result<usize> {
        let keys = std::mem::take(&mut self.wanted);
        self.ask(db, keys)
    }

    /// Forgets the keys `wait_for` kept (their calls then ask them one by one).
    pub fn drop_wanted(&mut self) {
        self.wanted.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two keys are one key exactly when their texts are equal.
    #[test]
    fn a_key_id_is_equal_exactly_when_the_text_is() {
        let lookup = Lookup {
            table: LookupTable {
                table: "t".into(),
                key: "k".into(),
                values: vec!["v".into()],
            },
            key_kind: Kind::Bytes,
            kinds: vec![Kind::Bytes],
            cache: Cache::Keys,
            indexed: true,
            exact: Exact::Integers,
            found: Default::default(),
            wanted: Vec::new(),
            unsettled: Default::default(),
            recent: Vec::new(),
            cursor: 0,
        };
        let keys = [
            Value::Int(42),
            Value::UInt(42),
            Value::from("42"),
            Value::Int(-7),
            Value::from("-7"),
            Value::from("+7"),
            Value::from("07"),
            Value::from("-0"),
            Value::Int(0),
            Value::from("0"),
            Value::UInt(u64::MAX),
            Value::from(u64::MAX.to_string()),
            Value::Int(i64::MIN),
            Value::from(i64::MIN.to_string()),
            Value::from("9223372036854775808"),
            Value::from("fr"),
            Value::from("FR"),
            Value::from(""),
            Value::Double(1.5),
            Value::from("1.5"),
        ];
        for a in &keys {
            for b in &keys {
                let text = |v: &Value| to_text(v, Kind::Bytes).unwrap();
                assert_eq!(
                    lookup.key_id(a) == lookup.key_id(b),
                    text(a) == text(b),
                    "{a:?} and {b:?}"
                );
            }
        }
        assert_eq!(lookup.key_id(&Value::from("42")), KeyId::Int(42));
        assert!(matches!(lookup.key_id(&Value::from("07")), KeyId::Text(_)));
    }
}
