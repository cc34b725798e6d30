//! The import's progress bar on stderr: rows done of the total, elapsed, rate, ETA, the counts
//! per status, and "paused by rate
//! limit until HH:MM:SS" while a 429 pause holds every request, or "next create at HH:MM:SS"
//! while creates wait for the invite cap or `--invite-rate`. Once invite pacing binds, the ETA
//! is at least the creates still queued times the quota's interval. Nothing is drawn unless
//! stderr is a terminal (see `logging::Ui`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local};
use indicatif::ProgressState;
use tracing::Span;

use super::results::Status;
use tracing_indicatif::span_ext::IndicatifSpanExt;
use tracing_indicatif::style::ProgressStyle;

pub struct Progress {
    span: Span,
    shown: bool,
    /// Rows finished so far, per status, for the bar's message and the heartbeat.
    counts: BTreeMap<Status, u64>,
    heartbeat: Option<Heartbeat>,
}

/// Off a terminal (cron), a line every so often, so a working job can be told from a hung one.
struct Heartbeat {
    every: Duration,
    last: std::time::Instant,
    started: std::time::Instant,
    total: Option<u64>,
    /// JSON logs: the numbers as fields; text: one sentence.
    json: bool,
}

/// Creates planned but not finished, shared with the pipeline: with the invite interval they
/// bound the ETA from below.
#[derive(Clone, Default)]
pub struct PendingCreates(Arc<AtomicU64>);

impl PendingCreates {
    pub fn planned(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn finished(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Progress {
    /// `total` is the number of rows when known (a file counted up front), for the ETA;
    /// `invite_interval` is the slowest `--invite-rate`'s spacing between creates.
    pub fn new(
        shown: bool,
        total: Option<u64>,
        pending: PendingCreates,
        invite_interval: Option<Duration>,
    ) -> Progress {
        if !shown {
            return Progress {
                span: Span::none(),
                shown,
                counts: BTreeMap::new(),
                heartbeat: None,
            };
        }
        let span = tracing::info_span!("import", "indicatif.pb_show" = tracing::field::Empty);
        // A bar of fixed width and a message cut to what is left: the line fits an 80-column
        // terminal and never wraps (a wrapped line cannot be cleared, and is left behind).
        let template = match total {
            Some(_) => "{bar:20} {pos}/{len} rows {elapsed} {rate} ETA {eta} {wide_msg}",
            None => "{spinner} {pos} rows {elapsed} {rate} {wide_msg}",
        };
        let style = ProgressStyle::with_template(template)
            .expect("a valid template")
            .with_key("rate", |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.1}/s", state.per_sec());
            })
            .with_key("eta", move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let paced = invite_interval.map_or(Duration::ZERO, |interval| {
                    interval.saturating_mul(u32::try_from(pending.get()).unwrap_or(u32::MAX))
                });
                let eta = state.eta().max(paced);
                let _ = write!(out, "{:#}", indicatif::HumanDuration(eta));
            });
        span.pb_set_style(&style);
        if let Some(total) = total {
            span.pb_set_length(total);
        }
        Progress {
            span,
            shown,
            counts: BTreeMap::new(),
            heartbeat: None,
        }
    }

    /// Logs a progress line every `every` (for runs whose stderr is not a terminal).
    pub fn with_heartbeat(mut self, every: Duration, total: Option<u64>, json: bool) -> Progress {
        let now = std::time::Instant::now();
        self.heartbeat = Some(Heartbeat {
            every,
            last: now,
            started: now,
            total,
            json,
        });
        self
    }

    /// The span the pipeline runs in; its bar lives as long as it does.
    pub fn span(&self) -> Span {
        self.span.clone()
    }

    /// A row finished with `status`.
    pub fn row_done(&mut self, status: Status) {
        if self.shown {
            self.span.pb_inc(1);
        }
        if self.shown || self.heartbeat.is_some() {
            *self.counts.entry(status).or_default() += 1;
        }
    }

    /// Refreshes the message (a few times a second): the counts per status, and a pause note
    /// while a 429 pause holds every request or creates wait for the invite cap or quota.
    pub fn refresh(&mut self, until: Option<SystemTime>, next_create: Option<SystemTime>) {
        // Local time with its offset: a cron log is read by people in other time zones too.
        let clock = |at: SystemTime| DateTime::<Local>::from(at).format("%H:%M:%S %:z").to_string();
        let waiting = match (until, next_create) {
            (Some(until), _) => Some(format!("paused by rate limit until {}", clock(until))),
            (None, Some(next)) => Some(format!("waiting for the invite quota: next create at {}", clock(next))),
            (None, None) => None,
        };
        let counts: Vec<String> = self.counts.iter().map(|(status, n)| format!("{n} {status}")).collect();
        if self.shown {
            let message: Vec<String> = counts.iter().cloned().chain(waiting.clone()).collect();
            self.span.pb_set_message(&message.join(" · "));
        }
        if let Some(beat) = &mut self.heartbeat
            && beat.last.elapsed() >= beat.every
        {
            beat.last = std::time::Instant::now();
            let done: u64 = self.counts.values().sum();
            let seconds = beat.started.elapsed().as_secs_f64().max(1e-9);
            let rate = done as f64 / seconds;
            let of = beat.total.map_or(String::new(), |total| format!(" of {total}"));
            let eta = beat
                .total
                .filter(|_| rate > 0.0)
                .map(|total| total.saturating_sub(done) as f64 / rate);
            let left = eta.map_or(String::new(), |eta| {
                format!(
                    ", about {:#} left",
                    indicatif::HumanDuration(Duration::from_secs_f64(eta.min(1e9)))
                )
            });
            let counts = if counts.is_empty() {
                String::new()
            } else {
                format!(" ({})", counts.join(", "))
            };
            let waiting_note = waiting.as_ref().map_or(String::new(), |w| format!("; {w}"));
            let sentence = format!("progress: {done}{of} rows{counts}, {rate:.1} rows/s{left}{waiting_note}");
            if beat.json {
                let counts: BTreeMap<&str, u64> = self.counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
                tracing::info!(
                    rows_done = done,
                    rows_total = beat.total,
                    counts = %serde_json::json!(counts),
                    rows_per_second = rate,
                    eta_seconds = eta,
                    waiting = waiting.as_deref(),
                    "{sentence}"
                );
            } else {
                tracing::info!("{sentence}");
            }
        }
    }
}
