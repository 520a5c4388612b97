//! Parameter rows back into values, as the crate would have decoded the source row
//! and arranged it for the target: whole rows (to write a page another way) or only
//! some parameters (the key of a row).

use mysql::Value;
use mysql_common::io::ParseBuf;
use mysql_common::proto::MyDeserialize;
use mysql_common::value::{BinValue, ValueDeserializer};

use super::convert::value_len;
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
    /// are stepped over undecoded, and those after the last wanted not looked at.
    pub fn decode_some(&self, row: &[u8], want: &[usize]) -> Result<Vec<Value>, WireError> {
        let mut found: Vec<Option<Value>> = vec![None; want.len()];
        let mut left = want.len();
        self.walk_params(row, |j, bytes| {
            if let Some(k) = want.iter().position(|w| *w == j) {
                found[k] = Some(self.value(j, bytes)?);
                left -= 1;
            }
            Ok(left > 0)
        })?;
        found
            .into_iter()
            .map(|v| v.ok_or(WireError::KeyMissing))
            .collect()
    }

    /// The value of parameter `want` of a parameter row (`decode_some` of one).
    pub fn decode_one(&self, row: &[u8], want: usize) -> Result<Value, WireError> {
        let mut found = None;
        self.walk_params(row, |j, bytes| {
            if j == want {
                found = Some(self.value(j, bytes)?);
                return Ok(false);
            }
            Ok(true)
        })?;
        found.ok_or(WireError::KeyMissing)
    }

    /// Parameter `j`'s value from its bytes (`None`: NULL).
    fn value(&self, j: usize, bytes: Option<&[u8]>) -> Result<Value, WireError> {
        let Some(bytes) = bytes else {
            return Ok(Value::NULL);
        };
        let mut buf = ParseBuf(bytes);
        ValueDeserializer::<BinValue>::deserialize(self.params[j], &mut buf)
            .map(|v| v.0)
            .map_err(WireError::Undecodable)
    }

    /// Calls `f` with each parameter of a parameter row in turn (its index, and its
    /// bytes or `None` for NULL) while `f` answers true.
    fn walk_params(
        &self,
        row: &[u8],
        mut f: impl FnMut(usize, Option<&[u8]>) -> Result<bool, WireError>,
    ) -> Result<(), WireError> {
        let mut pos = 0;
        for j in 0..self.params.len() {
            let ind = *row.get(pos).ok_or(WireError::ParamRowEndsEarly)?;
            pos += 1;
            if ind == INDICATOR_NULL {
                if !f(j, None)? {
                    return Ok(());
                }
                continue;
            }
            let len =
                value_len(self.param_width(j), row, pos).ok_or(WireError::ParamRowEndsEarly)?;
            if !f(j, Some(&row[pos..pos + len]))? {
                return Ok(());
            }
            pos += len;
        }
        Ok(())
    }
}
