//! Diagnostics on stderr (stdout is for data), as text for people or JSON lines for machines.
//! `RUST_LOG` overrides the level; `--quiet` keeps only errors; `NO_COLOR` is respected.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: LogFormat, quiet: bool) {
    let default = if quiet { "error" } else { "warn,tallyfy_guests=info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            builder.with_ansi(color).try_init()
        }
    };
    // Only fails when a subscriber is already set (tests calling in twice): keep that one.
    let _ = result;
}
