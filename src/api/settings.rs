//! How to reach the API: where (base URL, organization), as whom (a token or client
//! credentials) and how (pacing, retries, timeouts), checked; and the problems a set-up can
//! have, found before anything is sent (exit 2). Built by `config` from the flags.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::rate::Rate;
use crate::secret::Secret;

/// The env var holding the access token. There is deliberately no flag for the token itself.
pub const TOKEN_ENV: &str = "TALLYFY_ACCESS_TOKEN";
/// The same token under the name Tallyfy's own CLI reads.
pub const API_TOKEN_ENV: &str = "TALLYFY_API_TOKEN";
/// The OAuth client secret's env var (or `--client-secret-file`); the id is `--client-id` or
/// `TALLYFY_CLIENT_ID`.
pub const CLIENT_SECRET_ENV: &str = "TALLYFY_CLIENT_SECRET";

/// How the run authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A personal access token, used as it is.
    Token(Secret),
    /// OAuth client credentials: a token is obtained from `token_url`, and obtained again
    /// before it expires or when the API rejects it.
    Client {
        /// The OAuth token endpoint.
        token_url: Url,
        /// The OAuth client id.
        client_id: String,
        /// The OAuth client secret.
        client_secret: Secret,
    },
}

/// Everything a client needs to talk to one organization.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base URL without a trailing slash, e.g. `https://go.tallyfy.com/api`.
    pub base_url: Url,
    /// The organization id (32 lowercase hex characters).
    pub org: String,
    /// Who the run acts as.
    pub credentials: Credentials,
    /// How requests are paced, retried and timed.
    pub transport: Transport,
}

/// How requests are paced, retried and timed: everything of a client's set-up but where it
/// goes and who it is.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    /// Quotas on every request (`--rate`).
    pub rates: Vec<Rate>,
    /// Quotas on creates only (`--invite-rate`; set by `import`).
    pub invite_rates: Vec<Rate>,
    /// Resends of a request after a transient failure.
    pub max_retries: u32,
    /// The longest any one request may wait on pauses (`--max-wait`).
    pub max_wait: Duration,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request.
    pub request_timeout: Duration,
    /// The most guests a walk of the guest list reads (`--max-guests`); zero means the default.
    pub max_guests: u64,
}

impl ApiConfig {
    /// The configuration for one organization, checking the base URL and the org id.
    pub fn new(transport: Transport, base_url: &str, org: &str, credentials: Credentials) -> Result<Self, ConfigError> {
        Ok(ApiConfig {
            base_url: parse_base_url(base_url)?,
            org: parse_org(org)?,
            credentials,
            transport,
        })
    }
}

/// A problem with flags, environment or files, found before anything is sent (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no organization id: pass --org ORG or set TALLYFY_ORG_ID")]
    /// No organization id anywhere.
    MissingOrg,
    /// `TALLYFY_ACCESS_TOKEN` and `TALLYFY_API_TOKEN` both set, to different tokens.
    #[error("TALLYFY_ACCESS_TOKEN and TALLYFY_API_TOKEN are both set, to different tokens: unset one")]
    TwoTokens,
    /// `--token-file` and `--token-command` together.
    #[error("--token-file and --token-command both give the token: use one")]
    TwoTokenSources,
    /// `--token-command` did not give a token.
    #[error("--token-command did not give a token: {0}")]
    TokenCommand(String),
    /// A `sandbox` flag that cannot be used (its guests file, an empty token).
    #[error("{0}")]
    Sandbox(String),
    /// More than one of the above, all reported at once.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<ConfigError>),
    #[error("`{0}` is not an organization id: expected the 32-character hex id from Settings > Organization")]
    /// An organization id that is not 32 hex characters.
    BadOrg(String),
    #[error(
        "no access token: set {TOKEN_ENV} or pass --token-file PATH, or use client credentials (TALLYFY_CLIENT_ID and {CLIENT_SECRET_ENV} or --client-secret-file); there is no flag for a secret itself, so it never shows in `ps`"
    )]
    /// Neither a token nor client credentials.
    MissingToken,
    #[error("client credentials need a secret: set {CLIENT_SECRET_ENV} or pass --client-secret-file PATH")]
    /// A client id without its secret.
    MissingClientSecret,
    #[error("a client secret is set but no client id: set TALLYFY_CLIENT_ID or pass --client-id")]
    /// A client secret without its id.
    MissingClientId,
    #[error(
        "both an access token and client credentials are configured: use one (unset {TOKEN_ENV} and drop --token-file, or unset TALLYFY_CLIENT_ID)"
    )]
    /// A token and client credentials at once.
    BothCredentials,
    #[error("the client secret file {} is empty", .0.display())]
    /// An empty client secret file.
    EmptySecretFile(PathBuf),
    #[error(
        "the access token contains characters that cannot be sent in an HTTP header (check for pasted quotes or line breaks)"
    )]
    /// A token that cannot be sent in an HTTP header.
    BadToken,
    #[error("the token file {} is larger than 16 KiB: is it really a token? (a token is about 1 KiB)", .0.display())]
    /// A token file too large to be a token.
    HugeSecretFile(PathBuf),
    #[error("the token file {} is empty", .0.display())]
    /// An empty token file.
    EmptyTokenFile(PathBuf),
    #[error("cannot read the token file {}: {}", path.display(), crate::words::io_words(.error))]
    /// A token file that cannot be read.
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        error: std::io::Error,
    },
    #[error("`{url}` is not a usable base URL: {reason}")]
    /// A base URL that cannot be used, and why.
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error(
        "refusing plain http:// to `{0}`: the token would travel unencrypted; use https://, or http:// only for a loopback sandbox (127.0.0.1, localhost, [::1])"
    )]
    /// Plain http to a host that is not loopback.
    InsecureUrl(String),
}

impl ConfigError {
    /// Each problem on its own, for a report of one line each.
    pub fn problems(&self) -> Vec<String> {
        match self {
            ConfigError::Several(all) => all.iter().map(ToString::to_string).collect(),
            one => vec![one.to_string()],
        }
    }

    /// Only credentials or the organization are missing: a dry run can go on offline.
    pub fn only_missing_credentials(&self) -> bool {
        match self {
            ConfigError::MissingOrg | ConfigError::MissingToken => true,
            ConfigError::Several(all) => all.iter().all(ConfigError::only_missing_credentials),
            _ => false,
        }
    }
}

/// An org id is 32 hex characters; case is forgiven, anything else is a typo worth stopping on.
pub fn parse_org(text: &str) -> Result<String, ConfigError> {
    let org = text.trim().to_ascii_lowercase();
    if org.len() == 32 && org.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(org)
    } else {
        Err(ConfigError::BadOrg(text.to_string()))
    }
}

/// Parses a base URL, refusing cleartext to anything but loopback, and drops trailing slashes so
/// that `organizations/...` is appended exactly once whether or not the base has a path.
pub fn parse_base_url(text: &str) -> Result<Url, ConfigError> {
    let bad = |reason: &str| ConfigError::BadUrl {
        url: text.to_string(),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the URL"));
    }
    let host = url.host_str().ok_or_else(|| bad("it has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => return Err(ConfigError::InsecureUrl(host.to_string())),
        other => return Err(bad(&format!("the scheme must be https, not {other}"))),
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
