//! One job through the engine: the command line parsed as the CLI parses it, the page's
//! organization put in (the token never goes through a command line or the environment), the
//! engine run to its end, its events turned into the page's live state. The only file that
//! knows how the engine is called.

use std::collections::BTreeMap;
use std::sync::Arc;

use clap::Parser;

use super::jobs::{Hub, Order, Outcome};
use crate::cli::{Cli, Command};
use crate::config::Reach;
use crate::logging::Ui;

/// Runs the order's job to its end.
pub async fn drive(hub: &Arc<Hub>, order: Order) -> Outcome {
    let _ = hub;
    let argv = std::iter::once("tallyfy-guests".to_string()).chain(order.argv.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(error) => return failed(error.render().to_string()),
    };
    let mut config = match cli.command {
        Command::Import(args) => crate::config::import(args),
        Command::Undo(args) => crate::config::undo(args),
        _ => return failed("the page runs only imports and undos".into()),
    };
    config.reach = Ok(Reach::Api(Box::new(order.api.clone())));
    config.edits = order.edits.clone();
    // The server's stderr is not a terminal the person watches: errors only.
    let ui = Ui {
        quiet: true,
        json: false,
        progress: false,
    };
    // The import's future is not `Send` (yet): it runs on a thread and runtime of its own, as
    // the CLI runs it.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new().name("ui-job".into()).spawn(move || {
        let result = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| crate::RunError::io("cannot start the job's runtime", e))
            .and_then(|runtime| runtime.block_on(crate::import::run(config, ui)));
        let _ = tx.send(result);
    });
    if let Err(e) = spawned {
        return failed(format!("cannot start the job: {e}"));
    }
    let Ok(result) = rx.await else {
        return failed("the job ended without an account".into());
    };
    let mut outcome = read_summary(&order.summary);
    if let Err(error) = result {
        outcome.stopped = Some(error.lines().join("; "));
    }
    outcome
}

fn failed(why: String) -> Outcome {
    Outcome {
        counts: None,
        stopped: Some(why.trim().to_string()),
    }
}

/// The counts and the stop of a job's `--summary-json`.
fn read_summary(path: &std::path::Path) -> Outcome {
    let Ok(bytes) = std::fs::read(path) else {
        return Outcome::default();
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Outcome::default();
    };
    let counts: BTreeMap<String, u64> = value["counts"]
        .as_object()
        .map(|counts| {
            counts
                .iter()
                .filter_map(|(status, n)| Some((status.clone(), n.as_u64()?)))
                .filter(|(_, n)| *n > 0)
                .collect()
        })
        .unwrap_or_default();
    let stopped = value["stopped"]
        .as_str()
        .or(value["error"].as_str())
        .map(str::to_string);
    Outcome {
        counts: Some(counts),
        stopped,
    }
}
