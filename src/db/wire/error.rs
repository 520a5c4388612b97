//! What can go wrong with a row that crosses undecoded: a result column or parameter
//! type the raw path cannot carry, a packet that is not a row of its layout, a
//! parameter row that does not decode. `Display` gives the text of the log and of the
//! error a copy fails with.

use std::fmt;

use mysql::consts::ColumnType;

#[derive(Debug)]
pub enum WireError {
    /// A result column of a type the raw path cannot read.
    UnreadableColumn(ColumnType),
    /// A parameter of a type that cannot be laid out again.
    UnremappableParam(ColumnType),
    /// A target value from a source column the result does not have.
    NoSuchColumn { index: usize, columns: usize },
    /// A packet that is not a binary-protocol row.
    NotARowPacket,
    /// A row packet of `len` bytes shorter than its values.
    ShortPacket { len: usize },
    /// A parameter row of `len` bytes that ends before its values do.
    ShortParamRow { len: usize },
    /// A parameter row that ends early while being decoded.
    ParamRowEndsEarly,
    /// A parameter row whose value does not decode.
    Undecodable(std::io::Error),
    /// A key parameter not found in the row.
    KeyMissing,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::UnreadableColumn(t) => {
                write!(f, "result column type {t:?} cannot be read raw")
            }
            WireError::UnremappableParam(t) => write!(f, "parameter type {t:?} cannot be remapped"),
            WireError::NoSuchColumn { index, columns } => write!(
                f,
                "source column {index} is not in the result ({columns} columns)"
            ),
            WireError::NotARowPacket => f.write_str("not a binary-protocol row packet"),
            WireError::ShortPacket { len } => {
                write!(f, "a row packet of {len} bytes is shorter than its values")
            }
            WireError::ShortParamRow { len } => {
                write!(f, "a parameter row of {len} bytes ends early")
            }
            WireError::ParamRowEndsEarly => f.write_str("a parameter row ends early"),
            WireError::Undecodable(e) => write!(f, "a parameter row does not decode: {e}"),
            WireError::KeyMissing => f.write_str("a key parameter is missing from the row"),
        }
    }
}

impl std::error::Error for WireError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WireError::Undecodable(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        use ColumnType::*;
        assert_eq!(
            WireError::UnreadableColumn(MYSQL_TYPE_TYPED_ARRAY).to_string(),
            "result column type MYSQL_TYPE_TYPED_ARRAY cannot be read raw"
        );
        assert_eq!(
            WireError::UnremappableParam(MYSQL_TYPE_BLOB).to_string(),
            "parameter type MYSQL_TYPE_BLOB cannot be remapped"
        );
        assert_eq!(
            WireError::NoSuchColumn {
                index: 3,
                columns: 2
            }
            .to_string(),
            "source column 3 is not in the result (2 columns)"
        );
        assert_eq!(
            WireError::ShortPacket { len: 4 }.to_string(),
            "a row packet of 4 bytes is shorter than its values"
        );
        assert_eq!(
            WireError::ShortParamRow { len: 1 }.to_string(),
            "a parameter row of 1 bytes ends early"
        );
        let e = WireError::Undecodable(std::io::Error::other("bad date"));
        assert_eq!(e.to_string(), "a parameter row does not decode: bad date");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(
            WireError::KeyMissing.to_string(),
            "a key parameter is missing from the row"
        );
    }
}
