//! The server's clock, as its answers' `Date` headers tell it: when the run began (the first
//! answer) and the latest time seen. Results record these, not the local clock, so that a
//! skewed local clock can neither widen nor close the window `undo` checks a guest's
//! `created_at` against. This is the one place the header is read.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the server's `Date` headers have said so far (second granularity, as the header has).
#[derive(Debug, Default)]
pub struct ServerClock {
    started: OnceLock<SystemTime>,
    /// Seconds since the epoch of the latest `Date` seen; 0 for none.
    latest: AtomicU64,
}

impl ServerClock {
    /// Takes an answer's `Date` header (ignored when it is not an HTTP date).
    pub fn saw_header(&self, value: &str) {
        if let Ok(when) = httpdate::parse_http_date(value.trim()) {
            self.saw(when);
        }
    }

    /// Takes a time the server gave.
    pub fn saw(&self, when: SystemTime) {
        let _ = self.started.set(when);
        let seconds = when.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.latest.fetch_max(seconds, Ordering::Relaxed);
    }

    /// The server's time at the run's first answer, if any answer said.
    pub fn started(&self) -> Option<SystemTime> {
        self.started.get().copied()
    }

    /// The latest server time seen, if any answer said.
    pub fn latest(&self) -> Option<SystemTime> {
        match self.latest.load(Ordering::Relaxed) {
            0 => None,
            seconds => Some(UNIX_EPOCH + Duration::from_secs(seconds)),
        }
    }
}

/// A time as results files write it: RFC 3339, UTC, whole seconds.
pub fn rfc3339(when: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(when).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A time as results files or the API write it (RFC 3339, or the older `Y-m-d H:i:s`, read as
/// UTC); `None` for anything else.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if let Ok(when) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(when.with_timezone(&chrono::Utc).into());
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|naive| naive.and_utc().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_date_is_the_start_and_the_latest_only_grows() {
        let clock = ServerClock::default();
        assert_eq!((clock.started(), clock.latest()), (None, None));
        clock.saw_header("not a date");
        clock.saw_header("Sun, 06 Nov 1994 08:49:37 GMT");
        clock.saw_header("Sun, 06 Nov 1994 08:49:40 GMT");
        clock.saw_header("Sun, 06 Nov 1994 08:49:38 GMT");
        assert_eq!(rfc3339(clock.started().unwrap()), "1994-11-06T08:49:37Z");
        assert_eq!(rfc3339(clock.latest().unwrap()), "1994-11-06T08:49:40Z");
        assert_eq!(parse_time("1994-11-06T08:49:37Z"), clock.started());
        assert_eq!(parse_time("1994-11-06 08:49:37"), clock.started());
        assert_eq!(parse_time("1994-11-06T09:49:37+01:00"), clock.started());
        assert_eq!(parse_time("yesterday"), None);
    }
}
