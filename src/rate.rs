//! A rate such as `10/s`, `600/min` or `30/h`: the one value type shared by the flags, the
//! configuration, the pacer and the sandbox's faults (a leaf: it depends on nothing here).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::Quota;

/// The longest period a rate may have.
const MAX_PERIOD: Duration = Duration::from_secs(366 * 24 * 3600);

/// A quota such as `10/s`, `600/min`, `30/h` or `100/5min`: at most `count` per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many.
    pub count: NonZeroU32,
    /// Per how long.
    pub period: Duration,
}

impl Rate {
    /// The quota spread evenly (burst of one): `30/h` sends one request every two minutes
    /// rather than thirty at once, so a server-side window of the same size is never exceeded.
    pub fn even_quota(&self) -> Quota {
        let interval = self.period / self.count.get();
        Quota::with_period(interval.max(Duration::from_nanos(1))).expect("interval is non-zero")
    }

    /// The quota with the whole count available at once (how servers usually count a window).
    pub fn burst_quota(&self) -> Quota {
        self.even_quota().allow_burst(self.count)
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a rate: write it as N/PERIOD, e.g. 10/s, 600/min or 30/h");
        let (count, period) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let count = NonZeroU32::new(count).ok_or_else(bad)?;
        let period = period.trim();
        // `min` alone means one minute; humantime wants a number in front of the unit.
        let period = if period.starts_with(|c: char| c.is_ascii_digit()) {
            humantime::parse_duration(period)
        } else {
            humantime::parse_duration(&format!("1{period}"))
        }
        .map_err(|_| bad())?;
        if period.is_zero() {
            return Err(bad());
        }
        // governor counts in u64 nanoseconds (585 years); a year is more than any quota needs.
        if period > MAX_PERIOD {
            return Err(format!(
                "`{text}`: a rate's period can be at most a year (e.g. 30/h, 1000/day)"
            ));
        }
        Ok(Rate { count, period })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, humantime::format_duration(self.period))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_in_the_forms_people_write() {
        for (text, count, secs) in [
            ("10/s", 10, 1),
            ("600/min", 600, 60),
            ("30/h", 30, 3600),
            ("30/hour", 30, 3600),
            ("100/5min", 100, 300),
            (" 5 / 2s ", 5, 2),
        ] {
            let rate: Rate = text.parse().unwrap();
            assert_eq!(
                (rate.count.get(), rate.period),
                (count, Duration::from_secs(secs)),
                "{text}"
            );
        }
        for bad in [
            "",
            "10",
            "0/s",
            "-1/s",
            "10/",
            "10/fortnightly",
            "x/s",
            "10/0s",
            "1/585y",
            "1/2y",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn client_quotas_are_spread_evenly_with_no_burst() {
        let quota = "30/h".parse::<Rate>().unwrap().even_quota();
        assert_eq!(quota.replenish_interval(), Duration::from_secs(120));
        assert_eq!(quota.burst_size().get(), 1);
        let server = "50/s".parse::<Rate>().unwrap().burst_quota();
        assert_eq!(server.replenish_interval(), Duration::from_millis(20));
        assert_eq!(server.burst_size().get(), 50);
    }
}
