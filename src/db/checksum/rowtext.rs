//! The canonical text of a row, as SQL both servers evaluate: one token per compared
//! column, `HEX` of the value's text or `N` for NULL, joined with commas. Hex digits
//! never contain a comma or an `N`, so column boundaries are unambiguous and NULL, ''
//! and 'NULL' differ. Character columns are converted to utf8mb4 first (latin1 'é' and
//! utf8mb4 'é' give the same bytes), binary ones are taken as they are, numbers, dates
//! and times as MySQL prints them. Where the two sides' column types differ, both are
//! brought to a common form (DECIMAL scale, DATETIME fraction digits); where a value
//! comes from the job (a transform) rather than a column, it is first cast to the
//! target column's type, so it renders as it would once stored.

use crate::db::schema::{quote_ident, ColumnInfo};
use crate::db::value::Kind;

/// What a column's values are, for rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Family {
    Int {
        unsigned: bool,
    },
    Year,
    Bit,
    /// `DECIMAL(p,s)` as CAST spells it.
    Decimal(String),
    Float,
    Double,
    Date,
    DateTime(u8),
    Time(u8),
    /// BINARY(n) (padded with zero bytes) or VARBINARY / BLOB.
    Binary {
        fixed: Option<u32>,
    },
    /// CHAR (trailing spaces dropped on read) or VARCHAR / TEXT / ENUM / SET / JSON.
    Text {
        padded: bool,
    },
    /// Anything else (spatial types and the like): compared as the server hands it out.
    Other,
}

impl Family {
    pub fn of(col: &ColumnInfo) -> Family {
        let ty = col.column_type.to_ascii_lowercase();
        let args = || {
            ty.split_once('(')
                .and_then(|(_, r)| r.split_once(')'))
                .map(|(a, _)| a.to_string())
        };
        match col.data_type.to_ascii_lowercase().as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => Family::Int {
                unsigned: ty.contains("unsigned"),
            },
            "year" => Family::Year,
            "bit" => Family::Bit,
            "decimal" | "numeric" => Family::Decimal(format!(
                "DECIMAL({})",
                args().unwrap_or_else(|| "10".into())
            )),
            "float" => Family::Float,
            "double" | "real" | "double precision" => Family::Double,
            "date" => Family::Date,
            "datetime" | "timestamp" => match col.kind() {
                Kind::DateTime(f) => Family::DateTime(f),
                _ => Family::DateTime(0),
            },
            "time" => match col.kind() {
                Kind::Time(f) => Family::Time(f),
                _ => Family::Time(0),
            },
            "binary" => Family::Binary {
                fixed: args().and_then(|a| a.trim().parse().ok()),
            },
            "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                Family::Binary { fixed: None }
            }
            "char" => Family::Text { padded: true },
            "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
            | "json" => Family::Text { padded: false },
            _ => Family::Other,
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(
            self,
            Family::Int { .. }
                | Family::Year
                | Family::Bit
                | Family::Decimal(_)
                | Family::Float
                | Family::Double
        )
    }

    fn is_datetime(&self) -> bool {
        matches!(self, Family::Date | Family::DateTime(_))
    }
}

/// A common form for two columns of different types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Common {
    /// Each side as MySQL prints it.
    AsIs,
    /// DECIMAL against another number or text: trailing fraction zeros dropped,
    /// so 1.50 in DECIMAL(10,2) equals 1.5000 in DECIMAL(12,4).
    TrimZeros,
    /// DATE / DATETIME(n) / TIMESTAMP(n) against each other: as DATETIME(6).
    DateTime6,
    /// TIME(n) against TIME(m): as TIME(6).
    Time6,
}

impl Common {
    /// The common form of a source column and the target column filled from it.
    pub fn of(source: &ColumnInfo, target: &ColumnInfo) -> Common {
        if source.column_type.eq_ignore_ascii_case(&target.column_type) {
            return Common::AsIs;
        }
        let (s, t) = (Family::of(source), Family::of(target));
        let decimal = matches!(s, Family::Decimal(_)) || matches!(t, Family::Decimal(_));
        let numberish = |f: &Family| f.is_numeric() || matches!(f, Family::Text { .. });
        if s.is_datetime() && t.is_datetime() {
            Common::DateTime6
        } else if matches!(s, Family::Time(_)) && matches!(t, Family::Time(_)) {
            Common::Time6
        } else if decimal && numberish(&s) && numberish(&t) {
            Common::TrimZeros
        } else {
            Common::AsIs
        }
    }
}

/// SQL for the text of `expr` (a column or a cast parameter) of `family`; NULL stays
/// NULL.
pub fn text(expr: &str, family: &Family, common: Common) -> String {
    match common {
        Common::DateTime6 => return format!("CAST(CAST({expr} AS DATETIME(6)) AS CHAR)"),
        Common::Time6 => return format!("CAST(CAST({expr} AS TIME(6)) AS CHAR)"),
        Common::TrimZeros => {
            let t = text(expr, family, Common::AsIs);
            return format!(
                "IF(LOCATE('.', {t}) > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {t})), {t})"
            );
        }
        Common::AsIs => {}
    }
    match family {
        Family::Int { .. } | Family::Decimal(_) | Family::Double => format!("CAST({expr} AS CHAR)"),
        Family::Year | Family::Bit => format!("CAST({expr} + 0 AS CHAR)"),
        // MySQL prints FLOAT with 6 digits; as DOUBLE every bit shows.
        Family::Float => format!("CAST(CAST({expr} AS DOUBLE) AS CHAR)"),
        Family::Date | Family::DateTime(_) | Family::Time(_) => format!("CAST({expr} AS CHAR)"),
        Family::Binary { .. } | Family::Other => expr.to_string(),
        Family::Text { .. } => format!("CONVERT({expr} USING utf8mb4)"),
    }
}

/// One column's token: the hex of its text, or `N` for NULL.
pub fn token(text: &str) -> String {
    format!("IFNULL(HEX({text}), 'N')")
}

/// The token of a stored column.
pub fn column_token(name: &str, family: &Family, common: Common) -> String {
    token(&text(&quote_ident(name), family, common))
}

/// A `?` parameter cast to the type of a target column of `family`, so a value the
/// job produced renders as it reads back once stored.
pub fn cast_param(family: &Family) -> String {
    match family {
        Family::Int { unsigned: false } | Family::Year => "CAST(? AS SIGNED)".into(),
        Family::Int { unsigned: true } => "CAST(? AS UNSIGNED)".into(),
        // Bytes (as BIT reads back) or a number: its bits, as a number.
        Family::Bit => "CONV(HEX(?), 16, 10)".into(),
        Family::Decimal(d) => format!("CAST(? AS {d})"),
        Family::Float => "CAST(? AS FLOAT)".into(),
        Family::Double => "CAST(? AS DOUBLE)".into(),
        Family::Date => "CAST(? AS DATE)".into(),
        Family::DateTime(f) => format!("CAST(? AS DATETIME({f}))"),
        Family::Time(f) => format!("CAST(? AS TIME({f}))"),
        Family::Binary { fixed: Some(n) } => format!("CAST(? AS BINARY({n}))"),
        Family::Binary { fixed: None } => "CAST(? AS BINARY)".into(),
        Family::Text { padded: true } => "TRIM(TRAILING ' ' FROM CONVERT(? USING utf8mb4))".into(),
        Family::Text { padded: false } => "CONVERT(? USING utf8mb4)".into(),
        Family::Other => "?".into(),
    }
}

/// The token of a `?` parameter bound for a target column of `family`.
pub fn param_token(family: &Family) -> String {
    match family {
        // CONV gives the decimal text already; `+ 0` would make it a DOUBLE, which
        // rounds BIT(64) values of 2^53 and more.
        Family::Bit => token(&cast_param(family)),
        _ => token(&text(&cast_param(family), family, Common::AsIs)),
    }
}

/// The row text: tokens joined with commas.
pub fn join(tokens: &[String]) -> String {
    if tokens.is_empty() {
        "''".into()
    } else {
        format!("CONCAT_WS(',', {})", tokens.join(", "))
    }
}

/// The row hash: SHA-256 of the row text, as 64 hex digits.
pub fn hash(tokens: &[String]) -> String {
    format!("SHA2({}, 256)", join(tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, column_type: &str) -> ColumnInfo {
        ColumnInfo::for_test(name, column_type)
    }

    #[test]
    fn families_from_column_types() {
        assert_eq!(
            Family::of(&col("a", "bigint(20) unsigned")),
            Family::Int { unsigned: true }
        );
        assert_eq!(
            Family::of(&col("a", "decimal(65,30)")),
            Family::Decimal("DECIMAL(65,30)".into())
        );
        assert_eq!(Family::of(&col("a", "datetime(6)")), Family::DateTime(6));
        assert_eq!(
            Family::of(&col("a", "binary(16)")),
            Family::Binary { fixed: Some(16) }
        );
        assert_eq!(
            Family::of(&col("a", "char(3)")),
            Family::Text { padded: true }
        );
        assert_eq!(
            Family::of(&col("a", "enum('x','y')")),
            Family::Text { padded: false }
        );
    }

    #[test]
    fn tokens_quote_names_and_mark_null() {
        let t = column_token("we`ird", &Family::Text { padded: false }, Common::AsIs);
        assert_eq!(t, "IFNULL(HEX(CONVERT(`we``ird` USING utf8mb4)), 'N')");
        assert_eq!(
            column_token("b", &Family::Binary { fixed: None }, Common::AsIs),
            "IFNULL(HEX(`b`), 'N')"
        );
    }

    #[test]
    fn differing_types_meet_in_a_common_form() {
        assert_eq!(
            Common::of(&col("a", "decimal(10,2)"), &col("a", "decimal(12,4)")),
            Common::TrimZeros
        );
        assert_eq!(
            Common::of(&col("a", "datetime"), &col("a", "datetime(6)")),
            Common::DateTime6
        );
        assert_eq!(
            Common::of(&col("a", "varchar(10)"), &col("a", "varbinary(10)")),
            Common::AsIs
        );
        assert_eq!(
            Common::of(&col("a", "int(11)"), &col("a", "int(11)")),
            Common::AsIs
        );
    }

    #[test]
    fn parameters_are_cast_to_the_target_type() {
        assert_eq!(
            param_token(&Family::Decimal("DECIMAL(10,2)".into())),
            "IFNULL(HEX(CAST(CAST(? AS DECIMAL(10,2)) AS CHAR)), 'N')"
        );
        assert_eq!(hash(&[]), "SHA2('', 256)");
    }
}
