//! How source rows become target rows: the `RowProcessor` a copy is given (Lua's, or
//! `DirectProcessor`, which moves source columns and fixed defaults into place without
//! running code), what it makes of an undecoded row (`Processed`), why it could not
//! make one (`TransformError`), and the rows a row makes besides its own (`Extra`:
//! a list of rows, `emit`).

use std::fmt;
use std::sync::Arc;

use crate::db::Value;

use crate::db::wire::{RawLayout, RawSource, WireError};
use crate::plan::column_map::Arrangement;
use crate::plan::CopyPlan;

/// Turns one source row into the values of the plan's value columns
/// (`CopyPlan::value_columns`, in order), or `None` to skip the row.
pub trait RowProcessor {
    fn process(
        &mut self,
        row: Vec<Value>,
    ) -> std::result::Result<Option<Vec<Value>>, TransformError>;

    /// The same for an undecoded source row: a parameter row of `layout`, every source
    /// column in order (see `raw`).
    fn process_undecoded(
        &mut self,
        layout: &Arc<RawLayout>,
        row: &[u8],
    ) -> std::result::Result<Processed, TransformError> {
        Ok(match self.process(layout.decode(row)?)? {
            Some(values) => Processed::Row(values),
            None => Processed::Skip,
        })
    }

    /// The rows of a page, each with what it made and the rows it made besides its own
    /// (`take_extra`), in order; with `until_error`, the rows after the first that
    /// failed may be left out (not run). The default processes them one by one; Lua's
    /// runs a page's transforms together when lookups wait for keys, so that a page's
    /// keys are asked at once. An error here (a lookup's query) fails the page.
    fn process_rows(
        &mut self,
        rows: Vec<Vec<Value>>,
        until_error: bool,
    ) -> PageResult<Option<Vec<Value>>> {
        rows_one_by_one(self, rows, until_error)
    }

    /// The same for a page of undecoded rows (`process_undecoded` row by row by default).
    fn process_rows_undecoded(
        &mut self,
        layout: &Arc<RawLayout>,
        rows: &[&[u8]],
        until_error: bool,
    ) -> PageResult<Processed> {
        undecoded_one_by_one(self, layout, rows, until_error)
    }

    /// Source columns whose values the processor wants for a whole page before it is
    /// given the page's rows (`begin_page`); empty, the default: none.
    fn page_columns(&mut self) -> Vec<usize> {
        Vec::new()
    }

    /// A page is about to be processed: per row, the values of `page_columns` (in that
    /// order). Lua's processor asks the page's lookup keys here, in one query each.
    fn begin_page(&mut self, _values: &[Vec<Value>]) -> std::result::Result<(), TransformError> {
        Ok(())
    }

    /// Where the target values of a row that comes back `Processed::Untouched` come
    /// from (the plan's `ColumnMap::untouched`); `None` when rows never do.
    fn untouched(&self) -> Option<Arrangement> {
        None
    }

    /// The rows the last row made besides its own (fan-out): more rows for the copy's
    /// table, and rows for other tables (`emit`). Taken: the next call gives the next
    /// row's.
    fn take_extra(&mut self) -> Extra {
        Extra::default()
    }
}

/// What `process` makes of each of `rows` in turn, stopping after the first row that
/// failed when `until_error` says so.
pub fn one_by_one<I, T>(
    rows: impl IntoIterator<Item = I>,
    until_error: bool,
    mut process: impl FnMut(I) -> (std::result::Result<T, TransformError>, Extra),
) -> Vec<(std::result::Result<T, TransformError>, Extra)> {
    let mut out = Vec::new();
    for row in rows {
        let made = process(row);
        let failed = made.0.is_err();
        out.push(made);
        if failed && until_error {
            break;
        }
    }
    out
}

/// `process_rows`'s default: `process` on each row in turn, with its `take_extra`.
/// A processor that runs a page together only sometimes falls back to it.
pub fn rows_one_by_one<P: RowProcessor + ?Sized>(
    processor: &mut P,
    rows: Vec<Vec<Value>>,
    until_error: bool,
) -> PageResult<Option<Vec<Value>>> {
    Ok(one_by_one(rows, until_error, |row| {
        let made = processor.process(row);
        (made, processor.take_extra())
    }))
}

/// `process_rows_undecoded`'s default: `process_undecoded` on each row in turn.
pub fn undecoded_one_by_one<P: RowProcessor + ?Sized>(
    processor: &mut P,
    layout: &Arc<RawLayout>,
    rows: &[&[u8]],
    until_error: bool,
) -> PageResult<Processed> {
    Ok(one_by_one(rows.iter(), until_error, |row| {
        let made = processor.process_undecoded(layout, row);
        (made, processor.take_extra())
    }))
}

/// What a page's rows made, row by row, or why the page failed as a whole.
pub type PageResult<T> =
    std::result::Result<Vec<(std::result::Result<T, TransformError>, Extra)>, TransformError>;

/// Rows one source row made besides its target row.
#[derive(Debug, Default)]
pub struct Extra {
    /// More rows for the copy's own table (values of the plan's value columns).
    pub own: Vec<Vec<Value>>,
    /// Rows for other target tables.
    pub emitted: Vec<Emitted>,
}

/// A row for another target table: its fields by column name, sorted by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub table: String,
    pub fields: Vec<(String, Value)>,
}

/// Why a processor could not make a row: its undecoded source row did not decode, or
/// the processor's own reason (a transform that raised, a value that is no column
/// value), kept whole. `Display` is the message of the row's error.
#[derive(Debug)]
pub enum TransformError {
    Decode(WireError),
    Failed(Box<dyn std::error::Error>),
}

impl From<WireError> for TransformError {
    fn from(e: WireError) -> TransformError {
        TransformError::Decode(e)
    }
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransformError::Decode(e) => write!(f, "{e}"),
            TransformError::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TransformError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TransformError::Decode(e) => Some(e),
            TransformError::Failed(e) => Some(e.as_ref()),
        }
    }
}

/// What a processor made of an undecoded row.
pub enum Processed {
    Row(Vec<Value>),
    /// The source row as read, its values arranged by `RowProcessor::untouched`.
    Untouched,
    /// The same with some target values replaced: (target value index, value), in
    /// index order (a transform that set a few fields of its row and returned it).
    Patched(Vec<(usize, Value)>),
    Skip,
}

/// Builds target rows straight from source rows: source columns and fixed defaults.
/// A source value is moved into its (last) target column rather than copied.
#[derive(Clone)]
pub struct DirectProcessor {
    cells: Vec<DirectCell>,
    /// Every source column once, in order: the source row is the target row.
    identity: bool,
}

#[derive(Clone)]
enum DirectCell {
    /// Copy source column i (a later cell still needs it).
    Copy(usize),
    /// Move source column i out of the row.
    Take(usize),
    Value(Value),
}

impl DirectProcessor {
    /// `None` when the plan needs a processor that runs code (transform, map functions).
    pub fn new(plan: &CopyPlan) -> Option<DirectProcessor> {
        let map = plan.column_map().direct()?;
        let mut cells: Vec<DirectCell> = map
            .sources
            .iter()
            .map(|s| match s {
                RawSource::Column(i) => DirectCell::Take(*i),
                RawSource::Value(v) => DirectCell::Value(v.clone()),
            })
            .collect();
        // Every use of a column but its last copies it.
        for i in 0..cells.len() {
            if let DirectCell::Take(col) = cells[i] {
                if cells[i + 1..]
                    .iter()
                    .any(|c| matches!(c, DirectCell::Take(later) if *later == col))
                {
                    cells[i] = DirectCell::Copy(col);
                }
            }
        }
        let identity = map.lines_up;
        Some(DirectProcessor { cells, identity })
    }
}

impl DirectProcessor {
    /// The target row of a source row (a direct copy never skips or fails a row).
    pub fn convert(&self, mut row: Vec<Value>) -> Vec<Value> {
        if self.identity && row.len() == self.cells.len() {
            return row;
        }
        self.cells
            .iter()
            .map(|c| match c {
                DirectCell::Copy(i) => row[*i].clone(),
                DirectCell::Take(i) => std::mem::replace(&mut row[*i], Value::NULL),
                DirectCell::Value(v) => v.clone(),
            })
            .collect()
    }
}

impl RowProcessor for DirectProcessor {
    fn process(
        &mut self,
        row: Vec<Value>,
    ) -> std::result::Result<Option<Vec<Value>>, TransformError> {
        Ok(Some(self.convert(row)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::TableInfo;
    use crate::plan::{resolve, CopySpec, MapSource};

    fn table(name: &str, cols: &[&str]) -> TableInfo {
        TableInfo::for_test(name, cols)
    }

    #[test]
    fn direct_rows_copy_a_column_used_twice_and_move_the_rest() {
        let spec = CopySpec {
            map: vec![
                ("a".into(), MapSource::Column("x".into())),
                ("b".into(), MapSource::Column("x".into())),
            ],
            ..CopySpec::new("s", "t", 10, "job.lua:1")
        };
        let plan = resolve(
            &spec,
            &table("s", &["x", "y"]),
            &table("t", &["a", "b", "y"]),
        )
        .unwrap();
        let mut p = DirectProcessor::new(&plan).unwrap();
        let out = p
            .process(vec![Value::from("one"), Value::from("two")])
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            vec![Value::from("one"), Value::from("one"), Value::from("two")]
        );
    }

    #[test]
    fn a_transform_error_shows_its_cause() {
        let e = TransformError::from(WireError::ParamRowEndsEarly);
        assert_eq!(e.to_string(), "a parameter row ends early");
        assert!(std::error::Error::source(&e).is_some());
        let e = TransformError::Failed(Box::new(WireError::KeyMissing));
        assert_eq!(e.to_string(), "a key parameter is missing from the row");
    }

    #[test]
    fn direct_rows_pass_through_only_when_the_columns_line_up() {
        let spec = |from: &str, to: &str| CopySpec::new(from, to, 10, "job.lua:1");
        let row = || vec![Value::from("x1"), Value::from("y1")];
        let same = resolve(
            &spec("s", "t"),
            &table("s", &["x", "y"]),
            &table("t", &["x", "y"]),
        );
        let p = DirectProcessor::new(&same.unwrap()).unwrap();
        assert!(p.identity);
        assert_eq!(p.convert(row()), row());
        let swapped = resolve(
            &spec("s", "t"),
            &table("s", &["x", "y"]),
            &table("t", &["y", "x"]),
        );
        let p = DirectProcessor::new(&swapped.unwrap()).unwrap();
        assert!(!p.identity);
        assert_eq!(p.convert(row()), vec![Value::from("y1"), Value::from("x1")]);
    }
}
