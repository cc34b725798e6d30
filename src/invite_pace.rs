//! How long creates take under the invite pace (`--invite-rate`, evenly spread, the first at
//! once) and Tallyfy's hourly invite cap, in the words a person reads: one text for the CLI's
//! question and the page's confirmation. A leaf: it knows rates and clocks, nothing of a run.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local};

use crate::rate::Rate;

/// Tallyfy's documented hourly cap on guest invitations per organization (see
/// `../shared/tallyfy-api.md`): more creates than this in an hour wait for it.
const INVITE_CAP_PER_HOUR: u64 = 30;

/// The time between two creates at the slowest `--invite-rate`.
pub fn interval(rates: &[Rate]) -> Option<Duration> {
    rates.iter().map(|rate| rate.period / rate.count.get()).max()
}

/// The one model of how long creates take at a steady pace, which the question, the page, the
/// bar's ETA and the heartbeat all use, so that they agree (issue 32): `creates` still to send,
/// `interval` apart; before the first has gone (`started` false) it goes at once, after that
/// the next waits its interval.
pub fn paced_time(creates: f64, interval: Duration, started: bool) -> Duration {
    let gaps = if started { creates } else { (creates - 1.0).max(0.0) };
    interval.mul_f64(gaps.min(1e9))
}

/// How long `creates` take, and when they will be done; `None` when it is quick (under a
/// minute).
pub fn creates_take(creates: u64, rates: &[Rate], now: SystemTime) -> Option<String> {
    let slowest = rates.iter().max_by_key(|rate| rate.period / rate.count.get());
    let paced = interval(rates).map_or(Duration::ZERO, |interval| paced_time(creates as f64, interval, false));
    // Past the cap, each further hour's worth waits for the window to open again.
    let capped = Duration::from_secs(3600 * (creates.saturating_sub(1) / INVITE_CAP_PER_HOUR));
    let takes = paced.max(capped);
    if takes < Duration::from_secs(60) {
        return None;
    }
    let done: DateTime<Local> = (now + takes).into();
    let why = match slowest {
        Some(rate) if paced >= capped => format!("At --invite-rate {rate}"),
        _ => format!("Tallyfy allows about {INVITE_CAP_PER_HOUR} invitations an hour per organization:"),
    };
    let when = if takes >= Duration::from_secs(20 * 3600) {
        done.format("%a %-d %b %H:%M %:z")
    } else {
        done.format("%H:%M %:z")
    };
    Some(format!(
        "{why} the {creates} creates take about {}: done about {when}.",
        human(takes)
    ))
}

/// A duration as a person says it: `2 min`, `1 h 18 min`, `2 days 3 h`.
pub fn human(duration: Duration) -> String {
    let minutes = duration.as_secs().div_ceil(60);
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

    #[test]
    fn paced_creates_say_how_long_and_when() {
        let rates: Vec<Rate> = vec!["30/h".parse().unwrap()];
        let text = creates_take(41, &rates, SystemTime::now()).unwrap();
        assert!(
            text.starts_with("At --invite-rate 30/1h the 41 creates take about 1 h 20 min: done about "),
            "{text}"
        );
        let capped = creates_take(61, &[], SystemTime::now()).unwrap();
        assert!(
            capped.contains("about 30 invitations an hour per organization: the 61 creates take about 2 h"),
            "{capped}"
        );
        assert_eq!(creates_take(5, &[], SystemTime::now()), None);
        assert_eq!(interval(&rates), Some(Duration::from_secs(120)));
    }

    /// Under a steady pace, what is promised at the start and what is done plus what is left at
    /// each later create are one finish time.
    #[test]
    fn the_promise_and_every_later_eta_agree_under_a_steady_pace() {
        let interval = Duration::from_secs(120);
        let promised = paced_time(41.0, interval, false);
        assert_eq!(promised, Duration::from_secs(40 * 120));
        for done in 1..=41u32 {
            // The `done`th create went at (done - 1) intervals; the rest follow it.
            let elapsed = interval * (done - 1);
            assert_eq!(
                elapsed + paced_time(f64::from(41 - done), interval, true),
                promised,
                "{done}"
            );
        }
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(Duration::from_secs(61)), "2 min");
        assert_eq!(human(Duration::from_secs(3600)), "1 h");
        assert_eq!(human(Duration::from_secs(4680)), "1 h 18 min");
        assert_eq!(human(Duration::from_secs(3 * 86400 + 7200)), "3 days 2 h");
    }
}
