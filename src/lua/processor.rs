//! The Lua side of a copy: builds a Lua row table from each source row, runs the
//! `transform`, then fills every target column from the row it returned (a field, a
//! `map` function, or a default). A value the transform left alone is written back as
//! the exact value read, never a re-encoding of it.

use mlua::{AnyUserData, Function, Lua, LuaString, Table, Value as LuaValue};
use mysql::Value;

use crate::engine::RowProcessor;
use crate::lua::render_error;
use crate::lua::values::{from_lua, same, to_lua, Sentinels};
use crate::plan::{CopyPlan, Fill};
use crate::value::Kind;

/// Turns source rows into Lua tables keyed by column name.
pub struct RowBuilder {
    lua: Lua,
    null: AnyUserData,
    names: Vec<LuaString>,
    kinds: Vec<Kind>,
}

impl RowBuilder {
    pub fn new(lua: &Lua, names: &[String], kinds: &[Kind]) -> mlua::Result<RowBuilder> {
        Ok(RowBuilder {
            lua: lua.clone(),
            null: Sentinels::get(lua).null,
            names: names
                .iter()
                .map(|n| lua.create_string(n))
                .collect::<mlua::Result<_>>()?,
            kinds: kinds.to_vec(),
        })
    }

    /// The row table, plus the Lua value made for each column.
    pub fn build(&self, row: &[Value]) -> mlua::Result<(Table, Vec<LuaValue>)> {
        let t = self.lua.create_table_with_capacity(0, row.len())?;
        let mut made = Vec::with_capacity(row.len());
        for ((name, v), kind) in self.names.iter().zip(row).zip(&self.kinds) {
            let lv = to_lua(&self.lua, &self.null, v, *kind)?;
            t.raw_set(name.clone(), lv.clone())?;
            made.push(lv);
        }
        Ok((t, made))
    }
}

enum Cell {
    /// Field of the transformed row; `Some(i)`: also source column i.
    Field(LuaString, String, Option<usize>),
    Source(usize),
    Function(Function, String),
    Value(Value),
}

pub struct LuaProcessor {
    builder: RowBuilder,
    transform: Option<Function>,
    cells: Vec<Cell>,
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
        let mut cells = Vec::new();
        for c in plan.value_columns() {
            cells.push(match &c.fill {
                Fill::Field(f) => Cell::Field(
                    lua.create_string(f)?,
                    c.name.clone(),
                    names.iter().position(|n| n == f),
                ),
                Fill::Source(i) => Cell::Source(*i),
                Fill::Function => {
                    let f = functions
                        .iter()
                        .find(|(n, _)| n == &c.name)
                        .map(|(_, f)| f.clone())
                        .ok_or_else(|| {
                            mlua::Error::runtime(format!("no map function for {}", c.name))
                        })?;
                    Cell::Function(f, c.name.clone())
                }
                Fill::Value(v) => Cell::Value(v.clone()),
                Fill::Sql(_) => unreachable!("value columns exclude sql defaults"),
            });
        }
        Ok(LuaProcessor {
            builder: RowBuilder::new(lua, &names, &kinds)?,
            transform,
            cells,
        })
    }

    fn run(&mut self, row: Vec<Value>) -> Result<Option<Vec<Value>>, String> {
        let (table, made) = self.builder.build(&row).map_err(|e| e.to_string())?;
        let out = match &self.transform {
            Some(f) => match f.call::<LuaValue>(table).map_err(|e| render_error(&e))? {
                LuaValue::Nil => return Ok(None),
                LuaValue::Table(t) => t,
                other => {
                    return Err(format!(
                    "transform returned a {}; it must return the row (a table) or nil to skip it",
                    other.type_name()
                ))
                }
            },
            None => table,
        };
        let mut values = Vec::with_capacity(self.cells.len());
        for cell in &self.cells {
            values.push(match cell {
                Cell::Source(i) => row[*i].clone(),
                Cell::Value(v) => v.clone(),
                Cell::Field(key, col, src) => {
                    let v: LuaValue = out.raw_get(key.clone()).map_err(|e| e.to_string())?;
                    if let Some(i) = src {
                        if same(&v, &made[*i]) {
                            values.push(row[*i].clone());
                            continue;
                        }
                    }
                    if v.is_nil() {
                        return Err(format!(
                            "the row the transform returned has no field `{}` for target column \
                             `{col}` (set it to null for SQL NULL)",
                            key.to_string_lossy()
                        ));
                    }
                    from_lua(&v, &format!("target column `{col}`"))?
                }
                Cell::Function(f, col) => {
                    let v: LuaValue = f.call(out.clone()).map_err(|e| render_error(&e))?;
                    from_lua(
                        &v,
                        &format!("the map function for `{col}` returned a value that"),
                    )
                    .map_err(|e| e.replace("returned a value that is", "returned"))?
                }
            });
        }
        Ok(Some(values))
    }
}

impl RowProcessor for LuaProcessor {
    fn process(&mut self, row: Vec<Value>) -> Result<Option<Vec<Value>>, String> {
        self.run(row)
    }
}
