//! The integration tests: the real binary (or the library client) against an in-process
//! sandbox over real loopback HTTP. One test binary, so the 2-core CI links once.

mod client;
mod config;
mod export;
mod field;
mod import;
mod properties;
mod secrecy;
mod spreadsheets;
mod sync;
mod util;
