//! The import as a library (issue 24): a job started with `engine::start`, watched through its
//! events and stopped mid-run, with no binary and no terminal; its events agree with its
//! results file, and its exit code with the CLI's.

use std::collections::BTreeMap;
use std::time::Duration;

use tallyfy_guests::engine::{self, Event, Running, Status};
use tallyfy_guests::error::Exit;

use crate::util::{Workspace, expect_exit, library_job as job, slow};

fn guests_csv(rows: usize) -> String {
    let mut text = String::from("email,first_name\n");
    for i in 0..rows {
        text.push_str(&format!("lib{i:03}@example.org,Guest {i}\n"));
    }
    text
}

/// Every event until the run ends (bounded), then its outcome.
async fn watch(mut running: Running, mut on: impl FnMut(&mut Event, &Running)) -> (Vec<Event>, Result<Exit, String>) {
    let mut events = Vec::new();
    let watched = tokio::time::timeout(crate::util::GENEROUS, async {
        while let Some(mut event) = running.events.recv().await {
            on(&mut event, &running);
            events.push(event);
        }
    })
    .await;
    assert!(watched.is_ok(), "the run did not end: {events:#?}");
    let outcome = running.finish().await.map_err(|e| e.to_string());
    (events, outcome)
}

#[tokio::test]
async fn a_job_started_watched_and_stopped_through_the_library_agrees_with_its_results() {
    let ws = Workspace::new(slow(Duration::from_millis(20)));
    let file = ws.write("guests.csv", &guests_csv(60));
    // Creates paced at 20 a second, 4 at a time: a stop after the fifth row lands mid-run.
    let job = job(
        &ws,
        &[
            "import",
            file.to_str().unwrap(),
            "--invite-rate",
            "20/s",
            "--concurrency",
            "4",
        ],
    );
    let sandbox = &ws.sandbox;
    let mut rows_seen = 0;
    let mut posts_at_stop = None;
    let running = engine::start(job);
    let (events, outcome) = watch(running, |event, running| match event {
        // The job asks first (no --yes, not the built-in sandbox): the caller says yes.
        Event::Planned { confirm, .. } => confirm.take().expect("a question").yes(),
        Event::Row { .. } => {
            rows_seen += 1;
            if rows_seen == 5 {
                running.stop();
                posts_at_stop = Some(sandbox.stats().posts);
            }
        }
        _ => {}
    })
    .await;
    assert_eq!(outcome, Ok(Exit::Stopped), "{events:#?}");

    // The stages in order: set up, planned, sending, the rows, sent, finished.
    let at = |wanted: fn(&Event) -> bool| events.iter().position(wanted).unwrap();
    let first_row = at(|e| matches!(e, Event::Row { .. }));
    let last_row = events.iter().rposition(|e| matches!(e, Event::Row { .. })).unwrap();
    assert!(at(|e| matches!(e, Event::SetUp { rows: Some(60), .. })) < at(|e| matches!(e, Event::Planned { .. })));
    assert!(at(|e| matches!(e, Event::Planned { .. })) < at(|e| matches!(e, Event::Sending)));
    assert!(at(|e| matches!(e, Event::Sending)) < first_row);
    assert!(last_row < at(|e| matches!(e, Event::Sent)));

    // The question came once, with the plan's counts, and was answered.
    let planned: Vec<&Event> = events.iter().filter(|e| matches!(e, Event::Planned { .. })).collect();
    assert_eq!(planned.len(), 1, "{events:#?}");

    // Every row event is its results row.
    let rows = ws.results("guests.results.csv");
    assert_eq!(rows.len(), 60);
    let by_row: BTreeMap<u64, &crate::util::ResultRow> = rows.iter().map(|r| (r.result_row, r)).collect();
    let mut tally: BTreeMap<Status, u64> = BTreeMap::new();
    let mut row_events = 0;
    for event in &events {
        if let Event::Row {
            row,
            status,
            message,
            guest_id,
            fields,
        } = event
        {
            row_events += 1;
            let written = by_row[row];
            assert_eq!(written.result_status, status.as_str(), "row {row}");
            assert_eq!(&written.result_message, message, "row {row}");
            assert_eq!(&written.result_guest_id, guest_id, "row {row}");
            assert!(fields.is_empty(), "row {row}: {fields:?}");
            *tally.entry(*status).or_default() += 1;
        }
    }
    assert_eq!(row_events, 60, "one event a row");

    // The summary counts what the row events said, and the stop is in it.
    let Some(Event::Finished { summary, exit }) = events.last() else {
        panic!("the last event is Finished: {events:#?}");
    };
    assert_eq!(*exit, Exit::Stopped);
    assert_eq!(summary.counts, tally);
    assert_eq!(summary.stopped.as_deref(), Some("stopped on request"));
    let stopping = events
        .iter()
        .position(|e| matches!(e, Event::Stopping { reason } if reason == "stopped on request"))
        .expect("a Stopping event");

    // Rows after the stop are deferred, saying why; only the creates in flight at the stop (at
    // most the concurrency) finished after it, and no create was sent after it.
    let deferred = tally.get(&Status::Deferred).copied().unwrap_or(0);
    assert!(deferred > 0 && tally[&Status::Created] + deferred == 60, "{tally:?}");
    let late: Vec<&Event> = events[stopping..]
        .iter()
        .filter(|e| matches!(e, Event::Row { status, .. } if *status != Status::Deferred))
        .collect();
    assert!(late.len() <= 4, "{late:#?}");
    for row in rows.iter().filter(|r| r.result_status == "deferred") {
        assert!(row.result_message.contains("stopped on request"), "{row:?}");
    }
    let posts = sandbox.stats().posts;
    assert!(
        posts <= posts_at_stop.unwrap() + 4,
        "{posts} creates sent, {posts_at_stop:?} at the stop"
    );
    assert_eq!(posts, tally[&Status::Created], "every create sent is a created row");
    assert_eq!(sandbox.guests().len() as u64, tally[&Status::Created]);
}

#[tokio::test]
async fn a_question_left_unanswered_sends_and_writes_nothing() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", &guests_csv(3));
    let running = engine::start(job(&ws, &["import", file.to_str().unwrap()]));
    let mut counts = None;
    // The Planned event's question is dropped with the event: a no.
    let (events, outcome) = watch(running, |event, _| {
        if let Event::Planned {
            counts: c,
            creates,
            confirm,
        } = event
        {
            assert!(confirm.take().is_some(), "the job asks");
            counts = Some((c.clone(), *creates));
        }
    })
    .await;
    assert_eq!(counts, Some((vec![], 3)), "{events:#?}");
    assert!(outcome.unwrap_err().contains("not confirmed"));
    assert_eq!(ws.sandbox.stats().posts, 0);
    assert!(!ws.path("guests.results.csv").exists());
}

#[tokio::test]
async fn the_librarys_exit_code_is_the_clis_for_the_same_file() {
    let text = "email,first_name\nann@example.org,Ann\nnot-an-email,Bo\nann@example.org,Again\ncy@example.org,Cy\n";
    let cli = Workspace::empty();
    let file = cli.write("guests.csv", text);
    let cli_stderr = expect_exit(cli.cmd().arg("import").arg(&file), 1);
    let cli_rows = cli.results("guests.results.csv");

    let library = Workspace::empty();
    let file = library.write("guests.csv", text);
    let running = engine::start(job(&library, &["import", "--yes", file.to_str().unwrap()]));
    let (events, outcome) = watch(running, |_, _| {}).await;
    assert_eq!(outcome, Ok(Exit::Problems), "the CLI's exit 1: {cli_stderr}");
    assert!(
        !events.iter().any(|e| matches!(e, Event::Planned { .. })),
        "--yes asks nothing"
    );
    // The invalid row names its offending field, for a face that marks the cell.
    let fields: Vec<(u64, Vec<String>)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Row { row, fields, .. } => Some((*row, fields.clone())),
            _ => None,
        })
        .filter(|(_, fields)| !fields.is_empty())
        .collect();
    assert_eq!(fields, [(3, vec!["email".to_string()])]);
    // The next command is the job's own, retrying its results (not the test process's argv).
    let Some(Event::Finished { summary, .. }) = events.last() else {
        panic!("the last event is Finished: {events:#?}");
    };
    let next = summary.next.as_ref().expect("rows need a person").command.clone();
    assert!(next.starts_with("tallyfy-guests import --retry-from "), "{next}");
    assert!(next.contains("guests.results.csv") && next.contains("--yes"), "{next}");
    let statuses = |rows: &[crate::util::ResultRow]| -> Vec<(u64, String)> {
        rows.iter().map(|r| (r.result_row, r.result_status.clone())).collect()
    };
    assert_eq!(statuses(&library.results("guests.results.csv")), statuses(&cli_rows));
}
