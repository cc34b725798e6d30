//! What became of a row: its `Status` (the words the results file uses), the `Outcome` a stage
//! decided (status, guest id, HTTP status, requests, message), and an earlier run's account of
//! a row read back for `--retry-from` (`PreviousResult`).

use crate::input::Field;

/// An earlier run's account of a row (`--retry-from`), read from its result columns once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PreviousResult {
    /// The row's number in the original spreadsheet.
    pub row: Option<u64>,
    /// Its status, or the text that is not one.
    pub status: Result<Status, String>,
    /// The guest's id, for `created`, `updated` and `exists`.
    pub guest_id: String,
    /// The last HTTP status of the row's requests.
    pub http_status: Option<u16>,
    /// Requests sent for the row.
    pub attempts: u32,
    /// What happened, in words.
    pub message: String,
    /// Where and when the row's run made it (empty cells in a file of an older version).
    pub provenance: Provenance,
    /// The guest's creation time on the server's database clock, as the create's answer gave it
    /// (`result_created_at`; empty in a file of an older version or when the answer had none).
    pub created_at: String,
    /// `result_link`: the guest's new link, for an `enabled` row (empty in older files).
    pub link: String,
}

/// Where and when a row's result was made: the `result_org`, `result_api`,
/// `result_run_started` and `result_at` columns (times on the server's clock, RFC 3339 UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The organization id the run used (empty offline).
    pub org: String,
    /// The API host\[:port\] it talked to.
    pub api: String,
    /// The run's start, from the `Date` header of its first answer.
    pub run_started: String,
    /// The server's time at the row's last answer (empty when the row sent no request).
    pub at: String,
}

impl PreviousResult {
    /// The result cells in `RESULT_COLUMNS` order; `None` for a row that has none.
    pub(super) fn parse(cells: Vec<String>) -> Option<PreviousResult> {
        let mut cells = cells.into_iter();
        let mut next = || cells.next().unwrap_or_default();
        let row = next();
        let status = next();
        if row.is_empty() && status.is_empty() {
            return None;
        }
        // In `RESULT_COLUMNS` order.
        let message = next();
        Some(PreviousResult {
            row: row.trim().parse().ok(),
            status: status.trim().parse().map_err(|_| status.clone()),
            message,
            guest_id: next(),
            http_status: next().trim().parse().ok(),
            attempts: next().trim().parse().unwrap_or(0),
            provenance: Provenance {
                org: next().trim().to_string(),
                api: next().trim().to_string(),
                run_started: next().trim().to_string(),
                at: next().trim().to_string(),
            },
            created_at: next().trim().to_string(),
            link: next().trim().to_string(),
        })
    }

    /// `--retry-from` re-runs, from the file's current cells, every row that did not succeed
    /// (`invalid`, `conflict`, `failed`, `deferred`, `duplicate`, a dry run's `would_*`, and a
    /// row with a number but no status), so that a person fixes cells and runs the same
    /// command. Rows that succeeded (`created`, `updated`, `enabled`, `exists`) and an undo's
    /// accounts are carried over as they are, never re-sent; so is a status this tool does not
    /// write (it cannot tell what was done).
    pub(super) fn retried(&self) -> bool {
        match &self.status {
            Ok(status) => !status.carried(),
            Err(text) => text.trim().is_empty(),
        }
    }
}

/// What became of a row. Its text (`created`, `would_create`, ...) is what the results file,
/// the summary and `--retry-from` read and write.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::EnumIter,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    /// A guest was created for the row.
    Created,
    /// An existing guest's members were updated.
    Updated,
    /// A disabled guest who is back in the file was re-enabled (`--on-missing disable`).
    Enabled,
    /// The guest already existed.
    Exists,
    /// An earlier row has the same email.
    Duplicate,
    /// A dry run would create the guest.
    WouldCreate,
    /// A dry run would update the guest's members.
    WouldUpdate,
    /// A dry run would re-enable the guest.
    WouldEnable,
    /// `undo`, `--on-missing delete`: the guest was deleted.
    Deleted,
    /// `undo --disable`, `--on-missing disable`: the guest was disabled.
    Disabled,
    /// The guest to remove was no longer there.
    AlreadyGone,
    /// `undo`: the results file does not say this run created the row's guest; left alone.
    NotCreatedHere,
    /// `undo`: the guest with this email is no longer the one created (another id); left alone.
    ChangedSince,
    /// `undo`: someone has used the guest since the import (signed in, or has tasks assigned);
    /// kept unless `--include-used`.
    UsedSince,
    /// `undo`: the results file says the run created the guest, but the guest read back cannot
    /// be proven to be that one (its creation time differs from the one recorded, or is not
    /// given); left alone, and a person should look.
    Unproven,
    /// `--on-missing delete`: the guest has work (tasks assigned) or has signed in, and
    /// deleting would detach them from it; kept unless `--include-used`.
    InUse,
    /// A dry run would delete the guest.
    WouldDelete,
    /// A dry run would disable the guest.
    WouldDisable,
    /// The row cannot be imported as it is.
    Invalid,
    /// The server refused the row (422).
    Conflict,
    /// The row's requests failed.
    Failed,
    /// The run stopped before the row was done; run it again.
    Deferred,
}

/// A status serializes as the results file writes it (`created`, `would_create`, ...).
impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A status's colour family: done (green), nothing to do (grey), a person needed (red), later
/// (yellow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// The row did what it was for (or a dry run says it would).
    Done,
    /// Nothing was needed: the guest was there, or gone, or not ours to touch.
    NothingToDo,
    /// A person must fix the row or run it again ([`Status::needs_a_person`]).
    NeedsAPerson,
    /// The row was not reached: run the same command again.
    Later,
}

/// What a row's message tells the person to do next, in each face's words: at a terminal the
/// same command run again; on the page its Continue button. The results file holds the
/// terminal's words (the CLI's and the page's results are one file, byte for byte); the page
/// says its own through [`NextStep::on_the_page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter)]
pub enum NextStep {
    /// A row the run did not get to.
    Continue,
    /// A request abandoned in flight: whether it was done is settled by the next run.
    Settle,
    /// A create whose every attempt went unanswered.
    Retry,
}

impl NextStep {
    /// The words at a terminal, as a row's message ends with them.
    pub fn at_a_terminal(self) -> &'static str {
        match self {
            NextStep::Continue => "run the same command again to continue",
            NextStep::Settle => "run the same command again to settle it",
            NextStep::Retry => "run the same command again to retry it",
        }
    }

    /// The same step on the page, where Continue does what the command run again would.
    fn on_a_page(self) -> &'static str {
        match self {
            NextStep::Continue => "Continue sends it",
            NextStep::Settle => "Continue settles it",
            NextStep::Retry => "Continue retries it",
        }
    }

    /// A row's message as the page says it: a terminal's next step in the page's words.
    pub fn on_the_page(message: &str) -> String {
        <NextStep as strum::IntoEnumIterator>::iter().fold(message.to_string(), |text, step| {
            text.replace(step.at_a_terminal(), step.on_a_page())
        })
    }
}

impl Status {
    /// Every status, in the order summaries list them.
    pub fn all() -> impl Iterator<Item = Status> {
        <Status as strum::IntoEnumIterator>::iter()
    }

    /// The status as the results file writes it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A row a person must look at before it can succeed: fix it (`invalid`, `conflict`) or
    /// re-run it (`failed`). The summary lists them, the workbook marks them, the prompt counts
    /// them, and any one makes the exit code 1.
    pub fn needs_a_person(self) -> bool {
        self.tone() == Tone::NeedsAPerson
    }

    /// The colour family of a status, as the xlsx results and the page colour it: every status
    /// is named, so a new one must be given its family.
    pub fn tone(self) -> Tone {
        match self {
            Status::Created
            | Status::Updated
            | Status::Enabled
            | Status::Deleted
            | Status::Disabled
            | Status::WouldCreate
            | Status::WouldUpdate
            | Status::WouldEnable
            | Status::WouldDelete
            | Status::WouldDisable => Tone::Done,
            Status::Exists
            | Status::Duplicate
            | Status::AlreadyGone
            | Status::NotCreatedHere
            | Status::ChangedSince
            | Status::UsedSince
            | Status::InUse => Tone::NothingToDo,
            Status::Invalid | Status::Conflict | Status::Failed | Status::Unproven => Tone::NeedsAPerson,
            Status::Deferred => Tone::Later,
        }
    }

    /// A row's account that `--retry-from` carries over rather than re-runs: the row
    /// succeeded (or an undo acted on it), so sending it again could only repeat it.
    pub fn carried(self) -> bool {
        !matches!(
            self,
            Status::Invalid
                | Status::Conflict
                | Status::Failed
                | Status::Deferred
                | Status::Duplicate
                | Status::WouldCreate
                | Status::WouldUpdate
                | Status::WouldEnable
        )
    }
}

/// What became of a row and how: decided by planning, a create or an update, and written as
/// the `result_*` columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The status the row ended in.
    pub status: Status,
    /// The guest's id, when there is a guest.
    pub guest_id: String,
    /// The last HTTP status of the row's requests.
    pub http_status: Option<u16>,
    /// Requests sent for the row (retries and read-backs included).
    pub attempts: u32,
    /// What happened, in words.
    pub message: String,
    /// For a `created` row: the guest's creation time as the server's database gave it
    /// (RFC 3339 UTC), which `undo` compares with what it reads back; empty when unknown.
    pub created_at: String,
    /// The guest's link when this run changed it (an `enabled` row: enabling issues a new
    /// one), written as `result_link`; empty otherwise.
    pub link: String,
    /// For an `invalid` row: the fields its problems are about (for a face that marks cells;
    /// the results file says it in `message`).
    pub fields: Vec<Field>,
}

impl Outcome {
    /// Nothing sent yet: `failed` until something better is known.
    pub fn new() -> Self {
        Outcome {
            status: Status::Failed,
            guest_id: String::new(),
            http_status: None,
            attempts: 0,
            message: String::new(),
            created_at: String::new(),
            link: String::new(),
            fields: Vec::new(),
        }
    }

    /// The same requests, ending in `status` with `message`.
    pub fn with(mut self, status: Status, message: impl Into<String>) -> Self {
        self.status = status;
        self.message = message.into();
        self
    }
}

impl Default for Outcome {
    fn default() -> Self {
        Outcome::new()
    }
}
