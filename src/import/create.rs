//! Creating one guest, with reconciliation: a create whose outcome is unknown (5xx, timeout,
//! dropped connection after sending) is read back by email before it is ever sent again, so a
//! guest is never created twice. Also where a run-stopping failure (token rejected, a rate-limit
//! pause beyond `--max-wait`) is turned into a stop for every other row.

use std::sync::OnceLock;

use tokio_util::sync::CancellationToken;

use super::results::Status;
use crate::api::{ApiError, ApiErrorKind, Client, FieldError, NewGuest};

/// The run's stop: once set, no new request is started and the remaining creates are deferred.
#[derive(Default)]
pub struct Stop {
    reason: OnceLock<String>,
    /// Cancelled when in-flight requests must be abandoned too (a few seconds after SIGINT).
    pub abandon: CancellationToken,
}

impl Stop {
    /// The first reason given wins.
    pub fn stop(&self, reason: impl Into<String>) {
        let _ = self.reason.set(reason.into());
    }

    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }
}

/// How a create ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub guest_id: String,
    pub http_status: Option<u16>,
    pub attempts: u32,
    pub message: String,
    /// Read-backs made because an attempt's outcome was unknown.
    pub reconciliations: u32,
}

impl Outcome {
    pub(super) fn new() -> Self {
        Outcome {
            status: Status::Failed,
            guest_id: String::new(),
            http_status: None,
            attempts: 0,
            message: String::new(),
            reconciliations: 0,
        }
    }

    pub(super) fn with(mut self, status: Status, message: impl Into<String>) -> Self {
        self.status = status;
        self.message = message.into();
        self
    }
}

/// A create still in flight when the grace period after a stop ran out.
pub fn abandoned() -> Outcome {
    Outcome::new().with(
        Status::Deferred,
        "abandoned in flight when the run was interrupted: it may or may not have been created; run the same command again to settle it",
    )
}

/// The deferral message of a row the run did not get to.
pub fn deferred_message(reason: &str) -> String {
    format!("not created: the run stopped ({reason}); run the same command again to continue")
}

/// Creates `guest`, reading back after any attempt whose outcome is unknown, for at most
/// `max_rounds + 1` POSTs.
pub async fn create(client: &Client, guest: &NewGuest, stop: &Stop, max_rounds: u32) -> Outcome {
    let mut outcome = Outcome::new();
    // What made an earlier attempt's outcome unknown: our own POST may have created the guest.
    let mut uncertain: Option<String> = None;
    for _ in 0..=max_rounds {
        if let Some(reason) = stop.reason() {
            let note = uncertain
                .as_ref()
                .map_or(String::new(), |what| format!(" after an unanswered attempt ({what})"));
            return outcome.with(Status::Deferred, format!("{}{note}", deferred_message(reason)));
        }
        let error = match client.create_guest(guest).await {
            Ok(reply) => {
                outcome.attempts += reply.attempts;
                outcome.http_status = Some(reply.status);
                outcome.guest_id = reply.value.id;
                let note = uncertain.map_or(String::new(), |what| {
                    format!(" (after an attempt that went unanswered: {what})")
                });
                return outcome.with(Status::Created, format!("created{note}"));
            }
            Err(error) => error,
        };
        outcome.attempts += error.attempts;
        outcome.http_status = error.status.or(outcome.http_status);
        match error.kind {
            ApiErrorKind::Indeterminate(what) => {
                uncertain = Some(what);
                match read_back(client, guest, &mut outcome).await {
                    Ok(true) => return confirmed(outcome, uncertain.as_deref()),
                    Ok(false) => continue,
                    Err(error) => return failure(outcome, error, stop, uncertain.as_deref()),
                }
            }
            ApiErrorKind::Rejected(fields) => {
                // "Already taken" may be our own earlier attempt that did get through.
                if uncertain.is_some() {
                    match read_back(client, guest, &mut outcome).await {
                        Ok(true) => return confirmed(outcome, uncertain.as_deref()),
                        Ok(false) => {}
                        Err(error) => return failure(outcome, error, stop, uncertain.as_deref()),
                    }
                }
                return outcome.with(Status::Conflict, field_messages(&fields));
            }
            _ => return failure(outcome, error, stop, None),
        }
    }
    let what = uncertain.unwrap_or_default();
    let message = format!(
        "not created: {} attempts went unanswered (last: {what}) and reading back found no guest",
        max_rounds + 1
    );
    outcome.with(Status::Failed, message)
}

/// GETs the guest by email; true when it exists (and records its id).
async fn read_back(client: &Client, guest: &NewGuest, outcome: &mut Outcome) -> Result<bool, ApiError> {
    outcome.reconciliations += 1;
    let reply = client.get_guest(&guest.email).await?;
    outcome.attempts += reply.attempts;
    Ok(match reply.value {
        Some(found) => {
            outcome.guest_id = found.id;
            outcome.http_status = Some(reply.status);
            true
        }
        None => false,
    })
}

fn confirmed(outcome: Outcome, what: Option<&str>) -> Outcome {
    let what = what.unwrap_or("no answer");
    outcome.with(
        Status::Created,
        format!("created (the answer was lost: {what}; confirmed by reading it back)"),
    )
}

/// A failure that ends this row; some end the whole run.
pub(super) fn failure(outcome: Outcome, error: ApiError, stop: &Stop, uncertain: Option<&str>) -> Outcome {
    let note = uncertain.map_or(String::new(), |what| format!(" after an unanswered attempt ({what})"));
    match &error.kind {
        ApiErrorKind::RateLimited(until) => {
            stop.stop(until.to_string());
            outcome.with(
                Status::Deferred,
                format!("{}{note}", deferred_message(&until.to_string())),
            )
        }
        ApiErrorKind::Unauthorized(_) | ApiErrorKind::TokenEndpoint { .. } => {
            let reason = error.to_string();
            stop.stop(reason.clone());
            outcome.with(Status::Deferred, format!("{}{note}", deferred_message(&reason)))
        }
        _ => outcome.with(Status::Failed, format!("{error}{note}")),
    }
}

pub(super) fn field_messages(fields: &[FieldError]) -> String {
    fields.iter().map(FieldError::to_string).collect::<Vec<_>>().join("; ")
}
