//! A run's jobs as the page orders them: the preview, the send, its continuation (Continue,
//! and Send after fixing rows: the rest of the same job, each guest at most once), the undo.
//! Owns which files each job reads and writes in the run's folder, and how a continuation's
//! files are put in place when it ends.
//!
//! A continuation moves the current `results.csv` aside (`results-N.csv`, listed in
//! `Meta::segments`) and writes a new `results.csv`: a `--retry-from` of the earlier file when
//! the engine's reader finds it whole (a run that ended at the invite cap, or with rows to
//! fix: every row, the created ones carried over, so the earlier file needs no undo of its
//! own), else (a run stopped on request, or cut by the server's end) the upload imported
//! again, as the CLI continues such a run: guests made already are found and skipped, so the
//! earlier file stays a segment that an undo takes back too. A continuation that is declined
//! or cannot start puts the earlier file back.

use std::sync::Arc;

use super::app::App;
use super::jobs::{Kind, Order, Outcome, Step, Then};
use super::runs::{Meta, RunDir};
use crate::config::{PageJob, Reach};

/// The words that would run the same job at a terminal, for the summary's record.
fn argv(command: &str, file: &std::path::Path, flags: &[&str]) -> Vec<String> {
    let mut words = vec![
        env!("CARGO_PKG_NAME").to_string(),
        command.to_string(),
        file.display().to_string(),
    ];
    words.extend(flags.iter().map(|flag| flag.to_string()));
    words
}

/// The page's organization, or why there is none.
fn reach(app: &App) -> Result<super::app::Reached, String> {
    app.reached()
        .ok_or_else(|| "connect to Tallyfy first (the token form on the first page)".to_string())
}

/// A job of the run, reaching the page's organization.
fn page_job(app: &App, meta: &Meta, file: std::path::PathBuf, results: std::path::PathBuf) -> Result<PageJob, String> {
    Ok(PageJob {
        file,
        retry: false,
        undo: false,
        dry_run: false,
        summary_json: results.clone(),
        results,
        map: super::table::targets(&meta.map),
        edits: meta.cell_edits(),
        skip: meta.skipped.clone(),
        sheet: meta.sheet.clone(),
        reach: Reach::Api(Box::new(reach(app)?.api)),
        argv: Vec::new(),
    })
}

/// Starts the run's preview: a dry run of the upload, with the person's mapping and edits.
pub(super) fn preview(app: &Arc<App>, id: &str, run: &RunDir, meta: &Meta) -> Result<(), String> {
    let _ordering = app.hub.ordering();
    let upload = run.upload(meta);
    let job = PageJob {
        dry_run: true,
        summary_json: run.preview_summary(),
        argv: argv("import", &upload, &["--dry-run"]),
        ..page_job(app, meta, upload, run.preview())?
    };
    let order = Order {
        run: id.to_string(),
        kind: Kind::Preview,
        steps: vec![Step {
            fields: run.fields(&run.preview()),
            job,
        }],
        api: reach(app)?.api,
        workbook: None,
        then: None,
    };
    app.hub.start(order, super::drive::drive)
}

/// Starts the import, or continues it when it has results already: the engine plans it and
/// asks its question, which the page shows.
pub(super) fn send(app: &Arc<App>, id: &str, run: &RunDir, meta: &Meta) -> Result<(), String> {
    let _ordering = app.hub.ordering();
    if app.hub.active(id) {
        return Err("a job of this run is going: wait for it to end".into());
    }
    if run.results().exists() {
        return continuation(app, id, run, meta);
    }
    let upload = run.upload(meta);
    let mut meta = meta.clone();
    meta.organization = Some(app.organization());
    run.save(&meta).map_err(|e| format!("cannot keep the run: {e}"))?;
    let job = PageJob {
        summary_json: run.summary(),
        argv: argv("import", &upload, &[]),
        ..page_job(app, &meta, upload.clone(), run.results())?
    };
    app.hub
        .start(import_order(app, id, run, &meta, job, None)?, super::drive::drive)
}

/// An import's order: its one job, and the workbook of its results at the end.
fn import_order(
    app: &App,
    id: &str,
    run: &RunDir,
    meta: &Meta,
    job: PageJob,
    then: Option<Then>,
) -> Result<Order, String> {
    Ok(Order {
        run: id.to_string(),
        kind: Kind::Send,
        steps: vec![Step {
            fields: run.fields(&run.results()),
            job,
        }],
        api: reach(app)?.api,
        // The workbook names the person's file, not the server's copy of it.
        workbook: Some((run.results(), run.results_xlsx(), meta.shown().to_string())),
        then,
    })
}

/// Whether the import's results file is whole (the engine's own reader of a results file
/// says so: its run read every row and stamped it), so that `--retry-from` can continue it. A
/// run stopped on request or killed leaves a file that is not.
fn whole(path: &std::path::Path) -> bool {
    let [row, status, ..] = crate::engine::report::results::RESULT_COLUMNS;
    crate::input::verify_results(path, row, status).is_ok_and(|verified| verified.whole.is_ok())
}

/// The rest of the same job: the results moved aside and continued (see the module's note).
fn continuation(app: &Arc<App>, id: &str, run: &RunDir, meta: &Meta) -> Result<(), String> {
    if run.undo().exists() {
        return Err("this import was undone: upload the file again to import it anew".into());
    }
    reach(app)?;
    let retry = whole(&run.results());
    let n = (1..)
        .find(|n| !run.file(&format!("results-{n}.csv")).exists())
        .unwrap_or(1);
    let segment = format!("results-{n}.csv");
    let moves = [
        (run.results(), run.file(&segment)),
        (run.summary(), run.file(&format!("results-{n}.summary.json"))),
        (
            run.fields(&run.results()),
            run.file(&format!("results-{n}.fields.json")),
        ),
    ];
    let started = aside_and_continued(app, id, run, meta, &segment, &moves, retry);
    if started.is_err() {
        // Nothing started: the run is as it was.
        let nothing = Outcome {
            declined: true,
            ..Outcome::default()
        };
        settle(run, &segment, &moves, retry, &nothing);
    }
    started
}

/// Moves the earlier results aside (`moves`) and starts their continuation: a retry of them
/// when they are whole, else the upload imported again.
fn aside_and_continued(
    app: &Arc<App>,
    id: &str,
    run: &RunDir,
    meta: &Meta,
    segment: &str,
    moves: &[(std::path::PathBuf, std::path::PathBuf); 3],
    retry: bool,
) -> Result<(), String> {
    let _ = std::fs::remove_file(run.results_xlsx());
    for (from, to) in moves {
        if from.exists() {
            std::fs::rename(from, to).map_err(|e| format!("cannot move the earlier results aside: {e}"))?;
        }
    }
    let mut meta = meta.clone();
    meta.segments.push(segment.to_string());
    meta.organization = Some(app.organization());
    run.save(&meta).map_err(|e| format!("cannot keep the run: {e}"))?;
    let (file, flags) = if retry {
        (run.file(segment), &["--retry-from"][..])
    } else {
        (run.upload(&meta), &[][..])
    };
    let job = PageJob {
        retry,
        summary_json: run.summary(),
        argv: argv("import", &file, flags),
        ..page_job(app, &meta, file, run.results())?
    };
    let (folder, segment, moves) = (run.clone(), segment.to_string(), moves.clone());
    let then = move |outcome: &Outcome| settle(&folder, &segment, &moves, retry, outcome);
    let order = import_order(app, id, run, &meta, job, Some(Box::new(then)))?;
    app.hub.start(order, super::drive::drive)
}

/// A continuation's files once it ends: one that wrote nothing puts the earlier results back;
/// a retry that wrote its account carries the earlier creates, so the earlier file is no
/// longer a segment to undo on its own.
fn settle(
    run: &RunDir,
    segment: &str,
    moves: &[(std::path::PathBuf, std::path::PathBuf); 3],
    retry: bool,
    outcome: &Outcome,
) {
    let Ok(mut meta) = run.meta() else { return };
    if outcome.declined || !run.results().exists() {
        for (back, aside) in moves {
            if aside.exists() {
                let _ = std::fs::rename(aside, back);
            }
        }
    } else if !(retry && whole(&run.results())) {
        return;
    }
    meta.segments.retain(|s| s != segment);
    if let Err(e) = run.save(&meta) {
        tracing::warn!("cannot keep the run: {e}");
    }
}

/// Starts the undo: the current results, then each earlier segment, newest first; the engine
/// asks before each.
pub(super) fn undo(app: &Arc<App>, id: &str, run: &RunDir, meta: &Meta) -> Result<(), String> {
    let _ordering = app.hub.ordering();
    if app.hub.active(id) {
        return Err("a job of this run is going: wait for it to end".into());
    }
    if !run.results().exists() {
        return Err("there is nothing to undo: nothing was sent".into());
    }
    let mut files = vec![(run.results(), run.undo())];
    for (i, segment) in meta.segments.iter().enumerate().rev() {
        files.push((run.file(segment), run.file(&format!("undo-{}.csv", i + 1))));
    }
    let mut steps = Vec::new();
    for (results, out) in files {
        let job = PageJob {
            undo: true,
            summary_json: run.undo_summary(),
            argv: argv("undo", &results, &[]),
            edits: Vec::new(),
            skip: Vec::new(),
            sheet: None,
            ..page_job(app, meta, results, out.clone())?
        };
        steps.push(Step {
            fields: run.fields(&out),
            job,
        });
    }
    let order = Order {
        run: id.to_string(),
        kind: Kind::Undo,
        steps,
        api: reach(app)?.api,
        workbook: None,
        then: None,
    };
    app.hub.start(order, super::drive::drive)
}

/// Starts the rest of a stopped, capped, failed or interrupted import (Continue).
pub(super) fn resume(app: &Arc<App>, id: &str, run: &RunDir, meta: &Meta) -> Result<(), String> {
    if !run.results().exists() {
        return Err("there is nothing to continue: nothing was sent yet".into());
    }
    send(app, id, run, meta)
}
