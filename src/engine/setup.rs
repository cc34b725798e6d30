//! Before anything is sent or written: the input opened, every output path checked (creatable,
//! not the input under another name, not each other), `--retry-from` checked whole, the
//! configuration checked, and every problem reported together (exit 2). Then the connection:
//! the built-in sandbox, the configured API, or none for an offline dry run. Where the acts
//! journal goes (`acts_journal`) is decided here too, as one of the outputs checked.

use std::path::{Path, PathBuf};

use super::act::journal;
use super::lock;
use crate::api::Client;
use crate::config::{Job, Kind, Reach};
use crate::error::RunError;
use crate::files::output::{check_writable, same_file};
use crate::input::{Input, InputOptions, Source, Verified, verify_results};
use crate::modes::ErrorBudget;
use crate::sandbox::Sandbox;

/// A run that passed every check: what it reads, where its results go, how it reaches Tallyfy.
pub(super) struct Setup {
    pub(super) input: Input,
    pub(super) results_path: Option<PathBuf>,
    pub(super) reach: Reach,
    /// Rows in the input, when they can be known without reading a stream twice.
    pub(super) total: Option<u64>,
    /// `--max-errors`, as a number of failed rows.
    pub(super) max_failed: Option<u64>,
    /// With `--retry-from`: the retried file's run read its whole input (not cut by `--limit`),
    /// so guests its rows do not name are truly missing. True otherwise.
    pub(super) retried_complete: bool,
}

/// Every check before anything is sent or written; all problems found are reported together.
pub(super) fn check(job: &Job, count_rows: bool) -> Result<Setup, RunError> {
    let source = &job.file;
    let mut problems: Vec<String> = Vec::new();
    let input = open_input(job, source).map_err(|e| problems.push(e)).ok();
    let results_path =
        results_path(source, job.output.results.as_deref(), &job.kind, job.dry_run).unwrap_or_else(|e| {
            problems.push(e.to_string());
            None
        });
    problems.extend(output_problems_of(job, source, results_path.as_deref()));
    // A results file is read once here for all that set-up asks of it (whole, where it was
    // made, its rows, its hash); the run's own read of its rows is the only other pass.
    let read = verified(job, source, input.as_ref());
    let retried_complete = retried_complete(job, source, input.as_ref(), read.as_ref(), results_path.as_deref())
        .unwrap_or_else(|problem| {
            problems.push(problem);
            false
        });
    let verified = read.and_then(Result::ok);
    let reach = job
        .reach
        .as_ref()
        .map_err(|e| problems.extend(e.problems()))
        .ok()
        .cloned();
    // Undo takes back, and a retry continues, only what was made in the organization it is
    // pointed at: another organization's results would name its guests, not this one's.
    if job.kind.reads_results()
        && let (Some(path), Some(verified), Some(Reach::Api(config))) = (source.regular_file(), &verified, &reach)
        && let Some(refusal) = provenance_problem(path, verified, &config.org, job.kind.undo().is_some())
    {
        problems.push(refusal);
    }
    problems.extend(job.refused.iter().cloned());
    let (Some(input), Some(reach), true) = (input, reach, problems.is_empty()) else {
        return Err(RunError::Setup(problems));
    };
    let total = total(job, count_rows, source, &input, verified.as_ref());
    let max_failed = match (job.max_errors, total) {
        (None, _) => None,
        (Some(ErrorBudget::Rows(rows)), _) => Some(rows),
        (Some(budget), Some(total)) => Some(budget.allowed(total)),
        (Some(_), None) => {
            return Err(RunError::PercentOfStream(source.display()));
        }
    };
    let mut input = input;
    input.sha256 = verified.as_ref().map(|verified| verified.sha256.clone());
    Ok(Setup {
        input,
        results_path,
        reach,
        total,
        max_failed,
        retried_complete,
    })
}

/// The one read of a results file (a retry's, an undo's, or a mirror's input that is one),
/// when it is a regular file (a stream is read once, by the run). An input that cannot be
/// opened is a problem of its own; one that cannot be read here is reported by that opening.
fn verified(job: &Job, source: &Source, input: Option<&Input>) -> Option<Result<Verified, String>> {
    let path = source.regular_file()?;
    let results = job.kind.reads_results() || input?.has_result_column(super::report::results::RESULT_COLUMNS[0]);
    let [row, status, ..] = super::report::results::RESULT_COLUMNS;
    results.then(|| verify_results(path, row, status))
}

/// The input opened as the job reads it (an undo reads a results file as it is).
fn open_input(job: &Job, source: &Source) -> Result<Input, String> {
    Input::open(source, &input_options(job)).map_err(|e| e.to_string())
}

/// How the job reads its input: its reading flags, and whether the input is a results file.
pub(super) fn input_options(job: &Job) -> InputOptions {
    let read = job.kind.reading();
    InputOptions {
        encoding: read.and_then(|read| read.encoding),
        delimiter: read.and_then(|read| read.delimiter),
        map: read.map(|read| read.map.clone()).unwrap_or_default(),
        sheet: read.and_then(|read| read.sheet.clone()),
        header_row: read.and_then(|read| read.header_row),
        limit: read.and_then(|read| read.limit),
        previous_results: job.kind.reads_results(),
        result_columns: &super::report::results::RESULT_COLUMNS,
        stream: false,
        edits: read.map(|read| read.edits.clone()).unwrap_or_default(),
        skip: read.map(|read| read.skip.clone()).unwrap_or_default(),
    }
}

/// What is wrong with where the run writes: the results' format, stdout wanted twice, and
/// every output path (see `output_problems`).
fn output_problems_of(job: &Job, source: &Source, results: Option<&Path>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(problem) = results.and_then(|path| crate::files::overwrite::unwritable_format(path, "--results")) {
        problems.push(problem);
    }
    let summary_to_stdout = job.output.summary_json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if summary_to_stdout && results.is_none() {
        problems.push(
            "--summary-json - and the results both want stdout: give the results a file with --results PATH".into(),
        );
    }
    problems.extend(
        paths_problems(job, source, results)
            .into_iter()
            .map(|(_, problem)| problem),
    );
    problems
}

/// The problems of the run's output paths, each with the flag naming the path.
fn paths_problems(job: &Job, source: &Source, results: Option<&Path>) -> Vec<(&'static str, String)> {
    let summary_json = job.output.summary_json.as_deref();
    let summary_to_stdout = summary_json.is_some_and(|p| p.as_os_str() == "-");
    let journal = acts_journal(job, results);
    // The journal and the results first (so that a flag naming one is the one said to be
    // wrong); the outputs from the third on are the summary and the report.
    let outputs = [
        ("the acts journal", journal.as_deref()),
        ("--results", results),
        ("--summary-json", summary_json.filter(|_| !summary_to_stdout)),
        ("--report-missing", job.report_missing()),
    ];
    let mut problems = output_problems(source, &outputs);
    // An output written over this run's lock file would break the lock (and go with it).
    let others = outputs[2..].iter().filter_map(|&(flag, path)| Some((flag, path?)));
    for (flag, path) in others {
        let said = problems.iter().any(|(other, _)| *other == flag);
        if !said && super::lock::names_a_lock(path, results, &job.lock_dir) {
            problems.push((
                flag,
                format!(
                    "{flag} {} is this run's lock file: writing it would break the lock; choose another path",
                    path.display()
                ),
            ));
        }
    }
    problems
}

/// The `--summary-json` path is itself one of set-up's problems (the input, another output, or
/// not writable): the account is then not written there, since that could destroy a file.
pub(crate) fn summary_refused(job: &Job) -> bool {
    let source = &job.file;
    let results = results_path(source, job.output.results.as_deref(), &job.kind, job.dry_run).unwrap_or(None);
    paths_problems(job, source, results.as_deref())
        .iter()
        .any(|(flag, _)| *flag == "--summary-json")
}

/// Whether the guests the file's rows do not name are truly missing: with a retry, or a mirror
/// whose input is a results file, the file must be proven whole (`retried_whole`) and its run
/// not cut by `--limit`. An undo takes back what a results file says was created, a killed
/// run's included, so it needs no proof; a plain import is whole by itself.
fn retried_complete(
    job: &Job,
    source: &Source,
    input: Option<&Input>,
    verified: Option<&Result<Verified, String>>,
    results: Option<&Path>,
) -> Result<bool, String> {
    let Kind::Import(import) = &job.kind else {
        return Ok(true);
    };
    // An input that could not be opened is already a problem of its own (a missing file is not
    // "a stream"): nothing more to say about it.
    let Some(input) = input else {
        return Ok(false);
    };
    // A results file given as plain input to a mirror is the same hazard as a retry of it: a
    // killed run's rows would make the guests of the rows it never reached look missing.
    let mirrored_results = !import.retry
        && import.on_missing.removal().is_some()
        && input.has_result_column(super::report::results::RESULT_COLUMNS[0]);
    if !import.retry && !mirrored_results {
        return Ok(true);
    }
    let flag = if import.retry { "--retry-from" } else { "the input" };
    retried_whole(source, verified, flag, job.file.arg(), results)
}

/// Rows in the input, when they can be known without reading a stream twice, and when
/// something shows or uses them (`count_rows`: the face's bar or heartbeat; `--max-errors N%`).
fn total(job: &Job, count_rows: bool, source: &Source, input: &Input, verified: Option<&Verified>) -> Option<u64> {
    match (source, input.known_rows()) {
        (_, Some(rows)) => Some(rows),
        // A results file's rows were counted by its one read.
        (_, None) if let Some(verified) = verified => {
            Some(input.limit().map_or(verified.rows, |limit| verified.rows.min(limit)))
        }
        // Counted by reading a regular file twice; a stream (a pipe, `<(...)`, /dev/stdin) can be
        // read only once, so its total stays unknown rather than guessed.
        (source, None) if count_rows || job.max_errors.is_some() => source
            .regular_file()
            .and_then(|path| input.count_rows(path))
            .map(|rows| input.limit().map_or(rows, |limit| rows.min(limit))),
        _ => None,
    }
}

/// Whether the results file given to `--retry-from` (or as the input of a mirror, `flag`
/// says which) is proven whole (`Ok(complete)`: its run
/// read its whole input, not cut by `--limit`), or the refusal, which names the one command
/// that continues the job instead. A stream cannot be proven whole (its writer may have died
/// mid-file), nor can a file whose run is still running or was killed (its lock file says so),
/// nor one without the `result_of` on every row (an earlier version's trailer) that only a
/// finished run writes.
fn retried_whole(
    source: &Source,
    verified: Option<&Result<Verified, String>>,
    flag: &str,
    file: &Path,
    results: Option<&Path>,
) -> Result<bool, String> {
    let why = match (source.regular_file(), verified) {
        (None, _) => Err("it is read from a stream (a pipe, FIFO or stdin), which cannot be proven whole".to_string()),
        // (The lock beside it is read, not the file.)
        (Some(path), Some(read)) => match lock::unfinished_writer(path) {
            Some(why) => Err(why),
            None => read
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|verified| verified.whole.clone()),
        },
        // (Not reached: a regular file that a retry or mirror reads is always read once; if it
        // were not, it is not proven.)
        (Some(_), None) => Err("it was not read".to_string()),
    };
    why.map_err(|why| {
        let results = results.map_or_else(|| "RESULTS.csv".to_string(), |p| p.display().to_string());
        format!(
            "{flag} {} is not a whole results file: {why}; continue the job instead by running the original import again with the original input (tallyfy-guests import ORIGINAL.csv --results {results}): guests it already made are found and skipped",
            file.display()
        )
    })
}

/// Says how the file is read and which columns go where.
pub(super) fn log_input(input: &Input, kind: &Kind) {
    let undo = kind.undo();
    if let Some(undo) = undo {
        tracing::info!(
            "taking back the guests {} says were created: they are {}",
            input.name,
            undo.how.done()
        );
    } else if kind.reads_results() {
        tracing::info!(
            "re-running the rows of {} that did not succeed, from its current cells; created, updated, enabled and exists rows are carried over",
            input.name
        );
    }
    tracing::info!("reading {} as {}", input.name, input.format);
    tracing::info!("columns: {}", input.map.describe(&input.header));
    // A column that looks like a guest field gets its own line with the `--map` that takes it,
    // said before the prompt so that guests are not created without it unnoticed; an undo
    // sends no field, so it has nothing to hint.
    let hints = if undo.is_none() { input.hints.as_slice() } else { &[] };
    for hint in hints {
        tracing::warn!("{}", hint.text);
    }
    let others: Vec<&String> = input
        .other_columns
        .iter()
        .filter(|column| !hints.iter().any(|hint| &hint.column == *column))
        .collect();
    if !others.is_empty() {
        let shown: Vec<String> = others.iter().take(12).map(|c| format!("`{c}`")).collect();
        let more = match others.len().saturating_sub(shown.len()) {
            0 => String::new(),
            more => format!(" and {more} more"),
        };
        tracing::warn!(
            "columns kept in the results but not imported: {}{more}",
            shown.join(", ")
        );
    }
}

/// Where a job's results go (`None`: stdout), as set-up decides it: what names a job in the
/// run history.
pub(crate) fn results_of(job: &Job) -> Option<PathBuf> {
    results_path(&job.file, job.output.results.as_deref(), &job.kind, job.dry_run)
        .ok()
        .flatten()
}

/// Beside the input as `<stem>.results.csv` (`<stem>.retry.results.csv` for `--retry-from`
/// `<stem>.results.csv`; `<stem>.undo.csv` for an undo of `<stem>.results.csv`); a dry run's as
/// `<stem>.dry-run.csv` (`<stem>.undo-dry-run.csv`), so that it never replaces the account of a
/// real run. Stdout for stdin input or `--results -`.
pub(super) fn results_path(
    source: &Source,
    given: Option<&Path>,
    kind: &Kind,
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
            let earlier = stem.strip_suffix(".results").unwrap_or(&stem);
            let name = match (kind, dry_run) {
                (Kind::Import(import), false) if import.retry => format!("{earlier}.retry.results.csv"),
                (Kind::Import(import), true) if import.retry => format!("{earlier}.retry.dry-run.csv"),
                (Kind::Import(_), false) => format!("{stem}.results.csv"),
                (Kind::Import(_), true) => format!("{stem}.dry-run.csv"),
                (Kind::Undo(_), false) => format!("{earlier}.undo.csv"),
                (Kind::Undo(_), true) => format!("{earlier}.undo-dry-run.csv"),
            };
            input.with_file_name(name)
        }
    };
    Ok(Some(path))
}

/// What is wrong with the output paths: one that cannot be created, one that is the input
/// under any name (a hard link or symlink included), or two that are one file.
pub(super) fn output_problems<'a>(source: &Source, outputs: &[(&'a str, Option<&Path>)]) -> Vec<(&'a str, String)> {
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

/// The client to use: the built-in sandbox, the configured API, or none for an offline dry run.
pub(super) async fn connect(reach: Reach) -> Result<(Option<Client>, Option<Sandbox>), RunError> {
    match crate::connect::reach(reach).await? {
        Some((config, sandbox)) => Ok((Some(Client::new(&config)?), sandbox)),
        None => {
            tracing::warn!("dry run offline: no credentials, so rows are not checked against existing guests");
            Ok((None, None))
        }
    }
}

/// Why a results file cannot be undone (`undo`) or continued (`--retry-from`) in the configured
/// organization `org`, checked before anything is sent: rows made in another organization, or,
/// for undo, a file with no `result_org` column (an older version's, which cannot prove where
/// its guests are).
fn provenance_problem(path: &Path, verified: &Verified, org: &str, undo: bool) -> Option<String> {
    let Some(orgs) = &verified.orgs else {
        // (A retry of such a file is refused already: it has no trailer, nor result_of, to prove
        // it whole.)
        return undo.then(|| format!(
            "{} records no organization (result_org): it was written by an older version of tallyfy-guests, so undo cannot prove its guests are this organization's; remove them by hand, or re-run the import with this version to get results undo can check",
            path.display()
        ));
    };
    let others: Vec<&str> = orgs
        .iter()
        .map(String::as_str)
        .filter(|made_in| !made_in.eq_ignore_ascii_case(org))
        .collect();
    let fix = if undo {
        "nothing is undone; set TALLYFY_ORG_ID (or --org) to the organization the import ran against"
    } else {
        "nothing is retried; set TALLYFY_ORG_ID (or --org) to the organization the import ran against, or, to copy these guests into this organization, import the file as plain input (without --retry-from)"
    };
    (!others.is_empty()).then(|| {
        format!(
            "{} was made in organization {}, not {org} (the one configured): {fix}",
            path.display(),
            others.join(", ")
        )
    })
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
    let fallback = match &job.file {
        Source::File(input) if crate::files::output::replaceable(input) => input.with_extension("acts.csv"),
        _ => "tallyfy-guests.acts.csv".into(),
    };
    Some(journal::path_for(results, fallback))
}
