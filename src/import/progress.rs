//! The import's progress bar on stderr: rows done of the total, rate, ETA, and "paused by rate
//! limit until HH:MM:SS" while a 429 pause holds every request. Nothing is drawn unless stderr
//! is a terminal (see `logging::Ui`).

use std::time::SystemTime;

use chrono::{DateTime, Local};
use indicatif::ProgressState;
use tracing::Span;
use tracing_indicatif::span_ext::IndicatifSpanExt;
use tracing_indicatif::style::ProgressStyle;

pub struct Progress {
    span: Span,
    shown: bool,
    paused: bool,
}

impl Progress {
    /// `total` is the number of rows when known (a file counted up front), for the ETA.
    pub fn new(shown: bool, total: Option<u64>) -> Progress {
        if !shown {
            return Progress {
                span: Span::none(),
                shown,
                paused: false,
            };
        }
        let span = tracing::info_span!("import", "indicatif.pb_show" = tracing::field::Empty);
        let template = match total {
            Some(_) => "{wide_bar} {pos}/{len} rows  {rate}  ETA {eta}  {msg}",
            None => "{spinner} {pos} rows  {rate}  {msg}",
        };
        let style = ProgressStyle::with_template(template)
            .expect("a valid template")
            .with_key("rate", |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.1} rows/s", state.per_sec());
            });
        span.pb_set_style(&style);
        if let Some(total) = total {
            span.pb_set_length(total);
        }
        Progress {
            span,
            shown,
            paused: false,
        }
    }

    /// The span the pipeline runs in; its bar lives as long as it does.
    pub fn span(&self) -> Span {
        self.span.clone()
    }

    pub fn row_done(&self) {
        if self.shown {
            self.span.pb_inc(1);
        }
    }

    /// Shows or clears the pause note.
    pub fn paused_until(&mut self, until: Option<SystemTime>) {
        if !self.shown || (until.is_none() && !self.paused) {
            return;
        }
        self.paused = until.is_some();
        let message = until.map_or(String::new(), |until| {
            let until: DateTime<Local> = until.into();
            format!("paused by rate limit until {}", until.format("%H:%M:%S"))
        });
        self.span.pb_set_message(&message);
    }
}
