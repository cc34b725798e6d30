//! tallyfy-guests: move guest users between spreadsheets and a Tallyfy organization.
//!
//! Data flows one way: `input` → `validate` → `import` (dedupe, create, results) over `api`
//! (client, pacing, retries), which also feeds `export`; `sandbox` serves the same API locally. `cli` and `config` are the only places that see flags and environment.

#![warn(missing_docs)]

pub mod api;
pub mod cli;
pub mod config;
pub mod defaults;
pub mod error;
pub mod export;
pub mod import;
pub mod input;
pub mod logging;
pub mod modes;
pub mod output;
pub mod rate;
pub mod sandbox;
pub mod secret;
pub mod validate;
pub mod words;

pub use error::RunError;

/// Runs one command to completion and returns its exit code.
pub async fn run(cli: cli::Cli, ui: logging::Ui) -> Result<error::Exit, RunError> {
    match cli.command {
        cli::Command::Import(args) => import::run(config::import(args), ui).await,
        cli::Command::Export(args) => export::run(config::export(args)).await.map(|()| error::Exit::Success),
        cli::Command::Sandbox(args) => sandbox::run(config::sandbox(args)?)
            .await
            .map(|()| error::Exit::Success),
        cli::Command::Completions { shell } => completions(shell).map(|()| error::Exit::Success),
    }
}

/// Writes the completion script for `shell` to stdout.
fn completions(shell: clap_complete::Shell) -> Result<(), RunError> {
    use clap::CommandFactory;
    let mut command = cli::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "tallyfy-guests", &mut out);
    std::io::Write::write_all(&mut std::io::stdout(), &out).map_err(|e| RunError::io("cannot write to stdout", e))
}
