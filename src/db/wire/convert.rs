//! One row in, one parameter row out: the value spans of a binary-protocol result
//! packet (NULL bitmap, then the values) or of a parameter row (an indicator byte
//! before each value), copied in target order, integers widened to eight bytes.

use mysql::Value;
use mysql_common::packets::StmtBulkExecuteParamType;
use mysql_common::proto::MySerialize;

use super::layout::{Input, Width};
use super::{RawLayout, RawRows, WireError, INDICATOR_NONE, INDICATOR_NULL};

impl RawLayout {
    /// Appends the parameter row for one binary-protocol result row to `rows`. Returns
    /// the row's size in bytes, or why the packet is not a row of this layout.
    pub fn push_row(&self, packet: &[u8], rows: &mut RawRows) -> Result<usize, WireError> {
        self.push_cells(packet, &[], rows)
    }

    /// `push_row`, target values `patches` (index, value, in index order) in place of
    /// the row's.
    fn push_cells(
        &self,
        packet: &[u8],
        patches: &[(usize, Value)],
        rows: &mut RawRows,
    ) -> Result<usize, WireError> {
        let spans = &mut rows.spans;
        spans.clear();
        match self.input {
            Input::Packets => self.packet_spans(packet, spans)?,
            Input::Params => self.param_spans(packet, spans)?,
        }
        let data = &mut rows.data;
        let start = data.len();
        let mut patches = patches.iter().peekable();
        for (at, cell) in self.cells.iter().enumerate() {
            if let Some((_, v)) = patches.next_if(|(p, _)| *p == at) {
                match v {
                    Value::NULL => data.push(INDICATOR_NULL),
                    v => {
                        data.push(INDICATOR_NONE);
                        v.serialize(data);
                    }
                }
                continue;
            }
            match cell {
                Ok(i) => match spans[*i] {
                    None => data.push(INDICATOR_NULL),
                    Some((at, len)) => {
                        data.push(INDICATOR_NONE);
                        let bytes = &packet[at..at + len];
                        match self.widths[*i] {
                            Width::Int(_, unsigned) => {
                                let fill = if !unsigned && bytes[len - 1] & 0x80 != 0 {
                                    0xff
                                } else {
                                    0
                                };
                                data.extend_from_slice(bytes);
                                data.resize(data.len() + 8 - len, fill);
                            }
                            _ => data.extend_from_slice(bytes),
                        }
                    }
                },
                Err(fixed) => data.extend_from_slice(fixed),
            }
        }
        rows.ends.push(data.len());
        Ok(data.len() - start)
    }

    /// Whether `v` can stand for target value `cell` in a row of this layout: NULL, or
    /// a value the request sends as that value's parameter type.
    pub fn patch_fits(&self, cell: usize, v: &Value) -> bool {
        if matches!(v, Value::NULL) {
            return true;
        }
        let pt = StmtBulkExecuteParamType::from_value(v);
        self.types.get(2 * cell..2 * cell + 2) == Some(&[pt.column_type() as u8, pt.flags().bits()])
    }

    /// `push_row` with target values `patches` (index, value; each `patch_fits`, in
    /// index order) in place of the ones the row holds.
    pub fn push_row_patched(
        &self,
        row: &[u8],
        patches: &[(usize, Value)],
        rows: &mut RawRows,
    ) -> Result<usize, WireError> {
        self.push_cells(row, patches, rows)
    }

    /// The value spans of a parameter row: an indicator byte, then (unless NULL) the
    /// value.
    fn param_spans(
        &self,
        row: &[u8],
        spans: &mut Vec<Option<(usize, usize)>>,
    ) -> Result<(), WireError> {
        self.walk(row, 0, spans, |_, pos| {
            let ind = *row.get(*pos)?;
            *pos += 1;
            Some(ind == INDICATOR_NULL)
        })
        .ok_or(WireError::ShortParamRow { len: row.len() })
    }

    /// The value spans of a binary-protocol row packet: a 0x00 header, a NULL bitmap
    /// (from bit 2), then the values that are not NULL.
    fn packet_spans(
        &self,
        packet: &[u8],
        spans: &mut Vec<Option<(usize, usize)>>,
    ) -> Result<(), WireError> {
        let bitmap_len = (self.widths.len() + 7 + 2) / 8;
        if packet.first() != Some(&0) || packet.len() < 1 + bitmap_len {
            return Err(WireError::NotARowPacket);
        }
        let bitmap = &packet[1..1 + bitmap_len];
        self.walk(packet, 1 + bitmap_len, spans, |i, _| {
            Some(bitmap[(i + 2) / 8] & (1 << ((i + 2) % 8)) != 0)
        })
        .ok_or(WireError::ShortPacket { len: packet.len() })
    }

    /// Walks the values of `b` from `pos`, column by column: `null(i, &mut pos)` says
    /// whether column i is NULL (moving past any indicator); `None` when `b` ends early.
    fn walk(
        &self,
        b: &[u8],
        mut pos: usize,
        spans: &mut Vec<Option<(usize, usize)>>,
        mut null: impl FnMut(usize, &mut usize) -> Option<bool>,
    ) -> Option<()> {
        for (i, w) in self.widths.iter().enumerate() {
            if null(i, &mut pos)? {
                spans.push(None);
                continue;
            }
            let len = value_len(*w, b, pos)?;
            spans.push(Some((pos, len)));
            pos += len;
        }
        Some(())
    }
}

/// The length of the value of width `w` at `pos` in `b`, if it is all there.
pub(super) fn value_len(w: Width, b: &[u8], pos: usize) -> Option<usize> {
    let len = match w {
        Width::Int(k, _) | Width::Fixed(k) => k,
        Width::Counted => 1 + *b.get(pos)? as usize,
        Width::LenEnc => {
            let (head, len) = lenenc(b.get(pos..)?)?;
            head.checked_add(len)?
        }
        Width::Empty => 0,
    };
    (pos.checked_add(len)? <= b.len()).then_some(len)
}

/// `(header bytes, length)` of a length-encoded string at the start of `b`.
fn lenenc(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.first()?;
    let (head, len) = match first {
        0..=0xfa => (1, first as u64),
        0xfc => (3, u16::from_le_bytes(b.get(1..3)?.try_into().ok()?) as u64),
        0xfd => {
            let x = b.get(1..4)?;
            (4, u32::from_le_bytes([x[0], x[1], x[2], 0]) as u64)
        }
        0xfe => (9, u64::from_le_bytes(b.get(1..9)?.try_into().ok()?)),
        _ => return None,
    };
    Some((head, usize::try_from(len).ok()?))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mysql::consts::{ColumnFlags, ColumnType};

    use super::super::packets::column;
    use super::super::RawSource;
    use super::*;

    #[test]
    fn short_and_foreign_packets_are_errors() {
        let columns = [column(
            ColumnType::MYSQL_TYPE_VAR_STRING,
            ColumnFlags::empty(),
        )];
        let layout = Arc::new(RawLayout::new(&[RawSource::Column(0)], &columns).unwrap());
        let mut raw = RawRows::new(layout.clone());
        assert!(layout.push_row(&[0xfe, 0, 0], &mut raw).is_err());
        assert!(layout.push_row(&[0, 0, 5, b'a'], &mut raw).is_err());
        assert!(layout.push_row(&[0, 0, 0xfc, 1], &mut raw).is_err());
        assert_eq!(layout.push_row(&[0, 0, 1, b'a'], &mut raw).unwrap(), 3);
        assert!(RawLayout::new(&[RawSource::Column(1)], &columns).is_err());
    }
}
