//! The sandbox's OAuth token endpoint (`POST /oauth/token`, also under `/api`): the client
//! credentials grant, answered like Tallyfy's (`token_type`, `expires_in`, `access_token`, no
//! refresh token). Issued tokens expire after their lifetime, or after a set number of uses, so
//! tests can make a token die mid-run.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The client credentials a sandbox accepts unless told otherwise. Not secrets: they open only
/// the sandbox.
pub use crate::defaults::SANDBOX_CLIENT_ID as DEFAULT_CLIENT_ID;
pub use crate::defaults::SANDBOX_CLIENT_SECRET as DEFAULT_CLIENT_SECRET;

/// How the token endpoint behaves.
#[derive(Debug, Clone)]
pub struct OAuthOptions {
    /// The client id accepted.
    pub client_id: String,
    /// The client secret accepted.
    pub client_secret: String,
    /// `expires_in` of an issued token.
    pub lifetime: Duration,
    /// An issued token is rejected (401) after this many authorized requests.
    pub uses: Option<u64>,
}

impl Default for OAuthOptions {
    fn default() -> Self {
        OAuthOptions {
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: DEFAULT_CLIENT_SECRET.into(),
            lifetime: Duration::from_secs(7 * 24 * 3600),
            uses: None,
        }
    }
}

struct Issued {
    expires: Instant,
    uses: u64,
}

pub(super) struct OAuth {
    options: OAuthOptions,
    issued: Mutex<HashMap<String, Issued>>,
    count: AtomicU64,
}

impl OAuth {
    pub(super) fn new(options: OAuthOptions) -> Self {
        OAuth {
            options,
            issued: Mutex::default(),
            count: AtomicU64::new(0),
        }
    }

    /// Tokens issued so far.
    pub(super) fn issued(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Answers a token request (form fields already decoded).
    pub(super) fn token(&self, form: &HashMap<String, String>) -> Response {
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
        if field("grant_type") != "client_credentials" {
            let body = json!({"error": "unsupported_grant_type", "error_description": "The authorization grant type is not supported by the authorization server.", "message": "The authorization grant type is not supported by the authorization server."});
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
        if field("client_id") != self.options.client_id || field("client_secret") != self.options.client_secret {
            let body = json!({"error": "invalid_client", "error_description": "Client authentication failed", "message": "Client authentication failed"});
            return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
        }
        let number = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let token = format!("sbx-oauth-token-{number}");
        let issued = Issued {
            expires: Instant::now() + self.options.lifetime,
            uses: 0,
        };
        self.lock().insert(token.clone(), issued);
        axum::Json(json!({
            "token_type": "Bearer",
            "expires_in": self.options.lifetime.as_secs(),
            "access_token": token,
        }))
        .into_response()
    }

    /// Whether `token` is an issued token still alive; counts the use.
    pub(super) fn accepts(&self, token: &str) -> bool {
        let mut issued = self.lock();
        let Some(entry) = issued.get_mut(token) else {
            return false;
        };
        entry.uses += 1;
        Instant::now() < entry.expires && self.options.uses.is_none_or(|uses| entry.uses <= uses)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Issued>> {
        self.issued.lock().unwrap_or_else(|p| p.into_inner())
    }
}
