//! How a command fails, and the exit code each failure maps to. Errors are typed where they
//! start (`ConfigError`, `ApiError`); this is where they meet, for `main` to render.

use std::io;

use crate::api::settings::SettingError;
use crate::api::{ApiError, ApiErrorKind};
use crate::config::ConfigError;

/// How a run ended, as its exit code: the contract scripts and monitoring rely on, documented
/// in `--help` (`help::EXIT_CODES`) and the README. Decided here and in `Summary::exit`, nowhere
/// else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: everything done.
    Success = 0,
    /// 1: the run finished, and some rows (or the export) need a person.
    Problems = 1,
    /// 2: usage or set-up error; nothing was created.
    Usage = 2,
    /// 3: stopped early (or another run holds the results file or the organization); run it
    /// again later.
    Stopped = 3,
}

impl Exit {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An exit serializes as its code.
impl serde::Serialize for Exit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// A setting the API client refused is a configuration problem like any other (exit 2).
impl From<SettingError> for RunError {
    fn from(error: SettingError) -> Self {
        RunError::Config(error.into())
    }
}

#[derive(Debug, thiserror::Error)]
/// Why a command ended without finishing its work; `exit` says which code that means.
pub enum RunError {
    #[error(transparent)]
    /// A flag or setting that cannot be used.
    Config(#[from] ConfigError),
    #[error(transparent)]
    /// The API failed in a way that ends the command.
    Api(#[from] ApiError),
    #[error(transparent)]
    /// An input file that cannot be imported at all.
    Input(#[from] crate::input::InputError),
    /// The sandbox's port is taken.
    #[error("port {0} is in use: pass --port 0 to pick a free one")]
    PortInUse(u16),
    /// The results file cannot be created.
    #[error("cannot create the results file {}: {} (choose another with --results)", path.display(), io_words(.cause))]
    /// The results file at `path` cannot be created.
    ResultsFile {
        /// The results path.
        path: std::path::PathBuf,
        /// The OS's reason.
        cause: io::Error,
    },
    /// `--max-errors N%` on a stream, whose rows cannot be counted.
    #[error(
        "--max-errors N% needs a file whose rows can be counted, and {0} is a stream (stdin or a pipe) read only once; give a number of rows instead"
    )]
    PercentOfStream(String),
    /// Everything wrong with the set-up (input, outputs, configuration), found together before
    /// anything is sent; `main` prints one line each.
    #[error("{}", .0.join("; "))]
    Setup(Vec<String>),
    /// Another run holds the lock on this results file.
    #[error("another run is in progress on {results} ({holder}); try again later")]
    /// Another run (`holder`) holds the lock on the results file.
    Busy {
        /// The results file.
        results: String,
        /// The run holding it (pid, start time).
        holder: String,
    },
    /// Another run is writing to this organization from this machine (an import, a mirror, an
    /// undo; not a dry run).
    #[error(
        "another run is acting on organization {org} ({holder}); runs that write to one organization go one at a time: wait for that run to finish, then run this again"
    )]
    OrgBusy {
        /// The organization id.
        org: String,
        /// The run holding it (pid, start time, its results file, the API it reached).
        holder: String,
    },
    /// A lock that cannot be taken safely: the lock folder or a lock file is not what it must
    /// be (another user's, a symlink, open to others), or cannot be made. A set-up problem a
    /// person fixes (exit 2), said in one line with the fix.
    #[error("{0}")]
    Lock(String),
    /// An I/O failure on our own files, in plain words (the OS error is kept for its kind).
    #[error("{what}: {}", io_words(.cause))]
    /// Our own file could not be written: what we were doing, and the OS's reason.
    Io {
        /// What we were doing.
        what: String,
        /// The OS's reason.
        cause: io::Error,
    },
    /// The person at the terminal did not confirm the import.
    #[error("nothing was sent: the import was not confirmed (pass --yes to skip the question)")]
    Declined,
    /// A signal stopped the command before it had anything to account for.
    #[error("interrupted")]
    Interrupted,
    /// stdout was closed by its reader (`| head`): stop quietly, as Unix tools do.
    #[error("output closed")]
    OutputClosed,
}

pub use crate::words::{chain, io_words};

impl RunError {
    /// The error as lines for a person: one per set-up problem, or the error and its causes.
    /// The one renderer, for stderr and the summary JSON alike.
    pub fn lines(&self) -> Vec<String> {
        match self {
            RunError::Setup(problems) => problems.clone(),
            other => vec![chain(other)],
        }
    }

    /// [`RunError::lines`] on one line.
    pub fn render(&self) -> String {
        self.lines().join("; ")
    }

    /// The exit code this error means.
    pub fn exit(&self) -> Exit {
        match self {
            RunError::Config(_)
            | RunError::PortInUse(_)
            | RunError::ResultsFile { .. }
            | RunError::PercentOfStream(_)
            | RunError::Setup(_)
            | RunError::Lock(_)
            | RunError::Input(_) => Exit::Usage,
            // Credentials or a base URL the API turns down, or a host that cannot be reached,
            // are configuration, fixed by a person.
            RunError::Api(ApiError {
                kind:
                    ApiErrorKind::Unauthorized(_)
                    | ApiErrorKind::TokenEndpoint { .. }
                    | ApiErrorKind::Forbidden(_)
                    | ApiErrorKind::EndpointNotFound
                    | ApiErrorKind::Unreachable { .. }
                    // A bound the person set (--max-guests): fixed by them, as configuration is.
                    | ApiErrorKind::TooManyGuests { .. },
                ..
            }) => Exit::Usage,
            RunError::Busy { .. } | RunError::OrgBusy { .. } | RunError::Declined => Exit::Stopped,
            RunError::Api(ApiError {
                kind: ApiErrorKind::RateLimited(_),
                ..
            })
            | RunError::Interrupted => Exit::Stopped,
            RunError::Api(_) | RunError::Io { .. } => Exit::Problems,
            RunError::OutputClosed => Exit::Success,
        }
    }

    /// An I/O error on our own output, with what we were doing.
    pub fn io(what: impl Into<String>, source: io::Error) -> RunError {
        if source.kind() == io::ErrorKind::BrokenPipe {
            return RunError::OutputClosed;
        }
        RunError::Io {
            what: what.into(),
            cause: source,
        }
    }

    /// A CSV writer error: its I/O cause, or (never expected for our own records) the message.
    pub fn csv(what: impl Into<String>, error: csv::Error) -> RunError {
        let text = error.to_string();
        match error.into_kind() {
            csv::ErrorKind::Io(source) => RunError::io(what, source),
            _ => RunError::Io {
                what: what.into(),
                cause: io::Error::other(text),
            },
        }
    }
}

/// Resolves on the first SIGINT (Ctrl-C), SIGTERM (`kill`, systemd, cron timeouts) or SIGHUP
/// (the terminal went away).
pub async fn shutdown_signal() {
    ShutdownSignals::listen().recv().await;
}

/// SIGINT, SIGTERM and SIGHUP, listened for from the moment this is made (not from its first
/// poll): a signal that comes before the task waiting on it runs is kept for it, never lost nor
/// left to the default action (which would end the process before its results are put in order).
pub struct ShutdownSignals {
    #[cfg(unix)]
    streams: Option<[tokio::signal::unix::Signal; 3]>,
}

impl ShutdownSignals {
    /// Starts listening now. Must be called within a tokio runtime.
    pub fn listen() -> Self {
        // From now on a signal outside a blocking wait is this listener's to act on.
        crate::files::wait::async_listens();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            // SIGHUP too: a closed terminal or ssh session must stop the run as cleanly as Ctrl-C.
            let streams = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) {
                (Ok(interrupt), Ok(term), Ok(hangup)) => Some([interrupt, term, hangup]),
                _ => None,
            };
            ShutdownSignals { streams }
        }
        #[cfg(not(unix))]
        ShutdownSignals {}
    }

    /// The next signal.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some([interrupt, term, hangup]) = &mut self.streams {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
                _ = hangup.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
