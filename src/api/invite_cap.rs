//! The organization's invite cap as this tool learns it: read from the cap's own 429 ("You've
//! reached the hourly limit for Guest Invite (30 per hour per organization)" and its
//! `Retry-After`), kept as a fixed window (how the cap counts: so many invites, then none until
//! the window ends), and remembered per organization in a small file of the user's state folder,
//! so that the next run paces from its first create (issue 32, point 1). What this module does
//! not do is decide to wait: the pacer does (`pacing.rs`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// The cap's current window: when it began, and how many invites it has taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// So many invites per window.
    pub cap: Rate,
    /// When this window began (the cap's own, as far as its answers tell).
    pub started: SystemTime,
    /// Invites this window has taken.
    pub used: u32,
}

impl Window {
    /// The window a cap answer says is full until `reopens`.
    pub fn full_until(cap: Rate, reopens: SystemTime) -> Window {
        Window {
            cap,
            started: reopens.checked_sub(cap.period).unwrap_or(UNIX_EPOCH),
            used: cap.count.get(),
        }
    }

    /// Takes one invite at `now`: `Ok` when the window has room (a new window opens once the
    /// last one has ended), else `Err(when it reopens)`.
    pub fn take(&mut self, now: SystemTime) -> Result<(), SystemTime> {
        // The window as seen here starts when a create leaves, the cap's own when it arrives:
        // a twentieth of the period more keeps the next window's first create from arriving
        // while the cap still counts the last one.
        let ends = self.started + self.cap.period + self.cap.period / 20;
        if now >= ends {
            self.started = now;
            self.used = 0;
        }
        if self.used >= self.cap.count.get() {
            return Err(ends);
        }
        self.used += 1;
        Ok(())
    }
}

/// The remembered window, as written to `<state>/caps/<org>.json`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Remembered {
    count: u32,
    period_seconds: f64,
    started_unix_seconds: f64,
    used: u32,
}

/// The file an organization's cap is remembered in; `None` for an org id that is no plain
/// file name (it is never made into a path then).
pub fn file(state_dir: &Path, org: &str) -> Option<PathBuf> {
    let plain = !org.is_empty() && org.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plain.then(|| state_dir.join("caps").join(format!("{org}.json")))
}

/// The window remembered in `file`, if one was (an unreadable file is as none: the first cap
/// answer teaches it again).
pub fn recall(file: &Path) -> Option<Window> {
    let text = std::fs::read(file).ok()?;
    let kept: Remembered = serde_json::from_slice(&text).ok()?;
    let cap = Rate {
        count: std::num::NonZeroU32::new(kept.count)?,
        period: Duration::try_from_secs_f64(kept.period_seconds).ok()?,
    };
    Some(Window {
        cap,
        started: UNIX_EPOCH + Duration::try_from_secs_f64(kept.started_unix_seconds).ok()?,
        used: kept.used,
    })
}

/// Writes `window` to `file` whole (a temporary file renamed over it), readable by this user
/// only; a failure is logged, never fatal: the memory only saves a 429.
pub fn remember(file: &Path, window: &Window) {
    let kept = Remembered {
        count: window.cap.count.get(),
        period_seconds: window.cap.period.as_secs_f64(),
        started_unix_seconds: window
            .started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64(),
        used: window.used,
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
    fn a_window_takes_its_count_then_waits_for_its_end() {
        let start = UNIX_EPOCH + Duration::from_secs(1000);
        let mut window = Window::full_until("2/10s".parse().unwrap(), start);
        let reopens = start + Duration::from_millis(500);
        assert_eq!(window.take(start - Duration::from_secs(1)), Err(reopens));
        assert_eq!(window.take(reopens), Ok(()));
        assert_eq!(window.take(start + Duration::from_secs(10)), Ok(()));
        let next = reopens + Duration::from_millis(10_500);
        assert_eq!(window.take(start + Duration::from_secs(10)), Err(next));
        assert_eq!(window.take(next), Ok(()));
    }

    #[test]
    fn a_remembered_window_reads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = file(dir.path(), "org1").unwrap();
        let window = Window::full_until("30/h".parse().unwrap(), UNIX_EPOCH + Duration::from_secs(7200));
        remember(&file, &window);
        assert_eq!(recall(&file), Some(window));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(super::file(dir.path(), "../etc"), None);
    }
}
