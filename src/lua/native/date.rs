//! The Rust half of `ferry.date`: dates and times as the MySQL text ferry hands to Lua
//! (`YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.ffffff]`), parsed and formatted with strftime
//! formats (chrono) and shifted by calendar units. Wall-clock values carry no zone;
//! zones, where an instant is meant, are `zone`'s. `ferry.date` (stdlib/ferry/date.lua)
//! is the user-facing API.

use chrono::format::{parse, Item, Parsed, StrftimeItems};
use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, Timelike};
use mlua::{Lua, Table};

use super::{pair, Answer};

/// A wall-clock value: the moment, whether it has a time part, and how many fraction
/// digits its text shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Stamp {
    pub at: NaiveDateTime,
    pub time: bool,
    pub digits: usize,
}

pub(super) use super::{Refusal, Res};

/// Registers the `date_*` functions on the native table. Each returns its value, or
/// nil and a message saying what was wrong with the input.
pub fn register(lua: &Lua, t: &Table) -> mlua::Result<()> {
    /// Lua: `native.date_parse(s, format)` -> the MySQL text of s read with a format.
    fn parse_fn(_: &Lua, (s, f): (String, String)) -> mlua::Result<Answer<String>> {
        Ok(pair(parse_with(&s, &f).map(show)))
    }
    /// Lua: `native.date_format(s, format)` -> s written with a strftime format.
    fn format_fn(_: &Lua, (s, f): (String, String)) -> mlua::Result<Answer<String>> {
        Ok(pair(format_with(&s, &f)))
    }
    /// Lua: `native.date_add(s, n, unit)` -> s moved by n units (months clamp).
    fn add_fn(_: &Lua, (s, n, unit): (String, i64, String)) -> mlua::Result<Answer<String>> {
        Ok(pair(add(&s, n, &unit).map(show)))
    }
    /// Lua: `native.date_diff(a, b, unit)` -> whole units from b to a.
    fn diff_fn(_: &Lua, (a, b, unit): (String, String, String)) -> mlua::Result<Answer<i64>> {
        Ok(pair(diff(&a, &b, &unit)))
    }
    t.set("date_parse", lua.create_function(parse_fn)?)?;
    t.set("date_format", lua.create_function(format_fn)?)?;
    t.set("date_add", lua.create_function(add_fn)?)?;
    t.set("date_diff", lua.create_function(diff_fn)?)?;
    Ok(())
}

/// Reads `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` (or `T`), with up to 6 fraction digits.
pub(super) fn read(s: &str) -> Res<Stamp> {
    let bad = || {
        Refusal(format!(
            "not a date or datetime (YYYY-MM-DD[ HH:MM:SS[.ffffff]]): {s:?}"
        ))
    };
    let t = s.trim();
    if t.len() == 10 {
        let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| bad())?;
        return Ok(Stamp {
            at: d.and_hms_opt(0, 0, 0).ok_or_else(bad)?,
            time: false,
            digits: 0,
        });
    }
    let digits = t.find('.').map(|i| t.len() - i - 1).unwrap_or(0);
    if digits > 6 || t.len() < 19 {
        return Err(bad());
    }
    let at = NaiveDateTime::parse_from_str(&t.replacen('T', " ", 1), "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|_| bad())?;
    Ok(Stamp {
        at,
        time: true,
        digits,
    })
}

/// The MySQL text of a stamp: a date alone when it has no time part; a fraction with the
/// input's digits, or 6 when a fraction appeared.
pub(super) fn show(s: Stamp) -> String {
    if !s.time && s.at.time() == chrono::NaiveTime::MIN {
        return s.at.format("%Y-%m-%d").to_string();
    }
    let micros = s.at.nanosecond() / 1000;
    let digits = if s.digits == 0 && micros != 0 {
        6
    } else {
        s.digits
    };
    let mut out = s.at.format("%Y-%m-%d %H:%M:%S").to_string();
    if digits > 0 {
        out.push_str(&format!(".{micros:06}")[..=digits]);
    }
    out
}

fn items(format: &str) -> Res<Vec<Item<'_>>> {
    StrftimeItems::new(format)
        .parse()
        .map_err(|_| Refusal(format!("bad format {format:?}")))
}

/// Parses `s` with a strftime format: a datetime, or a date when the format has no
/// time; an offset (`%z`) in the text converts the result to UTC.
fn parse_with(s: &str, format: &str) -> Res<Stamp> {
    let mut p = Parsed::new();
    parse(&mut p, s, items(format)?.iter())
        .map_err(|e| format!("{s:?} does not match {format:?}: {e}"))?;
    let fail = |e: chrono::ParseError| format!("{s:?} does not match {format:?}: {e}");
    let digits = |at: NaiveDateTime| if at.nanosecond() >= 1000 { 6 } else { 0 };
    if p.offset().is_some() {
        let at = p.to_datetime().map_err(fail)?.naive_utc();
        return Ok(Stamp {
            at,
            time: true,
            digits: digits(at),
        });
    }
    if p.hour_div_12().is_some() || p.hour_mod_12().is_some() {
        let at = p.to_naive_datetime_with_offset(0).map_err(fail)?;
        return Ok(Stamp {
            at,
            time: true,
            digits: digits(at),
        });
    }
    let d = p.to_naive_date().map_err(fail)?;
    Ok(Stamp {
        at: d.and_time(chrono::NaiveTime::MIN),
        time: false,
        digits: 0,
    })
}

fn format_with(s: &str, format: &str) -> Res<String> {
    let v = read(s)?;
    Ok(v.at
        .format_with_items(items(format)?.into_iter())
        .to_string())
}

fn add(s: &str, n: i64, unit: &str) -> Res<Stamp> {
    let v = read(s)?;
    let over = || Refusal(format!("{s:?} plus {n} {unit} is out of range"));
    let months = |m: i64| -> Res<NaiveDateTime> {
        let k = Months::new(u32::try_from(m.unsigned_abs()).map_err(|_| over())?);
        let r = if m >= 0 {
            v.at.checked_add_months(k)
        } else {
            v.at.checked_sub_months(k)
        };
        r.ok_or_else(over)
    };
    let span = |d: Option<Duration>| d.and_then(|d| v.at.checked_add_signed(d)).ok_or_else(over);
    let (at, time) = match unit.trim_end_matches('s') {
        "second" => (span(Duration::try_seconds(n))?, true),
        "minute" => (span(Duration::try_minutes(n))?, true),
        "hour" => (span(Duration::try_hours(n))?, true),
        "day" => (span(Duration::try_days(n))?, v.time),
        "week" => (span(Duration::try_weeks(n))?, v.time),
        "month" => (months(n)?, v.time),
        "year" => (months(n.checked_mul(12).ok_or_else(over)?)?, v.time),
        _ => return Err(unknown_unit(unit)),
    };
    Ok(Stamp {
        at,
        time,
        digits: v.digits,
    })
}

fn unknown_unit(unit: &str) -> Refusal {
    Refusal(format!(
        "unknown unit {unit:?} (seconds, minutes, hours, days, weeks, months, years)"
    ))
}

/// Whole `unit`s from `b` to `a`, truncated toward zero; months and years count
/// calendar months as MySQL's TIMESTAMPDIFF does.
fn diff(a: &str, b: &str, unit: &str) -> Res<i64> {
    let (a, b) = (read(a)?.at, read(b)?.at);
    let d = a - b;
    Ok(match unit.trim_end_matches('s') {
        "second" => d.num_seconds(),
        "minute" => d.num_minutes(),
        "hour" => d.num_hours(),
        "day" => d.num_days(),
        "week" => d.num_weeks(),
        "month" => months_between(a, b),
        "year" => months_between(a, b) / 12,
        _ => return Err(unknown_unit(unit)),
    })
}

fn months_between(a: NaiveDateTime, b: NaiveDateTime) -> i64 {
    let m = |x: NaiveDateTime| i64::from(x.year()) * 12 + i64::from(x.month0());
    let rest = |x: NaiveDateTime| (x.day(), x.time());
    let months = m(a) - m(b);
    if months > 0 && rest(a) < rest(b) {
        months - 1
    } else if months < 0 && rest(a) > rest(b) {
        months + 1
    } else {
        months
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_s(s: &str, n: i64, unit: &str) -> String {
        show(add(s, n, unit).unwrap())
    }

    #[test]
    fn mysql_text_reads_and_shows_the_same() {
        for s in [
            "2024-02-29",
            "2024-02-29 13:14:15",
            "2024-02-29 13:14:15.250",
            "0001-01-01 00:00:00.000001",
        ] {
            assert_eq!(show(read(s).unwrap()), s);
        }
        assert_eq!(
            show(read("2024-02-29T01:02:03").unwrap()),
            "2024-02-29 01:02:03"
        );
        for bad in [
            "",
            "2024-02-30",
            "2024-13-01 00:00:00",
            "yesterday",
            "2024-01-01 00:00:00.1234567",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_and_format_with_strftime_formats() {
        let p = |s: &str, f: &str| parse_with(s, f).map(show);
        assert_eq!(p("03/12/2026", "%d/%m/%Y").unwrap(), "2026-12-03");
        assert_eq!(
            p("03/12/2026 7:05", "%d/%m/%Y %H:%M").unwrap(),
            "2026-12-03 07:05:00"
        );
        assert_eq!(
            p("2026-12-03 10:00:00.5 +0200", "%Y-%m-%d %H:%M:%S%.f %z").unwrap(),
            "2026-12-03 08:00:00.500000"
        );
        assert!(p("31/02/2026", "%d/%m/%Y").is_err());
        assert!(p("x", "%Q").is_err());
        assert_eq!(
            format_with("2026-12-03 07:05:00", "%d.%m.%Y %Hh%M").unwrap(),
            "03.12.2026 07h05"
        );
        assert!(format_with("2026-12-03", "%Q").is_err());
    }

    #[test]
    fn add_and_diff_count_calendar_units() {
        assert_eq!(add_s("2024-01-31", 1, "month"), "2024-02-29");
        assert_eq!(add_s("2024-02-29", -1, "years"), "2023-02-28");
        assert_eq!(
            add_s("2024-12-31 23:59:59.5", 1, "second"),
            "2025-01-01 00:00:00.5"
        );
        assert_eq!(add_s("2024-01-01", 36, "hours"), "2024-01-02 12:00:00");
        assert!(add("2024-01-01", 1, "fortnight").is_err());
        assert_eq!(diff("2024-03-01", "2024-01-31", "months").unwrap(), 1);
        assert_eq!(diff("2024-01-31", "2024-03-01", "month").unwrap(), -1);
        assert_eq!(diff("2025-02-28", "2024-02-29", "years").unwrap(), 0);
        assert_eq!(
            diff("2024-01-02 00:00:00", "2024-01-01 00:00:01", "days").unwrap(),
            0
        );
        assert_eq!(diff("2024-01-02", "2024-01-01", "seconds").unwrap(), 86400);
    }
}
