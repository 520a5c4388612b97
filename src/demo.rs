//! `ferry demo`: placeholder replaced below.
pub fn run(_rows: u64) -> crate::error::Result<()> {
    Ok(())
}
