//! One job through the engine: the command line parsed as the CLI parses it, the page's
//! organization put in (the token never goes through a command line or the environment),
//! `engine::start`ed on the server's runtime, its events turned into the page's live state,
//! the offending fields of its rows kept beside its results. The only file that knows how the
//! engine is called.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::jobs::{Hub, Order, Outcome, RowUpdate};
use crate::config::{Job, Kind, Reach, job_from_args};
use crate::engine::{Event, Summary, Wait};

/// The job of an order, as the CLI builds it from the same command line.
fn job(order: &Order) -> Result<Job, String> {
    let argv: Vec<&str> = order.argv.iter().map(String::as_str).collect();
    let mut job = job_from_args(&argv)?;
    job.reach = Ok(Reach::Api(Box::new(order.api.clone())));
    if let Kind::Import(import) = &mut job.kind {
        import.read.edits = order.edits.clone();
    }
    Ok(job)
}

/// Runs the order's job to its end, telling the hub as it goes.
pub(super) async fn drive(hub: Arc<Hub>, order: Order) -> Outcome {
    let job = match job(&order) {
        Ok(job) => job,
        Err(why) => return failed(why),
    };
    // The run's account, as the CLI writes it for --summary-json: the page is a consumer of
    // the same events.
    let summary_json = job.output.summary_json.clone();
    let mut account = crate::engine::SummaryFile::new(&job, std::time::SystemTime::now());
    account.hash_input(&job.file);
    let mut running = crate::engine::start(job);
    let stopper = running.stopper();
    hub.stoppable(&order.run, Box::new(move || stopper.stop()));
    let mut fields: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut finished = None;
    while let Some(event) = running.events.recv().await {
        if let Event::SetUp { input_sha256, .. } = &event {
            account.set_up(input_sha256.clone());
        }
        if let Some(summary) = show(&hub, &order.run, event, &mut fields) {
            account.summary(summary.clone());
            finished = Some(summary);
        }
    }
    let result = running.finish().await;
    if let Some(path) = summary_json
        && let Err(error) = account.write(&path, &result)
    {
        tracing::warn!("{error}");
    }
    if let Ok(json) = serde_json::to_vec(&fields)
        && let Err(e) = std::fs::write(&order.fields, json)
    {
        tracing::warn!(
            "cannot keep the offending cells of the rows in {}: {e}",
            order.fields.display()
        );
    }
    if let (Some((results, xlsx, input)), Some(summary)) = (&order.workbook, &finished) {
        // The page offers the results as the CLI writes them both ways: the CSV the job wrote,
        // and the workbook `--results NAME.xlsx` would have written.
        let client = crate::api::Client::new(&order.api).ok();
        let made = crate::engine::report::workbook::from_csv(results, xlsx, summary, client.as_ref(), input, false);
        if let Err(error) = made.await {
            tracing::warn!("{error}");
        }
    }
    let counts = finished.as_ref().map(|summary| {
        summary
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(status, n)| (status.as_str().to_string(), *n))
            .collect()
    });
    let stopped = match result {
        Err(error) => Some(error.lines().join("; ")),
        Ok(_) => finished.and_then(|summary| summary.stopped),
    };
    Outcome { counts, stopped }
}

/// One event of the run in the page's live state (the offending fields of a row kept in
/// `fields`); the run's summary once it has finished.
fn show(hub: &Hub, run: &str, event: Event, fields: &mut BTreeMap<u64, Vec<String>>) -> Option<Summary> {
    match event {
        Event::SetUp { rows, .. } => hub.update(run, |live| {
            live.total = rows;
            None
        }),
        Event::Planned { counts, creates, .. } => hub.update(run, |live| {
            live.creates = Some(creates);
            if live.total.is_none() {
                live.total = Some(counts.iter().map(|(_, n)| n).sum());
            }
            None
        }),
        Event::Sending | Event::Reading { .. } | Event::Creating { .. } | Event::Sent => {}
        Event::Row {
            row,
            status,
            message,
            fields: offending,
            ..
        } => {
            if !offending.is_empty() {
                fields.insert(row, offending.clone());
            }
            let update = RowUpdate {
                row,
                status: status.as_str().to_string(),
                message,
                fields: offending,
            };
            hub.update(run, move |live| {
                *live.counts.entry(update.status.clone()).or_default() += 1;
                Some(update)
            });
        }
        Event::Waiting { until, why } => hub.update(run, |live| {
            let why = match why {
                Wait::InviteQuota => "invite quota",
                Wait::RateLimit => "rate limit",
            };
            live.waiting = (until > std::time::SystemTime::now()).then(|| (until, why.to_string()));
            None
        }),
        Event::Stopping { .. } => hub.update(run, |live| {
            live.phase = super::jobs::Phase::Stopping;
            None
        }),
        Event::Finished { summary, .. } => return Some(summary),
    }
    None
}

fn failed(why: String) -> Outcome {
    Outcome {
        counts: None,
        stopped: Some(why.trim().to_string()),
    }
}
