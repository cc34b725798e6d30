//! Diagnostics on stderr (stdout is for data), as text for people or JSON lines for machines,
//! and the progress bar, drawn only on a terminal and never torn by a log line.
//! `RUST_LOG` overrides the level; `--quiet` keeps only errors; `NO_COLOR` is respected.
//!
//! Text has two shapes (issue 26, after uv): on a terminal a line is just its message, and a
//! warning or an error says so (`warning: `, `error: `, in colour); off a terminal (cron, CI,
//! a file) every line, the summary's too, starts with its local time and level, so a log
//! appended nightly ties each outcome to its night. Span names never show.

use std::io::IsTerminal;

use tracing_indicatif::IndicatifLayer;
use tracing_indicatif::filter::IndicatifFilter;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
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
    /// Warnings and errors may be coloured on a terminal (`NO_COLOR` is not set).
    pub color: bool,
}

/// What logging starts with, read from the flags and the environment by `cli`.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `--log-format json`.
    pub json: bool,
    /// `--quiet`.
    pub quiet: bool,
    /// No `NO_COLOR`.
    pub color: bool,
    /// `RUST_LOG`, when set: what to log beyond the default.
    pub filter: Option<String>,
}

/// Starts logging: JSON lines with `json`, text otherwise; only errors with `quiet`; the
/// `RUST_LOG` filter when it is one.
pub fn init(settings: Settings) -> Ui {
    let Settings {
        json,
        quiet,
        color,
        filter,
    } = settings;
    // Only the tool's own lines by default: a dependency's (rustls' "failed to verify TLS
    // certificate", hyper's) is in its words, not a person's, and what it means reaches the
    // person as the tool's own error. RUST_LOG shows them.
    let default = if quiet {
        "off,tallyfy_guests=error"
    } else {
        "off,tallyfy_guests=info"
    };
    let filter = filter
        .and_then(|filter| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let terminal = std::io::stderr().is_terminal();
    let ui = Ui {
        quiet,
        json,
        progress: terminal && !quiet && !json,
        color,
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
        let fmt = tracing_subscriber::fmt::layer()
            .event_format(Lines { terminal: true })
            .with_ansi(ui.color);
        tracing_subscriber::registry()
            .with(fmt.with_writer(bars.get_stderr_writer()).with_filter(filter))
            .with(bars.with_filter(IndicatifFilter::new(false)))
            .try_init()
    } else {
        let fmt = tracing_subscriber::fmt::layer()
            .event_format(Lines { terminal })
            .with_ansi(terminal && ui.color);
        tracing_subscriber::registry()
            .with(fmt.with_writer(std::io::stderr).with_filter(filter))
            .try_init()
    };
    // Only fails when a subscriber is already set (a test calling in twice): keep that one.
    let _ = result;
    ui
}

/// A text log line: the message alone on a terminal (warnings and errors named), or with its
/// time and level in a log.
struct Lines {
    terminal: bool,
}

impl<S, N> FormatEvent<S, N> for Lines
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = *event.metadata().level();
        if self.terminal {
            let (word, colour) = match level {
                tracing::Level::ERROR => ("error", "\x1b[1;31m"),
                tracing::Level::WARN => ("warning", "\x1b[1;33m"),
                _ => ("", ""),
            };
            if !word.is_empty() {
                if writer.has_ansi_escapes() {
                    write!(writer, "{colour}{word}\x1b[0m: ")?;
                } else {
                    write!(writer, "{word}: ")?;
                }
            }
        } else {
            write!(writer, "{} {level:>5} ", timestamp())?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Local time with its offset, to the millisecond: what a person reading a log compares with
/// a clock, in any time zone.
fn timestamp() -> String {
    chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// Lines for people on stderr outside the log macros (the summary): as they are on a terminal,
/// each with its time and level when stderr is not one.
pub fn lines(text: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("{text}");
    } else {
        let stamp = timestamp();
        let stamped: Vec<String> = text.lines().map(|line| format!("{stamp}  INFO {line}")).collect();
        eprintln!("{}", stamped.join("\n"));
    }
}

/// A fatal error on stderr: `error: ...` for people, or one JSON line with `--log-format json`.
pub fn error(ui: Ui, message: &str) {
    said(ui, Level::Error, message);
}

/// A warning that `--quiet` does not silence: the one line a run that did not end well owes even
/// a quiet cron job (`warning: ...`, or one JSON line with `--log-format json`).
pub fn warning(ui: Ui, message: &str) {
    said(ui, Level::Warn, message);
}

/// The level of a line said outside tracing (so that no filter hides it).
#[derive(Clone, Copy)]
enum Level {
    Error,
    Warn,
}

/// One line on stderr, as the log's own lines look: JSON, a coloured word on a terminal, or a
/// stamped line (`ERROR`, ` WARN`, as tracing aligns them).
fn said(ui: Ui, level: Level, message: &str) {
    let (word, upper, colour) = match level {
        Level::Error => ("error", "ERROR", "1;31"),
        Level::Warn => ("warning", " WARN", "1;33"),
    };
    if ui.json {
        let line = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": upper.trim(),
            "message": message,
        });
        eprintln!("{line}");
    } else if std::io::stderr().is_terminal() {
        if ui.color {
            eprintln!("\x1b[{colour}m{word}\x1b[0m: {message}");
        } else {
            eprintln!("{word}: {message}");
        }
    } else {
        eprintln!("{} {upper} {message}", timestamp());
    }
}

/// A flag clap could not parse: its own text (help and version on stdout as usual), or one JSON
/// line when `--log-format json` is among `args` (the command line), since logging has not
/// started yet.
/// Returns only after the JSON line: the caller exits with the usage code.
pub fn flag_error(error: clap::Error, args: &[String]) {
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
}

fn error_line(message: &str) {
    error(
        Ui {
            quiet: false,
            json: true,
            progress: false,
            color: false,
        },
        message,
    );
}
