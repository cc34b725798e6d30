//! Who may use the page: the person who started it, on this machine. Owns the key (printed
//! on stdout, good for one exchange: it buys one browser a session, whose own random value is
//! an HttpOnly, SameSite=Strict cookie named after the port), the `Host` check (a DNS
//! rebinding page names its own host), the `Sec-Fetch-Site` check (a browser says when another
//! site sent the request) and the `Origin` check on every state-changing request (a cross-site
//! form posts with its own origin, or none), and the headers every answer carries (a strict
//! Content-Security-Policy: nothing from outside the binary). Nothing else.
//!
//! As Datasette's root token and Jupyter's redirect file: the key in the address printed, in
//! the browser's history or in the opener's file opens nothing once used; another browser that
//! opens it is told to open the new link the server prints on its stdout.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Every answer's policy: scripts, styles and images from this server only, no frames, no
/// forms to elsewhere.
pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The answer to the key: the session's cookie is set, and the page's own document moves on to
/// `/`. Not a 303: after the opener's redirect file (a `file://` page) a redirect would still be
/// a cross-site navigation, which carries no SameSite=Strict cookie; a refresh from this page is
/// same-origin.
const WELCOME: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"0; url=/\"><title>tallyfy-guests</title></head>\
<body><p><a href=\"/\">Open the page</a></p></body></html>";

/// Told to a browser that opens a link already used.
const USED: &str = "This link has been used already: it opens the page once, in one browser. \
A new link is printed where tallyfy-guests ui runs (its newest line): open that one. \
If you opened the page before in this browser, it was closed since; the new link opens it again.";

/// Who prints a new link (the server's stdout; nothing in the tests).
pub(super) type Announce = Box<dyn Fn(&str) + Send + Sync>;

/// The keys and sessions of one server, on one port.
pub(super) struct Guard {
    port: u16,
    /// `tallyfy_guests_PORT`: cookies are not kept apart by port, so two servers (and any other
    /// service on 127.0.0.1) each have their own name.
    cookie: String,
    state: Mutex<Keys>,
    announce: Announce,
}

#[derive(Default)]
struct Keys {
    /// The key printed and not used yet.
    fresh: Option<String>,
    /// Keys used already, to tell a second use from a wrong key.
    used: Vec<String>,
    /// The sessions the keys bought, each a cookie's value.
    sessions: Vec<String>,
    /// The opener's redirect file: it holds the key, so it goes once the key is used.
    redirect_file: Option<std::path::PathBuf>,
}

/// What a request may do.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Go on to the route.
    Pass,
    /// `GET /?key=KEY` with the fresh key: a session, its cookie, and on to `/`.
    Login,
    /// A used key, from a browser that has a session already: on to `/`.
    Again,
    /// A used key, from a browser without a session: refused, and a new key printed.
    Used,
    /// Refused, with the status and the plain-text reason.
    Refuse(StatusCode, &'static str),
}

/// 32 random bytes (from the thread's CSPRNG, seeded by the OS), as hex: URL-safe and
/// cookie-safe as it stands.
fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Guard {
    /// A fresh key for `port`; `announce` prints a new link when a used one is opened again.
    pub(super) fn new(port: u16, announce: Announce) -> Guard {
        Guard {
            port,
            cookie: format!("tallyfy_guests_{port}"),
            state: Mutex::new(Keys {
                fresh: Some(random()),
                ..Keys::default()
            }),
            announce,
        }
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The address with the fresh key (a new one if the last was used).
    pub(super) fn url(&self) -> String {
        let mut keys = self.keys();
        let key = keys.fresh.get_or_insert_with(random).clone();
        format!("http://127.0.0.1:{}/?key={key}", self.port)
    }

    /// Remembers the opener's redirect file, removed once the key is used (or at the end).
    pub(super) fn redirect_file(&self, path: std::path::PathBuf) {
        self.keys().redirect_file = Some(path);
    }

    /// Removes the redirect file, if it is still there.
    pub(super) fn forget_redirect_file(&self) {
        if let Some(path) = self.keys().redirect_file.take() {
            let _ = std::fs::remove_file(path);
        }
    }

    /// The order matters: a foreign `Host` is told so (421) before anything about keys, so a
    /// rebinding page learns nothing; then the key; then where the request came from.
    fn verdict(&self, method: &Method, path: &str, query: Option<&str>, headers: &HeaderMap) -> Verdict {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        if !host.is_some_and(|host| self.ours(host)) {
            return Verdict::Refuse(
                StatusCode::MISDIRECTED_REQUEST,
                "this page answers only at 127.0.0.1 or localhost, on its own port",
            );
        }
        let given = query.and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("key=")));
        // The exchange may come from anywhere (the opener's file, a terminal, another app):
        // the key is what proves it.
        if method == Method::GET
            && path == "/"
            && let Some(given) = given
        {
            return self.exchange(given, headers);
        }
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        // A browser says where a request came from: from this page (`same-origin`) or from the
        // person (`none`: typed, a bookmark). Another site, another port on this machine
        // included (`same-site`), gets nothing; a client that is not a browser says nothing.
        if site.is_some_and(|site| !matches!(site, "same-origin" | "none")) {
            return Verdict::Refuse(
                StatusCode::FORBIDDEN,
                "refused: another site sent this request; open the page from the address tallyfy-guests ui printed",
            );
        }
        if !self.signed_in(headers) {
            return Verdict::Refuse(
                StatusCode::FORBIDDEN,
                "no key: open the newest link tallyfy-guests ui printed",
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

    /// `GET /?key=GIVEN`: the fresh key buys a session once; a used one is refused unless this
    /// browser has a session already.
    fn exchange(&self, given: &str, headers: &HeaderMap) -> Verdict {
        let mut keys = self.keys();
        if keys.fresh.as_deref().is_some_and(|key| same(given, key)) {
            if let Some(key) = keys.fresh.take() {
                keys.used.push(key);
            }
            return Verdict::Login;
        }
        if !keys.used.iter().any(|key| same(given, key)) {
            return Verdict::Refuse(
                StatusCode::FORBIDDEN,
                "wrong key: open the newest link tallyfy-guests ui printed",
            );
        }
        drop(keys);
        if self.signed_in(headers) {
            Verdict::Again
        } else {
            Verdict::Used
        }
    }

    /// `127.0.0.1:PORT` or `localhost:PORT`, exactly.
    fn ours(&self, host: &str) -> bool {
        let Some((name, port)) = host.rsplit_once(':') else {
            return false;
        };
        port == self.port.to_string() && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
    }

    /// Whether the request carries this server's cookie with a session's value.
    fn signed_in(&self, headers: &HeaderMap) -> bool {
        let keys = self.keys();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == self.cookie)
            .any(|(_, value)| keys.sessions.iter().any(|session| same(value, session)))
    }

    /// A new session, its cookie's header; the redirect file has served its purpose.
    fn login(&self) -> String {
        let session = random();
        self.keys().sessions.push(session.clone());
        self.forget_redirect_file();
        format!("{}={session}; HttpOnly; SameSite=Strict; Path=/", self.cookie)
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
            let cookie = guard.login();
            let mut response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                WELCOME,
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Verdict::Again => (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response(),
        Verdict::Used => {
            (guard.announce)(&guard.url());
            tracing::warn!(
                "the page's link was opened again by a browser without the page: a new link is printed on stdout"
            );
            refuse(StatusCode::FORBIDDEN, USED)
        }
        Verdict::Refuse(status, why) => refuse(status, why),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Not `no-referrer`: under it a browser sends `Origin: null` with the page's own forms,
    // which the Origin check must refuse. A key in an address is dead once used.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

fn refuse(status: StatusCode, why: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], why).into_response()
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

    /// A guard on port 8920 whose key is `k3y`, with one session, `s3ss`.
    fn guard() -> Guard {
        let guard = Guard::new(8920, Box::new(|_| {}));
        let mut keys = guard.keys();
        keys.fresh = Some("k3y".into());
        keys.sessions.push("s3ss".into());
        drop(keys);
        guard
    }

    const COOKIE_OK: &str = "tallyfy_guests_8920=s3ss";

    fn is(verdict: Verdict, status: StatusCode) -> bool {
        matches!(verdict, Verdict::Refuse(s, _) if s == status)
    }

    #[test]
    fn the_host_is_checked_before_the_key() {
        let guard = guard();
        let get = |h: &HeaderMap| guard.verdict(&Method::GET, "/runs", None, h);
        for bad in [
            headers(&[("host", "evil.example:8920"), ("cookie", COOKIE_OK)]),
            headers(&[("host", "127.0.0.1:8921"), ("cookie", COOKIE_OK)]),
            headers(&[("cookie", COOKIE_OK)]),
            headers(&[("host", "evil.example:8920")]),
        ] {
            assert!(is(get(&bad), StatusCode::MISDIRECTED_REQUEST), "{bad:?}");
        }
        assert_eq!(
            get(&headers(&[("host", "127.0.0.1:8920"), ("cookie", COOKIE_OK)])),
            Verdict::Pass
        );
        assert_eq!(
            get(&headers(&[
                ("host", "localhost:8920"),
                ("cookie", "a=b; tallyfy_guests_8920=s3ss")
            ])),
            Verdict::Pass
        );
        for bad in [
            "tallyfy_guests_8920=s3sz",
            // Another port's cookie, and the key itself, are no session.
            "tallyfy_guests_8921=s3ss",
            "tallyfy_guests_8920=k3y",
        ] {
            let h = headers(&[("host", "localhost:8920"), ("cookie", bad)]);
            assert!(is(get(&h), StatusCode::FORBIDDEN), "{bad}");
        }
        assert!(is(get(&headers(&[("host", "localhost:8920")])), StatusCode::FORBIDDEN));
    }

    #[test]
    fn the_key_is_exchanged_once() {
        let guard = guard();
        let host = headers(&[("host", "127.0.0.1:8920")]);
        let with_session = headers(&[("host", "127.0.0.1:8920"), ("cookie", COOKIE_OK)]);
        // The key opens only the front door; elsewhere a session is needed.
        assert!(is(
            guard.verdict(&Method::GET, "/runs/x", Some("key=k3y"), &host),
            StatusCode::FORBIDDEN
        ));
        assert!(is(
            guard.verdict(&Method::GET, "/", Some("key=k3"), &host),
            StatusCode::FORBIDDEN
        ));
        // Even from a file:// page (the opener's redirect file): the key is what proves it.
        let from_file = headers(&[("host", "127.0.0.1:8920"), ("sec-fetch-site", "cross-site")]);
        assert_eq!(
            guard.verdict(&Method::GET, "/", Some("key=k3y"), &from_file),
            Verdict::Login
        );
        assert_eq!(guard.verdict(&Method::GET, "/", Some("key=k3y"), &host), Verdict::Used);
        assert_eq!(
            guard.verdict(&Method::GET, "/", Some("key=k3y"), &with_session),
            Verdict::Again
        );
        // A new key, printed, is good once in its turn; the old one stays used.
        let url = guard.url();
        let fresh = url.split("key=").nth(1).unwrap().to_string();
        assert_ne!(fresh, "k3y");
        assert_eq!(guard.url(), url, "one new key at a time");
        let query = format!("key={fresh}");
        assert_eq!(guard.verdict(&Method::GET, "/", Some(&query), &host), Verdict::Login);
        assert_eq!(guard.verdict(&Method::GET, "/", Some(&query), &host), Verdict::Used);
        assert_eq!(guard.verdict(&Method::GET, "/", Some("key=k3y"), &host), Verdict::Used);
    }

    #[test]
    fn a_session_is_a_random_value_under_the_ports_name() {
        let guard = guard();
        let cookie = guard.login();
        let (pair, flags) = cookie.split_once(';').unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        assert_eq!(name, "tallyfy_guests_8920");
        assert_eq!(value.len(), 64);
        assert_ne!(value, "k3y");
        assert_eq!(flags.trim(), "HttpOnly; SameSite=Strict; Path=/");
        let h = headers(&[("host", "127.0.0.1:8920"), ("cookie", pair)]);
        assert_eq!(guard.verdict(&Method::GET, "/", None, &h), Verdict::Pass);
    }

    #[test]
    fn another_site_is_refused_and_writes_need_the_pages_own_origin() {
        let guard = guard();
        let request = |method: Method, origin: Option<&str>, site: Option<&str>| {
            let mut pairs = vec![("host", "127.0.0.1:8920"), ("cookie", COOKIE_OK)];
            pairs.extend(origin.map(|o| ("origin", o)));
            pairs.extend(site.map(|s| ("sec-fetch-site", s)));
            guard.verdict(&method, "/runs", None, &headers(&pairs))
        };
        let own = Some("http://127.0.0.1:8920");
        assert_eq!(request(Method::POST, own, None), Verdict::Pass);
        assert_eq!(request(Method::POST, own, Some("same-origin")), Verdict::Pass);
        assert_eq!(
            request(Method::POST, Some("http://localhost:8920"), None),
            Verdict::Pass
        );
        assert_eq!(request(Method::GET, None, Some("none")), Verdict::Pass);
        for site in ["cross-site", "same-site"] {
            assert!(
                is(request(Method::POST, own, Some(site)), StatusCode::FORBIDDEN),
                "{site}"
            );
            assert!(
                is(request(Method::GET, None, Some(site)), StatusCode::FORBIDDEN),
                "{site}"
            );
        }
        for bad in [
            None,
            Some("null"),
            Some("http://evil.example"),
            Some("https://127.0.0.1:8920"),
            Some("http://127.0.0.1:8921"),
        ] {
            assert!(is(request(Method::POST, bad, None), StatusCode::FORBIDDEN), "{bad:?}");
        }
    }

    #[test]
    fn a_key_is_64_hex_characters_and_fresh() {
        let (a, b) = (Guard::new(1, Box::new(|_| {})), Guard::new(1, Box::new(|_| {})));
        let key = |g: &Guard| g.keys().fresh.clone().unwrap();
        assert_eq!(key(&a).len(), 64);
        assert!(key(&a).bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(key(&a), key(&b));
        assert_eq!(a.url(), format!("http://127.0.0.1:1/?key={}", key(&a)));
    }
}
