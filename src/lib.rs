//! tallyfy-guests: move guest users between spreadsheets and a Tallyfy organization.
//!
//! Data flows one way: `api` (client, pacing, retries) feeds `export`; `sandbox` serves the
//! same API locally. `cli` and `config` are the only places that see flags and environment.

pub mod api;
pub mod cli;
pub mod config;
pub mod error;
pub mod export;
pub mod logging;
pub mod output;
pub mod sandbox;
pub mod secret;

pub use error::RunError;

/// Runs one command to completion.
pub async fn run(cli: cli::Cli) -> Result<(), RunError> {
    match cli.command {
        cli::Command::Export(args) => export::run(args).await,
        cli::Command::Sandbox(args) => sandbox::run(args).await,
    }
}
