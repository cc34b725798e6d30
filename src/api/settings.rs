//! How to reach the API: where (base URL, organization), as whom (a token or client
//! credentials) and how (pacing, retries, timeouts), checked; and the settings a client cannot
//! use (`SettingError`), found before anything is sent. Built by `config` from the flags, whose
//! own problems are `config::ConfigError`.

use std::net::IpAddr;
use std::time::Duration;

use url::Url;

use crate::rate::Rate;
use crate::secret::Secret;

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
    /// `--max-wait` was given: it bounds a confirmed plan's invite-cap waits too (otherwise
    /// a confirmed run waits out the cap's windows, and only an unattended run stops at it).
    pub max_wait_given: bool,
    /// Where the organization's invite cap is remembered between runs (`None`: not at all).
    pub state_dir: Option<std::path::PathBuf>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request.
    pub request_timeout: Duration,
    /// The most guests a walk of the guest list reads (`--max-guests`); zero means the default.
    pub max_guests: u64,
}

impl ApiConfig {
    /// The configuration for one organization, checking the base URL and the org id.
    pub fn new(
        transport: Transport,
        base_url: &str,
        org: &str,
        credentials: Credentials,
    ) -> Result<Self, SettingError> {
        Ok(ApiConfig {
            base_url: parse_base_url(base_url)?,
            org: parse_org(org)?,
            credentials,
            transport,
        })
    }
}

/// A setting no request could carry: an organization id, a base URL or a token the client
/// cannot use. What the API client itself refuses; `config` reports it among the problems it
/// finds in the flags (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    #[error("`{0}` is not an organization id: expected the 32-character hex id from Settings > Organization")]
    /// An organization id that is not 32 hex characters.
    BadOrg(String),
    #[error(
        "the access token contains characters that cannot be sent in an HTTP header (check for pasted quotes or line breaks)"
    )]
    /// A token that cannot be sent in an HTTP header.
    BadToken,
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

/// An org id is 32 hex characters; case is forgiven, anything else is a typo worth stopping on.
pub fn parse_org(text: &str) -> Result<String, SettingError> {
    let org = text.trim().to_ascii_lowercase();
    if org.len() == 32 && org.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(org)
    } else {
        Err(SettingError::BadOrg(text.to_string()))
    }
}

/// Parses a base URL, refusing cleartext to anything but loopback, and drops trailing slashes so
/// that `organizations/...` is appended exactly once whether or not the base has a path.
pub fn parse_base_url(text: &str) -> Result<Url, SettingError> {
    let bad = |reason: &str| SettingError::BadUrl {
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
        "http" => return Err(SettingError::InsecureUrl(host.to_string())),
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
            assert!(
                matches!(parse_base_url(url), Err(SettingError::InsecureUrl(_))),
                "{url}"
            );
        }
        for url in ["ftp://x.com", "not a url", "https://x.com/api?a=1", "https://u:p@x.com"] {
            assert!(matches!(parse_base_url(url), Err(SettingError::BadUrl { .. })), "{url}");
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
}
