//! Creating one guest, with reconciliation: a create whose outcome is unknown (5xx, timeout,
//! dropped connection after sending, or a 2xx that does not hold a guest) is read back by email
//! before it is ever sent again, so a guest is never created twice; a create answered "already
//! taken" is read back too, since another writer (a person in the web app, another integration,
//! an overlapping run) may have created the guest after the list was read. A read-back that
//! finds nothing right after a create or a "taken" waits out the read lag
//! (`Client::read_back_settled`) before it is believed. A failure that stops the run is
//! turned into a stop by `crate::engine::stop`.

use std::time::{Duration, Instant, SystemTime};

use crate::api::{ApiError, ApiErrorKind, Client, FieldError, Guest, NewGuest};
use crate::engine::outcome::{NextStep, Outcome, Status};
use crate::engine::plan::existing::Profile;
use crate::engine::plan::sync::holds;
use crate::engine::stop::{Stop, deferred_message, failure};

/// How a create ended, and what reading it back learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Created {
    pub outcome: Outcome,
    /// Read-backs made because an attempt's outcome was unknown or the email was taken.
    pub reconciliations: u32,
    /// The email turned out to be a guest already, and not one our own attempt created:
    /// someone else added it after the guest list was read. The row is then an existing guest.
    pub found: Option<Guest>,
}

/// Creates `guest`, reading back after any attempt whose outcome is unknown, for at most
/// `max_retries + 1` POSTs.
pub(crate) async fn create(client: &Client, guest: &NewGuest, stop: &Stop, max_retries: u32) -> Created {
    let mut run = Run {
        client,
        guest,
        outcome: Outcome::new(),
        reconciliations: 0,
        first_unanswered: None,
    };
    // What made an earlier attempt's outcome unknown: our own POST may have created the guest.
    let mut uncertain: Option<String> = None;
    for _ in 0..=max_retries {
        run = match run.attempt(stop, &mut uncertain).await {
            Step::Again(run) => run,
            Step::Ended(created) => return *created,
        };
    }
    let what = uncertain.unwrap_or_default();
    let message = format!(
        "not created: {} attempts got no answer that could be trusted (last: {what}) and reading it back found no guest; {}",
        max_retries + 1,
        NextStep::Retry.at_a_terminal()
    );
    run.end(Status::Failed, message)
}

/// Where one attempt left the create: ended (created, found, refused, deferred, failed), or
/// unsettled, with another POST due. (Boxed: a `Created` holds a whole guest.)
enum Step<'a> {
    Ended(Box<Created>),
    Again(Run<'a>),
}

impl Step<'_> {
    fn ended(created: Created) -> Self {
        Step::Ended(Box::new(created))
    }
}

/// How long a read-back believes an absence: at once, or after the read lag.
#[derive(Clone, Copy)]
enum Settle {
    Once,
    Wait,
}

/// One create in progress: what it has sent and read so far.
struct Run<'a> {
    client: &'a Client,
    guest: &'a NewGuest,
    outcome: Outcome,
    reconciliations: u32,
    /// When the first attempt whose outcome is unknown was sent (local clock, for its age).
    first_unanswered: Option<Instant>,
}

impl<'a> Run<'a> {
    /// One POST, unless creates have stopped, and what its answer calls for: a 2xx with the new
    /// guest's id is created; one without, or no answer, is read back (`uncertain` says why);
    /// "taken" is read back too; any other refusal or failure ends the create.
    async fn attempt(mut self, stop: &Stop, uncertain: &mut Option<String>) -> Step<'a> {
        if let Some(reason) = stop.invite_reason() {
            let note = uncertain
                .as_ref()
                .map_or(String::new(), |what| format!(" after an unanswered attempt ({what})"));
            return Step::ended(self.end(
                Status::Deferred,
                format!("{}{note}", deferred_message("not created", reason)),
            ));
        }
        let sent = Instant::now();
        let error = match self.client.create_guest(self.guest, &stop.gate).await {
            Ok(reply) if !reply.value.id.trim().is_empty() => {
                self.outcome.attempts += reply.attempts;
                self.outcome.http_status = Some(reply.status);
                self.outcome.guest_id = reply.value.id;
                self.outcome.created_at = reply.value.created_at.unwrap_or_default();
                return Step::ended(self.created(uncertain.as_deref()));
            }
            Ok(reply) => {
                // A 2xx that does not hold a guest (an HTML page, an empty body, JSON without
                // `data.id`) proves nothing: it may be a proxy's page. Read back, with the lag
                // waited out, as after any create whose outcome is unknown.
                self.outcome.attempts += reply.attempts;
                self.outcome.http_status = Some(reply.status);
                let what = format!("answered {} without a guest in it", reply.status);
                *uncertain = Some(what);
                self.first_unanswered.get_or_insert(sent);
                return self.read_back_or_again(Settle::Wait, stop, uncertain.as_deref()).await;
            }
            Err(error) => error,
        };
        self.outcome.attempts += error.attempts;
        self.outcome.http_status = error.status.or(self.outcome.http_status);
        let ended = match error.kind {
            ApiErrorKind::Indeterminate(what) => {
                *uncertain = Some(what);
                self.first_unanswered.get_or_insert(sent);
                // One read: nothing found means another POST, whose "taken" (if ours did
                // arrive) is then read back with the lag waited out.
                return self.read_back_or_again(Settle::Once, stop, uncertain.as_deref()).await;
            }
            ApiErrorKind::Rejected(fields) if email_taken(&fields) => {
                // Our own earlier attempt, or another writer since the list was read.
                match self.read_back(Settle::Wait).await {
                    Ok(Some(found)) => self.settle(found, uncertain.as_deref()),
                    Ok(None) => {
                        let refused = field_messages(&fields, &self.guest.associated_members);
                        self.end(
                            Status::Conflict,
                            format!("{refused}; yet reading it back found no guest with this email"),
                        )
                    }
                    Err(error) => self.failed(error, stop, uncertain.as_deref()),
                }
            }
            ApiErrorKind::Rejected(fields) => {
                let refused = field_messages(&fields, &self.guest.associated_members);
                self.end(Status::Conflict, refused)
            }
            // Turned back at the gate: an earlier unanswered attempt is still worth saying.
            ApiErrorKind::NotSent => self.failed(error, stop, uncertain.as_deref()),
            _ => self.failed(error, stop, None),
        };
        Step::ended(ended)
    }

    /// After an attempt whose outcome is unknown: a guest read back settles the create, none
    /// found means another POST.
    async fn read_back_or_again(mut self, settle: Settle, stop: &Stop, uncertain: Option<&str>) -> Step<'a> {
        match self.read_back(settle).await {
            Ok(Some(found)) => Step::ended(self.settle(found, uncertain)),
            Ok(None) => Step::Again(self),
            Err(error) => Step::ended(self.failed(error, stop, uncertain)),
        }
    }

    fn end(self, status: Status, message: impl Into<String>) -> Created {
        self.end_with(status, message, None)
    }

    fn end_with(self, status: Status, message: impl Into<String>, found: Option<Guest>) -> Created {
        Created {
            outcome: self.outcome.with(status, message),
            reconciliations: self.reconciliations,
            found,
        }
    }

    fn failed(self, error: ApiError, stop: &Stop, uncertain: Option<&str>) -> Created {
        Created {
            outcome: failure(self.outcome, error, stop, uncertain, "not created"),
            reconciliations: self.reconciliations,
            found: None,
        }
    }

    /// A 2xx that holds the new guest's id: created.
    fn created(self, uncertain: Option<&str>) -> Created {
        let note = uncertain.map_or(String::new(), |what| {
            format!(" (after an attempt that went unanswered: {what})")
        });
        self.end(Status::Created, format!("created{note}"))
    }

    /// GETs the guest by email: once, or (`Settle::Wait`) again while it is not found until
    /// the read lag is waited out.
    async fn read_back(&mut self, settle: Settle) -> Result<Option<Guest>, ApiError> {
        let lag = match settle {
            Settle::Once => Duration::ZERO,
            Settle::Wait => crate::api::READ_LAG,
        };
        match self.client.read_back_within(self.guest.email.trim(), lag).await {
            Ok(read) => {
                self.reconciliations += read.reads;
                self.outcome.attempts += read.attempts;
                self.outcome.http_status = Some(read.status);
                Ok(read.guest)
            }
            Err(error) => {
                self.reconciliations += 1;
                Err(error)
            }
        }
    }

    /// Whether `found` was there before our first unanswered attempt left (not ours).
    fn made_before(&self, found: &Guest) -> bool {
        let since = self.first_unanswered.map_or(Duration::ZERO, |sent| sent.elapsed());
        made_before_our_attempt(found.created_at.as_deref(), self.client.clock().latest(), since)
    }

    /// A guest found by reading back: ours when an attempt of ours went unanswered, it holds
    /// exactly what we sent, and it was not there before that attempt left; otherwise someone
    /// else's (another writer, or an overlapping run of the same file), an existing guest.
    fn settle(mut self, found: Guest, uncertain: Option<&str>) -> Created {
        self.outcome.guest_id = found.id.clone();
        self.outcome.created_at = found.created_at.clone().unwrap_or_default();
        match uncertain {
            Some(what) if holds(self.guest, &Profile::of(&found)) && !self.made_before(&found) => self.end(
                Status::Created,
                format!(
                    "created (the answer was lost: {what}; confirmed by reading it back, and its id was read back)"
                ),
            ),
            _ => self.end_with(Status::Exists, "", Some(found)),
        }
    }
}

/// Whether the guest found was created before our first unanswered attempt left, so that the
/// attempt cannot have made it: another writer did, even with the very same details (an
/// overlapping run of the same file). On the server's clock, so a skewed local clock changes
/// nothing: the server's time when the attempt left is at least its latest `Date` less the time
/// since (`Date` is whole seconds and never ahead of the server), and `created_at` is whole
/// seconds too, hence the second of slack. Unknown times say nothing (`false`).
fn made_before_our_attempt(created_at: Option<&str>, server_now: Option<SystemTime>, since_sent: Duration) -> bool {
    let created = created_at.and_then(crate::api::clock::parse_time);
    match (created, server_now.and_then(|now| now.checked_sub(since_sent))) {
        (Some(created), Some(sent)) => created + Duration::from_secs(1) < sent,
        _ => false,
    }
}

/// A 422 that says the email is already a guest's (either 422 shape), as opposed to a member's
/// email or a field that failed validation.
fn email_taken(fields: &[FieldError]) -> bool {
    fields.iter().any(|field| {
        let message = field.message.to_lowercase();
        (field.field == "email" || field.field.is_empty()) && message.contains("taken")
    })
}

/// A 422's messages in words a person can act on: the known ones rephrased (a member id that
/// is not in the organization, an email that is a member's), the others as the server said
/// them. `members` are the ids that were sent, which `associated_members.N` refers to.
pub(crate) fn field_messages(fields: &[FieldError], members: &[u64]) -> String {
    let readable = |field: &FieldError| {
        let message = field.message.to_lowercase();
        let member = field
            .field
            .strip_prefix("associated_members.")
            .and_then(|at| at.parse::<usize>().ok())
            .and_then(|at| members.get(at));
        match member {
            Some(id) if message.contains("invalid") => format!("member {id} is not in this organization"),
            _ if field.field == "email" && message.contains("member") => {
                "this email belongs to a member of the organization, who cannot also be a guest".to_string()
            }
            _ => field.to_string(),
        }
    };
    fields.iter().map(readable).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(field: &str, message: &str) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_guest_made_before_our_attempt_left_is_not_ours() {
        let now = crate::api::clock::parse_time("2026-03-01T10:00:10Z");
        let at = |t: &str| Some(t.to_string());
        let before = |created: &Option<String>, since: u64| {
            made_before_our_attempt(created.as_deref(), now, Duration::from_secs(since))
        };
        // Sent 3 s ago (10:00:07 or later): a guest of 10:00:05 was there already.
        assert!(before(&at("2026-03-01T10:00:05Z"), 3));
        // One of 10:00:06 may be ours (whole seconds on both sides).
        assert!(!before(&at("2026-03-01T10:00:06Z"), 3));
        assert!(!before(&at("2026-03-01 10:00:09"), 0));
        // Unknown times decide nothing.
        assert!(!before(&None, 3));
        assert!(!before(&at("yesterday"), 3));
        assert!(!made_before_our_attempt(
            Some("2026-03-01T10:00:05Z"),
            None,
            Duration::ZERO
        ));
    }

    #[test]
    fn known_422s_are_said_in_plain_words() {
        let fields = [
            field("associated_members.1", "The selected associated_members.1 is invalid."),
            field("email", "The email belongs to a member of this organization."),
            field("company_url", "The company url format is invalid."),
        ];
        assert_eq!(
            field_messages(&fields, &[1001, 9999]),
            "member 9999 is not in this organization; this email belongs to a member of the organization, who cannot also be a guest; company_url: The company url format is invalid."
        );
    }
}
