//! Keyset conditions that compare a key exactly as the server orders it, and the page
//! guard that proves each page starts after the one before.
//!
//! `ORDER BY key` sorts an ENUM by its member number, a SET by its numeric value, BIT as
//! an unsigned integer and text in its column's collation. A condition `k > ?` with the
//! value as read compares an ENUM or SET as a string, and a BIT as bytes, so pages would
//! skip or repeat rows: those key parts are compared by their numbers instead (an ENUM
//! through an `IN` list of the members after it, which the server can still read as an
//! index range). Every other type compares as read: the server converts the parameter to
//! the column's type and collation, which is how it orders the column.

use std::cmp::Ordering;

use mysql::prelude::Queryable;
use mysql::Value;

use crate::db::schema::{quote_ident, ColumnInfo};
use crate::db::Db;
use crate::error::{Error, Result};

/// ENUMs with more members than this compare by number (`k > 3`), which the server
/// reads with an index scan rather than a range; fewer get an `IN` list.
const ENUM_IN_LIST_MAX: usize = 64;

/// How a key column's values are ordered.
#[derive(Debug, Clone, PartialEq)]
enum Order {
    /// As read: numbers, dates and times, decimals, binary strings.
    Value,
    /// DECIMAL, compared as read but checked by the guard as a decimal number.
    Decimal,
    /// Text, in its collation (the guard asks the server).
    Text { charset: String, collation: String },
    /// ENUM: by member number (1-based; 0 is the empty error value).
    Enum(Vec<String>),
    /// SET: by its numeric value (a bit per member).
    Set(Vec<String>),
    /// BIT: as an unsigned integer.
    Bit,
}

/// A comparison in a keyset condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Eq,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Eq => "=",
        }
    }
}

/// One column of a paging key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyColumn {
    pub name: String,
    quoted: String,
    order: Order,
}

impl KeyColumn {
    /// A parameter standing for a value of this column in an `IN` list: for text,
    /// converted to the column's character set and collation (MariaDB 10.11 compares
    /// a row `IN` list of several tuples wrongly against a latin1 column when given a
    /// parameter in another character set).
    pub fn placeholder(&self) -> String {
        match &self.order {
            Order::Text { charset, collation } => {
                format!("CONVERT(? USING {charset}) COLLATE {collation}")
            }
            _ => "?".to_string(),
        }
    }

    pub fn new(col: &ColumnInfo) -> KeyColumn {
        let t = col.data_type.to_ascii_lowercase();
        let order = match t.as_str() {
            "enum" => Order::Enum(members(&col.column_type)),
            "set" => Order::Set(members(&col.column_type)),
            "bit" => Order::Bit,
            "decimal" | "numeric" => Order::Decimal,
            _ => match (&col.charset, &col.collation) {
                (Some(cs), Some(coll)) => Order::Text {
                    charset: cs.clone(),
                    collation: coll.clone(),
                },
                _ => Order::Value,
            },
        };
        KeyColumn {
            name: col.name.clone(),
            quoted: quote_ident(&col.name),
            order,
        }
    }

    /// The column, quoted.
    pub fn quoted(&self) -> &str {
        &self.quoted
    }

    /// `k <op> ?` for a value as read, comparing as `ORDER BY k` orders, with its
    /// parameters pushed on `params`.
    pub fn compare(&self, op: Op, v: &Value, params: &mut Vec<Value>) -> Result<String> {
        let q = &self.quoted;
        match &self.order {
            Order::Enum(members) => {
                let i = self.number(v)?;
                let n = members.len() as u64;
                if op == Op::Eq || members.len() > ENUM_IN_LIST_MAX {
                    params.push(Value::UInt(i));
                    return Ok(format!("{q} {} ?", op.sql()));
                }
                let range = match op {
                    Op::Gt => i + 1..=n,
                    Op::Ge => i..=n,
                    Op::Lt if i == 0 => return Ok("FALSE".into()),
                    Op::Lt => 0..=i - 1,
                    Op::Eq => unreachable!("handled above"),
                };
                let list: Vec<String> = range.map(|m| m.to_string()).collect();
                if list.is_empty() {
                    return Ok("FALSE".into());
                }
                // Numbers, not names: `k IN (0)` is the empty error value, and a
                // number always means the member's position.
                Ok(format!("{q} IN ({})", list.join(", ")))
            }
            Order::Set(_) | Order::Bit => {
                params.push(Value::UInt(self.number(v)?));
                Ok(format!("{q} {} ?", op.sql()))
            }
            Order::Value | Order::Decimal | Order::Text { .. } => {
                params.push(v.clone());
                Ok(format!("{q} {} ?", op.sql()))
            }
        }
    }

    /// The number an ENUM, SET or BIT value orders by.
    fn number(&self, v: &Value) -> Result<u64> {
        let bytes = match v {
            Value::Int(i) => return Ok(*i as u64),
            Value::UInt(u) => return Ok(*u),
            Value::Bytes(b) => b,
            other => return Err(self.unplaced(&format!("{other:?}"))),
        };
        match &self.order {
            Order::Enum(members) => {
                if bytes.is_empty() && !members.iter().any(|m| m.is_empty()) {
                    return Ok(0);
                }
                members
                    .iter()
                    .position(|m| m.as_bytes() == bytes.as_slice())
                    .map(|i| i as u64 + 1)
                    .ok_or_else(|| self.unplaced(&String::from_utf8_lossy(bytes)))
            }
            Order::Set(members) => {
                let mut mask = 0u64;
                if bytes.is_empty() {
                    return Ok(0);
                }
                for part in bytes.split(|&b| b == b',') {
                    let i = members
                        .iter()
                        .position(|m| m.as_bytes() == part)
                        .ok_or_else(|| self.unplaced(&String::from_utf8_lossy(bytes)))?;
                    mask |= 1 << i;
                }
                Ok(mask)
            }
            Order::Bit => {
                if bytes.len() > 8 {
                    return Err(self.unplaced("a BIT value of more than 64 bits"));
                }
                Ok(bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
            }
            _ => Err(self.unplaced("a value")),
        }
    }

    fn unplaced(&self, what: &str) -> Error {
        Error::database(
            format!("paging on key column {}", self.name),
            format!("cannot place {what} in the column's order"),
        )
    }

    /// How `a` and `b` (values of this column) compare in the server's order; `db`
    /// answers for text in a collation.
    fn order(&self, a: &Value, b: &Value, db: &mut Db) -> Result<Ordering> {
        match &self.order {
            Order::Enum(_) | Order::Set(_) | Order::Bit => {
                Ok(self.number(a)?.cmp(&self.number(b)?))
            }
            Order::Text { charset, collation } => {
                if a == b {
                    return Ok(Ordering::Equal);
                }
                let one = format!("CONVERT(? USING {charset}) COLLATE {collation}");
                let sql = format!("SELECT STRCMP({one}, {one})");
                let r: Option<Option<i64>> = db
                    .conn()
                    .exec_first(&sql, (a.clone(), b.clone()))
                    .map_err(|e| db.err(&format!("comparing keys of {}", self.name), e))?;
                Ok(r.flatten().unwrap_or(0).cmp(&0))
            }
            Order::Decimal => match (a, b) {
                (Value::Bytes(x), Value::Bytes(y)) => Ok(decimal_cmp(x, y)),
                _ => Ok(value_cmp(a, b)),
            },
            Order::Value => Ok(value_cmp(a, b)),
        }
    }
}

/// The columns of a paging key.
pub fn key_columns(cols: &[&ColumnInfo]) -> Vec<KeyColumn> {
    cols.iter().map(|c| KeyColumn::new(c)).collect()
}

/// `(k1 > ? OR (k1 = ? AND k2 > ?))`: the rows after `after` in key order, each
/// comparison in parentheses so `NOT` can stand in front.
pub fn after(key: &[KeyColumn], after: &[Value], params: &mut Vec<Value>) -> Result<String> {
    let (first, rest) = (&key[0], &key[1..]);
    let gt = first.compare(Op::Gt, &after[0], params)?;
    if rest.is_empty() {
        return Ok(format!("({gt})"));
    }
    let eq = first.compare(Op::Eq, &after[0], params)?;
    let inner = self::after(rest, &after[1..], params)?;
    Ok(format!("(({gt}) OR (({eq}) AND {inner}))"))
}

/// How key `a` compares with key `b` in the server's order.
pub fn order(key: &[KeyColumn], a: &[Value], b: &[Value], db: &mut Db) -> Result<Ordering> {
    for (i, col) in key.iter().enumerate() {
        match col.order(&a[i], &b[i], db)? {
            Ordering::Equal => {}
            other => return Ok(other),
        }
    }
    Ok(Ordering::Equal)
}

/// The members of `enum('a','b')` or `set(...)`, as `information_schema` writes them
/// (quotes doubled, backslashes escaped).
fn members(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    let b = column_type.as_bytes();
    let mut i = open + 1;
    while i < b.len() {
        let c = b[i];
        match (&mut cur, c) {
            (None, b'\'') => cur = Some(Vec::new()),
            (None, b')') => break,
            (None, _) => {}
            (Some(s), b'\'') if b.get(i + 1) == Some(&b'\'') => {
                s.push(b'\'');
                i += 1;
            }
            (Some(_), b'\'') => {
                out.push(String::from_utf8_lossy(&cur.take().expect("open")).into_owned());
            }
            (Some(s), b'\\') if i + 1 < b.len() => {
                i += 1;
                s.push(match b[i] {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'0' => 0,
                    b'Z' => 26,
                    other => other,
                });
            }
            (Some(s), _) => s.push(c),
        }
        i += 1;
    }
    out
}

/// Values of one column compared as the server orders them (numbers, dates, times,
/// binary strings byte by byte).
fn value_cmp(a: &Value, b: &Value) -> Ordering {
    use Value::*;
    match (a, b) {
        (NULL, NULL) => Ordering::Equal,
        (NULL, _) => Ordering::Less,
        (_, NULL) => Ordering::Greater,
        (Int(x), Int(y)) => x.cmp(y),
        (UInt(x), UInt(y)) => x.cmp(y),
        (Int(x), UInt(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (UInt(x), Int(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (Float(x), Float(y)) => x.total_cmp(y),
        (Double(x), Double(y)) => x.total_cmp(y),
        (Float(x), Double(y)) => f64::from(*x).total_cmp(y),
        (Double(x), Float(y)) => x.total_cmp(&f64::from(*y)),
        (Date(..), Date(..)) => date_tuple(a).cmp(&date_tuple(b)),
        (Time(..), Time(..)) => time_micros(a).cmp(&time_micros(b)),
        (Bytes(x), Bytes(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

fn date_tuple(v: &Value) -> (u16, u8, u8, u8, u8, u8, u32) {
    match v {
        Value::Date(y, m, d, h, mi, s, us) => (*y, *m, *d, *h, *mi, *s, *us),
        _ => Default::default(),
    }
}

fn time_micros(v: &Value) -> i128 {
    match v {
        Value::Time(neg, d, h, m, s, us) => {
            let secs = ((i128::from(*d) * 24 + i128::from(*h)) * 60 + i128::from(*m)) * 60
                + i128::from(*s);
            let n = secs * 1_000_000 + i128::from(*us);
            if *neg {
                -n
            } else {
                n
            }
        }
        _ => 0,
    }
}

/// Exact comparison of two decimal texts (`-12.50`, `3`, `0.001`).
fn decimal_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let (na, ia, fa) = decimal_parts(a);
    let (nb, ib, fb) = decimal_parts(b);
    let zero = |i: &[u8], f: &[u8]| i.is_empty() && f.is_empty();
    let na = na && !zero(ia, fa);
    let nb = nb && !zero(ib, fb);
    let magnitude = ia
        .len()
        .cmp(&ib.len())
        .then_with(|| ia.cmp(ib))
        .then_with(|| fa.cmp(fb));
    match (na, nb) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

/// Sign, integer digits without leading zeros, fraction digits without trailing zeros.
fn decimal_parts(s: &[u8]) -> (bool, &[u8], &[u8]) {
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match s.iter().position(|&c| c == b'.') {
        Some(p) => (&s[..p], &s[p + 1..]),
        None => (s, &s[s.len()..]),
    };
    let lead = int.iter().take_while(|&&c| c == b'0').count();
    let trail = frac.iter().rev().take_while(|&&c| c == b'0').count();
    (neg, &int[lead..], &frac[..frac.len() - trail])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, data_type: &str, column_type: &str) -> ColumnInfo {
        ColumnInfo {
            data_type: data_type.into(),
            nullable: false,
            key: "PRI".into(),
            ..ColumnInfo::for_test(name, column_type)
        }
    }

    #[test]
    fn enum_members_parse_as_information_schema_writes_them() {
        assert_eq!(
            members(r"enum('zeta','it''s','a\\b','x,y','')"),
            vec!["zeta", "it's", r"a\b", "x,y", ""]
        );
    }

    #[test]
    fn enum_keys_compare_by_member_number() {
        let k = KeyColumn::new(&col("e", "enum", "enum('zeta','alpha','mid','beta')"));
        let mut p = Vec::new();
        let v = Value::from("alpha");
        assert_eq!(k.compare(Op::Gt, &v, &mut p).unwrap(), "`e` IN (3, 4)");
        assert_eq!(k.compare(Op::Ge, &v, &mut p).unwrap(), "`e` IN (2, 3, 4)");
        assert_eq!(k.compare(Op::Lt, &v, &mut p).unwrap(), "`e` IN (0, 1)");
        assert_eq!(k.compare(Op::Eq, &v, &mut p).unwrap(), "`e` = ?");
        assert_eq!(p, vec![Value::UInt(2)]);
        let last = Value::from("beta");
        assert_eq!(k.compare(Op::Gt, &last, &mut p).unwrap(), "FALSE");
        assert!(k.compare(Op::Gt, &Value::from("nope"), &mut p).is_err());
    }

    #[test]
    fn set_and_bit_keys_compare_as_numbers() {
        let s = KeyColumn::new(&col("s", "set", "set('z','a','m')"));
        let mut p = Vec::new();
        s.compare(Op::Gt, &Value::from("z,m"), &mut p).unwrap();
        s.compare(Op::Gt, &Value::from(""), &mut p).unwrap();
        let b = KeyColumn::new(&col("b", "bit", "bit(64)"));
        b.compare(Op::Gt, &Value::Bytes(vec![0xff; 8]), &mut p)
            .unwrap();
        b.compare(Op::Gt, &Value::Bytes(vec![1, 0]), &mut p)
            .unwrap();
        assert_eq!(
            p,
            vec![
                Value::UInt(5),
                Value::UInt(0),
                Value::UInt(u64::MAX),
                Value::UInt(256)
            ]
        );
    }

    #[test]
    fn composite_conditions_nest() {
        let key = vec![
            KeyColumn::new(&col("a", "int", "int(11)")),
            KeyColumn::new(&col("b", "enum", "enum('y','x')")),
        ];
        let mut p = Vec::new();
        let sql = after(&key, &[Value::Int(1), Value::from("y")], &mut p).unwrap();
        assert_eq!(sql, "((`a` > ?) OR ((`a` = ?) AND (`b` IN (2))))");
        assert_eq!(p, vec![Value::Int(1), Value::Int(1)]);
    }

    #[test]
    fn decimals_compare_exactly() {
        let c = |a: &str, b: &str| decimal_cmp(a.as_bytes(), b.as_bytes());
        assert_eq!(
            c(
                "1.000000000000000000000000000001",
                "1.000000000000000000000000000002"
            ),
            Ordering::Less
        );
        assert_eq!(c("-2.5", "-10"), Ordering::Greater);
        assert_eq!(c("0.00", "-0.00"), Ordering::Equal);
        assert_eq!(c("10.10", "10.1"), Ordering::Equal);
        assert_eq!(
            c(
                "99999999999999999999999999999999999.5",
                "100000000000000000000000000000000000"
            ),
            Ordering::Less
        );
        assert_eq!(c("-0.001", "0"), Ordering::Less);
    }

    #[test]
    fn times_and_dates_order_with_their_sign_and_fraction() {
        let t = |neg, h, us| Value::Time(neg, 0, h, 0, 0, us);
        assert_eq!(value_cmp(&t(true, 5, 0), &t(true, 4, 0)), Ordering::Less);
        assert_eq!(
            value_cmp(&t(false, 0, 1), &t(true, 0, 1)),
            Ordering::Greater
        );
        let d = |us| Value::Date(2024, 2, 29, 13, 45, 0, us);
        assert_eq!(value_cmp(&d(1), &d(2)), Ordering::Less);
        assert_eq!(
            value_cmp(&Value::Int(-1), &Value::UInt(u64::MAX)),
            Ordering::Less
        );
    }
}
