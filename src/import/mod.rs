//! `import`: read → validate → dedupe → create → results, streaming through bounded channels so
//! memory does not grow with the file (beyond the set of emails seen). Every input record gets
//! exactly one result row; a stop (token rejected, rate-limited beyond `--max-wait`, a signal)
//! turns what is left into `deferred` rows, and re-running the same command continues.
//!
//! The folder shows the pipeline, in the order a run meets it:
//! - `setup`: every check before anything is sent (input, outputs, configuration), the
//!   connection; `lock`: one run at a time per results file (and per organization for a run
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
//! - `engine`: the run as a library (`start`, its `Event`s, its stop); `face`: the CLI's
//!   consumers of those events (the signal watcher, the question).

mod act;
mod confirm;
pub mod engine;
mod face;
mod lock;
mod options;
mod outcome;
mod pipeline;
mod plan;
pub mod report;
mod setup;
mod stop;

use tracing::Instrument;

use crate::config::{ImportConfig, Reach};
use crate::error::{Exit, RunError};
use crate::output::CsvStyle;
use act::{journal, mirror};
use options::Options;
use pipeline::pipeline;
use report::progress::{PendingCreates, Progress};
use report::results::{self, ResultsWriter};
pub use report::summary::{Summary, SummaryFile};
use report::{missing, next, workbook};

pub use face::run;

/// The job, as `engine::start` runs it: the run, then its `--summary-json`.
async fn run_job(
    args: ImportConfig,
    face: engine::Face,
    events: engine::Events,
    stop: std::sync::Arc<stop::Stop>,
) -> Result<Exit, RunError> {
    let started = std::time::SystemTime::now();
    let mut account = SummaryFile::new(&args, started);
    let result = import(&args, face, &mut account, &events, &stop).await;
    // However the command ends (set-up problems and a refused lock included), monitoring
    // reads this run's exit code, never an earlier run's.
    if let Some(path) = args.summary_json.as_ref() {
        match (account.write(path, &result), &result) {
            (Err(error), Ok(_)) => return Err(error),
            // The run's own failure is what the person needs to see; this one is a footnote.
            (Err(error), Err(_)) => tracing::warn!("{error}"),
            (Ok(()), _) => {}
        }
    }
    result
}

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

/// The run, stage by stage.
async fn import(
    args: &ImportConfig,
    face: engine::Face,
    account: &mut SummaryFile,
    events: &engine::Events,
    stop: &std::sync::Arc<stop::Stop>,
) -> Result<Exit, RunError> {
    let ui = face.ui;
    let setup::Setup {
        input,
        results_path,
        reach,
        total,
        max_failed,
        retried_complete,
    } = setup::check(args, face.count_rows, account)?;
    // One run at a time per results file (by the real file: through symlinks, and hard links
    // by inode); taken before anything is sent or written. (A device or FIFO given as the
    // results is not a file to protect, and gets no lock file.)
    let mut lock = match results_path.as_deref().filter(|path| lock::lockable(path)) {
        Some(path) => lock::acquire(path, &args.lock_dir)?,
        None => lock::RunLock::default(),
    };
    // A run that deletes or disables (undo, --on-missing) also holds its organization.
    if let Reach::Api(config) = &reach
        && !args.dry_run
        && (args.undo.is_some() || args.on_missing.removal().is_some())
    {
        let api = match config.base_url.port() {
            Some(port) => format!("{}:{port}", config.base_url.host_str().unwrap_or_default()),
            None => config.base_url.host_str().unwrap_or_default().to_string(),
        };
        let results = results_path
            .as_deref()
            .map_or("to stdout".to_string(), |path| path.display().to_string());
        lock::acquire_org(&mut lock, &config.org, &api, &results, &args.lock_dir)?;
    }
    // Write-ahead: every delete, disable and enable is recorded here before it is sent, so the
    // journal is opened (and proven writable) before anything is.
    let offline = matches!(reach, Reach::Offline);
    let journal = match acts_journal(args, results_path.as_deref()).filter(|_| !offline) {
        Some(path) => journal::Journal::open(&path)?,
        None => journal::Journal::none(),
    };
    if let Some(path) = journal.path() {
        tracing::info!("deletes, disables and enables are recorded in {}", path.display());
    }
    setup::log_input(&input, args.retry, args.undo);
    // Nothing to confirm against the built-in sandbox: it is nobody's organization.
    let ask = face.ask && !args.dry_run && !args.yes && !matches!(reach, Reach::Sandbox(_));
    // The built-in sandbox, if any, lives as long as this binding: to the end of the run.
    let (client, sandbox) = setup::connect(reach).await?;
    let also = args.on_missing.removal().map(|how| {
        let of = match args.max_missing {
            crate::modes::ErrorBudget::Rows(_) => "",
            crate::modes::ErrorBudget::Percent(_) => " of the organization's guests",
        };
        format!(
            "Guests not in the file will be {} (at most {}{of}).",
            how.done(),
            args.max_missing
        )
    });
    // Asked in the pipeline, once the file is planned: the question gives the real counts.
    let question = ask.then(|| confirm::Question {
        undo: args.undo,
        also,
        invite_rates: args.invite_rates().to_vec(),
    });
    // A workbook is made at the end from rows written beside it as the run goes.
    let xlsx = results_path.clone().filter(|path| workbook::wanted(path));
    let rows_path = xlsx.as_deref().map(workbook::rows_path).or(results_path.clone());
    let (raw, style) = match &xlsx {
        Some(_) => (true, CsvStyle::new(false)),
        None => (args.raw, input.results_style(args.excel)),
    };
    let header = input.header.clone();
    let open_results = || {
        let stamp = results::RunStamp::of(client.as_ref());
        ResultsWriter::create(rows_path.as_deref(), &header, raw, style, stamp)
    };
    let format = input.format.to_string();
    let unmapped_hints: Vec<String> = match args.undo {
        None => input.hints.iter().map(|hint| hint.text.clone()).collect(),
        Some(_) => Vec::new(),
    };
    let options = Options {
        concurrency: args.concurrency,
        dry_run: args.dry_run,
        max_rounds: args.max_retries,
        on_existing: args.on_existing,
        max_failed,
        report_missing: args.report_missing.is_some(),
        undo: args.undo,
        include_used: args.include_used,
        reenable: args.on_missing == crate::modes::OnMissing::Disable,
        members: Default::default(),
        journal: journal.clone(),
        // Lines of text, guessed from the file's size (a workbook's rows are known already).
        expected_rows: total.or_else(|| {
            matches!(input.format, crate::input::Format::Text { .. })
                .then(|| crate::input::Source::from_arg(&args.file))
                .and_then(|source| source.regular_file().and_then(crate::input::estimate_lines))
        }),
    };
    let pending = PendingCreates::default();
    let invite_interval = args
        .invite_rates()
        .iter()
        .map(|rate| rate.period / rate.count.get())
        .max();
    let mut progress = Progress::new(ui.progress, total, pending.clone(), invite_interval);
    if !ui.progress && !ui.quiet && !args.heartbeat.is_zero() {
        progress = progress.with_heartbeat(args.heartbeat, total, ui.json);
    }
    let span = progress.span();
    events.send(engine::Event::SetUp {
        input: crate::input::Source::from_arg(&args.file).display(),
        rows: total,
        organization: client.as_ref().map(|client| client.org().to_string()),
    });
    let pipeline::Ran {
        mut summary,
        missing,
        org_guests,
        whole_file,
    } = pipeline(
        input,
        client.as_ref(),
        open_results,
        question.as_ref(),
        &options,
        progress,
        &pending,
        stop,
        events,
    )
    .instrument(span)
    // A run that could not start (the guest list unreadable, the question declined) has not
    // opened its results: any file at that path is as it was.
    .await?;
    summary.input = format;
    summary.undo = args.undo.is_some();
    summary.dry_run = args.dry_run;
    summary.unmapped_hints = unmapped_hints;
    // A report that cannot be written at the end does not undo what was done: the summary still
    // counts it (and the journal holds every act), and the exit code says the report failed.
    let mut report_failed = None;
    if let (Some(path), Some(missing)) = (&args.report_missing, &missing) {
        let mirrored = match (args.on_missing.removal(), &client) {
            (Some(how), Some(client)) => {
                let rules = mirror::Rules {
                    how,
                    budget: args.max_missing,
                    dry_run: args.dry_run,
                    concurrency: args.concurrency,
                    journal: journal.clone(),
                };
                // A retry acts on missing guests only when the retried file's run read its whole
                // input too (the file itself is proven whole at set-up).
                let whole = match (whole_file, retried_complete) {
                    (false, _) => Err(
                        "the whole file was not read (the run stopped, the file could not be read to its end, or it ends inside an open quote), so guests in the unread part would look missing",
                    ),
                    (true, false) => Err(
                        "the retried results are of a run cut by --limit, so guests of the rows it never read would look missing",
                    ),
                    (true, true) => Ok(()),
                };
                // The report is written once before anything is touched: a report path that
                // cannot be written stops the mirror before its first act.
                let ahead = (!args.dry_run).then(|| mirror::not_yet(missing, how));
                match ahead.map(|ahead| missing::write(path, missing, Some(&ahead), args.raw, args.excel)) {
                    Some(Err(error)) => {
                        tracing::error!("{error}; no guest was {}", how.done());
                        let outcomes = mirror::not_yet(missing, how);
                        Some(mirror::Mirrored {
                            outcomes,
                            stopped: Some(error.to_string()),
                        })
                    }
                    _ => Some(mirror::act(client, missing, org_guests, whole, &rules, stop).await),
                }
            }
            _ => None,
        };
        let done = mirrored.as_ref().map(|m| m.outcomes.as_slice());
        match missing::report(path, missing, done, args.raw, args.excel) {
            Ok(count) => summary.missing = Some(count),
            Err(error) => {
                tracing::error!("{error}");
                summary.missing = Some(missing.len() as u64);
                report_failed = Some(error);
            }
        }
        if let Some(mirrored) = mirrored {
            summary.on_missing(args.on_missing, &mirrored.outcomes, mirrored.stopped);
        }
    }
    if let Some(client) = &client {
        account.client(client);
    }
    if let (Some(xlsx), Some(rows)) = (&xlsx, &rows_path) {
        let input = crate::input::Source::from_arg(&args.file).display();
        workbook::write(rows, xlsx, &summary, client.as_ref(), &input, args.dry_run).await?;
    }
    drop(sandbox);
    let argv: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    summary.next = next::advice(
        &summary,
        results_path.as_deref(),
        &argv,
        &args.file,
        args.undo.is_some(),
    );
    summary.show(ui, results_path.as_deref());
    let mut exit = summary.exit();
    if let Some(error) = report_failed {
        tracing::error!("{error}: what was done is counted above, and every act is in the acts journal");
        if exit == Exit::Success {
            exit = Exit::Problems;
        }
    }
    events.stopping(stop);
    events.send(engine::Event::Finished {
        summary: summary.clone(),
        exit,
    });
    account.summary(summary, results_path.as_deref());
    Ok(exit)
}

/// Where a run that may delete, disable or enable records its acts: beside its results
/// (`journal::path_for`), else beside the input, else in the working folder. None for a run that
/// sends no act (a dry run, or one with neither `undo` nor `--on-missing`; an offline run sends
/// none either). Set-up checks it against the other outputs: a report or summary written over
/// it would replace the record of every act.
pub(super) fn acts_journal(args: &ImportConfig, results: Option<&std::path::Path>) -> Option<std::path::PathBuf> {
    let acts = args.undo.is_some() || args.on_missing.removal().is_some();
    if !acts || args.dry_run {
        return None;
    }
    let fallback = match crate::input::Source::from_arg(&args.file) {
        crate::input::Source::File(input) if crate::output::replaceable(&input) => input.with_extension("acts.csv"),
        _ => "tallyfy-guests.acts.csv".into(),
    };
    Some(journal::path_for(results, fallback))
}
