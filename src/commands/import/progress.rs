//! The import's progress bar on stderr: rows done of the total, elapsed, rate, ETA, the counts
//! per status, and "paused by rate
//! limit until HH:MM:SS" while a 429 pause holds every request, or "next create at HH:MM:SS"
//! while creates wait for the invite cap or `--invite-rate`. Under `--invite-rate` the ETA is
//! the creates still to come times the pace (steady, where a rate measured over the last rows
//! swung from minutes to hours), and a rate below one row a second is shown in rows per hour.
//! Nothing is drawn unless stderr is a terminal (see `logging::Ui`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local};
use indicatif::ProgressState;
use tracing::Span;

use crate::engine::outcome::Status;
use tracing_indicatif::span_ext::IndicatifSpanExt;
use tracing_indicatif::style::ProgressStyle;

pub(crate) struct Progress {
    span: Span,
    shown: bool,
    /// Rows finished so far, per status, for the bar's message and the heartbeat.
    counts: BTreeMap<Status, u64>,
    heartbeat: Option<Heartbeat>,
    pending: PendingCreates,
    /// The slowest `--invite-rate`'s spacing between creates.
    invite_interval: Option<Duration>,
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

/// Creates planned but not finished, and creates finished, shared with the pipeline: with the
/// invite interval they give the ETA under pacing.
#[derive(Clone, Default)]
pub(crate) struct PendingCreates(Arc<[AtomicU64; 2]>);

impl PendingCreates {
    pub(crate) fn planned(&self) {
        self.0[0].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn finished(&self) {
        self.0[0].fetch_sub(1, Ordering::Relaxed);
        self.0[1].fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0[0].load(Ordering::Relaxed)
    }

    fn done(&self) -> u64 {
        self.0[1].load(Ordering::Relaxed)
    }

    /// Under invite pacing, how long the rest of the file takes: the creates in flight, and the
    /// rows not yet reached at the share of creates among the rows so far, each one `interval`
    /// apart (the other rows take no time beside them), by the question's own model
    /// (`invite_pace::paced_time`), so that the bar and the heartbeat keep its promise.
    fn paced_eta(&self, total: u64, done: u64, interval: Duration) -> Duration {
        let (pending, created) = (self.get(), self.done());
        let seen = done + pending;
        let share = if seen == 0 {
            1.0
        } else {
            (created + pending) as f64 / seen as f64
        };
        let unseen = total.saturating_sub(seen) as f64;
        let creates = pending as f64 + unseen * share;
        crate::invite_pace::paced_time(creates, interval, created > 0)
    }
}

/// A rate as a person reads it: rows a second, or rows an hour when under one a second (an
/// invite-paced run's `0.0 rows/s` said nothing).
fn rate_text(per_second: f64) -> String {
    if per_second >= 1.0 || per_second == 0.0 {
        format!("{per_second:.1} rows/s")
    } else {
        format!("{:.0} rows/h", per_second * 3600.0)
    }
}

impl Progress {
    /// `total` is the number of rows when known (a file counted up front), for the ETA;
    /// `invite_interval` is the slowest `--invite-rate`'s spacing between creates.
    pub(crate) fn new(
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
                pending,
                invite_interval,
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
                // Short on the bar, which must fit 80 columns: `2.5/s`, `1800/h`.
                let _ = write!(out, "{}", rate_text(state.per_sec()).replace(" rows", ""));
            })
            .with_key("eta", {
                let pending = pending.clone();
                move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                    let eta = match (invite_interval, state.len()) {
                        (Some(interval), Some(total)) => pending.paced_eta(total, state.pos(), interval),
                        _ => state.eta(),
                    };
                    let _ = write!(out, "{:#}", indicatif::HumanDuration(eta));
                }
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
            pending,
            invite_interval,
        }
    }

    /// Logs a progress line every `every` (for runs whose stderr is not a terminal).
    pub(crate) fn with_heartbeat(mut self, every: Duration, total: Option<u64>, json: bool) -> Progress {
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
    pub(crate) fn span(&self) -> Span {
        self.span.clone()
    }

    /// A row finished with `status`.
    pub(crate) fn row_done(&mut self, status: Status) {
        if self.shown {
            self.span.pb_inc(1);
        }
        if self.shown || self.heartbeat.is_some() {
            *self.counts.entry(status).or_default() += 1;
        }
    }

    /// A page of the organization's `entries` (`guests`, `members`) was read, before any row is
    /// sent: on the bar, and in the heartbeat every so often, so that a long (or endless) list
    /// is seen being read rather than a silent run.
    pub(crate) fn reading(&mut self, entries: &str, pages: u64, read: u64, of_pages: u64) {
        let sentence =
            format!("reading the organization's {entries}: page {pages} of {of_pages}, {read} {entries} so far");
        if self.shown {
            self.span.pb_set_message(&sentence);
        }
        // The first page of a list of several is said at once: a cron log then shows what the
        // run is doing from its start, however long the walk takes.
        if let Some(beat) = &mut self.heartbeat
            && ((pages == 1 && of_pages > 1) || beat.last.elapsed() >= beat.every)
        {
            beat.last = std::time::Instant::now();
            if beat.json {
                tracing::info!(list = entries, pages, read, of_pages, "{sentence}");
            } else {
                tracing::info!("{sentence}");
            }
        }
    }

    /// Refreshes the message (a few times a second): the counts per status, and a pause note
    /// while a 429 pause holds every request or creates wait for the invite cap or quota.
    pub(crate) fn refresh(&mut self, until: Option<SystemTime>, next_create: Option<SystemTime>) {
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
            let eta = match (beat.total, self.invite_interval) {
                (Some(total), Some(interval)) => Some(self.pending.paced_eta(total, done, interval).as_secs_f64()),
                (total, None) => total
                    .filter(|_| rate > 0.0)
                    .map(|total| total.saturating_sub(done) as f64 / rate),
                (None, Some(_)) => None,
            };
            // Which pace the estimate assumes: the invite pace, or the rate measured so far.
            let pace = self.invite_interval.map_or(String::new(), |interval| {
                format!(" at one create every {}", humantime::format_duration(interval))
            });
            let left = eta.map_or(String::new(), |eta| {
                format!(
                    ", about {:#} left{pace}",
                    indicatif::HumanDuration(Duration::from_secs_f64(eta.min(1e9)))
                )
            });
            let counts = if counts.is_empty() {
                String::new()
            } else {
                format!(" ({})", counts.join(", "))
            };
            let waiting_note = waiting.as_ref().map_or(String::new(), |w| format!("; {w}"));
            let sentence = format!(
                "progress: {done}{of} rows{counts}, {}{left}{waiting_note}",
                rate_text(rate)
            );
            if beat.json {
                let counts: BTreeMap<&str, u64> = self.counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
                tracing::info!(
                    rows_done = done,
                    rows_total = beat.total,
                    counts = %serde_json::json!(counts),
                    rows_per_second = rate,
                    elapsed_seconds = seconds,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paced_eta_is_the_creates_to_come_times_the_pace() {
        let pending = PendingCreates::default();
        let interval = Duration::from_secs(120);
        // 10 rows done, 4 of them creates; 2 creates in flight; 88 rows not reached.
        for _ in 0..6 {
            pending.planned();
        }
        for _ in 0..4 {
            pending.finished();
        }
        let eta = pending.paced_eta(100, 10, interval);
        // 2 in flight + 88 * (6 / 12) = 46 creates, two minutes apart.
        assert_eq!(eta, Duration::from_secs(46 * 120));
        assert_eq!(rate_text(0.5), "1800 rows/h");
        assert_eq!(rate_text(2.25), "2.2 rows/s");
    }
}
