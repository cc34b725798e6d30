//! The one model of how creates are paced and how long they take (issue 32): the pacer keeps
//! it (`api::pacing`), and the question, the page, the bar's ETA, the heartbeat and the summary
//! all estimate from it, so they agree. A cap is so many invites per window, counted the way
//! Tallyfy's hourly cap (and the sandbox's) counts them: the first `count` go at once (a small
//! import stays instant), then each create waits until the one `count` before it is a window
//! old. An even spacing of one every `window / count` would not fill the window, and a token
//! bucket refilling one every `window / count` after a burst would send more than `count` in
//! one window and meet the cap's 429. A leaf: it knows rates and clocks, nothing of a run.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local};

use crate::rate::Rate;

/// Tallyfy's documented hourly cap on guest invitations per organization (see
/// `../shared/tallyfy-api.md`): what an estimate assumes when no cap is known.
pub const TALLYFY_CAP: Rate = Rate {
    count: NonZeroU32::new(30).expect("non-zero"),
    period: Duration::from_secs(3600),
};

/// One cap and the times of the latest creates it counted (at most `count`, oldest first).
#[derive(Debug, Clone, PartialEq)]
pub struct Cap {
    /// So many invites per window.
    pub rate: Rate,
    sent: VecDeque<SystemTime>,
}

impl Cap {
    /// A cap that has counted nothing yet.
    pub fn new(rate: Rate) -> Cap {
        Cap {
            rate,
            sent: VecDeque::new(),
        }
    }

    /// A cap that counted creates at `sent` (as remembered for the organization).
    pub fn with_sent(rate: Rate, mut sent: Vec<SystemTime>) -> Cap {
        sent.sort();
        let mut cap = Cap::new(rate);
        for at in sent {
            cap.record(at);
        }
        cap
    }

    /// The cap a cap answer says is full until `reopens`: as if its `count` creates went one
    /// window before that.
    pub fn full_until(rate: Rate, reopens: SystemTime) -> Cap {
        let at = reopens.checked_sub(rate.period).unwrap_or(SystemTime::UNIX_EPOCH);
        Cap::with_sent(rate, vec![at; rate.count.get() as usize])
    }

    /// The creates it counted, oldest first.
    pub fn sent(&self) -> impl Iterator<Item = SystemTime> + '_ {
        self.sent.iter().copied()
    }

    /// How long a create counts against the cap: its window and a twentieth more, since a
    /// create is counted here when it leaves and by the cap when it arrives, so the next
    /// window's first create must not arrive while the cap still counts the last one.
    pub fn window(&self) -> Duration {
        self.rate.period + self.rate.period / 20
    }

    /// When the next create may go: `None` now (the window has room), else when the create
    /// `count` before it is a window old.
    fn free_at(&self) -> Option<SystemTime> {
        if self.sent.len() < self.rate.count.get() as usize {
            return None;
        }
        self.sent.front().map(|oldest| later(*oldest, self.window()))
    }

    fn record(&mut self, at: SystemTime) {
        let place = self.sent.partition_point(|sent| *sent <= at);
        self.sent.insert(place, at);
        while self.sent.len() > self.rate.count.get() as usize {
            self.sent.pop_front();
        }
    }

    /// When the `n`th create from now (1-based) goes under this cap alone: the first `count`
    /// as the window allows, then each a window after the one `count` before it.
    fn nth_at(&self, n: u64, now: SystemTime) -> SystemTime {
        let count = u64::from(self.rate.count.get());
        let j = n.saturating_sub(1);
        let (round, k) = (j / count, (j % count) as usize);
        // The k-th of the next `count` goes when the k-th latest create is a window old.
        let missing = self.rate.count.get() as usize - self.sent.len();
        let first = match k.checked_sub(missing) {
            None => now,
            Some(i) => later(self.sent[i], self.window()).max(now),
        };
        let rounds = u32::try_from(round).unwrap_or(u32::MAX);
        later(first, self.window().saturating_mul(rounds))
    }
}

/// `at` plus `wait`, or a century on for a wait past what a clock holds (never a panic).
fn later(at: SystemTime, wait: Duration) -> SystemTime {
    at.checked_add(wait)
        .unwrap_or_else(|| at + Duration::from_secs(100 * 365 * 86400))
}

/// Every cap a run's creates keep: `--invite-rate`'s, and the organization's once it is learned
/// (its 429, or remembered from an earlier run). With neither, Tallyfy's documented cap is
/// assumed for estimates only: the run goes at full speed until the cap's first answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    given: Vec<Cap>,
    learned: Option<Cap>,
    assumed: Cap,
    /// Creates that took their place so far.
    taken: u64,
    /// The longest a create may wait for its place (`None`: as long as the confirmed plan
    /// takes); past it the run defers the creates left (`--max-wait`).
    bound: Option<Duration>,
}

impl Schedule {
    /// The schedule of a run with `--invite-rate` `rates` (none: not given).
    pub fn new(rates: &[Rate]) -> Schedule {
        Schedule {
            given: rates.iter().copied().map(Cap::new).collect(),
            learned: None,
            assumed: Cap::new(TALLYFY_CAP),
            taken: 0,
            bound: None,
        }
    }

    /// The longest a create may wait for its place (`None`: no bound).
    pub fn bound(&self) -> Option<Duration> {
        self.bound
    }

    /// Bounds a create's wait for its place (`None`: none), as the run will.
    pub fn set_bound(&mut self, bound: Option<Duration>) {
        self.bound = bound;
    }

    /// The organization's cap, as learned: from now on creates keep it.
    pub fn learn(&mut self, cap: Cap) {
        self.learned = Some(cap);
    }

    /// The organization's cap, once learned.
    pub fn learned(&self) -> Option<&Cap> {
        self.learned.as_ref()
    }

    /// The caps creates are held to (none: full speed).
    fn pacing(&self) -> impl Iterator<Item = &Cap> {
        self.given.iter().chain(&self.learned)
    }

    /// The caps an estimate assumes: those creates are held to, else Tallyfy's documented one.
    fn estimating(&self) -> Vec<&Cap> {
        let caps: Vec<&Cap> = self.pacing().collect();
        if caps.is_empty() { vec![&self.assumed] } else { caps }
    }

    /// Takes a create's place at `now`, or says when the next may go and which cap holds it.
    pub fn take(&mut self, now: SystemTime) -> Result<(), (SystemTime, Rate)> {
        let held = self
            .pacing()
            .filter_map(|cap| cap.free_at().filter(|at| *at > now).map(|at| (at, cap.rate)))
            .max_by_key(|(at, _)| *at);
        if let Some(held) = held {
            return Err(held);
        }
        for cap in self.given.iter_mut().chain(&mut self.learned) {
            cap.record(now);
        }
        self.assumed.record(now);
        self.taken += 1;
        Ok(())
    }

    /// Creates that took their place so far.
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// When `creates` more will all have gone, from `now`, as far as the bound lets them (at
    /// the first wait past it the run defers the rest).
    pub fn finish(&self, creates: u64, now: SystemTime) -> SystemTime {
        let (all, stop) = self.times(creates, now);
        stop.map_or(all, |(_, last)| last)
    }

    /// When `creates` more will all have gone, from `now`, however long they wait; and, when a
    /// wait between two of them is longer than the bound, how many go before it and when the
    /// last of those goes.
    fn times(&self, creates: u64, now: SystemTime) -> (SystemTime, Option<(u64, SystemTime)>) {
        if creates == 0 {
            return (now, None);
        }
        let caps = self.estimating();
        let too_long = |from: SystemTime, to: SystemTime| {
            self.bound
                .is_some_and(|bound| to.duration_since(from).unwrap_or_default() > bound)
        };
        if let [cap] = caps[..] {
            let all = cap.nth_at(creates, now);
            // The waits of the first round repeat in every round after it, but for the first
            // create of each round, which waits from the last of the round before.
            let count = u64::from(cap.rate.count.get());
            let mut last = now;
            for k in 0..creates.min(count) {
                let at = cap.nth_at(k + 1, now);
                if too_long(last, at) {
                    return (all, Some((k, last)));
                }
                last = at;
            }
            let next_round = later(cap.nth_at(1, now), cap.window());
            if creates > count && too_long(last, next_round) {
                return (all, Some((count, last)));
            }
            return (all, None);
        }
        // Several caps: each create goes when all allow it (as `take` decides), one by one.
        let mut caps: Vec<Cap> = caps.into_iter().cloned().collect();
        let (mut at, mut stop) = (now, None);
        for k in 0..creates {
            let next = caps.iter().filter_map(Cap::free_at).fold(at, SystemTime::max);
            if stop.is_none() && too_long(at, next) {
                stop = Some((k, at));
            }
            at = next;
            caps.iter_mut().for_each(|cap| cap.record(at));
        }
        (at, stop)
    }

    /// The pace an estimate assumes.
    pub fn pace(&self) -> Pace {
        Pace {
            given: self.given.iter().map(|cap| cap.rate).collect(),
            learned: self.learned.as_ref().map(|cap| cap.rate),
        }
    }

    /// How long `creates` more take from `now`, at which pace, and where the bound stops them.
    pub fn estimate(&self, creates: u64, now: SystemTime) -> Estimate {
        let (finish, stop) = self.times(creates, now);
        Estimate {
            creates,
            takes: finish.duration_since(now).unwrap_or_default(),
            finish,
            stop,
            pace: self.pace(),
        }
    }
}

/// Where the pace comes from: `--invite-rate`, the organization's learned cap, or (neither)
/// Tallyfy's documented cap, assumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pace {
    /// `--invite-rate`.
    pub given: Vec<Rate>,
    /// The organization's cap, learned from its answers.
    pub learned: Option<Rate>,
}

impl Pace {
    /// Whether creates are held to it (else it is assumed, and the run goes at full speed
    /// until the cap answers).
    pub fn known(&self) -> bool {
        !self.given.is_empty() || self.learned.is_some()
    }

    /// The pace in words, for the summary and the heartbeat: `--invite-rate 10/6s`, `the
    /// organization's invite cap, 30/1h`, `Tallyfy's invite cap, about 30/1h (assumed)`.
    pub fn words(&self) -> String {
        let mut parts: Vec<String> = self.given.iter().map(|rate| format!("--invite-rate {rate}")).collect();
        if let Some(rate) = self.learned {
            parts.push(format!("the organization's invite cap, {rate}"));
        }
        if parts.is_empty() {
            return format!("Tallyfy's invite cap, about {TALLYFY_CAP} (assumed)");
        }
        parts.join(" and ")
    }
}

/// An estimate of the model: `creates` take `takes`, all gone at `finish`, at `pace`.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The creates it is about.
    pub creates: u64,
    /// How long they take from when it was made.
    pub takes: Duration,
    /// When the last will have gone.
    pub finish: SystemTime,
    /// When a wait is longer than the bound: how many go before it, and when the last of those
    /// goes (the run then defers the rest).
    pub stop: Option<(u64, SystemTime)>,
    /// The pace it assumes.
    pub pace: Pace,
}

impl Estimate {
    /// When the run's own creates are done: all of them, or those before its stop.
    pub fn run_finish(&self) -> SystemTime {
        self.stop.map_or(self.finish, |(_, last)| last)
    }

    /// Where the bound stops the creates, in words: `Of the 35 creates, 10 go by 14:05:09
    /// +00:00 and 25 are deferred.`; `None` when it does not. At an assumed pace the counts are
    /// Tallyfy's documented cap, so they are said as "about".
    pub fn stop_sentence(&self, now: SystemTime) -> Option<String> {
        let (goes, last) = self.stop?;
        let away = last.duration_since(now).unwrap_or_default();
        let about = if self.pace.known() { "" } else { "about " };
        Some(format!(
            "Of the {} creates, {about}{goes} go by {} and {about}{} are deferred.",
            self.creates,
            clock(last, away),
            self.creates - goes
        ))
    }

    /// The question's sentence: how long the creates take, when they will be done, and at
    /// which pace; `None` when none of them waits (they all go at once).
    pub fn sentence(&self) -> Option<String> {
        let given = self.pace.given.iter().map(|rate| format!("--invite-rate {rate}"));
        self.said(given.collect(), |rate| rate.to_string())
    }

    /// The page's sentence: the question's, with the pace in a person's words (no flags: the
    /// page was started with the invite pace it keeps).
    pub fn page_sentence(&self) -> Option<String> {
        let given = self
            .pace
            .given
            .iter()
            .map(|rate| format!("the invite pace this page was started with ({})", rate_words(*rate)));
        self.said(given.collect(), |rate| rate_words(*rate))
    }

    /// The sentence, with the paces `given` and the learned cap's rate as `rate` says it.
    fn said(&self, given: Vec<String>, rate: impl Fn(&Rate) -> String) -> Option<String> {
        if self.takes < Duration::from_secs(1) {
            return None;
        }
        let why = if self.pace.known() {
            let learned =
                (self.pace.learned).map(|learned| format!("this organization's invite cap ({})", rate(&learned)));
            let all: Vec<String> = given.into_iter().chain(learned).collect();
            format!("At {}", all.join(" and "))
        } else {
            format!(
                "Tallyfy allows about {} invitations an hour per organization (full speed until it says so, then its pace):",
                TALLYFY_CAP.count
            )
        };
        Some(format!(
            "{why} the {} creates take about {}: done about {}.",
            self.creates,
            human(self.takes),
            clock(self.finish, self.takes)
        ))
    }
}

/// A rate as a person says it: `30 an hour`, `60 a minute`, `10 every 6 s`.
fn rate_words(rate: Rate) -> String {
    let per = match rate.period.as_secs() {
        _ if rate.period.subsec_nanos() != 0 => None,
        1 => Some("a second"),
        60 => Some("a minute"),
        3600 => Some("an hour"),
        86400 => Some("a day"),
        _ => None,
    };
    match per {
        Some(per) => format!("{} {per}", rate.count),
        None => format!("{} every {}", rate.count, human(rate.period)),
    }
}

/// A finish time as precise as its distance asks: seconds within minutes, the day past 20 h.
pub fn clock(at: SystemTime, away: Duration) -> String {
    // To the nearest second, not the second begun: a short plan's finish is off by half a
    // second at most.
    let at: DateTime<Local> = (at + Duration::from_millis(500)).into();
    let format = if away >= Duration::from_secs(20 * 3600) {
        "%a %-d %b %H:%M %:z"
    } else if away >= Duration::from_secs(600) {
        "%H:%M %:z"
    } else {
        "%H:%M:%S %:z"
    };
    at.format(format).to_string()
}

/// A view of a run's schedule as the pacer keeps it, for the faces' estimates (the bar's ETA,
/// the heartbeat). Clones share one schedule.
#[derive(Debug, Clone)]
pub struct Watch(Arc<Mutex<Schedule>>);

impl Watch {
    /// A watched `schedule`.
    pub fn new(schedule: Schedule) -> Watch {
        Watch(Arc::new(Mutex::new(schedule)))
    }

    /// Changes the schedule (the pacer's own use).
    pub fn with<T>(&self, change: impl FnOnce(&mut Schedule) -> T) -> T {
        // Plain data changed in one step: a poisoned lock still holds a whole schedule.
        change(&mut self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The schedule as it is now.
    pub fn now(&self) -> Schedule {
        self.with(|schedule| schedule.clone())
    }
}

/// The page's words for how long `creates` take at its `--invite-rate` `rates` (or Tallyfy's
/// cap, assumed, without one), and when they will be done; `None` when they all go at once.
pub fn creates_take(creates: u64, rates: &[Rate], now: SystemTime) -> Option<String> {
    Schedule::new(rates).estimate(creates, now).page_sentence()
}

/// A duration as a person says it: `19 s`, `2 min`, `1 h 18 min`, `2 days 3 h` (to the second
/// under a minute, else to the nearest minute).
pub fn human(duration: Duration) -> String {
    if duration < Duration::from_secs(60) {
        return format!("{} s", duration.as_secs() + u64::from(duration.subsec_nanos() > 0));
    }
    // To the nearest minute: `1/min` for 2 creates (63 s) is "about 1 min".
    let minutes = (duration.as_secs() + 30) / 60;
    match (minutes / (24 * 60), minutes / 60 % 24, minutes % 60) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, h, _) => format!("1 day {h} h"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        text.parse().unwrap()
    }

    #[test]
    fn creates_say_how_long_and_when_at_the_pace_they_keep() {
        let now = SystemTime::now();
        // 41 at 30 an hour: 30 at once, the other 11 a window (63 min) later.
        let estimate = Schedule::new(&[rate("30/h")]).estimate(41, now);
        let text = estimate.sentence().unwrap();
        assert!(
            text.starts_with("At --invite-rate 30/1h the 41 creates take about 1 h 3 min: done about "),
            "{text}"
        );
        // The page's words name no flag.
        let text = creates_take(41, &[rate("30/h")], now).unwrap();
        assert!(
            text.starts_with("At the invite pace this page was started with (30 an hour) the 41 creates take about 1 h 3 min: done about "),
            "{text}"
        );
        let text = creates_take(35, &[rate("10/6s")], now).unwrap();
        assert!(
            text.starts_with("At the invite pace this page was started with (10 every 6 s) the 35 creates"),
            "{text}"
        );
        let assumed = creates_take(61, &[], now).unwrap();
        assert!(
            assumed.contains("about 30 invitations an hour per organization (full speed until it says so, then its pace): the 61 creates take about 2 h 6 min"),
            "{assumed}"
        );
        assert_eq!(creates_take(30, &[], now), None, "a small import is instant");
    }

    /// The pacer's own decisions, create by create, are the estimate's times.
    #[test]
    fn taking_places_keeps_the_estimate_it_started_from() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for rates in [vec![rate("10/6s")], vec![rate("2/1s"), rate("3/2s")]] {
            let mut schedule = Schedule::new(&rates);
            let promised = schedule.finish(35, start);
            let mut now = start;
            for _ in 0..35 {
                while let Err((at, _)) = schedule.take(now) {
                    now = at;
                }
            }
            assert_eq!(now, promised, "{rates:?}");
        }
        // 10 a 6 s window: 10 at once, then a window (6.3 s) for each further 10.
        let schedule = Schedule::new(&[rate("10/6s")]);
        assert_eq!(schedule.finish(10, start), start);
        assert_eq!(schedule.finish(35, start), start + Duration::from_millis(18_900));
    }

    /// Under a steady pace, the promise made at the start and each later estimate (what is
    /// done, plus what is left from there) are one finish time.
    #[test]
    fn the_promise_and_every_later_estimate_agree_under_a_steady_pace() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut schedule = Schedule::new(&[rate("10/6s")]);
        let promised = schedule.finish(35, start);
        let mut now = start;
        for done in 0..35u64 {
            assert_eq!(schedule.finish(35 - done, now), promised, "{done}");
            while let Err((at, _)) = schedule.take(now) {
                now = at;
            }
        }
    }

    #[test]
    fn a_cap_answer_holds_creates_until_its_window_reopens() {
        let reopens = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let mut schedule = Schedule::new(&[]);
        schedule.learn(Cap::full_until(rate("2/10s"), reopens));
        let at = reopens + Duration::from_millis(500);
        assert_eq!(
            schedule.take(reopens - Duration::from_secs(1)),
            Err((at, rate("2/10s")))
        );
        assert_eq!(schedule.take(at), Ok(()));
        assert_eq!(schedule.take(at), Ok(()));
        assert_eq!(
            schedule.take(at),
            Err((at + Duration::from_millis(10_500), rate("2/10s")))
        );
        assert_eq!(schedule.pace().words(), "the organization's invite cap, 2/10s");
        assert_eq!(
            Schedule::new(&[]).pace().words(),
            "Tallyfy's invite cap, about 30/1h (assumed)"
        );
    }

    /// A run bounded by `--max-wait` goes until the first wait longer than that, as the pacer
    /// does: the first window's creates, then it defers the rest.
    #[test]
    fn a_bound_stops_the_creates_at_the_first_wait_longer_than_it() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for rates in [vec![rate("10/6s")], vec![rate("10/6s"), rate("100/1h")]] {
            let mut schedule = Schedule::new(&rates);
            schedule.set_bound(Some(Duration::from_secs(1)));
            let estimate = schedule.estimate(35, start);
            assert_eq!(estimate.stop, Some((10, start)), "{rates:?}");
            assert_eq!(
                estimate.finish,
                start + Duration::from_millis(18_900),
                "the job: {rates:?}"
            );
            assert_eq!(schedule.finish(35, start), start, "the run: {rates:?}");
            let text = estimate.stop_sentence(start).unwrap();
            assert!(text.starts_with("Of the 35 creates, 10 go by "), "{text}");
            assert!(text.ends_with(" and 25 are deferred."), "{text}");
            schedule.set_bound(Some(Duration::from_secs(7)));
            assert_eq!(schedule.estimate(35, start).stop, None, "{rates:?}");
        }
        // Nothing known: Tallyfy's 30 an hour, assumed; the 31st would wait past the bound.
        let mut schedule = Schedule::new(&[]);
        schedule.set_bound(Some(Duration::from_secs(600)));
        assert_eq!(schedule.estimate(40, start).stop, Some((30, start)));
        let text = schedule.estimate(40, start).stop_sentence(start).unwrap();
        assert!(text.starts_with("Of the 40 creates, about 30 go by "), "{text}");
        assert!(text.ends_with(" and about 10 are deferred."), "{text}");
        // One a 2 s window, bounded at 1 s: the first goes, the second would wait 2.1 s.
        let mut one = Schedule::new(&[rate("1/2s")]);
        one.set_bound(Some(Duration::from_secs(1)));
        assert_eq!(one.estimate(3, start).stop, Some((1, start)));
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(Duration::from_millis(18_900)), "19 s");
        assert_eq!(human(Duration::from_secs(63)), "1 min");
        assert_eq!(human(Duration::from_secs(90)), "2 min");
        assert_eq!(human(Duration::from_secs(3600)), "1 h");
        assert_eq!(human(Duration::from_secs(4680)), "1 h 18 min");
        assert_eq!(human(Duration::from_secs(3 * 86400 + 7200)), "3 days 2 h");
    }
}
