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

pub mod api;
pub mod cli;
pub mod config;
pub mod connect;
pub mod defaults;
pub mod doctor;
pub mod email_key;
pub mod error;
pub mod export;
pub mod files;
pub mod help;
pub mod import;
pub mod input;
pub mod invite_pace;
pub mod logging;
pub mod manual;
pub mod mentions;
pub mod modes;
pub mod rate;
pub mod sandbox;
pub mod secret;
pub mod template;
pub mod ui;
pub mod validate;
pub mod words;

pub use error::RunError;
pub use import::engine;

/// Runs one command to completion and returns its exit code.
pub async fn run(cli: cli::Cli, ui: logging::Ui) -> Result<error::Exit, RunError> {
    match cli.command {
        cli::Command::Import(args) => import::run(config::import(args), ui).await,
        cli::Command::Undo(args) => import::run(config::undo(args), ui).await,
        cli::Command::Export(args) => export::run(config::export(args)).await.map(|()| error::Exit::Success),
        cli::Command::Sandbox(args) => match config::sandbox_serve(&args) {
            config::SandboxServe::Background(program, child) => sandbox::detach(program, child),
            config::SandboxServe::Foreground(stop_after) => sandbox::run(config::sandbox(args)?, stop_after)
                .await
                .map(|()| error::Exit::Success),
        },
        cli::Command::Doctor(args) => doctor::run(config::doctor(args), ui.json).await,
        cli::Command::Template { output, force } => {
            template::run(output.as_deref(), force).map(|()| error::Exit::Success)
        }
        cli::Command::Ui(args) => ui::run(config::ui(args)?).await,
        cli::Command::Man => manual::run().map(|()| error::Exit::Success),
        cli::Command::Completions { shell } => completions(shell).map(|()| error::Exit::Success),
    }
}

/// A command line clap refused: the `--summary-json` of an import or undo still says so, and
/// a secret offered as a flag (`--token abc`, `--api-key abc`) is pointed at the ways a token
/// is given, never at a flag it resembles (clap would suggest `--token-url`). Exit 2.
pub fn flag_error(error: clap::Error) -> std::process::ExitCode {
    let args = cli::raw_args();
    let tip = secret_flag_tip(&error);
    if error.use_stderr() {
        let rendered = error.render().to_string();
        let first = rendered.lines().next().unwrap_or_default();
        let message = tip
            .clone()
            .unwrap_or_else(|| first.strip_prefix("error: ").unwrap_or(first).to_string());
        import::summary_after_flag_error(&args, &message);
    }
    match tip {
        Some(tip) => {
            let json = args
                .windows(2)
                .any(|pair| pair[0] == "--log-format" && pair[1] == "json")
                || args.iter().any(|arg| arg == "--log-format=json");
            let ui = logging::Ui {
                quiet: false,
                json,
                progress: false,
                color: cli::log_settings(json, false).color,
            };
            logging::error(ui, &tip);
            error::Exit::Usage.into()
        }
        None => {
            logging::flag_error(error, &args);
            error::Exit::Usage.into()
        }
    }
}

/// The tip for a token given as a flag: the flags people try (`--token`, `--api-key`, ...)
/// do not exist on purpose, since a flag shows in `ps` and shell history.
fn secret_flag_tip(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let flag = arg.split('=').next().unwrap_or_default();
    ["--token", "--api-key", "--apikey", "--access-token", "--api-token"]
        .contains(&flag)
        .then(|| {
            format!(
                "{flag} is not a flag: a secret on the command line shows in `ps` and shell history. Give the token in the environment variable TALLYFY_ACCESS_TOKEN, or with --token-file PATH (a file holding it) or --token-command CMD (a command that prints it)"
            )
        })
}

/// Writes the completion script for `shell` to stdout.
fn completions(shell: cli::CompletionShell) -> Result<(), RunError> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let mut command = cli::Cli::command();
    let mut out = Vec::new();
    let name = "tallyfy-guests";
    match shell {
        cli::CompletionShell::Bash => clap_complete::generate(Shell::Bash, &mut command, name, &mut out),
        cli::CompletionShell::Zsh => clap_complete::generate(Shell::Zsh, &mut command, name, &mut out),
        cli::CompletionShell::Fish => clap_complete::generate(Shell::Fish, &mut command, name, &mut out),
        cli::CompletionShell::Elvish => clap_complete::generate(Shell::Elvish, &mut command, name, &mut out),
        cli::CompletionShell::Powershell => clap_complete::generate(Shell::PowerShell, &mut command, name, &mut out),
        cli::CompletionShell::Nushell => {
            clap_complete::generate(clap_complete_nushell::Nushell, &mut command, name, &mut out)
        }
    }
    if shell == cli::CompletionShell::Bash {
        // clap_complete names a hyphenated binary's states `tallyfy__guests…` where it sets
        // them but `tallyfy__subcmd__guests…` where it matches them, so nothing completes after
        // a subcommand; make the two agree.
        let script = String::from_utf8_lossy(&out).replace("tallyfy__subcmd__guests", "tallyfy__guests");
        out = files_for_positionals(&script, &["import", "undo", "template"]).into_bytes();
    }
    std::io::Write::write_all(&mut std::io::stdout(), &out).map_err(|e| RunError::io("cannot write to stdout", e))
}

/// clap_complete's bash script offers a command's options where its first positional goes, so
/// `tallyfy-guests import <TAB>` inserts `-`; for `commands` whose positional is a file, offer
/// the options only after a `-`, and file names otherwise.
fn files_for_positionals(script: &str, commands: &[&str]) -> String {
    let mut out = String::with_capacity(script.len());
    let mut section: Option<&str> = None;
    for line in script.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("tallyfy__guests__subcmd__")
            .and_then(|t| t.strip_suffix(')'))
        {
            section = commands.iter().copied().find(|c| *c == name);
        }
        let Some(_) = section else {
            out.push_str(line);
            continue;
        };
        if trimmed.starts_with("if [[ ${cur} == -* || ${COMP_CWORD} -eq") {
            out.push_str(&line.replacen(" || ${COMP_CWORD} -eq 2", "", 1));
        } else if trimmed == r#"COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )"#
            && !line.starts_with("                ")
        {
            // The section's last word: no option was being given a value.
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!(
                "{indent}COMPREPLY=( $(compgen -f -- \"${{cur}}\") )\n{indent}if [[ \"${{BASH_VERSINFO[0]}}\" -ge 4 ]]; then\n{indent}    compopt -o filenames\n{indent}fi\n"
            ));
            section = None;
        } else {
            out.push_str(line);
        }
    }
    out
}
