use std::process::ExitCode;

fn main() -> ExitCode {
    // Big values (BLOBs) come and go in large buffers. glibc's malloc raises its mmap
    // threshold after freeing a large block and then keeps such blocks in its arenas,
    // so memory would grow with the largest rows seen; a fixed threshold returns every
    // block of 256 KiB or more to the system when it is freed.
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
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
        // Rows come and go by the million: keep some freed heap instead of returning
        // it to the system and faulting it back in at the next page.
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
        libc::mallopt(libc::M_TOP_PAD, 2 << 20);
    }
    match ferry::cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
