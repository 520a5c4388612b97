//! Rows that cross undecoded. A direct copy (no transform, no map function) into a
//! MariaDB target reads its source rows as the binary-protocol packets the server
//! sends and turns each one into a row of `COM_STMT_BULK_EXECUTE` parameters by
//! copying bytes: the value encodings are the same in both (integers are widened to
//! eight bytes). No `Value` is made, allocated or freed per row, which was most of
//! ferry's own CPU on such a copy.
//!
//! The request carries exactly what the crate would send for the decoded values:
//! the same parameter types (`BIGINT` for integers, `DATETIME` for dates and times of
//! day, `TIME`, `FLOAT`, `DOUBLE`, strings for everything else) and the same bytes.
//! A page is decoded into `Value`s only when it has to be written another way: row
//! by row to name a failing row, or by a writer that cannot bulk-execute.

use std::sync::Arc;

use mysql::consts::{ColumnFlags, ColumnType};
use mysql::{Column, Value};
use mysql_common::io::ParseBuf;
use mysql_common::packets::StmtBulkExecuteParamType;
use mysql_common::proto::{MyDeserialize, MySerialize};
use mysql_common::value::{BinValue, ValueDeserializer};

use crate::plan::{CopyPlan, Fill};

/// `COM_STMT_BULK_EXECUTE`'s indicator bytes.
const INDICATOR_NONE: u8 = 0;
const INDICATOR_NULL: u8 = 1;
/// The command byte, and its flag for "parameter types follow".
const COM_STMT_BULK_EXECUTE: u8 = 0xfa;
const SEND_TYPES_TO_SERVER: u16 = 128;
/// `StmtExecuteParamFlags::UNSIGNED`.
const PARAM_UNSIGNED: u8 = 128;

/// Where a target value comes from in a raw copy.
#[derive(Debug, Clone)]
pub enum RawSource {
    /// Source column i.
    Column(usize),
    /// A fixed value (a `default`).
    Value(Value),
}

/// The raw cells of a plan, or `None` when some target value needs code (a transform
/// or a map function) and rows must be decoded.
pub fn raw_sources(plan: &CopyPlan) -> Option<Vec<RawSource>> {
    plan.value_columns()
        .map(|c| match &c.fill {
            Fill::Source(i) => Some(RawSource::Column(*i)),
            Fill::Value(v) => Some(RawSource::Value(v.clone())),
            _ => None,
        })
        .collect()
}

/// How a source value is laid out in a binary-protocol row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    /// A fixed number of bytes: an integer (widened to 8 in the request, signed or not).
    Int(usize, bool),
    /// A fixed number of bytes sent as is (FLOAT, DOUBLE).
    Fixed(usize),
    /// A length byte, then that many bytes (dates, times).
    Counted,
    /// A length-encoded string.
    LenEnc,
    /// Nothing (the NULL type).
    Empty,
}

/// Layout, parameter type and flags of a result column, as the crate would decode it
/// (`Value::deserialize_bin`) and send it again (`StmtBulkExecuteParamType::from_value`).
fn column_kind(t: ColumnType, flags: ColumnFlags) -> Result<(Width, ColumnType, u8), String> {
    use ColumnType::*;
    let unsigned = flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let int = |n| {
        Ok((
            Width::Int(n, unsigned),
            MYSQL_TYPE_LONGLONG,
            if unsigned { PARAM_UNSIGNED } else { 0 },
        ))
    };
    match t {
        MYSQL_TYPE_STRING
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_SET
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_DECIMAL
        | MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_BIT
        | MYSQL_TYPE_NEWDECIMAL
        | MYSQL_TYPE_GEOMETRY
        | MYSQL_TYPE_VECTOR
        | MYSQL_TYPE_JSON => Ok((Width::LenEnc, MYSQL_TYPE_VAR_STRING, 0)),
        MYSQL_TYPE_TINY => int(1),
        MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => int(2),
        MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => int(4),
        MYSQL_TYPE_LONGLONG => int(8),
        MYSQL_TYPE_FLOAT => Ok((Width::Fixed(4), MYSQL_TYPE_FLOAT, 0)),
        MYSQL_TYPE_DOUBLE => Ok((Width::Fixed(8), MYSQL_TYPE_DOUBLE, 0)),
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE | MYSQL_TYPE_DATETIME => {
            Ok((Width::Counted, MYSQL_TYPE_DATETIME, 0))
        }
        MYSQL_TYPE_TIME => Ok((Width::Counted, MYSQL_TYPE_TIME, 0)),
        MYSQL_TYPE_NULL => Ok((Width::Empty, MYSQL_TYPE_NULL, 0)),
        other => Err(format!("result column type {other:?} cannot be read raw")),
    }
}

/// A copy's raw layout: how each source row becomes a parameter row.
#[derive(Debug)]
pub struct RawLayout {
    /// What rows come in as: result row packets, or parameter rows of another layout.
    input: Input,
    /// Per source column: its layout.
    widths: Vec<Width>,
    /// Per target value: a source column, or a fixed value already encoded
    /// (indicator and bytes).
    cells: Vec<Result<usize, Vec<u8>>>,
    /// The request's parameter types, two bytes per target value.
    types: Vec<u8>,
    /// Type and flags of each parameter, to decode a parameter row.
    params: Vec<(ColumnType, ColumnFlags)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Packets,
    Params,
}

impl RawLayout {
    /// The layout for `sources` over a result with `columns`.
    pub fn new(sources: &[RawSource], columns: &[Column]) -> Result<RawLayout, String> {
        let kinds = columns
            .iter()
            .map(|c| column_kind(c.column_type(), c.flags()))
            .collect::<Result<Vec<_>, _>>()?;
        RawLayout::build(Input::Packets, kinds, sources)
    }

    /// Every column of a result with `columns`, in order.
    pub fn all(columns: &[Column]) -> Result<RawLayout, String> {
        let sources: Vec<RawSource> = (0..columns.len()).map(RawSource::Column).collect();
        RawLayout::new(&sources, columns)
    }

    /// The layout that takes this layout's parameter rows and arranges them for
    /// `sources` (indices into this layout's parameters).
    pub fn remap(&self, sources: &[RawSource]) -> Result<RawLayout, String> {
        use ColumnType::*;
        let kinds = self
            .params
            .iter()
            .zip(self.types.chunks(2))
            .map(|((t, _), ty)| {
                let width = match t {
                    MYSQL_TYPE_LONGLONG | MYSQL_TYPE_DOUBLE => Width::Fixed(8),
                    MYSQL_TYPE_FLOAT => Width::Fixed(4),
                    MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIME => Width::Counted,
                    MYSQL_TYPE_VAR_STRING => Width::LenEnc,
                    MYSQL_TYPE_NULL => Width::Empty,
                    other => return Err(format!("parameter type {other:?} cannot be remapped")),
                };
                Ok((width, *t, ty[1]))
            })
            .collect::<Result<Vec<_>, _>>()?;
        RawLayout::build(Input::Params, kinds, sources)
    }

    /// Whether this layout passes its input through unchanged (parameter rows in,
    /// every one of them out, in order).
    pub fn is_identity(&self) -> bool {
        self.input == Input::Params
            && self.cells.len() == self.widths.len()
            && self.cells.iter().enumerate().all(|(n, c)| *c == Ok(n))
    }

    fn build(
        input: Input,
        kinds: Vec<(Width, ColumnType, u8)>,
        sources: &[RawSource],
    ) -> Result<RawLayout, String> {
        let mut cells = Vec::with_capacity(sources.len());
        let mut types = Vec::with_capacity(2 * sources.len());
        let mut params = Vec::with_capacity(sources.len());
        for s in sources {
            let (ty, flags) = match s {
                RawSource::Column(i) => {
                    let (_, ty, flags) = *kinds.get(*i).ok_or_else(|| {
                        format!(
                            "source column {i} is not in the result ({} columns)",
                            kinds.len()
                        )
                    })?;
                    cells.push(Ok(*i));
                    (ty, flags)
                }
                RawSource::Value(v) => {
                    let pt = StmtBulkExecuteParamType::from_value(v);
                    let mut bytes = vec![if matches!(v, Value::NULL) {
                        INDICATOR_NULL
                    } else {
                        INDICATOR_NONE
                    }];
                    v.serialize(&mut bytes);
                    cells.push(Err(bytes));
                    (pt.column_type(), pt.flags().bits())
                }
            };
            types.push(ty as u8);
            types.push(flags);
            let mut cf = ColumnFlags::empty();
            if flags & PARAM_UNSIGNED != 0 {
                cf |= ColumnFlags::UNSIGNED_FLAG;
            }
            params.push((ty, cf));
        }
        Ok(RawLayout {
            input,
            widths: kinds.into_iter().map(|k| k.0).collect(),
            cells,
            types,
            params,
        })
    }

    /// Appends the parameter row for one binary-protocol result row to `rows`. Returns
    /// the row's size in bytes, or a message when the packet is not a row of this
    /// layout.
    pub fn push_row(&self, packet: &[u8], rows: &mut RawRows) -> Result<usize, String> {
        let spans = &mut rows.spans;
        spans.clear();
        match self.input {
            Input::Packets => self.packet_spans(packet, spans)?,
            Input::Params => self.param_spans(packet, spans)?,
        }
        let data = &mut rows.data;
        let start = data.len();
        for cell in &self.cells {
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

    /// The value spans of a parameter row: an indicator byte, then (unless NULL) the
    /// value.
    fn param_spans(
        &self,
        row: &[u8],
        spans: &mut Vec<Option<(usize, usize)>>,
    ) -> Result<(), String> {
        self.walk(row, 0, spans, |_, pos| {
            let ind = *row.get(*pos)?;
            *pos += 1;
            Some(ind == INDICATOR_NULL)
        })
        .ok_or_else(|| format!("a parameter row of {} bytes ends early", row.len()))
    }

    /// The value spans of a binary-protocol row packet: a 0x00 header, a NULL bitmap
    /// (from bit 2), then the values that are not NULL.
    fn packet_spans(
        &self,
        packet: &[u8],
        spans: &mut Vec<Option<(usize, usize)>>,
    ) -> Result<(), String> {
        let bitmap_len = (self.widths.len() + 7 + 2) / 8;
        if packet.first() != Some(&0) || packet.len() < 1 + bitmap_len {
            return Err("not a binary-protocol row packet".into());
        }
        let bitmap = &packet[1..1 + bitmap_len];
        self.walk(packet, 1 + bitmap_len, spans, |i, _| {
            Some(bitmap[(i + 2) / 8] & (1 << ((i + 2) % 8)) != 0)
        })
        .ok_or_else(|| {
            format!(
                "a row packet of {} bytes is shorter than its values",
                packet.len()
            )
        })
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

    /// The values of a parameter row, as the crate would have decoded the source row
    /// and arranged it for the target.
    pub fn decode(&self, row: &[u8]) -> Result<Vec<Value>, String> {
        let mut buf = ParseBuf(row);
        let mut out = Vec::with_capacity(self.params.len());
        for p in &self.params {
            let ind: u8 = buf.checked_eat_u8().ok_or("a parameter row ends early")?;
            if ind == INDICATOR_NULL {
                out.push(Value::NULL);
            } else {
                let v = ValueDeserializer::<BinValue>::deserialize(*p, &mut buf)
                    .map_err(|e| format!("a parameter row does not decode: {e}"))?;
                out.push(v.0);
            }
        }
        Ok(out)
    }

    /// The values of parameters `want` (in that order) of a parameter row; the others
    /// are stepped over undecoded.
    pub fn decode_some(&self, row: &[u8], want: &[usize]) -> Result<Vec<Value>, String> {
        use ColumnType::*;
        let mut found: Vec<Option<Value>> = vec![None; want.len()];
        let mut pos = 0;
        for (j, p) in self.params.iter().enumerate() {
            let ind = *row.get(pos).ok_or("a parameter row ends early")?;
            pos += 1;
            let wanted = want.iter().position(|w| *w == j);
            if ind == INDICATOR_NULL {
                if let Some(k) = wanted {
                    found[k] = Some(Value::NULL);
                }
                continue;
            }
            let width = match p.0 {
                MYSQL_TYPE_LONGLONG | MYSQL_TYPE_DOUBLE => Width::Fixed(8),
                MYSQL_TYPE_FLOAT => Width::Fixed(4),
                MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIME => Width::Counted,
                MYSQL_TYPE_NULL => Width::Empty,
                _ => Width::LenEnc,
            };
            let len = value_len(width, row, pos).ok_or("a parameter row ends early")?;
            if let Some(k) = wanted {
                let mut buf = ParseBuf(&row[pos..pos + len]);
                let v = ValueDeserializer::<BinValue>::deserialize(*p, &mut buf)
                    .map_err(|e| format!("a parameter row does not decode: {e}"))?;
                found[k] = Some(v.0);
            }
            pos += len;
        }
        found
            .into_iter()
            .map(|v| v.ok_or_else(|| "a key parameter is missing from the row".to_string()))
            .collect()
    }
}

/// The length of the value of width `w` at `pos` in `b`, if it is all there.
fn value_len(w: Width, b: &[u8], pos: usize) -> Option<usize> {
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

/// A page of parameter rows, back to back.
#[derive(Debug)]
pub struct RawRows {
    pub layout: Arc<RawLayout>,
    data: Vec<u8>,
    /// End of each row in `data`.
    ends: Vec<usize>,
    /// Scratch: the value spans of the row being converted.
    spans: Vec<Option<(usize, usize)>>,
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
    ) -> Result<RawRows, String> {
        let mut out = RawRows::new(layout.clone());
        out.data.reserve(self.data.len());
        for i in keep {
            layout.push_row(self.row(i), &mut out)?;
        }
        Ok(out)
    }

    /// Every row as values.
    pub fn decode(&self) -> Result<Vec<Vec<Value>>, String> {
        (0..self.len())
            .map(|i| self.layout.decode(self.row(i)))
            .collect()
    }

    /// The bulk requests for these rows, each below `max_packet` bytes: `(packet, rows
    /// in it)`, written into `buf` one at a time for `send`. A row too big for a
    /// request of its own is an error (the caller writes the page another way, which
    /// names it).
    pub fn requests(
        &self,
        stmt_id: u32,
        max_packet: usize,
        buf: &mut Vec<u8>,
        mut send: impl FnMut(&[u8], usize) -> Result<(), crate::writer::WriteError>,
    ) -> Result<(), RequestError> {
        let head = 1 + 4 + 2 + self.layout.types.len();
        // The crate's margin: 4 bytes of packet header within max_allowed_packet.
        let limit = max_packet.saturating_sub(4);
        let mut i = 0;
        while i < self.len() {
            buf.clear();
            buf.push(COM_STMT_BULK_EXECUTE);
            buf.extend_from_slice(&stmt_id.to_le_bytes());
            buf.extend_from_slice(&SEND_TYPES_TO_SERVER.to_le_bytes());
            buf.extend_from_slice(&self.layout.types);
            let first = i;
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            let mut end = start;
            while i < self.len() && head + (self.ends[i] - start) <= limit {
                end = self.ends[i];
                i += 1;
            }
            if i == first {
                return Err(RequestError::TooBig(first));
            }
            buf.extend_from_slice(&self.data[start..end]);
            send(buf, i - first).map_err(RequestError::Write)?;
        }
        Ok(())
    }
}

/// Why a raw page could not be sent.
#[derive(Debug)]
pub enum RequestError {
    /// Row i does not fit a request.
    TooBig(usize),
    Write(crate::writer::WriteError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::constants::StmtBulkExecuteFlags;
    use mysql_common::packets::ComStmtBulkExecuteRequest;

    fn column(t: ColumnType, flags: ColumnFlags) -> Column {
        Column::new(t).with_flags(flags)
    }

    /// A binary-protocol row packet for `values` of `columns`, as a server writes it.
    fn packet(columns: &[(ColumnType, ColumnFlags)], values: &[Option<&[u8]>]) -> Vec<u8> {
        let n = columns.len();
        let mut bitmap = vec![0u8; (n + 7 + 2) / 8];
        let mut body = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match v {
                None => bitmap[(i + 2) / 8] |= 1 << ((i + 2) % 8),
                Some(b) => body.extend_from_slice(b),
            }
        }
        let mut p = vec![0u8];
        p.extend(bitmap);
        p.extend(body);
        p
    }

    fn lenenc_str(s: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        mysql_common::io::BufMutExt::put_lenenc_str(&mut v, s);
        v
    }

    /// Every kind of column, with both signs, NULLs, long strings (3-byte length
    /// headers) and a reordered, repeated and fixed set of target values: the raw
    /// request is byte for byte what the crate builds from the decoded values, and the
    /// parameter rows decode back to those values.
    #[test]
    fn raw_rows_are_the_crates_bulk_request_byte_for_byte() {
        use ColumnType::*;
        let u = ColumnFlags::UNSIGNED_FLAG;
        let e = ColumnFlags::empty();
        let cols = [
            (MYSQL_TYPE_TINY, e),
            (MYSQL_TYPE_TINY, u),
            (MYSQL_TYPE_SHORT, e),
            (MYSQL_TYPE_YEAR, u),
            (MYSQL_TYPE_INT24, e),
            (MYSQL_TYPE_LONG, u),
            (MYSQL_TYPE_LONGLONG, e),
            (MYSQL_TYPE_LONGLONG, u),
            (MYSQL_TYPE_FLOAT, e),
            (MYSQL_TYPE_DOUBLE, e),
            (MYSQL_TYPE_DATETIME, e),
            (MYSQL_TYPE_TIMESTAMP, e),
            (MYSQL_TYPE_DATE, e),
            (MYSQL_TYPE_TIME, e),
            (MYSQL_TYPE_NEWDECIMAL, e),
            (MYSQL_TYPE_VAR_STRING, e),
            (MYSQL_TYPE_BLOB, e),
            (MYSQL_TYPE_STRING, e),
            (MYSQL_TYPE_BIT, u),
        ];
        let long = vec![0xabu8; 70_000];
        let rows: Vec<Vec<Option<Vec<u8>>>> = vec![
            vec![
                Some(vec![0x80]),
                Some(vec![0xff]),
                Some((-2i16).to_le_bytes().to_vec()),
                Some(2155u16.to_le_bytes().to_vec()),
                Some((-8_388_608i32).to_le_bytes().to_vec()),
                Some(u32::MAX.to_le_bytes().to_vec()),
                Some(i64::MIN.to_le_bytes().to_vec()),
                Some(u64::MAX.to_le_bytes().to_vec()),
                Some(1.5f32.to_le_bytes().to_vec()),
                Some((-0.1f64).to_le_bytes().to_vec()),
                Some(vec![
                    11, 0xe4, 0x07, 12, 31, 23, 59, 58, 0x3f, 0x42, 0x0f, 0,
                ]),
                Some(vec![7, 0xb2, 0x07, 1, 1, 0, 0, 1]),
                Some(vec![4, 0xe4, 0x07, 2, 29]),
                Some(vec![12, 1, 34, 0, 0, 0, 10, 20, 30, 1, 0, 0, 0]),
                Some(lenenc_str(b"-12345678901234567890.12")),
                Some(lenenc_str("张伟 Søren 😀".as_bytes())),
                Some(lenenc_str(&long)),
                Some(lenenc_str(b"")),
                Some(lenenc_str(&[0, 0x0a])),
            ],
            vec![
                Some(vec![0x7f]),
                None,
                Some(7i16.to_le_bytes().to_vec()),
                None,
                Some(5i32.to_le_bytes().to_vec()),
                Some(0u32.to_le_bytes().to_vec()),
                Some(42i64.to_le_bytes().to_vec()),
                Some(((i64::MAX as u64) + 1).to_le_bytes().to_vec()),
                None,
                Some(f64::MAX.to_le_bytes().to_vec()),
                Some(vec![0]),
                None,
                Some(vec![0]),
                Some(vec![8, 0, 1, 0, 0, 0, 0, 0, 0]),
                None,
                Some(lenenc_str(&[0xff, 0xfe, 0x00, b'\n'])),
                None,
                Some(lenenc_str(b"x")),
                None,
            ],
        ];
        let columns: Vec<Column> = cols.iter().map(|(t, f)| column(*t, *f)).collect();
        let mut sources: Vec<RawSource> = (0..cols.len()).rev().map(RawSource::Column).collect();
        sources.push(RawSource::Column(15));
        sources.push(RawSource::Value(Value::from("fixed")));
        sources.push(RawSource::Value(Value::NULL));
        sources.push(RawSource::Value(Value::Int(-3)));
        sources.push(RawSource::Value(Value::Date(2024, 2, 29, 0, 0, 0, 0)));
        let layout = Arc::new(RawLayout::new(&sources, &columns).unwrap());
        let mut raw = RawRows::new(layout.clone());
        let mut expected: Vec<Vec<Value>> = Vec::new();
        for r in &rows {
            let vals: Vec<Option<&[u8]>> = r.iter().map(|v| v.as_deref()).collect();
            let p = packet(&cols, &vals);
            let size = layout.push_row(&p, &mut raw).unwrap();
            assert!(size > 0);
            // What the crate decodes from the same packet.
            let decoded: Vec<Value> = r
                .iter()
                .zip(&cols)
                .map(|(v, c)| match v {
                    None => Value::NULL,
                    Some(b) => {
                        ValueDeserializer::<BinValue>::deserialize(*c, &mut ParseBuf(b))
                            .unwrap()
                            .0
                    }
                })
                .collect();
            expected.push(
                sources
                    .iter()
                    .map(|s| match s {
                        RawSource::Column(i) => decoded[*i].clone(),
                        RawSource::Value(v) => v.clone(),
                    })
                    .collect(),
            );
        }
        assert_eq!(raw.len(), 2);
        assert_eq!(raw.decode().unwrap(), expected);

        // One request for the page: the crate's own, from the decoded values.
        let mut buf = Vec::new();
        let mut sent = Vec::new();
        raw.requests(7, 16 << 20, &mut buf, |p, n| {
            sent.push((p.to_vec(), n));
            Ok(())
        })
        .unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].1, 2);
        let theirs = ComStmtBulkExecuteRequest::new(
            7,
            StmtBulkExecuteFlags::SEND_TYPES_TO_SERVER,
            expected.clone(),
        )
        .unwrap();
        let mut want = Vec::new();
        theirs.serialize(&mut want);
        // Their parameter types come from the first row's values (an Int that fits
        // is sent signed); ours from the columns. The rows must match exactly, and
        // every type must be the same or, for an unsigned column, the same type with
        // the unsigned flag.
        let head = 1 + 4 + 2 + 2 * sources.len();
        assert_eq!(sent[0].0[..7], want[..7]);
        assert_eq!(sent[0].0[head..], want[head..], "parameter rows differ");
        for (k, (ours, theirs)) in sent[0].0[7..head]
            .chunks(2)
            .zip(want[7..head].chunks(2))
            .enumerate()
        {
            let theirs_null = theirs[0] == MYSQL_TYPE_NULL as u8;
            assert!(
                ours == theirs
                    || (ours[0] == theirs[0] && ours[1] == PARAM_UNSIGNED)
                    || theirs_null,
                "parameter {k}: type {ours:?}, the crate's {theirs:?}"
            );
        }

        // Split by size: a limit that takes one row per request.
        let one = head + raw.row(0).len().max(raw.row(1).len());
        let mut counts = Vec::new();
        raw.requests(7, one + 4, &mut buf, |p, n| {
            assert!(p.len() <= one);
            counts.push(n);
            Ok(())
        })
        .unwrap();
        assert_eq!(counts, vec![1, 1]);
        assert!(matches!(
            raw.requests(7, head + 8, &mut buf, |_, _| Ok(())),
            Err(RequestError::TooBig(0))
        ));
    }

    #[test]
    fn parameter_rows_remap_reorder_repeat_and_drop() {
        use ColumnType::*;
        let cols = [
            (MYSQL_TYPE_LONG, ColumnFlags::UNSIGNED_FLAG),
            (MYSQL_TYPE_VAR_STRING, ColumnFlags::empty()),
            (MYSQL_TYPE_DATETIME, ColumnFlags::empty()),
            (MYSQL_TYPE_DOUBLE, ColumnFlags::empty()),
        ];
        let columns: Vec<Column> = cols.iter().map(|(t, f)| column(*t, *f)).collect();
        let all = Arc::new(RawLayout::all(&columns).unwrap());
        let mut raw = RawRows::new(all.clone());
        let packets = [
            packet(
                &cols,
                &[
                    Some(&4_000_000_000u32.to_le_bytes()),
                    Some(&lenenc_str("ü".as_bytes())),
                    Some(&[4, 0xe8, 0x07, 2, 29]),
                    None,
                ],
            ),
            packet(
                &cols,
                &[
                    Some(&7u32.to_le_bytes()),
                    None,
                    Some(&[0]),
                    Some(&0.5f64.to_le_bytes()),
                ],
            ),
        ];
        for p in &packets {
            all.push_row(p, &mut raw).unwrap();
        }
        let source = raw.decode().unwrap();
        assert_eq!(source[0][0], Value::Int(4_000_000_000));
        assert_eq!(source[1][3], Value::Double(0.5));

        let same = Arc::new(
            all.remap(&(0..4).map(RawSource::Column).collect::<Vec<_>>())
                .unwrap(),
        );
        assert!(same.is_identity());
        assert!(!all.is_identity());
        let sources = [
            RawSource::Column(2),
            RawSource::Value(Value::from("x")),
            RawSource::Column(0),
            RawSource::Column(2),
        ];
        let moved = Arc::new(all.remap(&sources).unwrap());
        assert!(!moved.is_identity());
        let out = raw.remapped([1, 0].into_iter(), &moved).unwrap();
        let want =
            |r: &Vec<Value>| vec![r[2].clone(), Value::from("x"), r[0].clone(), r[2].clone()];
        assert_eq!(
            out.decode().unwrap(),
            vec![want(&source[1]), want(&source[0])]
        );
        let none = raw.remapped(std::iter::empty(), &moved).unwrap();
        assert!(none.is_empty());
        // The remapped rows are the same request as rows made from the packets directly.
        let direct = Arc::new(RawLayout::new(&sources, &columns).unwrap());
        let mut again = RawRows::new(direct.clone());
        direct.push_row(&packets[1], &mut again).unwrap();
        assert_eq!(again.row(0), out.row(0));
        assert_eq!(direct.types, moved.types);
    }

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
