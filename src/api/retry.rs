//! Which outcomes of a request are retried: a pure function of (method, outcome), pinned by a
//! table test, plus the backoff between attempts. Waiting itself is `pacing.rs`'s job.
//!
//! The rule that matters: a POST has no idempotency key, so once its bytes may have reached the
//! server a failure is *indeterminate*, never blindly resent; the caller reads back first.

use std::time::Duration;

use rand::RngExt;
use reqwest::Method;

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The server answered with this status.
    Status(u16),
    /// No connection was made, so nothing was sent (refused, DNS, TLS, connect timeout).
    ConnectFailed,
    /// The request may have been sent but no answer came in time.
    TimedOut,
    /// The connection closed after the request may have been sent.
    ConnectionLost,
}

/// In words, for logs: `HTTP 503`, `connection refused`, ...
impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Status(status) => write!(f, "HTTP {status}"),
            Outcome::ConnectFailed => f.write_str("no connection"),
            Outcome::TimedOut => f.write_str("timed out"),
            Outcome::ConnectionLost => f.write_str("connection lost"),
        }
    }
}

/// What to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// A 2xx: done.
    Accept,
    /// A 429: pause the whole run (Retry-After), then send again.
    PauseAndRetry,
    /// Transient and safe to repeat: back off, then send again (up to `--max-retries`).
    Retry,
    /// A write that may or may not have been applied: hand back to the caller to read back.
    Indeterminate,
    /// A final answer (401, 403, 404, 422, other 4xx): the caller decides what it means.
    Fail,
}

/// The retry table. See the module docs and ../shared/tallyfy-api.md, "How Tallyfy's own clients retry".
pub(super) fn classify(method: &Method, outcome: Outcome) -> Decision {
    classify_request(method.is_idempotent(), outcome)
}

/// The same table for a request that is safe to repeat whatever its method: a token request
/// (issuing a token changes nothing, so a 5xx or a lost answer is simply asked again).
pub(super) fn classify_repeatable(outcome: Outcome) -> Decision {
    classify_request(true, outcome)
}

fn classify_request(repeatable: bool, outcome: Outcome) -> Decision {
    let transient = match outcome {
        Outcome::Status(status) if (200..300).contains(&status) => return Decision::Accept,
        Outcome::Status(429) => return Decision::PauseAndRetry,
        Outcome::ConnectFailed => return Decision::Retry,
        // 408: the server gave up waiting for our request; like a timeout, it may have acted.
        Outcome::Status(status) => status == 408 || (500..600).contains(&status),
        Outcome::TimedOut | Outcome::ConnectionLost => true,
    };
    match (transient, repeatable) {
        (false, _) => Decision::Fail,
        (true, true) => Decision::Retry,
        (true, false) => Decision::Indeterminate,
    }
}

/// First retry waits up to this long ...
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// ... and no retry waits longer than this.
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Capped exponential backoff with full jitter (uniform in [0, min(cap, base * 2^retry))), so
/// concurrent requests that failed together do not come back together.
pub(super) fn backoff(retry: u32) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(1 << retry.min(16)).min(BACKOFF_CAP);
    ceiling.mul_f64(rand::rng().random_range(0.0..1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (method, outcome) pair, pinned. A change here is a change of behaviour.
    #[test]
    fn the_retry_table() {
        let outcomes = [
            ("200", Outcome::Status(200)),
            ("201", Outcome::Status(201)),
            ("204", Outcome::Status(204)),
            ("301", Outcome::Status(301)),
            ("400", Outcome::Status(400)),
            ("401", Outcome::Status(401)),
            ("403", Outcome::Status(403)),
            ("404", Outcome::Status(404)),
            ("408", Outcome::Status(408)),
            ("409", Outcome::Status(409)),
            ("422", Outcome::Status(422)),
            ("429", Outcome::Status(429)),
            ("500", Outcome::Status(500)),
            ("502", Outcome::Status(502)),
            ("503", Outcome::Status(503)),
            ("504", Outcome::Status(504)),
            ("connect", Outcome::ConnectFailed),
            ("timeout", Outcome::TimedOut),
            ("dropped", Outcome::ConnectionLost),
        ];
        let methods = [Method::GET, Method::PUT, Method::DELETE, Method::POST];
        let mut table = String::new();
        for (name, outcome) in outcomes {
            table.push_str(&format!("{name:>8}"));
            for method in &methods {
                table.push_str(&format!(" {:>13}", format!("{:?}", classify(method, outcome))));
            }
            table.push('\n');
        }
        let expected = "
     200        Accept        Accept        Accept        Accept
     201        Accept        Accept        Accept        Accept
     204        Accept        Accept        Accept        Accept
     301          Fail          Fail          Fail          Fail
     400          Fail          Fail          Fail          Fail
     401          Fail          Fail          Fail          Fail
     403          Fail          Fail          Fail          Fail
     404          Fail          Fail          Fail          Fail
     408         Retry         Retry         Retry Indeterminate
     409          Fail          Fail          Fail          Fail
     422          Fail          Fail          Fail          Fail
     429 PauseAndRetry PauseAndRetry PauseAndRetry PauseAndRetry
     500         Retry         Retry         Retry Indeterminate
     502         Retry         Retry         Retry Indeterminate
     503         Retry         Retry         Retry Indeterminate
     504         Retry         Retry         Retry Indeterminate
 connect         Retry         Retry         Retry         Retry
 timeout         Retry         Retry         Retry Indeterminate
 dropped         Retry         Retry         Retry Indeterminate
";
        assert_eq!(table, expected.trim_start_matches('\n'), "columns: GET PUT DELETE POST");
    }

    #[test]
    fn backoff_is_jittered_under_a_growing_cap() {
        for retry in 0..40 {
            let ceiling = (BACKOFF_BASE * 2u32.pow(retry.min(16))).min(BACKOFF_CAP);
            for _ in 0..50 {
                assert!(backoff(retry) <= ceiling);
            }
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| backoff(3)).collect();
        assert!(spread.len() > 1, "full jitter must vary");
    }
}
