//! One pacer per run: the client-side quotas (`--rate`, via governor), the shared pause that
//! a 429 puts on *every* request of the run, bounded by `--max-wait`, and an adaptive rate that
//! learns an unknown server limit (AIMD: down by a tenth on a 429, slowly back up on success),
//! so a run settles just under the limit instead of a sawtooth of pauses. Creates are invites
//! (Tallyfy emails the guest) and have a lane of their own: `--invite-rate` quotas and the pause
//! the hourly invite cap puts on creates only, so listing, reading back and member updates are
//! never paced at the invite quota. Creates keep one schedule (`invite_pace::Schedule`: a
//! burst up to each cap, then each create a window after the one `count` before it), the same
//! model every estimate of the run is made from. Deciding *whether* to retry is `retry.rs`'s job; this module
//! only decides *when* the next request may go.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local};
use governor::{DefaultDirectRateLimiter, RateLimiter};
use tokio::time::Instant;

pub use crate::rate::Rate;

use super::invite_cap;
use crate::invite_pace::{Cap, Estimate, Schedule, Watch};

/// Which kind of request is waiting: creates are invites, paced and capped on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Reads, lists, read-backs, member updates.
    Request,
    /// A create: Tallyfy emails an invitation, under a per-organization hourly cap.
    Invite,
}

/// The API told us to wait longer than `--max-wait` allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitedUntil {
    /// When the wait would end.
    pub until: SystemTime,
    /// The server's own words, when it gave any (e.g. the hourly invite cap message).
    pub reason: Option<String>,
    /// Only creates are held back (the invite cap); other requests may go on.
    pub invites_only: bool,
}

impl fmt::Display for RateLimitedUntil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let until: DateTime<Local> = self.until.into();
        write!(f, "rate-limited until {}", until.format("%Y-%m-%d %H:%M:%S %:z"))?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        Ok(())
    }
}

/// Shared by every request of a run.
pub struct Pacer {
    quotas: Vec<DefaultDirectRateLimiter>,
    /// `--invite-rate` and the organization's cap: when each create may go.
    schedule: Watch,
    /// The estimate of the plan a person confirmed, made at the yes.
    promised: Mutex<Option<Estimate>>,
    max_wait: Duration,
    pause: Mutex<Pause>,
    invites: Mutex<InvitePause>,
}

/// The invite lane's state: the invite cap's pause, and when a create waiting for its quota
/// may go (for the progress bar).
#[derive(Default)]
struct InvitePause {
    until: Option<Instant>,
    reason: Option<String>,
    next_quota: Option<Instant>,
}

#[derive(Default)]
struct Pause {
    until: Option<Instant>,
    reason: Option<String>,
    /// 429s without Retry-After since the last success; drives the fallback backoff.
    strikes: u32,
    /// Wall-clock time the run has spent paused (overlapping pauses counted once).
    total: Duration,
    /// The learned rate in requests per second; `None` until the first 429.
    rate: Option<f64>,
    /// When the next request may go under the learned rate.
    next_slot: Option<Instant>,
    /// Successes since the rate last changed, and since when: the rate to start from.
    successes: u32,
    since: Option<Instant>,
}

/// On a 429 the learned rate drops to this fraction ...
const DECREASE: f64 = 0.9;
/// ... and each success adds this many requests per second, spread over a second's worth of
/// requests, so the rate climbs back by about half a request per second every second.
const INCREASE: f64 = 0.5;
/// The learned rate never drops below one request a minute.
const MIN_RATE: f64 = 1.0 / 60.0;

/// Without Retry-After, pause 1 s, 2 s, 4 s ... up to this.
const MAX_FALLBACK_PAUSE: Duration = Duration::from_secs(60);

fn limiters(rates: &[Rate]) -> Vec<DefaultDirectRateLimiter> {
    rates
        .iter()
        .map(|rate| RateLimiter::direct(rate.even_quota()))
        .collect()
}

impl Pacer {
    /// `rates` pace every request (`--rate`), `invite_rates` creates only (`--invite-rate`).
    pub fn new(rates: &[Rate], invite_rates: &[Rate], max_wait: Duration) -> Self {
        Pacer {
            quotas: limiters(rates),
            // The longest the invite cap and quota may hold creates back: `--max-wait` until a
            // person confirms the plan, then the explicit `--max-wait`, or no bound (the cap's
            // windows are the plan).
            schedule: Watch::new({
                let mut schedule = Schedule::new(invite_rates);
                schedule.set_bound(Some(max_wait));
                schedule
            }),
            promised: Mutex::new(None),
            max_wait,
            pause: Mutex::new(Pause::default()),
            invites: Mutex::new(InvitePause::default()),
        }
    }

    /// Waits until a request may be sent: a create first waits out the invite cap's pause and
    /// the invite quotas; then every request waits out any shared 429 pause and every quota.
    /// A pause longer than `--max-wait` is not slept: it is returned as the error.
    pub async fn ready(&self, lane: Lane) -> Result<(), RateLimitedUntil> {
        if lane == Lane::Invite {
            self.invite_ready().await?;
        }
        self.wait_out(
            || {
                let pause = self.lock();
                (pause.until, pause.reason.clone())
            },
            false,
        )
        .await?;
        for quota in &self.quotas {
            quota.until_ready().await;
        }
        let slot = {
            let mut pause = self.lock();
            pause.rate.map(|rate| {
                let slot = pause.next_slot.map_or(Instant::now(), |next| next.max(Instant::now()));
                pause.next_slot = Some(slot + Duration::from_secs_f64(1.0 / rate));
                slot
            })
        };
        if let Some(slot) = slot {
            tokio::time::sleep_until(slot).await;
        }
        Ok(())
    }

    /// Sleeps until the pause that `current` reads has passed (it may be extended meanwhile),
    /// or errs at once when it lasts longer than `--max-wait`.
    async fn wait_out(
        &self,
        current: impl Fn() -> (Option<Instant>, Option<String>),
        invites_only: bool,
    ) -> Result<(), RateLimitedUntil> {
        loop {
            match current() {
                (Some(until), reason) if until > Instant::now() => {
                    self.check_max_wait(until, &reason, invites_only)?;
                    tokio::time::sleep_until(until).await;
                }
                _ => return Ok(()),
            }
        }
    }

    async fn invite_ready(&self) -> Result<(), RateLimitedUntil> {
        self.wait_out(
            || {
                let invites = self.lock_invites();
                (invites.until, invites.reason.clone())
            },
            true,
        )
        .await?;
        self.take_place().await?;
        self.lock_invites().next_quota = None;
        Ok(())
    }

    /// Takes a create's place in the schedule, waiting while its caps are full (errs when that
    /// wait is beyond the invite cap's bound).
    async fn take_place(&self) -> Result<(), RateLimitedUntil> {
        loop {
            let Err((free, cap)) = self.schedule.with(|schedule| schedule.take(SystemTime::now())) else {
                return Ok(());
            };
            let wait = free.duration_since(SystemTime::now()).unwrap_or_default();
            let until = Instant::now() + wait;
            let learned = self
                .schedule
                .with(|schedule| schedule.learned().map(|learned| learned.rate));
            let reason = Some(if learned == Some(cap) {
                format!("the organization's invite cap, {cap}, learned from Tallyfy")
            } else {
                format!("--invite-rate {cap}")
            });
            self.check_max_wait(until, &reason, true)?;
            {
                let mut invites = self.lock_invites();
                invites.next_quota = Some(invites.next_quota.map_or(until, |next| next.max(until)));
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// The learned cap, to remember for the organization's next run.
    pub fn invite_cap(&self) -> Option<Cap> {
        self.schedule.with(|schedule| schedule.learned().cloned())
    }

    /// Starts from a cap remembered from an earlier run: creates pace at it from the first.
    pub fn recall_invite_cap(&self, cap: Cap) {
        self.schedule.with(|schedule| schedule.learn(cap));
    }

    /// The creates' schedule as it is now, for an estimate.
    pub fn invite_schedule(&self) -> Schedule {
        self.schedule.now()
    }

    /// The creates' schedule as it goes on, for the faces' estimates.
    pub fn invite_watch(&self) -> Watch {
        self.schedule.clone()
    }

    /// The estimate of the plan a person confirmed (at the yes), if one was.
    pub fn promised(&self) -> Option<Estimate> {
        self.promised
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Records the invite cap's 429 on a create: creates wait until `retry_after` has passed,
    /// other requests go on; the cap its message states is learned, its window full until
    /// then. Errs when that exceeds `--max-wait`.
    pub fn invite_limited(
        &self,
        retry_after: Option<Duration>,
        reason: Option<String>,
    ) -> Result<(), RateLimitedUntil> {
        // Without a Retry-After, the cap's window is an hour.
        let wait = retry_after.unwrap_or(Duration::from_secs(3600));
        let until = Instant::now() + wait;
        let cap = reason
            .as_deref()
            .and_then(invite_cap::parse)
            .or_else(|| self.invite_cap().map(|cap| cap.rate));
        if let Some(cap) = cap {
            let full = Cap::full_until(cap, SystemTime::now() + wait);
            self.schedule.with(|schedule| schedule.learn(full));
        }
        let mut invites = self.lock_invites();
        if invites.until.is_none_or(|current| until > current) {
            invites.until = Some(until);
            invites.reason = reason;
        }
        let longest = invites.until.unwrap_or(until);
        self.check_max_wait(longest, &invites.reason, true)?;
        drop(invites);
        // A pause that is sat out counts as time paused; one beyond --max-wait never happens.
        let mut pause = self.lock();
        pause.total += wait;
        Ok(())
    }

    /// The longest any request may wait (`--max-wait`).
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// The longest a wait may last: the invite cap's (`invites_only`) is bounded by the plan a
    /// person confirmed, every other by `--max-wait`.
    pub fn max_wait_for(&self, invites_only: bool) -> Duration {
        if invites_only {
            (self.schedule.with(|schedule| schedule.bound())).unwrap_or(Duration::MAX)
        } else {
            self.max_wait
        }
    }

    /// A person confirmed the plan of `creates`, which wait for the invite cap's windows: from
    /// now on the cap holds creates back for up to `bound` (an explicit `--max-wait`), or for
    /// as long as its windows last. Unexplained pauses (429 bursts) stay bounded by
    /// `--max-wait`. Its estimate, made now, is the run's promise (for the summary).
    pub fn plan_confirmed(&self, bound: Option<Duration>, creates: u64) {
        let estimate = self.schedule.with(|schedule| {
            schedule.set_bound(bound);
            schedule.estimate(creates, SystemTime::now())
        });
        *self.promised.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(estimate);
    }

    /// When the next create may start, while creates wait for the invite cap or quota.
    pub fn next_invite_at(&self) -> Option<SystemTime> {
        let invites = self.lock_invites();
        let at = [invites.until, invites.next_quota].into_iter().flatten().max()?;
        let left = at.checked_duration_since(Instant::now())?;
        Some(SystemTime::now() + left)
    }

    /// Records a 429: every request of the run waits until `retry_after` has passed (or, when
    /// the server gave none, an exponential backoff). Errs when that exceeds `--max-wait`.
    pub fn rate_limited(&self, retry_after: Option<Duration>, reason: Option<String>) -> Result<(), RateLimitedUntil> {
        let mut pause = self.lock();
        let now = Instant::now();
        // Requests in flight together all get their 429 at once: slow down once per pause.
        if pause.until.is_none_or(|until| until <= now) {
            // What actually got through lately, when anything did; a 429 before any success
            // teaches nothing about the rate.
            let since = pause.since.map_or(Duration::ZERO, |since| now - since);
            let observed = (pause.successes > 0).then(|| f64::from(pause.successes) / since.as_secs_f64().max(1.0));
            let base = match (pause.rate, observed) {
                (Some(rate), Some(observed)) => Some(rate.min(observed)),
                (rate, observed) => rate.or(observed),
            };
            if let Some(base) = base {
                pause.rate = Some((base * DECREASE).max(MIN_RATE));
            }
            pause.successes = 0;
            pause.since = Some(now);
        }
        let wait = retry_after.unwrap_or_else(|| {
            pause.strikes += 1;
            let doublings = (pause.strikes - 1).min(16);
            Duration::from_secs(1u64 << doublings).min(MAX_FALLBACK_PAUSE)
        });
        let until = now + wait;
        let current = pause.until.filter(|&current| current > now);
        if current.is_none_or(|current| until > current) {
            pause.until = Some(until);
            pause.reason = reason;
            // Counted only when it will be sat out: a stop beyond --max-wait pauses nothing.
            if until.saturating_duration_since(now) <= self.max_wait {
                pause.total += until - current.unwrap_or(now);
            }
        }
        let longest = pause.until.unwrap_or(until);
        let reason = pause.reason.clone();
        self.check_max_wait(longest, &reason, false)
    }

    /// A request got through: the fallback backoff starts again from one second, and the
    /// learned rate creeps up.
    pub fn succeeded(&self) {
        let mut pause = self.lock();
        pause.strikes = 0;
        pause.successes += 1;
        pause.since.get_or_insert_with(Instant::now);
        if let Some(rate) = pause.rate {
            pause.rate = Some(rate + INCREASE / rate);
        }
    }

    /// The learned rate, once a 429 has taught one.
    pub fn learned_rate(&self) -> Option<f64> {
        self.lock().rate
    }

    /// When the current 429 pause ends, if one holds.
    pub fn paused_until(&self) -> Option<SystemTime> {
        let until = self.lock().until?;
        let left = until.checked_duration_since(Instant::now())?;
        Some(SystemTime::now() + left)
    }

    /// How long the run has been paused by 429s so far.
    pub fn paused(&self) -> Duration {
        self.lock().total
    }

    fn check_max_wait(
        &self,
        until: Instant,
        reason: &Option<String>,
        invites_only: bool,
    ) -> Result<(), RateLimitedUntil> {
        let wait = until.saturating_duration_since(Instant::now());
        if wait > self.max_wait_for(invites_only) {
            return Err(RateLimitedUntil {
                until: SystemTime::now() + wait,
                reason: reason.clone(),
                invites_only,
            });
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pause> {
        // The guarded state is plain data updated in one step; a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still safe to use.
        self.pause.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_invites(&self) -> std::sync::MutexGuard<'_, InvitePause> {
        self.invites.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_request_of_the_run() {
        let pacer = Arc::new(Pacer::new(&[], &[], Duration::from_secs(60)));
        let start = Instant::now();
        pacer.rate_limited(Some(Duration::from_secs(5)), None).unwrap();
        let other = tokio::spawn({
            let pacer = pacer.clone();
            async move { pacer.ready(Lane::Request).await.map(|()| Instant::now()) }
        });
        let resumed = other.await.unwrap().unwrap();
        assert_eq!(resumed - start, Duration::from_secs(5));
        assert_eq!(pacer.paused(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn overlapping_pauses_count_once_and_the_longer_wins() {
        let pacer = Pacer::new(&[], &[], Duration::from_secs(60));
        pacer.rate_limited(Some(Duration::from_secs(5)), None).unwrap();
        pacer.rate_limited(Some(Duration::from_secs(3)), None).unwrap();
        pacer.rate_limited(Some(Duration::from_secs(8)), None).unwrap();
        assert_eq!(pacer.paused(), Duration::from_secs(8));
        let start = Instant::now();
        pacer.ready(Lane::Request).await.unwrap();
        assert_eq!(Instant::now() - start, Duration::from_secs(8));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_beyond_max_wait_is_an_error_not_a_sleep() {
        let pacer = Pacer::new(&[], &[], Duration::from_secs(10));
        let err = pacer
            .rate_limited(Some(Duration::from_secs(3600)), Some("hourly cap".into()))
            .unwrap_err();
        assert!(err.to_string().starts_with("rate-limited until "), "{err}");
        assert!(err.to_string().ends_with("(hourly cap)"), "{err}");
        let start = Instant::now();
        assert!(pacer.ready(Lane::Request).await.is_err());
        assert_eq!(Instant::now(), start, "must not sleep before failing");
    }

    #[tokio::test(start_paused = true)]
    async fn without_retry_after_the_pause_doubles_until_a_success() {
        let pacer = Pacer::new(&[], &[], Duration::from_secs(600));
        for expected in [1, 2, 4] {
            let start = Instant::now();
            pacer.rate_limited(None, None).unwrap();
            pacer.ready(Lane::Request).await.unwrap();
            assert_eq!(Instant::now() - start, Duration::from_secs(expected));
        }
        pacer.succeeded();
        let start = Instant::now();
        pacer.rate_limited(None, None).unwrap();
        pacer.ready(Lane::Request).await.unwrap();
        assert_eq!(Instant::now() - start, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_teaches_a_rate_that_creeps_back_up() {
        let pacer = Pacer::new(&[], &[], Duration::from_secs(60));
        assert_eq!(pacer.learned_rate(), None, "no pacing until a 429");
        for _ in 0..40 {
            pacer.succeeded();
        }
        tokio::time::advance(Duration::from_secs(2)).await;
        // 40 successes in 2 s: 20/s was too fast; go a tenth slower, and only once per pause.
        pacer.rate_limited(Some(Duration::from_secs(1)), None).unwrap();
        pacer.rate_limited(Some(Duration::from_secs(1)), None).unwrap();
        assert_eq!(pacer.learned_rate(), Some(18.0));
        pacer.ready(Lane::Request).await.unwrap();
        let start = Instant::now();
        for _ in 0..18 {
            pacer.ready(Lane::Request).await.unwrap();
        }
        assert!((Instant::now() - start).as_secs_f64() >= 17.0 / 18.0, "spaced at 18/s");
        for _ in 0..36 {
            pacer.succeeded();
        }
        let rate = pacer.learned_rate().unwrap();
        assert!(
            (18.9..19.1).contains(&rate),
            "two seconds' worth of successes add about 1/s: {rate}"
        );
    }
}
