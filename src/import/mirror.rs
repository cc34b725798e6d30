//! `--on-missing disable|delete`: the guests in Tallyfy that no row of the file names are
//! disabled or deleted, behind these safety rules. Nothing is touched unless the whole file was
//! read to its end and nothing stopped the run (a read error, a file ending inside an open quote
//! or a partial read would make present guests look missing), nor when more guests would be
//! touched than `--max-missing` allows (a wrong or truncated file). A guest is "named" by the
//! canonical key (`crate::email_key`) of its email cell in any row, valid or not (and of any cell
//! with an `@` in a row that is not imported as it stands, and the address a cell in fullwidth or
//! other compatibility forms reads as: `dedupe::compatible`), or by being the guest a row was
//! matched to by id (`dedupe::KeptIds`). Each guest is read back first and left alone unless it
//! is still the one listed.

use std::sync::Arc;

use futures::StreamExt;

use super::create::{Stop, abandoned};
use super::dedupe::Existing;
use super::pipeline::watch_signals;
use super::remove::{Target, remove};
use super::results::{Outcome, Status};
use crate::api::Client;
use crate::modes::{ErrorBudget, Removal};

/// What `--on-missing` may do, and within what.
pub struct Rules {
    pub how: Removal,
    pub budget: ErrorBudget,
    pub dry_run: bool,
    pub concurrency: usize,
    /// Where each removal is recorded before it is sent.
    pub journal: super::journal::Journal,
}

/// What became of the missing guests: one outcome each, in the same order, and why the run
/// stops if the rules held it back.
pub struct Mirrored {
    pub outcomes: Vec<Outcome>,
    pub stopped: Option<String>,
}

/// What the report says of each missing guest before anything is done to it: if the run ends
/// before the report is written again, this is the truth.
pub fn not_yet(missing: &[Existing], how: Removal) -> Vec<Outcome> {
    let message = format!(
        "not yet {}: the run ended before acting on it, or before its report was written again (the acts journal says what was sent)",
        how.done()
    );
    missing
        .iter()
        .map(|guest| {
            let mut outcome = Outcome::new().with(Status::Deferred, message.clone());
            outcome.guest_id = guest.id.clone();
            outcome
        })
        .collect()
}

/// Applies `rules` to the `missing` guests of an organization of `org_guests` guests; `whole`
/// says whether the file (and, for `--retry-from`, the run it retries) read the whole input, or
/// why not.
pub async fn act(
    client: &Client,
    missing: &[Existing],
    org_guests: u64,
    whole: Result<(), &str>,
    rules: &Rules,
) -> Mirrored {
    let (how, done) = (rules.how, rules.how.done());
    let untouched = |status: Status, message: &str| -> Vec<Outcome> {
        missing
            .iter()
            .map(|guest| {
                let mut outcome = Outcome::new().with(status, message);
                outcome.guest_id = guest.id.clone();
                outcome
            })
            .collect()
    };
    if let Err(why) = whole {
        let message = format!("not {done}: {why}");
        return Mirrored {
            outcomes: untouched(Status::Deferred, &message),
            stopped: None,
        };
    }
    // A guest already disabled needs nothing, and does not count against the budget.
    let to_touch = missing
        .iter()
        .filter(|guest| !(how == Removal::Disable && guest.profile.disabled))
        .count() as u64;
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
        return Mirrored {
            outcomes: untouched(
                Status::Deferred,
                &format!("not {done}: {to_touch} guests are missing, more than --max-missing allows"),
            ),
            stopped: Some(reason),
        };
    }
    if to_touch > 0 {
        let verb = if rules.dry_run { "would be" } else { "are being" };
        tracing::warn!(
            "{to_touch} guests not in the file {verb} {done} (--on-missing {})",
            how.verb()
        );
    }
    let stop = Arc::new(Stop::default());
    let signals = tokio::spawn(watch_signals(stop.clone(), false));
    let mut outcomes: Vec<(usize, Outcome)> = futures::stream::iter(missing.iter().enumerate())
        .map(|(at, guest)| {
            let stop = &stop;
            async move {
                let target = Target {
                    email: &guest.profile.email,
                    id: &guest.id,
                    verify: None,
                };
                let outcome = tokio::select! {
                    outcome = remove(client, &target, how, rules.dry_run, stop, &rules.journal) => outcome,
                    _ = stop.abandon.cancelled() => abandoned(done),
                };
                (at, outcome)
            }
        })
        .buffer_unordered(rules.concurrency)
        .collect()
        .await;
    signals.abort();
    outcomes.sort_by_key(|(at, _)| *at);
    Mirrored {
        outcomes: outcomes.into_iter().map(|(_, outcome)| outcome).collect(),
        stopped: stop.reason().map(str::to_string),
    }
}
