//! The blocking waits outside the async run, each bounded in time and ended by a signal:
//! opening a FIFO given as an output that nobody reads, a write into a pipe nobody drains, a
//! `--token-file` FIFO nobody writes, a `--token-command` that never exits. Without a bound each
//! of these hung for ever, and a SIGTERM did not end it (issue 22): the async run's own signal
//! watch cannot run while its only thread is blocked in `open(2)` or `write(2)`.
//!
//! The bound is `--io-timeout` (default [`DEFAULT_LIMIT`]): a process-wide setting, set once by
//! `config` for the commands that write outputs, because outputs are opened deep inside many
//! writers (results, summary, missing report, export, workbook) and each must obey it.

use std::io;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a FIFO, pipe or token command may keep a run waiting unless `--io-timeout` says.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(30);

/// The bound in milliseconds; 0 until set (then [`DEFAULT_LIMIT`] holds).
static LIMIT_MS: AtomicU64 = AtomicU64::new(0);

/// How often a wait looks again (for a reader, a writer, an exit, a signal).
pub const POLL: Duration = Duration::from_millis(20);

/// Sets the bound for every wait of this process (`--io-timeout`).
pub fn set_limit(limit: Duration) {
    LIMIT_MS.store(
        limit.as_millis().clamp(1, u128::from(u64::MAX)) as u64,
        Ordering::Relaxed,
    );
}

/// The bound for every wait of this process.
pub fn limit() -> Duration {
    match LIMIT_MS.load(Ordering::Relaxed) {
        0 => DEFAULT_LIMIT,
        ms => Duration::from_millis(ms),
    }
}

/// Signals seen while some wait was waiting.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// Waits in progress: a signal outside them must not be swallowed.
static WAITING: AtomicUsize = AtomicUsize::new(0);
/// Set once the async run listens for signals itself (`error::shutdown_signal`).
static ASYNC_LISTENS: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// The async run has taken over SIGINT/SIGTERM/SIGHUP: a signal outside a wait is its business.
pub fn async_listens() {
    ASYNC_LISTENS.store(true, Ordering::SeqCst);
}

#[cfg(unix)]
const SIGNALS_WATCHED: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Catches SIGINT, SIGTERM and SIGHUP from now on, for [`Waiting::interrupted`]. A signal that
/// arrives outside any wait, before the async run listens for signals, does what it did before:
/// the default action (the process ends).
fn install() {
    #[cfg(unix)]
    INSTALL.call_once(|| {
        for signal in SIGNALS_WATCHED {
            // SAFETY: the action only touches atomics and, outside a wait, restores the default
            // action and raises the signal again: all async-signal-safe.
            let installed = unsafe {
                signal_hook_registry::register(signal, move || {
                    if WAITING.load(Ordering::SeqCst) > 0 {
                        SIGNALS.fetch_add(1, Ordering::SeqCst);
                    } else if !ASYNC_LISTENS.load(Ordering::SeqCst) {
                        libc::signal(signal, libc::SIG_DFL);
                        libc::raise(signal);
                    }
                })
            };
            if let Err(e) = installed {
                tracing::debug!("cannot watch signal {signal}: {e}");
            }
        }
    });
}

/// One wait in progress: its deadline, and whether a signal came since it began.
pub struct Waiting {
    deadline: Instant,
    signals: usize,
    limit: Duration,
}

impl Waiting {
    /// Starts a wait bounded by [`limit`].
    pub fn start() -> Self {
        Self::with_limit(limit())
    }

    /// Starts a wait bounded by `limit`.
    pub fn with_limit(limit: Duration) -> Self {
        install();
        // The count before the wait is announced, then the announcement: a signal after it is
        // counted and differs from this (read after, one in between was lost).
        let signals = SIGNALS.load(Ordering::SeqCst);
        WAITING.fetch_add(1, Ordering::SeqCst);
        // Said once a signal is counted, so a test (or a person with RUST_LOG=debug) can send
        // one exactly when it ends the wait, instead of guessing with a sleep.
        tracing::debug!("waiting up to {}; a signal now ends the wait", seconds(limit));
        Waiting {
            deadline: Instant::now() + limit,
            signals,
            limit,
        }
    }

    /// The bound this wait has.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Whether SIGINT, SIGTERM or SIGHUP came since the wait began.
    pub fn interrupted(&self) -> bool {
        SIGNALS.load(Ordering::SeqCst) != self.signals
    }

    /// Whether the bound has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Sleeps a little, then says why the wait must end, if it must: `timed_out` for the bound
    /// (said with the bound, e.g. "nothing read it within 30 s"), or a signal.
    pub fn tick(&self, timed_out: impl FnOnce(Duration) -> String) -> io::Result<()> {
        std::thread::sleep(POLL.min(self.deadline.saturating_duration_since(Instant::now())));
        self.check(timed_out)
    }

    /// Says why the wait must end now, if it must.
    pub fn check(&self, timed_out: impl FnOnce(Duration) -> String) -> io::Result<()> {
        // Not `ErrorKind::Interrupted`: `write_all` and `read_to_end` retry those.
        if self.interrupted() {
            return Err(io::Error::other(
                "interrupted by a signal (SIGINT, SIGTERM or SIGHUP) while waiting",
            ));
        }
        if self.expired() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, timed_out(self.limit)));
        }
        Ok(())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A bound in words: `30 s`, `1.5 s`.
pub fn seconds(limit: Duration) -> String {
    let secs = limit.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.1} s")
    }
}

/// Waits up to [`POLL`] for `file` to be readable (`read`) or writable: a pipe's other end.
/// True when it is (or its other end has closed).
#[cfg(unix)]
pub fn until_ready(file: &std::fs::File, read: bool) -> bool {
    use std::os::fd::AsRawFd;
    let mut poll = libc::pollfd {
        fd: file.as_raw_fd(),
        events: if read { libc::POLLIN } else { libc::POLLOUT },
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the length of the call.
    let ready = unsafe { libc::poll(&mut poll, 1, POLL.as_millis() as i32) };
    ready > 0 && poll.revents != 0
}

/// Waits up to [`POLL`] (no way to wait on the file itself here).
#[cfg(not(unix))]
pub fn until_ready(_file: &std::fs::File, _read: bool) -> bool {
    std::thread::sleep(POLL);
    true
}
