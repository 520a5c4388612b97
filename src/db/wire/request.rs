//! `COM_STMT_BULK_EXECUTE` packets for a page of parameter rows: the command, the
//! statement, the parameter types once, then as many rows as fit below the server's
//! packet limit, request after request.

use super::RawRows;

/// The command byte, and its flag for "parameter types follow".
const COM_STMT_BULK_EXECUTE: u8 = 0xfa;
const SEND_TYPES_TO_SERVER: u16 = 128;

impl RawRows {
    /// The bulk requests for these rows, each below `max_packet` bytes: `(packet, rows
    /// in it)`, written into `buf` one at a time for `send`. A row too big for a
    /// request of its own is an error (the caller writes the page another way, which
    /// names it).
    pub fn requests(
        &self,
        stmt_id: u32,
        max_packet: usize,
        buf: &mut Vec<u8>,
        mut send: impl FnMut(&[u8], usize) -> Result<(), crate::db::write::WriteError>,
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
    Write(crate::db::write::WriteError),
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mysql::consts::{ColumnFlags, ColumnType};
    use mysql::{Column, Value};
    use mysql_common::constants::StmtBulkExecuteFlags;
    use mysql_common::io::ParseBuf;
    use mysql_common::packets::ComStmtBulkExecuteRequest;
    use mysql_common::proto::{MyDeserialize, MySerialize};
    use mysql_common::value::{BinValue, ValueDeserializer};

    use super::super::packets::{column, lenenc_str, packet};
    use super::super::{RawLayout, RawSource, PARAM_UNSIGNED};
    use super::*;

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
}
