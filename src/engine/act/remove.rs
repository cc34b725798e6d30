//! Taking one guest away (`undo`, `--on-missing`) or giving one back (a disabled guest who is in
//! the file again): the guest is read back first and left alone unless it is still the one
//! expected (same id); a delete whose first answer was lost and that then finds nothing was ours.

use super::journal::{Act, Journal};
use crate::api::{ApiErrorKind, Client};
use crate::engine::outcome::{Outcome, Status};
use crate::engine::plan::existing::is_disabled;
use crate::engine::stop::{Stop, deferred_message, failure};
use crate::modes::Removal;

/// The guest to take away: its email, the id it must still have, and (for `undo`) what else
/// the guest read back must prove before it is touched.
pub(crate) struct Target<'a> {
    pub email: &'a str,
    pub id: &'a str,
    pub verify: Option<&'a dyn Verify>,
}

/// A check of the guest read back, after its id matched: `Some((status, message))` leaves it
/// alone with that account. `undo` gives one (`undo::Provenance`); its read-back is then
/// settled (a guest not found right away is read again until the read lag is waited out, so a
/// lagging replica is never taken for `already_gone`) and carries the guest's task statistics.
pub(crate) trait Verify: Sync {
    fn check(&self, found: &crate::api::Guest) -> Option<(Status, String)>;

    /// How long a "not found" is read again before it is believed, given the server's time
    /// now (if known): the read lag, for a guest created recently enough to be lagging.
    fn settle(&self, server_now: Option<std::time::SystemTime>) -> std::time::Duration;
}

/// The first read-back of `remove`: settled and with statistics when there is a `Verify`.
async fn read_back(
    client: &Client,
    target: &Target<'_>,
) -> Result<crate::api::Reply<Option<crate::api::Guest>>, crate::api::ApiError> {
    let Some(verify) = target.verify else {
        return client.get_guest(target.email).await;
    };
    let lag = verify.settle(client.clock().latest());
    let read = client.read_back(target.email, lag, true).await?;
    Ok(crate::api::Reply {
        value: read.guest,
        status: read.status,
        attempts: read.attempts,
    })
}

/// Reads the guest back and, if it is still the one expected, deletes or disables it (a dry
/// run stops at saying what it would do). The act is in `journal` before it is sent.
pub(crate) async fn remove(
    client: &Client,
    target: &Target<'_>,
    how: Removal,
    dry_run: bool,
    stop: &Stop,
    journal: &Journal,
) -> Outcome {
    let not_done = how.not_done();
    let mut outcome = Outcome::new();
    outcome.guest_id = target.id.to_string();
    if let Some(reason) = stop.reason() {
        return outcome.with(Status::Deferred, deferred_message(not_done, reason));
    }
    let found = match read_back(client, target).await {
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
    if let Some((status, message)) = target.verify.and_then(|verify| verify.check(&found)) {
        return outcome.with(status, message);
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
    let act = match how {
        Removal::Delete => Act::Delete,
        Removal::Disable => Act::Disable,
    };
    if let Err(reason) = journal.sending(act, target.email, target.id) {
        return unrecorded(outcome, not_done, reason, stop);
    }
    let outcome = send(client, target, how, outcome, stop).await;
    recorded(journal, act, target, outcome, stop)
}

/// Sends the delete or disable, and reads a refusal back.
async fn send(client: &Client, target: &Target<'_>, how: Removal, mut outcome: Outcome, stop: &Stop) -> Outcome {
    let not_done = how.not_done();
    let sent = match how {
        Removal::Delete => client.delete_guest(target.email, &stop.gate).await,
        Removal::Disable => client.disable_guest(target.email, &stop.gate).await,
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
    // A rule about this guest, not the token's permission: said in Tallyfy's words, not retried,
    // and the run goes on. The guest stays as it was, so a person decides (exit 1).
    if let ApiErrorKind::IncompleteTasks(_) = error.kind {
        return outcome.with(
            Status::Failed,
            format!("{not_done}: {error}; complete or reassign their tasks in Tallyfy first"),
        );
    }
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

/// An act the journal could not record is not sent, and no other act starts after it.
fn unrecorded(outcome: Outcome, not_done: &str, reason: String, stop: &Stop) -> Outcome {
    tracing::error!("{reason}");
    stop.stop(reason.clone());
    outcome.with(Status::Deferred, deferred_message(not_done, &reason))
}

/// The act's answer, in the journal too; if it cannot be, no other act starts.
fn recorded(journal: &Journal, act: Act, target: &Target<'_>, outcome: Outcome, stop: &Stop) -> Outcome {
    if let Err(reason) = journal.answered(act, target.email, target.id, &outcome) {
        tracing::error!("{reason}");
        stop.stop(reason);
    }
    outcome
}

/// Re-enables a disabled guest (`PUT …/enable`), which the client resends like any PUT; the act
/// is in `journal` before it is sent.
pub(crate) async fn enable(client: &Client, target: &Target<'_>, stop: &Stop, journal: &Journal) -> Outcome {
    let outcome = Outcome::new();
    if let Some(reason) = stop.reason() {
        return outcome.with(Status::Deferred, deferred_message("not enabled", reason));
    }
    if let Err(reason) = journal.sending(Act::Enable, target.email, target.id) {
        return unrecorded(outcome, "not enabled", reason, stop);
    }
    let outcome = send_enable(client, target.email, outcome, stop).await;
    recorded(journal, Act::Enable, target, outcome, stop)
}

/// Enabling gives the guest a new link and the old one stops working (Tallyfy's enable-guest
/// page): the row carries the new one, from the enable's answer or, when that holds none, from
/// the guest read back.
async fn send_enable(client: &Client, email: &str, outcome: Outcome, stop: &Stop) -> Outcome {
    match client.enable_guest(email, &stop.gate).await {
        Ok(reply) => {
            let mut outcome = outcome.with(
                Status::Enabled,
                "enabled again: disabled, and back in the file; Tallyfy gave the guest a new link (result_link), and the old one no longer works",
            );
            outcome.attempts = reply.attempts;
            outcome.http_status = Some(reply.status);
            let mut link = reply.value.and_then(|guest| guest.link);
            if link.is_none() {
                match client.get_guest(email).await {
                    Ok(read) => {
                        outcome.attempts += read.attempts;
                        link = read.value.and_then(|guest| guest.link);
                    }
                    Err(error) => {
                        outcome.attempts += error.attempts;
                        tracing::warn!(%email, "enabled, but its new link could not be read back: {error}");
                    }
                }
            }
            outcome.link = link.unwrap_or_default();
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
