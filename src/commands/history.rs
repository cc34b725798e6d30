//! `history`: the runs of import, undo and export the ledger keeps, newest first (one line a
//! run for people, the records themselves with `--json`), or `--prune`d by age and count.

use std::io::Write;
use std::time::SystemTime;

use crate::cli::HistoryArgs;
use crate::error::{Exit, RunError};
use crate::history::{Ledger, Record, State};

/// The `history` command.
pub fn run(args: &HistoryArgs) -> Result<Exit, RunError> {
    let Some(dir) = crate::config::history_dir(args.state_dir.as_deref()) else {
        return Err(RunError::Setup(vec![
            "this system has no folder for the history: give one with --state-dir DIR".into(),
        ]));
    };
    let ledger = Ledger::in_dir(&dir);
    let what = || format!("cannot read the history {}", ledger.path().display());
    if args.prune {
        if args.older_than.is_none() && args.keep.is_none() {
            return Err(RunError::Setup(vec![
                "--prune needs what to keep: --older-than AGE (e.g. 90d), --keep N (runs per job), or both".into(),
            ]));
        }
        let removed = ledger
            .prune(SystemTime::now(), args.older_than, args.keep)
            .map_err(|e| RunError::io(format!("cannot prune the history {}", ledger.path().display()), e))?;
        crate::logging::lines(&format!(
            "removed {removed} {} from the history {}",
            if removed == 1 { "run" } else { "runs" },
            ledger.path().display()
        ));
        return Ok(Exit::Success);
    }
    let records = ledger.read().map_err(|e| RunError::io(what(), e))?;
    // The job's results file as the history names it (absolute), made once.
    let absolute = args.job.as_deref().and_then(|job| std::path::absolute(job).ok());
    let absolute = absolute.map(|path| path.display().to_string());
    let shown: Vec<&Record> = (records.iter().rev())
        .filter(|record| {
            args.job
                .as_deref()
                .is_none_or(|job| is_job(record, job, absolute.as_deref()))
        })
        .take(args.limit.map_or(usize::MAX, |n| n as usize))
        .collect();
    if shown.is_empty() && !args.json {
        let whose = args
            .job
            .as_deref()
            .map_or(String::new(), |job| format!(" of the job {job}"));
        crate::logging::lines(&format!(
            "no runs{whose} in the history {} yet",
            ledger.path().display()
        ));
        return Ok(Exit::Success);
    }
    let mut out = std::io::stdout().lock();
    let written = shown.iter().try_for_each(|record| {
        let line = if args.json {
            serde_json::to_string(record).map_err(std::io::Error::from)?
        } else {
            line(record)
        };
        writeln!(out, "{line}")
    });
    written
        .and_then(|()| out.flush())
        .map_err(|e| RunError::io("cannot write the history", e))?;
    Ok(Exit::Success)
}

/// `--job`: the job's name, or its results file (as given, or `absolute`, as the history names
/// it).
fn is_job(record: &Record, job: &str, absolute: Option<&str>) -> bool {
    record.job == job
        || record.results.as_deref() == Some(job)
        || (absolute.is_some() && record.results.as_deref() == absolute)
}

/// One run for a person: when, what, how it ended, its counts, and the job.
fn line(record: &Record) -> String {
    let when = record
        .started()
        .map(|at| {
            chrono::DateTime::<chrono::Local>::from(at)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| record.started_at.clone());
    let ended = match (record.exit_code, record.state) {
        (0, _) => "done".to_string(),
        (1, _) => "rows need a person".to_string(),
        (2, _) => "did not run".to_string(),
        (3, State::Ok) => "stopped early, to continue".to_string(),
        (3, State::Failing) => "stopped early, nothing done".to_string(),
        (code, _) => format!("exit {code}"),
    };
    let mut words = vec![format!(
        "{when}  {}{}  {ended} (exit {})",
        record.command,
        if record.dry_run { " (dry run)" } else { "" },
        record.exit_code
    )];
    if record.rows > 0 {
        let counts: Vec<String> = record
            .counts
            .iter()
            .map(|(status, n)| format!("{n} {status}"))
            .collect();
        words.push(if counts.is_empty() {
            format!("{} rows", record.rows)
        } else {
            counts.join(", ")
        });
    }
    if let Some(error) = &record.error {
        words.push(error.clone());
    } else if let Some(stopped) = &record.stopped {
        words.push(stopped.clone());
    }
    if record.from == "page" {
        words.push("from the page".into());
    }
    words.push(record.job.clone());
    words.join("  ·  ")
}
