use std::process::ExitCode;

fn main() -> ExitCode {
    // The mysql crate keeps up to 128 freed packet buffers of up to 4 MiB each for
    // reuse: with BLOB rows that alone is half a gigabyte. Keep fewer, smaller ones.
    for (var, value) in [
        ("RUST_MYSQL_BUFFER_POOL_CAP", "32"),
        ("RUST_MYSQL_BUFFER_SIZE_CAP", "262144"),
    ] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, value);
        }
    }
    quiet_on_closed_stdout();
    let result = ferry::cli::main();
    // Threads of a stopped copy may still be closing their sessions: let them send
    // COM_QUIT, or the servers log "Aborted connection" for each.
    ferry::db::wait_for_sessions(std::time::Duration::from_secs(10));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Every message hides passwords already; URLs are masked once more here.
            eprintln!("error: {}", ferry::conn_spec::mask_urls(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}

/// A reader that closes ferry's stdout early (`ferry tables URL | head`) ends the run
/// quietly with success, as ripgrep does: `print!` panics on a broken pipe, and this
/// turns that one panic into an exit.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// The process's argv, captured before `main` so the passwords in it can be overwritten
/// once they are parsed (`ferry::cli::argv`). glibc calls `.init_array` functions with
/// `argc, argv, envp`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array"]
static CAPTURE_ARGV: unsafe extern "C" fn(
    std::ffi::c_int,
    *mut *mut std::ffi::c_char,
    *mut *mut std::ffi::c_char,
) = ferry::cli::argv::capture;

/// Rows come and go by the million, each value its own allocation, freed on another
/// thread than the one that made it: jemalloc's thread caches take about a quarter of
/// ferry's CPU time off what glibc's malloc spends on that.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read before `main`: blocks of 4 MiB and more (BLOB values) go
/// back to the system as soon as they are freed, so memory does not grow with the
/// largest rows seen; other freed memory is kept for a second (not ten) for reuse.
#[export_name = "_rjem_malloc_conf"]
pub static MALLOC_CONF: &[u8; 47] = b"oversize_threshold:4194304,dirty_decay_ms:1000\0";
