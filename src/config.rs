//! The validated configuration of a run, built once from the flags and the environment. This
//! and `cli.rs` are the only places that read `std::env`; everything downstream takes a
//! `ApiConfig` and trusts it.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::cli::ApiArgs;
use crate::rate::Rate;
use crate::secret::Secret;

pub use crate::defaults::BASE_URL as DEFAULT_BASE_URL;
/// The env var holding the access token. There is deliberately no flag for the token itself.
pub const TOKEN_ENV: &str = "TALLYFY_ACCESS_TOKEN";
/// The OAuth client secret's env var (or `--client-secret-file`); the id is `--client-id` or
/// `TALLYFY_CLIENT_ID`.
pub const CLIENT_SECRET_ENV: &str = "TALLYFY_CLIENT_SECRET";
/// Every environment variable the tool reads its Tallyfy settings from (tests and benchmarks
/// clear them, so a developer's own settings never leak into a run).
pub const ENV_VARS: [&str; 6] = [
    "TALLYFY_ORG_ID",
    "TALLYFY_BASE_URL",
    TOKEN_ENV,
    "TALLYFY_CLIENT_ID",
    CLIENT_SECRET_ENV,
    "TALLYFY_TOKEN_URL",
];

/// How the run authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A personal access token, used as it is.
    Token(Secret),
    /// OAuth client credentials: a token is obtained from `token_url`, and obtained again
    /// before it expires or when the API rejects it.
    Client {
        token_url: Url,
        client_id: String,
        client_secret: Secret,
    },
}

/// Everything a client needs to talk to one organization.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base URL without a trailing slash, e.g. `https://go.tallyfy.com/api`.
    pub base_url: Url,
    pub org: String,
    pub credentials: Credentials,
    pub rates: Vec<Rate>,
    /// Quotas on creates only (`--invite-rate`; set by `import`).
    pub invite_rates: Vec<Rate>,
    pub max_retries: u32,
    pub max_wait: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// A problem with flags, environment or files, found before anything is sent (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no organization id: pass --org ORG or set TALLYFY_ORG_ID")]
    MissingOrg,
    /// More than one of the above, all reported at once.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<ConfigError>),
    #[error("`{0}` is not an organization id: expected the 32-character hex id from Settings > Organization")]
    BadOrg(String),
    #[error(
        "no access token: set {TOKEN_ENV} or pass --token-file PATH, or use client credentials (TALLYFY_CLIENT_ID and {CLIENT_SECRET_ENV} or --client-secret-file); there is no flag for a secret itself, so it never shows in `ps`"
    )]
    MissingToken,
    #[error("client credentials need a secret: set {CLIENT_SECRET_ENV} or pass --client-secret-file PATH")]
    MissingClientSecret,
    #[error("a client secret is set but no client id: set TALLYFY_CLIENT_ID or pass --client-id")]
    MissingClientId,
    #[error(
        "both an access token and client credentials are configured: use one (unset {TOKEN_ENV} and drop --token-file, or unset TALLYFY_CLIENT_ID)"
    )]
    BothCredentials,
    #[error("the client secret file {} is empty", .0.display())]
    EmptySecretFile(PathBuf),
    #[error(
        "the access token contains characters that cannot be sent in an HTTP header (check for pasted quotes or line breaks)"
    )]
    BadToken,
    #[error("the token file {} is larger than 16 KiB: is it really a token? (a token is about 1 KiB)", .0.display())]
    HugeSecretFile(PathBuf),
    #[error("the token file {} is empty", .0.display())]
    EmptyTokenFile(PathBuf),
    #[error("cannot read the token file {}: {}", path.display(), crate::words::io_words(.error))]
    TokenFile { path: PathBuf, error: std::io::Error },
    #[error("`{url}` is not a usable base URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(
        "refusing plain http:// to `{0}`: the token would travel unencrypted; use https://, or http:// only for a loopback sandbox (127.0.0.1, localhost, [::1])"
    )]
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

impl ApiConfig {
    /// Checks the flags and reads the token from `TALLYFY_ACCESS_TOKEN` or `--token-file`.
    /// Every problem is reported at once (`ConfigError::Several` when there is more than one).
    pub fn from_args(args: &ApiArgs) -> Result<Self, ConfigError> {
        let org = args.org.as_deref().ok_or(ConfigError::MissingOrg);
        let credentials = Self::credentials(args);
        let base = parse_base_url(&args.base_url).map(drop);
        match (org, credentials, base) {
            (Ok(org), Ok(credentials), Ok(())) => Self::with_credentials(args, &args.base_url, org, credentials),
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
        let env_token = std::env::var(TOKEN_ENV).ok().filter(|v| !v.trim().is_empty());
        let token = match &args.token_file {
            Some(path) => Some(read_secret_file(path)?),
            None => env_token.as_deref().map(token_from),
        };
        let secret = match &args.client_secret_file {
            Some(path) => Some(read_secret_file(path).map_err(|e| match e {
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

    /// The flags' pacing and timeouts with credentials from elsewhere (an in-process sandbox).
    pub fn with_credentials(
        args: &ApiArgs,
        base_url: &str,
        org: &str,
        credentials: Credentials,
    ) -> Result<Self, ConfigError> {
        Ok(ApiConfig {
            base_url: parse_base_url(base_url)?,
            org: parse_org(org)?,
            credentials,
            rates: args.rates.clone(),
            invite_rates: Vec::new(),
            max_retries: args.max_retries,
            max_wait: args.max_wait,
            connect_timeout: args.connect_timeout,
            request_timeout: args.timeout,
        })
    }
}

/// `--token-url`, or the base URL's origin + `/oauth/token` (Tallyfy's, and the sandbox's).
fn token_url(given: Option<&str>, base_url: &str) -> Result<Url, ConfigError> {
    match given {
        Some(url) => parse_base_url(url),
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

fn read_secret_file(path: &PathBuf) -> Result<Secret, ConfigError> {
    use std::io::Read;
    let unreadable = |error| ConfigError::TokenFile {
        path: path.clone(),
        error,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    warn_if_readable_by_others(&file, path);
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(ConfigError::HugeSecretFile(path.clone()));
    }
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::BadToken)?;
    let token = token_from(&text);
    if token.is_empty() {
        return Err(ConfigError::EmptyTokenFile(path.clone()));
    }
    Ok(token)
}

/// A secret file others can read is worth a warning (not an error: it may be a mounted secret).
fn warn_if_readable_by_others(file: &std::fs::File, path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = file.metadata()
            && meta.is_file()
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                "{} can be read by other users (mode {:o}): chmod 600 it",
                path.display(),
                meta.permissions().mode() & 0o777
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (file, path);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_with_and_without_path_or_slash() {
        for (given, expected) in [
            ("https://go.tallyfy.com/api", "https://go.tallyfy.com/api"),
            ("https://go.tallyfy.com/api/", "https://go.tallyfy.com/api"),
            ("https://api.tallyfy.com", "https://api.tallyfy.com/"),
            ("https://api.tallyfy.com/", "https://api.tallyfy.com/"),
            ("http://127.0.0.1:8910/api", "http://127.0.0.1:8910/api"),
            ("http://localhost:1/api", "http://localhost:1/api"),
            ("http://[::1]:1/api", "http://[::1]:1/api"),
            ("http://127.1.2.3:1", "http://127.1.2.3:1/"),
        ] {
            assert_eq!(parse_base_url(given).unwrap().as_str(), expected, "{given}");
        }
    }

    #[test]
    fn cleartext_to_a_remote_host_is_refused() {
        for url in ["http://example.com", "http://10.0.0.1/api", "http://go.tallyfy.com/api"] {
            assert!(matches!(parse_base_url(url), Err(ConfigError::InsecureUrl(_))), "{url}");
        }
        for url in ["ftp://x.com", "not a url", "https://x.com/api?a=1", "https://u:p@x.com"] {
            assert!(matches!(parse_base_url(url), Err(ConfigError::BadUrl { .. })), "{url}");
        }
    }

    #[test]
    fn org_ids() {
        let org = "5A4DB0C5A4DB0C5A4DB0C5A4DB0C5A4D";
        assert_eq!(parse_org(org).unwrap(), org.to_ascii_lowercase());
        for bad in [
            "",
            "acme",
            "5a4db0c5a4db0c5a4db0c5a4db0c5a4",
            "5a4db0c5a4db0c5a4db0c5a4db0c5a4g",
        ] {
            assert!(parse_org(bad).is_err(), "{bad}");
        }
    }

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
