//! What a run tells its watchers ([`Event`], and [`Wait`] within it), the question it waits on
//! ([`Confirm`], answered through [`answer`]'s event), and where the run sends them ([`Events`]).
//! A leaf of the engine: the run's stages (`job`, `pipeline`) send these, the faces (`commands::import`,
//! the page) receive them, and `engine` re-exports them as its API; this module names none of
//! them back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::confirm;
use super::outcome::Status;
use super::report::summary::Summary;
use super::stop::Stop;
use crate::error::{Exit, RunError};

/// What a run tells its watchers, in the order it happens. Serialized as JSON objects tagged
/// by `event` (`{"event":"row","row":2,...}`), times as RFC 3339 text.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Every check passed and the connection is made: the input as the summary names it, its
    /// rows when they can be counted up front, and the organization's id (none offline).
    SetUp {
        /// The input (`guests.csv`, `stdin`).
        input: String,
        /// Rows to read, when known without reading a stream twice (with `--limit`, at most it).
        rows: Option<u64>,
        /// The organization's id; `None` for an offline dry run.
        organization: Option<String>,
        /// The input's SHA-256 when set-up read it whole already (a results file it verified),
        /// so that a face's account need not read it again.
        input_sha256: Option<String>,
        /// The creates' schedule as the run keeps it (none offline), for a face's estimates.
        #[serde(skip)]
        pace: Option<crate::invite_pace::Watch>,
    },
    /// The whole file was planned before anything is sent (only when the job asks first): the
    /// rows planning decided, per status (`exists`, `duplicate`, `invalid`, ...; rows to update
    /// are counted as `updated`, an undo's rows to take away as `deleted` or `disabled`), and
    /// the guests to create. `confirm` is the question, when the job asks one.
    Planned {
        /// Rows per status, as planned.
        counts: Vec<(Status, u64)>,
        /// Guests to create.
        creates: u64,
        /// Answer it to go ahead; dropped unanswered, the run is declined.
        #[serde(skip)]
        confirm: Option<Confirm>,
    },
    /// The organization's guest list or members list is being read, before anything is sent:
    /// pages and entries read so far, of the pages the list announces (a server's own claim).
    Reading {
        /// Which list.
        list: Listing,
        /// Pages read so far.
        pages: u64,
        /// Guests (or members) read so far.
        read: u64,
        /// The pages the list announces.
        of_pages: u64,
    },
    /// The organization's guests are read (and the question, if any, answered): rows go out
    /// now, and their `Row` events follow.
    Sending,
    /// A create is planned for this row and waits its turn (for the ETA under invite pacing).
    Creating {
        /// The row's number in the spreadsheet.
        row: u64,
    },
    /// A row is finished and written to the results, as the results file says it.
    Row {
        /// The row's number in the spreadsheet (`result_row`).
        row: u64,
        /// `result_status`.
        status: Status,
        /// `result_message`.
        message: String,
        /// `result_guest_id`.
        guest_id: String,
        /// The fields an invalid row's problems are about (`email`, `first_name`, ...).
        fields: Vec<String>,
    },
    /// Every row has its result and the results file is complete: what follows is the mirror
    /// (`--on-missing`), the reports and the summary.
    Sent,
    /// Requests wait until `until`: every request for a 429 pause, or the creates for the
    /// invite quota. A wait that ends early is sent again with `until` now.
    Waiting {
        /// When the wait ends.
        #[serde(serialize_with = "rfc3339")]
        until: SystemTime,
        /// What is waited for.
        why: Wait,
    },
    /// The run is stopping (no new request starts): a stop asked for, `--max-errors`, a
    /// results file that cannot be written, the rate limit beyond `--max-wait`, ...
    Stopping {
        /// Why, as the summary says it.
        reason: String,
    },
    /// The run is over: its account, and the exit code the CLI would give.
    Finished {
        /// The summary (`--summary-json`'s fields).
        summary: Summary,
        /// The exit code.
        exit: Exit,
    },
}

/// Which of the organization's lists a [`Event::Reading`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// Its guests (to tell which rows exist already).
    Guests,
    /// Its members (a guest cannot be a member; `associated_members` must be members).
    Members,
}

impl Listing {
    /// The list's entries, in words: `guests`, `members`.
    pub fn entries(self) -> &'static str {
        match self {
            Listing::Guests => "guests",
            Listing::Members => "members",
        }
    }
}

/// What a [`Event::Waiting`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// Creates wait for the invite cap or `--invite-rate`.
    InviteQuota,
    /// Every request is paused by a 429.
    RateLimit,
}

fn rfc3339<S: serde::Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_millis(*at))
}

/// The question of a job that asks before sending: what it would do, and the answer it waits
/// for. Dropped unanswered, it is a no.
#[derive(Debug)]
pub struct Confirm {
    pub(super) organization: String,
    pub(super) question: confirm::Question,
    pub(super) preview: confirm::Preview,
    reply: oneshot::Sender<Result<(), RunError>>,
}

impl Confirm {
    /// The organization, as the question names it (`Acme (org id)`).
    pub fn organization(&self) -> &str {
        &self.organization
    }

    /// The question as the CLI asks it (`Create 2 guests in Acme (…)? … [y/N] `).
    pub fn text(&self) -> String {
        confirm::wording(&self.organization, &self.question, &self.preview, SystemTime::now())
    }

    /// For a plan of hours, what the terminal says after the yes: how to leave the job to cron
    /// or a systemd timer instead (the command that continues it). `None` for a shorter plan.
    pub fn leave_running(&self) -> Option<String> {
        confirm::leave_running(&self.question, &self.preview, SystemTime::now())
    }

    /// Go ahead.
    pub fn yes(self) {
        self.reply(Ok(()));
    }

    /// Do not: nothing is sent or written (`RunError::Declined`).
    pub fn no(self) {
        self.reply(Err(RunError::Declined));
    }

    /// Answers with `answer` (an error when the answer could not be read).
    pub(crate) fn reply(self, answer: Result<(), RunError>) {
        let _ = self.reply.send(answer);
    }

    /// Resolves when the run no longer waits for the answer (it was stopped).
    pub(crate) async fn abandoned(&mut self) {
        self.reply.closed().await;
    }
}

/// Asks `confirm`'s question, waiting for its answer (or the stop that ends the wait).
pub(super) async fn answer(
    events: &Events,
    org: String,
    question: confirm::Question,
    preview: confirm::Preview,
    stop: &Stop,
) -> Result<(), RunError> {
    let (reply, answer) = oneshot::channel();
    let confirm = Confirm {
        organization: org,
        question,
        preview: preview.clone(),
        reply,
    };
    events.send(Event::Planned {
        counts: preview.counts.clone(),
        creates: preview.creates,
        confirm: Some(confirm),
    });
    tokio::select! {
        answer = answer => answer.unwrap_or(Err(RunError::Declined)),
        () = stop.gate.closed(crate::api::pacing::Lane::Request) => Err(RunError::Interrupted),
    }
}

/// Where the engine sends its events; a closed receiver is no error (nobody watches).
#[derive(Clone)]
pub(super) struct Events {
    tx: mpsc::UnboundedSender<Event>,
    /// The reasons already sent as `Stopping` (the run's, then the creates' own).
    stopping: Arc<[AtomicBool; 2]>,
}

impl Events {
    pub(super) fn new(tx: mpsc::UnboundedSender<Event>) -> Events {
        Events {
            tx,
            stopping: Arc::default(),
        }
    }

    pub(super) fn send(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    /// Sends `Stopping` the first time the run is seen stopped, and the first time its creates
    /// are (the invite cap beyond `--max-wait`) if that came first.
    pub(super) fn stopping(&self, stop: &Stop) {
        let [run, creates] = &*self.stopping;
        if let Some(reason) = stop.reason() {
            if !run.swap(true, Ordering::Relaxed) {
                creates.store(true, Ordering::Relaxed);
                self.send(Event::Stopping {
                    reason: reason.to_string(),
                });
            }
        } else if let Some(reason) = stop.invite_reason()
            && !creates.swap(true, Ordering::Relaxed)
        {
            self.send(Event::Stopping {
                reason: reason.to_string(),
            });
        }
    }
}
