//! `undo RESULTS`: the rows of an import's results file that say `created` are taken back
//! (deleted, or disabled), each only while its guest is still the one created; every other row
//! is `not_created_here`, whatever it says. The rows keep their spreadsheet row numbers.

use super::create::Stop;
use super::reader::Parsed;
use super::remove::{Target, remove};
use super::results::{RowResult, Status};
use crate::api::Client;
use crate::input::{Field, FieldMap};
use crate::modes::Removal;

/// What undo does with one row of the results file.
pub(super) enum UndoPlan {
    Done(RowResult),
    Remove { result: RowResult, email: String },
}

/// Reads a row's earlier account: only a `created` row with a guest id names a guest to take
/// back.
pub(super) fn plan(parsed: Parsed, map: &FieldMap, how: Removal, offline: bool) -> UndoPlan {
    let Parsed { record, previous, .. } = parsed;
    let row = previous.as_ref().and_then(|p| p.row).unwrap_or(record.row);
    let email = map.cell(Field::Email, &record.cells).unwrap_or("").trim().to_string();
    let mut result = RowResult::new(record.index, row, Status::NotCreatedHere, "", record.cells);
    let Some(previous) = previous else {
        result.outcome.message = "the results file has no result for this row".into();
        return UndoPlan::Done(result);
    };
    result.outcome.guest_id = previous.guest_id.trim().to_string();
    match previous.status {
        Ok(Status::Created) if result.outcome.guest_id.is_empty() || email.is_empty() => {
            result.outcome.status = Status::Failed;
            result.outcome.message =
                "left alone: the row says created but has no guest id or email, so its guest cannot be told apart"
                    .into();
        }
        Ok(Status::Created) if offline => {
            result.outcome.status = match how {
                Removal::Delete => Status::WouldDelete,
                Removal::Disable => Status::WouldDisable,
            };
            result.outcome.message = format!("would be {} (offline: not read back from Tallyfy)", how.done());
        }
        Ok(Status::Created) => return UndoPlan::Remove { result, email },
        Ok(status) => {
            result.outcome.message = format!("left alone: the import did not create it (its status is `{status}`)")
        }
        Err(text) => result.outcome.message = format!("left alone: `{text}` is not a status this tool writes"),
    }
    UndoPlan::Done(result)
}

/// Carries out a row's plan.
pub(super) async fn run(
    plan: UndoPlan,
    client: Option<&Client>,
    how: Removal,
    stop: &Stop,
    dry_run: bool,
    journal: &super::journal::Journal,
) -> RowResult {
    let (mut result, email) = match plan {
        UndoPlan::Done(result) => return result,
        UndoPlan::Remove { result, email } => (result, email),
    };
    let Some(client) = client else {
        unreachable!("row {} planned for removal offline", result.row)
    };
    let target = Target {
        email: &email,
        id: &result.outcome.guest_id,
    };
    let outcome = tokio::select! {
        outcome = remove(client, &target, how, dry_run, stop, journal) => outcome,
        _ = stop.abandon.cancelled() => super::create::abandoned(how.done()),
    };
    result.outcome = outcome;
    result
}
