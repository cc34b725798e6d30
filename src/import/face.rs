//! The CLI's face on the engine: what `import` and `undo` add around `engine::start` for a
//! person at a terminal or a cron log. The signal watcher (which stops the run as
//! `Running::stop` does) and the question on the terminal are consumers of the run's events;
//! the engine itself neither listens for signals nor reads stdin.

use super::confirm;
use super::engine::{self, Event, Face, Stopper};
use crate::config::Job;
use crate::error::{Exit, RunError, shutdown_signal};
use crate::logging::Ui;

/// The `import` (or `undo`) command: the engine, watched from the terminal. Returns the exit
/// code the run's rows call for.
pub async fn run(job: Job, ui: Ui) -> Result<Exit, RunError> {
    let face = Face {
        ui,
        // A total for the bar and for a heartbeat's "n of total".
        count_rows: ui.progress || (!ui.quiet && !job.heartbeat.is_zero()),
        // Only a person at a terminal is asked (never cron, CI or a pipe).
        ask: confirm::interactive(),
    };
    let mut running = engine::start_with(job, face);
    let stopper = running.stopper();
    let mut signals = None;
    while let Some(event) = running.events.recv().await {
        match event {
            // Signals are the run's to act on from the moment it has set up (as before the
            // engine: a Ctrl-C during set-up ends the process at once).
            Event::SetUp { .. } => signals = Some(Signals::watch(stopper.clone())),
            Event::Planned {
                confirm: Some(confirm), ..
            } => confirm::on_terminal(confirm).await,
            _ => {}
        }
    }
    drop(signals);
    running.finish().await
}

/// The task that turns signals into the run's stop; it ends with this value.
struct Signals(tokio::task::JoinHandle<()>);

impl Signals {
    fn watch(stopper: Stopper) -> Signals {
        Signals(tokio::spawn(watch_signals(stopper)))
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
async fn watch_signals(stopper: Stopper) {
    shutdown_signal().await;
    stopper.stop_because("interrupted by a signal (SIGINT, SIGTERM or SIGHUP)");
    if stopper.dry_run() {
        return;
    }
    tracing::warn!(
        "stopping: no new requests; waiting up to {} s for those in flight (signal again to abandon them)",
        engine::GRACE.as_secs()
    );
    shutdown_signal().await;
    stopper.abandon();
}
