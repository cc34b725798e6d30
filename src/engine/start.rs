//! The import as a library: [`start`] a job on the caller's tokio runtime, watch its typed
//! [`Event`]s, [`Running::stop`] it, and [`Running::finish`] it for its exit code. The engine
//! owns the run (set-up, plan, pacing, requests, the results file, the mirror) and nothing that
//! faces a person: no signal handling, no terminal, no question asked on stdin. Every face is a
//! consumer of the one event stream: the CLI's bar, heartbeat, summary, `--summary-json` and
//! question (`commands::import`), and the local web page. None of them changes what the engine does.
//!
//! The results file is the engine's own (the job writes it as the CLI does); `--summary-json`
//! is a face's (the CLI writes it from `Finished`, or from the error `Running::finish` gives).
//!
//! A job that would ask before sending (no `--yes`, not a dry run, not the built-in sandbox)
//! plans the whole file first and sends [`Event::Planned`] with a [`Confirm`](super::Confirm): nothing is sent
//! until it is answered yes, and a `Confirm` dropped unanswered is a no (`RunError::Declined`,
//! nothing sent or written). A caller that confirms in its own way builds the job with `--yes`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::event::{Event, Events};
use super::job::{self, Face};
use super::stop::Stop;
use crate::config::Job;
use crate::error::{Exit, RunError};

/// In-flight requests get this long to finish after a stop before they are abandoned.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// Starts `job` on the current tokio runtime (call it from within one: it panics otherwise, as
/// `tokio::spawn` does). Its events come on [`Running::events`]; it ends on its own, or stops
/// with [`Running::stop`]. It counts the file's rows up front when it can (`SetUp.rows`), and a
/// job without `--yes` asks through [`Event::Planned`].
pub fn start(job: Job) -> Running {
    let face = Face {
        count_rows: true,
        ask: true,
        page: false,
    };
    start_with(job, face)
}

/// Starts `job` for the page: as [`start`], with its question in the page's words (the settings
/// the page was started with named as a person says them, not as flags).
pub fn start_on_page(job: Job) -> Running {
    let face = Face {
        count_rows: true,
        ask: true,
        page: true,
    };
    start_with(job, face)
}

/// Starts `job` for `face`.
pub(crate) fn start_with(job: Job, face: Face) -> Running {
    let (tx, events) = mpsc::unbounded_channel();
    let stop = Arc::new(Stop::default());
    let stopper = Stopper {
        stop: Arc::clone(&stop),
        dry_run: job.dry_run,
        asked: Arc::new(AtomicBool::new(false)),
        runtime: tokio::runtime::Handle::current(),
    };
    let task = tokio::spawn(job::run_job(job, face, Events::new(tx), stop));
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
    pub(crate) fn dry_run(&self) -> bool {
        self.dry_run
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Status, Wait};

    use std::time::SystemTime;

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
