//! The gate that a request changing guests (create, update, delete, disable, enable) passes
//! just before it is written: once the run stops, a request still waiting on the pacer, the
//! invite quota or a retry back-off is dropped rather than sent, so "stopping" means no new
//! request starts (issue 23). Reads are never gated: a read-back settles what was already sent.

use tokio_util::sync::CancellationToken;

use super::pacing::Lane;

/// Closed by the run's stop. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// Closed when nothing that changes a guest may start any more.
    writes: CancellationToken,
    /// Closed when creates may not start (the invite cap beyond `--max-wait`), or with `writes`.
    invites: CancellationToken,
}

impl Gate {
    /// No create, update, delete, disable or enable starts from now on.
    pub fn close(&self) {
        self.invites.cancel();
        self.writes.cancel();
    }

    /// No create starts from now on; other requests go on.
    pub fn close_invites(&self) {
        self.invites.cancel();
    }

    fn token(&self, lane: Lane) -> &CancellationToken {
        match lane {
            Lane::Invite => &self.invites,
            Lane::Request => &self.writes,
        }
    }

    /// Whether a request of `lane` may no longer start.
    pub fn is_closed(&self, lane: Lane) -> bool {
        self.token(lane).is_cancelled()
    }

    /// Resolves when a request of `lane` may no longer start.
    pub async fn closed(&self, lane: Lane) {
        self.token(lane).cancelled().await;
    }
}
