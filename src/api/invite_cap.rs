//! The organization's invite cap as this tool learns it: read from the cap's own 429 ("You've
//! reached the hourly limit for Guest Invite (30 per hour per organization)" and its
//! `Retry-After`), kept as the schedule keeps any cap (`invite_pace::Cap`: so many invites a
//! window, each counted for a window from when it went), and remembered per organization in a small file of the user's state folder,
//! so that the next run paces from its first create (issue 32, point 1). What this module does
//! not do is decide to wait: the pacer does (`pacing.rs`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::invite_pace::Cap;
use crate::rate::Rate;

/// The cap read from its 429's message: `(N per hour per organization)`, or a window said as a
/// duration (`10 per 3s`, as the sandbox scales it down); `None` when the message gives none.
pub fn parse(message: &str) -> Option<Rate> {
    let (_, after) = message.split_once('(')?;
    let (inside, _) = after.split_once(')')?;
    let inside = inside.strip_suffix(" per organization")?;
    let (count, window) = inside.split_once(" per ")?;
    let window = match window.trim() {
        "hour" => "1h",
        "minute" => "1min",
        "day" => "1day",
        other => other,
    };
    format!("{}/{window}", count.trim()).parse().ok()
}

/// The remembered cap, as written to `<state>/caps/<org>.json`: the cap and the times of the
/// latest creates it counted.
#[derive(serde::Serialize, serde::Deserialize)]
struct Remembered {
    count: u32,
    period_seconds: f64,
    sent_unix_seconds: Vec<f64>,
}

/// The file an organization's cap is remembered in; `None` for an org id that is no plain
/// file name (it is never made into a path then).
pub fn file(state_dir: &Path, org: &str) -> Option<PathBuf> {
    let plain = !org.is_empty() && org.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plain.then(|| state_dir.join("caps").join(format!("{org}.json")))
}

/// The cap remembered in `file`, if one was (an unreadable file is as none: the first cap
/// answer teaches it again).
pub fn recall(file: &Path) -> Option<Cap> {
    let text = std::fs::read(file).ok()?;
    let kept: Remembered = serde_json::from_slice(&text).ok()?;
    let rate = Rate {
        count: std::num::NonZeroU32::new(kept.count)?,
        period: Duration::try_from_secs_f64(kept.period_seconds).ok()?,
    };
    let sent = kept.sent_unix_seconds.iter().map(|seconds| {
        Duration::try_from_secs_f64(*seconds)
            .ok()
            .map(|since| UNIX_EPOCH + since)
    });
    Some(Cap::with_sent(rate, sent.collect::<Option<Vec<SystemTime>>>()?))
}

/// Writes `cap` to `file` whole (a temporary file renamed over it), readable by this user
/// only; a failure is logged, never fatal: the memory only saves a 429.
pub fn remember(file: &Path, cap: &Cap) {
    let kept = Remembered {
        count: cap.rate.count.get(),
        period_seconds: cap.rate.period.as_secs_f64(),
        sent_unix_seconds: cap
            .sent()
            .map(|at| at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64())
            .collect(),
    };
    let write = || -> std::io::Result<()> {
        let dir = file.parent().ok_or_else(|| std::io::Error::other("no folder"))?;
        std::fs::create_dir_all(dir)?;
        // tempfile makes it 0600 on unix.
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut temp, &kept)?;
        temp.persist(file).map_err(|e| e.error)?;
        Ok(())
    };
    if let Err(error) = write() {
        tracing::warn!(file = %file.display(), "cannot remember the organization's invite cap: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_read_from_tallyfys_words_and_the_sandboxs() {
        let hourly =
            "You've reached the hourly limit for Guest Invite (30 per hour per organization). Please try again later.";
        assert_eq!(parse(hourly), Some("30/h".parse().unwrap()));
        let scaled = "You've reached the hourly limit for Guest Invite (10 per 3s per organization).";
        assert_eq!(parse(scaled), Some("10/3s".parse().unwrap()));
        assert_eq!(parse("Too Many Attempts."), None);
    }

    #[test]
    fn a_remembered_cap_reads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = file(dir.path(), "org1").unwrap();
        let cap = Cap::full_until("30/h".parse().unwrap(), UNIX_EPOCH + Duration::from_secs(7200));
        remember(&file, &cap);
        assert_eq!(recall(&file), Some(cap));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(super::file(dir.path(), "../etc"), None);
    }
}
