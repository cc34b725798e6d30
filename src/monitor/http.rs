//! The watchers' own HTTP client (never the API's: no token, no organization), and how a
//! watcher's URL is named in a warning.

use std::time::Duration;

/// Every call to a watcher's URL gives up after this long (and connecting after `CONNECT`):
/// a monitoring service that hangs never holds a run up for longer.
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT: Duration = Duration::from_secs(5);

/// The HTTP client of the watchers: its own (no token, no organization's headers), bounded by
/// `TIMEOUT`, never redirected; proxies and trusted certificates as the environment says (HTTPS_PROXY,
/// SSL_CERT_FILE). `None`, said once, when it cannot be made.
pub(super) fn client() -> Option<reqwest::Client> {
    match reqwest::Client::builder()
        .connect_timeout(CONNECT)
        .timeout(TIMEOUT)
        .user_agent(concat!("tallyfy-guests/", env!("CARGO_PKG_VERSION")))
        // Only to the URLs given: a redirect would carry the run's counts and rows elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => Some(client),
        Err(e) => {
            tracing::warn!("cannot reach --notify or --ping: {e}");
            None
        }
    }
}

/// Where a URL goes, for a warning: its host only (a ping URL's path is its secret).
pub(super) fn host(url: &url::Url) -> String {
    url.host_str().unwrap_or("?").to_string()
}
