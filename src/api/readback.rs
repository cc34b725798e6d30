//! Reading one guest back when its absence must be believed: right after a create, after an
//! "already taken", before undo calls a guest `already_gone`. A replicated API may answer a GET
//! from a replica that has not yet seen a guest created a moment ago (the sandbox's
//! `--read-lag`), so a "not found" is read again with a doubling pause until `READ_LAG` is waited
//! out. A guest that is found ends the wait at once; only an absence costs time.

use std::time::Duration;

use super::client::Client;
use super::error::ApiError;
use super::model::Guest;

/// The longest a settled read-back waits for a guest to appear: the sum of the pauses between
/// its reads (0.25 + 0.5 + 1 + 2 s). A replica lagging longer than this is read as "absent".
pub const READ_LAG: Duration = Duration::from_millis(3750);

/// The first pause between reads; each next one doubles, until `READ_LAG` is spent.
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// What a settled read-back found, and what it cost.
#[derive(Debug, Clone)]
pub struct ReadBack {
    /// The guest, or `None` when it was absent on every read, `READ_LAG` after the first.
    pub guest: Option<Guest>,
    /// GETs sent (each may have been retried: see `attempts`).
    pub reads: u32,
    /// HTTP attempts, retries included.
    pub attempts: u32,
    /// The HTTP status of the last answer.
    pub status: u16,
}

impl Client {
    /// GETs the guest with this email; while it is not found, reads again with a doubling
    /// pause, for at most `READ_LAG` in all, before believing the absence. Fails on the first
    /// read that fails (after the client's own retries).
    pub async fn read_back_settled(&self, email: &str) -> Result<ReadBack, ApiError> {
        self.read_back_within(email, READ_LAG).await
    }

    /// `read_back_settled` with another bound (`Duration::ZERO`: one read).
    pub async fn read_back_within(&self, email: &str, lag: Duration) -> Result<ReadBack, ApiError> {
        self.read_back(email, lag, false).await
    }

    /// `read_back_within`, the guest read with its task statistics (`with=stats`) when `stats`,
    /// as undo needs them to tell a guest used since the import.
    pub async fn read_back(&self, email: &str, lag: Duration, stats: bool) -> Result<ReadBack, ApiError> {
        let mut found = ReadBack {
            guest: None,
            reads: 0,
            attempts: 0,
            status: 0,
        };
        let mut waited = Duration::ZERO;
        let mut pause = FIRST_PAUSE;
        loop {
            let reply = match self.get_guest_with(email, stats).await {
                Ok(reply) => reply,
                Err(mut error) => {
                    error.attempts += found.attempts;
                    return Err(error);
                }
            };
            found.reads += 1;
            found.attempts += reply.attempts;
            found.status = reply.status;
            found.guest = reply.value;
            if found.guest.is_some() || waited >= lag {
                return Ok(found);
            }
            let next = pause.min(lag - waited);
            tokio::time::sleep(next).await;
            waited += next;
            pause *= 2;
        }
    }
}
