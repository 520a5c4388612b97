//! ferry: moves rows from one MySQL/MariaDB database into another, driven by Lua jobs.
//!
//! Layers, top down (CONTRIBUTING.md, "Layout"; `tests/layers.rs` holds them): the
//! command line and the commands (`cli`, `run`, `check`, `explain`, `verify`, `introspect`, `repl`,
//! `demo`, with the terminal in `progress`, `logging`, `signals`, `table_fmt`); the Lua
//! binding (`lua`); what a job means, without Lua (`job`); copy plans as plain data (`plan`);
//! the copy pipeline, without Lua or terminal (`engine`); the only module that speaks
//! SQL (`db`); connection specs (`conn_spec`); the one error that reaches `main`
//! (`error`); and the throwaway servers shared by the demo and the tests (`throwaway`).

pub(crate) mod check;
pub mod cli;
pub mod conn_spec;
pub mod db;
pub(crate) mod demo;
pub(crate) mod engine;
pub mod error;
pub(crate) mod explain;
pub(crate) mod introspect;
pub(crate) mod job;
pub(crate) mod log_target;
pub(crate) mod logging;
pub(crate) mod lua;
pub(crate) mod plan;
pub(crate) mod progress;
pub(crate) mod repl;
pub(crate) mod run;
pub(crate) mod signals;
pub mod table_fmt;
pub(crate) mod throttle;
pub mod throwaway;
pub(crate) mod ui;

/// The REPL's completer and schema cache, for the completion timing test
/// (`tests/repl_complete.rs`); not an API.
#[doc(hidden)]
pub mod repl_completion {
    pub use crate::repl::complete::{complete, Sources};
    pub use crate::repl::schema_cache::SchemaCache;
}
pub(crate) mod verify;
