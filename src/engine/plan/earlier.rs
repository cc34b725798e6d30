//! A plain rerun continues a stopped job: when the results file this run replaces is a stopped
//! run's (rows deferred at the invite cap, or cut short by a stop or a kill), the guests that run
//! created stay `created` in the new file (with that run's account), so that `undo` of the
//! results still takes back the whole job and not only the last run's part. A finished run's
//! file starts a new job: a nightly rerun never makes undo reach back to earlier nights.

use std::collections::HashMap;
use std::path::Path;

use crate::engine::outcome::{Outcome, PreviousResult, Status};
use crate::engine::report::results::{RESULT_COLUMNS, RowResult};
use crate::input::{Input, InputOptions, InputRecord, Source};

/// The guests an earlier results file at this run's results path says were created in this
/// organization, by guest id.
#[derive(Default)]
pub(crate) struct EarlierCreates(HashMap<String, PreviousResult>);

impl EarlierCreates {
    /// The `created` rows of the results file at `path` (a regular file of this tool's, read as
    /// `--retry-from` reads one, with the run's own reading options) made in `org`, when its run
    /// stopped before the end of its job. Anything else (a finished run's file, no file, a
    /// stream, a file that is not a results file or cannot be read) gives none: the rows of its
    /// guests are then `exists`.
    pub(crate) fn read(path: &Path, options: &InputOptions, org: &str) -> EarlierCreates {
        let source = Source::from_arg(path);
        if source.regular_file().is_none() || org.is_empty() {
            return EarlierCreates::default();
        }
        let options = InputOptions {
            previous_results: true,
            result_columns: &RESULT_COLUMNS,
            // The results file has the header on its first row, every row, no fixes over it.
            header_row: None,
            limit: None,
            edits: Vec::new(),
            skip: Vec::new(),
            ..options.clone()
        };
        let input = match Input::open(&source, &options) {
            Ok(input) if input.has_result_column(RESULT_COLUMNS[0]) => input,
            Ok(_) => return EarlierCreates::default(),
            Err(e) => {
                tracing::warn!(
                    "the earlier results at {} could not be read ({e}): the guests its run created are listed as already there, and undo of the new results leaves them",
                    path.display()
                );
                return EarlierCreates::default();
            }
        };
        let mut deferred = false;
        let creates = input
            .filter_map(|record| PreviousResult::parse(record.previous))
            .inspect(|previous| deferred |= previous.status == Ok(Status::Deferred))
            .filter(|previous| {
                previous.status == Ok(Status::Created)
                    && !previous.guest_id.trim().is_empty()
                    // As undo and set-up tell an organization's rows.
                    && previous.provenance.org.eq_ignore_ascii_case(org)
            })
            .map(|previous| (previous.guest_id.trim().to_string(), previous))
            .collect::<HashMap<_, _>>();
        if creates.is_empty() || !(deferred || cut_short(path)) {
            return EarlierCreates::default();
        }
        tracing::info!(
            "continuing the stopped job of {}: the {} guests its earlier run created stay created in the new results",
            path.display(),
            creates.len()
        );
        EarlierCreates(creates)
    }

    /// A row whose guest exists and is left as it is (`exists`): the earlier run's `created`
    /// account of that very guest (same id, so the same person, made by this job), or the row
    /// as it was. Its cells and its row number are this file's.
    pub(super) fn carry(&self, result: RowResult) -> RowResult {
        let Some(earlier) = (result.outcome.status == Status::Exists)
            .then(|| self.0.get(result.outcome.guest_id.trim()))
            .flatten()
        else {
            return result;
        };
        let record = InputRecord {
            index: result.index,
            row: result.row,
            cells: result.cells,
            previous: Vec::new(),
            problem: None,
        };
        let mut copied = copied(record, earlier.clone());
        copied.row = result.row;
        copied
    }
}

/// Whether a results file is not a whole account of its run: the run was stopped or killed
/// before it gave every row its result.
fn cut_short(path: &Path) -> bool {
    let [row, status, ..] = RESULT_COLUMNS;
    crate::input::verify_results(path, row, status).is_ok_and(|verified| verified.whole.is_err())
}

/// A row of an earlier results file that is not re-run: its account, as it was.
pub(super) fn copied(record: InputRecord, previous: PreviousResult) -> RowResult {
    let row = previous.row.unwrap_or(record.row);
    match previous.status {
        Ok(status) => RowResult {
            index: record.index,
            row,
            outcome: Outcome {
                status,
                guest_id: previous.guest_id,
                http_status: previous.http_status,
                attempts: previous.attempts,
                message: previous.message,
                created_at: previous.created_at,
                link: previous.link,
                fields: Vec::new(),
            },
            cells: record.cells,
            // Made by the earlier run: its organization, run and time stay with it.
            provenance: Some(previous.provenance),
        },
        Err(text) => RowResult::new(
            record.index,
            row,
            Status::Invalid,
            format!(
                "result_status `{text}` is not one this tool writes, so it cannot tell whether to re-run the row: set it to failed to re-run it"
            ),
            record.cells,
        ),
    }
}
