//! Diagnostics on stderr (stdout is for data), as text for people or JSON lines for machines,
//! and the progress bar, drawn only on a terminal and never torn by a log line.
//! `RUST_LOG` overrides the level; `--quiet` keeps only errors; `NO_COLOR` is respected.

use std::io::IsTerminal;

use tracing_indicatif::IndicatifLayer;
use tracing_indicatif::filter::IndicatifFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How the commands may talk to the person running them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ui {
    /// Only errors on stderr.
    pub quiet: bool,
    /// Logs are JSON lines.
    pub json: bool,
    /// A progress bar may be drawn (stderr is a terminal, text logs, not quiet).
    pub progress: bool,
}

/// Starts logging: JSON lines with `json`, text otherwise; only errors with `quiet`.
pub fn init(json: bool, quiet: bool) -> Ui {
    let default = if quiet { "error" } else { "warn,tallyfy_guests=info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let terminal = std::io::stderr().is_terminal();
    let ui = Ui {
        quiet,
        json,
        progress: terminal && !quiet && !json,
    };
    let result = if ui.json {
        let fmt = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_target(false);
        tracing_subscriber::registry()
            .with(fmt.with_writer(std::io::stderr).with_filter(filter))
            .try_init()
    } else if ui.progress {
        // Only spans that ask for a bar get one; log lines go through the bar's writer.
        let bars = IndicatifLayer::new();
        let fmt = tracing_subscriber::fmt::layer().with_target(false).with_ansi(color());
        tracing_subscriber::registry()
            .with(fmt.with_writer(bars.get_stderr_writer()).with_filter(filter))
            .with(bars.with_filter(IndicatifFilter::new(false)))
            .try_init()
    } else {
        let fmt = tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(terminal && color());
        tracing_subscriber::registry()
            .with(fmt.with_writer(std::io::stderr).with_filter(filter))
            .try_init()
    };
    // Only fails when a subscriber is already set (a test calling in twice): keep that one.
    let _ = result;
    ui
}

fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A fatal error on stderr: `error: ...` for people, or one JSON line with `--log-format json`.
pub fn error(ui: Ui, message: &str) {
    if ui.json {
        let line = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": "ERROR",
            "message": message,
        });
        eprintln!("{line}");
    } else {
        eprintln!("error: {message}");
    }
}

/// A flag clap could not parse: its own text (help and version on stdout as usual), or one JSON
/// line when `--log-format json` was asked for, since logging has not started yet.
pub fn flag_error(error: clap::Error) -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let json = args
        .windows(2)
        .any(|pair| pair[0] == "--log-format" && pair[1] == "json")
        || args.iter().any(|arg| arg == "--log-format=json");
    if !json || !error.use_stderr() {
        error.exit();
    }
    let message = error.render().to_string();
    let first = message.lines().next().unwrap_or_default();
    error_line(first.strip_prefix("error: ").unwrap_or(first));
    std::process::ExitCode::from(crate::error::Exit::Usage.code())
}

fn error_line(message: &str) {
    error(
        Ui {
            quiet: false,
            json: true,
            progress: false,
        },
        message,
    );
}
