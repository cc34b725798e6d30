//! `--on-missing disable|delete`: the guests in Tallyfy that no row of the file names are
//! disabled or deleted, behind these safety rules. Nothing is touched unless the whole file was
//! read to its end and nothing stopped the run (a read error, a file ending inside an open quote
//! or a partial read would make present guests look missing), nor when more guests would be
//! touched than `--max-missing` allows (a wrong or truncated file). A guest is "named" by the
//! canonical key (`crate::email_key`) of its email cell in any row, valid or not, and of every
//! address-shaped token in any cell of any row (`crate::mentions`: a second email column, a
//! display name, a note; and the address a token in fullwidth or other compatibility forms
//! reads as: `dedupe::compatible`), or by being the guest a row was matched to by id
//! (`dedupe::KeptIds`). A guest only mentioned is never missing: the report says where the file
//! mentions it (`dedupe::Presence`). Each guest is read back first (with its task statistics)
//! and left alone unless it is still the one listed; a guest with work is never deleted unless
//! `--include-used` says so (`InUse`): deleting "detaches the guest from all tasks" (Tallyfy's
//! delete-guest page) and cannot be undone.

use futures::StreamExt;

use super::remove::{Target, Verify, remove};
use crate::api::Client;
use crate::api::clock::{parse_time, rfc3339};
use crate::engine::outcome::{Outcome, Status};
use crate::engine::plan::existing::{Existing, Work, work};
use crate::engine::stop::Stop;
use crate::modes::{ErrorBudget, Removal};

/// What `--on-missing` may do, and within what.
pub(crate) struct Rules {
    pub how: Removal,
    pub budget: ErrorBudget,
    pub dry_run: bool,
    pub concurrency: usize,
    /// `--include-used`: delete guests with work too.
    pub include_used: bool,
    /// Where each removal is recorded before it is sent.
    pub journal: super::journal::Journal,
}

/// What became of the missing guests: one outcome each, in the same order, and why the run
/// stops if the rules held it back.
pub(crate) struct Mirrored {
    pub outcomes: Vec<Outcome>,
    pub stopped: Option<String>,
}

/// What the report says of each missing guest before anything is done to it: if the run ends
/// before the report is written again, this is the truth.
pub(crate) fn not_yet(missing: &[Existing], how: Removal) -> Vec<Outcome> {
    let message = format!(
        "not yet {}: the run ended before acting on it, or before its report was written again (the acts journal says what was sent)",
        how.done()
    );
    untouched(missing, Status::Deferred, &message)
}

/// The same account of every missing guest, none of whom was touched.
fn untouched(missing: &[Existing], status: Status, message: &str) -> Vec<Outcome> {
    missing
        .iter()
        .map(|guest| {
            let mut outcome = Outcome::new().with(status, message);
            outcome.guest_id = guest.id.clone();
            outcome
        })
        .collect()
}

/// Applies `rules` to the `missing` guests of an organization of `org_guests` guests; `whole`
/// says whether the file (and, for `--retry-from`, the run it retries) read the whole input, or
/// why not.
pub(crate) async fn act(
    client: &Client,
    missing: &[Existing],
    org_guests: u64,
    whole: Result<(), &str>,
    rules: &Rules,
    stop: &Stop,
) -> Mirrored {
    let to_touch = match may_touch(missing, org_guests, whole, rules, stop) {
        Ok(to_touch) => to_touch,
        Err(held_back) => return held_back,
    };
    if to_touch > 0 {
        let verb = if rules.dry_run { "would be" } else { "are being" };
        tracing::warn!(
            "{to_touch} guests not in the file {verb} {} (--on-missing {})",
            rules.how.done(),
            rules.how.verb()
        );
    }
    Mirrored {
        outcomes: remove_each(client, missing, rules, stop).await,
        stopped: stop.reason().map(str::to_string),
    }
}

/// How many of the `missing` guests the rules let the mirror touch, or why it touches none:
/// the file was not read whole, the run stopped, or more are missing than `--max-missing`
/// allows.
fn may_touch(
    missing: &[Existing],
    org_guests: u64,
    whole: Result<(), &str>,
    rules: &Rules,
    stop: &Stop,
) -> Result<u64, Mirrored> {
    let (how, done) = (rules.how, rules.how.done());
    if let Err(why) = whole {
        let message = format!("not {done}: {why}");
        return Err(Mirrored {
            outcomes: untouched(missing, Status::Deferred, &message),
            stopped: None,
        });
    }
    // A signal after the file's rows were done (while the results were put in order, or the
    // report written ahead) stops the mirror before its first act.
    if let Some(reason) = stop.reason() {
        return Err(Mirrored {
            outcomes: untouched(missing, Status::Deferred, &format!("not {done}: {reason}")),
            stopped: Some(reason.to_string()),
        });
    }
    let to_touch = missing.iter().filter(|guest| touches(how, guest)).count() as u64;
    let allowed = rules.budget.allowed(org_guests);
    if to_touch > allowed {
        let budget = match rules.budget {
            ErrorBudget::Rows(_) => rules.budget.to_string(),
            ErrorBudget::Percent(_) => format!("{} ({allowed} of {org_guests} guests)", rules.budget),
        };
        let reason = format!(
            "--on-missing {}: {to_touch} guests would be {done}, more than --max-missing {budget} allows; nothing was touched: check the file, and raise --max-missing if it is right",
            how.verb()
        );
        tracing::error!("{reason}");
        return Err(Mirrored {
            outcomes: untouched(
                missing,
                Status::Deferred,
                &format!("not {done}: {to_touch} guests are missing, more than --max-missing allows"),
            ),
            stopped: Some(reason),
        });
    }
    Ok(to_touch)
}

/// Whether removing `guest` the `how` way is an act, counted against `--max-missing`: a guest
/// already disabled needs no disable.
pub(crate) fn touches(how: Removal, guest: &Existing) -> bool {
    !(how == Removal::Disable && guest.profile.disabled)
}

/// Each missing guest read back and removed (`rules.concurrency` at a time), in their order.
async fn remove_each(client: &Client, missing: &[Existing], rules: &Rules, stop: &Stop) -> Vec<Outcome> {
    let mut outcomes: Vec<(usize, Outcome)> = futures::stream::iter(0..missing.len())
        .map(|at| act_on(at, &missing[at], client, rules, stop))
        .buffer_unordered(rules.concurrency)
        .collect()
        .await;
    outcomes.sort_by_key(|(at, _)| *at);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Takes `guest` (the `at`th missing one) away, unless the run is abandoned first. The stream
/// in `remove_each` goes over indices, not borrowed guests: the engine's task must be `Send`, and the
/// compiler cannot prove it of a stream whose closure takes a reference ("implementation of
/// `FnOnce` is not general enough").
async fn act_on(at: usize, guest: &Existing, client: &Client, rules: &Rules, stop: &Stop) -> (usize, Outcome) {
    let work = InUse {
        guard: rules.how == Removal::Delete && !rules.include_used,
    };
    let target = Target {
        email: &guest.profile.email,
        id: &guest.id,
        verify: Some(&work),
    };
    let outcome = stop
        .or_abandoned(
            remove(client, &target, rules.how, rules.dry_run, stop, &rules.journal),
            rules.how.done(),
        )
        .await;
    (at, outcome)
}

/// What keeps a missing guest from a delete: work. Its read-back carries the statistics
/// (`with=stats`); a dry run reads them too, so it reports the same `in_use` rows.
struct InUse {
    /// `--on-missing delete` without `--include-used` (a disable is reversible and loses
    /// nothing: Tallyfy itself refuses one that would leave tasks behind).
    guard: bool,
}

impl Verify for InUse {
    fn check(&self, found: &crate::api::Guest) -> Option<(Status, String)> {
        if !self.guard {
            return None;
        }
        in_use(found).map(|why| (Status::InUse, why))
    }

    /// A missing guest was listed a moment ago: one read, no waiting for a lagging replica (a
    /// guest not found is `already_gone`, as before).
    fn settle(&self, _server_now: Option<std::time::SystemTime>) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Why deleting `guest` would take work away, in a person's words: tasks assigned, or a
/// sign-in. The file says nothing of when it last imported a guest it no longer names, so any
/// sign-in on record counts: a guest who has used their link is not deleted on a file's word.
fn in_use(guest: &crate::api::Guest) -> Option<String> {
    const ANYWAY: &str = "give --include-used to delete anyway";
    match work(guest)? {
        Work::Tasks(tasks) => {
            let tasks = if tasks == 1 {
                "1 task".to_string()
            } else {
                format!("{tasks} tasks")
            };
            Some(format!(
                "kept: has {tasks} assigned; deleting would detach them from the guest ({ANYWAY})"
            ))
        }
        Work::SignedIn(signed_in) => {
            let when = parse_time(signed_in).map_or_else(|| signed_in.to_string(), rfc3339);
            Some(format!(
                "kept: signed in at {when}, so they use Tallyfy, and a delete cannot be undone ({ANYWAY})"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{ApiConfig, Credentials, Transport, parse_base_url};
    use crate::sandbox::{Sandbox, SandboxOptions};
    use crate::secret::Secret;

    /// A signal that lands after the file's rows are done but before the mirror's first act (the
    /// results put in order, the report written ahead) still stops it: nothing is touched.
    #[tokio::test]
    async fn a_stop_before_the_first_act_touches_nothing() {
        let guests: Vec<crate::api::Guest> = (0..3)
            .map(|i| crate::api::Guest {
                email: format!("gone{i}@example.com"),
                ..Default::default()
            })
            .collect();
        let sandbox = Sandbox::start(SandboxOptions {
            guests,
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let client = Client::new(&ApiConfig {
            base_url: parse_base_url(sandbox.base_url()).unwrap(),
            org: sandbox.org().into(),
            credentials: Credentials::Token(Secret::new(sandbox.token())),
            transport: Transport {
                request_timeout: Duration::from_secs(10),
                ..Transport::default()
            },
        })
        .unwrap();
        let missing: Vec<Existing> = sandbox
            .guests()
            .iter()
            .map(|guest| Existing {
                id: guest.id.clone(),
                profile: crate::engine::plan::existing::Profile::of(guest),
            })
            .collect();
        let rules = Rules {
            how: Removal::Delete,
            budget: ErrorBudget::Rows(10),
            dry_run: false,
            concurrency: 2,
            include_used: false,
            journal: super::super::journal::Journal::none(),
        };
        let stop = Stop::default();
        stop.stop("interrupted by a signal (SIGINT, SIGTERM or SIGHUP)");
        let mirrored = act(&client, &missing, 3, Ok(()), &rules, &stop).await;
        assert!(mirrored.outcomes.iter().all(|o| o.status == Status::Deferred));
        assert!(mirrored.stopped.is_some());
        assert_eq!(sandbox.guests().len(), 3, "no guest was deleted");
        assert_eq!(sandbox.stats().deletes, 0, "no delete was sent");
    }
}
