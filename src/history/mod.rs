//! The run history: one JSON record a line in `history.jsonl` in the state folder, one record
//! for every run of import, undo and export, from the command line or the page ([`Record`]).
//! What a record says is decided by `monitor`; how it reaches the disk, and how it is read and
//! pruned, is decided here.
//!
//! A crash never leaves a torn record that costs another: each record is one `write` of a whole
//! line, appended (`O_APPEND`) under a lock (`history.lock`, flock) that a prune also takes; an
//! append after a torn last line (a crash or a full disk mid-write) first ends that line, and
//! the reader skips any line that is not a whole record. A prune writes the records it keeps to
//! a new file and renames it over the ledger, so a crash mid-prune loses nothing.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// The ledger's file name in the state folder.
pub const FILE: &str = "history.jsonl";

/// Whether a job is well: what its alerts are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Exit 0, or 3 with progress (a backlog draining under the invite cap).
    Ok,
    /// Exit 1 or 2, or 3 with no progress.
    Failing,
}

impl State {
    /// The state a run's exit code and progress mean.
    pub fn of(exit_code: u8, progress: bool) -> State {
        match exit_code {
            0 => State::Ok,
            3 if progress => State::Ok,
            _ => State::Failing,
        }
    }

    /// In words.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Failing => "failing",
        }
    }
}

/// One run, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The job: its `--job` name, or its results file and organization.
    pub job: String,
    /// This run's id (the `rid` of its pings).
    pub run_id: String,
    /// `import`, `undo` or `export`.
    pub command: String,
    /// Where it was started from: `command line` or `page`.
    pub from: String,
    /// The organization, when the run reached one.
    pub org: Option<String>,
    /// The file read (`-` for stdin); none for an export.
    pub input: Option<String>,
    /// Where its results (an export's CSV) went; `stdout` for a pipe.
    pub results: Option<String>,
    /// A dry run: nothing was sent.
    pub dry_run: bool,
    /// When it started and ended (RFC 3339, UTC).
    pub started_at: String,
    /// When it ended.
    pub finished_at: String,
    /// How long it took.
    pub elapsed_seconds: f64,
    /// The exit code it ended with.
    pub exit_code: u8,
    /// Rows (an export's guests) in all.
    pub rows: u64,
    /// Rows by status (the statuses with any).
    pub counts: BTreeMap<String, u64>,
    /// Why it stopped early, if it did.
    pub stopped: Option<String>,
    /// The command to run next, when rows need a person.
    pub next_command: Option<String>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// What the exit code and progress mean for the job.
    pub state: State,
    /// The job's state as `--notify` was last told it (carried from run to run; a post that
    /// failed leaves the earlier one, so the next run tries again).
    pub notified: Option<State>,
}

impl Record {
    /// When the run ended, as a time.
    pub fn finished(&self) -> Option<SystemTime> {
        humantime::parse_rfc3339_weak(&self.finished_at).ok()
    }

    /// When the run started, as a time.
    pub fn started(&self) -> Option<SystemTime> {
        humantime::parse_rfc3339_weak(&self.started_at).ok()
    }
}

/// The history in a state folder.
#[derive(Debug, Clone)]
pub struct Ledger {
    dir: PathBuf,
}

impl Ledger {
    /// The history kept in `dir` (made when the first record is added).
    pub fn in_dir(dir: &Path) -> Ledger {
        Ledger { dir: dir.to_path_buf() }
    }

    /// The ledger's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Adds one record: one write of a whole line, under the lock.
    pub fn append(&self, record: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let _lock = self.lock()?;
        let mut file = private(OpenOptions::new().read(true).append(true).create(true)).open(self.path())?;
        // A torn last line (a crash mid-write) is ended first, in the same write, so that it
        // is skipped alone rather than taking this record with it.
        let len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                line.insert(0, b'\n');
            }
        }
        file.write_all(&line)?;
        file.sync_data()
    }

    /// Every whole record, oldest first; a line that is not one (torn, or not ours) is skipped.
    /// No ledger yet is an empty history.
    pub fn read(&self) -> std::io::Result<Vec<Record>> {
        let text = match std::fs::read(self.path()) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(text
            .split(|b| *b == b'\n')
            .filter_map(|line| serde_json::from_slice(line).ok())
            .collect())
    }

    /// The records of one job, oldest first.
    pub fn of_job(&self, job: &str) -> std::io::Result<Vec<Record>> {
        Ok(self.read()?.into_iter().filter(|record| record.job == job).collect())
    }

    /// Removes the runs that ended longer than `older_than` before `now`, and all but the
    /// newest `keep` of each job; returns how many were removed. The kept records replace the
    /// ledger at once (a new file renamed over it), under the lock.
    pub fn prune(&self, now: SystemTime, older_than: Option<Duration>, keep: Option<u64>) -> std::io::Result<usize> {
        let _lock = self.lock()?;
        let records = self.read()?;
        let before = records.len();
        let kept = retained(records, now, older_than, keep);
        let removed = before - kept.len();
        if removed == 0 {
            return Ok(0);
        }
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        for record in &kept {
            serde_json::to_writer(&mut file, record)?;
            file.write_all(b"\n")?;
        }
        file.as_file().sync_data()?;
        file.persist(self.path()).map_err(|e| e.error)?;
        Ok(removed)
    }

    /// The ledger's lock, held until dropped (the OS releases it if the process dies).
    fn lock(&self) -> std::io::Result<File> {
        std::fs::create_dir_all(&self.dir)?;
        let file =
            private(OpenOptions::new().write(true).create(true).truncate(false)).open(self.dir.join("history.lock"))?;
        // Blocking and exclusive, as the run locks are taken (std's, flock on Unix).
        file.lock()?;
        Ok(file)
    }
}

/// Files of the state folder are the user's own: runs name files and organizations.
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options
}

/// The records a prune keeps, in their order.
fn retained(records: Vec<Record>, now: SystemTime, older_than: Option<Duration>, keep: Option<u64>) -> Vec<Record> {
    let cutoff = older_than.and_then(|age| now.checked_sub(age));
    let young = |record: &Record| match (cutoff, record.finished()) {
        (Some(cutoff), Some(finished)) => finished >= cutoff,
        _ => true,
    };
    // Newest first, so each job's first `keep` are its newest.
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut kept: Vec<Record> = records
        .into_iter()
        .rev()
        .filter(young)
        .filter(|record| {
            let count = seen.entry(record.job.clone()).or_default();
            *count += 1;
            keep.is_none_or(|keep| *count <= keep)
        })
        .collect();
    kept.reverse();
    kept
}

/// Since when the job has been in `state`: the start of the oldest run of the unbroken streak
/// of that state that ends the job's `records` (oldest first), or `now` if none does.
pub fn since(records: &[Record], state: State) -> Option<String> {
    records
        .iter()
        .rev()
        .take_while(|record| record.state == state)
        .last()
        .map(|record| record.started_at.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(job: &str, finished_at: &str, state: State) -> Record {
        Record {
            job: job.into(),
            run_id: "id".into(),
            command: "import".into(),
            from: "command line".into(),
            org: None,
            input: None,
            results: None,
            dry_run: false,
            started_at: finished_at.into(),
            finished_at: finished_at.into(),
            elapsed_seconds: 1.0,
            exit_code: 0,
            rows: 0,
            counts: BTreeMap::new(),
            stopped: None,
            next_command: None,
            error: None,
            state,
            notified: None,
        }
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_the_next_record_is_whole() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::in_dir(dir.path());
        ledger.append(&record("a", "2026-12-01T00:00:00Z", State::Ok)).unwrap();
        // A crash mid-write: half a line, no newline.
        let mut file = OpenOptions::new().append(true).open(ledger.path()).unwrap();
        file.write_all(br#"{"job":"a","run_id":"x","comm"#).unwrap();
        ledger
            .append(&record("a", "2026-12-02T00:00:00Z", State::Failing))
            .unwrap();
        let records = ledger.read().unwrap();
        assert_eq!(records.len(), 2, "{records:?}");
        assert_eq!(records[1].state, State::Failing);
    }

    #[test]
    fn prune_by_age_and_by_count_per_job() {
        let records = vec![
            record("a", "2026-01-01T00:00:00Z", State::Ok),
            record("a", "2026-12-01T00:00:00Z", State::Ok),
            record("b", "2026-12-02T00:00:00Z", State::Ok),
            record("a", "2026-12-03T00:00:00Z", State::Ok),
        ];
        let now = humantime::parse_rfc3339("2026-12-07T00:00:00Z").unwrap();
        let by_age = retained(records.clone(), now, Some(Duration::from_secs(90 * 86400)), None);
        assert_eq!(by_age.len(), 3);
        let by_count = retained(records, now, None, Some(1));
        let kept: Vec<_> = by_count.iter().map(|r| (&*r.job, &*r.finished_at)).collect();
        assert_eq!(kept, [("b", "2026-12-02T00:00:00Z"), ("a", "2026-12-03T00:00:00Z")]);
    }

    #[test]
    fn since_is_the_start_of_the_last_streak() {
        let records = [
            record("a", "2026-12-01T00:00:00Z", State::Failing),
            record("a", "2026-12-02T00:00:00Z", State::Ok),
            record("a", "2026-12-03T00:00:00Z", State::Failing),
            record("a", "2026-12-04T00:00:00Z", State::Failing),
        ];
        assert_eq!(since(&records, State::Failing).as_deref(), Some("2026-12-03T00:00:00Z"));
        assert_eq!(since(&records, State::Ok), None);
    }

    #[test]
    fn exit_three_is_ok_only_with_progress() {
        assert_eq!(State::of(0, false), State::Ok);
        assert_eq!(State::of(3, true), State::Ok);
        assert_eq!(State::of(3, false), State::Failing);
        assert_eq!(State::of(1, true), State::Failing);
        assert_eq!(State::of(2, false), State::Failing);
    }
}
