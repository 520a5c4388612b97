//! `.jobs`: the copies started with `background = true`, with their state, rows,
//! rows per second, ETA and limit; and what leaving the prompt does to those still
//! running (stops them after their current page).

use crate::job::background::Status;
use crate::job::Job;

/// The `.jobs` table, or a line saying there is none.
pub fn list(ctx: &Job) -> String {
    let all: Vec<Status> = ctx.background_copies().iter().map(|b| b.status()).collect();
    if all.is_empty() {
        return "no background copies: copy{..., background = true} starts one\n".into();
    }
    let rows: Vec<Vec<String>> = all.iter().map(row).collect();
    let mut out = crate::table_fmt::render(
        &["#", "copy", "state", "rows", "rows/s", "ETA", "limit"],
        &rows,
        &[true, false, false, true, true, true, true],
    );
    for s in all.iter().filter(|s| s.error.is_some()) {
        out.push_str(&format!(
            "#{} {}: {}\n",
            s.number,
            s.name,
            super::stopped::at_prompt(s.error.as_deref().unwrap_or_default())
        ));
    }
    out
}

fn row(s: &Status) -> Vec<String> {
    vec![
        s.number.to_string(),
        s.name.clone(),
        s.state.name().to_string(),
        format!("{}/~{}", s.rows, s.total),
        format!("{:.0}", s.rows_per_second),
        s.eta.map(duration).unwrap_or_default(),
        s.limit.map(|l| format!("{l:.0}/s")).unwrap_or_default(),
    ]
}

fn duration(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Stops the background copies still running (leaving the prompt), saying so.
pub fn stop_on_leaving(ctx: &Job) {
    let running = ctx
        .background_copies()
        .iter()
        .filter(|b| {
            matches!(
                b.status().state,
                crate::job::background::State::Running
                    | crate::job::background::State::Paused
                    | crate::job::background::State::Stopping
            )
        })
        .count();
    if running > 0 {
        eprintln!(
            "stopping {running} background cop{} after the current page \
             (what is committed stays; run it again to resume)",
            if running == 1 { "y" } else { "ies" }
        );
        ctx.stop_background();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(super::duration(4.4), "4 s");
        assert_eq!(super::duration(125.0), "2m05s");
        assert_eq!(super::duration(7300.0), "2h01m");
    }
}
