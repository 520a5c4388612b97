//! Rate limits: at most so many rows and bytes per second, for one copy or a whole
//! job. A limiter keeps the total taken since it started and makes a taker wait until
//! that total is within the rate, so the average over a run is honoured exactly and a
//! burst is at most one page.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub rows_per_second: Option<f64>,
    pub bytes_per_second: Option<f64>,
}

impl Limits {
    pub fn is_set(&self) -> bool {
        self.rows_per_second.is_some() || self.bytes_per_second.is_some()
    }
}

pub struct Throttle {
    limits: Limits,
    state: Mutex<(Instant, f64, f64)>,
}

impl Throttle {
    pub fn new(limits: Limits) -> Throttle {
        Throttle {
            limits,
            state: Mutex::new((Instant::now(), 0.0, 0.0)),
        }
    }

    /// Takes `rows` and `bytes` from the allowance, sleeping until they are due: the
    /// first page too, so no page goes faster than the rate.
    pub fn take(&self, rows: u64, bytes: u64) {
        let wait = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let due = |taken: f64, rate: Option<f64>| rate.map(|r| taken / r).unwrap_or(0.0);
            s.1 += rows as f64;
            s.2 += bytes as f64;
            let until =
                due(s.1, self.limits.rows_per_second).max(due(s.2, self.limits.bytes_per_second));
            until - s.0.elapsed().as_secs_f64()
        };
        if wait > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(wait));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_the_rows_taken_are_due() {
        let t = Throttle::new(Limits {
            rows_per_second: Some(1000.0),
            bytes_per_second: None,
        });
        let start = Instant::now();
        for _ in 0..4 {
            t.take(100, 0);
        }
        // The 4th page's 100 rows are due at 400 rows: 0.4 s, the first page's wait
        // included.
        let s = start.elapsed().as_secs_f64();
        assert!((0.39..0.55).contains(&s), "{s}");
    }

    #[test]
    fn the_first_page_waits_for_its_own_rows() {
        let t = Throttle::new(Limits {
            rows_per_second: None,
            bytes_per_second: Some(1000.0),
        });
        let start = Instant::now();
        t.take(1, 200);
        let s = start.elapsed().as_secs_f64();
        assert!((0.19..0.35).contains(&s), "{s}");
    }
}
