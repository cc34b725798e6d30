//! `import`: read → validate → dedupe → create → results, streaming through bounded channels so
//! memory does not grow with the file (beyond the set of emails seen). Every input record gets
//! exactly one result row; a stop (token rejected, rate-limited beyond `--max-wait`, SIGINT or
//! SIGTERM) turns what is left into `deferred` rows, and re-running the same command continues.

mod create;
mod dedupe;
mod lock;
mod missing;
mod prefetch;
mod progress;
pub mod results;
mod summary;
mod sync;
mod update;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::api::{Client, NewGuest};
use crate::cli::{ErrorBudget, ImportArgs, OnExisting};
use crate::config::{ApiConfig, ConfigError};
use crate::error::{RunError, shutdown_signal};
use crate::input::{Field, Input, InputOptions, InputRecord, Source, count_records, incomplete_results};
use crate::logging::Ui;
use crate::output::{check_writable, replaceable, same_file};
use crate::sandbox::{Sandbox, builtin};
use crate::validate::validate;
use create::Stop;
use dedupe::{Deduper, Emails, Existing, Profile, Seen};
use progress::{PendingCreates, Progress};
use results::{ResultsWriter, RowResult, Status};
pub use summary::{Summary, SummaryFile};

/// In-flight requests get this long to finish after SIGINT/SIGTERM before they are abandoned.
const GRACE: Duration = Duration::from_secs(5);
/// Rows travel from the reader thread in batches (one wake-up per batch, not per row) ...
const BATCH_ROWS: usize = 256;
/// ... or of at most this many bytes (as `InputRecord::memory` counts them) ...
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// ... and this many batches may wait, which bounds the memory between the two.
const CHANNEL_BATCHES: usize = 8;

/// The `import` command. Returns the exit code the run's rows call for.
pub async fn run(args: ImportArgs, ui: Ui) -> Result<u8, RunError> {
    let started = std::time::SystemTime::now();
    let mut account = SummaryFile::new(&args, started);
    let result = import(&args, ui, &mut account).await;
    // A run refused because another holds the results file writes nothing at all.
    if let Some(path) = args
        .summary_json
        .as_ref()
        .filter(|_| !matches!(result, Err(RunError::Busy { .. })))
    {
        match (account.write(path, &result), &result) {
            (Err(error), Ok(_)) => return Err(error),
            // The run's own failure is what the person needs to see; this one is a footnote.
            (Err(error), Err(_)) => tracing::warn!("{error}"),
            (Ok(()), _) => {}
        }
    }
    result
}

async fn import(args: &ImportArgs, ui: Ui, account: &mut SummaryFile) -> Result<u8, RunError> {
    let file = args
        .retry_from
        .as_ref()
        .or(args.file.as_ref())
        .expect("clap requires FILE or --retry-from");
    let source = Source::from_arg(file);
    account.hash_input(&source);
    // Everything that can be wrong with the set-up is found before anything is sent or
    // written, and reported together.
    let mut problems: Vec<String> = Vec::new();
    let input = Input::open(
        &source,
        &InputOptions {
            encoding: args.encoding,
            delimiter: args.delimiter,
            map: args.map.clone(),
            sheet: args.sheet.clone(),
            previous_results: args.retry_from.is_some(),
            stream: false,
        },
    )
    .map_err(|e| problems.push(e.to_string()))
    .ok();
    let results_path = results_path(
        &source,
        args.results.as_deref(),
        args.retry_from.is_some(),
        args.dry_run,
    )
    .unwrap_or_else(|e| {
        problems.push(e.to_string());
        None
    });
    let outputs = [
        ("--results", results_path.as_deref()),
        ("--summary-json", args.summary_json.as_deref()),
        ("--report-missing", args.report_missing.as_deref()),
    ];
    let output_problems = output_problems(&source, &outputs);
    if output_problems.iter().any(|(flag, _)| *flag == "--summary-json") {
        // Its path is the problem: writing the account there could destroy a file.
        account.do_not_write();
    }
    problems.extend(output_problems.into_iter().map(|(_, problem)| problem));
    if let Some(previous) = args.retry_from.as_deref().filter(|_| source.regular_file().is_some())
        && let Some(why) = lock::unfinished_writer(previous).or_else(|| incomplete_results(previous))
    {
        problems.push(format!(
            "--retry-from {} is not a whole results file: {why}; run the original import command again instead (it continues where that run stopped)",
            previous.display()
        ));
    }
    let reach = reach(args).map_err(|e| problems.extend(e.problems())).ok();
    if args.report_missing.is_some() && matches!(reach, Some(Reach::Offline)) {
        problems.push("--report-missing needs the organization's guest list: give credentials (or --sandbox)".into());
    }
    let (Some(input), Some(reach), true) = (input, reach, problems.is_empty()) else {
        return Err(RunError::Setup(problems));
    };
    let total = match (&source, input.known_rows()) {
        (_, Some(rows)) => Some(rows),
        // Counted by reading a regular file twice; a stream (a pipe, `<(...)`, /dev/stdin) can be
        // read only once, so its total stays unknown rather than guessed.
        (source, None) if ui.progress || args.max_errors.is_some() => {
            source.regular_file().and_then(|path| count_records(path).ok())
        }
        _ => None,
    };
    let max_failed = match (args.max_errors, total) {
        (None, _) => None,
        (Some(ErrorBudget::Rows(rows)), _) => Some(rows),
        (Some(budget), Some(total)) => Some(budget.allowed(total)),
        (Some(_), None) => {
            return Err(RunError::Usage(format!(
                "--max-errors N% needs a file whose rows can be counted, and {} is a stream (stdin or a pipe) read only once; give a number of rows instead",
                source.display()
            )));
        }
    };
    // One run at a time per results file; taken before anything is sent or written.
    // (A device or FIFO given as the results is not a file to protect, and gets no lock file.)
    let _lock = results_path
        .as_deref()
        .filter(|path| replaceable(path))
        .map(lock::acquire)
        .transpose()?;
    if args.retry_from.is_some() {
        tracing::info!(
            "retrying the failed and deferred rows of {}; other rows are copied",
            input.name
        );
    }
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
    let (client, _sandbox) = connect(reach, args).await?;
    let results = ResultsWriter::create(results_path.as_deref(), &input.header, args.raw, args.excel)?;
    let format = input.format.to_string();
    let options = Options {
        concurrency: args.concurrency as usize,
        dry_run: args.dry_run,
        max_rounds: args.api.max_retries,
        on_existing: args.on_existing,
        max_failed,
        report_missing: args.report_missing.is_some(),
    };
    let pending = PendingCreates::default();
    let invite_interval = args
        .invite_rates
        .iter()
        .map(|rate| rate.period / rate.count.get())
        .max();
    let progress = Progress::new(ui.progress, total, pending.clone(), invite_interval);
    let span = progress.span();
    let (mut summary, missing) = match pipeline(input, client.as_ref(), results, &options, progress, &pending)
        .instrument(span)
        .await
    {
        Ok(done) => done,
        Err(error) => {
            // A run that could not start leaves no results file that looks like an account.
            // Only a regular file this run created: never a device, FIFO or link it was given.
            if let (Some(path), Fatal::BeforeStart) = (&results_path, error.when)
                && replaceable(path)
            {
                let _ = std::fs::remove_file(path);
            }
            return Err(error.error);
        }
    };
    summary.input = format;
    if let (Some(path), Some(missing)) = (&args.report_missing, &missing) {
        missing::write(path, missing, args.raw, args.excel)?;
        tracing::info!(
            "{} guests in Tallyfy are not in the file: {}",
            missing.len(),
            path.display()
        );
        summary.missing = Some(missing.len() as u64);
    }
    if let Some(client) = &client {
        account.client(client);
    }
    account.summary(&summary, results_path.as_deref());
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
    on_existing: OnExisting,
    /// `--max-errors`, as a number of failed rows.
    max_failed: Option<u64>,
    report_missing: bool,
}

/// Beside the input as `<stem>.results.csv` (`<stem>.retry.results.csv` for `--retry-from`
/// `<stem>.results.csv`); a dry run's as `<stem>.dry-run.csv`, so that it never replaces the
/// account of a real run. Stdout for stdin input or `--results -`.
fn results_path(
    source: &Source,
    given: Option<&Path>,
    retry: bool,
    dry_run: bool,
) -> Result<Option<PathBuf>, RunError> {
    let path = match (given, source) {
        (Some(path), _) if path.as_os_str() == "-" => return Ok(None),
        (Some(path), _) => path.to_path_buf(),
        (None, Source::Stdin) => return Ok(None),
        (None, Source::File(input)) => {
            let stem = input
                .file_stem()
                .map_or("guests".into(), |s| s.to_string_lossy().into_owned());
            let stem = if retry {
                format!("{}.retry", stem.strip_suffix(".results").unwrap_or(&stem))
            } else {
                stem
            };
            let kind = if dry_run { "dry-run" } else { "results" };
            input.with_file_name(format!("{stem}.{kind}.csv"))
        }
    };
    Ok(Some(path))
}

/// What is wrong with the output paths: one that cannot be created, one that is the input
/// under any name (a hard link or symlink included), or two that are one file.
fn output_problems<'a>(source: &Source, outputs: &[(&'a str, Option<&Path>)]) -> Vec<(&'a str, String)> {
    let outputs: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|&(flag, path)| path.map(|path| (flag, path)))
        .collect();
    let mut problems = Vec::new();
    for (i, &(flag, path)) in outputs.iter().enumerate() {
        if let Source::File(input) = source
            && same_file(path, input)
        {
            problems.push((
                flag,
                format!(
                    "{flag} {} is the input file {} (under another name?): writing it would destroy the input; choose another path",
                    path.display(),
                    input.display()
                ),
            ));
        } else if let Some((other, _)) = outputs[..i].iter().find(|(_, earlier)| same_file(path, earlier)) {
            problems.push((
                flag,
                format!(
                    "{other} and {flag} both name {}: give each its own file",
                    path.display()
                ),
            ));
        } else if let Err(problem) = check_writable(path, flag) {
            problems.push((flag, problem));
        }
    }
    problems
}

/// How the run reaches Tallyfy, decided before anything is sent.
enum Reach {
    Sandbox,
    Api(Box<ApiConfig>),
    /// A dry run with no credentials: nothing is checked against existing guests.
    Offline,
}

fn reach(args: &ImportArgs) -> Result<Reach, ConfigError> {
    if args.sandbox {
        return Ok(Reach::Sandbox);
    }
    match ApiConfig::from_args(&args.api) {
        Ok(config) => Ok(Reach::Api(Box::new(config))),
        Err(error) if args.dry_run && error.only_missing_credentials() => Ok(Reach::Offline),
        Err(error) => Err(error),
    }
}

/// The client to use: the built-in sandbox, the configured API, or none for an offline dry run.
async fn connect(reach: Reach, args: &ImportArgs) -> Result<(Option<Client>, Option<Sandbox>), RunError> {
    let client = |mut config: ApiConfig| {
        config.invite_rates = args.invite_rates.clone();
        Client::new(&config)
    };
    match reach {
        Reach::Sandbox => {
            let (sandbox, config) = builtin(&args.api).await?;
            Ok((Some(client(config)?), Some(sandbox)))
        }
        Reach::Api(config) => Ok((Some(client(*config)?), None)),
        Reach::Offline => {
            tracing::warn!("dry run offline: no credentials, so rows are not checked against existing guests");
            Ok((None, None))
        }
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
    /// The email cell of a row that is not imported as it stands (invalid, or copied through
    /// by `--retry-from`): its guest is still not missing from the file.
    mentioned: Option<String>,
}

/// What the pipeline does with a record once dedupe has seen it.
enum Plan {
    Done(RowResult),
    Create(InputRecord, NewGuest),
    Update(Box<UpdatePlan>),
}

struct UpdatePlan {
    result: RowResult,
    email: String,
    before: Vec<u64>,
    members: Vec<u64>,
    drift_note: String,
}

async fn pipeline(
    input: Input,
    client: Option<&Client>,
    mut results: ResultsWriter,
    options: &Options,
    mut progress: Progress,
    pending: &PendingCreates,
) -> Result<(Summary, Option<Vec<Existing>>), Failure> {
    let started = Instant::now();
    let stop = Arc::new(Stop::default());
    let signals = tokio::spawn(watch_signals(stop.clone(), options.dry_run));

    // Reading and validating is CPU work on a thread of its own; the bounded channel keeps
    // memory flat however large the file is.
    let (tx, rx) = mpsc::channel::<Vec<Parsed>>(CHANNEL_BATCHES);
    let map = input.map.clone();
    // A pipe may deliver rows slowly: do not hold them back waiting for a full batch.
    let batch_rows = if input.stream { 1 } else { BATCH_ROWS };
    let reading = stop.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(batch_rows);
        let mut batch_bytes = 0usize;
        for record in input {
            if reading.reading_halted() {
                tracing::warn!("stopped reading the file before row {}", record.row);
                break;
            }
            let guest = validate(&record, &map);
            // Rows of an earlier results file are mentioned too: for one that is re-run the
            // mention is harmless, as dedupe still counts its row as the first occurrence.
            let mentioned = (guest.is_err() || !record.previous.is_empty())
                .then(|| map.cell(Field::Email, &record.cells).map(str::to_string))
                .flatten();
            batch_bytes += record.memory();
            batch.push(Parsed {
                record,
                guest,
                mentioned,
            });
            // A batch ends at a number of rows or of bytes, whichever comes first: wide rows
            // (thousands of cells) must not make the batches in the channel gigabytes.
            if batch.len() == batch_rows || batch_bytes >= BATCH_BYTES {
                batch_bytes = 0;
                let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_rows));
                if tx.blocking_send(full).is_err() {
                    return;
                }
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
    });

    // Prefetch runs while the reader fills the channel.
    let existing = match client {
        Some(client) => tokio::select! {
            existing = prefetch::existing_guests(client, options.concurrency, options.report_missing) => {
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
        .map(|parsed| plan(&mut dedupe, parsed, options, offline))
        .inspect(|plan| {
            if matches!(plan, Plan::Create(..)) {
                pending.planned();
            }
        })
        .map(|plan| run_plan(plan, client, &stop, options, pending))
        .buffer_unordered(options.concurrency);
    // Boxed so that it can be dropped (ending its borrow of `dedupe`) before the report.
    let mut rows = Box::pin(rows);
    let mut summary = Summary::default();
    let mut failed = 0u64;
    // Set once the results cannot be written (a full disk): the run stops, and goes on
    // counting what becomes of each row so that the summary stays true.
    let mut write_failed = false;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            next = rows.next() => match next {
                Some((result, reconciliations)) => {
                    summary.count(result.status);
                    if result.status == Status::Failed {
                        failed += 1;
                        if options.max_failed.is_some_and(|max| failed > max) {
                            stop.stop(format!("{failed} rows failed, more than --max-errors allows"));
                        }
                    }
                    progress.row_done();
                    summary.reconciliations += u64::from(reconciliations);
                    if !write_failed {
                        let written = results.push(result);
                        write_failed = results_trouble(written, &stop).map_err(fatal(Fatal::MidRun))?;
                    }
                }
                None => break,
            },
            _ = tick.tick() => {
                if !write_failed {
                    write_failed = results_trouble(results.tick(), &stop).map_err(fatal(Fatal::MidRun))?;
                }
                if let Some(client) = client {
                    progress.paused_until(client.pacer().paused_until(), client.pacer().next_invite_at());
                }
            }
        }
    }
    signals.abort();
    reader
        .await
        .map_err(|e| fatal(Fatal::MidRun)(RunError::io("the file reader failed", std::io::Error::other(e))))?;
    if !write_failed {
        match results.finish() {
            Ok(written) => debug_assert_eq!(written, summary.rows()),
            Err(RunError::OutputClosed) => return Err(fatal(Fatal::MidRun)(RunError::OutputClosed)),
            Err(error) => stop.stop(error.to_string()),
        }
    }

    summary.elapsed = started.elapsed();
    summary.stopped = stop.invite_reason().map(str::to_string);
    if let Some(client) = client {
        let stats = client.stats();
        summary.paused = client.pacer().paused();
        summary.retries = stats.retries.load(std::sync::atomic::Ordering::Relaxed);
        summary.rate_limited = stats.rate_limited.load(std::sync::atomic::Ordering::Relaxed);
    }
    drop(rows);
    let missing = options.report_missing.then(|| dedupe.missing());
    Ok((summary, missing))
}

/// A results write that failed stops the run (exit 3: no new request starts, the rest are
/// deferred) rather than ending it with rows in flight; a closed stdout ends it quietly.
fn results_trouble(written: Result<(), RunError>, stop: &Stop) -> Result<bool, RunError> {
    match written {
        Ok(()) => Ok(false),
        Err(RunError::OutputClosed) => Err(RunError::OutputClosed),
        Err(error) => {
            tracing::error!("{error}; stopping: no new request starts");
            stop.stop(error.to_string());
            Ok(true)
        }
    }
}

/// `--retry-from` re-runs these rows of the earlier results; the others are copied.
fn should_retry(previous: &[String]) -> bool {
    matches!(previous[1].parse::<Status>(), Ok(Status::Failed | Status::Deferred))
}

/// A row of an earlier results file that is not re-run: its account, as it was.
fn copied(record: InputRecord) -> RowResult {
    let previous = &record.previous;
    let row = previous[0].trim().parse().unwrap_or(record.row);
    match previous[1].parse::<Status>() {
        Ok(status) => RowResult {
            index: record.index,
            row,
            status,
            guest_id: previous[2].clone(),
            http_status: previous[3].trim().parse().ok(),
            attempts: previous[4].trim().parse().unwrap_or(0),
            message: previous[5].clone(),
            cells: record.cells,
        },
        Err(_) => RowResult::new(
            record.index,
            row,
            Status::Invalid,
            format!(
                "result_status `{}` is not one this tool writes, so it cannot tell whether to re-run the row: set it to failed to re-run it",
                previous[1]
            ),
            record.cells,
        ),
    }
}

/// Validation and dedupe, in input order.
fn plan(dedupe: &mut Deduper, parsed: Parsed, options: &Options, offline: bool) -> Plan {
    let Parsed {
        mut record,
        guest,
        mentioned,
    } = parsed;
    if let Some(email) = &mentioned {
        dedupe.mention(email);
    }
    if !record.previous.is_empty() {
        if should_retry(&record.previous) {
            // The row keeps the number it has in the original spreadsheet.
            record.row = record.previous[0].trim().parse().unwrap_or(record.row);
        } else {
            return Plan::Done(copied(record));
        }
    }
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
        Seen::Exists(existing) => existing_row(record, &guest, &existing, options, "already a guest"),
        Seen::New if options.dry_run => {
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

/// A row whose guest already exists: `exists`, or an update of its members, with any drift.
/// `how` opens the message: how we know it exists.
fn existing_row(record: InputRecord, guest: &NewGuest, existing: &Existing, options: &Options, how: &str) -> Plan {
    let comparison = sync::compare(guest, &existing.profile);
    let drift_note = comparison.drift_note();
    let mut result = RowResult::new(record.index, record.row, Status::Exists, "", record.cells);
    result.guest_id = existing.id.clone();
    let change = |members: &[u64]| sync::members_change(&comparison.members_before, members);
    match (comparison.members, options.on_existing) {
        (None, _) => result.message = format!("{how}{drift_note}"),
        (Some(members), OnExisting::Skip) => {
            result.message = format!(
                "{how}; the file's members differ ({}; --on-existing update applies it){drift_note}",
                change(&members)
            );
        }
        (Some(members), OnExisting::Update) if options.dry_run => {
            result.status = Status::WouldUpdate;
            result.message = format!("would update: {}{drift_note}", change(&members));
        }
        (Some(members), OnExisting::Update) => {
            return Plan::Update(Box::new(UpdatePlan {
                result,
                email: guest.email.trim().to_string(),
                before: comparison.members_before,
                members,
                drift_note,
            }));
        }
    }
    Plan::Done(result)
}

/// Finishes a planned row: creates it, or defers it if the run has stopped.
async fn run_plan(
    plan: Plan,
    client: Option<&Client>,
    stop: &Stop,
    options: &Options,
    pending: &PendingCreates,
) -> (RowResult, u32) {
    let (record, guest, client) = match (plan, client) {
        (Plan::Done(result), _) => return (result, 0),
        (Plan::Update(update), Some(client)) => return (run_update(*update, client, stop).await, 0),
        (Plan::Update(update), None) => unreachable!("row {} planned for update offline", update.result.row),
        (Plan::Create(record, guest), Some(client)) => (record, guest, client),
        (Plan::Create(record, _), None) => unreachable!("row {} planned for creation offline", record.row),
    };
    let outcome = tokio::select! {
        outcome = create::create(client, &guest, stop, options.max_rounds) => outcome,
        _ = stop.abandon.cancelled() => create::abandoned(),
    };
    pending.finished();
    if let Some(found) = &outcome.found {
        // Someone else created it after the list was read: an existing guest like any other.
        let existing = Existing {
            id: found.id.clone(),
            profile: Profile::of(found),
        };
        let mut result = match existing_row(record, &guest, &existing, options, "already a guest") {
            Plan::Update(update) => run_update(*update, client, stop).await,
            Plan::Done(result) => result,
            Plan::Create(..) => unreachable!("an existing guest is never created"),
        };
        result.message = format!(
            "added by someone else after the guest list was read: {}",
            result.message
        );
        result.attempts += outcome.attempts;
        result.http_status = result.http_status.or(outcome.http_status);
        return (result, outcome.reconciliations);
    }
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

async fn run_update(plan: UpdatePlan, client: &Client, stop: &Stop) -> RowResult {
    let UpdatePlan {
        mut result,
        email,
        before,
        members,
        drift_note,
    } = plan;
    let outcome = tokio::select! {
        outcome = update::update(client, &email, &before, &members, stop) => outcome,
        _ = stop.abandon.cancelled() => create::abandoned(),
    };
    result.status = outcome.status;
    if !outcome.guest_id.is_empty() {
        result.guest_id = outcome.guest_id;
    }
    result.http_status = outcome.http_status;
    result.attempts = outcome.attempts;
    result.message = format!("{}{drift_note}", outcome.message);
    result
}

/// First SIGINT/SIGTERM/SIGHUP: start no new request (a dry run, which sends none, stops
/// reading the file at once). After `GRACE`, or a second signal: abandon the requests in flight
/// too, and stop reading.
async fn watch_signals(stop: Arc<Stop>, dry_run: bool) {
    shutdown_signal().await;
    stop.stop("interrupted by a signal (SIGINT, SIGTERM or SIGHUP)");
    if dry_run {
        stop.halt_reading();
        return;
    }
    tracing::warn!(
        "stopping: no new requests; waiting up to {} s for those in flight (signal again to abandon them)",
        GRACE.as_secs()
    );
    tokio::select! {
        _ = tokio::time::sleep(GRACE) => {}
        _ = shutdown_signal() => {}
    }
    stop.abandon.cancel();
    stop.halt_reading();
}
