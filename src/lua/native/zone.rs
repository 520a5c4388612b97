//! Time zones for `ferry.date`: "UTC", fixed offsets and named IANA zones (chrono-tz,
//! DST-correct), and what needs one: unix time and conversions between zones. A local
//! time that happens twice is its first occurrence; one that never happens moves
//! forward by the gap.

use chrono::{Duration, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;
use mlua::{Lua, Table};

use super::date::{read, show, Res, Stamp};
use super::{pair, Answer, Refusal};

/// Registers `date_to_unix`, `date_from_unix` and `date_convert` on the native table.
pub fn register(lua: &Lua, t: &Table) -> mlua::Result<()> {
    /// Lua: `native.date_to_unix(s, zone)` -> seconds since 1970 (a float with a fraction).
    fn to_unix_fn(_: &Lua, (s, zone): (String, String)) -> mlua::Result<Answer<mlua::Value>> {
        Ok(pair(to_unix(&s, &zone).map(|(secs, micros)| {
            if micros == 0 {
                mlua::Value::Integer(secs)
            } else {
                mlua::Value::Number(secs as f64 + f64::from(micros) / 1e6)
            }
        })))
    }
    /// Lua: `native.date_from_unix(n, zone)` -> the wall-clock text in zone.
    fn from_unix_fn(_: &Lua, (n, zone): (mlua::Value, String)) -> mlua::Result<Answer<String>> {
        let (secs, micros) = match n {
            mlua::Value::Integer(i) => (i, 0),
            mlua::Value::Number(f) if f.is_finite() && f.abs() < 1e15 => {
                let micros = (f * 1e6).round() as i64;
                (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000))
            }
            other => return Ok(pair(Err(format!("not a unix time: {other:?}").into()))),
        };
        Ok(pair(from_unix(secs, micros as u32, &zone).map(show)))
    }
    /// Lua: `native.date_convert(s, from_zone, to_zone)` -> the same instant in to_zone.
    fn convert_fn(
        _: &Lua,
        (s, from, to): (String, String, String),
    ) -> mlua::Result<Answer<String>> {
        Ok(pair(convert(&s, &from, &to).map(show)))
    }
    t.set("date_to_unix", lua.create_function(to_unix_fn)?)?;
    t.set("date_from_unix", lua.create_function(from_unix_fn)?)?;
    t.set("date_convert", lua.create_function(convert_fn)?)?;
    Ok(())
}

/// A zone: "UTC", a fixed offset ("+05:30", "-0800") or an IANA name ("Europe/Paris").
#[derive(Debug, Clone, Copy)]
enum Zone {
    Fixed(FixedOffset),
    Named(Tz),
}

fn zone(name: &str) -> Res<Zone> {
    if name.eq_ignore_ascii_case("utc") || name == "Z" {
        return Ok(Zone::Fixed(FixedOffset::east_opt(0).expect("zero offset")));
    }
    if name.starts_with(['+', '-']) {
        let digits: String = name[1..].chars().filter(|c| *c != ':').collect();
        let (h, m) = (digits.get(..2), digits.get(2..).filter(|m| m.len() == 2));
        if let (Some(Ok(h)), Some(Ok(m))) = (h.map(str::parse::<i32>), m.map(str::parse::<i32>)) {
            let secs = (h * 3600 + m * 60) * if name.starts_with('-') { -1 } else { 1 };
            if let Some(o) = FixedOffset::east_opt(secs) {
                return Ok(Zone::Fixed(o));
            }
        }
    }
    name.parse::<Tz>()
        .map(Zone::Named)
        .map_err(|_| Refusal(format!("unknown time zone {name:?} (an IANA name like \"Europe/Paris\", \"UTC\" or \"+02:00\")")))
}

/// The UTC instant of a wall-clock value in `zone`. A time that happens twice (the hour
/// DST ends) is its first occurrence; a time that never happens (the hour DST starts
/// skips) moves forward by the gap, read with the offset in force before it.
fn to_utc(at: NaiveDateTime, zone: Zone) -> NaiveDateTime {
    match zone {
        Zone::Fixed(o) => at - Duration::seconds(i64::from(o.local_minus_utc())),
        Zone::Named(tz) => match tz.from_local_datetime(&at) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.naive_utc(),
            LocalResult::None => {
                let before = tz.offset_from_utc_datetime(&(at - Duration::days(1))).fix();
                at - Duration::seconds(i64::from(before.local_minus_utc()))
            }
        },
    }
}

fn from_utc(at: NaiveDateTime, zone: Zone) -> NaiveDateTime {
    match zone {
        Zone::Fixed(o) => at + Duration::seconds(i64::from(o.local_minus_utc())),
        Zone::Named(tz) => tz.from_utc_datetime(&at).naive_local(),
    }
}

fn to_unix(s: &str, zone_name: &str) -> Res<(i64, u32)> {
    let v = read(s)?;
    let utc = to_utc(v.at, zone(zone_name)?).and_utc();
    Ok((utc.timestamp(), utc.timestamp_subsec_micros()))
}

fn from_unix(secs: i64, micros: u32, zone_name: &str) -> Res<Stamp> {
    let utc = chrono::DateTime::from_timestamp(secs, micros * 1000)
        .ok_or_else(|| format!("unix time {secs} is out of range"))?;
    let at = from_utc(utc.naive_utc(), zone(zone_name)?);
    Ok(Stamp {
        at,
        time: true,
        digits: if micros == 0 { 0 } else { 6 },
    })
}

fn convert(s: &str, from: &str, to: &str) -> Res<Stamp> {
    let v = read(s)?;
    let at = from_utc(to_utc(v.at, zone(from)?), zone(to)?);
    Ok(Stamp {
        at,
        time: true,
        ..v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_dst_correct() {
        let c = |s: &str, a: &str, b: &str| show(convert(s, a, b).unwrap());
        assert_eq!(
            c("2024-07-01 12:00:00", "UTC", "Europe/Paris"),
            "2024-07-01 14:00:00"
        );
        assert_eq!(
            c("2024-01-01 12:00:00", "UTC", "Europe/Paris"),
            "2024-01-01 13:00:00"
        );
        // Spring forward: 02:30 does not exist in Paris; it reads as 03:30 CEST.
        assert_eq!(
            c("2024-03-31 02:30:00", "Europe/Paris", "UTC"),
            "2024-03-31 01:30:00"
        );
        // Fall back: 02:30 happens twice; the first (CEST) is meant.
        assert_eq!(
            c("2024-10-27 02:30:00", "Europe/Paris", "UTC"),
            "2024-10-27 00:30:00"
        );
        assert_eq!(
            c("2024-10-27 01:30:00", "UTC", "Europe/Paris"),
            "2024-10-27 02:30:00"
        );
        assert_eq!(
            c("2024-01-01 00:00:00", "+05:30", "-0100"),
            "2023-12-31 17:30:00"
        );
        assert!(convert("2024-01-01", "Mars/Olympus", "UTC").is_err());
        assert_eq!(
            to_unix("1970-01-02 01:00:00", "Europe/London").unwrap(),
            (86400, 0)
        );
        assert_eq!(
            show(from_unix(1_700_000_000, 500_000, "America/New_York").unwrap()),
            "2023-11-14 17:13:20.500000"
        );
    }
}
