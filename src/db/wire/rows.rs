//! A page of parameter rows, back to back in one buffer, with the layout that made
//! them: rows are read, remapped to another layout or decoded from here.

use std::sync::Arc;

use mysql::Value;

use super::{RawLayout, WireError};

/// A page of parameter rows, back to back.
#[derive(Debug)]
pub struct RawRows {
    pub layout: Arc<RawLayout>,
    pub(super) data: Vec<u8>,
    /// End of each row in `data`.
    pub(super) ends: Vec<usize>,
    /// Scratch: the value spans of the row being converted.
    pub(super) spans: Vec<Option<(usize, usize)>>,
}

impl RawRows {
    pub fn new(layout: Arc<RawLayout>) -> RawRows {
        RawRows {
            layout,
            data: Vec::new(),
            ends: Vec::new(),
            spans: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Parameter row `i`.
    pub fn row(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    /// These rows under another layout that reads them the same (an identity `remap`).
    pub fn with_layout(self, layout: Arc<RawLayout>) -> RawRows {
        debug_assert!(layout.is_identity() && layout.types == self.layout.types);
        RawRows { layout, ..self }
    }

    /// Rows `keep` of this page arranged by `layout` (made by `remap` from this page's
    /// layout).
    pub fn remapped(
        &self,
        keep: impl Iterator<Item = usize>,
        layout: &Arc<RawLayout>,
    ) -> Result<RawRows, WireError> {
        let mut out = RawRows::new(layout.clone());
        out.data.reserve(self.data.len());
        for i in keep {
            layout.push_row(self.row(i), &mut out)?;
        }
        Ok(out)
    }

    /// Every row as values.
    pub fn decode(&self) -> Result<Vec<Vec<Value>>, WireError> {
        (0..self.len())
            .map(|i| self.layout.decode(self.row(i)))
            .collect()
    }
}
