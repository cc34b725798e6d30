//! `undo RESULTS`: takes back only what that run created. Set-up refuses results of another
//! organization, or of an older version that records none (`refusal`). A row is taken back
//! (deleted, or disabled) only when it says `created` and was made in this organization, its
//! email is a valid address (no request is sent for one that is not), and the guest read back
//! proves to be the one that run created (`Provenance`): the same id and canonical email, the
//! same `created_at` as the create's answer recorded (`result_created_at`), and unused since
//! (`used_since` otherwise, unless `--include-used`). Every other row is left alone and says
//! why; one whose guest cannot be proven to be the run's is `unproven`, which a person must look
//! at. The rows keep their spreadsheet row numbers.
//!
//! One clock (issue 30): the creation time recorded and the one read back both come from the
//! server's database, and "used since" compares the sign-in time with the creation time, both
//! database times. The `Date` header (which a proxy or front end may set from another clock) is
//! compared with neither. Results of earlier versions record no creation time: their guests are
//! checked against the run's window on the `Date` clock, widened by `LEGACY_SLACK` each side.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::remove::{Target, Verify, remove};
use crate::api::Client;
use crate::api::clock::{parse_time, rfc3339};
use crate::email_key::email_key;
use crate::engine::link::Link;
use crate::engine::outcome::Status;
use crate::engine::plan::reader::Parsed;
use crate::engine::report::results::RowResult;
use crate::engine::stop::Stop;
use crate::input::{Field, FieldMap};
use crate::modes::Removal;

/// For results of earlier versions, which record no creation time: how far outside the run's
/// window (on the `Date` clock) a guest's `created_at` (on the database clock) may fall and
/// still be taken as the run's. The id and the email must match too, so the window only guards
/// against a row pasted from elsewhere; an hour covers any skew between two clocks of one
/// service, and a guest cannot be created twice with one id.
pub(crate) const LEGACY_SLACK: Duration = Duration::from_secs(3600);

/// How undo takes guests back.
pub(crate) struct Rules {
    pub how: Removal,
    pub dry_run: bool,
    pub include_used: bool,
}

/// What undo does with one row of the results file. A removal holds the client it reads the
/// guest back through (none offline: an offline undo removes nothing).
pub(crate) enum UndoPlan {
    Done(RowResult),
    Remove {
        result: RowResult,
        email: String,
        made: Made,
        client: Arc<Client>,
    },
}

/// What the results file proves of when a row's guest was made.
#[derive(Debug, Clone)]
pub(crate) struct Made {
    /// The guest's `created_at` as the create's answer gave it (database clock), when recorded.
    created_at: Option<SystemTime>,
    /// The run that made it, on the `Date` clock: from its start to the row's last answer.
    window: Option<Window>,
}

/// The run that made a row, on the `Date` clock: from its start to the row's last answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    started: SystemTime,
    ended: SystemTime,
}

/// Reads a row's earlier account, with nothing sent: only a `created` row with a guest id, a
/// valid email, this organization and a recorded creation time (or run window) names a guest
/// to take back. The link's client is the configured organization's (none offline).
pub(crate) fn plan(parsed: Parsed, map: &FieldMap, how: Removal, link: &Link) -> UndoPlan {
    let client = link.client();
    let Parsed { record, previous, .. } = parsed;
    let row = previous.as_ref().and_then(|p| p.row).unwrap_or(record.row);
    let email = map.cell(Field::Email, &record.cells).unwrap_or("").trim().to_string();
    let mut result = RowResult::new(record.index, row, Status::NotCreatedHere, "", record.cells);
    let Some(previous) = previous else {
        result.outcome.message = "the results file has no result for this row".into();
        return UndoPlan::Done(result);
    };
    result.outcome.guest_id = previous.guest_id.trim().to_string();
    let made = &previous.provenance;
    let window = parse_time(&made.run_started)
        .zip(parse_time(&made.at))
        .map(|(started, ended)| Window { started, ended });
    let recorded = parse_time(&previous.created_at);
    let leave = |mut result: RowResult, status, message: String| {
        result.outcome.status = status;
        result.outcome.message = message;
        UndoPlan::Done(result)
    };
    match previous.status {
        Ok(Status::Created) if result.outcome.guest_id.is_empty() || email.is_empty() => leave(
            result,
            Status::Failed,
            "left alone: the row says created but has no guest id or email, so its guest cannot be told apart".into(),
        ),
        // Validated before any request: `..` or `.` would otherwise address another path.
        Ok(Status::Created) if crate::validate::strict_address(&email).is_err() => leave(
            result,
            Status::NotCreatedHere,
            format!("left alone: `{email}` is not a valid email address, so no guest was created with it and no request is sent"),
        ),
        Ok(Status::Created) if client.is_some_and(|client| !made.org.eq_ignore_ascii_case(client.org())) => leave(
            result,
            Status::NotCreatedHere,
            format!(
                "left alone: the row was made in organization `{}`, not this one",
                made.org
            ),
        ),
        Ok(Status::Created) => match (client, recorded, window) {
            (None, ..) => leave(
                result,
                match how {
                    Removal::Delete => Status::WouldDelete,
                    Removal::Disable => Status::WouldDisable,
                },
                format!("would be {} (offline: not read back from Tallyfy)", how.done()),
            ),
            (Some(_), None, None) => leave(
                result,
                Status::Unproven,
                "left alone: the row records neither the guest's creation time nor when its run ran, so the guest cannot be proven to be the one that run created; check it in Tallyfy and remove it there if it is".into(),
            ),
            (Some(client), created_at, window) => UndoPlan::Remove {
                result,
                email,
                made: Made { created_at, window },
                client: Arc::clone(client),
            },
        },
        Ok(status) => leave(
            result,
            Status::NotCreatedHere,
            format!("left alone: the import did not create it (its status is `{status}`)"),
        ),
        Err(text) => leave(
            result,
            Status::NotCreatedHere,
            format!("left alone: `{text}` is not a status this tool writes"),
        ),
    }
}

/// What the guest read back must prove before undo touches it (its id is checked by `remove`).
struct Provenance<'a> {
    email: &'a str,
    made: Made,
    include_used: bool,
}

/// Why a guest found is not the run's (`not_created_here`: it existed before, or something else
/// made it) or cannot be proven to be (`unproven`), in words for the row; `None` when it is.
fn not_proven(made: &Made, created: SystemTime) -> Option<(Status, String)> {
    match (made.created_at, made.window) {
        (Some(recorded), _) if recorded == created => None,
        (Some(recorded), _) => Some((
            Status::Unproven,
            format!(
                "left alone: Tallyfy says this guest was created at {}, but the import recorded {} from its create's answer, so it is not provably the guest that run created; check it in Tallyfy and remove it there if it is",
                rfc3339(created),
                rfc3339(recorded)
            ),
        )),
        (None, Some(Window { started, ended })) => {
            let inside = created + LEGACY_SLACK >= started && created <= ended + LEGACY_SLACK;
            (!inside).then(|| {
                (
                    Status::NotCreatedHere,
                    format!(
                        "left alone: Tallyfy says it was created at {}, more than an hour outside the import's run ({} to {}): it existed before, or something else made it",
                        rfc3339(created),
                        rfc3339(started),
                        rfc3339(ended)
                    ),
                )
            })
        }
        (None, None) => Some((
            Status::Unproven,
            "left alone: the row records no creation time, so the guest cannot be proven to be the one the import created".into(),
        )),
    }
}

impl Verify for Provenance<'_> {
    fn check(&self, found: &crate::api::Guest) -> Option<(Status, String)> {
        if email_key(&found.email) != email_key(self.email) {
            return Some((
                Status::ChangedSince,
                format!(
                    "left alone: the guest read back has email `{}`, not the row's `{}`",
                    found.email, self.email
                ),
            ));
        }
        let Some(created) = found.created_at.as_deref().and_then(parse_time) else {
            return Some((
                Status::Unproven,
                "left alone: Tallyfy gives no creation time for this guest, so it cannot be proven to be the one the import created; check it in Tallyfy and remove it there if it is".into(),
            ));
        };
        if let Some(refused) = not_proven(&self.made, created) {
            return Some(refused);
        }
        if self.include_used {
            return None;
        }
        // Both on the database's clock: any sign-in after the creation is a use.
        let signed_in = found
            .last_accessed_at
            .as_deref()
            .and_then(parse_time)
            .filter(|&at| at > created);
        if let Some(at) = signed_in {
            return Some((
                Status::UsedSince,
                format!(
                    "kept: the guest signed in at {} after the import; give --include-used to remove it anyway",
                    rfc3339(at)
                ),
            ));
        }
        let tasks = found.stats.as_ref().and_then(|stats| stats.assigned_tasks).unwrap_or(0);
        if tasks > 0 {
            return Some((
                Status::UsedSince,
                format!(
                    "kept: the guest has {tasks} tasks assigned since the import; give --include-used to remove it anyway"
                ),
            ));
        }
        None
    }

    /// A guest created longer ago than the read lag is no longer lagging: its absence is
    /// believed at once (a second undo of old results does not wait on every row). Both times
    /// are `Date` headers: the run's last answer for the row and the latest now.
    fn settle(&self, server_now: Option<SystemTime>) -> Duration {
        let lag = crate::api::READ_LAG;
        let ended = self.made.window.map(|window| window.ended);
        match server_now
            .zip(ended)
            .and_then(|(now, ended)| now.duration_since(ended).ok())
        {
            Some(since) if since > lag + CLOCK_GRANULARITY => Duration::ZERO,
            _ => lag,
        }
    }
}

/// The `Date` header has whole seconds.
const CLOCK_GRANULARITY: Duration = Duration::from_secs(1);

/// Carries out a row's plan.
pub(crate) async fn run(plan: UndoPlan, rules: &Rules, stop: &Stop, journal: &super::journal::Journal) -> RowResult {
    let (mut result, email, made, client) = match plan {
        UndoPlan::Done(result) => return result,
        UndoPlan::Remove {
            result,
            email,
            made,
            client,
        } => (result, email, made, client),
    };
    let proof = Provenance {
        email: &email,
        made,
        include_used: rules.include_used,
    };
    let target = Target {
        email: &email,
        id: &result.outcome.guest_id,
        verify: Some(&proof),
    };
    let outcome = stop
        .or_abandoned(
            remove(&client, &target, rules.how, rules.dry_run, stop, journal),
            rules.how.done(),
        )
        .await;
    result.outcome = outcome;
    result
}
