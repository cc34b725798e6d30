//! A command line clap refused (an unknown flag, `--concurrency 0`): said once, exit 2, and an
//! import's or undo's `--summary-json` still written to say so, so that monitoring never reads
//! an earlier run's account. A secret offered as a flag is pointed at the ways a token is given.

use crate::error::{Exit, RunError};

/// A command line clap refused: the `--summary-json` of an import or undo still says so, and
/// a secret offered as a flag (`--token abc`, `--api-key abc`) is pointed at the ways a token
/// is given, never at a flag it resembles (clap would suggest `--token-url`). Exit 2.
pub fn flag_error(error: clap::Error) -> std::process::ExitCode {
    let args = crate::cli::raw_args();
    let tip = secret_flag_tip(&error);
    if error.use_stderr() {
        let rendered = error.render().to_string();
        let first = rendered.lines().next().unwrap_or_default();
        let message = tip
            .clone()
            .unwrap_or_else(|| first.strip_prefix("error: ").unwrap_or(first).to_string());
        summary_after_flag_error(&args, &message);
    }
    match tip {
        Some(tip) => {
            let json = args
                .windows(2)
                .any(|pair| pair[0] == "--log-format" && pair[1] == "json")
                || args.iter().any(|arg| arg == "--log-format=json");
            let ui = crate::logging::Ui {
                quiet: false,
                json,
                progress: false,
                color: crate::cli::log_settings(json, false).color,
            };
            crate::logging::error(ui, &tip);
            Exit::Usage.into()
        }
        None => {
            crate::logging::flag_error(error, &args);
            Exit::Usage.into()
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

/// The `--summary-json` of an `import` or `undo` whose flags were refused before it could
/// start (`--concurrency 0`, an unknown flag): exit 2 and the error, so that monitoring does
/// not read an earlier run's account. `args` is the command line. A path that holds something
/// other than a summary this tool wrote is left alone (it might be the input, mistyped).
fn summary_after_flag_error(args: &[String], message: &str) {
    let Some(command) = args.iter().skip(1).find_map(|arg| match arg.as_str() {
        "import" => Some("import"),
        "undo" => Some("undo"),
        _ => None,
    }) else {
        return;
    };
    let mut path = None;
    for (i, arg) in args.iter().enumerate() {
        if arg == "--summary-json" {
            path = args.get(i + 1).map(std::path::PathBuf::from);
        } else if let Some(value) = arg.strip_prefix("--summary-json=") {
            path = Some(value.into());
        }
    }
    let Some(path) = path.filter(|path| path.as_os_str() == "-" || summary_or_nothing(path)) else {
        return;
    };
    let dry_run = args.iter().any(|arg| arg == "--dry-run");
    let update = args
        .windows(2)
        .any(|pair| pair[0] == "--on-existing" && pair[1] == "update");
    let on_existing = if update || args.iter().any(|arg| arg == "--on-existing=update") {
        crate::modes::OnExisting::Update
    } else {
        crate::modes::OnExisting::Skip
    };
    let mut account = crate::engine::SummaryFile::bare(command, dry_run, on_existing, std::time::SystemTime::now());
    let outcome = Err(RunError::Setup(vec![message.to_string()]));
    if let Err(error) = account.write(&path, &outcome) {
        tracing::warn!("{error}");
    }
}

/// Nothing at `path`, or a summary file this tool wrote (a JSON object naming the tool).
fn summary_or_nothing(path: &std::path::Path) -> bool {
    match std::fs::read(path) {
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .is_ok_and(|value| value["tool"] == env!("CARGO_PKG_NAME")),
    }
}
