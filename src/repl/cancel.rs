//! Ctrl-C while a statement runs: the query is ended on its server (`KILL QUERY` from a
//! side session of the same server, on each side that has a session) and the prompt
//! comes back at once; Lua that loops without touching a database is stopped by a
//! hook. The terminal sends SIGINT for Ctrl-C while the statement runs. At the prompt itself Ctrl-C is the line editor's (it clears the line).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mlua::{HookTriggers, Lua, VmState};

use crate::conn_spec::ConnSpec;
use crate::db::{Db, Role};

/// Set by SIGINT.
static PRESSED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    PRESSED.store(true, Ordering::SeqCst);
}

/// A session a statement may be running on.
#[derive(Clone)]
pub struct Busy {
    pub spec: ConnSpec,
    pub role: Role,
    pub id: u32,
}

/// The Ctrl-C watcher: a SIGINT handler that sets a flag, and a thread that ends the
/// queries of the sessions in `busy` when it is set.
pub struct Canceller {
    /// Set to SIGINT by Ctrl-C: a running copy stops after its current page.
    pub copy_stop: Arc<AtomicUsize>,
    pressed: &'static AtomicBool,
    cancelled: Arc<AtomicBool>,
    busy: Arc<Mutex<Vec<Busy>>>,
}

impl Canceller {
    /// Installs the handler and starts the watcher (once per prompt, after the line
    /// editor is made: the editor's own SIGINT handler, which would leave a signal for
    /// its next line, is replaced, not chained).
    pub fn install() -> Canceller {
        let pressed = &PRESSED;
        let cancelled = Arc::new(AtomicBool::new(false));
        let busy: Arc<Mutex<Vec<Busy>>> = Arc::default();
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        }
        let copy_stop = Arc::new(AtomicUsize::new(0));
        let (p, c, b, s) = (pressed, cancelled.clone(), busy.clone(), copy_stop.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(10));
            if !p.swap(false, Ordering::SeqCst) {
                continue;
            }
            c.store(true, Ordering::SeqCst);
            s.store(libc::SIGINT as usize, Ordering::SeqCst);
            let targets = b.lock().map(|g| g.clone()).unwrap_or_default();
            for t in targets {
                match Db::connect(&t.spec, t.role) {
                    Ok(mut side) => {
                        if let Err(e) = side.kill_query(t.id) {
                            log::warn!("cancelling the query: {e}");
                        }
                    }
                    Err(e) => log::warn!("cancelling the query: {e}"),
                }
            }
        });
        Canceller {
            copy_stop,
            pressed,
            cancelled,
            busy,
        }
    }

    /// Runs `f` (one statement) with Ctrl-C ending the queries of `busy`, and says
    /// whether Ctrl-C was pressed meanwhile.
    pub fn during<R>(&self, lua: &Lua, busy: Vec<Busy>, f: impl FnOnce() -> R) -> (R, bool) {
        self.pressed.store(false, Ordering::SeqCst);
        self.cancelled.store(false, Ordering::SeqCst);
        self.copy_stop.store(0, Ordering::SeqCst);
        if let Ok(mut b) = self.busy.lock() {
            *b = busy;
        }
        let (pressed, cancelled) = (self.pressed, self.cancelled.clone());
        // Global: coroutines made meanwhile (a copy's rows run together, for its
        // lookups) get it too.
        let _ = lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(10_000),
            move |_, _| {
                if pressed.load(Ordering::SeqCst) || cancelled.load(Ordering::SeqCst) {
                    cancelled.store(true, Ordering::SeqCst);
                    return Err(mlua::Error::runtime("cancelled by Ctrl-C"));
                }
                Ok(VmState::Continue)
            },
        );
        let r = {
            let _keys = SignalKeys::on();
            f()
        };
        lua.remove_global_hook();
        if let Ok(mut b) = self.busy.lock() {
            b.clear();
        }
        let was = self.cancelled.load(Ordering::SeqCst) || self.pressed.load(Ordering::SeqCst);
        (r, was)
    }
}

/// The terminal's Ctrl-C turned into SIGINT while a statement runs: the line editor
/// leaves the terminal raw between lines (Ctrl-C a plain key), which would hold it back
/// until the next prompt. Dropping it puts the terminal back as it was.
struct SignalKeys(Option<libc::termios>);

impl SignalKeys {
    fn on() -> SignalKeys {
        // SAFETY: tcgetattr and tcsetattr read and write the termios given, on stdin.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
                return SignalKeys(None);
            }
            let saved = t;
            t.c_lflag |= libc::ISIG;
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t);
            SignalKeys(Some(saved))
        }
    }
}

impl Drop for SignalKeys {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            // SAFETY: as in `on`.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t) };
        }
    }
}
