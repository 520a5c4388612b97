//! ferry: moves rows from one MySQL/MariaDB database into another, driven by Lua jobs.
//!
//! Layers, each in its own module: the command line (`cli`), connection URLs
//! (`conn_spec`), MySQL sessions and schema reads (`db`, `schema`, `value`), plans as
//! plain data (`plan`), the copy engine (`engine`, `reader`, `writer`, `raw`, `progress`,
//! `indexes`), the job layer, which knows no Lua (`job`: settings, sessions, what a copy
//! means, the engine's tasks), the Lua binding of the job API (`lua`), the commands
//! built on them (`run`, `verify`, `introspect`, `demo`), and the throwaway servers
//! shared by the demo and the tests (`throwaway`).

pub mod cli;
pub mod conn_spec;
pub mod db;
pub(crate) mod demo;
pub(crate) mod engine;
pub mod error;
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
pub(crate) mod verify;
