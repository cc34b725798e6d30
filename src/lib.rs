//! tallyfy-guests: move guest users between spreadsheets and a Tallyfy organization.
//!
//! No module names one that names it back (a file module each; `tests/it/architecture.rs`
//! checks it in `cargo test`, re-exports followed to where a name is defined). Top to bottom:
//! - `main` → [`run`] (the dispatch) → the faces and commands: [`ui`] (the local web page),
//!   [`import`] (import and undo, one job each; its [`engine`] is the library API that the CLI
//!   and the page both drive), [`export`], [`doctor`], [`template`], [`manual`], and the
//!   sandbox's own command ([`sandbox::run`], [`sandbox::detach`]).
//! - [`connect`] makes a command's reach live: the organization, or the built-in sandbox.
//! - [`error`]: how a command fails, where the errors of `config`, `api` and `input` meet, and
//!   the exit code each means.
//! - [`config`] turns the flags ([`cli`]) and the environment into each command's checked
//!   configuration ([`config::Job`] for an import or undo, [`config::Reach`] or, for commands
//!   that cannot run offline, [`config::Online`]); nothing below it sees the flags, and only
//!   these two read `std::env` (checked too).
//! - Beneath: [`sandbox`] (the emulator and its options), [`api`] (client, pacing, retries,
//!   settings), [`input`] (files as records), [`validate`], [`email_key`], [`overwrite`] (whose
//!   file a path is), [`output`] (CSV out, safe paths), [`logging`].
//! - Leaves shared by all: [`rate`], [`defaults`], [`modes`], [`secret`], [`words`], [`help`],
//!   [`wait`] (blocking waits bounded by `--io-timeout` and ended by signals).
//!
//! Data flows one way: `input` → `validate` → `import` (dedupe, create, results) over `api`,
//! which also feeds `export`; `sandbox` serves the same API locally.

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
pub mod input;
pub mod invite_pace;
pub mod logging;
pub mod mentions;
pub mod modes;
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
        Command::Man => commands::man::run(),
        Command::Completions { shell } => commands::completions::run(shell),
    }
}
