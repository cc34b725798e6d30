//! The sandbox's HTTP surface: the guests endpoints under `/api`, the edge in front of them
//! (latency, faults, burst limit, authentication) and the JSON shapes the real API answers with,
//! newer or legacy. Data rules live in `store.rs`, fault decisions in `faults.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Extension, Form, Json, Router};
use serde_json::{Map, Value, json};

use super::faults::{CommitFault, EdgeFault, Faults};
use super::server::KillSwitch;
use super::store::{CreateError, Problems, Store};
use crate::api::model::Guest;

/// Requests seen, by method.
#[derive(Debug, Default)]
pub(super) struct RequestCounters {
    pub total: AtomicU64,
    pub get: AtomicU64,
    pub post: AtomicU64,
    pub put: AtomicU64,
    pub delete: AtomicU64,
    pub created: AtomicU64,
    /// Requests done with: answered, or dropped with their connection (a client that died).
    pub settled: AtomicU64,
    /// Connections open (kept by the accept loop, `server.rs`).
    pub connections: Arc<AtomicU64>,
}

/// Counts its request as settled when the handling ends, however it ends (a future dropped
/// with its connection included), so a test can wait until nothing is in flight.
struct Settles(Arc<AppState>);

impl Drop for Settles {
    fn drop(&mut self) {
        self.0.requests.settled.fetch_add(1, Ordering::SeqCst);
    }
}

pub(super) struct AppState {
    pub store: Mutex<Store>,
    pub faults: Faults,
    pub oauth: super::oauth::OAuth,
    pub requests: RequestCounters,
    pub org: String,
    /// The organization's name, for `GET me/organizations`.
    pub org_name: String,
    pub token: String,
    pub per_page_cap: u64,
    /// Older payload shapes: string ids, names inside `details`, flat `{"error": true}` bodies.
    pub legacy: bool,
    /// `http://127.0.0.1:PORT/api`, for pagination links.
    pub base_url: String,
    /// `METHOD /path?query` of every request, in order of arrival (`Sandbox::request_log`).
    pub log: Mutex<Vec<String>>,
}

impl AppState {
    pub(super) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type Shared = State<Arc<AppState>>;

pub(super) fn router(state: Arc<AppState>) -> Router {
    let guests = "/api/organizations/{org}/guests";
    Router::new()
        .route(guests, get(list).post(create))
        .route(&format!("{guests}/{{email}}"), get(show).put(update).delete(remove))
        .route(&format!("{guests}/{{email}}/disable"), delete(disable))
        .route(&format!("{guests}/{{email}}/enable"), put(enable))
        .route(&format!("{guests}/{{email}}/delete"), delete(delete_permanently))
        .route("/api/organizations/{org}/users", get(list_users))
        .route("/api/me", get(me))
        .route("/api/me/organizations", get(my_organizations))
        .fallback(endpoint_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), edge))
        // The token endpoint needs no bearer token, so it sits outside the edge's check.
        .route("/oauth/token", post(token))
        .route("/api/oauth/token", post(token))
        .with_state(state)
}

/// `GET me`: the user behind the token.
async fn me(State(state): Shared) -> Response {
    let user = json!({"id": 1001, "email": "owner@sandbox.example", "username": "owner",
        "first_name": "Sandbox", "last_name": "Owner", "timezone": "Europe/London"});
    let _ = state;
    Json(json!({ "data": user })).into_response()
}

/// `GET me/organizations`: the organizations the user belongs to (just the sandbox's).
async fn my_organizations(State(state): Shared) -> Response {
    let org = json!({"id": state.org, "name": state.org_name, "created_at": "2024-01-01T00:00:00Z"});
    let pagination = json!({"total": 1, "count": 1, "per_page": 100, "current_page": 1,
        "total_pages": 1, "links": []});
    Json(json!({"data": [org], "meta": {"pagination": pagination}})).into_response()
}

async fn token(State(state): Shared, Form(form): Form<HashMap<String, String>>) -> Response {
    state.oauth.token(&form)
}

/// What the real service's edge does before the application: latency, gateway faults, the
/// burst limit and authentication. Every response gets an `X-Request-Id`.
async fn edge(State(state): Shared, request: Request, next: Next) -> Response {
    let number = state.requests.total.fetch_add(1, Ordering::SeqCst) + 1;
    let _settles = Settles(state.clone());
    state
        .log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(format!("{} {}", request.method(), request.uri()));
    let by_method = match request.method().as_str() {
        "GET" => Some(&state.requests.get),
        "POST" => Some(&state.requests.post),
        "PUT" => Some(&state.requests.put),
        "DELETE" => Some(&state.requests.delete),
        _ => None,
    };
    if let Some(counter) = by_method {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    // `--latency` is a round trip: the request reaches the application half of it after it
    // arrived, and the answer leaves the whole of it after, the application's own work
    // included (a delay added on top of the work made every answer late by that work). The
    // waits use async-io's timer, which keeps to the microsecond (a timerfd), where tokio's
    // rounds up to the next millisecond and answered `--latency 20ms` in 21.2 ms at the median.
    state.faults.pass(request.method()).await;
    let latency = state.faults.latency();
    let arrived = std::time::Instant::now();
    // A latency past what the clock can count (a test's `Duration::MAX`) is an answer never given.
    let after = move |wait| {
        arrived
            .checked_add(wait)
            .map_or_else(async_io::Timer::never, async_io::Timer::at)
    };
    if !latency.is_zero() {
        after(latency / 2).await;
    }
    let answer_due = async move {
        if !latency.is_zero() {
            after(latency).await;
        }
    };
    let mut response = match state.faults.edge(number) {
        EdgeFault::Drop => {
            answer_due.await;
            return drop_connection(request.extensions().get::<KillSwitch>().cloned()).await;
        }
        EdgeFault::ServerError(status) => gateway_page(status),
        EdgeFault::Throttle { retry_after, empty } => {
            let body = if empty {
                String::new()
            } else {
                json!({"message": "Too Many Attempts."}).to_string()
            };
            let mut response = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
        EdgeFault::None if !authorized(&state, &request) || state.faults.token_revoked(number) => error(
            &state,
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Unauthenticated: missing or invalid token, or no X-Tallyfy-Client header.",
        ),
        EdgeFault::None => next.run(request).await,
    };
    answer_due.await;
    let id = HeaderValue::from_str(&format!("sbx-{number}")).expect("ascii");
    response.headers_mut().insert("x-request-id", id);
    // The server's clock, as the real API's answers carry it: the same clock as `created_at`
    // unless a skew is asked for (a proxy or front end with its own clock).
    let now = state.faults.date_header(state.faults.database_now());
    let date = HeaderValue::from_str(&httpdate::fmt_http_date(now)).expect("ascii");
    response.headers_mut().insert(header::DATE, date);
    response
}

fn authorized(state: &AppState, request: &Request) -> bool {
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let known = bearer.is_some_and(|token| token == state.token || state.oauth.accepts(token));
    known && headers.contains_key("x-tallyfy-client")
}

/// Closes the connection without an answer (a 502 where the server gives no way to).
async fn drop_connection(kill: Option<KillSwitch>) -> Response {
    match kill {
        Some(kill) => kill.pull().await,
        None => gateway_page(502),
    }
}

async fn list(State(state): Shared, Path(org): Path<String>, Query(query): Query<HashMap<String, String>>) -> Response {
    if let Some(refused) = wrong_org(&state, &org) {
        return refused;
    }
    let with_stats = query
        .get("with")
        .is_some_and(|w| w.split(',').any(|w| w.trim() == "stats"));
    let store = state.store();
    let (window, pagination) = paged(&state, &org, "guests", &query, store.guests().len());
    let data: Vec<Value> = store.guests()[window]
        .iter()
        .map(|g| guest_json(g, state.legacy, with_stats))
        .collect();
    drop(store);
    Json(json!({"data": data, "meta": {"pagination": pagination}})).into_response()
}

/// `GET organizations/{org}/users`: the members, paged like the guests (all statuses).
async fn list_users(
    State(state): Shared,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = wrong_org(&state, &org) {
        return refused;
    }
    match state.faults.members_refused() {
        Some(401) => {
            return error(
                &state,
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "Unauthenticated: this token may not list users.",
            );
        }
        Some(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
            return error(&state, status, "FORBIDDEN", "You do not have permission to list users.");
        }
        None => {}
    }
    let store = state.store();
    let (window, pagination) = paged(&state, &org, "users", &query, store.members().len());
    let data: Vec<Value> = store.members()[window]
        .iter()
        .map(|m| {
            json!({"id": m.id, "email": m.email, "first_name": m.first_name, "last_name": m.last_name,
                "role": m.role, "status": m.status})
        })
        .collect();
    drop(store);
    Json(json!({"data": data, "meta": {"pagination": pagination}})).into_response()
}

/// The slice of a list of `total` items that `page`/`per_page` ask for (capped), and the
/// Fractal `meta.pagination` that goes with it.
fn paged(
    state: &AppState,
    org: &str,
    list: &str,
    query: &HashMap<String, String>,
    total: usize,
) -> (std::ops::Range<usize>, Value) {
    let number = |key: &str| query.get(key).and_then(|v| v.parse::<u64>().ok()).filter(|&n| n > 0);
    let page = number("page").unwrap_or(1);
    let per_page = number("per_page").unwrap_or(state.per_page_cap).min(state.per_page_cap);
    let total = total as u64;
    let total_pages = total.div_ceil(per_page).max(1);
    let start = ((page - 1).saturating_mul(per_page)).min(total) as usize;
    let end = (start + per_page as usize).min(total as usize);
    let link = |n: u64| {
        format!(
            "{}/organizations/{org}/{list}?page={n}&per_page={per_page}",
            state.base_url
        )
    };
    let links = if total_pages <= 1 {
        // The Fractal serializer sends an empty *array* when there is nothing to link.
        if state.legacy { Value::Null } else { json!([]) }
    } else {
        let mut links = Map::new();
        if page > 1 {
            links.insert("previous".into(), json!(link(page - 1)));
        }
        if page < total_pages {
            links.insert("next".into(), json!(link(page + 1)));
        }
        Value::Object(links)
    };
    let pagination = json!({"total": total, "count": end - start, "per_page": per_page,
        "current_page": page, "total_pages": total_pages, "links": links});
    (start..end, pagination)
}

async fn show(
    State(state): Shared,
    Path((org, email)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = wrong_org(&state, &org) {
        return refused;
    }
    if state.faults.not_yet_readable(&email) {
        return guest_not_found(&state, &email);
    }
    let with_stats = query
        .get("with")
        .is_some_and(|w| w.split(',').any(|w| w.trim() == "stats"));
    match state.store().find(&email) {
        Some(guest) => (
            StatusCode::OK,
            Json(json!({"data": guest_json(guest, state.legacy, with_stats)})),
        )
            .into_response(),
        None => guest_not_found(&state, &email),
    }
}

async fn create(
    State(state): Shared,
    Path(org): Path<String>,
    kill: Option<Extension<KillSwitch>>,
    body: Bytes,
) -> Response {
    if let Some(refused) = wrong_org(&state, &org) {
        return refused;
    }
    let body = object(&body);
    // Check, count the invite and store under one lock, so two racing creates of one email
    // cannot both succeed.
    let created = {
        let mut store = state.store();
        if state.faults.other_writer_first()
            && let Some(email) = body.get("email").and_then(Value::as_str)
            && store.find(email).is_none()
        {
            let theirs = Guest {
                email: email.trim().to_string(),
                first_name: Some("Added".into()),
                last_name: Some("Elsewhere".into()),
                ..Guest::default()
            };
            store.create(theirs, &now(&state.faults));
            state.faults.created(email);
        }
        // A failing application answers 500 before storing ours (another writer's got in first).
        if state.faults.create_fails() {
            return gateway_page(500);
        }
        match store.check_create(&body) {
            Err(CreateError::Invalid(problems)) => return unprocessable(&state, problems),
            Ok(guest) => match state.faults.invite() {
                Err((retry_after, cap)) => return invite_capped(retry_after, &cap),
                Ok(()) => {
                    state.faults.created(&guest.email);
                    store.create(guest, &now(&state.faults))
                }
            },
        }
    };
    state.requests.created.fetch_add(1, Ordering::Relaxed);
    applied(&state, kill, item(&state, StatusCode::CREATED, &created)).await
}

async fn update(State(state): Shared, Path((org, email)): Path<(String, String)>, body: Bytes) -> Response {
    if let Some(refused) = wrong_org(&state, &org) {
        return refused;
    }
    let result = state.store().update_members(&email, &object(&body));
    match result {
        None => guest_not_found(&state, &email),
        Some(Err(problems)) => unprocessable(&state, problems),
        // The real API answers a successful update with 201 (sic).
        Some(Ok(guest)) => item(&state, StatusCode::CREATED, &guest),
    }
}

async fn remove(
    State(state): Shared,
    Path((org, email)): Path<(String, String)>,
    kill: Option<Extension<KillSwitch>>,
) -> Response {
    if let Some(refused) = wrong_org(&state, &org) {
        return refused;
    }
    let removed = state.store().delete(&email);
    match removed {
        Some(guest) => applied(&state, kill, item(&state, StatusCode::OK, &guest)).await,
        // The real API answers a missing guest's delete with 422, not 404.
        None => unprocessable(&state, vec![("email".into(), "The selected email is invalid.".into())]),
    }
}

async fn disable(
    State(state): Shared,
    Path((org, email)): Path<(String, String)>,
    kill: Option<Extension<KillSwitch>>,
) -> Response {
    // Tallyfy will not disable a guest who still has incomplete tasks: a 403 with these words
    // (its disable-guest page), the flat shape whatever the payload version.
    let busy = state
        .store()
        .find(&email)
        .and_then(|guest| guest.stats.as_ref()?.assigned_tasks)
        .is_some_and(|tasks| tasks > 0);
    if busy && wrong_org(&state, &org).is_none() {
        let body = json!({"error": true, "message": "Cannot disable guest with incomplete tasks."});
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    set_disabled(&state, &org, &email, Some(now(&state.faults)), kill).await
}

/// `DELETE …/guests/{id or email}/delete`, the permanent delete: only a disabled guest, who is
/// then gone (from every organization, on the real server). The tool never calls it; it is here
/// so that tests can prove so from the request log.
async fn delete_permanently(State(state): Shared, Path((org, guest)): Path<(String, String)>) -> Response {
    if let Some(refused) = wrong_org(&state, &org) {
        return refused;
    }
    let mut store = state.store();
    let Some(found) = store.find_by_email_or_id(&guest).cloned() else {
        drop(store);
        return guest_not_found(&state, &guest);
    };
    let disabled = found.disabled_at.is_some() || found.status.as_deref() == Some("disabled");
    if !disabled {
        drop(store);
        return unprocessable(
            &state,
            vec![("guest".into(), "Please disable the guest before deletion.".into())],
        );
    }
    store.delete(&found.email);
    drop(store);
    item(&state, StatusCode::OK, &found)
}

async fn enable(
    State(state): Shared,
    Path((org, email)): Path<(String, String)>,
    kill: Option<Extension<KillSwitch>>,
) -> Response {
    set_disabled(&state, &org, &email, None, kill).await
}

async fn set_disabled(
    state: &AppState,
    org: &str,
    email: &str,
    when: Option<String>,
    kill: Option<Extension<KillSwitch>>,
) -> Response {
    if let Some(refused) = wrong_org(state, org) {
        return refused;
    }
    let changed = state.store().set_disabled(email, when.as_deref());
    match changed {
        Some(guest) => applied(state, kill, item(state, StatusCode::OK, &guest)).await,
        None => guest_not_found(state, email),
    }
}

/// A change that has been stored may still lose its answer (`--commit-fail-rate`): the client
/// cannot tell whether it was applied.
async fn applied(state: &AppState, kill: Option<Extension<KillSwitch>>, answer: Response) -> Response {
    match state.faults.after_commit() {
        CommitFault::None => answer,
        CommitFault::BadGateway => gateway_page(502),
        CommitFault::Drop => drop_connection(kill.map(|Extension(kill)| kill)).await,
    }
}

async fn endpoint_not_found(State(state): Shared) -> Response {
    error(
        &state,
        StatusCode::NOT_FOUND,
        "ENDPOINT_NOT_FOUND",
        "The requested endpoint does not exist.",
    )
}

fn wrong_org(state: &AppState, org: &str) -> Option<Response> {
    (org != state.org).then(|| {
        error(
            state,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "You do not have permission to access this organization.",
        )
    })
}

/// A 404 that names the guest asked for, as Tallyfy's do.
fn guest_not_found(state: &AppState, email: &str) -> Response {
    let message = format!("Guest not found: no guest with email {email} in this organization.");
    error(state, StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", &message)
}

/// A non-validation error: nested `{"error": {...}}` in newer payloads, flat in older ones.
fn error(state: &AppState, status: StatusCode, code: &str, message: &str) -> Response {
    let body = if state.legacy {
        json!({"error": true, "message": message, "code": code})
    } else {
        json!({"error": {"code": code, "message": message}})
    };
    (status, Json(body)).into_response()
}

/// A 422 in Laravel's shape, or the older `{"error": true, "errors": ...}` one.
fn unprocessable(state: &AppState, problems: Problems) -> Response {
    let mut errors = Map::new();
    for (field, message) in problems {
        let messages = errors.entry(field).or_insert_with(|| json!([]));
        messages.as_array_mut().expect("always an array").push(json!(message));
    }
    let body = if state.legacy {
        json!({"error": true, "errors": errors})
    } else {
        json!({"message": "The given data was invalid.", "errors": errors})
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

fn invite_capped(retry_after: u64, cap: &crate::rate::Rate) -> Response {
    let window = if cap.period.as_secs() == 3600 {
        "hour".to_string()
    } else {
        humantime::format_duration(cap.period).to_string()
    };
    let message = format!(
        "You've reached the hourly limit for Guest Invite ({} per {window} per organization). Please try again later.",
        cap.count
    );
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"message": message, "code": "RATE_LIMIT_EXCEEDED"})),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// What nginx in front of the real API sends when the application is unwell.
fn gateway_page(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("Error"));
    let page = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    (status, [(header::CONTENT_TYPE, "text/html")], page).into_response()
}

fn item(state: &AppState, status: StatusCode, guest: &Guest) -> Response {
    (status, Json(json!({"data": guest_json(guest, state.legacy, false)}))).into_response()
}

fn object(body: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The database clock's time, as `created_at` and `disabled_at` carry it.
pub(super) fn now(faults: &Faults) -> String {
    chrono::DateTime::<chrono::Utc>::from(faults.database_now()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A guest as the API serializes it. Newer: integer id, names at top level, ISO timestamps.
/// Legacy: string id code, names inside `details`, `Y-m-d H:i:s` timestamps, older stats names.
fn guest_json(guest: &Guest, legacy: bool, with_stats: bool) -> Value {
    let time = |t: &Option<String>| -> Value {
        match t {
            Some(t) if legacy => json!(t.replace('T', " ").trim_end_matches('Z')),
            Some(t) => json!(t),
            None => Value::Null,
        }
    };
    let id = match guest.id.parse::<u64>() {
        Ok(number) if !legacy => json!(number),
        Ok(number) => json!(format!("guest_code_{number:06}")),
        Err(_) => json!(guest.id),
    };
    let mut details = json!({
        "status": guest.status, "phone_1": guest.phone_1, "phone_2": guest.phone_2,
        "timezone": guest.timezone, "company_name": guest.company_name,
        "associated_members": guest.associated_members, "disabled_at": time(&guest.disabled_at),
        "disabled_by": null, "image_url": null, "contact_url": null, "company_url": null,
        "opportunity_url": null, "opportunity_name": null, "external_sync_source": null,
        "cadence_days": null, "last_city": null, "last_country": guest.last_known_country,
        "reactivated_at": null, "reactivated_by": null,
    });
    let mut value = json!({
        "id": id, "email": guest.email, "link": guest.link,
        "last_accessed_at": time(&guest.last_accessed_at), "last_known_ip": guest.last_known_ip,
        "last_known_country": guest.last_known_country, "created_at": time(&guest.created_at),
        "deleted_at": null, "details": null,
    });
    if legacy {
        details["first_name"] = json!(guest.first_name);
        details["last_name"] = json!(guest.last_name);
    } else {
        value["first_name"] = json!(guest.first_name);
        value["last_name"] = json!(guest.last_name);
    }
    value["details"] = details;
    if with_stats {
        let stats = guest.stats.clone().unwrap_or_default();
        value["stats"] = if legacy {
            json!({"active_tasks": stats.assigned_tasks.unwrap_or(0), "completed_tasks": stats.tasks_completed.unwrap_or(0)})
        } else {
            json!({"assigned_tasks": stats.assigned_tasks.unwrap_or(0), "tasks_completed": stats.tasks_completed.unwrap_or(0),
                "last_task_completed_at": time(&stats.last_task_completed_at),
                "one_off_tasks_completed": stats.one_off_tasks_completed.unwrap_or(0),
                "last_one_off_task_completed_at": time(&stats.last_one_off_task_completed_at)})
        };
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::ItemEnvelope;

    /// As Tallyfy's guest pages say: the permanent delete needs a disabled guest, a disable of
    /// a guest with incomplete tasks is a 403 in those words, an enable issues a new link, and a
    /// 404 names the email asked for.
    #[tokio::test]
    async fn the_destructive_endpoints_follow_the_docs() {
        let busy = Guest {
            email: "busy@corp.com".into(),
            stats: Some(crate::api::GuestStats {
                assigned_tasks: Some(1),
                ..Default::default()
            }),
            ..Guest::default()
        };
        let plain = Guest {
            email: "plain@corp.com".into(),
            ..Guest::default()
        };
        let sandbox = crate::sandbox::Sandbox::start(crate::sandbox::SandboxOptions {
            guests: vec![busy, plain],
            ..Default::default()
        })
        .await
        .unwrap();
        let http = reqwest::Client::new();
        let guests = format!("{}/organizations/{}/guests", sandbox.base_url(), sandbox.org());
        let send = |method: reqwest::Method, path: &str| {
            http.request(method, format!("{guests}/{path}"))
                .bearer_auth(sandbox.token())
                .header("X-Tallyfy-Client", "APIClient")
                .send()
        };
        let answer = send(reqwest::Method::DELETE, "busy%40corp.com/disable").await.unwrap();
        assert_eq!(answer.status(), 403);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": true, "message": "Cannot disable guest with incomplete tasks."})
        );

        let answer = send(reqwest::Method::DELETE, "plain%40corp.com/delete").await.unwrap();
        assert_eq!(answer.status(), 422);
        assert!(
            answer
                .text()
                .await
                .unwrap()
                .contains("Please disable the guest before deletion.")
        );
        assert!(sandbox.guest("plain@corp.com").is_some());

        let first = sandbox.guest("plain@corp.com").unwrap().link;
        send(reqwest::Method::DELETE, "plain%40corp.com/disable").await.unwrap();
        let answer = send(reqwest::Method::PUT, "plain%40corp.com/enable").await.unwrap();
        let enabled: ItemEnvelope = answer.json().await.unwrap();
        let link = enabled.data.link.expect("a link");
        assert_ne!(Some(&link), first.as_ref(), "a new link on enable");
        assert_eq!(sandbox.guest("plain@corp.com").unwrap().link, Some(link));

        send(reqwest::Method::DELETE, "plain%40corp.com/disable").await.unwrap();
        let id = sandbox.guest("plain@corp.com").unwrap().id;
        let answer = send(reqwest::Method::DELETE, &format!("{id}/delete")).await.unwrap();
        assert_eq!(answer.status(), 200, "by id, once disabled");
        assert!(sandbox.guest("plain@corp.com").is_none());

        let answer = send(reqwest::Method::GET, "gone%40corp.com").await.unwrap();
        assert_eq!(answer.status(), 404);
        assert!(
            answer.text().await.unwrap().contains("gone@corp.com"),
            "the 404 names the email"
        );
    }

    /// Whatever shape the sandbox serves, the client's decoder reads back the same guest.
    #[test]
    fn both_payload_shapes_decode_to_the_stored_guest() {
        let guest = Guest {
            id: "42".into(),
            email: "a+b@x.com".into(),
            first_name: Some("Zoë".into()),
            last_name: Some("O'Neil".into()),
            status: Some("active".into()),
            phone_1: Some("+44 20 7946 0000".into()),
            associated_members: vec![1001, 1005],
            created_at: Some("2025-01-10T08:30:00Z".into()),
            ..Guest::default()
        };
        for legacy in [false, true] {
            let decoded: ItemEnvelope =
                serde_json::from_value(json!({"data": guest_json(&guest, legacy, false)})).unwrap();
            let expected_id = if legacy { "guest_code_000042" } else { "42" };
            assert_eq!(
                decoded.data,
                Guest {
                    id: expected_id.into(),
                    ..guest.clone()
                },
                "legacy={legacy}"
            );
        }
    }
}
