//! The run's account: counts per status, timing, pauses, retries; the exit code it implies; and
//! how it is shown on stderr (a short table for people, one event for JSON logs). It holds the
//! `Next` command it shows; `next` builds one from a summary (and so names this module, never
//! the reverse).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::api::Client;
use crate::config::Job;
use crate::engine::outcome::Status;
use crate::error::{Exit, RunError};
use crate::files::output::AtomicFile;
use crate::input::Source;
use crate::modes::{OnExisting, OnMissing};

/// What to do next, as the summary carries it (`next::advice` builds it): the advice printed on
/// stderr (`next: fix ..., then run: CMD`) and the command alone (the summary JSON's
/// `next_command`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    pub advice: String,
    pub command: String,
}

#[derive(Debug, Clone, Default)]
/// The run's account, as the summary on stderr and `--summary-json` show it.
pub struct Summary {
    /// Rows per status.
    pub counts: BTreeMap<Status, u64>,
    /// How long the run took.
    pub elapsed: Duration,
    /// Time every request was paused by 429s.
    pub paused: Duration,
    /// When the creates of the plan a person confirmed were to be done, as estimated at the
    /// yes (those before the first wait past an explicit `--max-wait`, when one stops them;
    /// none when nobody confirmed a plan).
    pub estimated_finish: Option<SystemTime>,
    /// The invite pace that estimate assumed, in words (a run that asked nothing: the pace its
    /// creates kept by its end; none when it sent no create).
    pub pace: Option<String>,
    /// Resends after transient failures.
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Read-backs of creates whose answer was lost or that found the email taken.
    pub reconciliations: u64,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// The stop was `--max-missing` holding `--on-missing` back: running again changes nothing.
    pub held_back: bool,
    /// The command that ran (`import` or `undo`: its log event says so).
    pub command: &'static str,
    /// How the input was read: encoding and delimiter, or workbook sheet.
    pub input: String,
    /// Guests in Tallyfy but not in the file (with `--report-missing`).
    pub missing: Option<u64>,
    /// Guests in Tallyfy the file mentions only where it imports no email (a second email
    /// column, a note, an invalid row): kept, never missing (with `--report-missing`; shown as
    /// null without it). A plain number: `Event::Finished` carries the summary, and clippy
    /// bounds how large it may grow.
    pub kept_mentioned: u64,
    /// With `--on-missing disable|delete`: the mode, and what became of the missing guests.
    pub missing_done: Option<(OnMissing, BTreeMap<Status, u64>)>,
    /// The first rows that need a person (`invalid`, `conflict`, `failed`): row, status, why.
    pub attention: Vec<(u64, Status, String)>,
    /// Columns that look like a guest field but are not imported, each with the `--map` that
    /// would take it (the lines the log said before the run).
    pub unmapped_hints: Vec<String>,
    /// The run was a dry run: its summary on stderr repeats `unmapped_hints`, the last look
    /// before the real run.
    pub dry_run: bool,
    /// When rows need a person: the one command to run next (the fix loop's `--retry-from`).
    pub next: Option<Next>,
    /// Where the results went (`None`: stdout).
    pub results: Option<std::path::PathBuf>,
    /// The client's account of the run (none offline): for `--summary-json`.
    pub requests: Option<Requests>,
    /// A report (`--report-missing`) that could not be written at the end: said after the
    /// summary, which still counts what was done.
    pub report_failed: Option<String>,
}

/// What the client saw over the run: requests sent, their latency, token renewals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Requests {
    /// Requests sent (retries and read-backs included).
    pub requests: u64,
    /// Median and 95th percentile latency, in milliseconds.
    pub latency_ms: (Option<f64>, Option<f64>),
    /// Tokens obtained again (client credentials).
    pub token_renewals: u64,
}

impl Requests {
    /// The client's counts so far.
    pub fn of(client: &Client) -> Requests {
        let stats = client.stats();
        let ms = |q| {
            stats
                .latency
                .quantile(q)
                .map(|d| (d.as_secs_f64() * 1e5).round() / 100.0)
        };
        Requests {
            requests: stats.requests.load(std::sync::atomic::Ordering::Relaxed),
            latency_ms: (ms(0.5), ms(0.95)),
            token_renewals: client.token_renewals(),
        }
    }
}

/// Rows needing attention that the summary lists; the results file has them all.
const ATTENTION_SHOWN: usize = 10;

/// `1 row`, `2 rows`.
fn plural(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The summary's fields in `--summary-json` (documented in docs/automation.md).
impl Serialize for Summary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let counts: BTreeMap<&str, u64> = Status::all().map(|s| (s.as_str(), self.get(s))).collect();
        let mut map = serializer.serialize_map(Some(14))?;
        map.serialize_entry("input_format", &(!self.input.is_empty()).then_some(&self.input))?;
        map.serialize_entry("rows", &self.rows())?;
        map.serialize_entry("counts", &counts)?;
        map.serialize_entry("missing", &self.missing)?;
        map.serialize_entry("kept_mentioned", &self.missing.map(|_| self.kept_mentioned))?;
        let missing_done = self.missing_done.as_ref().map(|(mode, counts)| {
            let counts: BTreeMap<&str, u64> = counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
            serde_json::json!({ "on_missing": mode.to_string(), "counts": counts })
        });
        map.serialize_entry("missing_done", &missing_done)?;
        map.serialize_entry("elapsed_seconds", &self.elapsed.as_secs_f64())?;
        map.serialize_entry("rows_per_second", &self.rows_per_second())?;
        let finish = self
            .estimated_finish
            .map(|at| humantime::format_rfc3339_millis(at).to_string());
        map.serialize_entry("estimated_finish", &finish)?;
        map.serialize_entry("pace", &self.pace)?;
        map.serialize_entry("paused_seconds", &self.paused.as_secs_f64())?;
        map.serialize_entry("retries", &self.retries)?;
        map.serialize_entry("rate_limited", &self.rate_limited)?;
        map.serialize_entry("reconciliations", &self.reconciliations)?;
        map.serialize_entry("stopped", &self.stopped)?;
        map.serialize_entry("unmapped_hints", &self.unmapped_hints)?;
        map.serialize_entry("next_command", &self.next.as_ref().map(|next| &next.command))?;
        map.end()
    }
}

impl Summary {
    /// Takes the pacer's account of the creates: the confirmed plan's promised finish and the
    /// pace it assumed, or the pace the creates kept.
    pub fn estimated(&mut self, pacer: &crate::api::pacing::Pacer) {
        let promised = pacer.promised().filter(|estimate| estimate.creates > 0);
        let schedule = pacer.invite_schedule();
        self.estimated_finish = promised.as_ref().map(|estimate| estimate.run_finish());
        let pace = match promised {
            Some(estimate) => Some(estimate.pace),
            None => (schedule.taken() > 0).then(|| schedule.pace()),
        };
        self.pace = pace.map(|pace| pace.words());
    }

    /// Records what `--on-missing` did; a run it held back stops (exit 3) with its reason.
    pub fn on_missing(
        &mut self,
        mode: OnMissing,
        outcomes: &[crate::engine::outcome::Outcome],
        stopped: Option<String>,
    ) {
        let mut counts = BTreeMap::new();
        for outcome in outcomes {
            *counts.entry(outcome.status).or_default() += 1;
            if outcome.status == Status::Failed && self.attention.len() < ATTENTION_SHOWN {
                self.attention
                    .push((0, outcome.status, format!("a missing guest: {}", outcome.message)));
            }
        }
        self.missing_done = Some((mode, counts));
        if self.stopped.is_none() && stopped.is_some() {
            self.stopped = stopped;
            self.held_back = true;
        }
    }

    /// Missing guests `--on-missing` left with this status.
    fn missing_with(&self, status: Status) -> u64 {
        self.missing_done
            .as_ref()
            .and_then(|(_, counts)| counts.get(&status).copied())
            .unwrap_or(0)
    }

    /// Counts one finished row.
    pub fn count(&mut self, status: Status) {
        *self.counts.entry(status).or_default() += 1;
    }

    /// Counts a finished row, keeping the first few that need a person.
    pub fn finished(&mut self, row: u64, status: Status, message: &str) {
        self.count(status);
        if status.needs_a_person() && self.attention.len() < ATTENTION_SHOWN {
            self.attention.push((row, status, message.to_string()));
        }
    }

    /// Rows that need a person.
    fn needing_attention(&self) -> u64 {
        Status::all()
            .filter(|status| status.needs_a_person())
            .map(|status| self.get(status))
            .sum()
    }

    /// Rows with this status.
    pub fn get(&self, status: Status) -> u64 {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    /// Rows in all.
    pub fn rows(&self) -> u64 {
        self.counts.values().sum()
    }

    /// 1 when anything needs a person, else 3 when anything was deferred or the run stopped,
    /// else 0. A person's rows come first: a nightly job whose monitoring tolerates 3 while a
    /// backlog drains under the invite cap must still be told of an invalid row the same night.
    pub fn exit(&self) -> Exit {
        if Status::all().any(|status| status.needs_a_person() && self.get(status) > 0)
            || self.missing_with(Status::Failed) > 0
        {
            Exit::Problems
        } else if self.get(Status::Deferred) > 0 || self.missing_with(Status::Deferred) > 0 || self.stopped.is_some() {
            Exit::Stopped
        } else {
            Exit::Success
        }
    }

    /// Rows per second over the run.
    /// Rows finished per second: deferred rows were not done, so they do not count.
    pub fn rows_per_second(&self) -> f64 {
        (self.rows() - self.get(Status::Deferred)) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The summary as one structured log event (for `--log-format json`).
    pub fn log(&self, results: &str) {
        let count = |status| self.get(status);
        tracing::info!(
            rows = self.rows(),
            created = count(Status::Created),
            updated = count(Status::Updated),
            exists = count(Status::Exists),
            duplicate = count(Status::Duplicate),
            would_create = count(Status::WouldCreate),
            would_update = count(Status::WouldUpdate),
            enabled = count(Status::Enabled),
            would_enable = count(Status::WouldEnable),
            deleted = count(Status::Deleted),
            disabled = count(Status::Disabled),
            already_gone = count(Status::AlreadyGone),
            not_created_here = count(Status::NotCreatedHere),
            changed_since = count(Status::ChangedSince),
            used_since = count(Status::UsedSince),
            unproven = count(Status::Unproven),
            in_use = count(Status::InUse),
            would_delete = count(Status::WouldDelete),
            would_disable = count(Status::WouldDisable),
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
            missing = self.missing,
            kept_mentioned = self.kept_mentioned,
            stopped = self.stopped.as_deref(),
            next_command = self.next.as_ref().map(|next| next.command.as_str()),
            exit_code = self.exit().code(),
            results,
            input = self.input.as_str(),
            "{} finished",
            self.command
        );
    }

    /// Shows the summary on stderr: one event with `--log-format json`, a few lines otherwise;
    /// a stop as a warning; with `--quiet`, one line when the exit code is not 0; then a report
    /// that could not be written, as an error.
    pub fn show(&self, ui: crate::logging::Ui) {
        let target = self
            .results
            .as_ref()
            .map_or("stdout".to_string(), |p| p.display().to_string());
        if ui.quiet {
            if let Some(line) = self.quiet_line(&target) {
                crate::logging::warning(ui, &line);
            }
        } else if ui.json {
            self.log(&target);
        } else {
            // The one next step comes last, where the eye lands when the run ends.
            let next = self
                .next
                .as_ref()
                .map_or(String::new(), |next| format!("\nnext: {}", next.advice));
            crate::logging::lines(&format!("{}\nresults: {target}{next}", self.render_counts(&target)));
        }
        if !ui.quiet
            && let Some(reason) = &self.stopped
        {
            let again = if self.held_back {
                ""
            } else {
                "; run the same command again to continue"
            };
            tracing::warn!("stopped early: {reason}{again}");
        }
        if let Some(error) = &self.report_failed {
            tracing::error!("{error}: what was done is counted above, and every act is in the acts journal");
        }
    }

    /// The one line `--quiet` still owes when the exit code is not 0: what needs a person, or
    /// why the run stopped, and where to look.
    fn quiet_line(&self, results: &str) -> Option<String> {
        let needing = self.needing_attention() + self.missing_with(Status::Failed);
        let stopped = self.stopped.as_deref().map(|reason| format!("stopped early: {reason}"));
        let mut said = Vec::new();
        if needing > 0 {
            said.push(format!("{} need a person", plural(needing, "row", "rows")));
        }
        let deferred = self.get(Status::Deferred);
        if deferred > 0 {
            said.push(format!("{} deferred", plural(deferred, "row", "rows")));
        }
        said.extend(stopped);
        if said.is_empty() {
            return None;
        }
        let next = self
            .next
            .as_ref()
            .map_or(String::new(), |next| format!("; next: {}", next.advice));
        Some(format!(
            "{} {}: {} (see {results}){next}",
            self.command,
            "finished",
            said.join("; ")
        ))
    }

    /// The human summary, a few lines, with the first rows needing a person and why the run
    /// stopped early; `results` is where the rest are.
    pub fn render(&self, results: &str) -> String {
        let mut text = self.render_counts(results);
        if let Some(reason) = &self.stopped {
            text.push_str(&format!("\nstopped early: {reason}"));
            if !self.held_back {
                text.push_str("\nrun the same command again to continue");
            }
        }
        text
    }

    /// The summary's lines without the stop (said as a warning of its own on stderr).
    fn render_counts(&self, results: &str) -> String {
        let counts: Vec<String> = Status::all()
            .filter(|&s| self.get(s) > 0)
            .map(|s| format!("{} {}", self.get(s), s))
            .collect();
        let mut text = format!(
            "{}: {}\n{:.1} s, {:.1} rows/s; paused by rate limits {:.1} s; {}, {}, {}",
            plural(self.rows(), "row", "rows"),
            if counts.is_empty() {
                "none".to_string()
            } else {
                counts.join(", ")
            },
            self.elapsed.as_secs_f64(),
            self.rows_per_second(),
            self.paused.as_secs_f64(),
            plural(self.retries, "retry", "retries"),
            plural(self.rate_limited, "429", "429s"),
            plural(self.reconciliations, "read-back", "read-backs"),
        );
        if !self.attention.is_empty() {
            text.push_str("\nneeding attention:");
            for (row, status, message) in &self.attention {
                text.push_str(&format!("\n  row {row}: {status}: {message}"));
            }
            let all = self.needing_attention();
            if all > self.attention.len() as u64 {
                text.push_str(&format!("\n  ... see {results} for all {all}"));
            }
        }
        // Tallyfy gives an enabled guest a new link and the old one stops working: whoever
        // sent the old link must send the new one (result_link).
        let enabled = self.get(Status::Enabled);
        if enabled > 0 {
            text.push_str(&format!(
                "\n{} enabled: each has a new guest link (result_link in {results}); their old links no longer work",
                plural(enabled, "guest was", "guests were")
            ));
        }
        if let Some(missing) = self.missing {
            let done = match &self.missing_done {
                Some((mode, counts)) => {
                    let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
                    format!(": {} (--on-missing {mode})", counts.join(", "))
                }
                None => " (--report-missing)".to_string(),
            };
            text.push_str(&format!(
                "\n{} in Tallyfy {} not in the file{done}",
                plural(missing, "guest", "guests"),
                if missing == 1 { "is" } else { "are" }
            ));
        }
        if let kept @ 1.. = self.kept_mentioned {
            text.push_str(&format!(
                "\n{} kept: the file mentions {} only where it imports no email",
                plural(kept, "guest", "guests"),
                if kept == 1 { "it" } else { "them" }
            ));
        }
        if !self.input.is_empty() {
            text.push_str(&format!("\ninput read as {}", self.input));
        }
        if self.dry_run && !self.unmapped_hints.is_empty() {
            text.push_str("\nnot imported, though they look like guest fields:");
            for hint in &self.unmapped_hints {
                text.push_str(&format!("\n  {hint}"));
            }
        }
        text
    }
}

/// `--summary-json`: the run's account for monitoring, written (atomically) however the run
/// ends, a usage error included. The fields are documented in docs/automation.md.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryFile {
    tool: &'static str,
    version: &'static str,
    command: &'static str,
    started_at: String,
    finished_at: String,
    input: Option<String>,
    /// Hex SHA-256 of the input file's bytes; null for stdin.
    input_sha256: Option<String>,
    results: Option<String>,
    dry_run: bool,
    on_existing: &'static str,
    /// The run's account (rows, counts, timing, pauses, retries, why it stopped), as the
    /// stderr summary shows it.
    #[serde(flatten)]
    summary: Summary,
    requests: u64,
    latency_ms: Percentiles,
    exit_code: u8,
    error: Option<String>,
    token_renewals: u64,
    #[serde(skip)]
    started: SystemTime,
    #[serde(skip)]
    hash: bool,
    /// The input to hash once set-up has said whether it read it whole already.
    #[serde(skip)]
    to_hash: Option<std::path::PathBuf>,
    /// Its path was found unsafe to write (the input's, or another output's).
    #[serde(skip)]
    blocked: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Percentiles {
    p50: Option<f64>,
    p95: Option<f64>,
}

impl SummaryFile {
    /// The account of a run starting now, with the mode it runs in.
    pub fn new(job: &Job, started: SystemTime) -> Self {
        let mut file = SummaryFile::bare(job.kind.command(), job.dry_run, job.kind.on_existing(), started);
        file.hash = job.output.summary_json.is_some();
        file
    }

    /// The account of a command that ends before its flags are understood (a flag clap
    /// refused): what is known from the command line, and nothing done.
    pub fn bare(command: &'static str, dry_run: bool, on_existing: OnExisting, started: SystemTime) -> Self {
        SummaryFile {
            tool: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            command,
            started_at: humantime::format_rfc3339_seconds(started).to_string(),
            finished_at: String::new(),
            input: None,
            input_sha256: None,
            results: None,
            dry_run,
            on_existing: match on_existing {
                OnExisting::Skip => "skip",
                OnExisting::Update => "update",
            },
            summary: Summary::default(),
            requests: 0,
            latency_ms: Percentiles::default(),
            exit_code: Exit::Success.code(),
            error: None,
            token_renewals: 0,
            started,
            hash: false,
            to_hash: None,
            blocked: false,
        }
    }

    /// Records which input is read and, when a summary file is wanted, that its SHA-256 is to
    /// be taken: from set-up's own reading when it read the file whole (`set_up`), else by
    /// reading it once more (only a regular file: a stream is read once).
    pub fn hash_input(&mut self, source: &Source) {
        self.input = Some(source.display());
        if self.hash {
            self.to_hash = source.regular_file().map(Path::to_path_buf);
        }
    }

    /// Set-up is done: the input's SHA-256 as set-up read it, or read now.
    pub fn set_up(&mut self, input_sha256: Option<String>) {
        if let Some(path) = self.to_hash.take() {
            self.input_sha256 = input_sha256.or_else(|| sha256(&path).ok());
        }
    }

    /// The run's account: its summary, where its results went, and the client's counts.
    pub fn summary(&mut self, summary: Summary) {
        // A report that could not be written at the end (the run's exit is then 1, though the
        // run itself did not fail) is the account's error: monitoring must not read `null`.
        if let Some(failed) = &summary.report_failed {
            self.error = Some(failed.clone());
        }
        self.results = Some(
            summary
                .results
                .as_ref()
                .map_or("stdout".into(), |p| p.display().to_string()),
        );
        if let Some(requests) = &summary.requests {
            self.token_renewals = requests.token_renewals;
            self.requests = requests.requests;
            self.latency_ms = Percentiles {
                p50: requests.latency_ms.0,
                p95: requests.latency_ms.1,
            };
        }
        self.summary = summary;
    }

    /// Writes the file with the run's outcome: its exit code, and the error if it failed.
    /// The summary's own path is a set-up problem: nothing is written there.
    pub fn do_not_write(&mut self) {
        self.blocked = true;
    }

    /// Writes the account to `path` (atomically, or in place for a special file).
    pub fn write(&mut self, path: &Path, outcome: &Result<Exit, RunError>) -> Result<(), RunError> {
        if self.blocked {
            return Ok(());
        }
        // A run that ended before set-up was done (a set-up problem) still says what it read.
        self.set_up(None);
        self.finished_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        if self.summary.elapsed.is_zero() {
            self.summary.elapsed = self.started.elapsed().unwrap_or_default();
        }
        match outcome {
            Ok(exit) => self.exit_code = exit.code(),
            Err(error) => {
                self.exit_code = error.exit().code();
                self.error = Some(error.render());
            }
        }
        let what = || format!("cannot write the summary {}", path.display());
        // `-`: stdout, for a pipeline into monitoring (the results then go to a file).
        if path.as_os_str() == "-" {
            let mut stdout = std::io::stdout();
            serde_json::to_writer_pretty(&mut stdout, self).map_err(|e| RunError::io(what(), e.into()))?;
            return stdout.write_all(b"\n").map_err(|e| RunError::io(what(), e));
        }
        let mut file = AtomicFile::create(path).map_err(|e| RunError::io(what(), e))?;
        serde_json::to_writer_pretty(&mut *file.writer(), self).map_err(|e| RunError::io(what(), e.into()))?;
        file.writer().write_all(b"\n").map_err(|e| RunError::io(what(), e))?;
        file.commit().map_err(|e| RunError::io(what(), e))
    }
}

fn sha256(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
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
        assert_eq!(summary.exit(), Exit::Success);
        summary.count(Status::Invalid);
        assert_eq!(summary.exit(), Exit::Problems);
        // A stop never hides a row that needs a person.
        summary.count(Status::Deferred);
        assert_eq!(summary.exit(), Exit::Problems);
        let mut stopped = Summary::default();
        stopped.count(Status::Created);
        stopped.count(Status::Deferred);
        assert_eq!(stopped.exit(), Exit::Stopped);
        assert!(
            summary
                .render("r.csv")
                .starts_with("6 rows: 1 created, 1 exists, 1 duplicate, 1 would_create, 1 invalid, 1 deferred\n")
        );
    }

    #[test]
    fn a_dry_run_summary_lists_the_unmapped_hints_once_and_a_real_run_only_in_its_json() {
        let mut summary = Summary::default();
        summary.count(Status::WouldCreate);
        summary.unmapped_hints = vec!["column \"Mob.\" looks like a phone".into()];
        assert!(!summary.render("r.csv").contains("Mob."));
        assert_eq!(
            serde_json::to_value(&summary).unwrap()["unmapped_hints"],
            serde_json::json!(["column \"Mob.\" looks like a phone"])
        );
        summary.dry_run = true;
        let text = summary.render("r.csv");
        assert_eq!(text.matches("Mob.").count(), 1, "{text}");
        assert!(
            text.ends_with("\nnot imported, though they look like guest fields:\n  column \"Mob.\" looks like a phone"),
            "{text}"
        );
    }

    #[test]
    fn the_first_rows_needing_a_person_are_listed_in_words_that_agree_in_number() {
        let mut summary = Summary::default();
        summary.finished(2, Status::Created, "created");
        for row in 3..15 {
            summary.finished(row, Status::Invalid, "email `x` has no @");
        }
        summary.retries = 1;
        let text = summary.render("r.csv");
        assert!(text.starts_with("13 rows: 1 created, 12 invalid\n"), "{text}");
        assert!(text.contains("; 1 retry, 0 429s, 0 read-backs"), "{text}");
        assert!(text.contains("\n  row 3: invalid: email `x` has no @"), "{text}");
        assert!(text.contains("\n  row 12: invalid"), "{text}");
        assert!(!text.contains("row 13:"), "ten at most: {text}");
        assert!(text.contains("... see r.csv for all 12"), "{text}");
    }
}
