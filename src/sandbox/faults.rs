//! The sandbox's misbehaviour, on purpose and repeatable (seeded): latency, random 5xx HTML
//! pages, dropped connections, a burst limit and a throttle by request number (429 +
//! Retry-After), an hourly-style invite cap (429 `RATE_LIMIT_EXCEEDED`) and "commit then fail"
//! creates; and the controls a test uses instead of waiting: a clock it advances and writes it
//! holds. What a fault *does* to a connection is `server.rs`'s business; this module only
//! decides.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, RateLimiter, clock::Clock};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::time::Instant;

use crate::rate::Rate;

/// Which faults to inject, and how often.
#[derive(Debug, Clone, Default)]
pub struct FaultOptions {
    /// Round trip of every request: the answer leaves this long after the request arrived,
    /// the application's own work included.
    pub latency: Duration,
    /// Fraction of requests answered with a 502/503/504 HTML page, before any work is done.
    pub error_rate: f64,
    /// Fraction of requests whose connection is closed without an answer.
    pub drop_rate: f64,
    /// Fraction of applied writes (creates, deletes, disables, enables) answered with a 502 or a
    /// dropped connection.
    pub commit_fail_rate: f64,
    /// Fraction of creates answered 500 before anything is stored (a failing application).
    pub create_error_rate: f64,
    /// Requests allowed per period (all endpoints) before 429 + Retry-After.
    pub burst_limit: Option<Rate>,
    /// Every request whose number is a multiple of this (1-based, all endpoints) is answered 429
    /// with `Retry-After: 1`: a throttle scheduled by request number, so a test sees 429s however
    /// fast or slow the machine runs the client (the burst limit meets only a fast one).
    pub throttle_every: Option<std::num::NonZeroU64>,
    /// Creates allowed per window before 429 `RATE_LIMIT_EXCEEDED` with a long Retry-After.
    pub invite_cap: Option<Rate>,
    /// Fraction of creates that another writer (a person in the web app, another integration)
    /// got to first: the guest is stored, with other details, just before ours arrives, which
    /// is then answered 422 "already taken".
    pub other_writer_rate: f64,
    /// A guest created less than this long ago is not found by a GET yet (a replica that lags).
    pub read_lag: Duration,
    /// Emails are compared with their accents folded (`jose@` finds `josé@`, and a create of one
    /// is "already taken" by the other), as a server with an accent-insensitive collation does.
    pub fold_accents: bool,
    /// From this request on, the token is answered 401, as when its user logs out of Tallyfy.
    pub revoke_token_after: Option<u64>,
    /// Answer the members list (`GET organizations/{org}/users`) with this status (401 or
    /// 403), as for a token without the right to read it; every other endpoint is unaffected.
    pub refuse_members: Option<u16>,
    /// Seconds the `Date` header runs ahead of the database clock that stamps `created_at`
    /// (negative: behind), as behind a proxy or front end with a clock of its own.
    pub date_skew_seconds: i64,
    /// Seed for the dice, so a run repeats.
    pub seed: u64,
}

/// What the edge does with a request before the application sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EdgeFault {
    None,
    Drop,
    ServerError(u16),
    /// 429 with this Retry-After (whole seconds) and an empty body when `empty` is set.
    Throttle {
        retry_after: u64,
        empty: bool,
    },
}

/// How a committed create fails to report its success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CommitFault {
    None,
    BadGateway,
    Drop,
}

/// Counts of what the sandbox did, so tests can tell a fault was really exercised.
#[derive(Debug, Default)]
pub(super) struct FaultCounters {
    pub drops: AtomicU64,
    pub server_errors: AtomicU64,
    pub throttled: AtomicU64,
    pub invite_capped: AtomicU64,
    pub commit_failures: AtomicU64,
}

pub(super) struct Faults {
    options: FaultOptions,
    rng: Mutex<StdRng>,
    burst: Option<DefaultDirectRateLimiter>,
    invites: Mutex<InviteWindow>,
    /// When recent creates were stored, by lowercased email (only with `read_lag`).
    fresh: Mutex<std::collections::HashMap<String, Instant>>,
    /// Seconds the sandbox's clock has been moved ahead of the real one ([`Faults::advance`]).
    ahead: AtomicU64,
    /// Whether writes are held ([`Faults::hold_writes`]).
    held: tokio::sync::watch::Sender<bool>,
    pub counters: FaultCounters,
}

struct InviteWindow {
    started: Option<Instant>,
    used: u32,
}

impl Faults {
    pub(super) fn new(options: FaultOptions) -> Self {
        Faults {
            rng: Mutex::new(StdRng::seed_from_u64(options.seed)),
            burst: options.burst_limit.map(|rate| RateLimiter::direct(rate.burst_quota())),
            invites: Mutex::new(InviteWindow { started: None, used: 0 }),
            fresh: Mutex::default(),
            ahead: AtomicU64::new(0),
            held: tokio::sync::watch::Sender::new(false),
            counters: FaultCounters::default(),
            options,
        }
    }

    /// The status the members list is refused with, if it is.
    pub(super) fn members_refused(&self) -> Option<u16> {
        self.options.refuse_members
    }

    /// Moves the sandbox's clock ahead by `by` (whole seconds): what a test does instead of
    /// sleeping until time has passed on the server. Everything the sandbox times follows it:
    /// `created_at` and `disabled_at`, the `Date` header, the invite cap's window, the read lag.
    pub(super) fn advance(&self, by: Duration) {
        self.ahead.fetch_add(by.as_secs(), Ordering::SeqCst);
    }

    /// Holds every write (POST, PUT, DELETE) that arrives from now on, counted but not acted
    /// on, until `false` releases them: a test freezes a run at "it has begun writing" for as
    /// long as it needs, instead of slowing the sandbox down and hoping.
    pub(super) fn hold_writes(&self, held: bool) {
        self.held.send_replace(held);
    }

    /// Waits while writes are held, if `method` writes.
    pub(super) async fn pass(&self, method: &axum::http::Method) {
        if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
            return;
        }
        let mut held = self.held.subscribe();
        let _ = held.wait_for(|held| !*held).await;
    }

    fn ahead(&self) -> Duration {
        Duration::from_secs(self.ahead.load(Ordering::SeqCst))
    }

    /// The database clock (`created_at`, `disabled_at`): the real clock plus any advance.
    pub(super) fn database_now(&self) -> std::time::SystemTime {
        std::time::SystemTime::now() + self.ahead()
    }

    /// The sandbox's monotonic clock, for its windows (invite cap, read lag).
    fn instant_now(&self) -> Instant {
        Instant::now() + self.ahead()
    }

    /// The time the `Date` header says: the database clock moved by `date_skew_seconds`.
    pub(super) fn date_header(&self, now: std::time::SystemTime) -> std::time::SystemTime {
        let skew = Duration::from_secs(self.options.date_skew_seconds.unsigned_abs());
        if self.options.date_skew_seconds >= 0 {
            now + skew
        } else {
            now.checked_sub(skew).unwrap_or(now)
        }
    }

    pub(super) fn latency(&self) -> Duration {
        self.options.latency
    }

    /// Rolls the dice for incoming request number `request` (1-based).
    pub(super) fn edge(&self, request: u64) -> EdgeFault {
        let (roll, status_pick, empty) = {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            (rng.random::<f64>(), rng.random_range(0..3usize), rng.random_bool(0.5))
        };
        if roll < self.options.drop_rate {
            self.counters.drops.fetch_add(1, Ordering::Relaxed);
            return EdgeFault::Drop;
        }
        if roll < self.options.drop_rate + self.options.error_rate {
            self.counters.server_errors.fetch_add(1, Ordering::Relaxed);
            return EdgeFault::ServerError([502, 503, 504][status_pick]);
        }
        if self
            .options
            .throttle_every
            .is_some_and(|every| request.is_multiple_of(every.get()))
        {
            self.counters.throttled.fetch_add(1, Ordering::Relaxed);
            return EdgeFault::Throttle { retry_after: 1, empty };
        }
        if let Some(limiter) = &self.burst
            && let Err(not_until) = limiter.check()
        {
            self.counters.throttled.fetch_add(1, Ordering::Relaxed);
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            return EdgeFault::Throttle {
                retry_after: whole_seconds(wait),
                empty,
            };
        }
        EdgeFault::None
    }

    /// Whether the token has been revoked by the time of request number `request` (1-based).
    pub(super) fn token_revoked(&self, request: u64) -> bool {
        self.options.revoke_token_after.is_some_and(|after| request > after)
    }

    /// Counts one invite against the cap; `Err(retry_after_seconds)` when the window is full.
    pub(super) fn invite(&self) -> Result<(), (u64, Rate)> {
        let Some(cap) = self.options.invite_cap else {
            return Ok(());
        };
        let mut window = self.invites.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.instant_now();
        let started = *window.started.get_or_insert(now);
        if now.duration_since(started) >= cap.period {
            window.started = Some(now);
            window.used = 0;
        }
        if window.used >= cap.count.get() {
            self.counters.invite_capped.fetch_add(1, Ordering::Relaxed);
            let reset = window.started.unwrap_or(now) + cap.period;
            return Err((whole_seconds(reset.duration_since(now)), cap));
        }
        window.used += 1;
        Ok(())
    }

    /// Whether another writer creates this guest just before our create arrives.
    pub(super) fn other_writer_first(&self) -> bool {
        if self.options.other_writer_rate <= 0.0 {
            return false;
        }
        let roll = self.rng.lock().unwrap_or_else(|p| p.into_inner()).random::<f64>();
        roll < self.options.other_writer_rate
    }

    /// Records a create, for `read_lag`.
    pub(super) fn created(&self, email: &str) {
        if !self.options.read_lag.is_zero() {
            let mut fresh = self.fresh.lock().unwrap_or_else(|p| p.into_inner());
            fresh.insert(email.to_lowercase(), self.instant_now());
        }
    }

    /// Whether a GET of this guest still misses it (created within `read_lag`).
    pub(super) fn not_yet_readable(&self, email: &str) -> bool {
        if self.options.read_lag.is_zero() {
            return false;
        }
        let fresh = self.fresh.lock().unwrap_or_else(|p| p.into_inner());
        fresh
            .get(&email.to_lowercase())
            .is_some_and(|at| self.instant_now().duration_since(*at) < self.options.read_lag)
    }

    /// Whether a create fails with a 500 before it is stored.
    pub(super) fn create_fails(&self) -> bool {
        if self.options.create_error_rate <= 0.0 {
            return false;
        }
        let roll = self.rng.lock().unwrap_or_else(|p| p.into_inner()).random::<f64>();
        let fails = roll < self.options.create_error_rate;
        if fails {
            self.counters.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        fails
    }

    /// Rolls the dice for a create that has just been stored.
    pub(super) fn after_commit(&self) -> CommitFault {
        let (roll, drop) = {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            (rng.random::<f64>(), rng.random_bool(0.5))
        };
        if roll >= self.options.commit_fail_rate {
            return CommitFault::None;
        }
        self.counters.commit_failures.fetch_add(1, Ordering::Relaxed);
        if drop {
            CommitFault::Drop
        } else {
            CommitFault::BadGateway
        }
    }
}

/// Retry-After carries whole seconds; round up so a client that obeys it is not early.
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let options = FaultOptions {
            error_rate: 0.3,
            drop_rate: 0.1,
            seed: 7,
            ..FaultOptions::default()
        };
        let run = || {
            let faults = Faults::new(options.clone());
            (1..=200).map(|n| faults.edge(n)).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let errors = first.iter().filter(|f| matches!(f, EdgeFault::ServerError(_))).count();
        let drops = first.iter().filter(|f| **f == EdgeFault::Drop).count();
        assert!((40..80).contains(&errors), "{errors}");
        assert!((8..35).contains(&drops), "{drops}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_invite_cap_resets_with_its_window() {
        let faults = Faults::new(FaultOptions {
            invite_cap: Some("2/h".parse().unwrap()),
            ..FaultOptions::default()
        });
        assert!(faults.invite().is_ok());
        tokio::time::advance(Duration::from_secs(600)).await;
        assert!(faults.invite().is_ok());
        let (retry_after, _) = faults.invite().unwrap_err();
        assert_eq!(retry_after, 3000);
        tokio::time::advance(Duration::from_secs(3000)).await;
        assert!(faults.invite().is_ok());
    }

    #[test]
    fn a_scheduled_throttle_meets_every_nth_request() {
        let faults = Faults::new(FaultOptions {
            throttle_every: std::num::NonZeroU64::new(3),
            ..FaultOptions::default()
        });
        let throttled: Vec<u64> = (1..=9)
            .filter(|&n| matches!(faults.edge(n), EdgeFault::Throttle { retry_after: 1, .. }))
            .collect();
        assert_eq!(throttled, [3, 6, 9]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_advanced_clock_ends_the_invite_window_and_stamps_later() {
        let faults = Faults::new(FaultOptions {
            invite_cap: Some("1/h".parse().unwrap()),
            ..FaultOptions::default()
        });
        let before = faults.database_now();
        assert!(faults.invite().is_ok());
        assert!(faults.invite().is_err(), "the window is full");
        faults.advance(Duration::from_secs(3600));
        assert!(faults.invite().is_ok(), "a new window");
        assert!(faults.database_now() >= before + Duration::from_secs(3600));
    }

    #[test]
    fn the_burst_limit_answers_with_a_retry_after() {
        let faults = Faults::new(FaultOptions {
            burst_limit: Some("3/min".parse().unwrap()),
            ..FaultOptions::default()
        });
        let answers: Vec<_> = (1..=4).map(|n| faults.edge(n)).collect();
        assert_eq!(&answers[..3], &[EdgeFault::None; 3]);
        assert!(
            matches!(answers[3], EdgeFault::Throttle { retry_after: 20, .. }),
            "{:?}",
            answers[3]
        );
    }
}
