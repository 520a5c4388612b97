//! A page on its way from a reader to a writer: its rows, either decoded values or
//! undecoded raw rows (`Rows`: one or the other, never both), with what the writer
//! needs besides (the checkpoint key, counts, the keys that name a failing row).

use crate::db::Value;

use crate::db::wire::RawRows;
use crate::db::write::{Also, Counts, WriteError, Writer};
use crate::db::Db;

use super::rejects::Reject;
use super::transform::Emitted;

/// A page's rows.
pub(super) enum Rows {
    /// Rows of values (source rows, or target rows once processed).
    Decoded(Vec<Vec<Value>>),
    /// Rows as bulk parameter rows, never decoded (see `raw`): written as they are,
    /// unless a writer needs values.
    Undecoded(RawRows),
}

impl Rows {
    pub fn len(&self) -> usize {
        match self {
            Rows::Decoded(rows) => rows.len(),
            Rows::Undecoded(raw) => raw.len(),
        }
    }

    /// The decoded rows (none for undecoded ones).
    pub fn decoded(&self) -> &[Vec<Value>] {
        match self {
            Rows::Decoded(rows) => rows,
            Rows::Undecoded(_) => &[],
        }
    }
}

/// A source row as read, with its key and stream position.
pub(super) type Origin = ((Vec<Value>, u64), Vec<Value>);

pub(super) struct Page {
    pub part: u32,
    pub rows: Rows,
    /// Key and stream position of each row, to name a failing row; empty when the
    /// key can be read from the target row (`Shared::key_in_row`) or the rows are
    /// undecoded (their keys are read when needed).
    pub keys: Vec<(Vec<Value>, u64)>,
    /// Stream position of the page's first row.
    pub first_ordinal: u64,
    /// Key of the last source row read (the checkpoint).
    pub last_key: Option<Vec<Value>>,
    pub read: u64,
    pub skipped: u64,
    /// With `on_error = "reject"`: the page's source rows that made rows (their keys
    /// and values as read, for a rejected row's entry), which of them each row and
    /// each emitted row came from, and the rows the processor refused.
    pub origins: Vec<Origin>,
    pub row_origin: Vec<usize>,
    pub emitted_origin: Vec<usize>,
    pub rejects: Vec<Reject>,
    /// Rows the page's source rows made for other tables (`emit`), and the key and
    /// stream position of the source row each came from (to name it when the target
    /// refuses the row).
    pub emitted: Vec<Emitted>,
    pub emitted_keys: Vec<(Vec<Value>, u64)>,
    /// The reader got to the end of its range: no rows, the part is done.
    pub end: bool,
}

impl Page {
    /// Rows in the page, decoded or not.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// This page with its rows replaced by what a processor made of them, `skipped`
    /// rows fewer.
    pub fn processed(self, rows: Rows, keys: Vec<(Vec<Value>, u64)>, skipped: u64) -> Page {
        Page {
            rows,
            keys,
            skipped: self.skipped + skipped,
            ..self
        }
    }

    pub fn end(part: u32) -> Page {
        Page {
            part,
            rows: Rows::Decoded(Vec::new()),
            keys: Vec::new(),
            first_ordinal: 0,
            last_key: None,
            read: 0,
            skipped: 0,
            origins: Vec::new(),
            row_origin: Vec::new(),
            emitted_origin: Vec::new(),
            rejects: Vec::new(),
            emitted: Vec::new(),
            emitted_keys: Vec::new(),
            end: true,
        }
    }

    /// Writes the page in one transaction with `checkpoint` (see `Writer::write_page`).
    /// Undecoded rows the writer had to decode stay decoded, for another try or to
    /// name a failing row.
    pub fn write(
        &mut self,
        writer: &Writer,
        db: &mut Db,
        checkpoint: Option<(String, Vec<Value>)>,
        also: &Also<'_>,
    ) -> Result<Counts, WriteError> {
        match &mut self.rows {
            Rows::Decoded(rows) => writer.write_page(db, rows, None, checkpoint, also),
            Rows::Undecoded(raw) => {
                let mut rows = Vec::new();
                let out = writer.write_page(db, &mut rows, Some(raw), checkpoint, also);
                if !rows.is_empty() {
                    self.rows = Rows::Decoded(rows);
                }
                out
            }
        }
    }
}
