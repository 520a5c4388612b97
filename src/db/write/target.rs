//! What a writer writes, as plain data the plan hands down (`CopyPlan::write_target`):
//! the target table, the columns in statement order with how each gets its value (a
//! statement parameter or an SQL expression), the write mode and whether the copy
//! accepts unique-key conflicts. And `RowCheck`, a check of a page's values before they
//! are written, which a layer above supplies (the engine's `fit`).

use crate::db::schema::TableInfo;
use crate::db::Value;

/// How rows meet the rows already in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Insert,
    Overwrite,
    Upsert,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "insert" => Some(Mode::Insert),
            "overwrite" => Some(Mode::Overwrite),
            "upsert" => Some(Mode::Upsert),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Insert => "insert",
            Mode::Overwrite => "overwrite",
            Mode::Upsert => "upsert",
        }
    }
}

/// How a written column gets its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// The next value of the row, sent as a statement parameter.
    Param,
    /// A raw SQL expression, written into the statement itself.
    Sql(String),
}

/// One target column a writer writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub cell: Cell,
    /// Upsert updates this column of a row already there (it is mapped, not defaulted).
    pub mapped: bool,
}

/// What one copy writes, and how.
#[derive(Debug, Clone)]
pub struct Target {
    /// The target table as read from the server (columns, indexes).
    pub table: TableInfo,
    /// The columns written, in target column order.
    pub columns: Vec<Column>,
    pub mode: Mode,
    /// Rows may collide with different target rows through another unique key
    /// (`accept = {"unique_conflicts"}`): counted, not refused.
    pub accept_conflicts: bool,
}

impl Target {
    /// The columns whose values a row carries, in the row's order.
    pub fn param_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.cell == Cell::Param)
    }
}

/// A check of a page's rows before they are written: values the target would change
/// without a word from the server.
pub trait RowCheck {
    /// The first row of `rows` with a value the target would change, and why.
    fn check_rows(&self, rows: &[Vec<Value>]) -> Result<(), Misfit>;
}

/// A row of a page the target would change: its index in the page, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    pub row: usize,
    pub message: String,
}
