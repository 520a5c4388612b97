//! A copy's raw layout: how each source column is laid out in a binary-protocol row
//! (as the crate would decode it) and which parameter type it is sent as again, and,
//! per target value, the source column or fixed value that fills it.

use mysql::consts::{ColumnFlags, ColumnType};
use mysql::{Column, Value};
use mysql_common::packets::StmtBulkExecuteParamType;
use mysql_common::proto::MySerialize;

use super::{RawSource, WireError, INDICATOR_NONE, INDICATOR_NULL, PARAM_UNSIGNED};

/// How a source value is laid out in a binary-protocol row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Width {
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
fn column_kind(t: ColumnType, flags: ColumnFlags) -> Result<(Width, ColumnType, u8), WireError> {
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
        other => Err(WireError::UnreadableColumn(other)),
    }
}

/// A copy's raw layout: how each source row becomes a parameter row.
#[derive(Debug)]
pub struct RawLayout {
    /// What rows come in as: result row packets, or parameter rows of another layout.
    pub(super) input: Input,
    /// Per source column: its layout.
    pub(super) widths: Vec<Width>,
    /// Per target value: a source column, or a fixed value already encoded
    /// (indicator and bytes).
    pub(super) cells: Vec<Result<usize, Vec<u8>>>,
    /// The request's parameter types, two bytes per target value.
    pub(super) types: Vec<u8>,
    /// Type and flags of each parameter, to decode a parameter row.
    pub(super) params: Vec<(ColumnType, ColumnFlags)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Input {
    Packets,
    Params,
}

/// How a parameter of type `t` is laid out in a parameter row (the types `column_kind`
/// sends), or `None` for another type.
fn param_width(t: ColumnType) -> Option<Width> {
    use ColumnType::*;
    Some(match t {
        MYSQL_TYPE_LONGLONG | MYSQL_TYPE_DOUBLE => Width::Fixed(8),
        MYSQL_TYPE_FLOAT => Width::Fixed(4),
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIME => Width::Counted,
        MYSQL_TYPE_VAR_STRING => Width::LenEnc,
        MYSQL_TYPE_NULL => Width::Empty,
        _ => return None,
    })
}

impl RawLayout {
    /// The layout for `sources` over a result with `columns`.
    pub fn new(sources: &[RawSource], columns: &[Column]) -> Result<RawLayout, WireError> {
        let kinds = columns
            .iter()
            .map(|c| column_kind(c.column_type(), c.flags()))
            .collect::<Result<Vec<_>, _>>()?;
        RawLayout::build(Input::Packets, kinds, sources)
    }

    /// Every column of a result with `columns`, in order.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn all(columns: &[Column]) -> Result<RawLayout, WireError> {
        let sources: Vec<RawSource> = (0..columns.len()).map(RawSource::Column).collect();
        RawLayout::new(&sources, columns)
    }

    /// The layout that takes this layout's parameter rows and arranges them for
    /// `sources` (indices into this layout's parameters).
    pub fn remap(&self, sources: &[RawSource]) -> Result<RawLayout, WireError> {
        let kinds = self
            .params
            .iter()
            .zip(self.types.chunks(2))
            .map(|((t, _), ty)| {
                let width = param_width(*t).ok_or(WireError::UnremappableParam(*t))?;
                Ok((width, *t, ty[1]))
            })
            .collect::<Result<Vec<_>, _>>()?;
        RawLayout::build(Input::Params, kinds, sources)
    }

    /// The width of parameter `i`'s value in a parameter row.
    pub(super) fn param_width(&self, i: usize) -> Width {
        param_width(self.params[i].0).unwrap_or(Width::LenEnc)
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
    ) -> Result<RawLayout, WireError> {
        let mut cells = Vec::with_capacity(sources.len());
        let mut types = Vec::with_capacity(2 * sources.len());
        let mut params = Vec::with_capacity(sources.len());
        for s in sources {
            let (ty, flags) = match s {
                RawSource::Column(i) => {
                    let (_, ty, flags) = *kinds.get(*i).ok_or(WireError::NoSuchColumn {
                        index: *i,
                        columns: kinds.len(),
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
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::packets::{column, lenenc_str, packet};
    use super::*;
    use crate::db::wire::RawRows;

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
        // One column decoded on its own (a transform reading one field) is the same.
        for (i, row) in source.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                assert_eq!(&all.decode_some(raw.row(i), &[j]).unwrap()[0], v);
                assert_eq!(&all.decode_one(raw.row(i), j).unwrap(), v);
            }
        }
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
}
