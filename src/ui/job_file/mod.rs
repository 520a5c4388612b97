//! The job file as text the page edits: reading its top-level `copy` statements
//! (`parse.rs`), applying the page's edits so that everything else stays byte for byte
//! (`apply.rs`), literals (`lua_text.rs`), the edit model (`edits.rs`), the stdlib's
//! column transforms (`transforms.rs`).

mod apply;
pub mod edits;
pub mod lua_text;
pub mod new_file;
pub mod parse;
pub mod state;
pub mod transforms;

#[cfg_attr(not(test), allow(unused_imports))]
pub use apply::{apply, apply_at};
pub use edits::JobEdits;

#[cfg(test)]
mod tests;
