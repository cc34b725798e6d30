//! A local, faithful emulator of the Tallyfy guests API (see ../shared/tallyfy-api.md), for
//! tests, benchmarks and trying the tool with no account. Start it in-process with
//! [`Sandbox::start`] (on the current runtime) or [`Sandbox::spawn`] (on its own thread), or from
//! the command line with `tallyfy-guests sandbox`.

mod faults;
mod oauth;
mod routes;
mod seed;
mod server;
mod store;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;

pub use faults::FaultOptions;
pub use oauth::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OAuthOptions};
pub use seed::{SAMPLE_GUESTS_CSV, load as load_guests, sample_guests};
pub use store::{Member, default_members, valid_email};

use crate::api::model::Guest;
use crate::api::{ApiConfig, Credentials, Transport};
use routes::AppState;

pub use crate::defaults::{SANDBOX_ORG as DEFAULT_ORG, SANDBOX_TOKEN as DEFAULT_TOKEN};

/// How to set a sandbox up.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// 0 picks a free port.
    pub port: u16,
    /// The organization id served.
    pub org: String,
    /// The organization's name (`GET me/organizations`).
    pub org_name: String,
    /// The access token accepted.
    pub token: String,
    /// The guests it starts with.
    pub guests: Vec<Guest>,
    /// The organization's members.
    pub members: Vec<Member>,
    /// Server-side cap on `per_page` (the API may cap lower than asked).
    pub per_page_cap: u64,
    /// Serve the older payload shapes.
    pub legacy: bool,
    /// The faults to inject.
    pub faults: FaultOptions,
    /// The OAuth token endpoint's client and token lifetime.
    pub oauth: OAuthOptions,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            port: 0,
            org: DEFAULT_ORG.into(),
            org_name: "Sandbox Organization".into(),
            token: DEFAULT_TOKEN.into(),
            guests: Vec::new(),
            members: default_members(),
            per_page_cap: 100,
            legacy: false,
            faults: FaultOptions::default(),
            oauth: OAuthOptions::default(),
        }
    }
}

/// The sandbox behind `--sandbox`: seeded with the built-in sample guests, with a client
/// configuration (the run's pacing and timeouts) that points at it. Keep the `Sandbox` alive
/// for as long as the configuration is used.
pub async fn builtin(transport: Transport) -> std::io::Result<(Sandbox, ApiConfig)> {
    // Tallyfy's invite cap, as the `sandbox` command has it by default: a trial of 40 guests
    // shows what a real import does at guest 31.
    let cap = crate::defaults::SANDBOX_INVITE_CAP.parse().expect("a valid rate");
    let sandbox = Sandbox::start(SandboxOptions {
        guests: sample_guests(),
        faults: FaultOptions {
            invite_cap: Some(cap),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    })
    .await?;
    tracing::info!(
        "using the built-in sandbox at {} (seeded with samples/existing-guests.csv; it caps guest invites at 30 an hour, as Tallyfy does); no account is used",
        sandbox.base_url()
    );
    let token = Credentials::Token(crate::secret::Secret::new(sandbox.token()));
    let config = ApiConfig::new(transport, sandbox.base_url(), sandbox.org(), token)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok((sandbox, config))
}

/// What a sandbox has seen and done, for tests and the benchmark harness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SandboxStats {
    /// Requests received.
    pub requests: u64,
    /// Requests done with (answered, or abandoned by a client that went away): `requests -
    /// settled` are in flight, and a change a request makes is in the store once it settled.
    pub settled: u64,
    /// Connections open now.
    pub connections: u64,
    /// GET requests.
    pub gets: u64,
    /// POST requests.
    pub posts: u64,
    /// PUT requests.
    pub puts: u64,
    /// DELETE requests.
    pub deletes: u64,
    /// Guests created.
    pub created: u64,
    /// Connections dropped on purpose.
    pub drops: u64,
    /// 5xx answers given on purpose.
    pub server_errors: u64,
    /// Burst 429s given.
    pub throttled: u64,
    /// Invite-cap 429s given.
    pub invite_capped: u64,
    /// Creates stored but answered with a failure.
    pub commit_failures: u64,
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    state: Arc<AppState>,
    _shutdown: oneshot::Sender<()>,
}

impl Sandbox {
    /// Starts serving on the current tokio runtime.
    pub async fn start(options: SandboxOptions) -> std::io::Result<Sandbox> {
        let (sandbox, listener, app, shutdown) = Self::prepare(options)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let open = sandbox.state.requests.connections.clone();
        tokio::spawn(server::serve(listener, app, shutdown, open));
        Ok(sandbox)
    }

    /// Starts serving on a runtime of its own thread: for synchronous callers, such as tests
    /// that run the real binary against it.
    pub fn spawn(options: SandboxOptions) -> std::io::Result<Sandbox> {
        let (sandbox, listener, app, shutdown) = Self::prepare(options)?;
        let open = sandbox.state.requests.connections.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sandbox")
            .enable_all()
            .build()?;
        std::thread::Builder::new().name("sandbox".into()).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => server::serve(listener, app, shutdown, open).await,
                    Err(e) => tracing::error!("sandbox could not listen: {e}"),
                }
            });
        })?;
        Ok(sandbox)
    }

    fn prepare(
        options: SandboxOptions,
    ) -> std::io::Result<(Sandbox, std::net::TcpListener, axum::Router, oneshot::Receiver<()>)> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, options.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AppState {
            store: std::sync::Mutex::new(store::Store::folding(
                options.guests,
                options.members,
                options.faults.fold_accents,
            )),
            faults: faults::Faults::new(options.faults),
            oauth: oauth::OAuth::new(options.oauth),
            requests: Default::default(),
            org: options.org,
            org_name: options.org_name,
            token: options.token,
            per_page_cap: options.per_page_cap.max(1),
            legacy: options.legacy,
            base_url: format!("http://{addr}/api"),
            log: Default::default(),
        });
        let app = routes::router(state.clone());
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        Ok((
            Sandbox {
                addr,
                state,
                _shutdown: shutdown_tx,
            },
            listener,
            app,
            shutdown_rx,
        ))
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/api`
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The organization id it serves.
    pub fn org(&self) -> &str {
        &self.state.org
    }

    /// The token it accepts.
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// Access tokens the OAuth endpoint has issued.
    pub fn tokens_issued(&self) -> u64 {
        self.state.oauth.issued()
    }

    /// Every guest, in server order.
    pub fn guests(&self) -> Vec<Guest> {
        self.state.store().guests().to_vec()
    }

    /// The guest with this email, if any.
    pub fn guest(&self, email: &str) -> Option<Guest> {
        self.state.store().find(email).cloned()
    }

    /// Someone else's change, as a person in the web app would make it: removes the guest with
    /// this email and, with `replace`, adds a new guest (a new id) under the same email.
    pub fn remove_by_hand(&self, email: &str, replace: bool) -> Option<Guest> {
        let mut store = self.state.store();
        let removed = store.delete(email)?;
        if replace {
            let again = Guest {
                email: removed.email.clone(),
                ..Guest::default()
            };
            store.create(again, &routes::now(&self.state.faults));
        }
        Some(removed)
    }

    /// Someone's use of a guest since it was made, as the web app records it: a sign-in at
    /// `last_accessed_at` (RFC 3339) and `assigned_tasks` tasks assigned (read with
    /// `with=stats`). `None` leaves a field as it is. Returns the guest as it is now.
    pub fn use_guest(&self, email: &str, last_accessed_at: Option<&str>, assigned_tasks: Option<u64>) -> Option<Guest> {
        let mut store = self.state.store();
        store.touch(email, last_accessed_at, assigned_tasks)
    }

    /// Moves the sandbox's clock ahead by `by` (whole seconds), as if that long had passed on
    /// the server: `created_at`, the `Date` header, the invite cap's window and the read lag
    /// all follow it. Tests advance it instead of sleeping.
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.state.faults.advance(by);
    }

    /// Holds every write (POST, PUT, DELETE) that arrives from now on: counted in
    /// [`Sandbox::stats`], answered only after [`Sandbox::release_writes`].
    pub fn hold_writes(&self) {
        self.state.faults.hold_writes(true);
    }

    /// Lets held writes (and later ones) through.
    pub fn release_writes(&self) {
        self.state.faults.hold_writes(false);
    }

    /// Every request's method and path, in order of arrival (for tests that must prove what
    /// was, or was not, sent).
    pub fn request_log(&self) -> Vec<String> {
        self.state.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What it has seen and done so far.
    pub fn stats(&self) -> SandboxStats {
        let (requests, faults) = (&self.state.requests, &self.state.faults.counters);
        let read = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        SandboxStats {
            requests: read(&requests.total),
            settled: read(&requests.settled),
            connections: read(&requests.connections),
            gets: read(&requests.get),
            posts: read(&requests.post),
            puts: read(&requests.put),
            deletes: read(&requests.delete),
            created: read(&requests.created),
            drops: read(&faults.drops),
            server_errors: read(&faults.server_errors),
            throttled: read(&faults.throttled),
            invite_capped: read(&faults.invite_capped),
            commit_failures: read(&faults.commit_failures),
        }
    }
}
