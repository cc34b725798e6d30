//! `import`: read → validate → dedupe → create → results, streaming through bounded channels so
//! memory does not grow with the file (beyond the set of emails seen). Every input record gets
//! exactly one result row; a stop (token rejected, rate-limited beyond `--max-wait`, SIGINT or
//! SIGTERM) turns what is left into `deferred` rows, and re-running the same command continues.

mod create;
mod dedupe;
mod prefetch;
mod progress;
pub mod results;
mod summary;

use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::api::{Client, NewGuest};
use crate::cli::ImportArgs;
use crate::config::{ApiConfig, ConfigError};
use crate::error::{RunError, shutdown_signal};
use crate::input::{Input, InputOptions, InputRecord, Source, count_records};
use crate::logging::Ui;
use crate::sandbox::{Sandbox, builtin};
use crate::validate::validate;
use create::Stop;
use dedupe::{Deduper, Emails, Seen};
use progress::Progress;
use results::{ResultsWriter, RowResult, Status};
pub use summary::Summary;

/// In-flight requests get this long to finish after SIGINT/SIGTERM before they are abandoned.
const GRACE: Duration = Duration::from_secs(5);
/// Rows travel from the reader thread in batches (one wake-up per batch, not per row) ...
const BATCH_ROWS: usize = 256;
/// ... and this many batches may wait, which bounds the memory between the two.
const CHANNEL_BATCHES: usize = 8;

/// The `import` command. Returns the exit code the run's rows call for.
pub async fn run(args: ImportArgs, ui: Ui) -> Result<u8, RunError> {
    let source = Source::from_arg(&args.file);
    let input = Input::open(
        &source,
        &InputOptions {
            encoding: args.encoding,
            delimiter: args.delimiter,
            map: args.map.clone(),
            sheet: args.sheet.clone(),
        },
    )?;
    tracing::info!("reading {} as {}", input.name, input.format);
    tracing::info!("columns: {}", input.map.describe(&input.header));
    if !input.other_columns.is_empty() {
        let shown: Vec<String> = input.other_columns.iter().take(12).map(|c| format!("`{c}`")).collect();
        let more = input.other_columns.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        tracing::warn!(
            "columns kept in the results but not imported: {}{more}",
            shown.join(", ")
        );
    }
    let results_path = results_path(&source, args.results.as_deref())?;
    let (client, _sandbox) = connect(&args).await?;
    let results = ResultsWriter::create(results_path.as_deref(), &input.header, args.raw, args.excel)?;
    let format = input.format.to_string();
    let options = Options {
        concurrency: args.concurrency as usize,
        dry_run: args.dry_run,
        max_rounds: args.api.max_retries,
    };
    let total = match (&source, input.known_rows()) {
        (_, Some(rows)) => Some(rows),
        (Source::File(path), None) if ui.progress => count_records(path).ok(),
        _ => None,
    };
    let progress = Progress::new(ui.progress, total);
    let span = progress.span();
    let mut summary = match pipeline(input, client.as_ref(), results, &options, progress)
        .instrument(span)
        .await
    {
        Ok(summary) => summary,
        Err(error) => {
            // A run that could not start leaves no results file that looks like an account.
            if let (Some(path), Fatal::BeforeStart) = (&results_path, error.when) {
                let _ = std::fs::remove_file(path);
            }
            return Err(error.error);
        }
    };
    summary.input = format;
    let target = results_path
        .as_ref()
        .map_or("stdout".to_string(), |p| p.display().to_string());
    if ui.json {
        summary.log(&target);
    } else if !ui.quiet {
        eprintln!("{}\nresults: {target}", summary.render());
    }
    Ok(summary.exit_code())
}

struct Options {
    concurrency: usize,
    dry_run: bool,
    max_rounds: u32,
}

/// Beside the input as `<stem>.results.csv`; stdout for stdin input or `--results -`.
fn results_path(source: &Source, given: Option<&Path>) -> Result<Option<PathBuf>, RunError> {
    let path = match (given, source) {
        (Some(path), _) if path.as_os_str() == "-" => return Ok(None),
        (Some(path), _) => path.to_path_buf(),
        (None, Source::Stdin) => return Ok(None),
        (None, Source::File(input)) => {
            let stem = input
                .file_stem()
                .map_or("guests".into(), |s| s.to_string_lossy().into_owned());
            input.with_file_name(format!("{stem}.results.csv"))
        }
    };
    let same_file = |input: &Path| match (path.canonicalize(), input.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => path == input,
    };
    if let Source::File(input) = source
        && same_file(input)
    {
        return Err(RunError::Usage(format!(
            "--results {} would overwrite the input file",
            path.display()
        )));
    }
    Ok(Some(path))
}

/// The client to use: the built-in sandbox, the configured API, or none for an offline dry run.
async fn connect(args: &ImportArgs) -> Result<(Option<Client>, Option<Sandbox>), RunError> {
    if args.sandbox {
        let (sandbox, config) = builtin(&args.api).await?;
        return Ok((Some(Client::new(&config)?), Some(sandbox)));
    }
    match ApiConfig::from_args(&args.api) {
        Ok(config) => Ok((Some(Client::new(&config)?), None)),
        Err(ConfigError::MissingOrg | ConfigError::MissingToken) if args.dry_run => {
            tracing::warn!("dry run offline: no credentials, so rows are not checked against existing guests");
            Ok((None, None))
        }
        Err(error) => Err(error.into()),
    }
}

/// A failure that ends the run, and whether any row had been processed.
struct Failure {
    error: RunError,
    when: Fatal,
}

#[derive(Clone, Copy)]
enum Fatal {
    BeforeStart,
    MidRun,
}

fn fatal(when: Fatal) -> impl Fn(RunError) -> Failure {
    move |error| Failure { error, when }
}

/// A record after validation.
struct Parsed {
    record: InputRecord,
    guest: Result<NewGuest, Vec<String>>,
}

/// What the pipeline does with a record once dedupe has seen it.
enum Plan {
    Done(RowResult),
    Create(InputRecord, NewGuest),
}

async fn pipeline(
    input: Input,
    client: Option<&Client>,
    mut results: ResultsWriter,
    options: &Options,
    mut progress: Progress,
) -> Result<Summary, Failure> {
    let started = Instant::now();
    let stop = Arc::new(Stop::default());
    let signals = tokio::spawn(watch_signals(stop.clone()));

    // Reading and validating is CPU work on a thread of its own; the bounded channel keeps
    // memory flat however large the file is.
    let (tx, rx) = mpsc::channel::<Vec<Parsed>>(CHANNEL_BATCHES);
    let map = input.map.clone();
    // A pipe may deliver rows slowly: do not hold them back waiting for a full batch.
    let batch_rows = if input.name == "stdin" { 1 } else { BATCH_ROWS };
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(batch_rows);
        for record in input {
            let guest = validate(&record, &map);
            batch.push(Parsed { record, guest });
            if batch.len() == batch_rows
                && tx
                    .blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(batch_rows)))
                    .is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
    });

    // Prefetch runs while the reader fills the channel.
    let existing = match client {
        Some(client) => tokio::select! {
            existing = prefetch::existing_guests(client, options.concurrency) => {
                existing.map_err(|e| fatal(Fatal::BeforeStart)(e.into()))?
            }
            _ = stop.abandon.cancelled() => return Err(fatal(Fatal::BeforeStart)(RunError::Interrupted)),
        },
        None => Emails::default(),
    };

    let mut dedupe = Deduper::new(existing);
    let offline = client.is_none();
    let rows = futures::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|batch| (batch, rx)) })
        .flat_map(futures::stream::iter)
        .map(|parsed| plan(&mut dedupe, parsed, options.dry_run, offline))
        .map(|plan| run_plan(plan, client, &stop, options.max_rounds))
        .buffer_unordered(options.concurrency);
    let mut rows = pin!(rows);
    let mut summary = Summary::default();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            next = rows.next() => match next {
                Some((result, reconciliations)) => {
                    summary.count(result.status);
                    progress.row_done();
                    summary.reconciliations += u64::from(reconciliations);
                    results.push(result).map_err(fatal(Fatal::MidRun))?;
                }
                None => break,
            },
            _ = tick.tick() => {
                results.tick().map_err(fatal(Fatal::MidRun))?;
                progress.paused_until(client.and_then(|c| c.pacer().paused_until()));
            }
        }
    }
    signals.abort();
    reader
        .await
        .map_err(|e| fatal(Fatal::MidRun)(RunError::io("the file reader failed", std::io::Error::other(e))))?;
    let written = results.finish().map_err(fatal(Fatal::MidRun))?;
    debug_assert_eq!(written, summary.rows());

    summary.elapsed = started.elapsed();
    summary.stopped = stop.reason().map(str::to_string);
    if let Some(client) = client {
        let stats = client.stats();
        summary.paused = client.pacer().paused();
        summary.retries = stats.retries.load(std::sync::atomic::Ordering::Relaxed);
        summary.rate_limited = stats.rate_limited.load(std::sync::atomic::Ordering::Relaxed);
    }
    Ok(summary)
}

/// Validation and dedupe, in input order.
fn plan(dedupe: &mut Deduper, parsed: Parsed, dry_run: bool, offline: bool) -> Plan {
    let Parsed { record, guest } = parsed;
    let done = |status, message: String, record: InputRecord| {
        Plan::Done(RowResult::new(record.index, record.row, status, message, record.cells))
    };
    let guest = match guest {
        Ok(guest) => guest,
        Err(problems) => return done(Status::Invalid, problems.join("; "), record),
    };
    match dedupe.check(&guest.email, record.row) {
        Seen::DuplicateOf(first) => done(
            Status::Duplicate,
            format!("duplicate of row {first} (same email)"),
            record,
        ),
        Seen::Exists(id) => {
            let mut result = RowResult::new(
                record.index,
                record.row,
                Status::Exists,
                "already a guest",
                record.cells,
            );
            result.guest_id = id;
            Plan::Done(result)
        }
        Seen::New if dry_run => {
            let note = if offline {
                " (offline: not checked against existing guests)"
            } else {
                ""
            };
            done(Status::WouldCreate, format!("would be created{note}"), record)
        }
        Seen::New => Plan::Create(record, guest),
    }
}

/// Finishes a planned row: creates it, or defers it if the run has stopped.
async fn run_plan(plan: Plan, client: Option<&Client>, stop: &Stop, max_rounds: u32) -> (RowResult, u32) {
    let (record, guest, client) = match (plan, client) {
        (Plan::Done(result), _) => return (result, 0),
        (Plan::Create(record, guest), Some(client)) => (record, guest, client),
        (Plan::Create(record, _), None) => unreachable!("row {} planned for creation offline", record.row),
    };
    let outcome = tokio::select! {
        outcome = create::create(client, &guest, stop, max_rounds) => outcome,
        _ = stop.abandon.cancelled() => create::abandoned(),
    };
    let result = RowResult {
        index: record.index,
        row: record.row,
        status: outcome.status,
        guest_id: outcome.guest_id,
        http_status: outcome.http_status,
        attempts: outcome.attempts,
        message: outcome.message,
        cells: record.cells,
    };
    (result, outcome.reconciliations)
}

/// First SIGINT/SIGTERM: start no new request. After `GRACE`, or a second signal: abandon the
/// requests in flight too.
async fn watch_signals(stop: Arc<Stop>) {
    shutdown_signal().await;
    stop.stop("interrupted by SIGINT/SIGTERM");
    tracing::warn!(
        "stopping: no new requests; waiting up to {} s for those in flight (signal again to abandon them)",
        GRACE.as_secs()
    );
    tokio::select! {
        _ = tokio::time::sleep(GRACE) => {}
        _ = shutdown_signal() => {}
    }
    stop.abandon.cancel();
}
