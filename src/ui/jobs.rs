//! The page's jobs: each preview, import and undo is a job of the engine (built directly, see
//! `drive`), pointed at the organization the page reaches, and watched through its events. A
//! job belongs to the server, not to a tab: it goes on whoever looks. Owns what is live in
//! memory (counts, the waiting line, the engine's question until it is answered, the stop) and
//! tells the page about every change; what a job leaves behind is its results file and summary,
//! in the run's folder, from which a later server shows it and continues it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use tokio::sync::broadcast;

use crate::config::{ApiConfig, PageJob};
use crate::engine::{Confirm, Status};

/// The finished rows a going job keeps in memory, the lowest row numbers first: a big file's
/// rows would cost the server as much memory as the file. A page reads the rows past them from
/// the results file the job writes (whole rows, flushed every second).
pub(super) const LIVE_ROWS: usize = 10_000;

/// What a job is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A dry run against live state: the preview.
    Preview,
    /// The import, or its continuation (the rows still to do, the rows fixed since).
    Send,
    /// The undo of the import.
    Undo,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Reading the file and the organization: a preview, or a send planning what to ask.
    Checking,
    /// The engine's question waits for the person's answer; nothing is sent yet.
    Asking,
    /// Going.
    Running,
    /// Asked to stop; requests in flight are finishing.
    Stopping,
    /// Finished every row.
    Done,
    /// Ended early (a stop, the invite cap beyond `--max-wait`).
    Stopped,
    /// Could not run, or ended by an error.
    Failed,
    /// The question was answered no (or the run stopped at it): nothing was sent or written,
    /// so the run is as it was before.
    Declined,
}

/// One row's outcome, as the page shows it.
#[derive(Debug, Clone)]
pub(super) struct RowUpdate {
    /// The sheet's row number.
    pub row: u64,
    /// Its status.
    pub status: Status,
    /// What happened, in words.
    pub message: String,
    /// The offending fields of an invalid row.
    pub fields: Vec<String>,
}

/// A job's state while it runs (and after, until the server ends).
#[derive(Debug, Clone)]
pub(super) struct Live {
    /// What it is for.
    pub kind: Kind,
    /// Where it is.
    pub phase: Phase,
    /// Rows per status so far.
    pub counts: BTreeMap<Status, u64>,
    /// Rows in the file, when known.
    pub total: Option<u64>,
    /// Creates the plan holds, once planned.
    pub creates: Option<u64>,
    /// Waiting for a quota until then, and why.
    pub waiting: Option<(SystemTime, crate::engine::Wait)>,
    /// When it started.
    pub started: Instant,
    /// Why it stopped early, or the error that ended it.
    pub stopped: Option<String>,
    /// The engine's question while it waits for an answer, as the engine words it.
    pub question: Option<String>,
    /// The creates' schedule as the run keeps it: the time left comes from the model the
    /// question's promise came from, as the terminal's bar does.
    pub pace: Option<crate::invite_pace::Watch>,
}

impl Live {
    fn new(kind: Kind) -> Live {
        Live {
            kind,
            phase: Phase::Checking,
            counts: BTreeMap::new(),
            total: None,
            creates: None,
            waiting: None,
            started: Instant::now(),
            stopped: None,
            question: None,
            pace: None,
        }
    }

    /// Rows finished so far.
    pub(super) fn done(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Whether it is still going (its question waiting counts).
    pub(super) fn active(&self) -> bool {
        matches!(
            self.phase,
            Phase::Checking | Phase::Asking | Phase::Running | Phase::Stopping
        )
    }
}

/// A change the page should show: sent to the run's event stream as JSON.
#[derive(Debug, Clone)]
pub(super) struct Note {
    /// The run it is about.
    pub run: String,
    /// The run's version after the change (a new job, a question, a finished one): a page
    /// showing an older one reloads.
    pub version: u64,
    /// A finished row, if that is the change.
    pub row: Option<RowUpdate>,
}

struct Entry {
    live: Live,
    /// The rows finished so far, by sheet row, while the job goes (the first `LIVE_ROWS`; a
    /// page reads the others from the results file the job writes): apart from `live`, which is copied for every page, so that a page
    /// copies only the rows it shows (a big file's rows would cost the server as much memory
    /// as the file, for each page).
    rows: BTreeMap<u64, RowUpdate>,
    version: u64,
    stop: Option<Box<dyn Fn() + Send + Sync>>,
    /// The engine's question, until it is answered.
    confirm: Option<Confirm>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Entry {
    /// A change of the whole run (a new job, a question, an answer, an end): its version moves
    /// on, so that a page showing an older one reloads.
    fn changed(&mut self, run: &str) -> Note {
        self.version += 1;
        Note {
            run: run.to_string(),
            version: self.version,
            row: None,
        }
    }
}

/// Every job of this server, by run id.
pub(super) struct Hub {
    entries: Mutex<HashMap<String, Entry>>,
    notes: broadcast::Sender<Note>,
    /// Held while an order is put in place (see [`Hub::ordering`]).
    ordering: Mutex<()>,
}

/// What an order does with the run's files once it ends.
pub(super) type Then = Box<dyn FnOnce(&Outcome) + Send>;

/// One engine job of an order, and where its offending fields are kept.
pub(super) struct Step {
    /// The job, as the page builds it.
    pub job: PageJob,
    /// Where the job's offending fields are kept for later pages.
    pub fields: PathBuf,
}

/// What a job is told to do: one engine job, or (an undo of a job that was continued after an
/// interruption) several in turn, each asking its own question.
pub(super) struct Order {
    /// The run's id.
    pub run: String,
    /// What it is for.
    pub kind: Kind,
    /// The engine jobs, in order; a declined, failed or stopped one ends the order.
    pub steps: Vec<Step>,
    /// Where the page's jobs go.
    pub api: ApiConfig,
    /// An import's results, the workbook to make of them at its end, and the input's name.
    pub workbook: Option<(PathBuf, PathBuf, String)>,
    /// Done once the order ends, with how it ended (moving the run's files into place).
    pub then: Option<Then>,
}

impl Hub {
    /// No jobs yet.
    pub(super) fn new() -> Arc<Hub> {
        let (notes, _) = broadcast::channel(1024);
        Arc::new(Hub {
            entries: Mutex::new(HashMap::new()),
            notes,
            ordering: Mutex::new(()),
        })
    }

    /// Held while an order is put in place: the check that no job of the run is going, the
    /// files it moves, and its start happen as one, so two clicks (two tabs) at once cannot
    /// both move a run's results aside.
    pub(super) fn ordering(&self) -> std::sync::MutexGuard<'_, ()> {
        self.ordering.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The changes, for an event stream.
    pub(super) fn subscribe(&self) -> broadcast::Receiver<Note> {
        self.notes.subscribe()
    }

    /// The run's job, if one ran since the server started (a declined one left nothing: the
    /// run is as its folder says).
    pub(super) fn live(&self, run: &str) -> Option<Live> {
        self.snapshot(run).0
    }

    /// The run's job (as `live` gives it) and its version, read together: a page rendered from
    /// the one shows the other, so it reloads at the next change and never misses one.
    pub(super) fn snapshot(&self, run: &str) -> (Option<Live>, u64) {
        let entries = self.lock();
        let entry = entries.get(run);
        let live = entry
            .map(|entry| entry.live.clone())
            .filter(|live| live.phase != Phase::Declined);
        (live, entry.map_or(0, |entry| entry.version))
    }

    /// Whether the run has a job going.
    pub(super) fn active(&self, run: &str) -> bool {
        self.lock().get(run).is_some_and(|entry| entry.live.active())
    }

    /// The finished rows among `wanted` (the rows a page shows) of the run's job going.
    pub(super) fn rows(&self, run: &str, wanted: impl Iterator<Item = u64>) -> BTreeMap<u64, RowUpdate> {
        let entries = self.lock();
        let Some(entry) = entries.get(run) else {
            return BTreeMap::new();
        };
        wanted
            .filter_map(|row| Some((row, entry.rows.get(&row)?.clone())))
            .collect()
    }

    /// The run's version: it changes when a job starts or ends.
    pub(super) fn version(&self, run: &str) -> u64 {
        self.lock().get(run).map_or(0, |entry| entry.version)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stops the run's job as the first Ctrl-C stops the CLI: no new request starts, those in
    /// flight finish, unfinished rows are `deferred`.
    pub(super) fn stop(&self, run: &str) -> bool {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(run).filter(|entry| entry.live.active()) else {
            return false;
        };
        match &entry.stop {
            Some(stop) => {
                stop();
                entry.live.phase = Phase::Stopping;
                true
            }
            None => false,
        }
    }

    /// Whether any job is going.
    pub(super) fn any_active(&self) -> bool {
        self.lock().values().any(|entry| entry.live.active())
    }

    /// Stops every job and waits for them to end (Ctrl-C on the server).
    pub(super) async fn stop_all(&self) {
        let tasks: Vec<tokio::task::JoinHandle<()>> = {
            let mut entries = self.lock();
            entries
                .values_mut()
                .filter_map(|entry| {
                    if let Some(stop) = &entry.stop {
                        stop();
                    }
                    entry.task.take()
                })
                .collect()
        };
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Starts a job, run by `drive` (which tells the hub as it goes); refused while the run has
    /// one going.
    pub(super) fn start<D, F>(self: &Arc<Hub>, order: Order, drive: D) -> Result<(), String>
    where
        D: FnOnce(Arc<Hub>, Order) -> F,
        F: std::future::Future<Output = Outcome> + Send + 'static,
    {
        let version = {
            let mut entries = self.lock();
            if entries.get(&order.run).is_some_and(|entry| entry.live.active()) {
                return Err("this run has a job going: wait for it to end, or stop it".into());
            }
            let version = entries.get(&order.run).map_or(1, |entry| entry.version + 1);
            entries.insert(
                order.run.clone(),
                Entry {
                    live: Live::new(order.kind),
                    rows: BTreeMap::new(),
                    version,
                    stop: None,
                    confirm: None,
                    task: None,
                },
            );
            version
        };
        let _ = self.notes.send(Note {
            run: order.run.clone(),
            version,
            row: None,
        });
        let hub = Arc::clone(self);
        let run = order.run.clone();
        let job = drive(Arc::clone(&hub), order);
        let finishing = run.clone();
        let task = tokio::spawn(async move {
            let outcome = job.await;
            hub.finish(&finishing, outcome);
        });
        if let Some(entry) = self.lock().get_mut(&run) {
            entry.task = Some(task);
        }
        Ok(())
    }

    /// Lets the job be stopped from the page.
    pub(super) fn stoppable(&self, run: &str, stop: Box<dyn Fn() + Send + Sync>) {
        if let Some(entry) = self.lock().get_mut(run) {
            entry.stop = Some(stop);
        }
    }

    /// The engine's question waits for the person: kept until answered, and the page (a new
    /// version) shows it.
    pub(super) fn ask(&self, run: &str, confirm: Confirm) {
        let note = {
            let mut entries = self.lock();
            let Some(entry) = entries.get_mut(run) else {
                return;
            };
            let text = confirm.text();
            // The terminal's prompt is the terminal's: the page answers with buttons.
            let text = text.trim_end().trim_end_matches("[y/N]").trim_end().to_string();
            entry.live.question = Some(text);
            entry.live.phase = Phase::Asking;
            entry.confirm = Some(confirm);
            entry.changed(run)
        };
        let _ = self.notes.send(note);
    }

    /// Answers the run's question: yes sends exactly what it asked about; no ends the job with
    /// nothing sent or written. `false` when no question waits.
    pub(super) fn answer(&self, run: &str, yes: bool) -> bool {
        let note = {
            let mut entries = self.lock();
            let Some(entry) = entries.get_mut(run) else {
                return false;
            };
            let Some(confirm) = entry.confirm.take() else {
                return false;
            };
            entry.live.question = None;
            if yes {
                entry.live.phase = Phase::Running;
                confirm.yes();
            } else {
                confirm.no();
            }
            entry.changed(run)
        };
        let _ = self.notes.send(note);
        true
    }

    /// Applies a change to the run's live state and tells the page.
    pub(super) fn update(&self, run: &str, change: impl FnOnce(&mut Live) -> Option<RowUpdate>) {
        let note = {
            let mut entries = self.lock();
            let Some(entry) = entries.get_mut(run) else {
                return;
            };
            let row = change(&mut entry.live);
            if let Some(update) = &row {
                entry.rows.insert(update.row, update.clone());
                // The lowest row numbers are kept: the rest are the results file's to hold
                // (a page reads them there), not the server's memory.
                if entry.rows.len() > LIVE_ROWS {
                    entry.rows.pop_last();
                }
            }
            Note {
                run: run.to_string(),
                version: entry.version,
                row,
            }
        };
        let _ = self.notes.send(note);
    }

    fn finish(&self, run: &str, outcome: Outcome) {
        let note = {
            let mut entries = self.lock();
            let Some(entry) = entries.get_mut(run) else {
                return;
            };
            let live = &mut entry.live;
            if let Some(counts) = outcome.counts {
                live.counts = counts;
            }
            live.waiting = None;
            live.question = None;
            live.stopped = outcome.stopped.or(outcome.failed.clone());
            live.phase = match (outcome.declined, &outcome.failed, &live.stopped) {
                (true, _, _) => Phase::Declined,
                (false, Some(_), _) => Phase::Failed,
                (false, None, Some(_)) => Phase::Stopped,
                (false, None, None) => Phase::Done,
            };
            entry.stop = None;
            entry.confirm = None;
            // The results file and its offending fields hold them now.
            entry.rows = BTreeMap::new();
            entry.changed(run)
        };
        let _ = self.notes.send(note);
    }
}

/// How a job ended.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Rows per status, as its summaries count them (`None`: as the events counted them).
    pub counts: Option<BTreeMap<Status, u64>>,
    /// Why it stopped early.
    pub stopped: Option<String>,
    /// The error that ended it (or kept it from starting).
    pub failed: Option<String>,
    /// Its question was answered no: nothing was sent or written.
    pub declined: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(row: u64) -> RowUpdate {
        RowUpdate {
            row,
            status: Status::WouldCreate,
            message: String::new(),
            fields: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_job_keeps_only_the_rows_a_page_shows_and_none_once_it_ends() {
        let hub = Hub::new();
        let order = Order {
            run: "r".into(),
            kind: Kind::Preview,
            steps: Vec::new(),
            api: ApiConfig::new(
                crate::config::Transport::default(),
                "http://127.0.0.1:1/api",
                "5a4db0c5a4db0c5a4db0c5a4db0c5a4d",
                crate::config::Credentials::Token(crate::secret::Secret::new("t")),
            )
            .unwrap(),
            workbook: None,
            then: None,
        };
        let (end, ended) = tokio::sync::oneshot::channel::<()>();
        hub.start(order, |_, _| async move {
            let _ = ended.await;
            Outcome::default()
        })
        .unwrap();
        // Finished out of order, as concurrent creates finish: the lowest rows stay.
        let last = LIVE_ROWS as u64 + 500;
        for n in (2..=last).rev() {
            hub.update("r", |live| {
                *live.counts.entry(Status::WouldCreate).or_default() += 1;
                Some(row(n))
            });
        }
        assert_eq!(hub.live("r").unwrap().done(), last - 1, "every row is counted");
        let kept = hub.rows("r", 1..=last + 1);
        assert_eq!(kept.len(), LIVE_ROWS);
        assert_eq!(kept.keys().next(), Some(&2));
        assert!(!kept.contains_key(&last));
        assert_eq!(hub.rows("r", [7, 9].into_iter()).len(), 2, "only the rows asked for");
        end.send(()).unwrap();
        // The hub is told the job ended by the job's task: wait for that state, not a time.
        while hub.active("r") {
            tokio::task::yield_now().await;
        }
        assert!(hub.rows("r", 1..=last).is_empty(), "the results file holds them now");
    }
}
