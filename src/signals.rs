//! Ctrl-C and SIGTERM: the first one asks every copy to stop after the page it is
//! writing (state is saved with each page), and the run then exits 130 or 143; a second
//! one ends the process at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};

fn flag() -> &'static Arc<AtomicUsize> {
    static FLAG: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

/// Installs the handlers (once per process).
pub fn install() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let seen = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            // A second signal while the first is being honoured exits at once: the
            // shutdown check runs before the handler that marks the first one seen.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, seen.clone());
            let _ = signal_hook::flag::register(sig, seen.clone());
            let _ = signal_hook::flag::register_usize(sig, flag().clone(), sig as usize);
        }
    });
}

/// The signal that asked the run to stop, if any.
pub fn stopped() -> Option<i32> {
    match flag().load(Ordering::SeqCst) {
        0 => None,
        s => Some(s as i32),
    }
}

/// The stop token these handlers set, for the engine (`EngineConfig::stop`).
pub fn stop() -> crate::engine::Stop {
    crate::engine::Stop::from_flag(flag().clone())
}
