//! Parameter rows back into values, as the crate would have decoded the source row
//! and arranged it for the target: whole rows (to write a page another way) or only
//! some parameters (the key of a row).

use mysql::consts::ColumnType;
use mysql::Value;
use mysql_common::io::ParseBuf;
use mysql_common::proto::MyDeserialize;
use mysql_common::value::{BinValue, ValueDeserializer};

use super::convert::value_len;
use super::layout::Width;
use super::{RawLayout, WireError, INDICATOR_NULL};

impl RawLayout {
    /// The values of a parameter row, as the crate would have decoded the source row
    /// and arranged it for the target.
    pub fn decode(&self, row: &[u8]) -> Result<Vec<Value>, WireError> {
        let mut buf = ParseBuf(row);
        let mut out = Vec::with_capacity(self.params.len());
        for p in &self.params {
            let ind: u8 = buf.checked_eat_u8().ok_or(WireError::ParamRowEndsEarly)?;
            if ind == INDICATOR_NULL {
                out.push(Value::NULL);
            } else {
                let v = ValueDeserializer::<BinValue>::deserialize(*p, &mut buf)
                    .map_err(WireError::Undecodable)?;
                out.push(v.0);
            }
        }
        Ok(out)
    }

    /// The values of parameters `want` (in that order) of a parameter row; the others
    /// are stepped over undecoded.
    pub fn decode_some(&self, row: &[u8], want: &[usize]) -> Result<Vec<Value>, WireError> {
        use ColumnType::*;
        let mut found: Vec<Option<Value>> = vec![None; want.len()];
        let mut pos = 0;
        for (j, p) in self.params.iter().enumerate() {
            let ind = *row.get(pos).ok_or(WireError::ParamRowEndsEarly)?;
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
            let len = value_len(width, row, pos).ok_or(WireError::ParamRowEndsEarly)?;
            if let Some(k) = wanted {
                let mut buf = ParseBuf(&row[pos..pos + len]);
                let v = ValueDeserializer::<BinValue>::deserialize(*p, &mut buf)
                    .map_err(WireError::Undecodable)?;
                found[k] = Some(v.0);
            }
            pos += len;
        }
        found
            .into_iter()
            .map(|v| v.ok_or(WireError::KeyMissing))
            .collect()
    }
}
