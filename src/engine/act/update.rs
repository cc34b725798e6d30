//! `--on-existing update`: replace an existing guest's `associated_members` with the file's
//! (the API's PUT changes nothing else). A PUT is idempotent, so the client retries it on 5xx
//! and lost connections like a read.

use super::create::field_messages;
use crate::api::{ApiErrorKind, Client};
use crate::engine::outcome::{Outcome, Status};
use crate::engine::plan::sync::members_change;
use crate::engine::stop::{Stop, deferred_message, failure};

pub(crate) async fn update(client: &Client, email: &str, before: &[u64], members: &[u64], stop: &Stop) -> Outcome {
    let outcome = Outcome::new();
    if let Some(reason) = stop.reason() {
        return outcome.with(Status::Deferred, deferred_message("not updated", reason));
    }
    let change = members_change(before, members);
    match client.update_members(email, members, &stop.gate).await {
        Ok(reply) => {
            let mut outcome = outcome.with(Status::Updated, format!("updated: {change}"));
            outcome.attempts = reply.attempts;
            outcome.http_status = Some(reply.status);
            outcome.guest_id = reply.value.id;
            outcome
        }
        Err(error) => {
            let mut outcome = outcome;
            outcome.attempts = error.attempts;
            outcome.http_status = error.status;
            match &error.kind {
                ApiErrorKind::Rejected(fields) => outcome.with(
                    Status::Conflict,
                    format!("not updated ({change}): {}", field_messages(fields, members)),
                ),
                ApiErrorKind::NotFound(_) => outcome.with(
                    Status::Failed,
                    format!("not updated ({change}): the guest no longer exists (deleted during the run?)"),
                ),
                _ => failure(outcome, error, stop, None, "not updated"),
            }
        }
    }
}
