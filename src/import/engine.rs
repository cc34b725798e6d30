//! The import as a library: [`start`] a job on the caller's tokio runtime, watch its typed
//! [`Event`]s, [`Running::stop`] it, and [`Running::finish`] it for its exit code. The engine
//! owns the run (set-up, plan, pacing, requests, the results file, the mirror) and nothing that
//! faces a person: no signal handling, no terminal, no question asked on stdin. Every face is a
//! consumer of the one event stream: the CLI's bar, heartbeat, summary, `--summary-json` and
//! question (`import::run`), and the local web page. None of them changes what the engine does.
//!
//! The results file is the engine's own (the job writes it as the CLI does); `--summary-json`
//! is a face's (the CLI writes it from `Finished`, or from the error `Running::finish` gives).
//!
//! A job that would ask before sending (no `--yes`, not a dry run, not the built-in sandbox)
//! plans the whole file first and sends [`Event::Planned`] with a [`Confirm`]: nothing is sent
//! until it is answered yes, and a `Confirm` dropped unanswered is a no (`RunError::Declined`,
//! nothing sent or written). A caller that confirms in its own way builds the job with `--yes`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::confirm;
pub use super::outcome::{Status, Tone};
pub use super::report::summary::Summary;
use super::stop::Stop;
use crate::config::Job;
use crate::error::{Exit, RunError};

/// In-flight requests get this long to finish after a stop before they are abandoned.
pub(super) const GRACE: Duration = Duration::from_secs(5);

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

    /// Go ahead.
    pub fn yes(self) {
        self.reply(Ok(()));
    }

    /// Do not: nothing is sent or written (`RunError::Declined`).
    pub fn no(self) {
        self.reply(Err(RunError::Declined));
    }

    /// Answers with `answer` (an error when the answer could not be read).
    pub(super) fn reply(self, answer: Result<(), RunError>) {
        let _ = self.reply.send(answer);
    }

    /// Resolves when the run no longer waits for the answer (it was stopped).
    pub(super) async fn abandoned(&mut self) {
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
    fn new(tx: mpsc::UnboundedSender<Event>) -> Events {
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

/// How a face runs the engine: whether it counts the rows up front (for a total), and whether
/// a person can be asked.
#[derive(Debug, Clone, Copy)]
pub(super) struct Face {
    pub(super) count_rows: bool,
    pub(super) ask: bool,
}

/// Starts `job` on the current tokio runtime (call it from within one: it panics otherwise, as
/// `tokio::spawn` does). Its events come on [`Running::events`]; it ends on its own, or stops
/// with [`Running::stop`]. It counts the file's rows up front when it can (`SetUp.rows`), and a
/// job without `--yes` asks through [`Event::Planned`].
pub fn start(job: Job) -> Running {
    let face = Face {
        count_rows: true,
        ask: true,
    };
    start_with(job, face)
}

/// Starts `job` for `face`.
pub(super) fn start_with(job: Job, face: Face) -> Running {
    let (tx, events) = mpsc::unbounded_channel();
    let stop = Arc::new(Stop::default());
    let stopper = Stopper {
        stop: Arc::clone(&stop),
        dry_run: job.dry_run,
        asked: Arc::new(AtomicBool::new(false)),
        runtime: tokio::runtime::Handle::current(),
    };
    let task = tokio::spawn(super::run_job(job, face, Events::new(tx), stop));
    Running { events, stopper, task }
}

/// A job under way.
pub struct Running {
    /// What the run tells, until it ends (the channel closes after `Finished`, or after the
    /// run failed: then `finish` says why). Unbounded, so that no watcher can hold the run up:
    /// read it, or drop it (events to nobody are not kept).
    pub events: mpsc::UnboundedReceiver<Event>,
    stopper: Stopper,
    task: tokio::task::JoinHandle<Result<Exit, RunError>>,
}

impl Running {
    /// What the first Ctrl-C does: no new request starts; those in flight get a grace period,
    /// then are abandoned; the rows left are `deferred`.
    pub fn stop(&self) {
        self.stopper.stop();
    }

    /// A handle that stops the run from elsewhere (a Stop button).
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Waits for the end: the exit code the CLI would give, or why the run failed.
    pub async fn finish(self) -> Result<Exit, RunError> {
        match self.task.await {
            Ok(result) => result,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => Err(RunError::Interrupted),
        }
    }
}

/// Stops a run; `Clone + Send`.
#[derive(Clone)]
pub struct Stopper {
    stop: Arc<Stop>,
    dry_run: bool,
    /// A stop was asked for: the grace period runs once.
    asked: Arc<AtomicBool>,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Stopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopper").field("dry_run", &self.dry_run).finish()
    }
}

impl Stopper {
    /// Stops the run (see [`Running::stop`]).
    pub fn stop(&self) {
        self.stop_because("stopped on request");
    }

    /// Stops the run, with `reason` as the summary says it. A dry run, which sends nothing,
    /// stops reading the file at once; otherwise in-flight requests are abandoned after the
    /// grace period (or at [`Stopper::abandon`]).
    pub fn stop_because(&self, reason: &str) {
        self.stop.stop(reason);
        if self.dry_run {
            self.stop.halt_reading();
            return;
        }
        if self.asked.swap(true, Ordering::Relaxed) {
            return;
        }
        let stopper = self.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep(GRACE).await;
            stopper.abandon();
        });
    }

    /// Abandons the requests in flight now and stops reading (a second Ctrl-C).
    pub fn abandon(&self) {
        self.stop.abandon.cancel();
        self.stop.halt_reading();
    }

    /// Whether this is a dry run (which a stop ends at once).
    pub(super) fn dry_run(&self) -> bool {
        self.dry_run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_as_tagged_json_with_statuses_as_the_results_say_them() {
        let row = Event::Row {
            row: 3,
            status: Status::Invalid,
            message: "email `x` has no @".into(),
            guest_id: String::new(),
            fields: vec!["email".into()],
        };
        assert_eq!(
            serde_json::to_value(&row).unwrap(),
            serde_json::json!({"event": "row", "row": 3, "status": "invalid", "message": "email `x` has no @", "guest_id": "", "fields": ["email"]})
        );
        let waiting = Event::Waiting {
            until: SystemTime::UNIX_EPOCH + Duration::from_millis(1_500),
            why: Wait::InviteQuota,
        };
        assert_eq!(
            serde_json::to_value(&waiting).unwrap(),
            serde_json::json!({"event": "waiting", "until": "1970-01-01T00:00:01.500Z", "why": "invite_quota"})
        );
        let planned = Event::Planned {
            counts: vec![(Status::Exists, 2)],
            creates: 1,
            confirm: None,
        };
        assert_eq!(
            serde_json::to_value(&planned).unwrap(),
            serde_json::json!({"event": "planned", "counts": [["exists", 2]], "creates": 1})
        );
        assert_eq!(
            serde_json::to_value(&Event::Sent).unwrap(),
            serde_json::json!({"event": "sent"})
        );
    }
}
