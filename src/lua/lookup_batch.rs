//! Lookups declared with `from = "column"`: before a page's transforms run, the page's
//! values of that source column are asked as keys, in one `IN` query per page per
//! lookup (`Lookup::prefetch`), so the transform's calls find them known. `from` is a
//! column of every copy's source, or `table.column` of one table's. The lookups are
//! kept in the Lua state's app data; a copy whose source has no such column asks
//! nothing ahead, and its calls ask key by key as without `from`.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use mlua::Lua;

use crate::db::{Db, Value};
use crate::error::Result;
use crate::job::lookup::Lookup;

/// One lookup with `from`, held weakly: its Lua function owns it and its session (a
/// session kept alive here would outlive the run, and the process waits for it).
#[derive(Clone)]
struct Batched {
    from: String,
    lookup: Weak<RefCell<Lookup>>,
    db: Weak<RefCell<Db>>,
}

/// The job's lookups with `from`, in the order made.
#[derive(Default)]
struct Registry(RefCell<Vec<Batched>>);

/// Keeps a lookup made with `from = column` for the pages of later copies.
pub fn remember(lua: &Lua, from: String, lookup: &Rc<RefCell<Lookup>>, db: &Rc<RefCell<Db>>) {
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
        let column = match b.from.rsplit_once('.') {
            Some((t, c)) if t.eq_ignore_ascii_case(table) => c,
            Some(_) => continue,
            None => b.from.as_str(),
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
