//! Which values of a source column a target column may not hold, decided from the two
//! column definitions alone: for each pair, the tests (`db::hazards::Test`) that the
//! scan must run, each with its hazard kind, whether it blocks, and the fix to suggest.
//! A target that holds every value of its source (same or wider type, same or larger
//! character set, nullability kept) gets no test, so it costs no scan.

use crate::db::hazards::Test;
use crate::db::schema::ColumnInfo;

use crate::db::shape::{charset_holds, max_bytes, max_chars, numeric_bounds, shape, Shape};

/// What a scan looks for in one column pair.
#[derive(Debug, Clone)]
pub struct Planned {
    pub kind: &'static str,
    pub test: Test,
    pub blocking: bool,
    pub fix: String,
}

fn planned(kind: &'static str, test: Test, blocking: bool, fix: String) -> Planned {
    Planned {
        kind,
        test,
        blocking,
        fix,
    }
}

/// A pair of columns being compared, with their shapes.
struct Pair<'a> {
    target_server: &'a Server,
    source: &'a ColumnInfo,
    target: &'a ColumnInfo,
    s: Shape,
    t: Shape,
}

impl Pair<'_> {
    fn widen(&self, what: &str) -> String {
        format!(
            "widen the target column ({}){what}, or shorten the values in a transform",
            self.target.column_type
        )
    }
}

/// What of the target server decides what its columns hold.
#[derive(Debug, Clone, Default)]
pub struct Server {
    /// `VERSION()`: `10.11.6-MariaDB`, `8.0.36`.
    pub version: String,
}

impl Server {
    /// The latest TIMESTAMP: MariaDB 11.5 and later hold up to 2106 (on 64-bit
    /// builds), others up to 2038.
    fn timestamp_max(&self) -> &'static str {
        crate::db::shape::timestamp_max(&self.version)
    }
}

/// The tests that the values of `source` need against `target` on `server` (empty: it
/// holds them all).
pub fn column_checks(server: &Server, source: &ColumnInfo, target: &ColumnInfo) -> Vec<Planned> {
    let p = Pair {
        target_server: server,
        source,
        target,
        s: shape(source),
        t: shape(target),
    };
    let mut out = Vec::new();
    // The same definition holds every value of itself (a TIMESTAMP's range aside, which
    // differs between server versions), NULLs included when the target takes them.
    let same = source.column_type == target.column_type
        && source.charset == target.charset
        && (target.nullable || !source.nullable)
        && !target.data_type.eq_ignore_ascii_case("timestamp");
    if same {
        return out;
    }
    if source.nullable && !target.nullable && !target.is_auto_increment() {
        out.push(planned(
            "not_null",
            Test::Null,
            true,
            format!(
                "make the target column NULL-able, or map the column through a function \
                 that gives a value for NULL{}",
                match &target.default {
                    Some(d) if d != "NULL" => format!(" (the target's default is {d})"),
                    _ => String::new(),
                }
            ),
        ));
    }
    match &p.t {
        Shape::Text {
            chars,
            bytes,
            fixed,
        } => text_checks(&p, *chars, *bytes, *fixed, &mut out),
        Shape::Binary(n) => {
            let per_char = source.charset.as_deref().map_or(1, max_bytes);
            if max_chars(&p.s).is_none_or(|m| m * per_char > *n) {
                let test = Test::Bytes {
                    max: *n,
                    charset: None,
                };
                out.push(planned("truncate", test, true, p.widen("")));
            }
        }
        Shape::Int { min, max } => int_checks(&p, *min, *max, &mut out),
        Shape::Decimal {
            digits,
            scale,
            unsigned,
        } => decimal_checks(&p, *digits, *scale, *unsigned, &mut out),
        Shape::Float if p.s == Shape::Double => {
            out.push(planned(
                "range",
                Test::FloatRange,
                true,
                "make the target column DOUBLE".into(),
            ));
            out.push(planned(
                "float_precision",
                Test::FloatPrecision,
                true,
                "make the target column DOUBLE, or round the values in a transform if the \
                 digits do not matter"
                    .into(),
            ));
        }
        Shape::DateTime(x) | Shape::Time(x) | Shape::Timestamp(x) => {
            temporal_checks(&p, *x, &mut out)
        }
        Shape::Date if matches!(p.s, Shape::DateTime(_) | Shape::Timestamp(_)) => {
            out.push(planned(
                "truncate",
                Test::TimeOfDay,
                true,
                "make the target column DATETIME, or keep the date alone in a transform".into(),
            ))
        }
        Shape::Enum(members) | Shape::Set(members) => enum_checks(&p, members, &mut out),
        _ => {}
    }
    out
}

fn text_checks(
    p: &Pair,
    chars: Option<u64>,
    bytes: Option<u64>,
    fixed: bool,
    out: &mut Vec<Planned>,
) {
    let tcs = p.target.charset.as_deref().unwrap_or("utf8mb4");
    let smax = max_chars(&p.s);
    if let Some(n) = chars {
        if smax.is_none_or(|m| m > n) {
            out.push(planned("truncate", Test::Chars(n), true, p.widen("")));
        }
    }
    if let Some(n) = bytes {
        if smax.is_none_or(|m| m * max_bytes(tcs) > n) {
            let test = Test::Bytes {
                max: n,
                charset: Some(tcs.to_string()),
            };
            out.push(planned(
                "truncate",
                test,
                true,
                p.widen(" to a longer TEXT type"),
            ));
        }
    }
    if let Some(scs) = &p.source.charset {
        if !charset_holds(tcs, scs) {
            out.push(planned(
                "charset",
                Test::Charset(tcs.to_string()),
                true,
                "give the target column a character set that holds them (utf8mb4), \
                 or replace the characters in a transform"
                    .into(),
            ));
        }
    }
    let source_pads = matches!(p.s, Shape::Text { fixed: true, .. });
    if fixed && p.source.charset.is_some() && !source_pads {
        out.push(planned(
            "char_trailing_space",
            Test::TrailingSpace,
            true,
            "make the target column VARCHAR, or trim the values in a transform if the \
             spaces do not matter"
                .into(),
        ));
    }
}

fn int_checks(p: &Pair, min: i128, max: i128, out: &mut Vec<Planned>) {
    let fits = match &p.s {
        Shape::Int { min: a, max: b } => *a >= min && *b <= max,
        Shape::Decimal { .. } => {
            numeric_bounds(&p.s).is_some_and(|(lo, hi)| lo >= min as f64 && hi <= max as f64 + 1.0)
        }
        _ => false,
    };
    if !fits && is_numeric(&p.s) {
        out.push(planned(
            "range",
            Test::Range {
                min: min.to_string(),
                max: max.to_string(),
            },
            true,
            format!(
                "widen the target column ({}), e.g. to BIGINT or a signed type",
                p.target.column_type
            ),
        ));
    }
    if matches!(p.s, Shape::Float | Shape::Double)
        || matches!(p.s, Shape::Decimal { scale, .. } if scale > 0)
    {
        out.push(planned(
            "scale",
            Test::Scale(0),
            true,
            format!(
                "make the target column DECIMAL with the source's scale ({})",
                p.source.column_type
            ),
        ));
    }
}

fn decimal_checks(p: &Pair, digits: u32, scale: u32, unsigned: bool, out: &mut Vec<Planned>) {
    let top = 10f64.powi(digits.saturating_sub(scale) as i32);
    let lo = if unsigned { 0.0 } else { -top };
    let fits = numeric_bounds(&p.s).is_some_and(|(a, b)| a >= lo && b <= top);
    if !fits && is_numeric(&p.s) {
        let whole = if digits > scale {
            "9".repeat((digits - scale) as usize)
        } else {
            "0".into()
        };
        let nines = if scale > 0 {
            format!("{whole}.{}", "9".repeat(scale as usize))
        } else {
            whole
        };
        out.push(planned(
            "range",
            Test::Range {
                min: if unsigned {
                    "0".into()
                } else {
                    format!("-{nines}")
                },
                max: nines,
            },
            true,
            format!(
                "widen the target column ({}): more digits before the point",
                p.target.column_type
            ),
        ));
    }
    let loses = match p.s {
        Shape::Decimal { scale: ss, .. } => ss > scale,
        Shape::Float | Shape::Double => true,
        _ => false,
    };
    if loses {
        out.push(planned(
            "scale",
            Test::Scale(scale),
            true,
            format!(
                "give the target column the source's scale ({}), or round the values in \
                 a transform if the digits do not matter",
                p.source.column_type
            ),
        ));
    }
}

fn temporal_checks(p: &Pair, precision: u8, out: &mut Vec<Planned>) {
    let sp = match p.s {
        Shape::DateTime(x) | Shape::Time(x) | Shape::Timestamp(x) => x,
        _ => 0,
    };
    if sp > precision {
        out.push(planned(
            "fraction",
            Test::Fraction(precision),
            true,
            format!(
                "give the target column the source's precision ({}), or round the values \
                 in a transform",
                p.source.column_type
            ),
        ));
    }
    if matches!(p.t, Shape::Timestamp(_)) && matches!(p.s, Shape::Date | Shape::DateTime(_)) {
        out.push(planned(
            "timestamp_range",
            Test::DateRange {
                min: "1970-01-01 00:00:01".into(),
                max: p.target_server.timestamp_max().into(),
            },
            true,
            format!(
                "make the target column DATETIME, which holds years 1000 to 9999 \
                 (TIMESTAMP: 1970-01-01 00:00:01 to {} UTC)",
                p.target_server.timestamp_max()
            ),
        ));
        out.push(planned(
            "zero_date",
            Test::ZeroInDate,
            true,
            "make the target column DATETIME (TIMESTAMP holds no zero month or day), or \
             fix the dates in a transform"
                .into(),
        ));
    }
}

fn enum_checks(p: &Pair, members: &[String], out: &mut Vec<Planned>) {
    let holds = match &p.s {
        Shape::Enum(sm) => sm.iter().all(|m| members.contains(m)),
        Shape::Set(sm) => matches!(p.t, Shape::Set(_)) && sm.iter().all(|m| members.contains(m)),
        _ => false,
    };
    if let (Shape::Set(sm), Shape::Set(_), true) = (&p.s, &p.t, holds) {
        // Held, but a value lists its members in the target's order.
        let at = |m: &String| members.iter().position(|t| t == m);
        let mut pairs = Vec::new();
        for (i, a) in sm.iter().enumerate() {
            for b in &sm[i + 1..] {
                if at(a) > at(b) {
                    pairs.push((a.clone(), b.clone()));
                }
            }
        }
        if !pairs.is_empty() {
            out.push(planned(
                "set_order",
                Test::BothMembers(pairs),
                false,
                format!(
                    "none needed if the order does not matter: the target lists members in \
                     its own order ({}); else give it the source's",
                    p.target.column_type
                ),
            ));
        }
    }
    if !holds && p.source.charset.is_some() {
        let test = match p.t {
            Shape::Set(_) => Test::NotSubset(members.to_vec()),
            _ => Test::NotIn(members.to_vec()),
        };
        out.push(planned(
            "enum",
            test,
            true,
            format!(
                "add the values to the target's list ({}), or map them in a transform",
                p.target.column_type
            ),
        ));
    }
}

fn is_numeric(s: &Shape) -> bool {
    matches!(
        s,
        Shape::Int { .. } | Shape::Decimal { .. } | Shape::Float | Shape::Double
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str, t: &str) -> Vec<&'static str> {
        let mut src = ColumnInfo::for_test("a", s);
        let mut dst = ColumnInfo::for_test("a", t);
        for c in [&mut src, &mut dst] {
            if matches!(
                c.data_type.as_str(),
                "char" | "varchar" | "text" | "enum" | "set"
            ) {
                c.charset = Some("utf8mb4".into());
            }
        }
        column_checks(&Server::default(), &src, &dst)
            .iter()
            .map(|p| p.kind)
            .collect()
    }

    #[test]
    fn same_or_wider_needs_no_scan() {
        for (s, t) in [
            ("varchar(10)", "varchar(10)"),
            ("varchar(10)", "varchar(20)"),
            ("varchar(10)", "text"),
            ("int(11)", "bigint(20)"),
            ("smallint(5) unsigned", "int(11)"),
            ("decimal(10,2)", "decimal(12,4)"),
            ("datetime(3)", "datetime(6)"),
            ("float", "double"),
            ("enum('a','b')", "enum('a','b','c')"),
            ("char(5)", "char(5)"),
            ("date", "datetime"),
            ("int(11)", "varchar(11)"),
        ] {
            assert_eq!(kinds(s, t), Vec::<&str>::new(), "{s} -> {t}");
        }
    }

    #[test]
    fn narrower_needs_a_scan() {
        assert_eq!(kinds("varchar(10)", "varchar(5)"), ["truncate"]);
        assert_eq!(kinds("int(11)", "tinyint(4)"), ["range"]);
        assert_eq!(kinds("int(11)", "int(10) unsigned"), ["range"]);
        assert_eq!(kinds("decimal(10,4)", "decimal(10,2)"), ["scale"]);
        assert_eq!(kinds("decimal(10,2)", "decimal(5,2)"), ["range"]);
        assert_eq!(kinds("datetime(6)", "datetime"), ["fraction"]);
        assert_eq!(kinds("double", "float"), ["range", "float_precision"]);
        assert_eq!(kinds("set('a','b','c')", "set('c','b','a')"), ["set_order"]);
        assert_eq!(
            kinds("set('a','b')", "set('a','b','c')"),
            Vec::<&str>::new()
        );
        assert_eq!(kinds("varchar(5)", "char(5)"), ["char_trailing_space"]);
        assert_eq!(kinds("enum('a','b')", "enum('a')"), ["enum"]);
        assert_eq!(
            kinds("datetime", "timestamp"),
            ["timestamp_range", "zero_date"]
        );
        assert_eq!(kinds("double", "int(11)"), ["range", "scale"]);
        assert_eq!(kinds("datetime", "date"), ["truncate"]);
        assert_eq!(kinds("year(4)", "tinyint(4)"), ["range"]);
        assert_eq!(kinds("year(4)", "smallint(6)"), Vec::<&str>::new());
        assert_eq!(
            crate::db::shape::members("enum('a','it''s','c,d')"),
            ["a", "it's", "c,d"]
        );
    }

    #[test]
    fn timestamp_range_by_server() {
        let v = |s: &str| Server { version: s.into() }.timestamp_max();
        assert_eq!(v("10.11.6-MariaDB-0+deb12u1"), "2038-01-19 03:14:07");
        assert_eq!(v("11.8.2-MariaDB"), "2106-02-07 06:28:15");
        assert_eq!(v("8.4.0"), "2038-01-19 03:14:07");
    }

    #[test]
    fn character_sets_and_nulls() {
        let mut s = ColumnInfo::for_test("a", "varchar(10)");
        s.charset = Some("utf8mb4".into());
        let mut t = s.clone();
        t.charset = Some("utf8mb3".into());
        t.nullable = false;
        let k: Vec<_> = column_checks(&Server::default(), &s, &t)
            .iter()
            .map(|p| p.kind)
            .collect();
        assert_eq!(k, ["not_null", "charset"]);
        assert!(column_checks(&Server::default(), &t, &s).is_empty());
    }
}
