//! The watchers of an unattended run, around the run and never in it: the history record every
//! run of import, undo and export leaves (`history`), and, as the flags ask, the alert on a
//! change of the job's state (`notify`), healthchecks-style pings (`ping`) and the Prometheus
//! textfile (`metrics`). A face makes a [`Watch`] before the run and gives it the run's [`End`];
//! nothing here changes the run's exit code: a watcher that fails says so in a warning.

use std::time::SystemTime;

use crate::config::{Job, Monitor, Reach};
use crate::history::{self, Ledger, Record, State};

mod end;
mod http;
mod metrics;
mod notify;
mod ping;

pub use end::End;
use end::shown;

/// Where a run was started from, as the history says it.
#[derive(Debug, Clone, Copy)]
pub enum From {
    /// The command line (cron, a timer, a person).
    CommandLine,
    /// The local web page.
    Page,
}

/// One run being watched: who it is, and the watchers its flags asked for.
#[derive(Debug)]
pub struct Watch {
    monitor: Monitor,
    job: String,
    command: &'static str,
    from: From,
    org: Option<String>,
    input: Option<String>,
    results: Option<String>,
    dry_run: bool,
    started: SystemTime,
    run_id: String,
    http: Option<reqwest::Client>,
}

impl Watch {
    /// The watch of an import or undo, made before it starts.
    pub fn of_job(job: &Job, from: From) -> Watch {
        let org = match &job.reach {
            Ok(Reach::Api(config)) => Some(config.org.clone()),
            Ok(Reach::Sandbox(_)) => Some(crate::sandbox::DEFAULT_ORG.to_string()),
            Ok(Reach::Offline) | Err(_) => None,
        };
        let results = crate::engine::setup::results_of(job).map_or("stdout".to_string(), |p| shown(&p));
        Watch::new(job.monitor.clone(), job.kind.command(), from, org, results)
            .with_input(job.file.display(), job.dry_run)
    }

    /// The watch of an export writing to `output` (stdout when none).
    pub fn of_export(monitor: Monitor, org: Option<String>, output: Option<&std::path::Path>) -> Watch {
        let results = output.map_or("stdout".to_string(), shown);
        Watch::new(monitor, "export", From::CommandLine, org, results)
    }

    fn new(monitor: Monitor, command: &'static str, from: From, org: Option<String>, results: String) -> Watch {
        let job = monitor.job.clone().unwrap_or_else(|| match &org {
            Some(org) => format!("{results} in {org}"),
            None => format!("{results} (offline)"),
        });
        let http = (monitor.notify.is_some() || monitor.ping.is_some())
            .then(http::client)
            .flatten();
        Watch {
            monitor,
            job,
            command,
            from,
            org,
            input: None,
            results: Some(results),
            dry_run: false,
            started: SystemTime::now(),
            run_id: run_id(),
            http,
        }
    }

    fn with_input(mut self, input: String, dry_run: bool) -> Watch {
        self.input = Some(input);
        self.dry_run = dry_run;
        self
    }

    /// The job's name, as the history, alerts and metrics say it.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// The run starts: `--ping`'s `/start`.
    pub async fn started(&self) {
        if let (Some(url), Some(http)) = (&self.monitor.ping, &self.http) {
            ping::start(http, url, &self.run_id).await;
        }
    }

    /// The run has ended: its record added to the history (with what `--notify` was told),
    /// then `--ping`'s end and `--metrics-file`. Failures are warnings only.
    pub async fn finished(self, end: End) {
        let finished = SystemTime::now();
        let state = State::of(end.exit_code, end.progress);
        let ledger = self.monitor.history_dir.as_deref().map(Ledger::in_dir);
        let earlier = match ledger.as_ref().map(|ledger| ledger.of_job(&self.job)).transpose() {
            Ok(earlier) => earlier.unwrap_or_default(),
            Err(e) => {
                tracing::warn!("cannot read the run history: {}", crate::words::io_words(&e));
                Vec::new()
            }
        };
        let mut record = self.record(&end, state, finished);
        // What --notify was last told; a job never told anything is taken as told it was ok,
        // so that its first failure is news and its first success is not.
        let told = earlier.iter().rev().find_map(|r| r.notified).unwrap_or(State::Ok);
        record.notified = Some(told);
        let mut all = earlier;
        all.push(record.clone());
        if let (Some(url), Some(http)) = (&self.monitor.notify, &self.http)
            && state != told
        {
            let message = notify::message(&record, history::since(&all, state), &end);
            if notify::post(http, url, &message).await {
                record.notified = Some(state);
            }
        }
        if let Some(ledger) = &ledger
            && let Err(e) = ledger.append(&record)
        {
            tracing::warn!(
                "cannot add this run to the history {}: {}",
                ledger.path().display(),
                crate::words::io_words(&e)
            );
        }
        if let (Some(url), Some(http)) = (&self.monitor.ping, &self.http) {
            ping::end(http, url, &self.run_id, end.exit_code, state, &record).await;
        }
        if let Some(path) = &self.monitor.metrics_file {
            metrics::write(path, &all, &record);
        }
    }

    fn record(&self, end: &End, state: State, finished: SystemTime) -> Record {
        let time = |at| humantime::format_rfc3339_millis(at).to_string();
        Record {
            job: self.job.clone(),
            run_id: self.run_id.clone(),
            command: self.command.to_string(),
            from: match self.from {
                From::CommandLine => "command line",
                From::Page => "page",
            }
            .to_string(),
            org: self.org.clone(),
            input: self.input.clone(),
            results: end.results.clone().or_else(|| self.results.clone()),
            dry_run: self.dry_run,
            started_at: time(self.started),
            finished_at: time(finished),
            elapsed_seconds: finished.duration_since(self.started).unwrap_or_default().as_secs_f64(),
            exit_code: end.exit_code,
            rows: end.rows,
            counts: end.counts.clone(),
            stopped: end.stopped.clone(),
            next_command: end.next_command.clone(),
            error: end.error.clone(),
            state,
            notified: None,
        }
    }
}

/// A random (version 4) UUID: the run's id, as healthchecks' `rid` takes it.
fn run_id() -> String {
    let mut bytes = [0u8; 16];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
