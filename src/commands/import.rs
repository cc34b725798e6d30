//! The CLI's face on the engine: what `import` and `undo` add around `engine::start` for a
//! person at a terminal or a cron log, each a consumer of the run's events: the signal watcher
//! (which stops the run as `Running::stop` does), the question on the terminal, the progress
//! bar and the heartbeat (`progress`, below it), the summary on stderr, and `--summary-json`.
//! The engine itself neither listens for signals, nor reads stdin, nor draws on stderr.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::config::Job;
use crate::engine::confirm;
use crate::engine::event::{Confirm, Event, Listing, Wait};
use crate::engine::job::Face;
use crate::engine::outcome::Status;
use crate::engine::report::summary::{Summary, SummaryFile};
use crate::engine::setup;
use crate::engine::{self, Running, Stopper};
use crate::error::{Exit, RunError, ShutdownSignals};
use crate::logging::Ui;
use crate::monitor::{End, Watch};
use progress::{PendingCreates, Progress};

mod progress;

/// The `import` (or `undo`) command: the engine, watched from the terminal. Returns the exit
/// code the run's rows call for.
pub async fn run(job: Job, ui: Ui) -> Result<Exit, RunError> {
    let mut account = SummaryFile::new(&job, SystemTime::now());
    // The input's hash, read as set-up reads the input.
    account.hash_input(&job.file);
    let summary_json = job.output.summary_json.clone();
    // A summary path that set-up refuses (it names the input, or another output) is not
    // written even to say so: checked now, while the job is at hand.
    let refused = summary_json.is_some() && setup::summary_refused(&job);
    let face = Face {
        // A total for the bar and for a heartbeat's "n of total".
        count_rows: ui.progress || (!ui.quiet && !job.heartbeat.is_zero()),
        // Only a person at a terminal is asked (never cron, CI or a pipe).
        ask: confirm::interactive(),
        page: false,
    };
    let bar = Bar::new(ui, &job);
    let monitor = Watch::of_job(&job, crate::monitor::From::CommandLine);
    monitor.started().await;
    let mut running = engine::start_with(job, face);
    let summary = watch(&mut running, bar, &mut account, ui).await;
    let result = running.finish().await;
    // However the command ends (set-up problems and a refused lock included), monitoring
    // reads this run's exit code, never an earlier run's.
    let result = match summary_json {
        Some(path) => write_summary(account, &path, refused, result),
        None => result,
    };
    monitor.finished(End::of_run(summary.as_ref(), &result)).await;
    result
}

/// The run's events, taken until the engine closes them: the signal watcher started once it
/// has set up, the question asked on the terminal, the bar or heartbeat fed, and the summary
/// shown on stderr and kept for `--summary-json`; the summary, for the run's watchers.
async fn watch(running: &mut Running, mut bar: Bar, account: &mut SummaryFile, ui: Ui) -> Option<Summary> {
    let mut finished = None;
    let stopper = running.stopper();
    let mut signals = None;
    // The bar's message and the heartbeat, a few times a second while rows go out.
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut ready = std::collections::VecDeque::new();
    loop {
        let event = match ready.pop_front() {
            Some(event) => event,
            None => tokio::select! {
                event = running.events.recv() => match event {
                    Some(event) => {
                        // Everything already sent, at once: a receiver that takes one event a
                        // poll (tokio's budget) falls behind a run that sends thousands of rows
                        // a poll, and the events would pile up for the whole file.
                        while let Ok(next) = running.events.try_recv() {
                            ready.push_back(next);
                        }
                        event
                    }
                    None => break,
                },
                _ = tick.tick(), if bar.sending => {
                    bar.refresh();
                    continue;
                }
            },
        };
        match event {
            // Signals are the run's to act on from the moment it has set up (as before the
            // engine: a Ctrl-C during set-up ends the process at once).
            Event::SetUp {
                rows,
                input_sha256,
                pace,
                ..
            } => {
                signals = Some(Signals::watch(stopper.clone()));
                account.set_up(input_sha256);
                bar.pace = pace;
                bar.show(rows);
            }
            // The question stands on its own: the bar is erased before it is written, nothing
            // draws while the answer is awaited, and the bar comes back after.
            Event::Planned {
                confirm: Some(confirm),
                creates,
                ..
            } => {
                let shown = bar.hide();
                bar.pending.confirmed(creates);
                on_terminal(confirm).await;
                if let Some(total) = shown {
                    bar.show(total);
                }
            }
            Event::Sending => {
                bar.sending = true;
                bar.refresh();
                tick.reset();
            }
            Event::Reading {
                list,
                pages,
                read,
                of_pages,
            } => bar.reading(list, pages, read, of_pages),
            Event::Creating { row } => bar.creating(row),
            Event::Row { row, status, .. } => bar.row(row, status),
            Event::Waiting { until, why } => bar.waiting(until, why),
            // The bar is erased when the rows are done, before the mirror and the summary.
            Event::Sent => bar.close(),
            Event::Finished { summary, .. } => {
                bar.close();
                summary.show(ui);
                finished = Some(summary.clone());
                account.summary(summary);
            }
            Event::Planned { confirm: None, .. } | Event::Stopping { .. } => {}
        }
    }
    drop(signals);
    drop(bar);
    finished
}

/// `--summary-json` at `path`, with the run's `result`: not written when set-up refused the
/// path itself (`refused`); a write that fails turns a success into that error, and is only a
/// warning after a failed run.
fn write_summary(
    mut account: SummaryFile,
    path: &Path,
    refused: bool,
    result: Result<Exit, RunError>,
) -> Result<Exit, RunError> {
    if refused && matches!(result, Err(RunError::Setup(_))) {
        account.do_not_write();
    }
    match (account.write(path, &result), &result) {
        (Err(error), Ok(_)) => return Err(error),
        // The run's own failure is what the person needs to see; this one is a footnote.
        (Err(error), Err(_)) => tracing::warn!("{error}"),
        (Ok(()), _) => {}
    }
    result
}

/// The CLI's answer to a job's question: asked on the terminal (stderr), answered on stdin; a
/// `y` or `yes` goes ahead, anything else is a no. A run stopped while it waits (Ctrl-C at
/// the question) no longer waits for the answer, and the question is left unanswered.
async fn on_terminal(mut confirm: Confirm) {
    let text = confirm.text();
    let leave_running = confirm.leave_running();
    let read = tokio::task::spawn_blocking(move || {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(text.as_bytes());
        let _ = stderr.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    });
    let read = tokio::select! {
        read = read => read,
        () = confirm.abandoned() => return,
    };
    let answer = read
        .map_err(|e| RunError::io("cannot read the answer", std::io::Error::other(e)))
        .and_then(|line| line.map_err(|e| RunError::io("cannot read the answer", e)))
        .and_then(|answer| match answer.trim().to_lowercase().as_str() {
            "y" | "yes" => Ok(()),
            _ => Err(RunError::Declined),
        });
    // A plan of hours: how to leave it to cron instead, said once it is going ahead.
    if let (Ok(()), Some(leave_running)) = (&answer, leave_running) {
        tracing::info!("{leave_running}");
    }
    confirm.reply(answer);
}

/// The progress bar (on a terminal) or the heartbeat (off one), fed by the run's events.
struct Bar {
    ui: Ui,
    heartbeat: Duration,
    /// The creates' schedule as the run keeps it, for the ETA (from `SetUp`).
    pace: Option<crate::invite_pace::Watch>,
    progress: Option<Progress>,
    /// Creates planned and not finished, and finished: the ETA under invite pacing.
    pending: PendingCreates,
    creating: HashSet<u64>,
    /// The rate limit's pause and the invite quota's wait, as last told.
    waits: [Option<SystemTime>; 2],
    /// Rows are going out (between `Sending` and `Sent`).
    sending: bool,
    /// The rows `show` was given.
    total: Option<u64>,
}

impl Bar {
    fn new(ui: Ui, job: &Job) -> Bar {
        Bar {
            ui,
            heartbeat: job.heartbeat,
            pace: None,
            progress: None,
            pending: PendingCreates::default(),
            creating: HashSet::new(),
            waits: [None, None],
            sending: false,
            total: None,
        }
    }

    /// Erases the bar (a question is to be asked on its line); what `show` was given, to show
    /// it again after, or `None` when no bar was shown.
    fn hide(&mut self) -> Option<Option<u64>> {
        self.progress.take().map(|_| self.total)
    }

    /// The run has set up, with `total` rows when known: the bar shows from now.
    fn show(&mut self, total: Option<u64>) {
        self.total = total;
        let ui = self.ui;
        let mut progress = Progress::new(ui.progress, total, self.pending.clone(), self.pace.clone());
        if !ui.progress && !ui.quiet && !self.heartbeat.is_zero() {
            progress = progress.with_heartbeat(self.heartbeat, total, ui.json);
        }
        // A bar is drawn from the first time its span is entered until it closes.
        progress.span().in_scope(|| {});
        self.progress = Some(progress);
    }

    /// A page of the organization's guests or members was read.
    fn reading(&mut self, list: Listing, pages: u64, read: u64, of_pages: u64) {
        if let Some(progress) = &mut self.progress {
            progress.reading(list.entries(), pages, read, of_pages);
        }
    }

    fn creating(&mut self, row: u64) {
        self.pending.planned();
        self.creating.insert(row);
    }

    fn row(&mut self, row: u64, status: Status) {
        if self.creating.remove(&row) {
            self.pending.finished();
        }
        if let Some(progress) = &mut self.progress {
            progress.row_done(status);
        }
    }

    fn waiting(&mut self, until: SystemTime, why: Wait) {
        let at = match why {
            Wait::RateLimit => 0,
            Wait::InviteQuota => 1,
        };
        self.waits[at] = Some(until);
    }

    fn refresh(&mut self) {
        let now = SystemTime::now();
        let [paused, next_create] = self.waits.map(|wait| wait.filter(|until| *until > now));
        if let Some(progress) = &mut self.progress {
            progress.refresh(paused, next_create);
        }
    }

    /// The rows are done: the bar is erased and the heartbeat stops.
    fn close(&mut self) {
        self.sending = false;
        self.progress = None;
    }
}

/// The task that turns signals into the run's stop; it ends with this value.
struct Signals(tokio::task::JoinHandle<()>);

impl Signals {
    /// Listens from now, not from the task's first poll: a run whose rows all finish before
    /// the task runs still has its signals (issue 24's event loop takes its events in batches).
    fn watch(stopper: Stopper) -> Signals {
        Signals(tokio::spawn(watch_signals(ShutdownSignals::listen(), stopper)))
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// First SIGINT/SIGTERM/SIGHUP: the run's stop (no new request; a dry run, which sends none,
/// stops reading the file at once). After the grace period, or a second signal: abandon the
/// requests in flight too, and stop reading.
async fn watch_signals(mut signals: ShutdownSignals, stopper: Stopper) {
    signals.recv().await;
    stopper.stop_because("interrupted by a signal (SIGINT, SIGTERM or SIGHUP)");
    if stopper.dry_run() {
        return;
    }
    tracing::warn!(
        "stopping: no new requests; waiting up to {} s for those in flight (signal again to abandon them)",
        engine::GRACE.as_secs()
    );
    signals.recv().await;
    stopper.abandon();
}
