//! The options of `copy{...}` that say how a copy runs rather than what it copies:
//! `since` and `since_overlap`, `write`, `workers`, the rate limits,
//! `defer_indexes`, rejects (`crate::lua::rejects`) and fan-out (`crate::lua::emit`).

use mlua::Value as LuaValue;

use crate::db::write::Method;
use crate::engine::Overlap;
use crate::job::CopyOptions;
use crate::lua::errors::BadOverlap;
use crate::lua::options::{show, Options};

/// How the copy runs: `since`, `since_overlap`, `write`, `workers`, rate limits,
/// `defer_indexes`, `on_error` and the rest of rejects, `emit`.
pub fn read(o: &mut Options) -> CopyOptions {
    let mut run = CopyOptions {
        since: o.string("since"),
        ..CopyOptions::default()
    };
    if let Some(v) = o.value("since_overlap") {
        match overlap(&v) {
            Ok(x) if run.since.is_some() => run.since_overlap = Some(x),
            Ok(_) => o.problem("copy: `since_overlap` needs `since`".into()),
            Err(m) => o.problem(format!("copy: {m}")),
        }
    }
    if let Some(w) = o.string("write") {
        match Method::parse(&w) {
            Ok(m) => run.method = Some(m),
            Err(m) => o.problem(format!("copy: {m}")),
        }
    }
    run.workers = o.number("workers", 1.0).map(|n| n as usize);
    run.limits.rows_per_second = o.number("max_rows_per_second", 1.0);
    run.limits.bytes_per_second = o.number("max_bytes_per_second", 1.0);
    run.defer_indexes = o.boolean("defer_indexes");
    run.rejects = crate::lua::rejects::read(o);
    run.emits = crate::lua::emit::read(o);
    run.background = o.boolean("background").unwrap_or(false);
    run
}

/// `since_overlap`: a number (`5`, `0.5`) or an interval (`"10 minutes"`).
fn overlap(v: &LuaValue) -> std::result::Result<Overlap, BadOverlap> {
    let bad = || BadOverlap { shown: show(v) };
    match v {
        LuaValue::Integer(n) if *n >= 0 => Ok(Overlap::Amount(n.to_string())),
        LuaValue::Number(n) if *n >= 0.0 && n.is_finite() => Ok(Overlap::Amount(n.to_string())),
        LuaValue::String(s) => {
            let s = s.to_string_lossy();
            let mut words = s.split_whitespace();
            let (Some(n), Some(unit), None) = (words.next(), words.next(), words.next()) else {
                return Err(bad());
            };
            let n: u64 = n.parse().map_err(|_| bad())?;
            let unit = unit.to_ascii_lowercase();
            let unit = match unit.trim_end_matches('s') {
                "second" | "sec" => "SECOND",
                "minute" | "min" => "MINUTE",
                "hour" => "HOUR",
                "day" => "DAY",
                "week" => "WEEK",
                _ => return Err(bad()),
            };
            Ok(Overlap::Interval(n, unit))
        }
        _ => Err(bad()),
    }
}
