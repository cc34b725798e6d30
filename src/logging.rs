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
