//! One order through the engine: each of its jobs built directly (`config::page`: no command
//! line rendered and parsed back), pointed at the organization the page reaches (the token
//! never goes through a command line or the environment), `engine::start`ed on the server's
//! runtime, its events turned into the page's live state, its question held for the page to
//! answer (what the person says yes to is what the engine sends), the offending fields of its
//! rows kept beside its results. The only file that knows how the engine is called.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::jobs::{Hub, Order, Outcome, Phase, RowUpdate, Step};
use crate::engine::{Event, Status, Summary};
use crate::error::RunError;

/// Runs the order's jobs in turn to their end, telling the hub as they go; then what the
/// order does with the run's files once it ends.
pub(super) async fn drive(hub: Arc<Hub>, mut order: Order) -> Outcome {
    let mut outcome = Outcome::default();
    let mut counts: BTreeMap<Status, u64> = BTreeMap::new();
    let steps = std::mem::take(&mut order.steps);
    let mut last = None;
    for step in steps {
        let (ran, summary) = one(&hub, &order.run, step).await;
        if let Some(summary) = &summary {
            for (status, n) in &summary.counts {
                *counts.entry(*status).or_default() += n;
            }
        }
        let ended = ran.declined || ran.failed.is_some() || ran.stopped.is_some();
        outcome = ran;
        last = summary;
        if ended {
            break;
        }
    }
    if !counts.is_empty() {
        outcome.counts = Some(counts.into_iter().filter(|(_, n)| *n > 0).collect());
    }
    if let (Some((results, xlsx, input)), Some(summary)) = (&order.workbook, &last) {
        // The page offers the results as the CLI writes them both ways: the CSV the job wrote,
        // and the workbook `--results NAME.xlsx` would have written.
        let client = crate::api::Client::new(&order.api).ok();
        let made = crate::engine::report::workbook::from_csv(results, xlsx, summary, client.as_ref(), input, false);
        if let Err(error) = made.await {
            tracing::warn!("{error}");
        }
    }
    if let Some(then) = order.then.take() {
        then(&outcome);
    }
    outcome
}

/// One engine job to its end: how it ended, and its summary when it ran.
async fn one(hub: &Hub, run: &str, step: Step) -> (Outcome, Option<Summary>) {
    let Step {
        job,
        fields: fields_path,
    } = step;
    let job = crate::config::page(job);
    // The run's account, as the CLI writes it for --summary-json: the page is a consumer of
    // the same events.
    let summary_json = job.output.summary_json.clone();
    let mut account = crate::engine::SummaryFile::new(&job, std::time::SystemTime::now());
    account.hash_input(&job.file);
    // The run goes in the history as the CLI's do.
    let monitor = crate::monitor::Watch::of_job(&job, crate::monitor::From::Page);
    let mut running = crate::engine::start_on_page(job);
    let stopper = running.stopper();
    hub.stoppable(run, Box::new(move || stopper.stop()));
    let mut fields: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut finished = None;
    let mut sending = false;
    while let Some(event) = running.events.recv().await {
        match &event {
            Event::SetUp { input_sha256, .. } => account.set_up(input_sha256.clone()),
            Event::Sending => sending = true,
            _ => {}
        }
        if let Some(summary) = show(hub, run, event, &mut fields) {
            account.summary(summary.clone());
            finished = Some(summary);
        }
    }
    let result = running.finish().await;
    monitor
        .finished(crate::monitor::End::of_run(finished.as_ref(), &result))
        .await;
    // A question answered no (or a stop at the question) sent and wrote nothing: the run is
    // as it was, its earlier account included.
    let declined = match &result {
        Err(RunError::Declined) => true,
        Err(RunError::Interrupted) => !sending,
        _ => false,
    };
    if declined {
        return (
            Outcome {
                declined: true,
                ..Outcome::default()
            },
            None,
        );
    }
    if let Some(path) = summary_json
        && let Err(error) = account.write(&path, &result)
    {
        tracing::warn!("{error}");
    }
    if let Ok(json) = serde_json::to_vec(&fields)
        && let Err(e) = std::fs::write(&fields_path, json)
    {
        tracing::warn!(
            "cannot keep the offending cells of the rows in {}: {e}",
            fields_path.display()
        );
    }
    let outcome = Outcome {
        counts: None,
        stopped: finished.as_ref().and_then(|summary| summary.stopped.clone()),
        failed: result.as_ref().err().map(|error| error.lines().join("; ")),
        declined: false,
    };
    (outcome, finished)
}

/// One event of the run in the page's live state (the offending fields of a row kept in
/// `fields`); the run's summary once it has finished.
fn show(hub: &Hub, run: &str, event: Event, fields: &mut BTreeMap<u64, Vec<String>>) -> Option<Summary> {
    match event {
        Event::SetUp { rows, pace, .. } => hub.update(run, |live| {
            live.total = rows;
            live.pace = pace;
            None
        }),
        Event::Planned {
            counts,
            creates,
            confirm,
        } => {
            hub.update(run, |live| {
                live.creates = Some(creates);
                if live.total.is_none() {
                    live.total = Some(counts.iter().map(|(_, n)| n).sum::<u64>() + creates);
                }
                None
            });
            if let Some(confirm) = confirm {
                hub.ask(run, confirm);
            }
        }
        Event::Sending => hub.update(run, |live| {
            if live.kind != super::jobs::Kind::Preview {
                live.phase = Phase::Running;
            }
            None
        }),
        Event::Reading { .. } | Event::Creating { .. } | Event::Sent => {}
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
                status,
                message,
                fields: offending,
            };
            hub.update(run, move |live| {
                *live.counts.entry(update.status).or_default() += 1;
                Some(update)
            });
        }
        Event::Waiting { until, why } => hub.update(run, |live| {
            live.waiting = (until > std::time::SystemTime::now()).then_some((until, why));
            None
        }),
        Event::Stopping { .. } => hub.update(run, |live| {
            live.phase = Phase::Stopping;
            None
        }),
        Event::Finished { summary, .. } => return Some(summary),
    }
    None
}
