//! Carrying out a plan: a create (with read-back reconciliation, in `create`), a member update
//! (in `update`), or a row that was already done; a create that finds someone else's guest
//! turns into an existing-guest row here.

use super::create::{self, Stop};
use super::dedupe::{Existing, Profile};
use super::plan::{Options, Plan, UpdatePlan, existing_row};
use super::progress::PendingCreates;
use super::results::RowResult;
use super::update;
use crate::api::Client;

/// Finishes a planned row: creates it, or defers it if the run has stopped.
pub(super) async fn run_plan(
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

pub(super) async fn run_update(plan: UpdatePlan, client: &Client, stop: &Stop) -> RowResult {
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
