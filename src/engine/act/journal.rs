//! The acts journal (issue 22, principle 4: write ahead): every delete, disable and enable the
//! tool sends (the mirror's removals, undo's, and the re-enable of a disabled guest back in the
//! file) is appended to a CSV file before the request leaves, and again with its answer. A run
//! killed at any moment (SIGKILL included) leaves every act it may have done on disk; the same
//! command run again reads the organization afresh and finishes the job. The journal is an audit
//! trail: appended across runs, never rewritten. It owns only this record; what is acted on, and
//! when, is `remove`'s and `mirror`'s.
//!
//! A line that cannot be appended stops the run before its act is sent (and, after an answer,
//! before the next act): an act nobody can account for is what this file exists to prevent.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::engine::outcome::Outcome;
use crate::error::RunError;
use crate::files::output::neutralize;

/// The journal's columns, written once at the top of a new journal.
pub(crate) const COLUMNS: [&str; 6] = ["time", "act", "email", "guest_id", "phase", "message"];

/// The phase of a line written before its request is sent.
pub(crate) const SENDING: &str = "sending";

/// What is being done to a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    Delete,
    Disable,
    Enable,
}

impl Act {
    fn as_str(self) -> &'static str {
        match self {
            Act::Delete => "delete",
            Act::Disable => "disable",
            Act::Enable => "enable",
        }
    }
}

/// An append-only journal, shared by the requests in flight. A dry run's (or an offline run's)
/// journal records nothing: it sends no act.
#[derive(Clone, Default)]
pub(crate) struct Journal(Option<Arc<Open>>);

struct Open {
    path: PathBuf,
    file: Mutex<File>,
}

impl Journal {
    /// A journal that records nothing, for runs that send no act.
    pub(crate) fn none() -> Journal {
        Journal(None)
    }

    /// Opens (creating if need be) the journal at `path` for appending, before anything is sent:
    /// a journal that cannot be written stops the run before its first request.
    pub(crate) fn open(path: &Path) -> Result<Journal, RunError> {
        let what = || format!("cannot write the acts journal {}", path.display());
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| RunError::io(what(), e))?;
        let journal = Journal(Some(Arc::new(Open {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })));
        let empty = std::fs::metadata(path).map_err(|e| RunError::io(what(), e))?.len() == 0;
        if empty {
            journal
                .line(&COLUMNS.map(str::to_string))
                .map_err(|e| RunError::io(what(), e))?;
        }
        Ok(journal)
    }

    /// Where the journal is, if it records.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.0.as_deref().map(|open| open.path.as_path())
    }

    /// Records that `act` on the guest is about to be sent. An error means it must not be.
    pub(crate) fn sending(&self, act: Act, email: &str, guest_id: &str) -> Result<(), String> {
        self.record(act, email, guest_id, SENDING, "")
    }

    /// Records the act's answer. An error means no further act may start.
    pub(crate) fn answered(&self, act: Act, email: &str, guest_id: &str, outcome: &Outcome) -> Result<(), String> {
        self.record(act, email, guest_id, outcome.status.as_str(), &outcome.message)
    }

    fn record(&self, act: Act, email: &str, guest_id: &str, phase: &str, message: &str) -> Result<(), String> {
        let Some(open) = &self.0 else { return Ok(()) };
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let cells = [
            time,
            act.as_str().into(),
            email.into(),
            guest_id.into(),
            phase.into(),
            message.into(),
        ];
        self.line(&cells).map_err(|e| {
            format!(
                "the acts journal {} cannot be written ({}), so no more deletes, disables or enables are sent",
                open.path.display(),
                crate::words::io_words(&e)
            )
        })
    }

    /// One CSV line, in one `write` on a file opened for appending: it is in the kernel when
    /// this returns, so it survives the process being killed (SIGKILL included) without an
    /// fsync; only a crash of the machine itself could lose it. Cells are guarded against
    /// formulas, as every CSV this tool writes.
    fn line(&self, cells: &[String]) -> std::io::Result<()> {
        let Some(open) = &self.0 else { return Ok(()) };
        let mut text = csv::WriterBuilder::new().from_writer(Vec::with_capacity(128));
        text.write_record(cells.iter().map(|cell| neutralize(cell).into_owned()))
            .map_err(std::io::Error::other)?;
        let text = text.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut file = open.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(&text)
    }
}

/// The journal of a run whose results are at `results`: `<results, without .csv/.xlsx>.acts.csv`
/// beside it (`crm.results.csv` → `crm.results.acts.csv`, `crm.undo.csv` →
/// `crm.undo.acts.csv`); `fallback` (beside the input, or the working folder) when the results go
/// to stdout or to something that is not a regular file.
pub(crate) fn path_for(results: Option<&Path>, fallback: PathBuf) -> PathBuf {
    match results.filter(|path| crate::files::output::replaceable(path)) {
        Some(path) => path.with_extension("acts.csv"),
        None => fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::outcome::Status;

    #[test]
    fn lines_are_appended_across_runs_under_one_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.acts.csv");
        for run in 0..2 {
            let journal = Journal::open(&path).unwrap();
            journal.sending(Act::Delete, "=a@x.com", &run.to_string()).unwrap();
            let outcome = Outcome::new().with(Status::Deleted, "deleted, at last");
            journal
                .answered(Act::Delete, "=a@x.com", &run.to_string(), &outcome)
                .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(lines[0], "time,act,email,guest_id,phase,message");
        assert!(lines[1].ends_with(",delete,'=a@x.com,0,sending,"), "{text}");
        assert!(
            lines[4].ends_with(",delete,'=a@x.com,1,deleted,\"deleted, at last\""),
            "{text}"
        );
    }

    #[test]
    fn a_journal_that_cannot_be_written_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "").unwrap();
        // Its folder is a regular file: not even root can write there.
        assert!(Journal::open(&file.join("x.acts.csv")).is_err());
        assert!(Journal::none().sending(Act::Enable, "a@x.com", "1").is_ok());
        assert_eq!(
            path_for(Some(Path::new("d/crm.results.csv")), "f".into()),
            Path::new("d/crm.results.acts.csv")
        );
        assert_eq!(path_for(None, "f".into()), Path::new("f"));
    }
}
