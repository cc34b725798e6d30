//! Command-line flags as clap sees them. Nothing here is validated beyond its type: `config`
//! turns these into the checked per-command configurations, so the core never sees clap. This
//! module imports only leaves (`defaults`, `modes`, `rate`, `logging`'s format, `input`'s
//! parsers).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::help::*;
use crate::rate::Rate;

#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Parser)]
#[command(
    name = "tallyfy-guests",
    version,
    about = "Move guest users between spreadsheets and a Tallyfy organization.",
    after_help = format!("{OVERVIEW}\n\n{EXIT_CODES}")
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, help_heading = "Output", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Only errors on stderr: no progress, no summary.
    #[arg(long, short, global = true, help_heading = "Output")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once at start-up and moved into its command's configuration"
)]
pub enum Command {
    /// Create guests from a spreadsheet, with a results file that accounts for every row.
    #[command(after_help = format!("{IMPORT_HELP}\n\n{EXIT_CODES}"))]
    Import(ImportArgs),
    /// Take back an import: delete (or disable) exactly the guests its results file says it
    /// created.
    #[command(after_help = format!("{UNDO_HELP}\n\n{EXIT_CODES}"))]
    Undo(UndoArgs),
    /// Write every guest of the organization as CSV.
    #[command(after_help = format!("{EXPORT_HELP}\n\n{EXIT_CODES}"))]
    Export(ExportArgs),
    /// Serve a local emulator of the Tallyfy guests API on 127.0.0.1, for tests and trials.
    #[command(after_help = format!("{SANDBOX_HELP}\n\n{EXIT_CODES}"))]
    Sandbox(SandboxArgs),
    /// Check the set-up before a real run: configuration, reach, token, organization, guest list.
    #[command(visible_alias = "whoami", after_help = format!("{DOCTOR_HELP}\n\n{EXIT_CODES}"))]
    Doctor(DoctorArgs),
    /// Write a starter guest sheet to fill in: CSV, or an Excel workbook for a .xlsx name.
    #[command(after_help = format!("{TEMPLATE_HELP}\n\n{EXIT_CODES}"))]
    Template {
        /// Where to write it (`guests.csv`, `guests.xlsx`); stdout when absent.
        #[arg(value_name = "OUTPUT", value_hint = clap::ValueHint::FilePath)]
        output: Option<PathBuf>,
        /// Replace OUTPUT even if it is not an unfilled template this tool wrote.
        #[arg(long)]
        force: bool,
    },
    /// Serve the import as a local web page on 127.0.0.1: upload, preview, fix, send, undo.
    #[command(after_help = format!("{UI_HELP}\n\n{EXIT_CODES}"))]
    Ui(UiArgs),
    /// List the runs of import, undo and export, newest first; or prune them.
    #[command(after_help = format!("{HISTORY_HELP}\n\n{EXIT_CODES}"))]
    History(HistoryArgs),
    /// Print the manual page (roff) to stdout: `tallyfy-guests man > tallyfy-guests.1`.
    Man,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell, nushell) to stdout.
    #[command(after_help = format!("{COMPLETIONS_HELP}\n\n{EXIT_CODES}"))]
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

/// The shells `completions` writes for.
#[allow(missing_docs, reason = "the shells' own names")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
    Nushell,
}

/// How to reach the API; shared by every command that talks to it.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Organization id (32 hex characters).
    #[arg(
        help_heading = "Credentials and connection",
        long,
        env = "TALLYFY_ORG_ID",
        value_name = "ORG"
    )]
    pub org: Option<String>,

    /// API base URL; `organizations/...` is appended to it.
    #[arg(help_heading = "Credentials and connection", 
        long,
        env = "TALLYFY_BASE_URL",
        value_name = "URL",
        default_value = crate::defaults::BASE_URL
    )]
    pub base_url: String,

    /// Read the access token from this file instead of TALLYFY_ACCESS_TOKEN.
    #[arg(help_heading = "Credentials and connection", long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// Run this command (with sh -c; e.g. a secret manager) and use its output as the token.
    #[arg(help_heading = "Credentials and connection", long, value_name = "CMD")]
    pub token_command: Option<String>,

    /// OAuth client id for unattended runs (with TALLYFY_CLIENT_SECRET or --client-secret-file):
    /// a token is obtained from --token-url and renewed before it expires or when rejected.
    #[arg(
        help_heading = "Credentials and connection",
        long,
        env = "TALLYFY_CLIENT_ID",
        value_name = "ID"
    )]
    pub client_id: Option<String>,

    /// Read the OAuth client secret from this file instead of TALLYFY_CLIENT_SECRET.
    #[arg(help_heading = "Credentials and connection", long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,

    /// OAuth token endpoint. Default: the base URL's origin + /oauth/token
    /// (https://go.tallyfy.com/oauth/token).
    #[arg(
        help_heading = "Credentials and connection",
        long,
        env = "TALLYFY_TOKEN_URL",
        value_name = "URL"
    )]
    pub token_url: Option<String>,

    /// Client-side quota on every request (lists and reads included) such as 10/s or 600/min;
    /// repeat it and all apply. To pace creates under the hourly invite cap, use --invite-rate.
    #[arg(help_heading = "Pacing and retries", long = "rate", value_name = "N/PERIOD")]
    pub rates: Vec<Rate>,

    /// Resends of a request after a transient failure (5xx, timeout, dropped connection).
    #[arg(help_heading = "Pacing and retries", long, value_name = "N", default_value_t = 5)]
    pub max_retries: u32,

    /// The most guests (or members) a list of the organization's guests (export, the import's
    /// look-up of existing guests) or of its members reads before it stops with an error: a
    /// bound on a server that never stops listing.
    #[arg(help_heading = "Pacing and retries", long, value_name = "N", default_value_t = crate::defaults::MAX_GUESTS, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_guests: u64,

    /// Longest rate-limit pause to sit out; a longer one stops with "rate-limited until"
    /// [default: 10m; a confirmed import waits out the invite cap unless given].
    // No clap default: whether it was given decides whether a confirmed plan's invite-cap
    // waits are bounded (issue 32); the default is `defaults::MAX_WAIT`.
    #[arg(help_heading = "Pacing and retries", long, value_name = "DURATION", value_parser = duration)]
    pub max_wait: Option<Duration>,

    /// Time allowed to open a connection.
    #[arg(help_heading = "Credentials and connection", long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub connect_timeout: Duration,

    /// Longest wait on a FIFO, pipe or command: for a program to read an output given as a FIFO
    /// (--results, --summary-json, --report-missing, --output), to write --token-file, or for
    /// --token-command to finish. Past it (or at SIGINT/SIGTERM) the run stops with an error
    /// naming what it waited for.
    #[arg(help_heading = "Credentials and connection", long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub io_timeout: Duration,

    /// Time allowed for one whole request, response included.
    #[arg(help_heading = "Credentials and connection", long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub timeout: Duration,

    /// Where the run history and what is learnt of an organization (its invite cap) are kept
    /// [default: ~/.local/state/tallyfy-guests].
    #[arg(help_heading = "Monitoring", long, env = "TALLYFY_STATE_DIR", hide_env_values = true, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub state_dir: Option<PathBuf>,
}

/// How an unattended run is watched: the job's name in the history, alerts, pings and metrics.
/// Shared by `import`, `undo` and `export`.
#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Args, Default)]
pub struct MonitorArgs {
    /// Name the job in the history, alerts, pings and metrics [default: its organization and
    /// results file].
    #[arg(help_heading = "Monitoring", long = "job", value_name = "NAME")]
    pub job: Option<String>,

    /// POST a JSON message here when the job starts failing, and once when it recovers (never
    /// while nothing changed). Failing: exit 1 or 2, or 3 with no progress.
    #[arg(help_heading = "Monitoring", long, value_name = "URL")]
    pub notify: Option<String>,

    /// healthchecks.io-style pings: URL/start when the run starts, then URL when it ends well
    /// (exit 0, or 3 with progress) or URL/<exit code> when not, each with ?rid=<run id>.
    #[arg(help_heading = "Monitoring", long, value_name = "URL")]
    pub ping: Option<String>,

    /// Write the job's Prometheus metrics here when the run ends (the textfile collector's
    /// format, written atomically): last run, last success, duration, exit code, rows by status.
    #[arg(help_heading = "Monitoring", long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub metrics_file: Option<PathBuf>,
}

#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub api: ApiArgs,

    #[command(flatten)]
    pub monitor: MonitorArgs,

    /// The guest file (CSV with a header row, or a workbook); `-` reads stdin.
    #[arg(
        value_name = "FILE",
        value_hint = clap::ValueHint::FilePath,
        required_unless_present = "retry_from",
        conflicts_with = "retry_from"
    )]
    pub file: Option<PathBuf>,

    /// Re-run every row of an earlier run's results file that did not succeed, read from its
    /// current cells (fix them, then run this); `created`, `updated`, `enabled` and `exists` rows
    /// are carried over unchanged, never re-sent.
    #[arg(help_heading = "Sync", long, value_name = "RESULTS.csv")]
    pub retry_from: Option<PathBuf>,

    /// What to do with a row whose guest already exists: `skip` it (status `exists`), or
    /// `update` its associated_members when the file's differ (status `updated`). Either way,
    /// other fields that differ are reported as drift: the API cannot change them.
    #[arg(help_heading = "Sync", long, value_enum, value_name = "MODE", default_value_t = OnExisting::Skip)]
    pub on_existing: OnExisting,

    /// Also write the guests that are in Tallyfy but not in the file to this CSV (with what
    /// --on-missing did to each).
    #[arg(help_heading = "Sync", long, value_name = "PATH")]
    pub report_missing: Option<PathBuf>,

    /// What to do with guests in Tallyfy that no row of the file names: `report` them only,
    /// `disable` them (and re-enable a disabled guest who is back in the file), or `delete`
    /// them. Acts only after the whole file was read with no stop, within --max-missing, and
    /// needs --report-missing to record what it did.
    #[arg(help_heading = "Sync", long, value_enum, value_name = "MODE", default_value_t = OnMissing::Report)]
    pub on_missing: OnMissing,

    /// The most guests --on-missing may disable or delete in one run: a number, or a percentage
    /// of the organization's guests. Beyond it nothing is touched and the run exits 3.
    #[arg(help_heading = "Sync", long, value_name = "N|N%", default_value = "5%", value_parser = crate::modes::parse_missing_budget)]
    pub max_missing: ErrorBudget,

    /// With --on-missing delete, also delete guests who have tasks assigned or have signed in,
    /// which are otherwise kept as `in_use` (deleting detaches a guest from their tasks).
    #[arg(help_heading = "Sync", long)]
    pub include_used: bool,

    /// Quota on creates only (each is an invitation email, capped per organization at about
    /// 30/h), such as 30/h; repeat it and all apply. Lists, read-backs and member updates are
    /// not paced by it.
    #[arg(help_heading = "Pacing and retries", long = "invite-rate", value_name = "N/PERIOD")]
    pub invite_rates: Vec<Rate>,

    /// Error budget: once more rows than this have `failed` (a count, or a percentage of the
    /// rows such as 5%), start no new request, defer the rest and exit 3.
    #[arg(help_heading = "Sync", long, value_name = "N|N%", value_parser = ErrorBudget::parse)]
    pub max_errors: Option<ErrorBudget>,

    /// Write a machine-readable account of the run here (JSON; its fields are in docs/automation.md).
    #[arg(help_heading = "Results", long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,

    /// Where to write the results; `-` for stdout. Default: beside FILE as <name>.results.csv,
    /// or <name>.dry-run.csv for a dry run (stdout when FILE is `-`). One run at a time per file.
    #[arg(help_heading = "Results", long, value_name = "PATH")]
    pub results: Option<PathBuf>,

    /// Validate and dedupe (against the live list when credentials are given) without
    /// creating anything: rows that would be created are `would_create`.
    #[arg(help_heading = "Input", long)]
    pub dry_run: bool,

    /// Creates in flight at once (1 to 256).
    #[arg(help_heading = "Pacing and retries", long, value_name = "N", default_value_t = 8, value_parser = concurrency)]
    pub concurrency: u32,

    #[command(flatten)]
    pub style: ResultsStyle,

    /// The file's text encoding when detection gets it wrong: utf-8, windows-1252, latin1,
    /// utf-16le, utf-16be, shift_jis, ... (default: from the byte order mark or the bytes).
    #[arg(help_heading = "Input", long, value_name = "LABEL", hide_possible_values = true, value_parser = offer(crate::input::parse_encoding, ENCODINGS))]
    pub encoding: Option<&'static crate::input::Encoding>,

    /// The delimiter: `,` `;` `|` or `tab` (default: sniffed from the first lines).
    #[arg(help_heading = "Input", long, value_name = "CHAR", hide_possible_values = true, value_parser = offer(delimiter, DELIMITERS))]
    pub delimiter: Option<u8>,

    /// Map a column to a field, e.g. --map "Work E-mail=email"; `=ignore` skips a column.
    /// Repeatable. Fields: email, first_name, last_name, phone_1, phone_2, company_name,
    /// timezone, associated_members.
    #[arg(help_heading = "Input", long = "map", value_name = "COLUMN=FIELD", value_hint = clap::ValueHint::Other, value_parser = crate::input::parse_mapping)]
    pub map: Vec<(String, crate::input::Target)>,

    /// The header's row number, when it is not found by itself (it is looked for among the
    /// first 10 rows: the first that names an email column).
    #[arg(help_heading = "Input", long, value_name = "N", value_parser = row_number)]
    pub header_row: Option<u64>,

    /// Process only the first N data rows (the rest are not read and not in the results).
    #[arg(help_heading = "Input", long, value_name = "N", value_parser = row_count)]
    pub limit: Option<u64>,

    /// The sheet of a workbook (.xlsx, .xls, .ods) to read (default: the first).
    #[arg(help_heading = "Input", long, value_name = "NAME", value_hint = clap::ValueHint::Other)]
    pub sheet: Option<String>,

    /// When stderr is not a terminal (cron), log a progress line this often: rows done of the
    /// total, counts per status, rate, time left, and what it is waiting for. 0 turns it off.
    #[arg(help_heading = "Output", long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    pub heartbeat: Duration,

    /// Do not ask before creating guests. (On a terminal, an import asks once, naming the
    /// organization; never in cron, CI or a pipe, nor on a dry run.)
    #[arg(help_heading = "Output", long, short = 'y')]
    pub yes: bool,

    /// Import into an in-process sandbox seeded with samples/existing-guests.csv (no account
    /// needed; credentials are ignored).
    #[arg(help_heading = "Credentials and connection", long)]
    pub sandbox: bool,
}

pub use crate::modes::{ErrorBudget, OnExisting, OnMissing};

/// How a results file is written; shared by `import` and `undo`.
#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Args)]
pub struct ResultsStyle {
    /// Keep cells starting with = + - @ as they are in the results (no formula protection).
    #[arg(help_heading = "Results", long)]
    pub raw: bool,

    /// Write the results for Excel: UTF-8 with a byte order mark, CRLF line ends.
    #[arg(help_heading = "Results", long)]
    pub excel: bool,
}

#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Args)]
pub struct UndoArgs {
    #[command(flatten)]
    pub api: ApiArgs,

    #[command(flatten)]
    pub monitor: MonitorArgs,

    /// The results file of the import to take back (CSV, or the .xlsx of --results NAME.xlsx).
    #[arg(value_name = "RESULTS.csv", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,

    /// Disable the guests instead of deleting them: they can no longer sign in, nothing of
    /// theirs is lost, and they can be enabled again.
    #[arg(help_heading = "Sync", long)]
    pub disable: bool,

    /// Also remove guests someone has used since the import (signed in after it, or with
    /// tasks assigned), which are otherwise kept as `used_since`.
    #[arg(help_heading = "Sync", long)]
    pub include_used: bool,

    /// Read each guest back and say what would be done (`would_delete`, `would_disable`),
    /// sending no write.
    #[arg(help_heading = "Input", long)]
    pub dry_run: bool,

    /// Where to write the undo's results; `-` for stdout. Default: beside RESULTS as
    /// <name>.undo.csv, or <name>.undo-dry-run.csv for a dry run.
    #[arg(help_heading = "Results", long, value_name = "PATH")]
    pub results: Option<PathBuf>,

    /// Error budget: once more rows than this have `failed` (a count, or a percentage of the
    /// rows such as 5%), start no new request, defer the rest and exit 3.
    #[arg(help_heading = "Sync", long, value_name = "N|N%", value_parser = ErrorBudget::parse)]
    pub max_errors: Option<ErrorBudget>,

    /// Write a machine-readable account of the run here (JSON; its fields are in docs/automation.md).
    #[arg(help_heading = "Results", long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,

    /// Guests removed at once (1 to 256).
    #[arg(help_heading = "Pacing and retries", long, value_name = "N", default_value_t = 8, value_parser = concurrency)]
    pub concurrency: u32,

    #[command(flatten)]
    pub style: ResultsStyle,

    /// When stderr is not a terminal (cron), log a progress line this often. 0 turns it off.
    #[arg(help_heading = "Output", long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    pub heartbeat: Duration,

    /// Do not ask before removing guests. (On a terminal, undo asks once, naming the
    /// organization; never in cron, CI or a pipe, nor on a dry run.)
    #[arg(help_heading = "Output", long, short = 'y')]
    pub yes: bool,
}

#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Args)]
pub struct UiArgs {
    #[command(flatten)]
    pub api: ApiArgs,

    /// Quota on creates only (each is an invitation email, capped per organization at about
    /// 30/h), such as 30/h, for every import sent from the page; repeat it and all apply.
    #[arg(help_heading = "Pacing and retries", long = "invite-rate", value_name = "N/PERIOD")]
    pub invite_rates: Vec<Rate>,

    /// Port to listen on, on 127.0.0.1 only (0 picks a free one).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,

    /// Do not open a browser; open the URL printed on the first line yourself.
    #[arg(long)]
    pub no_open: bool,

    /// Where the runs are kept, a folder each (default: the platform's data directory, e.g.
    /// ~/.local/share/tallyfy-guests/runs).
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,

    /// Remove the runs not used for longer than this (such as 30d), sent ones included, when
    /// the page starts and daily while it runs. Without it, a run never sent goes after 30 days
    /// unused and a sent one stays until you delete it.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub keep: Option<Duration>,

    /// Import into a sandbox started with the page, seeded with samples/existing-guests.csv
    /// (no account needed; credentials are ignored).
    #[arg(help_heading = "Credentials and connection", long)]
    pub sandbox: bool,
}

#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// One JSON object a line (the ledger's own records), for scripts.
    #[arg(long)]
    pub json: bool,

    /// Show at most this many runs.
    #[arg(long, value_name = "N", value_parser = row_count)]
    pub limit: Option<u64>,

    /// Only this job: its --job name, or its results file.
    #[arg(long = "job", value_name = "NAME")]
    pub job: Option<String>,

    /// Remove runs from the history instead of listing them (with --older-than and/or --keep).
    #[arg(long)]
    pub prune: bool,

    /// With --prune: remove the runs that ended longer ago than this (e.g. 90d).
    #[arg(long, value_name = "DURATION", value_parser = long_duration, requires = "prune")]
    pub older_than: Option<Duration>,

    /// With --prune: keep only the newest N runs of each job.
    #[arg(long, value_name = "N", value_parser = row_count, requires = "prune")]
    pub keep: Option<u64>,

    /// Where the history is kept [default: ~/.local/state/tallyfy-guests].
    #[arg(long, env = "TALLYFY_STATE_DIR", hide_env_values = true, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub state_dir: Option<PathBuf>,
}

#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub api: ApiArgs,

    /// Check the built-in sandbox instead (no account needed).
    #[arg(long)]
    pub sandbox: bool,
}

#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub api: ApiArgs,

    #[command(flatten)]
    pub monitor: MonitorArgs,

    /// Write to this file (atomically, on success) instead of stdout: CSV, or an Excel
    /// workbook for a .xlsx name. An existing file is replaced only if it is an export.
    #[arg(help_heading = "Results", long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Replace --output even if it is not an export this tool wrote.
    #[arg(help_heading = "Results", long)]
    pub force: bool,

    /// Add the task statistics columns.
    #[arg(help_heading = "Results", long)]
    pub with_stats: bool,

    /// Keep cells starting with = + - @ as they are (no spreadsheet formula protection).
    #[arg(help_heading = "Results", long)]
    pub raw: bool,

    /// Write for Excel: UTF-8 with a byte order mark, CRLF line ends.
    #[arg(help_heading = "Results", long)]
    pub excel: bool,

    /// Pages fetched at once after the first (1 to 256).
    #[arg(help_heading = "Pacing and retries", long, value_name = "N", default_value_t = 8, value_parser = concurrency)]
    pub concurrency: u32,

    /// Export from an in-process sandbox seeded with samples/existing-guests.csv (no account
    /// needed; credentials are ignored).
    #[arg(help_heading = "Credentials and connection", long)]
    pub sandbox: bool,
}

#[allow(
    missing_docs,
    reason = "clap turns doc comments into --help text: the flags are documented there, and a comment here would change it"
)]
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Print `export NAME=value` lines and keep serving in the background, so
    /// `eval "$(tallyfy-guests sandbox --env)"` returns; the default when stdout is not a
    /// terminal. `kill $TALLYFY_SANDBOX_PID` stops it.
    #[arg(long, conflicts_with = "foreground")]
    pub env: bool,

    /// Serve in the foreground until Ctrl-C even when stdout is not a terminal (a service
    /// manager, a container, a script that kills it).
    #[arg(long)]
    pub foreground: bool,

    /// Stop by itself after this long (e.g. 2h): a sandbox left in the background goes away.
    #[arg(long = "for", value_name = "DURATION", value_parser = duration)]
    pub stop_after: Option<Duration>,

    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8910)]
    pub port: u16,

    /// Organization id the sandbox serves.
    #[arg(long, value_name = "ORG", default_value = crate::defaults::SANDBOX_ORG)]
    pub org: String,

    /// Token the sandbox accepts (a fake one: this is not a real credential).
    #[arg(long, value_name = "TOKEN", default_value = crate::defaults::SANDBOX_TOKEN)]
    pub token: String,

    /// Client id its OAuth token endpoint (/oauth/token) accepts.
    #[arg(long, value_name = "ID", default_value = crate::defaults::SANDBOX_CLIENT_ID)]
    pub client_id: String,

    /// Client secret its OAuth token endpoint accepts (a fake one, like the token).
    #[arg(long, value_name = "SECRET", default_value = crate::defaults::SANDBOX_CLIENT_SECRET)]
    pub client_secret: String,

    /// Lifetime (`expires_in`) of the tokens the OAuth endpoint issues.
    #[arg(long, value_name = "DURATION", default_value = "7days", value_parser = duration)]
    pub token_lifetime: Duration,

    /// Reject an issued OAuth token after this many requests (a token that dies mid-run).
    #[arg(long, value_name = "N")]
    pub token_uses: Option<u64>,

    /// Start with the guests of this CSV (export format; only `email` is required).
    /// Default: samples/existing-guests.csv, built in.
    #[arg(long, value_name = "CSV")]
    pub guests: Option<PathBuf>,

    /// Start with no guests at all.
    #[arg(long, conflicts_with = "guests")]
    pub empty: bool,

    /// Server-side cap on per_page.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = per_page_cap)]
    pub per_page_cap: u32,

    /// Round trip of every request: its answer leaves this long after it arrived.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration)]
    pub latency: Duration,

    /// Burst limit such as 50/s, answered with 429 and Retry-After.
    #[arg(long, value_name = "N/PERIOD")]
    pub burst_limit: Option<Rate>,

    /// Invite cap on creates, answered with 429 RATE_LIMIT_EXCEEDED as Tallyfy does (30 an
    /// hour by default, as Tallyfy's own); `off` for none.
    #[arg(long, value_name = "N/PERIOD|off", default_value = crate::defaults::SANDBOX_INVITE_CAP, value_parser = invite_cap)]
    pub invite_cap: InviteCap,

    /// Fraction of requests answered with a 502/503/504 HTML page.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub error_rate: f64,

    /// Fraction of requests whose connection is dropped without an answer.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub drop_rate: f64,

    /// Fraction of writes (creates, deletes, disables, enables) that are applied but answered
    /// with a 502 or a dropped connection.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub commit_fail_rate: f64,

    /// Fraction of creates answered 500 before anything is stored.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub create_error_rate: f64,

    /// Fraction of creates that another writer got to first: the guest is stored with other
    /// details just before ours arrives, which is answered 422 "already taken".
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub other_writer_rate: f64,

    /// A guest created less than this long ago is not found by a GET yet (replica lag).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration)]
    pub read_lag: Duration,

    /// Serve the older payload shapes: string ids, names inside `details`, `{"error": true}` 422s.
    #[arg(long)]
    pub legacy: bool,

    /// Seed for the injected faults, so a run can be repeated.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The delimiters completion offers, by names a shell takes as they are (`;` and `|` are shell
/// syntax); the characters themselves are accepted too.
const DELIMITERS: &[&str] = &["comma", "semicolon", "pipe", "tab"];

/// The encodings completion offers: the usual ones; any WHATWG label is accepted.
const ENCODINGS: &[&str] = &[
    "utf-8",
    "utf-16le",
    "utf-16be",
    "windows-1252",
    "latin1",
    "iso-8859-15",
    "macintosh",
    "windows-1250",
    "windows-1251",
    "koi8-r",
    "shift_jis",
    "euc-jp",
    "euc-kr",
    "gb18030",
    "big5",
];

/// A flag's parser that also names the values a shell should offer for it (clap_complete reads
/// them; a plain function parser offers file names).
#[derive(Clone)]
pub struct Offer<P> {
    inner: P,
    values: &'static [&'static str],
}

fn offer<T: Clone + Send + Sync + 'static>(
    parse: fn(&str) -> Result<T, String>,
    values: &'static [&'static str],
) -> Offer<impl clap::builder::TypedValueParser<Value = T>> {
    use clap::builder::TypedValueParser;
    Offer {
        inner: clap::builder::StringValueParser::new().try_map(move |text: String| parse(&text)),
        values,
    }
}

impl<P: clap::builder::TypedValueParser> clap::builder::TypedValueParser for Offer<P> {
    type Value = P::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        self.inner.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.values
                .iter()
                .map(|value| clap::builder::PossibleValue::new(*value)),
        ))
    }
}

fn delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "TAB" | "\\t" | "\t" => Ok(b'\t'),
        "comma" => Ok(b','),
        "semicolon" => Ok(b';'),
        "pipe" => Ok(b'|'),
        one if one.len() == 1 && one.is_ascii() && one != "\"" && one != "\n" => Ok(one.as_bytes()[0]),
        _ => Err(format!("`{text}` is not a delimiter: use , ; | or tab")),
    }
}

/// A duration such as 30s, 10m or 2h, at most a year (no arithmetic on it can overflow).
fn duration(text: &str) -> Result<Duration, String> {
    const YEAR: Duration = Duration::from_secs(366 * 24 * 3600);
    match humantime::parse_duration(text.trim()) {
        Ok(duration) if duration <= YEAR => Ok(duration),
        Ok(_) => Err(format!("`{text}` is longer than a year")),
        Err(_) => Err(format!(
            "`{text}` is not a duration: write it like 30s, 10m, 2h or 1day"
        )),
    }
}

/// A retention age such as 90d or 12weeks: any length (a history kept for years is pruned by
/// ages beyond `duration`'s year).
fn long_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not a duration: write it like 90d, 12weeks or 1year"))
}

/// Requests in flight: a whole number from 1 to 256 (said in words, not Rust's `1..=256`).
fn concurrency(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!("`{text}` is not a number of requests from 1 to 256")),
    }
}

/// A spreadsheet row number: 1 or more.
fn row_number(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "`{text}` is not a row number: give a whole number of 1 or more"
        )),
    }
}

/// `--limit`: a number of rows, 1 or more (0 would read nothing and look like an empty file).
fn row_count(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "`{text}` is not a number of rows: give a whole number of 1 or more (leave --limit out to read every row)"
        )),
    }
}

fn per_page_cap(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{text}` is not a page size: give a whole number of 1 or more")),
    }
}

/// `--invite-cap`: a rate such as `30/h`, or `off`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InviteCap(pub Option<Rate>);

fn invite_cap(text: &str) -> Result<InviteCap, String> {
    match text.trim() {
        "off" | "none" => Ok(InviteCap(None)),
        rate => rate
            .parse::<Rate>()
            .map(|rate| InviteCap(Some(rate)))
            .map_err(|e| e.to_string()),
    }
}

fn fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("`{text}` is not a fraction between 0 and 1 (e.g. 0.05)")),
    }
}

/// The command line as text, for what is said about it besides parsing it: a flag error's
/// JSON form and the summary it still writes.
pub fn raw_args() -> Vec<String> {
    std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect()
}

/// What logging starts with: the flags' format and quietness, `NO_COLOR` (no-color.org: set to
/// anything but empty, no colour) and `RUST_LOG`.
pub fn log_settings(json: bool, quiet: bool) -> crate::logging::Settings {
    crate::logging::Settings {
        json,
        quiet,
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        filter: std::env::var("RUST_LOG").ok(),
    }
}
