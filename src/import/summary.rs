//! The run's account: counts per status, timing, pauses, retries; the exit code it implies; and
//! how it is shown on stderr (a short table for people, one event for JSON logs).

use std::collections::BTreeMap;
use std::time::Duration;

use super::results::Status;
use crate::error::exit;

#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub counts: BTreeMap<Status, u64>,
    pub elapsed: Duration,
    pub paused: Duration,
    pub retries: u64,
    pub rate_limited: u64,
    pub reconciliations: u64,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// How the input was read: encoding and delimiter, or workbook sheet.
    pub input: String,
}

impl Summary {
    pub fn count(&mut self, status: Status) {
        *self.counts.entry(status).or_default() += 1;
    }

    pub fn get(&self, status: Status) -> u64 {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    pub fn rows(&self) -> u64 {
        self.counts.values().sum()
    }

    /// 3 when anything was deferred, 1 when anything needs a person, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.get(Status::Deferred) > 0 || self.stopped.is_some() {
            exit::STOPPED
        } else if [Status::Invalid, Status::Conflict, Status::Failed]
            .iter()
            .any(|&s| self.get(s) > 0)
        {
            exit::PROBLEMS
        } else {
            exit::SUCCESS
        }
    }

    pub fn rows_per_second(&self) -> f64 {
        self.rows() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The summary as one structured log event (for `--log-format json`).
    pub fn log(&self, results: &str) {
        let count = |status| self.get(status);
        tracing::info!(
            rows = self.rows(),
            created = count(Status::Created),
            exists = count(Status::Exists),
            duplicate = count(Status::Duplicate),
            would_create = count(Status::WouldCreate),
            invalid = count(Status::Invalid),
            conflict = count(Status::Conflict),
            failed = count(Status::Failed),
            deferred = count(Status::Deferred),
            elapsed_seconds = self.elapsed.as_secs_f64(),
            rows_per_second = self.rows_per_second(),
            paused_seconds = self.paused.as_secs_f64(),
            retries = self.retries,
            rate_limited = self.rate_limited,
            reconciliations = self.reconciliations,
            stopped = self.stopped.as_deref(),
            exit_code = self.exit_code(),
            results,
            input = self.input.as_str(),
            "import finished"
        );
    }

    /// The human summary, a few lines.
    pub fn render(&self) -> String {
        let counts: Vec<String> = Status::ALL
            .iter()
            .filter(|&&s| self.get(s) > 0)
            .map(|&s| format!("{} {}", self.get(s), s))
            .collect();
        let mut text = format!(
            "{} rows: {}\n{:.1} s, {:.1} rows/s; paused by rate limits {:.1} s; {} retries, {} 429s, {} read-backs",
            self.rows(),
            if counts.is_empty() {
                "none".to_string()
            } else {
                counts.join(", ")
            },
            self.elapsed.as_secs_f64(),
            self.rows_per_second(),
            self.paused.as_secs_f64(),
            self.retries,
            self.rate_limited,
            self.reconciliations,
        );
        if !self.input.is_empty() {
            text.push_str(&format!("\ninput read as {}", self.input));
        }
        if let Some(reason) = &self.stopped {
            text.push_str(&format!(
                "\nstopped early: {reason}\nrun the same command again to continue"
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_worst_row() {
        let mut summary = Summary::default();
        for status in [Status::Created, Status::Exists, Status::Duplicate, Status::WouldCreate] {
            summary.count(status);
        }
        assert_eq!(summary.exit_code(), 0);
        summary.count(Status::Invalid);
        assert_eq!(summary.exit_code(), 1);
        summary.count(Status::Deferred);
        assert_eq!(summary.exit_code(), 3);
        assert!(
            summary
                .render()
                .starts_with("6 rows: 1 created, 1 exists, 1 duplicate, 1 would_create, 1 invalid, 1 deferred\n")
        );
    }
}
