//! The run's stop: why the run (or only its creates) stopped, the file reader's halt, the gate
//! every waiting change is turned back at, and the cancellation that abandons requests in
//! flight; and how a run-stopping failure (token rejected, a rate-limit pause beyond
//! `--max-wait`) becomes a stop for the other rows, and a row the run did not get to, a deferral.

use std::sync::OnceLock;

use tokio_util::sync::CancellationToken;

use super::outcome::{NextStep, Outcome, Status};
use crate::api::{ApiError, ApiErrorKind, Gate};

/// The run's stop: once set, no new request is started and the remaining rows are deferred.
/// The invite cap stops only creates: reads and member updates are not invites and go on.
#[derive(Default)]
pub(super) struct Stop {
    reason: OnceLock<String>,
    invites: OnceLock<String>,
    /// Cancelled when in-flight requests must be abandoned too (a few seconds after SIGINT).
    pub abandon: CancellationToken,
    /// Set when the file reader must stop too: the rows after it get no result row.
    halt_reading: std::sync::atomic::AtomicBool,
    /// Closed with the stop: every change still waiting its turn is dropped, not sent.
    pub gate: Gate,
}

impl Stop {
    /// Stops every kind of request. The first reason given wins.
    pub(super) fn stop(&self, reason: impl Into<String>) {
        // The reason first: a request the gate turns back reads it for its row's message.
        let _ = self.reason.set(reason.into());
        self.gate.close();
    }

    /// Stops creates only (the hourly invite cap, beyond `--max-wait`).
    pub(super) fn stop_invites(&self, reason: impl Into<String>) {
        let _ = self.invites.set(reason.into());
        self.gate.close_invites();
    }

    /// Stops the file reader (an interrupted dry run, or a run whose requests were abandoned).
    pub(super) fn halt_reading(&self) {
        self.halt_reading.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub(super) fn reading_halted(&self) -> bool {
        self.halt_reading.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Why the whole run stopped, if it did.
    pub(super) fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }

    /// Why no more creates start, if they do not.
    pub(super) fn invite_reason(&self) -> Option<&str> {
        self.reason().or_else(|| self.invites.get().map(String::as_str))
    }

    /// `work` to its end, or `None` once the run abandons its requests in flight (a few seconds
    /// after SIGINT, or at a second signal), whichever comes first.
    pub(super) async fn unless_abandoned<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            done = work => Some(done),
            _ = self.abandon.cancelled() => None,
        }
    }

    /// One act on one guest, or, once the run abandons it in flight, the row that says it may
    /// or may not have been `done` (`created`, `updated`, `deleted`, ...).
    pub(super) async fn or_abandoned(&self, act: impl Future<Output = Outcome>, done: &str) -> Outcome {
        self.unless_abandoned(act).await.unwrap_or_else(|| abandoned(done))
    }
}

/// A create still in flight when the grace period after a stop ran out.
/// `done` is what the request would have done: `created`, `updated`, `deleted`, ...
pub(super) fn abandoned(done: &str) -> Outcome {
    Outcome::new().with(
        Status::Deferred,
        format!(
            "abandoned in flight when the run was interrupted: it may or may not have been {done}; {}",
            NextStep::Settle.at_a_terminal()
        ),
    )
}

/// The deferral message of a row the run did not get to.
pub(super) fn deferred_message(not_done: &str, reason: &str) -> String {
    format!(
        "{not_done}: the run stopped ({reason}); {}",
        NextStep::Continue.at_a_terminal()
    )
}

/// A failure that ends this row; some end the whole run.
/// `not_done` says what the row's deferral did not do (`not created`, `not deleted`, ...).
pub(super) fn failure(
    outcome: Outcome,
    error: ApiError,
    stop: &Stop,
    uncertain: Option<&str>,
    not_done: &str,
) -> Outcome {
    let note = uncertain.map_or(String::new(), |what| format!(" after an unanswered attempt ({what})"));
    match &error.kind {
        ApiErrorKind::RateLimited(until) if until.invites_only => {
            stop.stop_invites(until.to_string());
            outcome.with(
                Status::Deferred,
                format!("{}{note}", deferred_message(not_done, &until.to_string())),
            )
        }
        ApiErrorKind::RateLimited(until) => {
            stop.stop(until.to_string());
            outcome.with(
                Status::Deferred,
                format!("{}{note}", deferred_message(not_done, &until.to_string())),
            )
        }
        ApiErrorKind::NotSent => {
            let reason = stop.invite_reason().unwrap_or("stopped");
            outcome.with(
                Status::Deferred,
                format!("{}{note}", deferred_message(not_done, reason)),
            )
        }
        ApiErrorKind::Unauthorized(_) | ApiErrorKind::TokenEndpoint { .. } => {
            let reason = error.to_string();
            stop.stop(reason.clone());
            outcome.with(
                Status::Deferred,
                format!("{}{note}", deferred_message(not_done, &reason)),
            )
        }
        _ => outcome.with(Status::Failed, format!("{error}{note}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rows_next_step_is_a_command_at_a_terminal_and_continue_on_the_page() {
        let deferred = deferred_message("not created", "rate-limited until 04:13");
        let abandoned = abandoned("created").message;
        for message in [&deferred, &abandoned] {
            assert!(message.contains("run the same command again"), "{message}");
            let paged = NextStep::on_the_page(message);
            assert!(!paged.contains("command"), "{paged}");
            assert!(paged.contains("Continue"), "{paged}");
        }
        assert_eq!(
            NextStep::on_the_page(&deferred),
            "not created: the run stopped (rate-limited until 04:13); Continue sends it"
        );
    }
}
