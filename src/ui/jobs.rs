//! The page's jobs: each preview, import and undo is a job of the engine, built from a command
//! line exactly as the CLI builds it (the page is "the CLI with a form"), pointed at the
//! organization the page reaches, and watched through its events. Owns what is live in memory
//! (counts, the waiting line, the stop) and tells the page about every change; what a job
//! leaves behind is its results file, in the run's folder.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::config::ApiConfig;

/// What a job is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Kind {
    /// A dry run against live state: the preview.
    Preview,
    /// The import.
    Send,
    /// The undo of the import.
    Undo,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Going.
    Running,
    /// Asked to stop; requests in flight are finishing.
    Stopping,
    /// Finished every row.
    Done,
    /// Ended early (a stop, a set-up problem, a limit).
    Stopped,
}

/// One row's outcome, as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct RowUpdate {
    /// The sheet's row number.
    pub row: u64,
    /// Its status (`created`, `invalid`, ...).
    pub status: String,
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
    pub counts: BTreeMap<String, u64>,
    /// Rows in the file, when known.
    pub total: Option<u64>,
    /// Creates the plan holds, when the file was planned first.
    pub creates: Option<u64>,
    /// Waiting for a quota until then, and why.
    pub waiting: Option<(SystemTime, String)>,
    /// When it started.
    pub started: Instant,
    /// Why it stopped early, or the error that ended it.
    pub stopped: Option<String>,
}

impl Live {
    fn new(kind: Kind) -> Live {
        Live {
            kind,
            phase: Phase::Running,
            counts: BTreeMap::new(),
            total: None,
            creates: None,
            waiting: None,
            started: Instant::now(),
            stopped: None,
        }
    }

    /// Rows finished so far.
    pub(super) fn done(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Whether it is still going.
    pub(super) fn active(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Stopping)
    }
}

/// A change the page should show: sent to the run's event stream as JSON.
#[derive(Debug, Clone)]
pub(super) struct Note {
    /// The run it is about.
    pub run: String,
    /// The run's version after the change (a new job, a finished one): a page showing an older
    /// one reloads.
    pub version: u64,
    /// A finished row, if that is the change.
    pub row: Option<RowUpdate>,
}

struct Entry {
    live: Live,
    /// The rows finished so far, by sheet row, while the job goes (the first `SHOWN_ROWS`, as a
    /// page shows them): apart from `live`, which is copied for every page, so that a page
    /// copies only the rows it shows (a big file's rows would cost the server as much memory
    /// as the file, for each page).
    rows: BTreeMap<u64, RowUpdate>,
    version: u64,
    stop: Option<Box<dyn Fn() + Send + Sync>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Every job of this server, by run id.
pub(super) struct Hub {
    entries: Mutex<HashMap<String, Entry>>,
    notes: broadcast::Sender<Note>,
}

/// What a job is told to do.
pub(super) struct Order {
    /// The run's id.
    pub run: String,
    /// What it is for.
    pub kind: Kind,
    /// The command line, as the CLI would take it (`import FILE --dry-run --results ...`).
    pub argv: Vec<String>,
    /// Where the page's jobs go.
    pub api: ApiConfig,
    /// Where the job's offending fields are kept for later pages.
    #[allow(
        dead_code,
        reason = "written from the engine's row events, which arrive with issue 24's engine"
    )]
    pub fields: PathBuf,
    /// Cells fixed on the page, read over the file's.
    pub edits: Vec<crate::input::CellEdit>,
    /// The creates the preview counted, for the time left at the invite pace.
    pub creates: Option<u64>,
    /// An import's results, the workbook to make of them at its end, and the input's name.
    pub workbook: Option<(PathBuf, PathBuf, String)>,
}

impl Hub {
    /// No jobs yet.
    pub(super) fn new() -> Arc<Hub> {
        let (notes, _) = broadcast::channel(1024);
        Arc::new(Hub {
            entries: Mutex::new(HashMap::new()),
            notes,
        })
    }

    /// The changes, for an event stream.
    pub(super) fn subscribe(&self) -> broadcast::Receiver<Note> {
        self.notes.subscribe()
    }

    /// The run's job, if one ran since the server started.
    pub(super) fn live(&self, run: &str) -> Option<Live> {
        self.lock().get(run).map(|entry| entry.live.clone())
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
                    live: Live {
                        creates: order.creates,
                        ..Live::new(order.kind)
                    },
                    rows: BTreeMap::new(),
                    version,
                    stop: None,
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

    /// Applies a change to the run's live state and tells the page.
    #[allow(
        dead_code,
        reason = "fed by the engine's events, which arrive with issue 24's engine"
    )]
    pub(super) fn update(&self, run: &str, change: impl FnOnce(&mut Live) -> Option<RowUpdate>) {
        let note = {
            let mut entries = self.lock();
            let Some(entry) = entries.get_mut(run) else {
                return;
            };
            let row = change(&mut entry.live);
            if let Some(update) = &row {
                entry.rows.insert(update.row, update.clone());
                // A page shows a file's first rows (the lowest row numbers): the rest are
                // the results file's to hold, not the server's memory.
                if entry.rows.len() > super::table::SHOWN_ROWS {
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
            live.stopped = outcome.stopped;
            live.phase = if live.stopped.is_some() {
                Phase::Stopped
            } else {
                Phase::Done
            };
            entry.stop = None;
            // The results file and its offending fields hold them now.
            entry.rows = BTreeMap::new();
            entry.version += 1;
            Note {
                run: run.to_string(),
                version: entry.version,
                row: None,
            }
        };
        let _ = self.notes.send(note);
    }
}

/// How a job ended.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Rows per status, as its summary counts them (`None`: as the events counted them).
    pub counts: Option<BTreeMap<String, u64>>,
    /// Why it stopped early, or the error that ended it.
    pub stopped: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(row: u64) -> RowUpdate {
        RowUpdate {
            row,
            status: "would_create".into(),
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
            argv: Vec::new(),
            api: ApiConfig::new(
                crate::config::Transport::default(),
                "http://127.0.0.1:1/api",
                "5a4db0c5a4db0c5a4db0c5a4db0c5a4d",
                crate::config::Credentials::Token(crate::secret::Secret::new("t")),
            )
            .unwrap(),
            fields: PathBuf::new(),
            edits: Vec::new(),
            creates: None,
            workbook: None,
        };
        let (end, ended) = tokio::sync::oneshot::channel::<()>();
        hub.start(order, |_, _| async move {
            let _ = ended.await;
            Outcome::default()
        })
        .unwrap();
        // Finished out of order, as concurrent creates finish: the lowest rows stay.
        let last = super::super::table::SHOWN_ROWS as u64 + 500;
        for n in (2..=last).rev() {
            hub.update("r", |live| {
                *live.counts.entry("would_create".into()).or_default() += 1;
                Some(row(n))
            });
        }
        assert_eq!(hub.live("r").unwrap().done(), last - 1, "every row is counted");
        let kept = hub.rows("r", 1..=last + 1);
        assert_eq!(kept.len(), super::super::table::SHOWN_ROWS);
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
