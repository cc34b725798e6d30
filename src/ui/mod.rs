//! `ui`: the import as a local web page (issue 25), a face of the same engine as the CLI. The
//! server listens on 127.0.0.1 only, prints its URL with a key on the first stdout line, and
//! serves server-rendered pages; every preview, import and undo is a job of the engine built
//! from a command line as the CLI builds it, writing the same results files, in a folder per
//! run under `--dir`.
//!
//! The rooms: `security` (key, cookie, Host and Origin checks, headers), `runs` (the folder per
//! run), `table` (files read back for the page), `jobs` (live state, stop) and `drive` (the
//! engine call), `view` (what a page says) and `page` (its HTML), `routes`, `events` (SSE),
//! `assets` (the embedded stylesheet and script).

mod assets;
mod drive;
mod events;
mod jobs;
mod page;
mod routes;
mod runs;
mod security;
mod table;
mod view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::config::{ApiConfig, Transport, UiConfig, UiReach};
use crate::error::{Exit, RunError};
use crate::rate::Rate;
use jobs::{Hub, Kind};
use runs::{Meta, RunDir, Runs};
use table::Columns;

/// The organization the page's jobs go to, and its name for people.
#[derive(Clone)]
pub(crate) struct Reached {
    api: ApiConfig,
    organization: String,
}

/// What the page asks for when no credentials are configured.
#[derive(Clone)]
pub(crate) struct Ask {
    transport: Transport,
    base_url: String,
    org: Option<String>,
}

/// Each run's columns, with the mapping they were read under.
type ColumnCache = HashMap<String, (Vec<(String, String)>, Arc<Columns>)>;

/// The server's state.
pub(crate) struct App {
    runs: Runs,
    hub: Arc<Hub>,
    reach: RwLock<Option<Reached>>,
    ask: Option<Ask>,
    confirming: Mutex<HashMap<String, Kind>>,
    columns: Mutex<ColumnCache>,
    invite_rates: Vec<Rate>,
}

impl App {
    fn reached(&self) -> Option<Reached> {
        self.reach
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The organization, as people know it.
    fn organization(&self) -> String {
        self.reached()
            .map_or_else(|| "the organization".to_string(), |reached| reached.organization)
    }

    fn confirming(&self, id: &str) -> Option<Kind> {
        self.confirming
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .copied()
    }

    fn set_confirming(&self, id: &str, kind: Option<Kind>) {
        let mut confirming = self
            .confirming
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match kind {
            Some(kind) => confirming.insert(id.to_string(), kind),
            None => confirming.remove(id),
        };
    }

    /// The upload's columns under the run's mapping, read once per mapping.
    fn columns(&self, id: &str, run: &RunDir, meta: &Meta) -> Result<Arc<Columns>, String> {
        let mut cache = self.columns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((map, columns)) = cache.get(id)
            && *map == meta.map
        {
            return Ok(Arc::clone(columns));
        }
        let columns = Arc::new(table::columns(&run.upload(meta), &meta.map)?);
        cache.insert(id.to_string(), (meta.map.clone(), Arc::clone(&columns)));
        Ok(columns)
    }
}

/// Names the organization from `GET me/organizations`, as `doctor` does; its id when the API
/// does not say.
async fn name(api: &ApiConfig) -> String {
    let lookup = async {
        let client = crate::api::Client::new(api).ok()?;
        client.organization_name().await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(15), lookup).await {
        Ok(Some(name)) => format!("{name} ({})", api.org),
        _ => api.org.clone(),
    }
}

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
        confirming: Mutex::new(HashMap::new()),
        columns: Mutex::new(HashMap::new()),
        invite_rates,
    });
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
    drop(sandbox);
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
