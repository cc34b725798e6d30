//! How a run ended, as its watchers need it ([`End`]): built from an import's or undo's
//! summary and outcome, or from an export's.

use std::collections::BTreeMap;

use crate::engine::{Status, Summary, Tone};
use crate::error::{Exit, RunError};

/// How a run ended, as its watchers need it.
#[derive(Debug, Clone, Default)]
pub struct End {
    /// The exit code.
    pub exit_code: u8,
    /// Rows (an export's guests) in all.
    pub rows: u64,
    /// Rows by status, the statuses with any.
    pub counts: BTreeMap<String, u64>,
    /// Something was done (or, in a dry run, found to do): exit 3 with progress is ok.
    pub progress: bool,
    /// The first rows that need a person: row, status, why.
    pub attention: Vec<(u64, String, String)>,
    /// Why it stopped early.
    pub stopped: Option<String>,
    /// The command to run next.
    pub next_command: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Where the results went, when the run got that far.
    pub results: Option<String>,
}

impl End {
    /// An import's or undo's end: its summary (none when it ended at set-up) and its outcome.
    pub fn of_run(summary: Option<&Summary>, result: &Result<Exit, RunError>) -> End {
        let mut end = End::of_result(result);
        if let Some(summary) = summary {
            end.rows = summary.rows();
            end.counts = Status::all()
                .filter(|status| summary.get(*status) > 0)
                .map(|status| (status.as_str().to_string(), summary.get(status)))
                .collect();
            end.progress = Status::all().any(|status| status.tone() == Tone::Done && summary.get(status) > 0);
            end.attention = (summary.attention.iter())
                .map(|(row, status, why)| (*row, status.as_str().to_string(), why.clone()))
                .collect();
            end.stopped = summary.stopped.clone();
            end.next_command = summary.next.as_ref().map(|next| next.command.clone());
            end.results = Some(summary.results.as_ref().map_or("stdout".into(), |p| shown(p)));
            if end.error.is_none() {
                end.error = summary.report_failed.clone();
            }
        }
        end
    }

    /// The exit code and error of an outcome.
    pub fn of_result(result: &Result<Exit, RunError>) -> End {
        match result {
            Ok(exit) => End {
                exit_code: exit.code(),
                ..End::default()
            },
            Err(error) => End {
                exit_code: error.exit().code(),
                error: Some(error.render()),
                ..End::default()
            },
        }
    }
}

/// A path as the history names it: absolute, so that runs from any folder are one job.
pub(super) fn shown(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}
