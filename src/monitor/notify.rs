//! `--notify URL`: one JSON message when a job goes from ok to failing, and one when it
//! recovers. Which run posts is decided by `monitor` from the history; this builds the message
//! and posts it. Its `text` field reads as one line in a chat's incoming webhook (Slack,
//! Mattermost, Teams' workflows take `text`); the other fields are for a program.

use serde::Serialize;
use url::Url;

use super::end::End;
use crate::history::{Record, State};

/// What is posted.
#[derive(Debug, Serialize)]
pub(super) struct Message {
    /// One line for a person.
    text: String,
    job: String,
    /// `failing` or `ok`.
    state: &'static str,
    /// `failing` (it was ok) or `recovered` (it was failing).
    event: &'static str,
    /// Since when the job has been in this state (the start of its first run in it).
    since: Option<String>,
    command: String,
    org: Option<String>,
    results: Option<String>,
    exit_code: u8,
    counts: std::collections::BTreeMap<String, u64>,
    /// The first rows that need a person.
    rows_needing_a_person: Vec<AttentionRow>,
    stopped: Option<String>,
    error: Option<String>,
    next_command: Option<String>,
    run_id: String,
    finished_at: String,
}

#[derive(Debug, Serialize)]
struct AttentionRow {
    row: u64,
    status: String,
    message: String,
}

/// The message for a run whose job is now in `record.state`, since `since`.
pub(super) fn message(record: &Record, since: Option<String>, end: &End) -> Message {
    let (event, what) = match record.state {
        State::Failing => ("failing", format!("is failing (exit {})", record.exit_code)),
        State::Ok => ("recovered", "has recovered".to_string()),
    };
    let why = match (&record.error, &record.stopped, end.attention.len()) {
        (Some(error), _, _) => format!(": {error}"),
        (None, _, 1..) => {
            let needing: u64 = (record.counts.iter())
                .filter(|(status, _)| matches!(status.as_str(), "invalid" | "conflict" | "failed" | "unproven"))
                .map(|(_, n)| n)
                .sum();
            format!(": {needing} rows need a person")
        }
        (None, Some(stopped), 0) => format!(": stopped early with nothing done ({stopped})"),
        (None, None, 0) => String::new(),
    };
    let since_words = since
        .as_deref()
        .map_or(String::new(), |since| format!(" since {since}"));
    let next = record
        .next_command
        .as_deref()
        .map_or(String::new(), |next| format!("; next: {next}"));
    Message {
        text: format!("tallyfy-guests {}: {what}{since_words}{why}{next}", record.job),
        job: record.job.clone(),
        state: record.state.as_str(),
        event,
        since,
        command: record.command.clone(),
        org: record.org.clone(),
        results: record.results.clone(),
        exit_code: record.exit_code,
        counts: record.counts.clone(),
        rows_needing_a_person: (end.attention.iter())
            .map(|(row, status, message)| AttentionRow {
                row: *row,
                status: status.clone(),
                message: message.clone(),
            })
            .collect(),
        stopped: record.stopped.clone(),
        error: record.error.clone(),
        next_command: record.next_command.clone(),
        run_id: record.run_id.clone(),
        finished_at: record.finished_at.clone(),
    }
}

/// Posts the message; whether the receiver took it (a 2xx). A failure is a warning that says
/// the next run tries again; it never changes the run's exit code.
pub(super) async fn post(http: &reqwest::Client, url: &Url, message: &Message) -> bool {
    let failed = |why: String| {
        tracing::warn!(
            "could not send the alert that the job is {} to {} ({why}); the next run sends it again",
            message.state,
            super::http::host(url)
        );
        false
    };
    match http.post(url.clone()).json(message).send().await {
        Ok(answer) if answer.status().is_success() => true,
        Ok(answer) => failed(format!("it answered {}", answer.status())),
        Err(e) => failed(crate::words::chain(&e)),
    }
}
