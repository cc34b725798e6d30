//! Who may use the page: the person who started it, on this machine. Owns the key (printed
//! once on stdout, exchanged for an HttpOnly, SameSite=Strict cookie), the `Host` check (a DNS
//! rebinding page names its own host), the `Origin` check on every state-changing request (a
//! cross-site form posts with its own origin, or none), and the headers every answer carries
//! (a strict Content-Security-Policy: nothing from outside the binary). Nothing else.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie the key is exchanged for.
pub(super) const COOKIE: &str = "tallyfy_guests_key";

/// Every answer's policy: scripts, styles and images from this server only, no frames, no
/// forms to elsewhere.
pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The key and the port it was printed for.
pub(super) struct Guard {
    key: String,
    port: u16,
}

/// What a request may do.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Go on to the route.
    Pass,
    /// `GET /?key=KEY`: set the cookie, then a 303 to `/` (the key leaves the address bar).
    Login,
    /// Refused, with the status and the plain-text reason.
    Refuse(StatusCode, &'static str),
}

impl Guard {
    /// A fresh key of 32 random bytes (from the thread's CSPRNG, seeded by the OS), as hex:
    /// URL-safe and cookie-safe as it stands.
    pub(super) fn new(port: u16) -> Guard {
        let mut bytes = [0u8; 32];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
        let key = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Guard { key, port }
    }

    #[cfg(test)]
    fn with_key(key: &str, port: u16) -> Guard {
        Guard { key: key.into(), port }
    }

    /// The page's own address.
    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/?key={}", self.port, self.key)
    }

    /// The order matters: a foreign `Host` is told so (421) before anything about keys, so a
    /// rebinding page learns nothing; then the key; then, for a write, where it came from.
    fn verdict(&self, method: &Method, path: &str, query: Option<&str>, headers: &HeaderMap) -> Verdict {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        if !host.is_some_and(|host| self.ours(host)) {
            return Verdict::Refuse(
                StatusCode::MISDIRECTED_REQUEST,
                "this page answers only at 127.0.0.1 or localhost, on its own port",
            );
        }
        let given = query.and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("key="))
                .map(str::to_string)
        });
        if method == Method::GET && path == "/" && given.is_some() {
            return match given.is_some_and(|given| same(&given, &self.key)) {
                true => Verdict::Login,
                false => Verdict::Refuse(
                    StatusCode::FORBIDDEN,
                    "wrong key: open the URL printed by tallyfy-guests ui",
                ),
            };
        }
        if !self.cookie(headers) {
            return Verdict::Refuse(
                StatusCode::FORBIDDEN,
                "no key: open the URL tallyfy-guests ui printed on its first line",
            );
        }
        let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if writes {
            let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
            let ours = origin.is_some_and(|origin| origin.strip_prefix("http://").is_some_and(|host| self.ours(host)));
            if !ours {
                return Verdict::Refuse(
                    StatusCode::FORBIDDEN,
                    "refused: this request did not come from the page",
                );
            }
        }
        Verdict::Pass
    }

    /// `127.0.0.1:PORT` or `localhost:PORT`, exactly.
    fn ours(&self, host: &str) -> bool {
        let Some((name, port)) = host.rsplit_once(':') else {
            return false;
        };
        port == self.port.to_string() && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
    }

    fn cookie(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| name == COOKIE && same(value, &self.key))
    }
}

/// Compares in time that does not depend on where the first difference is.
fn same(given: &str, key: &str) -> bool {
    given.len() == key.len() && given.bytes().zip(key.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The middleware: the checks above, then the headers every answer carries.
pub(super) async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let verdict = guard.verdict(
        request.method(),
        request.uri().path(),
        request.uri().query(),
        request.headers(),
    );
    let mut response = match verdict {
        Verdict::Pass => next.run(request).await,
        Verdict::Login => {
            let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", guard.key);
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Verdict::Refuse(status, why) => {
            (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], why).into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Not `no-referrer`: under it a browser sends `Origin: null` with the page's own forms,
    // which the Origin check must refuse. The key never stays in an address to leak.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    const COOKIE_OK: &str = "tallyfy_guests_key=k3y";

    #[test]
    fn the_host_is_checked_before_the_key() {
        let guard = Guard::with_key("k3y", 8920);
        let get = |h: &HeaderMap| guard.verdict(&Method::GET, "/runs", None, h);
        let is = |v: Verdict, status: StatusCode| matches!(v, Verdict::Refuse(s, _) if s == status);
        assert!(is(
            get(&headers(&[("host", "evil.example:8920"), ("cookie", COOKIE_OK)])),
            StatusCode::MISDIRECTED_REQUEST
        ));
        assert!(is(
            get(&headers(&[("host", "127.0.0.1:8921"), ("cookie", COOKIE_OK)])),
            StatusCode::MISDIRECTED_REQUEST
        ));
        assert!(is(
            get(&headers(&[("cookie", COOKIE_OK)])),
            StatusCode::MISDIRECTED_REQUEST
        ));
        assert!(is(
            get(&headers(&[("host", "evil.example:8920")])),
            StatusCode::MISDIRECTED_REQUEST
        ));
        assert_eq!(
            get(&headers(&[("host", "127.0.0.1:8920"), ("cookie", COOKIE_OK)])),
            Verdict::Pass
        );
        assert_eq!(
            get(&headers(&[
                ("host", "localhost:8920"),
                ("cookie", "a=b; tallyfy_guests_key=k3y")
            ])),
            Verdict::Pass
        );
        assert!(is(
            get(&headers(&[
                ("host", "localhost:8920"),
                ("cookie", "tallyfy_guests_key=k3z")
            ])),
            StatusCode::FORBIDDEN
        ));
        assert!(is(get(&headers(&[("host", "localhost:8920")])), StatusCode::FORBIDDEN));
    }

    #[test]
    fn the_key_is_exchanged_only_when_right() {
        let guard = Guard::with_key("k3y", 8920);
        let host = headers(&[("host", "127.0.0.1:8920")]);
        assert_eq!(guard.verdict(&Method::GET, "/", Some("key=k3y"), &host), Verdict::Login);
        assert!(matches!(
            guard.verdict(&Method::GET, "/", Some("key=k3"), &host),
            Verdict::Refuse(StatusCode::FORBIDDEN, _)
        ));
        // The key opens only the front door; elsewhere the cookie is needed.
        assert!(matches!(
            guard.verdict(&Method::GET, "/runs/x", Some("key=k3y"), &host),
            Verdict::Refuse(StatusCode::FORBIDDEN, _)
        ));
    }

    #[test]
    fn writes_need_the_pages_own_origin() {
        let guard = Guard::with_key("k3y", 8920);
        let post = |origin: Option<&str>| {
            let mut pairs = vec![("host", "127.0.0.1:8920"), ("cookie", COOKIE_OK)];
            if let Some(origin) = origin {
                pairs.push(("origin", origin));
            }
            guard.verdict(&Method::POST, "/runs", None, &headers(&pairs))
        };
        assert_eq!(post(Some("http://127.0.0.1:8920")), Verdict::Pass);
        assert_eq!(post(Some("http://localhost:8920")), Verdict::Pass);
        for bad in [
            None,
            Some("null"),
            Some("http://evil.example"),
            Some("https://127.0.0.1:8920"),
            Some("http://127.0.0.1:8921"),
        ] {
            assert!(
                matches!(post(bad), Verdict::Refuse(StatusCode::FORBIDDEN, _)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_key_is_64_hex_characters_and_fresh() {
        let (a, b) = (Guard::new(1), Guard::new(1));
        assert_eq!(a.key.len(), 64);
        assert!(a.key.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a.key, b.key);
        assert_eq!(a.url(), format!("http://127.0.0.1:1/?key={}", a.key));
    }
}
