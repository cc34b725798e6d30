//! Command-line flags as clap sees them. Nothing here is validated beyond its type: `config`
//! turns these into a checked `ApiConfig`, so the core never sees clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::pacing::Rate;

/// Shown under every `--help`: the contract scripts and monitoring rely on.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the run finished but something failed (see the error or the results file)
  2  usage or input error: a bad flag, file or URL, missing credentials or credentials the API
     rejects; nothing was written
  3  stopped early: rate-limited for longer than --max-wait, or interrupted; run it again later

Credentials: the token is read from TALLYFY_ACCESS_TOKEN or --token-file, never from a flag.";

#[derive(Debug, Parser)]
#[command(
    name = "tallyfy-guests",
    version,
    about = "Move guest users between spreadsheets and a Tallyfy organization.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Only errors on stderr: no progress, no summary.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create guests from a spreadsheet, with a results file that accounts for every row.
    #[command(after_help = IMPORT_HELP)]
    Import(ImportArgs),
    /// Write every guest of the organization as CSV.
    #[command(after_help = EXIT_CODES)]
    Export(ExportArgs),
    /// Serve a local emulator of the Tallyfy guests API on 127.0.0.1, for tests and trials.
    Sandbox(SandboxArgs),
}

/// How to reach the API; shared by every command that talks to it.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Organization id (32 hex characters).
    #[arg(long, env = "TALLYFY_ORG_ID", value_name = "ORG")]
    pub org: Option<String>,

    /// API base URL; `organizations/...` is appended to it.
    #[arg(
        long,
        env = "TALLYFY_BASE_URL",
        value_name = "URL",
        default_value = crate::config::DEFAULT_BASE_URL
    )]
    pub base_url: String,

    /// Read the access token from this file instead of TALLYFY_ACCESS_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// Client-side request quota such as 10/s, 600/min or 30/h; repeat it and all apply.
    #[arg(long = "rate", value_name = "N/PERIOD")]
    pub rates: Vec<Rate>,

    /// Resends of a request after a transient failure (5xx, timeout, dropped connection).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_retries: u32,

    /// Longest rate-limit pause to sit out; a longer one stops with "rate-limited until".
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub max_wait: Duration,

    /// Time allowed to open a connection.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,

    /// Time allowed for one whole request, response included.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Shown under `import --help`.
pub const IMPORT_HELP: &str = "\
Examples:
  tallyfy-guests import guests.csv --dry-run        check a file; no write is sent
  tallyfy-guests import contacts.xlsx --sheet Guests --map \"Work E-mail=email\"
  tallyfy-guests import guests.csv --rate 30/h      pace creates under the hourly invite cap
  tallyfy-guests import samples/guests.csv --sandbox  try it with no account

Results (beside the input as <name>.results.csv unless --results): one row per input row,
  result_row, result_status, result_guest_id, result_http_status, result_attempts,
  result_message, then the input's own columns. result_status is one of created, exists,
  duplicate, invalid, conflict, failed, deferred, or would_create in a dry run.

Exit codes:
  0  every row is created, exists, duplicate or would_create
  1  the run finished and some rows are invalid, conflict or failed
  2  usage or input error, or credentials the API rejects; nothing was created
  3  stopped early (token rejected mid-run, rate-limited beyond --max-wait, SIGINT or
     SIGTERM): unfinished rows are `deferred`; run the same command again to continue";

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub api: ApiArgs,

    /// The guest file (CSV with a header row); `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Where to write the results; `-` for stdout. Default: beside FILE as <name>.results.csv
    /// (stdout when FILE is `-`).
    #[arg(long, value_name = "PATH")]
    pub results: Option<PathBuf>,

    /// Validate and dedupe (against the live list when credentials are given) without
    /// creating anything: rows that would be created are `would_create`.
    #[arg(long)]
    pub dry_run: bool,

    /// Creates in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Keep cells starting with = + - @ as they are in the results (no formula protection).
    #[arg(long)]
    pub raw: bool,

    /// Write the results for Excel: UTF-8 with a byte order mark, CRLF line ends.
    #[arg(long)]
    pub excel: bool,

    /// The file's text encoding when detection gets it wrong: utf-8, windows-1252, latin1,
    /// utf-16le, utf-16be, shift_jis, ... (default: from the byte order mark or the bytes).
    #[arg(long, value_name = "LABEL", value_parser = crate::input::parse_encoding)]
    pub encoding: Option<&'static crate::input::Encoding>,

    /// The delimiter: `,` `;` `|` or `tab` (default: sniffed from the first lines).
    #[arg(long, value_name = "CHAR", value_parser = delimiter)]
    pub delimiter: Option<u8>,

    /// Map a column to a field, e.g. --map "Work E-mail=email"; `=ignore` skips a column.
    /// Repeatable. Fields: email, first_name, last_name, phone_1, phone_2, company_name,
    /// timezone, associated_members.
    #[arg(long = "map", value_name = "COLUMN=FIELD", value_parser = crate::input::parse_mapping)]
    pub map: Vec<(String, crate::input::Target)>,

    /// The sheet of a workbook (.xlsx, .xls, .ods) to read (default: the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,

    /// Import into an in-process sandbox seeded with samples/existing-guests.csv (no account
    /// needed; credentials are ignored).
    #[arg(long)]
    pub sandbox: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub api: ApiArgs,

    /// Write to this file (atomically, on success) instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Add the task statistics columns.
    #[arg(long)]
    pub with_stats: bool,

    /// Keep cells starting with = + - @ as they are (no spreadsheet formula protection).
    #[arg(long)]
    pub raw: bool,

    /// Write for Excel: UTF-8 with a byte order mark, CRLF line ends.
    #[arg(long)]
    pub excel: bool,

    /// Pages fetched at once after the first.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Export from an in-process sandbox seeded with samples/existing-guests.csv (no account
    /// needed; credentials are ignored).
    #[arg(long)]
    pub sandbox: bool,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8910)]
    pub port: u16,

    /// Organization id the sandbox serves.
    #[arg(long, value_name = "ORG", default_value = crate::sandbox::DEFAULT_ORG)]
    pub org: String,

    /// Token the sandbox accepts (a fake one: this is not a real credential).
    #[arg(long, value_name = "TOKEN", default_value = crate::sandbox::DEFAULT_TOKEN)]
    pub token: String,

    /// Start with the guests of this CSV (export format; only `email` is required).
    /// Default: samples/existing-guests.csv, built in.
    #[arg(long, value_name = "CSV")]
    pub guests: Option<PathBuf>,

    /// Start with no guests at all.
    #[arg(long, conflicts_with = "guests")]
    pub empty: bool,

    /// Server-side cap on per_page.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub per_page_cap: u32,

    /// Delay before every response.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub latency: Duration,

    /// Burst limit such as 50/s, answered with 429 and Retry-After.
    #[arg(long, value_name = "N/PERIOD")]
    pub burst_limit: Option<Rate>,

    /// Invite cap such as 30/h on creates, answered with 429 RATE_LIMIT_EXCEEDED.
    #[arg(long, value_name = "N/PERIOD")]
    pub invite_cap: Option<Rate>,

    /// Fraction of requests answered with a 502/503/504 HTML page.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub error_rate: f64,

    /// Fraction of requests whose connection is dropped without an answer.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub drop_rate: f64,

    /// Fraction of creates that are committed but answered with a 502 or a dropped connection.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub commit_fail_rate: f64,

    /// Serve the older payload shapes: string ids, names inside `details`, `{"error": true}` 422s.
    #[arg(long)]
    pub legacy: bool,

    /// Seed for the injected faults, so a run can be repeated.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "TAB" | "\\t" | "\t" => Ok(b'\t'),
        one if one.len() == 1 && one.is_ascii() && one != "\"" && one != "\n" => Ok(one.as_bytes()[0]),
        _ => Err(format!("`{text}` is not a delimiter: use , ; | or tab")),
    }
}

fn fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("`{text}` is not a fraction between 0 and 1 (e.g. 0.05)")),
    }
}
