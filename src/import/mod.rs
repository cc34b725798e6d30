//! `import`: read → validate → dedupe → create → results, streaming through bounded channels so
//! memory does not grow with the file (beyond the set of emails seen). Every input record gets
//! exactly one result row; a stop (token rejected, rate-limited beyond `--max-wait`, a signal)
//! turns what is left into `deferred` rows, and re-running the same command continues.
//!
//! This file is the facade: it places the children and passes their names on (`run`, `Summary`,
//! `SummaryFile`; its own code is only the `--summary-json` of a command clap refused), and no
//! child names it back. The folder shows the pipeline, in the order a run meets it:
//! - `job`: the run, stage by stage, from set-up to the end (what `engine::start` spawns).
//! - `setup`: every check before anything is sent (input, outputs, configuration, where the acts
//!   journal goes), the connection; `lock`: one run at a time per results file (and per organization for a run
//!   that deletes or disables); `options`: what the run's stages read of its configuration.
//! - `pipeline`: the run loop, which asks `confirm`'s question once the file is planned, and
//!   whose `stop` (signals, a rejected token, a long rate limit) every stage obeys.
//! - `plan/`: what each row becomes: `reader` (the file, validated, in batches), `prefetch`
//!   (the organization's guests), `dedupe` against them (`existing`), `sync` (profiles compared).
//! - `act/`: what is sent: `execute` (`create` with read-backs, `update` of members), `undo`
//!   (takes back the guests a results file says were created), `mirror` (`--on-missing`),
//!   `remove` (one guest taken away after reading it back), `journal` (every act, written ahead).
//! - `report/`: what is told: `results` (the results file, and `workbook` for `.xlsx`), `missing`
//!   (`--report-missing`), `summary`, `next` (the command to run next), `progress`.
//! - `outcome`: what became of a row (`Status`, `Outcome`), shared by all three.
//! - `event`: what a run tells its watchers (`Event`, `Wait`), its question (`Confirm`), and
//!   where it sends them (`Events`): a leaf that the stages send to and the faces read.
//! - `engine`: the run as a library (`start`, its `Event`s re-exported, its stop); `face`: the
//!   CLI's consumers of those events (the signal watcher, the question on the terminal, the bar
//!   and heartbeat, the summary on stderr, `--summary-json`).

mod act;
mod confirm;
pub mod engine;
mod event;
mod face;
mod job;
mod link;
mod lock;
mod options;
mod outcome;
mod pipeline;
mod plan;
pub mod report;
mod setup;
mod stop;

use crate::error::RunError;
pub use report::summary::{Summary, SummaryFile};

pub use face::run;

/// The `--summary-json` of an `import` or `undo` whose flags were refused before it could
/// start (`--concurrency 0`, an unknown flag): exit 2 and the error, so that monitoring does
/// not read an earlier run's account. `args` is the command line. A path that holds something
/// other than a summary this tool wrote is left alone (it might be the input, mistyped).
pub fn summary_after_flag_error(args: &[String], message: &str) {
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
    let mut account = SummaryFile::bare(command, dry_run, on_existing, std::time::SystemTime::now());
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
