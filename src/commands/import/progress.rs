//! The import's progress bar on stderr: rows done of the total, elapsed, rate, ETA, the counts
//! per status, and "paused by rate
//! limit until HH:MM:SS" while a 429 pause holds every request, or "next create at HH:MM:SS"
//! while creates wait for the invite cap or `--invite-rate`. When creates keep a pace (or would
//! wait for Tallyfy's cap, assumed), the ETA is when the creates still to come are done by the
//! run's own schedule (`invite_pace`, the model the question's promise comes from: steady,
//! where a rate measured over the last rows swung from minutes to hours), and a rate below one
//! row a second is shown in rows per hour.
//! Nothing is drawn unless stderr is a terminal (see `logging::Ui`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local};
use indicatif::ProgressState;
use tracing::Span;

use crate::engine::outcome::Status;
use crate::invite_pace::{Schedule, Watch};
use tracing_indicatif::span_ext::IndicatifSpanExt;
use tracing_indicatif::style::ProgressStyle;

pub(crate) struct Progress {
    span: Span,
    shown: bool,
    /// Rows finished so far, per status, for the bar's message and the heartbeat.
    counts: BTreeMap<Status, u64>,
    heartbeat: Option<Heartbeat>,
    pending: PendingCreates,
    /// The creates' schedule as the run keeps it (none offline).
    pace: Option<Watch>,
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

/// Creates planned but not finished, creates finished, and the creates of a confirmed plan (1
/// more than their number; 0: not known), shared with the pipeline: with the schedule they give
/// the ETA under pacing.
#[derive(Clone, Default)]
pub(crate) struct PendingCreates(Arc<[AtomicU64; 3]>);

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

    /// The plan a person confirmed has `creates`: the ETA counts them, not an extrapolation.
    pub(crate) fn confirmed(&self, creates: u64) {
        self.0[2].store(creates + 1, Ordering::Relaxed);
    }

    /// How long the rest of the file takes by the run's schedule: the creates not sent yet (of
    /// the confirmed plan, else those in flight and the rows not yet reached at the share of
    /// creates among the rows so far) from where the schedule stands (the other rows take no
    /// time beside them), by the question's own model, so that the bar and the heartbeat keep
    /// its promise. `None` when no create waits (nothing paces them).
    fn paced_eta(&self, total: u64, done: u64, schedule: &Schedule) -> Option<Duration> {
        let (pending, created) = (self.get(), self.done());
        let creates = match self.0[2].load(Ordering::Relaxed) {
            0 => {
                let seen = done + pending;
                let share = if seen == 0 {
                    1.0
                } else {
                    (created + pending) as f64 / seen as f64
                };
                let unseen = total.saturating_sub(seen) as f64;
                ((created + pending) as f64 + unseen * share).round() as u64
            }
            planned => planned - 1,
        };
        let now = SystemTime::now();
        let left = creates.saturating_sub(schedule.taken());
        let takes = schedule.finish(left, now).duration_since(now).unwrap_or_default();
        (schedule.pace().known() || !takes.is_zero()).then_some(takes)
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
    /// `pace` is the creates' schedule as the run keeps it.
    pub(crate) fn new(shown: bool, total: Option<u64>, pending: PendingCreates, pace: Option<Watch>) -> Progress {
        if !shown {
            return Progress {
                span: Span::none(),
                shown,
                counts: BTreeMap::new(),
                heartbeat: None,
                pending,
                pace,
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
                let (pending, pace) = (pending.clone(), pace.clone());
                move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                    let paced = (pace.as_ref().zip(state.len()))
                        .and_then(|(pace, total)| pending.paced_eta(total, state.pos(), &pace.now()));
                    let eta = paced.unwrap_or_else(|| state.eta());
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
            pace,
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
            let schedule = self.pace.as_ref().map(Watch::now);
            let paced = (schedule.as_ref().zip(beat.total))
                .and_then(|(schedule, total)| self.pending.paced_eta(total, done, schedule));
            let eta = match paced {
                Some(paced) => Some(paced.as_secs_f64()),
                None => beat
                    .total
                    .filter(|_| rate > 0.0)
                    .map(|total| total.saturating_sub(done) as f64 / rate),
            };
            // Which pace the estimate assumes: the invite pace, or (none said) the rate so far.
            let pace_words = paced.and(schedule.as_ref()).map(|schedule| schedule.pace().words());
            let pace = pace_words
                .as_ref()
                .map_or(String::new(), |words| format!(" at {words}"));
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
                    pace = pace_words.as_deref(),
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
    fn a_paced_eta_is_when_the_creates_not_sent_are_done_by_the_schedule() {
        let pending = PendingCreates::default();
        let schedule = Schedule::new(&["1/120s".parse().unwrap()]);
        // 10 rows done, 4 of them creates; 2 creates in flight; 88 rows not reached; none
        // sent by this schedule yet (so all 6 + 44 are still to go).
        for _ in 0..6 {
            pending.planned();
        }
        for _ in 0..4 {
            pending.finished();
        }
        let eta = pending.paced_eta(100, 10, &schedule).unwrap();
        // 50 creates, one a 126 s window: the first at once, 49 windows after.
        let window = Duration::from_secs(126);
        assert!(eta.abs_diff(window * 49) < Duration::from_secs(1), "{eta:?}");
        // A confirmed plan's creates are counted as they are.
        pending.confirmed(11);
        let eta = pending.paced_eta(100, 10, &schedule).unwrap();
        assert!(eta.abs_diff(window * 10) < Duration::from_secs(1), "{eta:?}");
        // Nothing paces the creates and none would wait: the measured rate says.
        assert_eq!(pending.paced_eta(100, 10, &Schedule::new(&[])), None);
        assert_eq!(rate_text(0.5), "1800 rows/h");
        assert_eq!(rate_text(2.25), "2.2 rows/s");
    }
}
