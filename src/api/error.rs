//! API failures as typed values with their context (HTTP status, request id, attempts), and
//! the parsing of error bodies in every shape the API sends: both 422 shapes, nested `error`
//! objects, and the HTML or empty bodies gateways answer with.

use std::fmt;

use serde_json::Value;

use super::pacing::RateLimitedUntil;

/// A failed API operation, after any retries.
#[derive(Debug, thiserror::Error)]
#[error("{kind}{}", RequestIdSuffix(.request_id))]
pub struct ApiError {
    /// What went wrong.
    pub kind: ApiErrorKind,
    /// The last HTTP status received, if any.
    pub status: Option<u16>,
    /// `X-Request-Id` of the last response, to quote to Tallyfy support.
    pub request_id: Option<String>,
    /// Requests sent for this operation, the failed one included.
    pub attempts: u32,
    /// An earlier attempt went unanswered (a 5xx, a lost connection) and was sent again: it
    /// may have been applied, which explains a final "missing" after a retried delete.
    pub unanswered: bool,
}

#[derive(Debug, thiserror::Error)]
/// The kinds of API failure, each with what a person needs to act on it.
pub enum ApiErrorKind {
    #[error(
        "the access token was rejected (401{}): it may be wrong, expired, or revoked because its user logged out of Tallyfy; check TALLYFY_ACCESS_TOKEN or --token-file",
        MessageSuffix(.0)
    )]
    /// 401: the token was refused (with the server's words, if any).
    Unauthorized(Option<String>),
    /// The OAuth token endpoint would not issue a token.
    #[error("could not obtain an access token from {url}: {reason}")]
    /// The OAuth endpoint at `url` would not issue a token, and why.
    TokenEndpoint {
        /// The token endpoint.
        url: String,
        /// Why it refused, in words.
        reason: String,
    },
    #[error("access to this organization was refused (403{}): check --org and the token's user permissions", MessageSuffix(.0))]
    /// 403: no permission for this organization (with the server's words, if any).
    Forbidden(Option<String>),
    /// 403 on a disable: Tallyfy keeps a guest with incomplete tasks enabled (its
    /// disable-guest page: `{"error": true, "message": "Cannot disable guest with incomplete
    /// tasks."}`). A rule about this guest, not a permission of the token: not retried, and the
    /// run goes on.
    #[error("Tallyfy refuses to disable a guest with incomplete tasks (403: {0})")]
    IncompleteTasks(String),
    #[error("the API endpoint was not found (404): check --base-url (e.g. https://go.tallyfy.com/api)")]
    /// 404 `ENDPOINT_NOT_FOUND`: the base URL is wrong.
    EndpointNotFound,
    #[error("not found (404{})", MessageSuffix(.0))]
    /// 404 for a guest (with the server's words, if any).
    NotFound(Option<String>),
    /// 422: the server's field messages.
    #[error("rejected by the server (422): {}", FieldList(.0))]
    Rejected(Vec<FieldError>),
    #[error("{0}")]
    /// A rate-limit pause longer than `--max-wait`: the run stops.
    RateLimited(RateLimitedUntil),
    /// A create whose outcome is unknown: the caller must read back before sending it again.
    #[error("outcome unknown, the request may have been applied: {0}")]
    Indeterminate(String),
    #[error("HTTP {status}{}", MessageSuffix(.message))]
    /// Any other final HTTP status, with the server's message.
    Http {
        /// The status.
        status: u16,
        /// The server's message, if any.
        message: Option<String>,
    },
    #[error("{0}")]
    /// The connection failed after the request may have been sent.
    Transport(String),
    /// No connection could be made, so nothing was sent: a name that does not resolve, a
    /// refused connection, a TLS failure, a connect timeout.
    #[error("could not reach {host}: {why}")]
    /// `host` could not be reached, and `why` in words with what to check.
    Unreachable {
        /// `host:port` of the base URL.
        host: String,
        /// What failed, in words.
        why: String,
    },
    #[error("unexpected response: {0}")]
    /// A 2xx whose body is not what the API documents.
    Decode(String),
    /// The guest or members list cannot be walked to its end: pages repeat, or never end.
    #[error("the {list} list cannot be read reliably: {reason}")]
    BadList {
        /// `guest` or `members`.
        list: &'static str,
        /// What the list did.
        reason: String,
    },
    /// The organization has (or claims) more guests, or members, than `--max-guests` lets a
    /// walk read.
    #[error(
        "the organization {claims} more than {max} {list}, the most --max-guests lets a run read; \
         stopped before going on (a server that never stops listing is stopped here too): \
         if it really is that large, raise --max-guests"
    )]
    TooManyGuests {
        /// `--max-guests`.
        max: u64,
        /// "claims" (its reported total) or "has" (entries actually read).
        claims: &'static str,
        /// `guests` or `members`.
        list: &'static str,
    },
    /// An email that no URL can name as one path segment (empty, or dots only: `.` and `..`
    /// are "this folder" and "the folder above" to every URL parser, encoded or not), so no
    /// request was sent.
    #[error("`{0}` cannot be named in a request (an email of dots only would address another path): nothing was sent")]
    NotAddressable(String),
    /// The run stopped while the request waited to be sent (pacer, invite quota, back-off):
    /// it was dropped, not sent.
    #[error("not sent: the run stopped while it waited its turn")]
    NotSent,
}

/// One message of a 422, with the field it is about (`email`, `associated_members.0`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, dotted for nested ones (empty when the server named none).
    pub field: String,
    /// The server's message, cleaned (see `server_text`).
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// What could be read from an error body, whatever its shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// The overall message.
    pub message: Option<String>,
    /// The error code (`RATE_LIMIT_EXCEEDED`, `RESOURCE_NOT_FOUND`, ...).
    pub code: Option<String>,
    /// Every field message of a 422.
    pub fields: Vec<FieldError>,
}

impl ErrorBody {
    /// Parses `{"message", "errors"}`, `{"error": true, "errors"}`, `{"error": true, "message",
    /// "code"}` and `{"error": {"code", "message", "details"}}`. A body that is not JSON (an
    /// HTML gateway page, nothing at all) yields a short description instead of a parse error.
    pub fn parse(body: &[u8]) -> ErrorBody {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return ErrorBody {
                message: describe_non_json(body),
                ..ErrorBody::default()
            };
        };
        let mut parsed = ErrorBody {
            message: text(value.get("message")),
            code: text(value.get("code")),
            fields: Vec::new(),
        };
        if let Some(nested @ Value::Object(_)) = value.get("error") {
            parsed.message = parsed.message.or_else(|| text(nested.get("message")));
            parsed.code = parsed.code.or_else(|| text(nested.get("code")));
            if let Some(details) = nested.get("details") {
                collect_leaves(details, String::new(), &mut parsed.fields);
            }
        }
        if let Some(errors) = value.get("errors") {
            collect_leaves(errors, String::new(), &mut parsed.fields);
        }
        parsed
    }

    /// The 422 messages, or the overall message when the body named no field.
    pub fn into_field_errors(self) -> Vec<FieldError> {
        if !self.fields.is_empty() {
            return self.fields;
        }
        vec![FieldError {
            field: String::new(),
            message: self.message.unwrap_or_else(|| "no reason given".to_string()),
        }]
    }
}

/// Every leaf string under `errors`, with its path: `{"email": ["taken"]}` → `email: taken`,
/// `{"a": {"b": "x"}}` → `a.b: x`.
fn collect_leaves(value: &Value, path: String, out: &mut Vec<FieldError>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(map) => map.iter().for_each(|(key, v)| collect_leaves(v, join(key), out)),
        // Array indices are not fields: `"email": ["a", "b"]` are two messages about `email`.
        Value::Array(items) => items.iter().for_each(|v| collect_leaves(v, path.clone(), out)),
        Value::String(message) => out.push(FieldError {
            field: server_text(&path),
            message: server_text(message),
        }),
        Value::Number(_) | Value::Bool(_) => out.push(FieldError {
            field: server_text(&path),
            message: value.to_string(),
        }),
        Value::Null => {}
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(server_text(s)),
        _ => None,
    }
}

/// A server's words are shown and stored at most this long.
const MAX_SERVER_TEXT: usize = 500;

/// Text from a server, made safe to show and store: any secret of the run scrubbed (a proxy
/// may echo the Authorization header), control characters (terminal escapes, line breaks)
/// turned into spaces, and the length capped.
pub(super) fn server_text(text: &str) -> String {
    // Read past the cap by the longest secret there can be (a token file holds at most
    // 16 KiB), so that a secret which starts before the cut is scrubbed whole, not cut in two.
    let cleaned: String = text
        .trim()
        .chars()
        .take(MAX_SERVER_TEXT * 4 + 16 * 1024)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cleaned = crate::secret::redact(&cleaned);
    if cleaned.chars().count() > MAX_SERVER_TEXT {
        let cut: String = cleaned.chars().take(MAX_SERVER_TEXT).collect();
        format!("{cut}… (cut)")
    } else {
        cleaned
    }
}

/// `<title>502 Bad Gateway</title>` → "502 Bad Gateway"; an empty body → None.
fn describe_non_json(body: &[u8]) -> Option<String> {
    let body = String::from_utf8_lossy(body);
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    if let (Some(start), Some(end)) = (lower.find("<title>"), lower.find("</title>"))
        && start + 7 <= end
    {
        return Some(server_text(&body[start + 7..end]));
    }
    if lower.starts_with('<') {
        return Some(format!("an HTML page of {} bytes", body.len()));
    }
    Some(server_text(&body.chars().take(200).collect::<String>()))
}

struct MessageSuffix<'a>(&'a Option<String>);

impl fmt::Display for MessageSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(message) => write!(f, ": {message}"),
            None => Ok(()),
        }
    }
}

struct RequestIdSuffix<'a>(&'a Option<String>);

impl fmt::Display for RequestIdSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, " [request id {id}]"),
            None => Ok(()),
        }
    }
}

struct FieldList<'a>(&'a [FieldError]);

impl fmt::Display for FieldList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: &str) -> Vec<String> {
        ErrorBody::parse(body.as_bytes())
            .into_field_errors()
            .iter()
            .map(|f| f.to_string())
            .collect()
    }

    #[test]
    fn the_laravel_422_shape() {
        let body =
            r#"{"message": "The given data was invalid.", "errors": {"email": ["The email has already been taken."]}}"#;
        assert_eq!(fields(body), ["email: The email has already been taken."]);
        assert_eq!(
            ErrorBody::parse(body.as_bytes()).message.as_deref(),
            Some("The given data was invalid.")
        );
    }

    #[test]
    fn the_error_true_422_shape_with_strings_arrays_and_nesting() {
        let body = r#"{"error": true, "errors": {"email": "Bad email", "phone_1": ["too long", "not a phone"],
            "associated_members": {"0": ["The selected associated_members.0 is invalid."]}}}"#;
        assert_eq!(
            fields(body),
            [
                "associated_members.0: The selected associated_members.0 is invalid.",
                "email: Bad email",
                "phone_1: too long",
                "phone_1: not a phone"
            ]
        );
    }

    #[test]
    fn other_error_shapes() {
        let flat = ErrorBody::parse(br#"{"error": true, "message": "Limit", "code": "RATE_LIMIT_EXCEEDED"}"#);
        assert_eq!(
            (flat.message.as_deref(), flat.code.as_deref()),
            (Some("Limit"), Some("RATE_LIMIT_EXCEEDED"))
        );
        let nested = ErrorBody::parse(
            br#"{"error": {"code": "RESOURCE_NOT_FOUND", "message": "No guest", "details": {"email": "x"}}}"#,
        );
        assert_eq!(nested.code.as_deref(), Some("RESOURCE_NOT_FOUND"));
        assert_eq!(nested.message.as_deref(), Some("No guest"));
        assert_eq!(nested.fields[0].to_string(), "email: x");
        assert_eq!(fields(r#"{"message": "Nope"}"#), ["Nope"]);
    }

    #[test]
    fn html_and_empty_bodies() {
        let html = ErrorBody::parse(b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>");
        assert_eq!(html.message.as_deref(), Some("502 Bad Gateway"));
        let untitled = ErrorBody::parse(b"<html><body>oops</body></html>");
        assert_eq!(untitled.message.as_deref(), Some("an HTML page of 30 bytes"));
        assert_eq!(ErrorBody::parse(b""), ErrorBody::default());
        assert_eq!(ErrorBody::parse(b"  \n"), ErrorBody::default());
        assert_eq!(fields(""), ["no reason given"]);
    }

    #[test]
    fn request_id_is_quoted() {
        let err = ApiError {
            kind: ApiErrorKind::Http {
                status: 500,
                message: Some("Server Error".into()),
            },
            status: Some(500),
            request_id: Some("req-123".into()),
            attempts: 6,
            unanswered: false,
        };
        assert_eq!(err.to_string(), "HTTP 500: Server Error [request id req-123]");
    }
}
