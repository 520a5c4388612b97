//! The target values of the row table a transform returned: its own row untouched
//! but for the fields it set (`patches`, for rows that cross undecoded), or every
//! cell filled from the table (`fill`).

use mlua::{LuaString, Table, Value as LuaValue};

use crate::db::wire::RawSource;
use crate::db::Value;
use crate::lua::errors::RowFailure;
use crate::lua::values::{from_lua, same};

use super::{Cell, LuaProcessor, Untouched};

impl LuaProcessor {
    /// The target values that differ from the row as read in a row table the transform
    /// set fields of and returned (with an `untouched` arrangement: every target value
    /// is a source column's, a field of one, or fixed): (value index, value).
    pub(super) fn patches(&self) -> Result<Vec<(usize, Value)>, RowFailure> {
        let st = self.shared.state.borrow();
        let mut patches = Vec::new();
        if st.set.is_empty() {
            return Ok(patches);
        }
        for (at, cell) in self.cells.iter().enumerate() {
            let Cell::Field(key, bytes, col, src) = cell else {
                continue;
            };
            let Some(v) = st.field_set(bytes) else {
                continue;
            };
            if let Filled::Made(value) = self.field_value(key, col, *src, v)? {
                patches.push((at, value));
            }
        }
        Ok(patches)
    }

    /// What a field's value `v` gives a field cell's target column `col`: source column
    /// `src` as read when it is that column's value unchanged, else the value; a field
    /// that is not there is an error naming it and the column.
    fn field_value(
        &self,
        key: &LuaString,
        col: &str,
        src: Option<usize>,
        v: &LuaValue,
    ) -> Result<Filled, RowFailure> {
        if let Some(i) = src {
            if self.shared.state.borrow().made[i]
                .as_ref()
                .is_some_and(|m| same(v, m))
            {
                return Ok(Filled::AsRead(i));
            }
        }
        if v.is_nil() {
            return Err(RowFailure::MissingField {
                field: key.to_string_lossy(),
                column: col.to_string(),
            });
        }
        Ok(Filled::Made(from_lua(
            v,
            &format!("target column `{col}`"),
        )?))
    }

    /// The target values from the table the transform returned.
    pub(super) fn fill(
        &mut self,
        out: Table,
        ptr: *const std::ffi::c_void,
    ) -> Result<Vec<Value>, RowFailure> {
        let is_row = out.to_pointer() == ptr;
        if let Some(plan) = self.untouched_cells.as_ref().filter(|_| is_row) {
            let mut st = self.shared.state.borrow_mut();
            if st.set.is_empty() {
                // The common case (a transform that reads fields, or none, and returns
                // its row): every value exactly as read, without looking up a field.
                return Ok(plan
                    .iter()
                    .map(|u| match u {
                        Untouched::Column(i, true) => st.values[*i].clone(),
                        Untouched::Column(i, false) => {
                            std::mem::replace(&mut st.values[*i], Value::NULL)
                        }
                        Untouched::Value(v) => v.clone(),
                    })
                    .collect());
            }
        }
        // Values computed here; cells that take a source value as read are filled
        // last, by moving the value out of the row (copied only when another cell
        // takes the same one), after every function has seen the row.
        let mut values: Vec<Option<Value>> = Vec::with_capacity(self.cells.len());
        let mut as_read: Vec<(usize, usize)> = Vec::new();
        for (ci, cell) in self.cells.iter().enumerate() {
            let made = match cell {
                Cell::Source(i) => Filled::AsRead(*i),
                Cell::Value(v) => Filled::Made(v.clone()),
                Cell::Field(key, bytes, col, src) => {
                    let v = match is_row {
                        true => self.shared.state.borrow().field_set(bytes).cloned(),
                        false => Some(out.raw_get(key.clone()).map_err(RowFailure::Lua)?),
                    };
                    match (v, src) {
                        // Its own row, the field not set: the value exactly as read.
                        (None, Some(i)) => Filled::AsRead(*i),
                        (v, src) => {
                            self.field_value(key, col, *src, &v.unwrap_or(LuaValue::Nil))?
                        }
                    }
                }
                Cell::Function(f, col) => {
                    let v: LuaValue = f.call(out.clone()).map_err(RowFailure::Raised)?;
                    Filled::Made(
                        from_lua(&v, &format!("the map function for `{col}`"))
                            .map_err(|e| e.returned())?,
                    )
                }
            };
            values.push(match made {
                Filled::AsRead(i) => {
                    as_read.push((ci, i));
                    None
                }
                Filled::Made(v) => Some(v),
            });
        }
        let mut st = self.shared.state.borrow_mut();
        for (n, &(ci, i)) in as_read.iter().enumerate() {
            let again = self.keep || as_read[n + 1..].iter().any(|&(_, j)| j == i);
            values[ci] = Some(if again {
                st.values[i].clone()
            } else {
                std::mem::replace(&mut st.values[i], Value::NULL)
            });
        }
        Ok(values
            .into_iter()
            .map(|v| v.unwrap_or(Value::NULL))
            .collect())
    }
}

/// What fills a cell: a source column's value as read, or a value made here.
enum Filled {
    AsRead(usize),
    Made(Value),
}

/// The fast path's cells (see `Untouched`) for the plan's untouched arrangement: a
/// source column is moved out of the row unless another cell takes it too.
pub(super) fn untouched_cells(sources: &[RawSource]) -> Vec<Untouched> {
    sources
        .iter()
        .map(|s| match s {
            RawSource::Column(i) => {
                let uses = sources
                    .iter()
                    .filter(|o| matches!(o, RawSource::Column(c) if c == i))
                    .count();
                Untouched::Column(*i, uses > 1)
            }
            RawSource::Value(v) => Untouched::Value(v.clone()),
        })
        .collect()
}
