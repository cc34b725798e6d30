//! tallyfy-guests: move guest users between spreadsheets and a Tallyfy organization.
//!
//! The house, by layer, top to bottom; a module names only those below it (no circle between
//! top-level modules, nor between file modules: `tests/it/architecture.rs` checks both in
//! `cargo test`, re-exports followed to where a name is defined):
//! - `main` → [`run`], the dispatch: one `run` per command, each given its checked
//!   configuration.
//! - [`commands`]: one file per command (`import` for import and undo, the engine watched from
//!   the terminal; `export`, `doctor`, `template`, `sandbox`, `man`, `completions`; `refused`,
//!   a command line clap refused), and [`ui`], the local web page, the engine's other face.
//! - [`monitor`]: the watchers around a run (its [`history`] record, `--notify`, `--ping`,
//!   `--metrics-file`), which the terminal, `export` and the page give each run's end.
//! - [`engine`]: the job of an import or undo as a library ([`engine::start`], its typed
//!   events, the results file), which the terminal and the page both drive; it writes no human
//!   text.
//! - [`connect`] makes a command's reach live: the organization, or the built-in sandbox.
//! - [`error`]: how a command fails, where the errors of `config`, `api` and `input` meet, and
//!   the exit code each means.
//! - [`config`] turns the flags and the environment into each command's checked configuration
//!   ([`config::Job`] for an import or undo, [`config::Reach`] or, for commands that cannot run
//!   offline, [`config::Online`]); nothing above it sees the flags.
//! - [`cli`]: the whole command-line surface (the flags, `--help`'s texts, the manual page, the
//!   completions). Only `config` and `cli` read `std::env` (clippy.toml's `disallowed-methods`).
//! - Beneath: [`sandbox`] (the emulator and its options), [`validate`], [`input`] (files as
//!   records), [`api`] (client, pacing, retries, settings), [`files`] (writing files safely:
//!   CSV out, whose file a path is, waits bounded by `--io-timeout`), [`logging`], [`history`]
//!   (the run ledger: appended whole, read, pruned).
//! - Leaves shared by all: [`rate`], [`defaults`], [`modes`], [`secret`], [`words`],
//!   [`email_key`], [`mentions`], [`invite_pace`].
//!
//! Data flows one way: `input` → `validate` → `engine` (dedupe, create, results) over `api`,
//! which also feeds `commands::export`; `sandbox` serves the same API locally.

#![warn(missing_docs)]
#![warn(unreachable_pub)]
// The architecture's rules that clippy checks (thresholds and the methods in clippy.toml): fns
// short enough to read, no `unreachable!` (type it away), the environment read in `config` and
// `cli` only.
#![warn(clippy::too_many_lines, clippy::unreachable, clippy::disallowed_methods)]

pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connect;
pub mod defaults;
pub mod email_key;
pub mod engine;
pub mod error;
pub mod files;
pub mod history;
pub mod input;
pub mod invite_pace;
pub mod logging;
pub mod mentions;
pub mod modes;
pub mod monitor;
pub mod rate;
pub mod sandbox;
pub mod secret;
pub mod ui;
pub mod validate;
pub mod words;

use error::Exit;
pub use error::RunError;

/// Runs one command to completion and returns its exit code: the dispatch, and nothing else.
pub async fn run(cli: cli::Cli, ui: logging::Ui) -> Result<Exit, RunError> {
    use cli::Command;
    match cli.command {
        Command::Import(args) => commands::import::run(config::import(args), ui).await,
        Command::Undo(args) => commands::import::run(config::undo(args), ui).await,
        Command::Export(args) => commands::export::run(config::export(args)).await,
        Command::Sandbox(args) => match config::sandbox_serve(&args) {
            config::SandboxServe::Background(program, child) => commands::sandbox::detach(program, child),
            config::SandboxServe::Foreground(stop_after) => {
                commands::sandbox::run(config::sandbox(args)?, stop_after).await
            }
        },
        Command::Doctor(args) => commands::doctor::run(config::doctor(args), ui).await,
        Command::Template { output, force } => commands::template::run(output.as_deref(), force),
        Command::Ui(args) => ui::run(config::ui(args)?).await,
        Command::History(args) => commands::history::run(&args),
        Command::Man => commands::man::run(),
        Command::Completions { shell } => commands::completions::run(shell),
    }
}
