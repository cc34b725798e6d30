//! `--metrics-file PATH`: the job's Prometheus metrics in the text exposition format, for
//! node_exporter's textfile collector. Written whole to a temporary file in the same folder
//! and renamed over PATH, so a scrape never reads half a file (and a `.prom` collector never
//! sees the temporary one, whose name does not end in `.prom`).

use std::path::Path;

use crate::engine::Status;
use crate::files::output::AtomicFile;
use crate::history::{Record, State};

/// Writes the metrics of the job whose runs are `all` (oldest first, this one `last`); a
/// failure is a warning.
pub(super) fn write(path: &Path, all: &[Record], last: &Record) {
    if let Err(e) = replace(path, &text(all, last)) {
        tracing::warn!(
            "cannot write the metrics file {}: {}",
            path.display(),
            crate::words::io_words(&e)
        );
    }
}

/// Written whole beside `path` and renamed over it (`AtomicFile`: the tool's files are
/// readable by the collector, which seldom runs as this user).
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.writer().write_all(text.as_bytes())?;
    file.commit()
}

/// The exposition text.
fn text(all: &[Record], last: &Record) -> String {
    let job = format!("job_name=\"{}\"", escape(&last.job));
    let seconds = |at: Option<std::time::SystemTime>| {
        at.and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let last_success = all.iter().rev().find(|record| record.state == State::Ok);
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        out.push_str(&format!(
            "# HELP tallyfy_guests_{name} {help}\n# TYPE tallyfy_guests_{name} gauge\n"
        ));
        for (labels, value) in samples {
            out.push_str(&format!("tallyfy_guests_{name}{{{labels}}} {value}\n"));
        }
    };
    let one = |value: f64| vec![(job.clone(), value)];
    gauge(
        "last_run_timestamp_seconds",
        "When the job's last run ended (Unix time).",
        one(seconds(last.finished())),
    );
    gauge(
        "last_success_timestamp_seconds",
        "When a run of the job last ended ok: exit 0, or 3 with progress (0: never).",
        one(seconds(last_success.and_then(Record::finished))),
    );
    gauge(
        "last_run_duration_seconds",
        "How long the job's last run took.",
        one(last.elapsed_seconds),
    );
    gauge(
        "last_run_exit_code",
        "The exit code of the job's last run (0 done, 1 rows need a person, 2 set-up, 3 stopped early).",
        one(f64::from(last.exit_code)),
    );
    gauge(
        "failing",
        "1 while the job is failing (exit 1 or 2, or 3 with no progress), else 0.",
        one(if last.state == State::Failing { 1.0 } else { 0.0 }),
    );
    // Every status (a zero says "none", not "unknown"), and an export's own (`exported`).
    let mut statuses: Vec<&str> = Status::all().map(Status::as_str).collect();
    statuses.extend(
        last.counts
            .keys()
            .map(String::as_str)
            .filter(|s| !statuses.contains(s))
            .collect::<Vec<_>>(),
    );
    let rows = statuses
        .into_iter()
        .map(|status| {
            let n = last.counts.get(status).copied().unwrap_or(0);
            (format!("{job},status=\"{}\"", escape(status)), n as f64)
        })
        .collect();
    gauge("last_run_rows", "Rows of the job's last run, by status.", rows);
    out
}

/// A label value as the exposition format escapes it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
