//! `ui`: the import as a local web page (issue 25), a face of the same engine as the CLI. The
//! server listens on 127.0.0.1 only, prints its URL with a key on the first stdout line, and
//! serves server-rendered pages; every preview, import and undo is a job of the engine built
//! from a command line as the CLI builds it, writing the same results files, in a folder per
//! run under `--dir`.
//!
//! The rooms: `app` (the server's state), `security` (key, session, Host, Sec-Fetch-Site and
//! Origin checks, headers), `listen` (connections: header deadline, cap), `process` (umask,
//! descriptor limit), `opener` (the browser, through a redirect file), `runs` (the folder per
//! run), `retention` (a run deleted, `--keep`), `table` (files read back for the page),
//! `corrected` (the upload with the page's fixes), `jobs` (live state, stop) and `drive` (the
//! engine call), `view` (what a page says), `words` (the engine's messages in a person's
//! words) and `page` (its HTML), `routes`, `events` (SSE),
//! `assets` (the embedded stylesheet and script).

mod actions;
mod app;
mod assets;
mod corrected;
mod drive;
mod events;
mod jobs;
mod listen;
mod opener;
mod page;
mod process;
mod retention;
mod routes;
mod runs;
mod security;
mod table;
mod view;
mod words;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::config::{UiConfig, UiReach};
use crate::error::{Exit, RunError};
use app::{App, Ask, Reached, name};
use jobs::Hub;
use runs::Runs;

/// Serves the page until a signal; the first stops every job as the CLI's first Ctrl-C does
/// and waits for them, a second abandons them.
pub async fn run(config: UiConfig) -> Result<Exit, RunError> {
    process::prepare();
    let runs = Runs::open(&config.dir)
        .map_err(|e| RunError::io(format!("cannot keep the runs in {}", config.dir.display()), e))?;
    retention::prune(&runs, config.keep, &|_| false);
    let (reach, ask, invite_rates, sandbox) = reach(config.reach).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|e| RunError::io(format!("cannot listen on 127.0.0.1:{}", config.port), e))?;
    let port = listener
        .local_addr()
        .map_err(|e| RunError::io("cannot listen on 127.0.0.1", e))?
        .port();
    let guard = Arc::new(security::Guard::new(port, Box::new(|url| drop(print_link(url)))));
    let url = guard.url();
    print_link(&url).map_err(|e| RunError::io("cannot write to stdout", e))?;
    tracing::info!(
        "serving the page at http://127.0.0.1:{port}/ (the runs are kept in {})",
        runs.dir().display()
    );
    if config.open
        && let Some(file) = opener::open(&url, runs.dir(), port)
    {
        guard.redirect_file(file);
    }
    let app = Arc::new(App {
        runs,
        hub: Hub::new(),
        reach: RwLock::new(reach),
        ask,
        columns: Mutex::new(HashMap::new()),
        reading: Mutex::new(()),
        invite_rates,
    });
    let pruning = tokio::spawn(prune_daily(Arc::clone(&app), config.keep));
    let exit = serve(listener, app, Arc::clone(&guard)).await;
    pruning.abort();
    guard.forget_redirect_file();
    drop(sandbox);
    Ok(exit)
}

/// What the page reaches (or asks for), its invite pace, and the built-in sandbox if it is one.
async fn reach(
    reach: UiReach,
) -> Result<
    (
        Option<Reached>,
        Option<Ask>,
        Vec<crate::rate::Rate>,
        Option<crate::sandbox::Sandbox>,
    ),
    RunError,
> {
    let mut sandbox = None;
    let (reach, ask, invite_rates) = match reach {
        UiReach::Sandbox(transport) => {
            let rates = transport.invite_rates.clone();
            let (started, api) = crate::sandbox::builtin(transport)
                .await
                .map_err(|e| RunError::io("cannot start the built-in sandbox", e))?;
            sandbox = Some(started);
            let organization = name(&api).await;
            (Some(Reached { api, organization }), None, rates)
        }
        UiReach::Api(api) => {
            let rates = api.transport.invite_rates.clone();
            let organization = name(&api).await;
            (
                Some(Reached {
                    api: *api,
                    organization,
                }),
                None,
                rates,
            )
        }
        UiReach::AskToken {
            transport,
            base_url,
            org,
        } => {
            let rates = transport.invite_rates.clone();
            (
                None,
                Some(Ask {
                    transport,
                    base_url,
                    org,
                }),
                rates,
            )
        }
    };
    Ok((reach, ask, invite_rates, sandbox))
}

/// The page's address with its key, on a line of stdout of its own (the first, and a new one
/// each time a used link is opened again).
fn print_link(url: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{url}").and_then(|()| out.flush())
}

/// Removes the runs past their retention once a day while the server runs (never one whose
/// job is going).
async fn prune_daily(app: Arc<App>, keep: Option<std::time::Duration>) {
    let day = std::time::Duration::from_secs(24 * 3600);
    loop {
        tokio::time::sleep(day).await;
        let hub = Arc::clone(&app.hub);
        let runs = app.runs.clone();
        let _ = tokio::task::spawn_blocking(move || {
            retention::prune(&runs, keep, &|id| hub.active(id));
        })
        .await;
    }
}

/// Serves the page on `listener` until a signal: the first stops every job and waits for
/// them, a second abandons them.
async fn serve(listener: tokio::net::TcpListener, app: Arc<App>, guard: Arc<security::Guard>) -> Exit {
    let router = routes::router(Arc::clone(&app), guard);
    tokio::select! {
        () = listen::serve(listener, router) => Exit::Success,
        () = crate::error::shutdown_signal() => {
            let going = app.hub.any_active();
            if going {
                tracing::warn!("stopping the runs: no new requests; those in flight are finishing (signal again to abandon them)");
            }
            tokio::select! {
                () = app.hub.stop_all() => {}
                () = crate::error::shutdown_signal() => tracing::warn!("abandoned the requests in flight"),
            }
            if going { Exit::Stopped } else { Exit::Success }
        }
    }
}
