//! The Lua side of a copy: builds a Lua row table from each source row, runs the
//! `transform`, then fills every target column from the row it returned (a field, a
//! `map` function, or a default). A value the transform left alone is written back as
//! the exact value read, never a re-encoding of it.

use std::cell::RefCell;
use std::sync::Arc;

use crate::db::Value;
use mlua::{AnyUserData, Function, Lua, LuaString, Table, Value as LuaValue};

use crate::db::value::Kind;
use crate::db::wire::{RawLayout, WireError};
use crate::engine::{Extra, Processed};
use crate::lua::emit;
use crate::lua::errors::RowFailure;
use crate::lua::values::{to_lua, Sentinels};
use crate::plan::column_map::{Arrangement, ValueFrom};
use crate::plan::CopyPlan;

mod fill;
use fill::untouched_cells;

enum Cell {
    /// Field of the transformed row (as a Lua string and its bytes), for the target
    /// column named; `Some(i)`: also source column i.
    Field(LuaString, Vec<u8>, String, Option<usize>),
    Source(usize),
    Function(Function, String),
    Value(Value),
}

/// The row a transform is looking at, behind its row table. Values become Lua values
/// only when the transform reads them, and fields it sets are kept aside, so a
/// transform that reads two fields of a row pays for two, and one that returns the row
/// untouched pays for none.
pub(super) struct RowState {
    /// The row table now in use (its identity), or null between rows.
    pub(super) table: *const std::ffi::c_void,
    values: Vec<Value>,
    /// An undecoded row (a parameter row of `layout`), decoded into `values` when a
    /// value is first needed.
    raw: Vec<u8>,
    layout: Option<Arc<RawLayout>>,
    decoded: bool,
    /// Lua values made for source columns so far, and whether there are any.
    made: Vec<Option<LuaValue>>,
    made_any: bool,
    /// Fields the transform set (a nil value deletes the field), in the order set.
    set: Vec<(Vec<u8>, LuaValue)>,
}

impl Default for RowState {
    fn default() -> RowState {
        RowState {
            table: std::ptr::null(),
            values: Vec::new(),
            raw: Vec::new(),
            layout: None,
            decoded: true,
            made: Vec::new(),
            made_any: false,
            set: Vec::new(),
        }
    }
}

impl RowState {
    /// Loads a decoded source row.
    pub(super) fn load(&mut self, row: Vec<Value>) {
        self.values = row;
        self.decoded = true;
    }

    /// Loads an undecoded source row (a parameter row of `layout`).
    pub(super) fn load_undecoded(&mut self, layout: &Arc<RawLayout>, row: &[u8]) {
        self.raw.clear();
        self.raw.extend_from_slice(row);
        if !self.layout.as_ref().is_some_and(|l| Arc::ptr_eq(l, layout)) {
            self.layout = Some(layout.clone());
        }
        self.decoded = false;
    }

    /// Every value of the row (`None`: an undecoded row that does not decode).
    pub(super) fn all_values(&self) -> Option<Vec<Value>> {
        match (&self.layout, self.decoded) {
            (Some(layout), false) => layout.decode(&self.raw).ok(),
            _ => Some(self.values.clone()),
        }
    }

    fn field_set(&self, key: &[u8]) -> Option<&LuaValue> {
        self.set
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// Decodes the current row if it came undecoded and is not yet.
fn decode(st: &mut RowState) -> Result<(), WireError> {
    if !st.decoded {
        if let Some(layout) = &st.layout {
            st.values = layout.decode(&st.raw)?;
        }
        st.decoded = true;
    }
    Ok(())
}

pub(super) struct Shared {
    pub(super) lua: Lua,
    null: AnyUserData,
    pub(super) names: Vec<Vec<u8>>,
    kinds: Vec<Kind>,
    pub(super) state: RefCell<RowState>,
}

impl Shared {
    fn column(&self, key: &[u8]) -> Option<usize> {
        self.names.iter().position(|n| n == key)
    }

    /// The Lua value of source column `i` of the current row (made once).
    fn value(&self, st: &mut RowState, i: usize) -> mlua::Result<LuaValue> {
        if let Some(v) = &st.made[i] {
            return Ok(v.clone());
        }
        let v = match (&st.layout, st.decoded) {
            // An undecoded row: only this column is decoded (a transform that reads
            // its row's id pays for the id, not for its text and JSON columns).
            (Some(layout), false) => {
                let one = layout
                    .decode_one(&st.raw, i)
                    .map_err(mlua::Error::runtime)?;
                to_lua(&self.lua, &self.null, &one, self.kinds[i])?
            }
            _ => to_lua(&self.lua, &self.null, &st.values[i], self.kinds[i])?,
        };
        st.made[i] = Some(v.clone());
        st.made_any = true;
        Ok(v)
    }

    fn check(&self, st: &RowState, t: &Table) -> mlua::Result<()> {
        if st.table != t.to_pointer() {
            return Err(mlua::Error::runtime(
                "a row table can only be used during its own transform call (copy the fields \
                 you need into a table of your own to keep them)",
            ));
        }
        Ok(())
    }

    /// Lua: row[key]
    fn index(&self, t: &Table, key: &LuaValue) -> mlua::Result<LuaValue> {
        let mut st = self.state.borrow_mut();
        self.check(&st, t)?;
        let LuaValue::String(k) = key else {
            return Ok(LuaValue::Nil);
        };
        let k = k.as_bytes();
        if let Some(v) = st.field_set(&k) {
            return Ok(v.clone());
        }
        match self.column(&k) {
            Some(i) => self.value(&mut st, i),
            None => Ok(LuaValue::Nil),
        }
    }

    /// Lua: row[key] = value
    fn new_index(&self, t: &Table, key: LuaValue, value: LuaValue) -> mlua::Result<()> {
        let mut st = self.state.borrow_mut();
        self.check(&st, t)?;
        let LuaValue::String(k) = key else {
            return Err(mlua::Error::runtime(format!(
                "a row's fields are named by strings, not by a {}",
                key.type_name()
            )));
        };
        st.set.push((k.as_bytes().to_vec(), value));
        Ok(())
    }

    /// The fields of the current row in order: source columns still there, then
    /// fields the transform added.
    fn fields(&self, st: &RowState) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for n in &self.names {
            match st.field_set(n) {
                Some(LuaValue::Nil) => {}
                _ => out.push(n.clone()),
            }
        }
        for (k, v) in &st.set {
            if !v.is_nil() && !out.contains(k) {
                out.push(k.clone());
            }
        }
        out
    }

    /// Lua: next(row, key) as `pairs` sees it.
    fn next(&self, t: &Table, key: &LuaValue) -> mlua::Result<(LuaValue, LuaValue)> {
        let fields = {
            let st = self.state.borrow();
            self.check(&st, t)?;
            self.fields(&st)
        };
        let pos = match key {
            LuaValue::Nil => 0,
            LuaValue::String(k) => {
                let k = k.as_bytes();
                match fields.iter().position(|f| *f == *k) {
                    Some(p) => p + 1,
                    None => return Ok((LuaValue::Nil, LuaValue::Nil)),
                }
            }
            _ => return Ok((LuaValue::Nil, LuaValue::Nil)),
        };
        let Some(f) = fields.get(pos) else {
            return Ok((LuaValue::Nil, LuaValue::Nil));
        };
        let k = LuaValue::String(self.lua.create_string(f)?);
        let v = self.index(t, &k)?;
        Ok((k, v))
    }
}

pub struct LuaProcessor {
    pub(super) shared: std::rc::Rc<Shared>,
    meta: Table,
    pub(super) transform: Option<Function>,
    cells: Vec<Cell>,
    /// Where the target values come from when the transform returned its row without
    /// setting a field (the plan's column map; `None`: every row takes the slow path).
    pub(super) untouched: Option<Arrangement>,
    /// The same per cell: the source column it takes as read, or a fixed value.
    untouched_cells: Option<Vec<Untouched>>,
    /// The rows the last row made besides its own (a list returned, `emit`).
    pub(super) extra: Extra,
    /// Filling more than one row from a source row: values are copied, not moved.
    keep: bool,
    /// The lookup keys the page being started asks ahead (`page_columns`), and the
    /// source table they are for.
    pub(super) prefetch: crate::lua::lookup_batch::PagePrefetch,
    /// Which source columns the transform's lookup keys come from, learned from pages
    /// whose rows waited for them (`row_batch`).
    pub(super) learned: crate::lua::lookup_batch::Learned,
    /// Where `emit` puts the rows of the row being run.
    pub(super) sink: emit::Sink,
    pub(super) source: String,
    /// Coroutines of finished rows, for the next rows run together (`row_batch`).
    pub(super) threads: Vec<mlua::Thread>,
    /// Row states of rows done with, for rows that wait (`row_batch`): their buffers
    /// reused, not made anew per row.
    pub(super) spare: Vec<RowState>,
}

/// How a cell is filled when the transform returned its own row and set nothing.
enum Untouched {
    /// Source column `i`, moved out of the row (`true`: copied, another cell takes it too).
    Column(usize, bool),
    Value(Value),
}

impl LuaProcessor {
    pub fn new(
        lua: &Lua,
        plan: &CopyPlan,
        transform: Option<Function>,
        functions: &[(String, Function)],
    ) -> mlua::Result<LuaProcessor> {
        let names: Vec<String> = plan.source.columns.iter().map(|c| c.name.clone()).collect();
        let kinds: Vec<Kind> = plan.source.columns.iter().map(|c| c.kind()).collect();
        let map = plan.column_map();
        let mut cells = Vec::new();
        for v in map.values() {
            let name = &plan.columns[v.column].name;
            cells.push(match &v.from {
                ValueFrom::Field(f, source) => Cell::Field(
                    lua.create_string(f)?,
                    f.as_bytes().to_vec(),
                    name.clone(),
                    *source,
                ),
                ValueFrom::Column(i) => Cell::Source(*i),
                ValueFrom::Function => {
                    let f = functions
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, f)| f.clone())
                        .ok_or_else(|| {
                            mlua::Error::runtime(format!("no map function for {name}"))
                        })?;
                    Cell::Function(f, name.clone())
                }
                ValueFrom::Value(v) => Cell::Value(v.clone()),
            });
        }
        let shared = std::rc::Rc::new(Shared {
            lua: lua.clone(),
            null: Sentinels::get(lua).null,
            names: names.iter().map(|n| n.as_bytes().to_vec()).collect(),
            kinds,
            state: RefCell::new(RowState::default()),
        });
        let meta = lua.create_table()?;
        let s = shared.clone();
        meta.raw_set(
            "__index",
            lua.create_function(move |_, (t, k): (Table, LuaValue)| s.index(&t, &k))?,
        )?;
        let s = shared.clone();
        meta.raw_set(
            "__newindex",
            lua.create_function(move |_, (t, k, v): (Table, LuaValue, LuaValue)| {
                s.new_index(&t, k, v)
            })?,
        )?;
        let s = shared.clone();
        let next = lua.create_function(move |_, (t, k): (Table, LuaValue)| s.next(&t, &k))?;
        meta.raw_set(
            "__pairs",
            lua.create_function(move |_, t: Table| Ok((next.clone(), t, LuaValue::Nil)))?,
        )?;
        meta.raw_set("__metatable", "ferry row")?;
        let untouched = map.untouched().cloned();
        let untouched_cells = untouched.as_ref().map(|u| untouched_cells(&u.sources));
        Ok(LuaProcessor {
            shared,
            meta,
            transform,
            cells,
            untouched,
            untouched_cells,
            extra: Extra::default(),
            keep: false,
            prefetch: Default::default(),
            learned: Default::default(),
            sink: emit::Sink::of(lua),
            source: plan.source.name.clone(),
            threads: Vec::new(),
            spare: Vec::new(),
        })
    }

    pub(super) fn run(&mut self, row: Vec<Value>) -> Result<Option<Vec<Value>>, RowFailure> {
        self.extra = Extra::default();
        let (table, ptr) = self.start_row(|st| st.load(row))?;
        let (result, emitted) = self
            .sink
            .clone()
            .collecting(|| self.call(&table).and_then(|out| self.fill_made(out, ptr)));
        self.extra.emitted = emitted;
        // The row table is done with: reading it later is an error, not another row.
        self.shared.state.borrow_mut().table = std::ptr::null();
        result
    }

    /// The target values of what the transform returned (`None`: skip the row).
    pub(super) fn fill_made(
        &mut self,
        out: Option<Table>,
        ptr: *const std::ffi::c_void,
    ) -> Result<Option<Vec<Value>>, RowFailure> {
        match out {
            None => Ok(None),
            Some(out) => self.fill_rows(out, ptr),
        }
    }

    /// The target values of the row a transform returned or, for a list of rows, of
    /// the first (the others go to `extra`; an empty list skips the row).
    fn fill_rows(
        &mut self,
        out: Table,
        ptr: *const std::ffi::c_void,
    ) -> Result<Option<Vec<Value>>, RowFailure> {
        let Some(rows) = emit::list_of_rows(&out).map_err(RowFailure::Lua)? else {
            return self.fill(out, ptr).map(Some);
        };
        self.keep = true;
        let mut values = Vec::with_capacity(rows.len());
        let filled: Result<(), RowFailure> = rows.into_iter().try_for_each(|r| {
            values.push(self.fill(r, ptr)?);
            Ok(())
        });
        self.keep = false;
        filled?;
        let mut values = values.into_iter();
        let first = values.next();
        self.extra.own = values.collect();
        Ok(first)
    }

    /// The same for an undecoded row, which comes back `Untouched` when the transform
    /// returned it without setting a field.
    pub(super) fn run_undecoded(
        &mut self,
        layout: &Arc<RawLayout>,
        row: &[u8],
    ) -> Result<Processed, RowFailure> {
        let (table, ptr) = self.start_row(|st| st.load_undecoded(layout, row))?;
        self.extra = Extra::default();
        let (result, emitted) = self.sink.clone().collecting(|| {
            self.call(&table)
                .and_then(|out| self.undecoded_made(out, ptr))
        });
        self.extra.emitted = emitted;
        self.shared.state.borrow_mut().table = std::ptr::null();
        result
    }

    /// What the transform made of an undecoded row (see `run_undecoded`) from what it
    /// returned.
    pub(super) fn undecoded_made(
        &mut self,
        out: Option<Table>,
        ptr: *const std::ffi::c_void,
    ) -> Result<Processed, RowFailure> {
        let Some(out) = out else {
            return Ok(Processed::Skip);
        };
        // Its own row (never a list of rows: it has a metatable): as read but for the
        // fields it set.
        if self.untouched.is_some() && out.to_pointer() == ptr {
            let patches = self.patches()?;
            return Ok(match patches.is_empty() {
                true => Processed::Untouched,
                false => Processed::Patched(patches),
            });
        }
        if emit::list_of_rows(&out).map_err(RowFailure::Lua)?.is_some() {
            decode(&mut self.shared.state.borrow_mut())?;
            return Ok(match self.fill_rows(out, ptr)? {
                Some(values) => Processed::Row(values),
                None => Processed::Skip,
            });
        }
        decode(&mut self.shared.state.borrow_mut())?;
        self.fill(out, ptr).map(Processed::Row)
    }

    /// A fresh row table for the row `load` puts in the state.
    pub(super) fn start_row(
        &mut self,
        load: impl FnOnce(&mut RowState),
    ) -> Result<(Table, *const std::ffi::c_void), RowFailure> {
        let table = self
            .shared
            .lua
            .create_table()
            .and_then(|t| {
                t.set_metatable(Some(self.meta.clone()))?;
                Ok(t)
            })
            .map_err(RowFailure::Lua)?;
        let ptr = table.to_pointer();
        {
            let mut st = self.shared.state.borrow_mut();
            st.table = ptr;
            let n = self.shared.names.len();
            if st.made_any || st.made.len() != n {
                st.made.clear();
                st.made.resize(n, None);
                st.made_any = false;
            }
            st.set.clear();
            load(&mut st);
        }
        Ok((table, ptr))
    }

    /// Runs the transform on a row table: the table it returned, or None to skip.
    fn call(&self, table: &Table) -> Result<Option<Table>, RowFailure> {
        match &self.transform {
            Some(f) => returned(f.call::<LuaValue>(table)),
            None => Ok(Some(table.clone())),
        }
    }
}

/// What a transform's call gave: the table it returned, or None to skip the row.
pub(super) fn returned(r: mlua::Result<LuaValue>) -> Result<Option<Table>, RowFailure> {
    match r.map_err(RowFailure::Raised)? {
        LuaValue::Nil => Ok(None),
        LuaValue::Table(t) => Ok(Some(t)),
        other => Err(RowFailure::BadReturn {
            type_name: other.type_name(),
        }),
    }
}
