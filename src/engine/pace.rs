//! The pace of one copy run in the background (the REPL's `copy{background = true}`):
//! paused or not, and a rows-per-second limit that can change while it runs. A copy's
//! readers take each page from it before sending the page on, so a pause or a new rate
//! takes effect between pages; a stop (the copy's own `Stop`) ends a pause.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::Stop;

#[derive(Debug, Default)]
pub struct Pace {
    paused: AtomicBool,
    /// The limit and, under it, the rows taken since it was set, and when it was set.
    rate: Mutex<Option<(f64, f64, Instant)>>,
}

impl Pace {
    pub fn new() -> Pace {
        Pace::default()
    }

    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// At most `rows_per_second` from now on (`None`: no limit).
    pub fn throttle(&self, rows_per_second: Option<f64>) {
        let mut rate = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        *rate = rows_per_second
            .filter(|r| *r > 0.0)
            .map(|r| (r, 0.0, Instant::now()));
    }

    pub fn rate(&self) -> Option<f64> {
        self.rate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|r| r.0)
    }

    /// Before a page of `rows` goes on: waits while paused (until `stop` is set), then
    /// until the rows are due under the limit.
    pub fn take(&self, rows: u64, stop: &Stop) {
        let mut paused = false;
        while self.is_paused() && !stop.is_set() {
            paused = true;
            std::thread::sleep(Duration::from_millis(20));
        }
        let wait = {
            let mut rate = self.rate.lock().unwrap_or_else(|p| p.into_inner());
            // The time paused earns no allowance: the limit starts over from here.
            if let (true, Some((_, taken, since))) = (paused, rate.as_mut()) {
                *taken = 0.0;
                *since = Instant::now();
            }
            match rate.as_mut() {
                Some((r, taken, since)) => {
                    *taken += rows as f64;
                    *taken / *r - since.elapsed().as_secs_f64()
                }
                None => 0.0,
            }
        };
        // In short steps, so a pause, a new rate or a stop is seen meanwhile.
        let until = Instant::now() + Duration::from_secs_f64(wait.max(0.0));
        while Instant::now() < until && !stop.is_set() {
            if self.rate().is_none() {
                break;
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_holds_pages_until_resumed_or_stopped() {
        let pace = std::sync::Arc::new(Pace::new());
        let stop = Stop::default();
        pace.pause();
        let (p, s) = (pace.clone(), stop.clone());
        let t = std::thread::spawn(move || {
            let started = Instant::now();
            p.take(10, &s);
            started.elapsed()
        });
        std::thread::sleep(Duration::from_millis(200));
        pace.resume();
        assert!(t.join().unwrap() >= Duration::from_millis(190));
        pace.pause();
        stop.stop(2);
        let started = Instant::now();
        pace.take(10, &stop);
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn a_pause_earns_no_burst() {
        let pace = std::sync::Arc::new(Pace::new());
        let stop = Stop::default();
        pace.throttle(Some(1000.0));
        pace.take(100, &stop);
        pace.pause();
        let p = pace.clone();
        let t = std::thread::spawn(move || {
            p.take(100, &Stop::default());
            let started = Instant::now();
            p.take(100, &Stop::default());
            started.elapsed()
        });
        std::thread::sleep(Duration::from_millis(400));
        pace.resume();
        // After the pause the second page still waits its 0.1 s.
        assert!(t.join().unwrap() >= Duration::from_millis(90));
    }

    #[test]
    fn a_rate_spaces_pages_and_can_be_lifted() {
        let pace = Pace::new();
        let stop = Stop::default();
        pace.throttle(Some(1000.0));
        let started = Instant::now();
        for _ in 0..3 {
            pace.take(100, &stop);
        }
        let s = started.elapsed().as_secs_f64();
        assert!((0.29..0.45).contains(&s), "{s}");
        pace.throttle(None);
        let started = Instant::now();
        pace.take(1_000_000, &stop);
        assert!(started.elapsed() < Duration::from_millis(50));
    }
}
