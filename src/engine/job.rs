//! The job, stage by stage, as `engine::start` runs it: set-up's checks and the connection, the
//! run's locks and acts journal, the question (asked in the pipeline), the file's rows through
//! `pipeline`, the mirror and `--report-missing`, the workbook, and the end (the next command,
//! the summary in `Event::Finished`, the exit code). `Face` says what the face that started it
//! can do (count the rows up front, ask a person).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::act::{self, journal, mirror};
use super::confirm;
use super::event::{Event, Events};
use super::link::Link;
use super::lock;
use super::options::{Options, Rows};
use super::pipeline::{self, pipeline};
use super::plan;
use super::report::results::{self, ResultsWriter};
use super::report::summary::{self, Summary};
use super::report::{missing, next, workbook};
use super::setup;
use super::stop::Stop;
use crate::config::{Job, Kind, Reach};
use crate::error::{Exit, RunError};
use crate::files::output::CsvStyle;

/// How a face runs the engine: whether it counts the rows up front (for a total), and whether
/// a person can be asked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Face {
    pub(crate) count_rows: bool,
    pub(crate) ask: bool,
    /// The question is read on the page, not at a terminal: it names the settings the page was
    /// started with in a person's words instead of their flags.
    pub(crate) page: bool,
}

/// The job, as `engine::start` runs it.
pub(super) async fn run_job(job: Job, face: Face, events: Events, stop: Arc<Stop>) -> Result<Exit, RunError> {
    let run = Run {
        job: &job,
        face,
        events: &events,
        stop: &stop,
    };
    import(run).await
}

/// A job being run, and what it answers to: the face it runs for, where its events go, its stop
/// (one for the whole command: the file's rows, then the mirror's acts).
#[derive(Clone, Copy)]
struct Run<'a> {
    job: &'a Job,
    face: Face,
    events: &'a Events,
    stop: &'a Arc<Stop>,
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
    let rerun = rerun(job, results_path.as_deref());
    let sandboxed = matches!(reach, Reach::Sandbox(_));
    // The built-in sandbox, if any, lives as long as this binding: to the end of the run.
    let (client, sandbox) = setup::connect(reach).await?;
    let question = question(job, run.face, sandboxed, client.as_ref(), rerun.clone());
    if question.is_none() && !job.dry_run && job.kind.import().is_some() {
        // Nobody confirmed a plan of hours: today's contract for cron (issue 32), and, for a
        // file whose rows could take longer than that, the command that continues it.
        let max_wait = job.given_max_wait().unwrap_or(crate::defaults::MAX_WAIT);
        let now = std::time::SystemTime::now();
        let estimate =
            (client.as_ref().zip(total)).map(|(client, rows)| client.pacer().invite_schedule().estimate(rows, now));
        tracing::info!("{}", confirm::unattended(max_wait, estimate.as_ref(), rerun.as_deref()));
    }
    let link = Link::new(client.map(Arc::new), job.dry_run);
    let client = link.client().map(|client| &**client);
    let target = ResultsTarget::new(job, &input, results_path.as_deref());
    let mut options = options(job, &input, total, max_failed, &journal);
    options.earlier = earlier_creates(job, results_path.as_deref(), client);
    let ran = rows(run, input, &link, &target, question.as_ref(), &options, total)
        // A run that could not start (the guest list unreadable, the question declined) has
        // not opened its results: any file at that path is as it was.
        .await?;
    let mut summary = ran.summary;
    let report_failed = match (job.kind.import(), ran.missing) {
        (Some(import), Some(presence)) => {
            let mirror = Mirror {
                job,
                import,
                client,
                journal: &journal,
                stop: run.stop,
            };
            let read = (ran.whole_file, retried_complete);
            mirror.run(&mut summary, &presence, ran.org_guests, read).await
        }
        _ => None,
    };
    summary.requests = client.map(summary::Requests::of);
    if job.kind.import().is_some()
        && let Some(client) = client
    {
        summary.estimated(client.pacer());
    }
    if let (Some(xlsx), Some(rows)) = (&target.xlsx, &target.rows) {
        let input = job.file.display();
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
    run.events.send(Event::SetUp {
        input: job.file.display(),
        rows: total,
        organization: client.map(|client| client.org().to_string()),
        input_sha256: input.sha256.clone(),
        pace: client.map(|client| client.pacer().invite_watch()),
    });
    let mut ran = pipeline(input, link, open_results, question, options, run.stop, run.events).await?;
    run.events.send(Event::Sent);
    ran.summary.input = format;
    ran.summary.command = job.kind.command();
    ran.summary.dry_run = job.dry_run;
    ran.summary.unmapped_hints = unmapped_hints;
    Ok(ran)
}

/// One run at a time per results file (by the real file: through symlinks, and hard links by
/// inode), taken before anything is sent or written. (A device or FIFO given as the results is
/// not a file to protect, and gets no lock file.) A run that writes to an organization (an
/// import, a mirror, an undo; not a dry run, which writes nothing there) also holds the
/// organization, by its id alone: two overlapping imports would otherwise both claim the guests
/// one of them made, and two mirrors each delete within its own budget.
fn lock_run(job: &Job, reach: &Reach, results: Option<&Path>) -> Result<lock::RunLock, RunError> {
    let mut lock = match results.filter(|path| lock::lockable(path)) {
        Some(path) => lock::acquire(path, &job.lock_dir)?,
        None => lock::RunLock::default(),
    };
    if let Reach::Api(config) = reach
        && !job.dry_run
    {
        let via = config.base_url.as_str().trim_end_matches('/');
        let results = results.map_or("to stdout".to_string(), |path| path.display().to_string());
        lock::acquire_org(&mut lock, &config.org, via, &results, &job.lock_dir)?;
    }
    Ok(lock)
}

/// Write-ahead: every delete, disable and enable is recorded in the acts journal before it is
/// sent, so the journal is opened (and proven writable) before anything is.
fn open_journal(job: &Job, reach: &Reach, results: Option<&Path>) -> Result<journal::Journal, RunError> {
    let offline = matches!(reach, Reach::Offline);
    let journal = match setup::acts_journal(job, results).filter(|_| !offline) {
        Some(path) => journal::Journal::open(&path)?,
        None => journal::Journal::none(),
    };
    if let Some(path) = journal.path() {
        tracing::info!("deletes, disables and enables are recorded in {}", path.display());
    }
    Ok(journal)
}

/// The command that continues this import unattended, for cron or a timer: `import
/// --retry-from RESULTS --yes` with the run's other options (`None` for an undo, or results on
/// stdout).
fn rerun(job: &Job, results: Option<&Path>) -> Option<String> {
    let results = results.filter(|_| job.kind.import().is_some())?;
    let command = next::command(&job.argv, job.file.arg(), results);
    Some(if job.yes { command } else { format!("{command} --yes") })
}

/// The question asked before anything is sent, if one is: not on a dry run, with `--yes`,
/// against the built-in sandbox (it is nobody's organization), or by a face that cannot ask.
fn question(
    job: &Job,
    face: Face,
    sandboxed: bool,
    client: Option<&crate::api::Client>,
    rerun: Option<String>,
) -> Option<confirm::Question> {
    let ask = face.ask && !job.dry_run && !job.yes && !sandboxed;
    if !ask {
        return None;
    }
    // The counts are the plan's (`confirm::Missing`), taken once the file is planned.
    let on_missing = job.kind.import().and_then(|import| {
        Some(confirm::OnMissing {
            how: import.on_missing.removal()?,
            budget: import.max_missing,
            keeps_used: import.on_missing.removal() == Some(crate::modes::Removal::Delete) && !import.include_used,
        })
    });
    Some(confirm::Question {
        undo: job.kind.undo().map(|undo| undo.how),
        on_missing,
        // The schedule the creates will keep: `--invite-rate`, and the organization's cap when it
        // is remembered.
        schedule: client.map_or_else(
            || crate::invite_pace::Schedule::new(job.invite_rates()),
            |client| client.pacer().invite_schedule(),
        ),
        rerun,
        max_wait: job.given_max_wait(),
        page: face.page,
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

/// What a plain import's results path holds from an earlier run of the job: the guests it
/// created, which stay `created` in this run's results. Not for a retry (its input carries its
/// rows), a dry run (it makes nobody) or an undo.
fn earlier_creates(
    job: &Job,
    results: Option<&Path>,
    client: Option<&crate::api::Client>,
) -> plan::earlier::EarlierCreates {
    match (job.kind.import(), results, client) {
        (Some(import), Some(path), Some(client)) if !import.retry && !job.dry_run => {
            plan::earlier::EarlierCreates::read(path, &setup::input_options(job), client.org())
        }
        _ => Default::default(),
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
        earlier: Default::default(),
        // Lines of text, guessed from the file's size (a workbook's rows are known already).
        expected_rows: total.or_else(|| {
            matches!(input.format, crate::input::Format::Text { .. })
                .then(|| job.file.regular_file())
                .flatten()
                .and_then(crate::input::estimate_lines)
        }),
    }
}

/// `--report-missing`, and the mirror of `--on-missing disable|delete` before it.
struct Mirror<'a> {
    job: &'a Job,
    import: &'a crate::config::Import,
    client: Option<&'a crate::api::Client>,
    journal: &'a journal::Journal,
    stop: &'a Stop,
}

impl Mirror<'_> {
    /// Acts on the missing guests (a mirror), then writes the report. A report that cannot be
    /// written at the end does not undo what was done: the summary still counts it (and the
    /// journal holds every act), and the error is returned for the exit code to say so.
    /// `read` says whether the file was read whole, and the retried run's file too.
    /// The guests the file only mentions are kept whatever the mode: said in the log, counted
    /// in the summary, and listed in the report when it has the mirror's columns.
    async fn run(
        &self,
        summary: &mut Summary,
        presence: &plan::dedupe::Presence,
        org_guests: u64,
        read: (bool, bool),
    ) -> Option<RunError> {
        let path = self.import.report_missing.as_deref()?;
        let (raw, excel) = (self.job.output.raw, self.job.output.excel);
        missing::log_kept(&presence.mentioned);
        summary.kept_mentioned = presence.mentioned.len() as u64;
        let mirrored = match (self.import.on_missing.removal(), self.client) {
            (Some(how), Some(client)) => Some(self.act(client, how, presence, org_guests, read, path).await),
            _ => None,
        };
        let done = mirrored.as_ref().map(|m| m.outcomes.as_slice());
        let mut failed = None;
        match missing::report(path, presence, done, raw, excel) {
            Ok(count) => summary.missing = Some(count),
            Err(error) => {
                tracing::error!("{error}");
                summary.missing = Some(presence.missing.len() as u64);
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
        presence: &plan::dedupe::Presence,
        org_guests: u64,
        (whole_file, retried_complete): (bool, bool),
        path: &Path,
    ) -> mirror::Mirrored {
        let rules = mirror::Rules {
            how,
            budget: self.import.max_missing,
            include_used: self.import.include_used,
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
        let absent = presence.missing.as_slice();
        let ahead = (!self.job.dry_run).then(|| mirror::not_yet(absent, how));
        match ahead.map(|ahead| missing::write(path, presence, Some(&ahead), raw, excel)) {
            Some(Err(error)) => {
                tracing::error!("{error}; no guest was {}", how.done());
                mirror::Mirrored {
                    outcomes: mirror::not_yet(absent, how),
                    stopped: Some(error.to_string()),
                }
            }
            _ => mirror::act(client, absent, org_guests, whole, &rules, self.stop).await,
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
        job.file.arg(),
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
    run.events.send(Event::Finished { summary, exit });
    exit
}
