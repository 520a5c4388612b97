//! A page's lookup keys asked together. With `from = "column"`: before a page's
//! transforms run, the page's values of that source column are asked as keys, in one
//! `IN` query per page per lookup (`Lookup::prefetch`), so the transform's calls find
//! them known. `from` is a column of every copy's source, or `table.column` of one
//! table's. Without it, a page's transforms run as coroutines
//! (`crate::lua::row_batch`): a call whose key is not known yields, and the keys the
//! page's rows wait for are asked in one query per lookup (`ask_wanted`) before
//! they resume. The lookups are kept in the Lua state's app data.
//!
//! A copy also learns where its transform's keys come from (`Learned`): when every
//! row of a page that waited for a lookup's key waited for the value of one source
//! column (`lookup(r.code)`), the copy's next pages ask that column's values ahead, as
//! with `from`, and their rows no longer wait; a page whose rows wait for that lookup
//! all the same ends the guess for the rest of the copy.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use mlua::{Function, Lua, Table, Value as LuaValue};

use crate::db::{Db, Value};
use crate::error::Result;
use crate::job::lookup::Lookup;

/// One lookup, held weakly: its Lua function owns it and its session (a session kept
/// alive here would outlive the run, and the process waits for it).
#[derive(Clone)]
struct Batched {
    /// Which lookup (`Registry::next` when it was made).
    id: u64,
    from: Option<String>,
    lookup: Weak<RefCell<Lookup>>,
    db: Weak<RefCell<Db>>,
}

/// The job's lookups that ask keys (`cache = "keys"`).
#[derive(Default)]
struct Registry {
    /// In the order made.
    lookups: RefCell<Vec<Batched>>,
    /// The id of the next.
    next: std::cell::Cell<u64>,
    /// The lookup and key of the call that last answered `pending`.
    waits: RefCell<Option<(u64, Value)>>,
}

/// Keeps a lookup (`cache = "keys"`; `from`: its `from` option) for the pages of later
/// copies; its id (for `note_wait`).
pub fn remember(
    lua: &Lua,
    from: Option<String>,
    lookup: &Rc<RefCell<Lookup>>,
    db: &Rc<RefCell<Db>>,
) -> u64 {
    if lua.app_data_ref::<Registry>().is_none() {
        lua.set_app_data(Registry::default());
    }
    let Some(r) = lua.app_data_ref::<Registry>() else {
        return 0;
    };
    let id = r.next.get();
    r.next.set(id + 1);
    let mut list = r.lookups.borrow_mut();
    list.retain(|b| b.lookup.strong_count() > 0);
    list.push(Batched {
        id,
        from,
        lookup: Rc::downgrade(lookup),
        db: Rc::downgrade(db),
    });
    id
}

/// Notes that a call of lookup `id` answers `pending` for `key`: the row's coroutine
/// is about to wait for it (`take_wait`).
pub fn note_wait(lua: &Lua, id: u64, key: Value) {
    if let Some(r) = lua.app_data_ref::<Registry>() {
        *r.waits.borrow_mut() = Some((id, key));
    }
}

/// The lookup and key a row's coroutine that just yielded `pending` waits for.
pub fn take_wait(lua: &Lua) -> Option<(u64, Value)> {
    lua.app_data_ref::<Registry>()
        .and_then(|r| r.waits.borrow_mut().take())
}

/// What a page of one copy asks ahead: the source columns wanted, and per lookup the
/// position of its column among them.
#[derive(Default)]
pub struct PagePrefetch {
    pub columns: Vec<usize>,
    lookups: Vec<(usize, Batched)>,
}

/// The prefetch of a copy from `table` whose source columns are `names`: the lookups
/// whose `from` is one of the columns, or `table.column` (names compared ignoring case),
/// and those whose column the copy `learned`.
pub fn for_columns(lua: &Lua, table: &str, names: &[Vec<u8>], learned: &Learned) -> PagePrefetch {
    let mut p = PagePrefetch::default();
    let Some(registry) = lua.app_data_ref::<Registry>() else {
        return p;
    };
    for b in registry.lookups.borrow().iter() {
        if b.lookup.strong_count() == 0 {
            continue;
        }
        let c = match &b.from {
            Some(from) => {
                let column = match from.rsplit_once('.') {
                    Some((t, c)) if t.eq_ignore_ascii_case(table) => c,
                    Some(_) => continue,
                    None => from.as_str(),
                };
                names
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(column.as_bytes()))
            }
            None => learned.column(b.id),
        };
        let Some(c) = c else {
            continue;
        };
        let at = match p.columns.iter().position(|&x| x == c) {
            Some(at) => at,
            None => {
                p.columns.push(c);
                p.columns.len() - 1
            }
        };
        p.lookups.push((at, b.clone()));
    }
    p
}

impl PagePrefetch {
    /// Asks each lookup the page's keys (`values`: per row, the values of `columns`).
    /// A lookup whose connection is busy is left to ask key by key.
    pub fn run(&self, values: &[Vec<Value>]) -> Result<()> {
        for (at, b) in &self.lookups {
            let (Some(db), Some(lookup)) = (b.db.upgrade(), b.lookup.upgrade()) else {
                continue;
            };
            let (Ok(mut db), Ok(mut lookup)) = (db.try_borrow_mut(), lookup.try_borrow_mut())
            else {
                continue;
            };
            let queries = lookup.prefetch(&mut db, values.iter().map(|r| &r[*at]))?;
            log::debug!(
                "lookup {}: {} keys of a page asked ahead in {queries} queries",
                lookup.name(),
                values.len()
            );
        }
        Ok(())
    }
}

/// What a copy learned of where its transform's lookup keys come from (see the
/// module's text): per lookup id, the source column whose values its keys were, or
/// that it has no such column.
#[derive(Default)]
pub struct Learned {
    columns: Vec<(u64, usize)>,
    given_up: Vec<u64>,
}

impl Learned {
    fn column(&self, id: u64) -> Option<usize> {
        self.columns.iter().find(|(l, _)| *l == id).map(|(_, c)| *c)
    }

    /// Learns from the rows of a page about to wait: `waits` holds per waiting row the
    /// lookup and key it waits for and its row, whose values `values` gives. A lookup
    /// not yet learned takes the source column equal to the key in every row that
    /// waits for it, if there is one; a lookup whose column was learned, whose rows wait
    /// all the same, is not guessed again.
    pub fn learn<S>(
        &mut self,
        waits: &[(u64, &Value, &S)],
        values: impl Fn(&S) -> Option<Vec<Value>>,
    ) {
        let mut ids: Vec<u64> = waits.iter().map(|w| w.0).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            if self.given_up.contains(&id) {
                continue;
            }
            if let Some(at) = self.columns.iter().position(|(l, _)| *l == id) {
                log::debug!("lookup keys: rows still wait for the keys of lookup {id}: no longer asked ahead");
                self.columns.remove(at);
                self.given_up.push(id);
                continue;
            }
            let mut candidates: Option<Vec<usize>> = None;
            for (_, key, row) in waits.iter().filter(|w| w.0 == id) {
                let Some(row) = values(row) else {
                    candidates = Some(Vec::new());
                    break;
                };
                let same = |c: &usize| row.get(*c).is_some_and(|v| same_key(v, key));
                let left: Vec<usize> = match candidates {
                    None => (0..row.len()).filter(same).collect(),
                    Some(c) => c.into_iter().filter(same).collect(),
                };
                let done = left.is_empty();
                candidates = Some(left);
                if done {
                    break;
                }
            }
            match candidates.and_then(|c| c.first().copied()) {
                Some(c) => {
                    log::debug!("lookup keys: lookup {id} takes the values of source column {c}: asked ahead");
                    self.columns.push((id, c));
                }
                None => self.given_up.push(id),
            }
        }
    }
}

/// Whether a source value and a lookup key are the same key, as a query is sent them.
fn same_key(v: &Value, key: &Value) -> bool {
    match (v, key) {
        (Value::UInt(u), Value::Int(i)) | (Value::Int(i), Value::UInt(u)) => {
            i64::try_from(*u).is_ok_and(|u| u == *i)
        }
        _ => v == key,
    }
}

/// Whether the job has a lookup that asks keys: a page's transforms then run as
/// coroutines, so that its calls' keys are asked together.
pub fn any(lua: &Lua) -> bool {
    lua.app_data_ref::<Registry>().is_some_and(|r| {
        r.lookups
            .borrow()
            .iter()
            .any(|b| b.lookup.strong_count() > 0)
    })
}

/// Asks each lookup the keys that calls waiting in coroutines want (`Lookup::want`), in
/// one `IN` query per lookup (per 5,000 keys). A lookup whose connection is busy forgets
/// them: its calls ask them one by one, as they would without batching.
pub fn ask_wanted(lua: &Lua) -> Result<()> {
    let list: Vec<Batched> = match lua.app_data_ref::<Registry>() {
        Some(r) => r.lookups.borrow().clone(),
        None => return Ok(()),
    };
    for b in list {
        let (Some(db), Some(lookup)) = (b.db.upgrade(), b.lookup.upgrade()) else {
            continue;
        };
        let Ok(mut lookup) = lookup.try_borrow_mut() else {
            continue;
        };
        if !lookup.has_wanted() {
            continue;
        }
        let Ok(mut db) = db.try_borrow_mut() else {
            lookup.drop_wanted();
            continue;
        };
        match lookup.ask_wanted(&mut db) {
            Ok(queries) => log::debug!(
                "lookup {}: the keys a page waits for asked in {queries} queries",
                lookup.name()
            ),
            // A key in two rows: the calls waiting ask theirs on their own, and the
            // error names the row whose key it is.
            Err(crate::error::Error::Check { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What the coroutines of a page's rows share with the lookup functions: the value a
/// call yields when its key is not known (`pending`), and the coroutines that may yield
/// it (`ours`, weak keys: a transform's own coroutines never yield it).
#[derive(Clone)]
pub struct Yielding {
    pub pending: Table,
    pub ours: Table,
}

impl Yielding {
    pub fn get(lua: &Lua) -> mlua::Result<Yielding> {
        if let Some(y) = lua.app_data_ref::<Yielding>() {
            return Ok(y.clone());
        }
        let ours = lua.create_table()?;
        let meta = lua.create_table()?;
        meta.raw_set("__mode", "k")?;
        ours.set_metatable(Some(meta))?;
        let y = Yielding {
            pending: lua.create_table()?,
            ours,
        };
        lua.set_app_data(y.clone());
        Ok(y)
    }
}

/// The Lua function a lookup gives: `find(key, direct)` (`direct = false`: the value,
/// or `pending` when the key is not known, kept to be asked with the page's) wrapped so
/// that inside a page's coroutine an unknown key yields until the page's keys are
/// asked, and anywhere else (the plan pass, a map function, inside `string.gsub`'s
/// callback or a coroutine of the transform's own) it is asked at once.
pub fn wrap(lua: &Lua, find: Function) -> mlua::Result<Function> {
    let y = Yielding::get(lua)?;
    lua.load(
        r#"
local find, pending, ours = ...
local running, yieldable, yield = coroutine.running, coroutine.isyieldable, coroutine.yield
return function(key)
  if ours[running()] and yieldable() then
    local v = find(key, false)
    if v ~= pending then return v end
    yield(pending)
  end
  return find(key, true)
end
"#,
    )
    .set_name("=[ferry lookup]")
    .call::<Function>((find, y.pending, y.ours))
}

/// Whether `v`, what a row's coroutine yielded, is a lookup waiting for its key.
pub fn is_pending(lua: &Lua, v: &LuaValue) -> bool {
    match (lua.app_data_ref::<Yielding>(), v) {
        (Some(y), LuaValue::Table(t)) => t == &y.pending,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Vec<Value>> {
        (1..=4)
            .map(|i| {
                vec![
                    Value::Int(i),
                    Value::from(format!("c{i}")),
                    Value::Int(i % 2),
                ]
            })
            .collect()
    }

    #[test]
    fn a_lookup_learns_the_column_its_waiting_keys_came_from() {
        let rows = rows();
        let mut l = Learned::default();
        // Lookup 0 waits for column 1's values, lookup 1 for column 0's (as UInt).
        let keys0: Vec<Value> = rows.iter().map(|r| r[1].clone()).collect();
        let keys1: Vec<Value> = (1..=4).map(|i| Value::UInt(i as u64)).collect();
        let mut waits: Vec<(u64, &Value, &Vec<Value>)> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            waits.push((0, &keys0[i], r));
            waits.push((1, &keys1[i], r));
        }
        l.learn(&waits, |r| Some(r.to_vec()));
        assert_eq!(l.column(0), Some(1));
        assert_eq!(l.column(1), Some(0));
        // A page whose rows wait for lookup 0 all the same ends its guess for good.
        l.learn(&waits[..1], |r| Some(r.to_vec()));
        assert_eq!(l.column(0), None);
        l.learn(&waits, |r| Some(r.to_vec()));
        assert_eq!(l.column(0), None);
        assert_eq!(l.column(1), None, "lookup 1's rows waited too");
    }

    #[test]
    fn keys_from_no_one_column_teach_nothing() {
        let rows = rows();
        let mut l = Learned::default();
        // Column 2 matches the first row's key only; a computed key matches none.
        let keys = [Value::Int(1), Value::Int(5)];
        let waits = vec![(3, &keys[0], &rows[0]), (3, &keys[1], &rows[1])];
        l.learn(&waits, |r: &Vec<Value>| Some(r.clone()));
        assert_eq!(l.column(3), None);
        // An undecodable row teaches nothing either.
        let waits = vec![(4, &keys[0], &rows[0])];
        l.learn(&waits, |_: &Vec<Value>| None);
        assert_eq!(l.column(4), None);
    }
}
