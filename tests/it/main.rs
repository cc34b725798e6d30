//! The integration tests: the real binary (or the library client) against an in-process
//! sandbox over real loopback HTTP. One test binary, so the 2-core CI links once.

#![allow(
    clippy::disallowed_methods,
    reason = "tests read their own environment (PATH, UPDATE_SCREENSHOT)"
)]

mod architecture;
mod bombs;
mod bounds;
mod claims;
mod client;
mod config;
mod doctor;
mod engine;
mod excel_results;
mod experience;
mod export;
mod field;
mod fix_loop;
mod habits;
mod headers;
mod hostile;
mod hostile_servers;
mod import;
mod in_use;
mod journal;
mod locks;
mod members;
mod mirror;
mod only_rows;
mod overwrite;
mod presence;
mod prompt;
mod properties;
mod provenance;
mod rogue;
mod secrecy;
mod snapshots;
mod spreadsheets;
mod stops;
mod summaries;
mod sync;
mod ui;
mod unattended;
mod undo;
mod undo_rules;
mod util;
