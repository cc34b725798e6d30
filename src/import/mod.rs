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
//!   consumers of those events (the signal watcher, the question, the bar and heartbeat, the
//!   summary on stderr, `--summary-json`).

mod act;
mod confirm;
pub mod engine;
mod face;
mod link;
mod lock;
mod options;
mod outcome;
mod pipeline;
mod plan;
pub mod report;
mod setup;
mod stop;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Job, Kind, Reach};
use crate::error::{Exit, RunError};
use crate::output::CsvStyle;
use act::{journal, mirror};
use link::Link;
use options::{Options, Rows};
use pipeline::pipeline;
use report::results::{self, ResultsWriter};
pub use report::summary::{Summary, SummaryFile};
use report::{missing, next, workbook};

pub use face::run;

/// The job, as `engine::start` runs it.
async fn run_job(
    job: Job,
    face: engine::Face,
    events: engine::Events,
    stop: std::sync::Arc<stop::Stop>,
) -> Result<Exit, RunError> {
    let run = Run {
        job: &job,
        face,
        events: &events,
        stop: &stop,
    };
    import(run).await
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

/// A job being run, and what it answers to: the face it runs for, where its events go, its stop
/// (one for the whole command: the file's rows, then the mirror's acts).
#[derive(Clone, Copy)]
struct Run<'a> {
    job: &'a Job,
    face: engine::Face,
    events: &'a engine::Events,
    stop: &'a std::sync::Arc<stop::Stop>,
}

/// The run, stage by stage.
async fn import(run: Run<'_>) -> Result<Exit, RunError> {
    let job = run.job;
    let setup::Setup {
        input,
        results_path,
        reach,
        total,
        max_failed,
        retried_complete,
    } = setup::check(job, run.face.count_rows)?;
    let _lock = lock_run(job, &reach, results_path.as_deref())?;
    let journal = open_journal(job, &reach, results_path.as_deref())?;
    setup::log_input(&input, &job.kind);
    // Asked in the pipeline, once the file is planned: the question gives the real counts.
    let question = question(job, run.face, &reach);
    // The built-in sandbox, if any, lives as long as this binding: to the end of the run.
    let (client, sandbox) = setup::connect(reach).await?;
    let link = Link::new(client.map(Arc::new), job.dry_run);
    let client = link.client().map(|client| &**client);
    let target = ResultsTarget::new(job, &input, results_path.as_deref());
    let options = options(job, &input, total, max_failed, &journal);
    let ran = rows(run, input, &link, &target, question.as_ref(), &options, total)
        // A run that could not start (the guest list unreadable, the question declined) has
        // not opened its results: any file at that path is as it was.
        .await?;
    let mut summary = ran.summary;
    let report_failed = match (job.kind.import(), ran.missing) {
        (Some(import), Some(missing)) => {
            let mirror = Mirror {
                job,
                import,
                client,
                journal: &journal,
                stop: run.stop,
            };
            let read = (ran.whole_file, retried_complete);
            mirror.run(&mut summary, &missing, ran.org_guests, read).await
        }
        _ => None,
    };
    summary.requests = client.map(report::summary::Requests::of);
    if let (Some(xlsx), Some(rows)) = (&target.xlsx, &target.rows) {
        let input = crate::input::Source::from_arg(&job.file).display();
        workbook::write(rows, xlsx, &summary, client, &input, job.dry_run).await?;
    }
    drop(sandbox);
    Ok(finish(run, summary, report_failed, results_path))
}

/// The file's rows through the pipeline, with the set-up told to the run's watchers first and
/// the end of the sending after; the summary says how the input was read and what ran.
async fn rows(
    run: Run<'_>,
    input: crate::input::Input,
    link: &Link,
    target: &ResultsTarget,
    question: Option<&confirm::Question>,
    options: &Options,
    total: Option<u64>,
) -> Result<pipeline::Ran, RunError> {
    let job = run.job;
    let client = link.client().map(|client| &**client);
    let header = input.header.clone();
    let open_results = || {
        let stamp = results::RunStamp::of(client);
        ResultsWriter::create(target.rows.as_deref(), &header, target.raw, target.style, stamp)
    };
    let format = input.format.to_string();
    let unmapped_hints: Vec<String> = match job.kind {
        Kind::Import(_) => input.hints.iter().map(|hint| hint.text.clone()).collect(),
        Kind::Undo(_) => Vec::new(),
    };
    run.events.send(engine::Event::SetUp {
        input: crate::input::Source::from_arg(&job.file).display(),
        rows: total,
        organization: client.map(|client| client.org().to_string()),
    });
    let mut ran = pipeline(input, link, open_results, question, options, run.stop, run.events).await?;
    run.events.send(engine::Event::Sent);
    ran.summary.input = format;
    ran.summary.command = job.kind.command();
    ran.summary.dry_run = job.dry_run;
    ran.summary.unmapped_hints = unmapped_hints;
    Ok(ran)
}

/// One run at a time per results file (by the real file: through symlinks, and hard links by
/// inode), taken before anything is sent or written. (A device or FIFO given as the results is
/// not a file to protect, and gets no lock file.) A run that deletes or disables (undo,
/// `--on-missing`) also holds its organization.
fn lock_run(job: &Job, reach: &Reach, results: Option<&Path>) -> Result<lock::RunLock, RunError> {
    let mut lock = match results.filter(|path| lock::lockable(path)) {
        Some(path) => lock::acquire(path, &job.lock_dir)?,
        None => lock::RunLock::default(),
    };
    if let Reach::Api(config) = reach
        && !job.dry_run
        && job.kind.removes()
    {
        let api = match config.base_url.port() {
            Some(port) => format!("{}:{port}", config.base_url.host_str().unwrap_or_default()),
            None => config.base_url.host_str().unwrap_or_default().to_string(),
        };
        let results = results.map_or("to stdout".to_string(), |path| path.display().to_string());
        lock::acquire_org(&mut lock, &config.org, &api, &results, &job.lock_dir)?;
    }
    Ok(lock)
}

/// Write-ahead: every delete, disable and enable is recorded in the acts journal before it is
/// sent, so the journal is opened (and proven writable) before anything is.
fn open_journal(job: &Job, reach: &Reach, results: Option<&Path>) -> Result<journal::Journal, RunError> {
    let offline = matches!(reach, Reach::Offline);
    let journal = match acts_journal(job, results).filter(|_| !offline) {
        Some(path) => journal::Journal::open(&path)?,
        None => journal::Journal::none(),
    };
    if let Some(path) = journal.path() {
        tracing::info!("deletes, disables and enables are recorded in {}", path.display());
    }
    Ok(journal)
}

/// The question asked before anything is sent, if one is: not on a dry run, with `--yes`,
/// against the built-in sandbox (it is nobody's organization), or by a face that cannot ask.
fn question(job: &Job, face: engine::Face, reach: &Reach) -> Option<confirm::Question> {
    let ask = face.ask && !job.dry_run && !job.yes && !matches!(reach, Reach::Sandbox(_));
    if !ask {
        return None;
    }
    let also = job.kind.import().and_then(|import| {
        let how = import.on_missing.removal()?;
        let of = match import.max_missing {
            crate::modes::ErrorBudget::Rows(_) => "",
            crate::modes::ErrorBudget::Percent(_) => " of the organization's guests",
        };
        Some(format!(
            "Guests not in the file will be {} (at most {}{of}).",
            how.done(),
            import.max_missing
        ))
    });
    Some(confirm::Question {
        undo: job.kind.undo().map(|undo| undo.how),
        also,
        invite_rates: job.invite_rates().to_vec(),
    })
}

/// Where the rows' results are written and how: a workbook is made at the end from rows written
/// beside it as the run goes.
struct ResultsTarget {
    xlsx: Option<PathBuf>,
    rows: Option<PathBuf>,
    raw: bool,
    style: CsvStyle,
}

impl ResultsTarget {
    fn new(job: &Job, input: &crate::input::Input, results: Option<&Path>) -> Self {
        let xlsx = results.filter(|path| workbook::wanted(path)).map(Path::to_path_buf);
        let rows = xlsx
            .as_deref()
            .map(workbook::rows_path)
            .or(results.map(Path::to_path_buf));
        let (raw, style) = match &xlsx {
            Some(_) => (true, CsvStyle::new(false)),
            None => (job.output.raw, input.results_style(job.output.excel)),
        };
        ResultsTarget { xlsx, rows, raw, style }
    }
}

/// The pipeline's options, from the job and what set-up found.
fn options(
    job: &Job,
    input: &crate::input::Input,
    total: Option<u64>,
    max_failed: Option<u64>,
    journal: &journal::Journal,
) -> Options {
    let import = job.kind.import();
    let rows = match job.kind {
        Kind::Import(_) => Rows::Import,
        Kind::Undo(undo) => Rows::Undo(act::undo::Rules {
            how: undo.how,
            dry_run: job.dry_run,
            include_used: undo.include_used,
        }),
    };
    Options {
        concurrency: job.concurrency,
        max_retries: job.max_retries,
        on_existing: job.kind.on_existing(),
        max_failed,
        report_missing: job.report_missing().is_some(),
        rows,
        reenable: import.is_some_and(|import| import.on_missing == crate::modes::OnMissing::Disable),
        members: Default::default(),
        journal: journal.clone(),
        // Lines of text, guessed from the file's size (a workbook's rows are known already).
        expected_rows: total.or_else(|| {
            matches!(input.format, crate::input::Format::Text { .. })
                .then(|| crate::input::Source::from_arg(&job.file))
                .and_then(|source| source.regular_file().and_then(crate::input::estimate_lines))
        }),
    }
}

/// `--report-missing`, and the mirror of `--on-missing disable|delete` before it.
struct Mirror<'a> {
    job: &'a Job,
    import: &'a crate::config::Import,
    client: Option<&'a crate::api::Client>,
    journal: &'a journal::Journal,
    stop: &'a stop::Stop,
}

impl Mirror<'_> {
    /// Acts on the missing guests (a mirror), then writes the report. A report that cannot be
    /// written at the end does not undo what was done: the summary still counts it (and the
    /// journal holds every act), and the error is returned for the exit code to say so.
    /// `read` says whether the file was read whole, and the retried run's file too.
    async fn run(
        &self,
        summary: &mut Summary,
        missing: &[plan::existing::Existing],
        org_guests: u64,
        read: (bool, bool),
    ) -> Option<RunError> {
        let path = self.import.report_missing.as_deref()?;
        let (raw, excel) = (self.job.output.raw, self.job.output.excel);
        let mirrored = match (self.import.on_missing.removal(), self.client) {
            (Some(how), Some(client)) => Some(self.act(client, how, missing, org_guests, read, path).await),
            _ => None,
        };
        let done = mirrored.as_ref().map(|m| m.outcomes.as_slice());
        let mut failed = None;
        match missing::report(path, missing, done, raw, excel) {
            Ok(count) => summary.missing = Some(count),
            Err(error) => {
                tracing::error!("{error}");
                summary.missing = Some(missing.len() as u64);
                failed = Some(error);
            }
        }
        if let Some(mirrored) = mirrored {
            summary.on_missing(self.import.on_missing, &mirrored.outcomes, mirrored.stopped);
        }
        failed
    }

    /// Takes away the missing guests, when the whole file was read: the report is written once
    /// before anything is touched, so a report path that cannot be written stops the mirror
    /// before its first act.
    async fn act(
        &self,
        client: &crate::api::Client,
        how: crate::modes::Removal,
        missing: &[plan::existing::Existing],
        org_guests: u64,
        (whole_file, retried_complete): (bool, bool),
        path: &Path,
    ) -> mirror::Mirrored {
        let rules = mirror::Rules {
            how,
            budget: self.import.max_missing,
            dry_run: self.job.dry_run,
            concurrency: self.job.concurrency,
            journal: self.journal.clone(),
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
        let (raw, excel) = (self.job.output.raw, self.job.output.excel);
        let ahead = (!self.job.dry_run).then(|| mirror::not_yet(missing, how));
        match ahead.map(|ahead| missing::write(path, missing, Some(&ahead), raw, excel)) {
            Some(Err(error)) => {
                tracing::error!("{error}; no guest was {}", how.done());
                mirror::Mirrored {
                    outcomes: mirror::not_yet(missing, how),
                    stopped: Some(error.to_string()),
                }
            }
            _ => mirror::act(client, missing, org_guests, whole, &rules, self.stop).await,
        }
    }
}

/// The end of a run: the next command, the summary sent in `Finished` (for the faces to show
/// and keep), and the exit code (a report that could not be written turns a success into
/// problems).
fn finish(run: Run<'_>, mut summary: Summary, report_failed: Option<RunError>, results: Option<PathBuf>) -> Exit {
    let job = run.job;
    summary.next = next::advice(
        &summary,
        results.as_deref(),
        &job.argv,
        &job.file,
        job.kind.undo().is_some(),
    );
    summary.results = results;
    let mut exit = summary.exit();
    if let Some(error) = report_failed {
        // Said after the summary (by whoever shows it), which counts what was done.
        summary.report_failed = Some(error.to_string());
        if exit == Exit::Success {
            exit = Exit::Problems;
        }
    }
    run.events.stopping(run.stop);
    run.events.send(engine::Event::Finished { summary, exit });
    exit
}

/// Where a run that may delete, disable or enable records its acts: beside its results
/// (`journal::path_for`), else beside the input, else in the working folder. None for a run that
/// sends no act (a dry run, or one with neither `undo` nor `--on-missing`; an offline run sends
/// none either). Set-up checks it against the other outputs: a report or summary written over
/// it would replace the record of every act.
pub(super) fn acts_journal(job: &Job, results: Option<&Path>) -> Option<PathBuf> {
    if !job.kind.removes() || job.dry_run {
        return None;
    }
    let fallback = match crate::input::Source::from_arg(&job.file) {
        crate::input::Source::File(input) if crate::output::replaceable(&input) => input.with_extension("acts.csv"),
        _ => "tallyfy-guests.acts.csv".into(),
    };
    Some(journal::path_for(results, fallback))
}
