//! Taking one guest away (`undo`, `--on-missing`) or giving one back (a disabled guest who is in
//! the file again): the guest is read back first and left alone unless it is still the one
//! expected (same id); a delete whose first answer was lost and that then finds nothing was ours.

use super::create::{Stop, deferred_message, failure};
use super::dedupe::is_disabled;
use super::results::{Outcome, Status};
use crate::api::{ApiErrorKind, Client};
use crate::modes::Removal;

/// The guest to take away: its email, and the id it must still have.
pub struct Target<'a> {
    pub email: &'a str,
    pub id: &'a str,
}

/// Reads the guest back and, if it is still the one expected, deletes or disables it (a dry
/// run stops at saying what it would do).
pub async fn remove(client: &Client, target: &Target<'_>, how: Removal, dry_run: bool, stop: &Stop) -> Outcome {
    let not_done = match how {
        Removal::Delete => "not deleted",
        Removal::Disable => "not disabled",
    };
    let mut outcome = Outcome::new();
    outcome.guest_id = target.id.to_string();
    if let Some(reason) = stop.reason() {
        return outcome.with(Status::Deferred, deferred_message(not_done, reason));
    }
    let found = match client.get_guest(target.email).await {
        Ok(reply) => {
            outcome.attempts += reply.attempts;
            outcome.http_status = Some(reply.status);
            reply.value
        }
        Err(error) => {
            outcome.attempts += error.attempts;
            outcome.http_status = error.status;
            return failure(outcome, error, stop, None, not_done);
        }
    };
    let Some(found) = found else {
        return outcome.with(Status::AlreadyGone, "no guest has this email any more: removed already");
    };
    if found.id != target.id {
        return outcome.with(
            Status::ChangedSince,
            format!(
                "left alone: the guest with this email now has id {}, not {}: removed and added again since",
                found.id, target.id
            ),
        );
    }
    if how == Removal::Disable && is_disabled(&found) {
        return outcome.with(Status::Disabled, "already disabled");
    }
    if dry_run {
        return match how {
            Removal::Delete => outcome.with(Status::WouldDelete, "would be deleted"),
            Removal::Disable => outcome.with(Status::WouldDisable, "would be disabled"),
        };
    }
    // Checked again: the read may have waited out a stop.
    if let Some(reason) = stop.reason() {
        return outcome.with(Status::Deferred, deferred_message(not_done, reason));
    }
    let sent = match how {
        Removal::Delete => client.delete_guest(target.email).await,
        Removal::Disable => client.disable_guest(target.email).await,
    };
    let error = match sent {
        Ok(reply) => {
            outcome.attempts += reply.attempts;
            outcome.http_status = Some(reply.status);
            return match how {
                Removal::Delete => outcome.with(Status::Deleted, "deleted"),
                Removal::Disable => outcome.with(Status::Disabled, "disabled"),
            };
        }
        Err(error) => error,
    };
    outcome.attempts += error.attempts;
    outcome.http_status = error.status.or(outcome.http_status);
    // The API answers the delete of a guest who is not there with 422 (a disable with 404); a
    // 422 can mean other things too, so the guest is read back before the refusal is believed.
    if !matches!(error.kind, ApiErrorKind::Rejected(_) | ApiErrorKind::NotFound(_)) {
        return failure(outcome, error, stop, None, not_done);
    }
    match client.get_guest(target.email).await {
        Ok(reply) if reply.value.is_none() => {
            outcome.attempts += reply.attempts;
            if error.unanswered && how == Removal::Delete {
                outcome.with(
                    Status::Deleted,
                    "deleted (the first answer was lost; sent again, the guest was already gone)",
                )
            } else {
                outcome.with(Status::AlreadyGone, "removed by someone else after it was read")
            }
        }
        Ok(reply) => {
            outcome.attempts += reply.attempts;
            outcome.with(Status::Failed, format!("{not_done}: {error}"))
        }
        Err(read) => {
            outcome.attempts += read.attempts;
            failure(outcome, error, stop, None, not_done)
        }
    }
}

/// Re-enables a disabled guest (`PUT …/enable`), which the client resends like any PUT.
pub async fn enable(client: &Client, email: &str, stop: &Stop) -> Outcome {
    let outcome = Outcome::new();
    if let Some(reason) = stop.reason() {
        return outcome.with(Status::Deferred, deferred_message("not enabled", reason));
    }
    match client.enable_guest(email).await {
        Ok(reply) => {
            let mut outcome = outcome.with(Status::Enabled, "enabled again: disabled, and back in the file");
            outcome.attempts = reply.attempts;
            outcome.http_status = Some(reply.status);
            outcome
        }
        Err(error) => {
            let mut outcome = outcome;
            outcome.attempts = error.attempts;
            outcome.http_status = error.status;
            failure(outcome, error, stop, None, "not enabled")
        }
    }
}
