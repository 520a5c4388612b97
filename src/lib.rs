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
pub mod collation;
pub mod column_map;
pub mod conn_spec;
pub mod db;
pub mod demo;
pub mod engine;
pub mod error;
pub mod fit;
pub mod fork;
pub mod indexes;
pub mod introspect;
pub mod job;
pub mod keyset;
pub mod load_data;
pub mod lock;
pub mod logging;
pub mod lua;
pub mod packed;
pub mod plan;
pub mod predicate;
pub mod progress;
pub mod raw;
pub mod reader;
pub mod repl;
pub mod row_error;
pub mod run;
pub mod schema;
pub mod signals;
pub mod state;
pub mod table_fmt;
pub mod throttle;
pub mod throwaway;
pub mod value;
pub mod verify;
pub mod writer;
