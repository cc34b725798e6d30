//! Carrying out a plan: a create (with read-back reconciliation, in `create`), a member update
//! (in `update`), or a row that was already done; a create that finds someone else's guest
//! turns into an existing-guest row here.

use super::create;
use super::remove;
use super::update;
use crate::engine::link::Link;
use crate::engine::options::Options;
use crate::engine::outcome::{Outcome, Status};
use crate::engine::plan::existing::{Existing, Profile};
use crate::engine::plan::{Change, Exists, Plan, UpdatePlan, existing_row};
use crate::engine::report::results::RowResult;
use crate::engine::stop::{self, Stop};

/// Finishes a planned row: creates it, or defers it if the run has stopped.
pub(crate) async fn run_plan(plan: Plan, stop: &Stop, options: &Options) -> (RowResult, u32) {
    let (record, guest, client) = match plan {
        Plan::Done(result) => return (result, 0),
        Plan::Update(update) => return (run_update(*update, stop, options).await, 0),
        Plan::Create(record, guest, client) => (record, guest, client),
    };
    let created = stop
        .unless_abandoned(create::create(&client, &guest, stop, options.max_retries))
        .await
        .unwrap_or_else(|| create::Created {
            outcome: stop::abandoned("created"),
            reconciliations: 0,
            found: None,
        });
    let Some(found) = created.found else {
        let result = RowResult {
            index: record.index,
            row: record.row,
            outcome: created.outcome,
            cells: record.cells,
            provenance: None,
        };
        return (result, created.reconciliations);
    };
    // Someone else created it after the list was read: an existing guest like any other.
    let existing = Existing {
        id: found.id.clone(),
        profile: Profile::of(&found),
    };
    let mut result = match existing_row(
        record,
        &guest,
        &existing,
        options,
        &Link::Send(client),
        "already a guest",
    ) {
        Exists::Update(update) => run_update(*update, stop, options).await,
        Exists::Done(result) => result,
    };
    let outcome = &mut result.outcome;
    outcome.message = format!(
        "added by someone else after the guest list was read: {}",
        outcome.message
    );
    outcome.attempts += created.outcome.attempts;
    outcome.http_status = outcome.http_status.or(created.outcome.http_status);
    (result, created.reconciliations)
}

/// An existing guest's update: enabled again first if asked, then its members replaced.
pub(crate) async fn run_update(plan: UpdatePlan, stop: &Stop, options: &Options) -> RowResult {
    let UpdatePlan {
        client,
        result,
        email,
        before,
        change,
        drift_note,
    } = plan;
    let mut enabled = None;
    let members = match change {
        Change::Members(members) => members,
        Change::Enable(members) => {
            let target = remove::Target {
                email: &email,
                id: &result.outcome.guest_id,
                verify: None,
            };
            let outcome = stop
                .or_abandoned(remove::enable(&client, &target, stop, &options.journal), "enabled")
                .await;
            match members {
                Some(members) if outcome.status == Status::Enabled => {
                    enabled = Some(outcome);
                    members
                }
                _ => return finish(result, outcome, &drift_note),
            }
        }
    };
    let mut outcome = stop
        .or_abandoned(update::update(&client, &email, &before, &members, stop), "updated")
        .await;
    if let Some(enabled) = enabled {
        // Enabled either way; whether the members followed is in the message (and a failed
        // update keeps its own status, so the row is seen to).
        outcome.message = format!("{}; {}", enabled.message, outcome.message);
        outcome.attempts += enabled.attempts;
        // The guest's new link, whatever became of the members.
        outcome.link = enabled.link;
        if outcome.status == Status::Updated {
            outcome.status = Status::Enabled;
        }
    }
    finish(result, outcome, &drift_note)
}

/// The row's account after its requests, keeping the guest's id when the answer did not
/// repeat it.
fn finish(mut result: RowResult, outcome: Outcome, drift_note: &str) -> RowResult {
    let guest_id = if outcome.guest_id.is_empty() {
        std::mem::take(&mut result.outcome.guest_id)
    } else {
        outcome.guest_id.clone()
    };
    let message = format!("{}{drift_note}", outcome.message);
    result.outcome = Outcome {
        guest_id,
        message,
        ..outcome
    };
    result
}
