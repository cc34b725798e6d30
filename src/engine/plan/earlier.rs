//! A plain rerun continues its job: the guests an earlier run of it created, as the results file
//! this run replaces says, stay `created` in the new file (with that run's account), so that
//! `undo` of the results still takes back the whole job and not only the last run's part.

use std::collections::HashMap;
use std::path::Path;

use crate::engine::outcome::{PreviousResult, Status};
use crate::engine::report::results::{RESULT_COLUMNS, RowResult};
use crate::input::{Input, InputOptions, Source};

/// The guests an earlier results file at this run's results path says were created in this
/// organization, by guest id.
#[derive(Default)]
pub(crate) struct EarlierCreates(HashMap<String, PreviousResult>);

impl EarlierCreates {
    /// The `created` rows of the results file at `path` (a regular file of this tool's, read as
    /// `--retry-from` reads one, with the run's own reading options) made in `org`. Anything
    /// else (no file, a stream, a file that is not a results file or cannot be read) gives
    /// none: the rows of its guests are then `exists`, as they were before this file was read.
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
        let creates = input
            .filter_map(|record| PreviousResult::parse(record.previous))
            .filter(|previous| {
                previous.status == Ok(Status::Created)
                    && !previous.guest_id.is_empty()
                    && previous.provenance.org == org
            })
            .map(|previous| (previous.guest_id.clone(), previous))
            .collect::<HashMap<_, _>>();
        if !creates.is_empty() {
            tracing::info!(
                "continuing the job of {}: the {} guests its earlier run created stay created in the new results",
                path.display(),
                creates.len()
            );
        }
        EarlierCreates(creates)
    }

    /// A row whose guest exists and is left as it is (`exists`): the earlier run's `created`
    /// account of that very guest (same id, so the same person, made by this job), or the row
    /// as it was. Its cells and its row number are this file's.
    pub(super) fn carry(&self, result: RowResult) -> RowResult {
        let Some(earlier) = (result.outcome.status == Status::Exists)
            .then(|| self.0.get(&result.outcome.guest_id))
            .flatten()
        else {
            return result;
        };
        let record = crate::input::InputRecord {
            index: result.index,
            row: result.row,
            cells: result.cells,
            previous: Vec::new(),
            problem: None,
        };
        let mut copied = super::copied(record, earlier.clone());
        copied.row = result.row;
        copied
    }
}
