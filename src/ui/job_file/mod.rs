//! The job file as text the page edits: reading its top-level `copy` statements
//! (`parse.rs`), applying the page's edits so that everything else stays byte for byte
//! (`apply.rs`, with `layout.rs` for lines and indentation and `modules.rs` for the
//! stdlib modules transforms call), literals (`lua_text.rs`), the edit model
//! (`edits.rs`), what GET /api/job says of each copy's text (`state.rs`), a new file's
//! password-free first lines (`new_file.rs`), the stdlib's column transforms
//! (`transforms.rs`).

/// An edit the page cannot make, or a text it cannot read: the message names the copy,
/// the column or the line.
#[derive(Debug, Clone, PartialEq)]
pub struct EditError(pub String);

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EditError {}

impl From<&str> for EditError {
    fn from(s: &str) -> Self {
        EditError(s.to_string())
    }
}

/// `EditError(format!(...))`
macro_rules! fail {
    ($($t:tt)*) => {
        $crate::ui::job_file::EditError(format!($($t)*))
    };
}

mod apply;
pub mod edits;
mod layout;
pub mod lua_text;
mod modules;
pub mod new_file;
pub mod parse;
pub mod state;
pub mod transforms;

#[cfg_attr(not(test), allow(unused_imports))]
pub use apply::{apply, apply_at};
pub use edits::JobEdits;

#[cfg(test)]
mod tests;
