//! `ui`: the import as a local web page (issue 25), a face of the same engine as the CLI. The
//! server listens on 127.0.0.1 only, prints its URL with a key on the first stdout line, and
//! serves server-rendered pages; every preview, import and undo is a job of the engine built
//! from a command line as the CLI builds it, writing the same results files, in a folder per
//! run under `--dir`.
//!
//! The rooms: `app` (the server's state), `security` (key, cookie, Host and Origin checks, headers), `runs` (the folder per
//! run), `table` (files read back for the page), `corrected` (the upload with the page's fixes), `jobs` (live state, stop) and `drive` (the
//! engine call), `view` (what a page says), `words` (the engine's messages in a person's words) and `page` (its HTML), `routes`, `events` (SSE),
//! `assets` (the embedded stylesheet and script).

mod actions;
mod app;
mod assets;
mod corrected;
mod drive;
mod events;
mod jobs;
mod page;
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
    let runs = Runs::open(&config.dir)
        .map_err(|e| RunError::io(format!("cannot keep the runs in {}", config.dir.display()), e))?;
    let mut sandbox = None;
    let (reach, ask, invite_rates) = match config.reach {
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
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|e| RunError::io(format!("cannot listen on 127.0.0.1:{}", config.port), e))?;
    let port = listener
        .local_addr()
        .map_err(|e| RunError::io("cannot listen on 127.0.0.1", e))?
        .port();
    let guard = Arc::new(security::Guard::new(port));
    let url = guard.url();
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{url}")
            .and_then(|()| out.flush())
            .map_err(|e| RunError::io("cannot write to stdout", e))?;
    }
    tracing::info!(
        "serving the page at http://127.0.0.1:{port}/ (the runs are kept in {})",
        runs.dir().display()
    );
    if config.open {
        open_browser(&url);
    }
    let app = Arc::new(App {
        runs,
        hub: Hub::new(),
        reach: RwLock::new(reach),
        ask,
        columns: Mutex::new(HashMap::new()),
        invite_rates,
    });
    let exit = serve(listener, app, guard).await?;
    drop(sandbox);
    Ok(exit)
}

/// Serves the page on `listener` until a signal: the first stops every job and waits for
/// them, a second abandons them.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    guard: Arc<security::Guard>,
) -> Result<Exit, RunError> {
    let router = routes::router(Arc::clone(&app), guard);
    let server = axum::serve(listener, router);
    let exit = tokio::select! {
        result = server => {
            result.map_err(|e| RunError::io("the page's server failed", e))?;
            Exit::Success
        }
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
    };
    Ok(exit)
}

/// Opens the page in the person's browser; says so when it cannot.
fn open_browser(url: &str) {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut command = std::process::Command::new("cmd");
        command.args(["/C", "start", ""]);
        command
    } else {
        std::process::Command::new("xdg-open")
    };
    let opened = command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if opened.is_err() {
        tracing::warn!("could not open a browser: open the URL on the first line yourself");
    }
}
