//! Sends requests: exact headers, percent-encoded email paths, timeouts, and the retry loop
//! that applies `retry::classify` under the run's `Pacer`. It never resends a POST whose outcome
//! is unknown; that surfaces as `ApiErrorKind::Indeterminate` for the caller to reconcile.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::auth::Auth;
use super::error::{ApiError, ApiErrorKind, ErrorBody};
use super::gate::Gate;
use super::members::{MemberEnvelope, MemberPage};
use super::model::{CreatedEnvelope, Guest, ItemEnvelope, ListEnvelope, NewGuest, NewGuestId, Page};
use super::pacing::{Lane, Pacer, RateLimitedUntil};
use super::retry::{self, Decision, Outcome};
use super::settings::{ApiConfig, SettingError};
use super::transport::{describe, host_of, parse_retry_after, transport_outcome, why_unreachable};

/// Everything but RFC 3986's unreserved characters is encoded, so `@` → `%40`, `+` → `%2B`.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// 429s are bounded by `--max-wait` in total (from a request's first 429 on, whatever each
/// Retry-After says); this also bounds how often one request is sent into a storm of
/// "Retry-After: 0" within that time.
const MAX_RATE_LIMITED_ATTEMPTS: u32 = 100;

/// Fresh tokens tried for one request after 401s, before the 401 stands.
const MAX_RENEWALS: u32 = 3;

/// A 429 pause at least this long is logged at info level; shorter ones at debug.
const LONG_PAUSE: Duration = Duration::from_secs(10);

pub use super::latency::{ClientStats, Reply};

/// The API client. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct Client {
    http: reqwest::Client,
    /// `{base}/organizations/{org}/guests`, parsed once: every request's URL is made from it
    /// (parsing a URL string, host and all, was 7 % of an import's CPU).
    guests_url: Url,
    /// The API base (`https://go.tallyfy.com/api`).
    base_url: Url,
    /// The last rate-limit headers seen.
    rate_limit_seen: std::sync::Mutex<Option<String>>,
    org: String,
    auth: Auth,
    pacer: Pacer,
    max_retries: u32,
    /// The most guests a walk of the list reads (`--max-guests`).
    max_guests: u64,
    stats: ClientStats,
    /// The server's clock, from its answers' `Date` headers.
    clock: std::sync::Arc<super::clock::ServerClock>,
    /// Where the organization's invite cap is remembered, if anywhere.
    cap_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("guests_url", &self.guests_url)
            .finish_non_exhaustive()
    }
}

/// One HTTP exchange that got an answer.
struct Answer {
    status: u16,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    location: Option<String>,
    body: bytes::Bytes,
    /// The body was longer than `MAX_BODY` and was cut there.
    oversized: bool,
}

/// The most of one answer's body that is read: a page of 100 guests is about 100 KiB.
const MAX_BODY: usize = 8 * 1024 * 1024;

impl Client {
    /// A client for one organization; fails only on a configuration it cannot use.
    pub fn new(config: &ApiConfig) -> Result<Self, SettingError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        // The docs say a request without it is answered 401.
        headers.insert("X-Tallyfy-Client", HeaderValue::from_static("APIClient"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("tallyfy-guests/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.transport.connect_timeout)
            .timeout(config.transport.request_timeout)
            // A redirected POST would silently become a GET; an API base should not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SettingError::BadUrl {
                url: config.base_url.to_string(),
                reason: format!("cannot build an HTTP client: {e}"),
            })?;
        let pacer = Pacer::new(
            &config.transport.rates,
            &config.transport.invite_rates,
            config.transport.max_wait,
        );
        let cap_file =
            (config.transport.state_dir.as_deref()).and_then(|dir| super::invite_cap::file(dir, &config.org));
        // A cap learned by an earlier run paces creates from the first (issue 32).
        if let Some(cap) = cap_file.as_deref().and_then(super::invite_cap::recall) {
            pacer.recall_invite_cap(cap);
        }
        Ok(Client {
            http: http.clone(),
            base_url: config.base_url.clone(),
            rate_limit_seen: std::sync::Mutex::new(None),
            org: config.org.clone(),
            guests_url: below(&config.base_url, &format!("/organizations/{}/guests", config.org)),
            auth: Auth::new(&config.credentials, &http)?,
            pacer,
            max_retries: config.transport.max_retries,
            max_guests: match config.transport.max_guests {
                0 => crate::defaults::MAX_GUESTS,
                max => max,
            },
            stats: ClientStats::default(),
            clock: Default::default(),
            cap_file,
        })
    }

    /// Remembers the organization's invite cap, as far as it is learned, for its next run.
    pub fn remember_invite_cap(&self) {
        if let (Some(file), Some(cap)) = (&self.cap_file, self.pacer.invite_cap()) {
            super::invite_cap::remember(file, &cap);
        }
    }

    /// The run's pacer (quotas and 429 pauses), for the progress bar and the summary.
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    /// The most guests a walk of the guest list reads (`--max-guests`).
    pub fn max_guests(&self) -> u64 {
        self.max_guests
    }

    /// The run's request counters and latencies.
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// OAuth tokens obtained after the first (expiry or rejection); 0 with a fixed token.
    pub fn token_renewals(&self) -> u64 {
        self.auth.renewals()
    }

    /// The organization's name, from `GET me/organizations` (the organizations of the token's
    /// user); `None` when the API does not say (the org id is then all there is to show).
    pub async fn organization_name(&self) -> Option<String> {
        let organizations = self.organizations().await.ok()?;
        organizations
            .into_iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(&self.org))
            .map(|(_, name)| name)
    }

    /// The organization as a person is shown it (the question, the page, the workbook's run
    /// sheet): [`organization_label`] of its name from `GET me/organizations` and its id.
    pub async fn organization_label(&self) -> String {
        organization_label(self.organization_name().await.as_deref(), &self.org)
    }

    /// `GET me/organizations`: the (id, name) of every organization the token's user is in.
    pub async fn organizations(&self) -> Result<Vec<(String, String)>, ApiError> {
        let url = below(&self.base_url, "/me/organizations");
        let (answer, attempts) = self.send(Method::GET, &url, None, Lane::Request, None).await?;
        let list: serde_json::Value = decode(&answer, attempts)?;
        let text = |value: &serde_json::Value| match value {
            serde_json::Value::String(text) => super::error::server_text(text),
            serde_json::Value::Number(number) => number.to_string(),
            _ => String::new(),
        };
        Ok(list["data"]
            .as_array()
            .map(|orgs| orgs.iter().map(|org| (text(&org["id"]), text(&org["name"]))).collect())
            .unwrap_or_default())
    }

    /// The organization id.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The API's host (and port, when not the scheme's default), as results record it.
    pub fn api_host(&self) -> String {
        let host = self.base_url.host_str().unwrap_or_default();
        match self.base_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// The server's clock as its answers have told it.
    pub fn clock(&self) -> &std::sync::Arc<super::clock::ServerClock> {
        &self.clock
    }

    /// `GET me`: the email of the user behind the token.
    pub async fn me(&self) -> Result<String, ApiError> {
        let url = below(&self.base_url, "/me");
        let (answer, attempts) = self.send(Method::GET, &url, None, Lane::Request, None).await?;
        let me: serde_json::Value = decode(&answer, attempts)?;
        Ok(super::error::server_text(
            me["data"]["email"].as_str().unwrap_or("(no email given)"),
        ))
    }

    /// The last `X-RateLimit-Limit`/`-Remaining` headers seen, if the API sends them.
    pub fn rate_limit_seen(&self) -> Option<String> {
        self.rate_limit_seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// One page of the guest list. Trust the returned `per_page`/`total_pages`, not the asked.
    pub async fn list_page(&self, page: u64, per_page: u64, with_stats: bool) -> Result<Reply<Page>, ApiError> {
        let mut query = format!("page={page}&per_page={per_page}");
        if with_stats {
            query.push_str("&with=stats");
        }
        let mut url = self.guests_url.clone();
        url.set_query(Some(&query));
        let (answer, attempts) = self.send(Method::GET, &url, None, Lane::Request, None).await?;
        let envelope: ListEnvelope = decode(&answer, attempts)?;
        Ok(Reply {
            value: envelope.into(),
            status: answer.status,
            attempts,
        })
    }

    /// One page of the organization's members (`GET organizations/{org}/users`), paged like the
    /// guest list. Trust the returned pagination, not the asked.
    pub async fn members_page(&self, page: u64, per_page: u64) -> Result<Reply<MemberPage>, ApiError> {
        let mut url = below(&self.base_url, &format!("/organizations/{}/users", self.org));
        url.set_query(Some(&format!("page={page}&per_page={per_page}")));
        let (answer, attempts) = self.send(Method::GET, &url, None, Lane::Request, None).await?;
        let envelope: MemberEnvelope = decode(&answer, attempts)?;
        Ok(Reply {
            value: envelope.into(),
            status: answer.status,
            attempts,
        })
    }

    /// The guest with this email, or `None` when the API says it does not exist.
    pub async fn get_guest(&self, email: &str) -> Result<Reply<Option<Guest>>, ApiError> {
        self.get_guest_with(email, false).await
    }

    /// `get_guest`, with the guest's task statistics (`with=stats`) when `stats`.
    pub async fn get_guest_with(&self, email: &str, stats: bool) -> Result<Reply<Option<Guest>>, ApiError> {
        let mut url = self.guest_url(email, GuestPath::Guest)?;
        if stats {
            url.set_query(Some("with=stats"));
        }
        match self.send(Method::GET, &url, None, Lane::Request, None).await {
            Ok((answer, attempts)) => {
                let envelope: ItemEnvelope = decode(&answer, attempts)?;
                Ok(Reply {
                    value: Some(envelope.data),
                    status: answer.status,
                    attempts,
                })
            }
            Err(ApiError {
                kind: ApiErrorKind::NotFound(_),
                attempts,
                ..
            }) => Ok(Reply {
                value: None,
                status: 404,
                attempts,
            }),
            Err(other) => Err(other),
        }
    }

    /// Creates a guest and returns its id (empty when the answer did not hold one). Never resent
    /// once it may have arrived: an unknown outcome is `ApiErrorKind::Indeterminate`, and the
    /// caller reads back before trying again. Not sent (`ApiErrorKind::NotSent`) once `gate`
    /// closes for invites, however long it has waited its turn.
    pub async fn create_guest(&self, guest: &NewGuest, gate: &Gate) -> Result<Reply<NewGuestId>, ApiError> {
        let body = serde_json::to_vec(guest).expect("a NewGuest always serializes");
        let (answer, attempts) = self
            .send(Method::POST, &self.guests_url, Some(body), Lane::Invite, Some(gate))
            .await?;
        // Any 2xx means it was created; an odd body must not turn that into a failure.
        let created = serde_json::from_slice::<CreatedEnvelope>(&answer.body)
            .map(|envelope| envelope.data.into_new_guest_id())
            .unwrap_or_else(|e| {
                tracing::warn!(email = %guest.email, "created, but the response did not decode: {e}");
                NewGuestId::default()
            });
        Ok(Reply {
            value: created,
            status: answer.status,
            attempts,
        })
    }

    /// Replaces the guest's `associated_members` (the only field the API lets us change).
    pub async fn update_members(&self, email: &str, members: &[u64], gate: &Gate) -> Result<Reply<Guest>, ApiError> {
        let body = serde_json::to_vec(&serde_json::json!({ "associated_members": members }))
            .expect("a list of ids always serializes");
        let (answer, attempts) = self
            .send(
                Method::PUT,
                &self.guest_url(email, GuestPath::Guest)?,
                Some(body),
                Lane::Request,
                Some(gate),
            )
            .await?;
        let envelope: ItemEnvelope = decode(&answer, attempts)?;
        Ok(Reply {
            value: envelope.data,
            status: answer.status,
            attempts,
        })
    }

    /// Deletes the guest. A DELETE is idempotent, so the client resends it after a 5xx or a lost
    /// connection; the API answers a guest that is not there with 422.
    pub async fn delete_guest(&self, email: &str, gate: &Gate) -> Result<Reply<()>, ApiError> {
        self.act(Method::DELETE, self.guest_url(email, GuestPath::Guest)?, gate)
            .await
    }

    /// Disables the guest (`DELETE …/disable`): they can no longer sign in; nothing is lost.
    pub async fn disable_guest(&self, email: &str, gate: &Gate) -> Result<Reply<()>, ApiError> {
        self.act(Method::DELETE, self.guest_url(email, GuestPath::Disable)?, gate)
            .await
    }

    /// Re-enables a disabled guest (`PUT …/enable`), which gives the guest a new link (the old
    /// one stops working): the guest as the answer holds it, or `None` when its body is not one
    /// (the enable still succeeded; the caller reads the guest back for the link).
    pub async fn enable_guest(&self, email: &str, gate: &Gate) -> Result<Reply<Option<Guest>>, ApiError> {
        let url = self.guest_url(email, GuestPath::Enable)?;
        let (answer, attempts) = self.send(Method::PUT, &url, None, Lane::Request, Some(gate)).await?;
        let guest = serde_json::from_slice::<ItemEnvelope>(&answer.body)
            .ok()
            .map(|envelope| envelope.data);
        Ok(Reply {
            value: guest,
            status: answer.status,
            attempts,
        })
    }

    /// A request whose 2xx answer says all there is to know: its body is not needed.
    async fn act(&self, method: Method, url: Url, gate: &Gate) -> Result<Reply<()>, ApiError> {
        let (answer, attempts) = self.send(method, &url, None, Lane::Request, Some(gate)).await?;
        Ok(Reply {
            value: (),
            status: answer.status,
            attempts,
        })
    }

    /// `…/guests/{email}{tail}`, the email percent-encoded as one path segment (`segment`); an
    /// email no path can name is an error, and nothing is sent.
    fn guest_url(&self, email: &str, path: GuestPath) -> Result<Url, ApiError> {
        Ok(below(&self.guests_url, &format!("/{}{}", segment(email)?, path.tail())))
    }

    /// Sends until the retry table says stop. Returns the 2xx answer and the attempts it took.
    /// A change passes `gate`: once it closes, an attempt still waiting (on the pacer, the invite
    /// quota, a back-off, a token) is dropped as `NotSent`; one already written finishes.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<Vec<u8>>,
        lane: Lane,
        gate: Option<&Gate>,
    ) -> Result<(Answer, u32), ApiError> {
        let request = Request {
            method,
            url,
            body,
            lane,
            gate,
        };
        let mut tries = Tries::default();
        loop {
            self.wait_turn(&request, &tries).await?;
            let (auth, generation) = self.auth.header().await.map_err(|mut e| {
                e.attempts = tries.attempts;
                e
            })?;
            // The last look before the request is written: the stop may have come while the
            // pacer or the token endpoint was answering.
            if request.gate_closed() {
                return Err(not_sent(tries.attempts));
            }
            let (outcome, result) = self.attempt(&request, auth, &mut tries).await;
            match (retry::classify(&request.method, outcome), result) {
                (Decision::Accept, Ok(answer)) => {
                    self.pacer.succeeded();
                    return Ok((answer, tries.attempts));
                }
                (Decision::PauseAndRetry, Ok(answer)) => self.throttled(&answer, request.lane, &mut tries)?,
                (Decision::Retry, result) if tries.retries < self.max_retries => {
                    self.back_off(&request, outcome, result.as_ref().ok(), &mut tries)
                        .await?;
                }
                (Decision::Indeterminate, result) => {
                    let what = match &result {
                        Ok(answer) => format!("HTTP {}{}", answer.status, body_note(answer)),
                        Err(e) => describe(e),
                    };
                    return Err(error(
                        ApiErrorKind::Indeterminate(what),
                        result.as_ref().ok(),
                        tries.attempts,
                    ));
                }
                // An expired or revoked OAuth token: a 401 means nothing was applied, so the
                // request (a create too) is sent again with a fresh token; again only if that
                // one is rejected too (others in flight may use up a short-lived token).
                (_, Ok(answer))
                    if answer.status == 401
                        && generation > tries.rejected
                        && tries.renewals < MAX_RENEWALS
                        && self.auth.rejected(generation).await? =>
                {
                    tries.rejected = generation;
                    tries.renewals += 1;
                }
                (_, result) => return Err(final_failure(result, url, &tries)),
            }
        }
    }

    /// Waits for the request's turn under the pacer: `--max-wait` from its first 429 on bounds
    /// the wait, and a closing gate drops it.
    async fn wait_turn(&self, request: &Request<'_>, tries: &Tries) -> Result<(), ApiError> {
        let ready = async {
            let ready = self.pacer.ready(request.lane);
            match tries.throttled_since {
                Some((since, invites_only)) => {
                    let left = self.pacer.max_wait_for(invites_only).saturating_sub(since.elapsed());
                    match tokio::time::timeout(left, ready).await {
                        Ok(ready) => ready,
                        Err(_) => Err(storm_over(tries.throttled, since, invites_only)),
                    }
                }
                None => ready.await,
            }
        };
        let ready = match request.gate {
            Some(gate) => tokio::select! {
                biased;
                () = gate.closed(request.lane) => return Err(not_sent(tries.attempts)),
                ready = ready => ready,
            },
            None => ready.await,
        };
        ready.map_err(|until| error(ApiErrorKind::RateLimited(until), None, tries.attempts))
    }

    /// Writes the request once, counted and timed; its outcome for the retry table.
    async fn attempt(
        &self,
        request: &Request<'_>,
        auth: HeaderValue,
        tries: &mut Tries,
    ) -> (Outcome, Result<Answer, reqwest::Error>) {
        tries.attempts += 1;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let sent = std::time::Instant::now();
        let result = self
            .exchange(&request.method, request.url, request.body.clone(), auth)
            .await;
        self.stats.latency.record(sent.elapsed());
        let outcome = match &result {
            Ok(answer) => Outcome::Status(answer.status),
            Err(e) => transport_outcome(e),
        };
        let (method, attempts) = (&request.method, tries.attempts);
        tracing::debug!(%method, url = request.url.as_str(), %outcome, attempts, "api request");
        (outcome, result)
    }

    /// A 429: pauses every request (or, at the invite cap, creates), or stops the request once
    /// the pause, or the storm of 429s since its first, would outlast `--max-wait`.
    fn throttled(&self, answer: &Answer, lane: Lane, tries: &mut Tries) -> Result<(), ApiError> {
        tries.throttled += 1;
        self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        let parsed = ErrorBody::parse(&answer.body);
        let invite_cap = lane == Lane::Invite && is_invite_cap(&parsed);
        let whom = if invite_cap {
            "invite cap (429); pausing creates"
        } else {
            "rate limited (429); pausing every request"
        };
        let retry_after_seconds = answer.retry_after.map(|after| after.as_secs_f64());
        // Routine under a burst limit: the progress bar and the summary show pauses; a long one
        // is worth a line of its own.
        if answer.retry_after.is_some_and(|after| after >= LONG_PAUSE) {
            tracing::info!(retry_after_seconds, "{whom}");
        } else {
            tracing::debug!(retry_after_seconds, "{whom}");
        }
        let paused = if invite_cap {
            let paused = self.pacer.invite_limited(answer.retry_after, parsed.message);
            self.remember_invite_cap();
            paused
        } else {
            self.pacer.rate_limited(answer.retry_after, parsed.message)
        };
        let stopped = |until| error(ApiErrorKind::RateLimited(until), Some(answer), tries.attempts);
        paused.map_err(stopped)?;
        let (since, _) = *tries
            .throttled_since
            .get_or_insert((std::time::Instant::now(), invite_cap));
        let next = answer.retry_after.unwrap_or(Duration::from_secs(1));
        let bound = self.pacer.max_wait_for(invite_cap);
        if tries.throttled >= MAX_RATE_LIMITED_ATTEMPTS || since.elapsed() + next > bound {
            return Err(stopped(storm_over(tries.throttled, since, invite_cap)));
        }
        // A wait for the cap's window that a person confirmed is part of the plan, not a
        // pause that eats into the transient failures' `--max-wait`.
        if !invite_cap || bound <= self.pacer.max_wait() {
            tries.waited += next;
        }
        Ok(())
    }

    /// A transient failure: waits a back-off (never shorter than a 503's Retry-After) before
    /// the next attempt, or stops the request when the wait would outlast `--max-wait`. A
    /// closing gate drops it.
    async fn back_off(
        &self,
        request: &Request<'_>,
        outcome: Outcome,
        answer: Option<&Answer>,
        tries: &mut Tries,
    ) -> Result<(), ApiError> {
        let outcome_text = match outcome {
            Outcome::Status(status) => format!("HTTP {status}"),
            _ => "a failed request".to_string(),
        };
        let wait = retry::backoff(tries.retries);
        // A 503 may say when to come back; never sooner than that.
        let wait = answer.and_then(|a| a.retry_after).map_or(wait, |after| after.max(wait));
        if tries.waited + wait > self.pacer.max_wait() {
            // A 503 that says "come back in 11 days" stops the run, as a long 429 does.
            let until = RateLimitedUntil {
                until: SystemTime::now() + wait,
                reason: Some(format!("{outcome_text} asked to wait longer than --max-wait")),
                invites_only: false,
            };
            return Err(error(ApiErrorKind::RateLimited(until), answer, tries.attempts));
        }
        tries.waited += wait;
        tries.retries += 1;
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        let (method, url) = (&request.method, request.url.as_str());
        tracing::debug!(%method, url, %outcome, wait_seconds = wait.as_secs_f64(), "transient failure; retrying");
        match request.gate {
            Some(gate) => tokio::select! {
                biased;
                () = gate.closed(request.lane) => return Err(not_sent(tries.attempts)),
                () = tokio::time::sleep(wait) => {}
            },
            None => tokio::time::sleep(wait).await,
        }
        Ok(())
    }

    /// One request and its whole body: a connection lost while reading is part of the attempt.
    async fn exchange(
        &self,
        method: &Method,
        url: &Url,
        body: Option<Vec<u8>>,
        auth: HeaderValue,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(header::AUTHORIZATION, auth);
        if let Some(body) = body {
            request = request.header(header::CONTENT_TYPE, "application/json").body(body);
        }
        let response = request.send().await?;
        let headers = response.headers();
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (request_id, location) = (
            text("x-request-id").map(|id| super::error::server_text(&id)),
            text("location").map(|at| super::error::server_text(&at)),
        );
        // Any answer, an error's too, tells the server's time.
        if let Some(date) = text("date") {
            self.clock.saw_header(&date);
        }
        let retry_after = text("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now()));
        // Not confirmed to exist (../shared/tallyfy-api.md), so only remembered when seen.
        if let Some(limit) = text("x-ratelimit-limit") {
            let remaining = text("x-ratelimit-remaining").unwrap_or_else(|| "?".into());
            let seen = super::error::server_text(&format!("limit {limit}, remaining {remaining}"));
            *self.rate_limit_seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(seen);
        }
        let status = response.status().as_u16();
        // Read up to a cap: timeouts bound time, not bytes, and an endless answer must not
        // take all memory. What is past the cap is dropped, and decoding says so.
        let mut response = response;
        let mut body = bytes::BytesMut::new();
        let mut oversized = false;
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                oversized = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            request_id,
            retry_after,
            location,
            body: body.freeze(),
            oversized,
        })
    }
}

/// The stop for a request still rate-limited `since` its first 429, `throttled` answers later,
/// once `--max-wait` would be over: the run stops as it does for one long pause.
fn storm_over(throttled: u32, since: std::time::Instant, invites_only: bool) -> RateLimitedUntil {
    RateLimitedUntil {
        until: SystemTime::now(),
        reason: Some(format!(
            "still rate-limited after {throttled} tries over {:.0} s, longer than --max-wait",
            since.elapsed().as_secs_f64()
        )),
        invites_only,
    }
}

/// One request as `send` was asked for it.
struct Request<'a> {
    method: Method,
    url: &'a Url,
    body: Option<Vec<u8>>,
    lane: Lane,
    gate: Option<&'a Gate>,
}

impl Request<'_> {
    /// The request changes guests and the run's stop has closed its gate.
    fn gate_closed(&self) -> bool {
        self.gate.is_some_and(|gate| gate.is_closed(self.lane))
    }
}

/// What one request has been through, across its attempts.
#[derive(Default)]
struct Tries {
    attempts: u32,
    /// Resends after transient failures.
    retries: u32,
    /// 429s answered.
    throttled: u32,
    /// Time this request has spent waiting on 429s and retries: `--max-wait` bounds it all.
    waited: Duration,
    /// The first 429 of this request (and whether it was the invite cap's): from then on
    /// `--max-wait` bounds the wall-clock time it waits, pauses, the learned rate's spacing and
    /// resends alike. Counting each Retry-After instead let "Retry-After: 0" on every answer go
    /// on for ever (issue 22).
    throttled_since: Option<(std::time::Instant, bool)>,
    /// Generation of the last token a 401 made us replace.
    rejected: u64,
    /// How many times a 401 made us replace the token.
    renewals: u32,
}

/// A request dropped before it was written, its gate closed.
fn not_sent(attempts: u32) -> ApiError {
    error(ApiErrorKind::NotSent, None, attempts)
}

/// The error an attempt ends the request with, when the retry table neither accepts, retries
/// nor renews it: the answer's own failure, or why the server could not be reached.
fn final_failure(result: Result<Answer, reqwest::Error>, url: &Url, tries: &Tries) -> ApiError {
    match result {
        Ok(answer) => {
            let mut failed = error(failure_kind(&answer), Some(&answer), tries.attempts);
            failed.unanswered = tries.retries > 0;
            failed
        }
        Err(e) if e.is_connect() => {
            let kind = ApiErrorKind::Unreachable {
                host: host_of(url.as_str()),
                why: why_unreachable(&e),
            };
            error(kind, None, tries.attempts)
        }
        Err(e) => error(ApiErrorKind::Transport(describe(&e)), None, tries.attempts),
    }
}

/// An email as one path segment: everything but RFC 3986's unreserved characters encoded. A
/// segment of dots only (`.`, `..`) or an empty one cannot be sent at all: URL parsers read it,
/// and its `%2E` encodings too, as "this folder" or "the folder above", which would turn
/// `GET …/guests/..` into `GET …/{org}/`; such an email is refused before any request.
fn segment(email: &str) -> Result<String, ApiError> {
    if email.bytes().all(|b| b == b'.') {
        return Err(error(ApiErrorKind::NotAddressable(email.to_string()), None, 0));
    }
    Ok(utf8_percent_encode(email, PATH_SEGMENT).to_string())
}

/// How an organization is named to a person, the one wording of it: by name, so a wrong one
/// is noticed, with its id (`Acme (org-1)`); its id alone when its name is not known.
pub fn organization_label(name: Option<&str>, id: &str) -> String {
    match name {
        Some(name) => format!("{name} ({id})"),
        None => id.to_string(),
    }
}

/// `url` with `tail` added to its path (a trailing `/` of the base is not doubled): a URL made
/// without parsing one again.
fn below(url: &Url, tail: &str) -> Url {
    let mut below = url.clone();
    below.set_path(&format!("{}{tail}", url.path().trim_end_matches('/')));
    below
}

fn decode<T: DeserializeOwned>(answer: &Answer, attempts: u32) -> Result<T, ApiError> {
    if answer.oversized {
        let kind = ApiErrorKind::Decode(format!(
            "HTTP {} with a body larger than {} MiB, which was not read to its end",
            answer.status,
            MAX_BODY / (1024 * 1024)
        ));
        return Err(error(kind, Some(answer), attempts));
    }
    serde_json::from_slice(&answer.body).map_err(|e| {
        let kind = ApiErrorKind::Decode(format!(
            "HTTP {} with a body that is not the expected JSON ({e}){}",
            answer.status,
            body_note(answer)
        ));
        error(kind, Some(answer), attempts)
    })
}

fn error(kind: ApiErrorKind, answer: Option<&Answer>, attempts: u32) -> ApiError {
    ApiError {
        kind,
        status: answer.map(|a| a.status),
        request_id: answer.and_then(|a| a.request_id.clone()),
        attempts,
        unanswered: false,
    }
}

/// What a final non-2xx answer means.
fn failure_kind(answer: &Answer) -> ApiErrorKind {
    let body = ErrorBody::parse(&answer.body);
    match StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR) {
        StatusCode::UNAUTHORIZED => ApiErrorKind::Unauthorized(body.message),
        StatusCode::FORBIDDEN if body.message.as_deref().is_some_and(is_incomplete_tasks) => {
            ApiErrorKind::IncompleteTasks(body.message.unwrap_or_default())
        }
        StatusCode::FORBIDDEN => ApiErrorKind::Forbidden(body.message),
        StatusCode::NOT_FOUND if body.code.as_deref() == Some("ENDPOINT_NOT_FOUND") => ApiErrorKind::EndpointNotFound,
        StatusCode::NOT_FOUND => ApiErrorKind::NotFound(body.message),
        StatusCode::UNPROCESSABLE_ENTITY => ApiErrorKind::Rejected(body.into_field_errors()),
        status if status.is_redirection() => ApiErrorKind::Http {
            status: answer.status,
            message: Some(format!(
                "unexpected redirect to {}: check --base-url",
                answer.location.as_deref().unwrap_or("nowhere")
            )),
        },
        _ => ApiErrorKind::Http {
            status: answer.status,
            message: body.message,
        },
    }
}

/// The only paths below one guest this client can address. Tallyfy's permanent delete
/// (`DELETE …/guests/{id}/delete`) renames the guest and removes it from every organization
/// that uses it; it is left out on purpose, so that no code path can name it (a test pins it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GuestPath {
    /// The guest itself: get, update, delete (which keeps the record, detached).
    Guest,
    /// `…/disable`.
    Disable,
    /// `…/enable`.
    Enable,
}

impl GuestPath {
    #[cfg(test)]
    const ALL: [GuestPath; 3] = [GuestPath::Guest, GuestPath::Disable, GuestPath::Enable];

    fn tail(self) -> &'static str {
        match self {
            GuestPath::Guest => "",
            GuestPath::Disable => "/disable",
            GuestPath::Enable => "/enable",
        }
    }
}

/// Tallyfy's refusal to disable a guest who still has work: "Cannot disable guest with
/// incomplete tasks." (matched loosely: the words may change case or punctuation).
fn is_incomplete_tasks(message: &str) -> bool {
    message.to_lowercase().contains("incomplete tasks")
}

/// The hourly cap on guest invites (`429 {"code": "RATE_LIMIT_EXCEEDED", "message": "You've
/// reached the hourly limit for Guest Invite ..."}`), as opposed to short burst throttling.
fn is_invite_cap(body: &ErrorBody) -> bool {
    body.code.as_deref() == Some("RATE_LIMIT_EXCEEDED")
        || body
            .message
            .as_deref()
            .is_some_and(|message| message.to_lowercase().contains("guest invite"))
}

fn body_note(answer: &Answer) -> String {
    match ErrorBody::parse(&answer.body).message {
        Some(message) => format!(": {message}"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_below_the_base_with_one_slash_between() {
        for (base, expected) in [
            ("http://h", "http://h/me"),
            ("http://h/api", "http://h/api/me"),
            ("http://h/api/", "http://h/api/me"),
        ] {
            assert_eq!(below(&Url::parse(base).unwrap(), "/me").as_str(), expected);
        }
    }

    #[test]
    fn an_email_of_dots_only_is_never_a_path() {
        for email in [".", "..", "", "...."] {
            assert!(
                matches!(
                    segment(email),
                    Err(ApiError {
                        kind: ApiErrorKind::NotAddressable(_),
                        ..
                    })
                ),
                "{email:?}"
            );
        }
        assert_eq!(segment(".a.").unwrap(), ".a.");
    }

    /// Issue 30: no URL this client builds is the permanent delete (`…/guests/{x}/delete`),
    /// whatever the email: a `/` in it is encoded, so it stays one segment.
    #[test]
    fn no_guest_url_is_the_permanent_delete() {
        let config = crate::api::ApiConfig::new(
            crate::api::Transport::default(),
            "https://go.tallyfy.com/api",
            "0123456789abcdef0123456789abcdef",
            crate::api::Credentials::Token(crate::secret::Secret::new("t")),
        )
        .unwrap();
        let client = Client::new(&config).unwrap();
        for email in [
            "a@x.com",
            "a@x.com/delete",
            "delete@x.com",
            "a/../delete@x.com",
            "x@y.com%2Fdelete",
        ] {
            for path in GuestPath::ALL {
                let url = client.guest_url(email, path).unwrap();
                let segments: Vec<&str> = url.path_segments().unwrap().collect();
                let guests = segments.iter().position(|s| *s == "guests").unwrap();
                let below = &segments[guests + 1..];
                assert!(!below.is_empty() && below.len() <= 2, "{url}");
                assert!(below.get(1).is_none_or(|tail| *tail != "delete"), "{url}");
                assert!(!url.path().ends_with("/delete"), "{url}");
            }
        }
    }

    #[test]
    fn emails_are_percent_encoded_as_one_path_segment() {
        let encoded = utf8_percent_encode("a.b+tag@x-y.com", PATH_SEGMENT).to_string();
        assert_eq!(encoded, "a.b%2Btag%40x-y.com");
        assert_eq!(
            utf8_percent_encode("o'neil/é@x.com", PATH_SEGMENT).to_string(),
            "o%27neil%2F%C3%A9%40x.com"
        );
    }
}
