//! The run's bearer token: a fixed access token, or one obtained with OAuth client credentials
//! (`grant_type=client_credentials`, no refresh token) and obtained again shortly before it
//! expires, or when the API rejects it mid-run. One renewal serves every request in flight.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use serde::Deserialize;
use url::Url;

use super::error::{ApiError, ApiErrorKind, ErrorBody};
use super::retry;
use super::settings::{Credentials, SettingError};
use crate::secret::Secret;

/// Tries at the token endpoint before giving up on a 5xx or a transport failure.
const TOKEN_TRIES: u32 = 4;
/// A token is renewed when this share of its lifetime has passed.
const RENEW_AT: f64 = 0.9;

pub(super) enum Auth {
    Fixed(HeaderValue),
    Client(Box<ClientAuth>),
}

pub(super) struct ClientAuth {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    client_secret: Secret,
    current: RwLock<Option<Current>>,
    renewing: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Current {
    header: HeaderValue,
    renew_at: Option<Instant>,
    generation: u64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<f64>,
}

impl Auth {
    pub(super) fn new(credentials: &Credentials, http: &reqwest::Client) -> Result<Auth, SettingError> {
        Ok(match credentials {
            Credentials::Token(token) => Auth::Fixed(bearer(token.expose()).ok_or(SettingError::BadToken)?),
            Credentials::Client {
                token_url,
                client_id,
                client_secret,
            } => Auth::Client(Box::new(ClientAuth {
                http: http.clone(),
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                current: RwLock::new(None),
                renewing: tokio::sync::Mutex::new(()),
            })),
        })
    }

    /// The `Authorization` value to send and its generation (to report it rejected).
    pub(super) async fn header(&self) -> Result<(HeaderValue, u64), ApiError> {
        match self {
            Auth::Fixed(header) => Ok((header.clone(), 0)),
            Auth::Client(client) => client.header().await,
        }
    }

    /// Tokens obtained after the first one.
    pub(super) fn renewals(&self) -> u64 {
        match self {
            Auth::Fixed(_) => 0,
            Auth::Client(client) => client.current().map_or(0, |c| c.generation.saturating_sub(1)),
        }
    }

    /// The API answered 401 to the token of `generation`. True when a new token has been
    /// obtained and the request is worth sending again (client credentials only).
    pub(super) async fn rejected(&self, generation: u64) -> Result<bool, ApiError> {
        match self {
            Auth::Fixed(_) => Ok(false),
            Auth::Client(client) => {
                client.renew(Some(generation)).await?;
                Ok(true)
            }
        }
    }
}

impl ClientAuth {
    fn current(&self) -> Option<Current> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn header(&self) -> Result<(HeaderValue, u64), ApiError> {
        match self.current() {
            Some(current) if current.renew_at.is_none_or(|at| Instant::now() < at) => {
                Ok((current.header, current.generation))
            }
            stale => self.renew(stale.map(|c| c.generation)).await,
        }
    }

    /// Obtains a new token unless another request already replaced the one of `stale`.
    async fn renew(&self, stale: Option<u64>) -> Result<(HeaderValue, u64), ApiError> {
        let _one_at_a_time = self.renewing.lock().await;
        if let Some(current) = self.current()
            && Some(current.generation) != stale
            && current.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok((current.header, current.generation));
        }
        let (header, lifetime) = self.fetch().await?;
        let generation = self.current().map_or(1, |c| c.generation + 1);
        if generation > 1 {
            tracing::info!("access token renewed from the OAuth token endpoint");
        }
        let renew_at = lifetime.map(|lifetime| Instant::now() + lifetime.mul_f64(RENEW_AT));
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Current {
            header: header.clone(),
            renew_at,
            generation,
        });
        Ok((header, generation))
    }

    async fn fetch(&self) -> Result<(HeaderValue, Option<Duration>), ApiError> {
        let failed = |reason: String, status: Option<u16>| ApiError {
            kind: ApiErrorKind::TokenEndpoint {
                url: self.token_url.to_string(),
                reason,
            },
            status,
            request_id: None,
            attempts: 1,
            unanswered: false,
        };
        let mut last = String::new();
        for attempt in 0..TOKEN_TRIES {
            if attempt > 0 {
                tokio::time::sleep(retry::backoff(attempt - 1)).await;
            }
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose()),
            ];
            // The run's one retry table decides, as for every other request.
            let (status, body) = match self.http.post(self.token_url.clone()).form(&form).send().await {
                Ok(response) => {
                    let status = response.status();
                    match response.bytes().await {
                        Ok(body) => (status, body),
                        Err(e) => {
                            last = format!("no answer: {}", crate::words::chain(&e));
                            continue;
                        }
                    }
                }
                Err(e) => {
                    last = format!("no answer: {}", crate::words::chain(&e));
                    match retry::classify_repeatable(super::transport::transport_outcome(&e)) {
                        retry::Decision::Retry => continue,
                        _ => break,
                    }
                }
            };
            match retry::classify_repeatable(retry::Outcome::Status(status.as_u16())) {
                retry::Decision::Accept | retry::Decision::Fail => {}
                retry::Decision::Retry | retry::Decision::PauseAndRetry | retry::Decision::Indeterminate => {
                    last = format!("HTTP {status}");
                    continue;
                }
            }
            if !status.is_success() {
                // OAuth errors say `error` / `error_description`; never echo the body itself.
                let oauth: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
                let code = oauth.as_ref().and_then(|v| v["error"].as_str().map(str::to_string));
                let message = ErrorBody::parse(&body).message;
                let detail = [code, message].into_iter().flatten().collect::<Vec<_>>().join(": ");
                return Err(failed(
                    format!(
                        "HTTP {}{}; check TALLYFY_CLIENT_ID and the client secret",
                        status.as_u16(),
                        if detail.is_empty() {
                            String::new()
                        } else {
                            format!(" ({detail})")
                        }
                    ),
                    Some(status.as_u16()),
                ));
            }
            let token: TokenResponse = serde_json::from_slice(&body)
                .map_err(|_| failed("the answer has no access_token".into(), Some(status.as_u16())))?;
            crate::secret::remember(&token.access_token);
            let header = bearer(&token.access_token)
                .ok_or_else(|| failed("the access token cannot be sent in a header".into(), None))?;
            let lifetime = lifetime(token.expires_in);
            return Ok((header, lifetime));
        }
        Err(failed(format!("gave up after {TOKEN_TRIES} tries ({last})"), None))
    }
}

/// The longest token lifetime believed (Tallyfy's are a week); a longer `expires_in` is this.
const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// `expires_in` as a lifetime. A number from outside is clamped: `1e300` must not overflow a
/// Duration, and a negative or NaN one means "unknown".
fn lifetime(expires_in: Option<f64>) -> Option<Duration> {
    expires_in
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_LIFETIME.as_secs_f64())))
}

fn bearer(token: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    // Keeps it out of hyper's and h2's debug output.
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a token endpoint says its lifetime is, nothing panics and it stays bounded.
        #[test]
        fn any_expires_in_is_a_bounded_lifetime(seconds in any::<f64>()) {
            let lifetime = lifetime(Some(seconds));
            prop_assert!(lifetime.is_none_or(|l| l <= MAX_LIFETIME));
        }
    }

    #[test]
    fn absurd_lifetimes_are_clamped() {
        assert_eq!(lifetime(Some(1e300)), Some(MAX_LIFETIME));
        assert_eq!(lifetime(Some(f64::NAN)), None);
        assert_eq!(lifetime(Some(-5.0)), None);
        assert_eq!(lifetime(Some(60.0)), Some(Duration::from_secs(60)));
    }
}
