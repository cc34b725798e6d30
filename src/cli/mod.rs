//! The whole command-line surface: the flags as clap sees them (`args`), the long texts of
//! `--help` (`help`), the manual page (`man`) and the shell completions (`completions`).
//! Nothing here is validated beyond its type, and nothing here runs a command: `config` turns
//! the flags into checked configuration, `commands` runs them.

#![allow(
    clippy::disallowed_methods,
    reason = "cli reads the command line itself and the log settings (NO_COLOR, RUST_LOG), with config"
)]

mod args;
pub mod completions;
pub mod help;
pub mod man;

pub use args::*;
