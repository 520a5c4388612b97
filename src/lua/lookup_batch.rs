//! A page's lookup keys asked together. With `from = "column"`: before a page's
//! transforms run, the page's values of that source column are asked as keys, in one
//! `IN` query per page per lookup (`Lookup::prefetch`), so the transform's calls find
//! them known. `from` is a column of every copy's source, or `table.column` of one
//! table's. Without it, a page's transforms run as coroutines
//! (`crate::lua::row_batch`): a call whose key is not known yields, and the keys the
//! page's rows wait for are asked in one `IN` query per lookup (`ask_wanted`) before
//! they resume. The lookups are kept in the Lua state's app data.

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
    from: Option<String>,
    lookup: Weak<RefCell<Lookup>>,
    db: Weak<RefCell<Db>>,
}

/// The job's lookups that ask keys (`cache = "keys"`), in the order made.
#[derive(Default)]
struct Registry(RefCell<Vec<Batched>>);

/// Keeps a lookup (`cache = "keys"`; `from`: its `from` option) for the pages of later
/// copies.
pub fn remember(
    lua: &Lua,
    from: Option<String>,
    lookup: &Rc<RefCell<Lookup>>,
    db: &Rc<RefCell<Db>>,
) {
    if lua.app_data_ref::<Registry>().is_none() {
        lua.set_app_data(Registry::default());
    }
    if let Some(r) = lua.app_data_ref::<Registry>() {
        let mut list = r.0.borrow_mut();
        list.retain(|b| b.lookup.strong_count() > 0);
        list.push(Batched {
            from,
            lookup: Rc::downgrade(lookup),
            db: Rc::downgrade(db),
        });
    }
}

/// What a page of one copy asks ahead: the source columns wanted, and per lookup the
/// position of its column among them.
#[derive(Default)]
pub struct PagePrefetch {
    pub columns: Vec<usize>,
    lookups: Vec<(usize, Batched)>,
}

/// The prefetch of a copy from `table` whose source columns are `names`: the lookups
/// whose `from` is one of the columns, or `table.column` (names compared ignoring case).
pub fn for_columns(lua: &Lua, table: &str, names: &[Vec<u8>]) -> PagePrefetch {
    let mut p = PagePrefetch::default();
    let Some(registry) = lua.app_data_ref::<Registry>() else {
        return p;
    };
    for b in registry.0.borrow().iter() {
        let Some(from) = &b.from else {
            continue;
        };
        let column = match from.rsplit_once('.') {
            Some((t, c)) if t.eq_ignore_ascii_case(table) => c,
            Some(_) => continue,
            None => from.as_str(),
        };
        if b.lookup.strong_count() == 0 {
            continue;
        }
        let Some(c) = names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(column.as_bytes()))
        else {
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
            let keys: Vec<Value> = values.iter().map(|r| r[*at].clone()).collect();
            let (Some(db), Some(lookup)) = (b.db.upgrade(), b.lookup.upgrade()) else {
                continue;
            };
            let (Ok(mut db), Ok(mut lookup)) = (db.try_borrow_mut(), lookup.try_borrow_mut())
            else {
                continue;
            };
            let queries = lookup.prefetch(&mut db, &keys)?;
            log::debug!(
                "lookup {}: {} keys of a page asked ahead in {queries} queries",
                lookup.name(),
                keys.len()
            );
        }
        Ok(())
    }
}

/// Whether the job has a lookup that asks keys: a page's transforms then run as
/// coroutines, so that its calls' keys are asked together.
pub fn any(lua: &Lua) -> bool {
    lua.app_data_ref::<Registry>()
        .is_some_and(|r| r.0.borrow().iter().any(|b| b.lookup.strong_count() > 0))
}

/// Asks each lookup the keys that calls waiting in coroutines want (`Lookup::want`), in
/// one `IN` query per lookup (per 5,000 keys). A lookup whose connection is busy forgets
/// them: its calls ask them one by one, as they would without batching.
pub fn ask_wanted(lua: &Lua) -> Result<()> {
    let list: Vec<Batched> = match lua.app_data_ref::<Registry>() {
        Some(r) => r.0.borrow().clone(),
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
