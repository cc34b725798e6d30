//! The validated configuration of each command, built once from the flags (`cli`) and the
//! environment: the [`Job`] of an import or undo (in `job`), `ExportConfig`, `DoctorConfig`, the
//! sandbox's `SandboxOptions`, and the `ApiConfig` they reach Tallyfy with. This and `cli` are the only places that read
//! `std::env` (clippy.toml's `disallowed-methods` holds every other module to it); the commands take these and never see the flags.

#![allow(
    clippy::disallowed_methods,
    reason = "config is where the environment is read (with cli): flags + env -> checked configuration"
)]

use std::path::PathBuf;

use url::Url;

mod env;
mod error;
mod job;
mod monitor;

pub use crate::api::settings::{ApiConfig, Credentials, Transport, parse_base_url, parse_org};
use crate::cli::{ApiArgs, DoctorArgs, ExportArgs, SandboxArgs, UiArgs};
use crate::sandbox::{FaultOptions, OAuthOptions, SandboxOptions, load_guests, sample_guests};
use crate::secret::Secret;
pub use env::{API_TOKEN_ENV, CLIENT_SECRET_ENV, ENV_VARS, TOKEN_ENV};
pub use error::ConfigError;
pub use job::{Import, Job, Kind, Output, PageJob, Reading, Undo, import, job_from_args, page, undo};
pub use monitor::{Monitor, history_dir};

pub use crate::defaults::BASE_URL as DEFAULT_BASE_URL;

impl ApiConfig {
    /// Checks the flags and reads the token from `TALLYFY_ACCESS_TOKEN` or `--token-file`.
    /// Every problem is reported at once (`ConfigError::Several` when there is more than one).
    pub fn from_args(args: &ApiArgs) -> Result<Self, ConfigError> {
        let org = args.org.as_deref().ok_or(ConfigError::MissingOrg);
        let credentials = Self::credentials(args);
        let base = parse_base_url(&args.base_url).map(drop).map_err(ConfigError::from);
        match (org, credentials, base) {
            (Ok(org), Ok(credentials), Ok(())) => {
                Ok(ApiConfig::new(transport(args), &args.base_url, org, credentials)?)
            }
            (org, credentials, base) => {
                let mut problems: Vec<ConfigError> = [org.err(), credentials.err(), base.err()]
                    .into_iter()
                    .flatten()
                    .collect();
                Err(if problems.len() == 1 {
                    problems.remove(0)
                } else {
                    ConfigError::Several(problems)
                })
            }
        }
    }

    fn credentials(args: &ApiArgs) -> Result<Credentials, ConfigError> {
        let token = match (&args.token_file, &args.token_command) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoTokenSources),
            (Some(path), None) => Some(read_secret_file(path, args.io_timeout)?),
            (None, Some(command)) => Some(run_token_command(command, args.io_timeout)?),
            (None, None) => env_token()?.as_deref().map(token_from),
        };
        let secret = match &args.client_secret_file {
            Some(path) => Some(read_secret_file(path, args.io_timeout).map_err(|e| match e {
                ConfigError::EmptyTokenFile(path) => ConfigError::EmptySecretFile(path),
                other => other,
            })?),
            None => std::env::var(CLIENT_SECRET_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| Secret::new(v.trim())),
        };
        let client_id = args.client_id.as_deref().map(str::trim).filter(|id| !id.is_empty());
        match (token, client_id, secret) {
            (Some(_), Some(_), _) => Err(ConfigError::BothCredentials),
            (Some(token), None, _) => Ok(Credentials::Token(token)),
            (None, Some(_), None) => Err(ConfigError::MissingClientSecret),
            (None, None, Some(_)) => Err(ConfigError::MissingClientId),
            (None, None, None) => Err(ConfigError::MissingToken),
            (None, Some(id), Some(secret)) => Ok(Credentials::Client {
                token_url: token_url(args.token_url.as_deref(), &args.base_url)?,
                client_id: id.to_string(),
                client_secret: secret,
            }),
        }
    }
}

/// How an import or undo reaches Tallyfy, decided from the flags before anything is sent.
#[derive(Debug, Clone)]
pub enum Reach {
    /// The built-in sandbox (`--sandbox`), with the flags' pacing and timeouts.
    Sandbox(Transport),
    /// The configured organization.
    Api(Box<ApiConfig>),
    /// A dry run with no credentials: nothing is checked against existing guests.
    Offline,
}

impl Reach {
    /// Where its requests go; `None` for an offline dry run.
    pub fn online(self) -> Option<Online> {
        match self {
            Reach::Sandbox(transport) => Some(Online::Sandbox(transport)),
            Reach::Api(config) => Some(Online::Api(config)),
            Reach::Offline => None,
        }
    }
}

/// How a command that cannot run offline (export, doctor) reaches Tallyfy: the flags give an
/// organization to reach, or `--sandbox`; without them it is a `ConfigError`, never offline.
#[derive(Debug, Clone)]
pub enum Online {
    /// The built-in sandbox (`--sandbox`), with the flags' pacing and timeouts.
    Sandbox(Transport),
    /// The configured organization.
    Api(Box<ApiConfig>),
}

/// Where this user's locks live: `TALLYFY_LOCK_DIR` when set (tests, or a machine whose `/tmp`
/// is not shared by its sessions), else `/tmp/tallyfy-guests-UID`. Locks there outlive no run:
/// the OS releases them when the process ends.
///
/// One folder for every session of one user, so an interactive run and the same user's cron job
/// meet the same lock (issue 30). Not `$XDG_RUNTIME_DIR` (set in a login session, absent under
/// cron and ssh commands), not `$TMPDIR` (pam_tmpdir, macOS and shells set it per session or
/// not at all), and not `$USER` (unset under cron in containers, and anyone can name it): the
/// effective uid, in the one temp folder every session of the machine sees. Another user can
/// make that name first; `lock::folder` then refuses it (it must be ours, mode 0700) rather
/// than trust it.
pub fn lock_dir() -> PathBuf {
    match std::env::var_os(LOCK_DIR_ENV).filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => default_lock_dir(),
    }
}

/// The variable that moves the lock folder (the folder itself, made if missing).
pub const LOCK_DIR_ENV: &str = "TALLYFY_LOCK_DIR";

/// Overrides where what the tool learns of an organization is remembered (tests; a machine
/// whose runs share no home).
pub const STATE_DIR_ENV: &str = "TALLYFY_STATE_DIR";

/// Where what the tool learns of an organization (its invite cap) is remembered:
/// the state folder the history is kept in (`history_dir`: `--state-dir`, else the user's). Not
/// for a server on this machine unless set: every sandbox serves the same organization id, and
/// one trial's cap is no other's.
fn state_dir(given: Option<&std::path::Path>, base_url: &str) -> Option<PathBuf> {
    if given.is_some_and(|dir| !dir.as_os_str().is_empty()) {
        return history_dir(given);
    }
    let local = url::Url::parse(base_url).ok().is_some_and(|url| match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => true,
    });
    if local {
        return None;
    }
    history_dir(None)
}

#[cfg(unix)]
fn default_lock_dir() -> PathBuf {
    // SAFETY: a plain system call that cannot fail and touches no memory of ours.
    let uid = unsafe { libc::geteuid() };
    PathBuf::from(format!("/tmp/tallyfy-guests-{uid}"))
}

#[cfg(not(unix))]
fn default_lock_dir() -> PathBuf {
    std::env::temp_dir().join("tallyfy-guests")
}

/// The built-in sandbox, the organization the flags name, or (a dry run with no credentials)
/// none.
fn reach(api: &ApiArgs, sandbox: bool, dry_run: bool, transport: Transport) -> Result<Reach, ConfigError> {
    if sandbox {
        return Ok(Reach::Sandbox(transport));
    }
    match ApiConfig::from_args(api) {
        Ok(mut config) => {
            config.transport = transport;
            warn_if_expiring(&config);
            Ok(Reach::Api(Box::new(config)))
        }
        Err(error) if dry_run && error.only_missing_credentials() => Ok(Reach::Offline),
        Err(error) => Err(error),
    }
}

/// A token that says it expires (a JWT's `exp`) is worth this much notice, on every run and
/// in `doctor`: a personal token lasts about six months, and a cron job should not find out
/// the night it stops working.
const EXPIRY_NOTICE: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

/// What to say of the token's coming end, if anything.
fn token_expiry(config: &ApiConfig) -> Option<String> {
    match &config.credentials {
        Credentials::Token(token) => crate::secret::expiry_warning(token, std::time::SystemTime::now(), EXPIRY_NOTICE),
        Credentials::Client { .. } => None,
    }
}

/// Says the token's coming end as a warning on stderr (a run's log), if there is one.
fn warn_if_expiring(config: &ApiConfig) {
    if let Some(warning) = token_expiry(config) {
        tracing::warn!("{warning}");
    }
}

/// The built-in sandbox, or the organization the flags name: never offline.
fn online(api: &ApiArgs, sandbox: bool) -> Result<Online, ConfigError> {
    if sandbox {
        Ok(Online::Sandbox(transport(api)))
    } else {
        ApiConfig::from_args(api).map(|config| Online::Api(Box::new(config)))
    }
}

/// Everything `doctor` needs: how to reach the organization (or why not) and where the token
/// comes from, in words.
#[derive(Debug)]
pub struct DoctorConfig {
    /// How to reach Tallyfy, or why it cannot.
    pub reach: Result<Online, ConfigError>,
    /// Where the credentials come from (`TALLYFY_ACCESS_TOKEN`, `--token-file`, ...).
    pub token_source: String,
    /// What is worth a `warn` line though it passes, by check: secret files others can read,
    /// a token about to expire.
    pub warnings: Vec<(&'static str, String)>,
}

/// The `doctor` flags, checked.
pub fn doctor(args: DoctorArgs) -> DoctorConfig {
    crate::files::wait::set_limit(args.api.io_timeout);
    let token_source = if args.sandbox {
        "the built-in sandbox".to_string()
    } else if let Some(path) = &args.api.token_file {
        format!("--token-file {}", path.display())
    } else if args.api.token_command.is_some() {
        "--token-command".to_string()
    } else if args.api.client_id.is_some() {
        "client credentials (TALLYFY_CLIENT_ID)".to_string()
    } else if std::env::var(TOKEN_ENV).is_ok_and(|v| !v.trim().is_empty()) {
        TOKEN_ENV.to_string()
    } else {
        API_TOKEN_ENV.to_string()
    };
    let reach = online(&args.api, args.sandbox);
    // Doctor says so on a line of its own (a log line is easily missed): the secret files
    // that others can read, and a token about to expire.
    let mut warnings: Vec<(&'static str, String)> = [&args.api.token_file, &args.api.client_secret_file]
        .into_iter()
        .flatten()
        .filter(|_| !args.sandbox)
        .filter_map(|path| readable_by_others(&std::fs::metadata(path).ok()?, path))
        .map(|warning| ("secret file", warning))
        .collect();
    if let Ok(Online::Api(config)) = &reach {
        warnings.extend(token_expiry(config).map(|warning| ("token expiry", warning)));
    }
    DoctorConfig {
        reach,
        token_source,
        warnings,
    }
}

/// Everything `ui` needs, checked once from the flags and the environment.
#[derive(Debug)]
pub struct UiConfig {
    /// `--port` (0 picks a free one).
    pub port: u16,
    /// Open a browser: not `--no-open`, and a display to open it on.
    pub open: bool,
    /// `--dir`: where the runs are kept, a folder each.
    pub dir: PathBuf,
    /// `--keep`: how long an unused run is kept, sent or not.
    pub keep: Option<std::time::Duration>,
    /// How the page's runs reach Tallyfy.
    pub reach: UiReach,
}

/// How the page's runs reach Tallyfy.
#[derive(Debug, Clone)]
pub enum UiReach {
    /// `--sandbox`: one sandbox for the server's life, so that a preview, its import and its
    /// undo all see one organization.
    Sandbox(Transport),
    /// The configured organization.
    Api(Box<ApiConfig>),
    /// No credentials configured: the page asks for a personal access token (and the
    /// organization, when none is configured) and keeps it in the server's memory only.
    AskToken {
        /// Pacing and timeouts.
        transport: Transport,
        /// `--base-url`.
        base_url: String,
        /// `--org`, when given.
        org: Option<String>,
    },
}

/// The `ui` flags, checked: credentials as every command has them, or none (the page asks).
pub fn ui(args: UiArgs) -> Result<UiConfig, ConfigError> {
    crate::files::wait::set_limit(args.api.io_timeout);
    let mut transport = transport(&args.api);
    transport.invite_rates = args.invite_rates.clone();
    let reach = if args.sandbox {
        UiReach::Sandbox(transport)
    } else {
        match ApiConfig::from_args(&args.api) {
            Ok(mut config) => {
                config.transport = transport;
                warn_if_expiring(&config);
                UiReach::Api(Box::new(config))
            }
            Err(error) if error.only_missing_credentials() => {
                parse_base_url(&args.api.base_url)?;
                UiReach::AskToken {
                    transport,
                    base_url: args.api.base_url.clone(),
                    org: args.api.org.as_deref().map(parse_org).transpose()?,
                }
            }
            Err(error) => return Err(error),
        }
    };
    // A browser needs a display to open on (none over ssh, in CI or in a container).
    let display = !cfg!(target_os = "linux")
        || ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    let dir = args.dir.unwrap_or_else(|| {
        dirs::data_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("tallyfy-guests")
            .join("runs")
    });
    Ok(UiConfig {
        port: args.port,
        open: !args.no_open && display,
        dir,
        keep: args.keep,
        reach,
    })
}

/// Everything `export` needs, checked once from the flags.
#[derive(Debug)]
pub struct ExportConfig {
    /// How to reach Tallyfy, or why it cannot.
    pub reach: Result<Online, ConfigError>,
    /// `--output`: the file (stdout when absent).
    pub output: Option<PathBuf>,
    /// `--force`: replace `--output` whoever wrote it.
    pub force: bool,
    /// `--with-stats`: add the task statistics columns.
    pub with_stats: bool,
    /// `--raw`: no formula guard.
    pub raw: bool,
    /// `--excel`: a byte order mark and CRLF line ends.
    pub excel: bool,
    /// Pages fetched at once after the first.
    pub concurrency: usize,
    /// The run's watchers (history, `--notify`, `--ping`, `--metrics-file`).
    pub monitor: Monitor,
    /// What is wrong with the monitoring flags, in words (set-up problems).
    pub monitor_problems: Vec<String>,
}

/// The `export` flags, checked.
pub fn export(args: ExportArgs) -> ExportConfig {
    crate::files::wait::set_limit(args.api.io_timeout);
    let reach = online(&args.api, args.sandbox);
    if let Ok(Online::Api(config)) = &reach {
        warn_if_expiring(config);
    }
    let (monitor, monitor_problems) = monitor::monitor(&args.monitor, &args.api);
    ExportConfig {
        reach,
        output: args.output,
        force: args.force,
        with_stats: args.with_stats,
        raw: args.raw,
        excel: args.excel,
        concurrency: args.concurrency as usize,
        monitor,
        monitor_problems,
    }
}

/// How `sandbox` serves: in the foreground (until a signal or `--for`), or in a background
/// process started with `args` (the command line with `--env` swapped for `--foreground`).
#[derive(Debug)]
pub enum SandboxServe {
    /// Here, until a signal or after this long.
    Foreground(Option<std::time::Duration>),
    /// In a child process: this program (or why it cannot be found), run with these arguments.
    Background(std::io::Result<PathBuf>, Vec<std::ffi::OsString>),
}

/// `--env`, or stdout not a terminal (`$(...)`, a file), serves in the background unless
/// `--foreground`.
pub fn sandbox_serve(args: &SandboxArgs) -> SandboxServe {
    use std::io::IsTerminal;
    if args.foreground || (!args.env && std::io::stdout().is_terminal()) {
        return SandboxServe::Foreground(args.stop_after);
    }
    let mut child: Vec<std::ffi::OsString> = std::env::args_os().skip(1).filter(|arg| arg != "--env").collect();
    child.push("--foreground".into());
    SandboxServe::Background(std::env::current_exe(), child)
}

/// The `sandbox` flags, checked: its options, with the guests file read.
pub fn sandbox(args: SandboxArgs) -> Result<SandboxOptions, ConfigError> {
    let guests = match (&args.guests, args.empty) {
        (Some(path), _) => {
            let file = std::fs::File::open(path).map_err(|e| {
                ConfigError::Sandbox(format!(
                    "cannot open --guests {}: {}",
                    path.display(),
                    crate::words::io_words(&e)
                ))
            })?;
            load_guests(std::io::BufReader::new(file))
                .map_err(|e| ConfigError::Sandbox(format!("--guests {}: {e}", path.display())))?
        }
        (None, true) => Vec::new(),
        (None, false) => sample_guests(),
    };
    if args.token.trim().is_empty() {
        return Err(ConfigError::Sandbox("--token must not be empty".into()));
    }
    Ok(SandboxOptions {
        port: args.port,
        org: parse_org(&args.org)?,
        token: args.token,
        guests,
        per_page_cap: u64::from(args.per_page_cap),
        legacy: args.legacy,
        faults: FaultOptions {
            latency: args.latency,
            error_rate: args.error_rate,
            drop_rate: args.drop_rate,
            commit_fail_rate: args.commit_fail_rate,
            create_error_rate: args.create_error_rate,
            burst_limit: args.burst_limit,
            throttle_every: None,
            invite_cap: args.invite_cap.0,
            other_writer_rate: args.other_writer_rate,
            read_lag: args.read_lag,
            revoke_token_after: None,
            refuse_members: None,
            fold_accents: false,
            date_skew_seconds: 0,
            seed: args.seed,
        },
        oauth: OAuthOptions {
            client_id: args.client_id,
            client_secret: args.client_secret,
            lifetime: args.token_lifetime,
            uses: args.token_uses,
        },
        ..SandboxOptions::default()
    })
}

/// The token from the environment: `TALLYFY_ACCESS_TOKEN`, or `TALLYFY_API_TOKEN` as Tallyfy's
/// own CLI names it (so a host set up for one is set up for the other); both set and different
/// is an error rather than a guess.
fn env_token() -> Result<Option<String>, ConfigError> {
    let read = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (read(TOKEN_ENV), read(API_TOKEN_ENV)) {
        (Some(one), Some(other)) if one.trim() != other.trim() => Err(ConfigError::TwoTokens),
        (one, other) => Ok(one.or(other)),
    }
}

/// `--token-command`: runs the command (a secret manager) with `sh -c` and takes its trimmed
/// stdout as the token. Its output is never logged; a failure says only how it failed. One that
/// has not finished within `limit` (`--io-timeout`), or when a signal comes, is killed with
/// everything it started (its own process group) and the run stops.
fn run_token_command(command: &str, limit: std::time::Duration) -> Result<Secret, ConfigError> {
    use std::io::Read;
    let failed = |why: String| ConfigError::TokenCommand(why);
    let mut shell = std::process::Command::new("sh");
    shell
        .args(["-c", command])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut shell, 0);
    let mut child = shell
        .spawn()
        .map_err(|e| failed(format!("it could not be started ({})", crate::words::io_words(&e))))?;
    // Read on a thread of its own, so that the wait for it can give up.
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = stdout.take(MAX_SECRET_FILE + 1).read_to_end(&mut out).map(|_| out);
        let _ = tx.send(read);
    });
    let waiting = crate::files::wait::Waiting::with_limit(limit);
    let too_long = |limit| {
        format!(
            "it had not finished after {} (--io-timeout) and was stopped",
            crate::files::wait::seconds(limit)
        )
    };
    let give_up = |child: &mut std::process::Child, e: std::io::Error| {
        stop_command(child);
        failed(e.to_string())
    };
    let out = loop {
        match rx.recv_timeout(crate::files::wait::POLL) {
            Ok(read) => break read.map_err(|e| failed(crate::words::io_words(&e)))?,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = waiting.check(too_long) {
                    return Err(give_up(&mut child, e));
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break Vec::new(),
        }
    };
    let status = loop {
        match child.try_wait().map_err(|e| failed(crate::words::io_words(&e)))? {
            Some(status) => break status,
            None => {
                if let Err(e) = waiting.tick(too_long) {
                    return Err(give_up(&mut child, e));
                }
            }
        }
    };
    if !status.success() {
        return Err(failed(match status.code() {
            Some(code) => format!("it exited with status {code}"),
            None => "it was killed by a signal".into(),
        }));
    }
    if out.len() as u64 > MAX_SECRET_FILE {
        return Err(failed("it printed more than 16 KiB: is that a token?".into()));
    }
    let token = token_from(&String::from_utf8(out).map_err(|_| ConfigError::bad_token())?);
    if token.is_empty() {
        return Err(failed("it printed nothing".into()));
    }
    Ok(token)
}

/// Kills a token command and whatever it started (its process group), and reaps it.
fn stop_command(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(group) = i32::try_from(child.id()) {
        // SAFETY: a plain system call; the group is the child's own (process_group(0)).
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The flags' pacing, retries and timeouts.
pub fn transport(args: &ApiArgs) -> Transport {
    Transport {
        rates: args.rates.clone(),
        invite_rates: Vec::new(),
        max_retries: args.max_retries,
        max_wait: args.max_wait.unwrap_or(crate::defaults::MAX_WAIT),
        max_wait_given: args.max_wait.is_some(),
        state_dir: state_dir(args.state_dir.as_deref(), &args.base_url),
        connect_timeout: args.connect_timeout,
        request_timeout: args.timeout,
        max_guests: args.max_guests,
    }
}

/// `--token-url`, or the base URL's origin + `/oauth/token` (Tallyfy's, and the sandbox's).
fn token_url(given: Option<&str>, base_url: &str) -> Result<Url, ConfigError> {
    match given {
        Some(url) => Ok(parse_base_url(url)?),
        None => {
            let mut url = parse_base_url(base_url)?;
            url.set_path("/oauth/token");
            Ok(url)
        }
    }
}

/// A token or secret file is read up to this much: a JWT is about 1 KiB, and a path such as
/// `/dev/zero` must not be read until memory runs out.
const MAX_SECRET_FILE: u64 = 16 * 1024;

/// Reads a token or secret file. A FIFO (or another file that is not a regular one) is read
/// without blocking: a writer that never comes, or never finishes, stops the run after `limit`
/// (`--io-timeout`) or at a signal, instead of a silent hang.
fn read_secret_file(path: &PathBuf, limit: std::time::Duration) -> Result<Secret, ConfigError> {
    use std::io::Read;
    let unreadable = |error| ConfigError::TokenFile {
        path: path.clone(),
        error,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(unreadable)?;
    warn_if_readable_by_others(&file, path);
    let regular = file.metadata().map(|meta| meta.is_file()).unwrap_or(false);
    let bytes = if regular {
        let mut bytes = Vec::new();
        (&file)
            .take(MAX_SECRET_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        bytes
    } else {
        read_patiently(&file, limit).map_err(unreadable)?
    };
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(ConfigError::HugeSecretFile(path.clone()));
    }
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::bad_token())?;
    let token = token_from(&text);
    if token.is_empty() {
        return Err(ConfigError::EmptyTokenFile(path.clone()));
    }
    Ok(token)
}

/// A FIFO's or device's bytes up to its end (or just past the size cap), read without blocking:
/// it is polled until a writer has written and gone, `limit` passes or a signal comes. (Linux
/// reports a FIFO readable only once a writer came, so "no writer yet" is not taken for an
/// empty file.)
fn read_patiently(file: &std::fs::File, limit: std::time::Duration) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let waiting = crate::files::wait::Waiting::with_limit(limit);
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if !crate::files::wait::until_ready(file, true) {
            waiting.check(|limit| {
                format!(
                    "nothing finished writing it within {} (--io-timeout)",
                    crate::files::wait::seconds(limit)
                )
            })?;
            continue;
        }
        match (&*file).read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                if bytes.len() as u64 > MAX_SECRET_FILE {
                    return Ok(bytes);
                }
                continue;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

/// A secret file others can read is worth a warning (not an error: it may be a mounted secret).
fn warn_if_readable_by_others(file: &std::fs::File, path: &std::path::Path) {
    if let Some(warning) = file.metadata().ok().and_then(|meta| readable_by_others(&meta, path)) {
        tracing::warn!("{warning}");
    }
}

/// What to say about a secret file that users other than its owner can read, if anything.
fn readable_by_others(meta: &std::fs::Metadata, path: &std::path::Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        (meta.is_file() && mode & 0o077 != 0).then(|| {
            format!(
                "{} can be read by other users (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (meta, path);
        None
    }
}

/// People paste the whole header value; accept `Bearer <token>` (in any case) as well as the
/// bare token.
fn token_from(text: &str) -> Secret {
    let text = text.trim();
    let bare = match text.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => text[7..].trim_start(),
        _ => text,
    };
    Secret::new(bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_url_defaults_to_the_base_urls_origin() {
        assert_eq!(
            token_url(None, "https://go.tallyfy.com/api").unwrap().as_str(),
            "https://go.tallyfy.com/oauth/token"
        );
        assert_eq!(
            token_url(None, "http://127.0.0.1:8910/api/").unwrap().as_str(),
            "http://127.0.0.1:8910/oauth/token"
        );
        assert_eq!(
            token_url(Some("https://go.tallyfy.com/api/oauth/token"), "https://x.com")
                .unwrap()
                .as_str(),
            "https://go.tallyfy.com/api/oauth/token"
        );
        assert!(token_url(Some("http://example.com/oauth/token"), "https://x.com").is_err());
    }

    #[test]
    fn pasted_bearer_prefix_is_dropped() {
        assert_eq!(token_from("Bearer abc\n").expose(), "abc");
        assert_eq!(token_from(" abc ").expose(), "abc");
    }
}
