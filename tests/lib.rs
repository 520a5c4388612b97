//! Integration tests: the real `ferry` binary against two real MariaDB servers that
//! the tests start themselves (or `FERRY_TEST_MYSQL_URL`, one existing server for
//! both sides). Each test gets its own source and target databases.

mod support;

mod bad_input;
mod check;
mod check_env;
mod check_keys;
mod check_since;
mod cli;
mod ddl;
mod emit;
mod emit_checks;
mod explain;
mod faults;
mod fidelity;
mod hooks;
mod indexes;
mod layers;
mod lock;
mod lookup;
mod lookup_batch;
mod lookup_learn;
mod lookup_range;
mod lookup_yield;
mod many_tables;
mod mapping;
mod mask;
mod modes;
mod nosilent;
mod objects;
mod paging;
mod patched_rows;
mod readme;
mod rejects;
mod repl;
mod repl_complete;
mod repl_jobs;
mod repl_pager;
mod repl_session;
mod row_errors;
mod sample;
mod scripts;
mod security;
mod stdlib;
mod ui;
mod ui_browser;
mod ui_check;
mod ui_grid_browser;
mod ui_grid_edit_browser;
mod ui_runs;
mod ui_runs_browser;
mod ui_save;
mod verify;
mod whole_db_session;
