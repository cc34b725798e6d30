//! The page's guarantees on a shared machine (issue 25, "Safe on a shared machine"; issue 33
//! point 5), over plain HTTP against the real `ui` binary: no key, a foreign `Host`, another
//! site's request, a cross-origin POST and an upload over the cap are refused; the key buys
//! one session once, under a cookie of the port's own that is not the key; the browser is
//! opened through a private redirect file, never with the key on a command line; the API token
//! is in no answer, whether configured or typed into the page, and never on disk.

use std::io::Read;
use std::time::Duration;

use reqwest::StatusCode;
use tallyfy_guests::sandbox::SandboxOptions;

use super::server::{Answer, Http, Ui, multipart, state_of};
use super::{FIXED_EMAIL, INVALID_ROW, mixed_rows, seeded, workbook};

/// TEAM.md's policy, on every answer, refusals included.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Longest a preview, an import or an undo of these few rows may take.
const JOB: Duration = crate::util::GENEROUS;

fn refused(answer: &Answer, status: StatusCode, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.text());
    assert!(
        answer.header("content-type").starts_with("text/plain"),
        "{what}: plain text"
    );
    assert!(!answer.text().trim().is_empty(), "{what}: says why");
    assert_eq!(answer.header("content-security-policy"), CSP, "{what}");
}

/// Run folders the server keeps under `--dir`.
fn run_folders(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("runs")).map_or(0, |entries| {
        entries.filter_map(Result::ok).filter(|e| e.path().is_dir()).count()
    })
}

#[tokio::test]
async fn without_the_key_every_route_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ui = Ui::start(dir.path(), None, &[]);
    let mut http = ui.http();
    for path in [
        "/",
        "/runs/x",
        "/runs/x/events",
        "/runs/x/results.csv",
        "/assets/page.js",
        "/?key=wrong",
    ] {
        let answer = http.get(path).await;
        refused(answer, StatusCode::FORBIDDEN, &format!("GET {path} without the key"));
        assert!(
            answer.header("set-cookie").is_empty(),
            "GET {path}: no cookie without the key"
        );
    }
    let (content_type, body) = multipart("guests.csv", b"email\na@example.com\n");
    let request = http
        .client()
        .post(format!("{}/runs", ui.base))
        .header("origin", ui.base.clone())
        .header("content-type", content_type)
        .body(body);
    refused(
        http.send(request).await,
        StatusCode::FORBIDDEN,
        "POST /runs without the key",
    );
    assert_eq!(run_folders(dir.path()), 0, "nothing kept from a refused upload");
    // A cookie with another value is no key either.
    let request = http
        .client()
        .get(format!("{}/", ui.base))
        .header("cookie", format!("tallyfy_guests_{}=0000", ui.port));
    refused(http.send(request).await, StatusCode::FORBIDDEN, "a wrong cookie");

    // The key itself: exchanged for the cookie, then every route answers.
    http.login().await;
    let home = http.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text());
    assert_eq!(home.header("content-security-policy"), CSP);
}

#[tokio::test]
async fn a_foreign_host_is_refused_before_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let ui = Ui::start(dir.path(), None, &[]);
    let mut http = ui.http();
    http.login().await;
    let cookie = http.seen[0].header("set-cookie").split(';').next().unwrap().to_string();
    let key = ui.url.split("key=").nth(1).unwrap().to_string();
    let other_port = format!("127.0.0.1:{}", ui.port.wrapping_add(1));
    // A DNS-rebinding page reaches the port under its own name; the key does not help it.
    for host in [
        "evil.example",
        "evil.example:80",
        &format!("evil.example:{}", ui.port),
        &other_port,
        "127.0.0.1",
    ] {
        for (path, with_cookie) in [("/", true), (&*format!("/?key={key}"), false)] {
            let mut request = http.client().get(format!("{}{path}", ui.base)).header("host", host);
            if with_cookie {
                request = request.header("cookie", cookie.clone());
            }
            let answer = http.send(request).await;
            refused(answer, StatusCode::MISDIRECTED_REQUEST, &format!("Host {host}, {path}"));
            assert!(answer.header("set-cookie").is_empty(), "Host {host}: no cookie");
        }
    }
    // localhost with the port is the page itself.
    let request = http
        .client()
        .get(format!("{}/", ui.base))
        .header("host", format!("localhost:{}", ui.port))
        .header("cookie", cookie);
    assert_eq!(http.send(request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_cross_origin_post_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let mut http = ui.http();
    http.login().await;
    let cookie = http.seen[0].header("set-cookie").split(';').next().unwrap().to_string();
    let sheet = dir.path().join("guests.xlsx");
    workbook(&sheet, &mixed_rows());
    let bytes = std::fs::read(&sheet).unwrap();
    let other_port = format!("http://127.0.0.1:{}", ui.port.wrapping_add(1));
    let foreign = [
        "https://evil.example",
        "null",
        &other_port,
        &format!("https://127.0.0.1:{}", ui.port),
    ];

    // An upload from another site, or with no Origin at all, keeps nothing.
    for origin in foreign.iter().map(|o| Some(*o)).chain([None]) {
        let (content_type, body) = multipart("guests.xlsx", &bytes);
        let mut request = http
            .client()
            .post(format!("{}/runs", ui.base))
            .header("cookie", cookie.clone())
            .header("content-type", content_type)
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        refused(
            http.send(request).await,
            StatusCode::FORBIDDEN,
            &format!("upload from {origin:?}"),
        );
    }
    assert_eq!(run_folders(dir.path()), 0, "nothing kept from a cross-origin upload");

    // The page's own upload works, from either of its names; its send and confirm do not when
    // posted from elsewhere, so nothing reaches the organization.
    let localhost = format!("http://localhost:{}", ui.port);
    let (content_type, body) = multipart("guests.xlsx", &bytes);
    let request = http
        .client()
        .post(format!("{}/runs", ui.base))
        .header("cookie", cookie.clone())
        .header("origin", localhost)
        .header("content-type", content_type)
        .body(body);
    let id = http.send(request).await.run_id();
    let preview = http.until_finished(&id, "", JOB).await;
    for action in ["send", "confirm", "fix", "skip", "undo", "stop"] {
        for origin in foreign {
            let request = http
                .client()
                .post(format!("{}/runs/{id}/{action}", ui.base))
                .header("cookie", cookie.clone())
                .header("origin", origin)
                .form(&[("row", "6"), ("field", "email"), ("value", "x@example.com")]);
            refused(
                http.send(request).await,
                StatusCode::FORBIDDEN,
                &format!("{action} from {origin}"),
            );
        }
    }
    let page = http.get(&format!("/runs/{id}")).await.text();
    assert_eq!(state_of(&page), state_of(&preview), "the run is as its preview left it");
    assert!(!page.contains("data-test=\"confirm\""), "no confirmation was asked");
    let posts = sandbox.request_log().iter().filter(|l| !l.starts_with("GET ")).count();
    assert_eq!(posts, 0, "nothing but reads reached the organization");
}

/// Every answer, header and body, and every part of a zipped answer (an .xlsx), holds no
/// `token`.
fn assert_not_in_answers(seen: &[Answer], token: &str) {
    assert!(seen.len() > 10, "a whole flow was read ({} answers)", seen.len());
    for (i, answer) in seen.iter().enumerate() {
        for (name, value) in &answer.headers {
            assert!(
                !value.as_bytes().windows(token.len()).any(|w| w == token.as_bytes()),
                "answer {i}: header {name}"
            );
        }
        let mut texts = vec![answer.body.clone()];
        if answer.body.starts_with(b"PK\x03\x04") {
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&answer.body)).unwrap();
            for part in 0..zip.len() {
                let mut text = Vec::new();
                zip.by_index(part).unwrap().read_to_end(&mut text).unwrap();
                texts.push(text);
            }
        }
        for text in texts {
            let found = text.windows(token.len()).any(|w| w == token.as_bytes());
            assert!(!found, "answer {i} ({}) holds the token", answer.status);
        }
    }
}

/// No file under `dir` holds `token`.
fn assert_not_on_disk(dir: &std::path::Path, token: &str) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            assert_not_on_disk(&path, token);
        } else if let Ok(bytes) = std::fs::read(&path) {
            let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
            assert!(!found, "{} holds the token", path.display());
        }
    }
}

/// A whole flow over HTTP: the runs list, an upload, its page and events, the preview, a fix,
/// send, confirm, every download, undo, and the assets; every answer is recorded in `http.seen`.
async fn whole_flow(http: &mut Http, sheet: &std::path::Path) {
    http.get("/").await;
    let bytes = std::fs::read(sheet).unwrap();
    let id = http.upload("guests.xlsx", &bytes).await.run_id();
    http.events(&id, Duration::from_millis(500)).await;
    let preview = http.until_finished(&id, "", JOB).await;
    let row = INVALID_ROW.to_string();
    let fix = [("row", row.as_str()), ("field", "email"), ("value", FIXED_EMAIL)];
    let mut state = state_of(&preview);
    for (action, form) in [
        ("fix", &fix[..]),
        ("send", &[]),
        ("confirm", &[]),
        ("undo", &[]),
        ("confirm", &[]),
    ] {
        let answer = http.post_form(&format!("/runs/{id}/{action}"), form).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{action}: {}", answer.text());
        if action == "send" || action == "undo" {
            // The engine plans first, then asks its question.
            http.until_asked(&id, JOB).await;
        } else {
            // A new job: its preview, import or undo, to its end.
            state = state_of(&http.until_finished(&id, &state, JOB).await);
        }
        for file in [
            "results.csv",
            "results.xlsx",
            "corrected.csv",
            "corrected.xlsx",
            "preview.csv",
            "undo.csv",
        ] {
            http.get(&format!("/runs/{id}/{file}")).await;
        }
    }
    for path in ["/", "/assets/page.js", "/assets/page.css"] {
        http.get(path).await;
    }
}

const TOKEN: &str = "tok-page-must-never-echo-7Hq2vX9fX1pL";

#[tokio::test]
async fn a_configured_token_is_in_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions {
        token: TOKEN.into(),
        ..SandboxOptions::default()
    }));
    let sheet = dir.path().join("guests.xlsx");
    workbook(&sheet, &mixed_rows());
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let mut http = ui.http();
    http.login().await;
    whole_flow(&mut http, &sheet).await;
    assert!(
        sandbox.stats().created > 0,
        "the flow reached the organization with the token"
    );
    assert_not_in_answers(&http.seen, TOKEN);
    assert_not_on_disk(&dir.path().join("runs"), TOKEN);
    assert!(!ui.stderr().contains(TOKEN), "the server's log holds the token");
}

#[tokio::test]
async fn a_token_typed_into_the_page_is_kept_in_memory_only() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions {
        token: TOKEN.into(),
        ..SandboxOptions::default()
    }));
    let sheet = dir.path().join("guests.xlsx");
    workbook(&sheet, &mixed_rows());
    // The API and organization configured, no credentials: the page asks for a token.
    let mut command = crate::util::process_against(&sandbox);
    command.env_remove("TALLYFY_ACCESS_TOKEN").env("HOME", dir.path());
    let ui = Ui::spawn(dir.path(), command, &[]);
    let mut http = ui.http();
    http.login().await;
    let home = http.get("/").await;
    assert!(
        home.text().contains("name=\"token\""),
        "the page asks for a token: {}",
        home.text()
    );
    let answer = http.post_form("/token", &[("token", TOKEN)]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    whole_flow(&mut http, &sheet).await;
    assert!(
        sandbox.stats().created > 0,
        "the flow reached the organization with the token"
    );
    assert_not_in_answers(&http.seen, TOKEN);
    assert_not_on_disk(dir.path(), TOKEN);
    assert!(!ui.stderr().contains(TOKEN), "the server's log holds the token");
}

#[tokio::test]
async fn an_upload_over_the_cap_is_refused_cleanly() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let ui = Ui::start(dir.path(), None, &[]);
    let mut http = ui.http();
    http.login().await;
    let cookie = http.seen[0].header("set-cookie").split(';').next().unwrap().to_string();
    // A browser declares a form's size: one over the cap (256 MiB, as a workbook file) is told
    // so at once, before the server reads it. The test sends its first bytes only.
    let declared: u64 = (256 + 1) * 1024 * 1024;
    let (content_type, body) = multipart("huge.xlsx", &[b'x'; 4096]);
    let head = format!(
        "POST /runs HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\norigin: {base}\r\ncookie: {cookie}\r\n\
         content-type: {ct}\r\ncontent-length: {declared}\r\n\r\n",
        port = ui.port,
        base = ui.base,
        ct = content_type.to_str().unwrap()
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", ui.port)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let _ = stream.write_all(&body[..body.len() - 64]).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(crate::util::BROWSER_STEP, async {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_string)
                    })
                    .and_then(|n| n.trim().parse::<usize>().ok());
                if length.is_some_and(|n| body.len() >= n) {
                    break;
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to an oversized upload within 20 s");
    let text = String::from_utf8_lossy(&answer).into_owned();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("256 MiB"), "the answer says what the cap is: {text}");
    assert_eq!(run_folders(dir.path()), 0, "nothing kept of a refused upload");
    // The server carries on.
    assert_eq!(http.get("/").await.status, StatusCode::OK);
}

/// The `name=value` of the answer's `Set-Cookie`.
fn cookie_of(answer: &Answer) -> String {
    answer
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_key_buys_one_session_once_and_a_second_browser_is_told_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let ui = Ui::start(dir.path(), None, &[]);
    let key = ui.url.split("key=").nth(1).unwrap().to_string();
    let mut first = ui.http();
    first.login().await;
    let cookie = cookie_of(&first.seen[0]);
    let (name, value) = cookie.split_once('=').unwrap();
    assert_eq!(
        name,
        format!("tallyfy_guests_{}", ui.port),
        "the cookie is named for its port"
    );
    assert!(
        value.len() >= 43 && !value.contains(&key) && !key.contains(value),
        "{cookie}"
    );
    assert_eq!(first.get("/").await.status, StatusCode::OK);

    // Another browser (no session) opens the same link: refused, told where the new link is,
    // and the server prints one.
    let mut second = ui.http();
    let answer = second.get(&ui.url.replace(&ui.base, "")).await;
    refused(answer, StatusCode::FORBIDDEN, "a second use of the link");
    assert!(answer.header("set-cookie").is_empty(), "no session for a used key");
    let told = answer.text();
    assert!(told.contains("used already") && told.contains("new link"), "{told}");
    crate::util::wait_for("a new link on stdout", || ui.lines().len() >= 2);
    let fresh = ui.lines()[1].clone();
    assert!(fresh.starts_with(&format!("{}/?key=", ui.base)), "{fresh}");
    assert_ne!(fresh, ui.url);
    // The new link buys the second browser its own session, once.
    let answer = second.send(second.client().get(&fresh)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let second_cookie = cookie_of(answer);
    assert_ne!(second_cookie, cookie, "a session each");
    let answer = second.get(&fresh.replace(&ui.base, "")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "the new link is used now too");

    // The first browser opening its link again goes on to the page, with no new session.
    let answer = first.get(&ui.url.replace(&ui.base, "")).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(answer.header("location"), "/");
    assert!(answer.header("set-cookie").is_empty());
    // No cookie the server ever set holds a key.
    for answer in first.seen.iter().chain(&second.seen) {
        let set = answer.header("set-cookie");
        assert!(
            !set.contains(&key) && !set.contains(fresh.split("key=").nth(1).unwrap()),
            "{set}"
        );
    }
}

#[tokio::test]
async fn two_servers_keep_their_sessions_apart() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (Ui::start(a_dir.path(), None, &[]), Ui::start(b_dir.path(), None, &[]));
    let (mut a_http, mut b_http) = (a.http(), b.http());
    a_http.login().await;
    b_http.login().await;
    let (a_cookie, b_cookie) = (cookie_of(&a_http.seen[0]), cookie_of(&b_http.seen[0]));
    let name = |cookie: &str| cookie.split('=').next().unwrap().to_string();
    assert_ne!(
        name(&a_cookie),
        name(&b_cookie),
        "a browser keeps both: one does not replace the other"
    );
    // A browser sends both to each (cookies are not kept apart by port): each server takes its
    // own, and the other's is no session.
    // (A client not logged in itself: it sends only the cookies given here.)
    let both = format!("{a_cookie}; {b_cookie}");
    for ui in [&a, &b] {
        let mut http = ui.http();
        let request = http
            .client()
            .get(format!("{}/", ui.base))
            .header("cookie", both.clone());
        assert_eq!(http.send(request).await.status, StatusCode::OK);
    }
    let mut http = a.http();
    let request = http
        .client()
        .get(format!("{}/", a.base))
        .header("cookie", b_cookie.clone());
    refused(
        http.send(request).await,
        StatusCode::FORBIDDEN,
        "another server's session",
    );
    let same_value = format!("{}={}", name(&a_cookie), b_cookie.split_once('=').unwrap().1);
    let request = http.client().get(format!("{}/", a.base)).header("cookie", same_value);
    refused(
        http.send(request).await,
        StatusCode::FORBIDDEN,
        "another server's session under this name",
    );
}

#[tokio::test]
async fn another_sites_requests_are_refused_even_with_the_session_and_the_origin() {
    let dir = tempfile::tempdir().unwrap();
    let ui = Ui::start(dir.path(), None, &[]);
    let mut http = ui.http();
    http.login().await;
    let cookie = cookie_of(&http.seen[0]);
    for site in ["cross-site", "same-site"] {
        let request = http
            .client()
            .post(format!("{}/runs/x/stop", ui.base))
            .header("cookie", cookie.clone())
            .header("origin", ui.base.clone())
            .header("sec-fetch-site", site);
        refused(
            http.send(request).await,
            StatusCode::FORBIDDEN,
            &format!("a {site} POST"),
        );
        let request = http
            .client()
            .get(format!("{}/", ui.base))
            .header("cookie", cookie.clone())
            .header("sec-fetch-site", site);
        refused(
            http.send(request).await,
            StatusCode::FORBIDDEN,
            &format!("a {site} GET"),
        );
    }
    // The page's own requests, and what the person opens, are served.
    for site in ["same-origin", "none"] {
        let request = http
            .client()
            .get(format!("{}/", ui.base))
            .header("cookie", cookie.clone())
            .header("sec-fetch-site", site);
        assert_eq!(http.send(request).await.status, StatusCode::OK, "{site}");
    }
    let request = http
        .client()
        .post(format!("{}/runs/x/stop", ui.base))
        .header("cookie", cookie)
        .header("origin", ui.base.clone())
        .header("sec-fetch-site", "same-origin");
    assert_eq!(http.send(request).await.status, StatusCode::SEE_OTHER);
}

/// A fake `xdg-open` in `dir/bin` that writes its arguments, one a line, to `dir/opened`.
pub fn fake_opener(dir: &std::path::Path) -> std::ffi::OsString {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("xdg-open");
    let record = dir.join("opened");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{0}.tmp'\nmv '{0}.tmp' '{0}'\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(&path));
    std::env::join_paths(paths).unwrap()
}

/// Starts the built-in sandbox's `ui` with a display and the fake opener; the redirect file it
/// was given, once it was called.
pub fn ui_opening(dir: &std::path::Path) -> (Ui, std::path::PathBuf) {
    let mut command = crate::util::process_against_nothing();
    command
        .env("PATH", fake_opener(dir))
        .env("DISPLAY", ":99")
        .env_remove("WAYLAND_DISPLAY");
    let ui = Ui::launch(dir, command, &["--sandbox"]);
    let record = dir.join("opened");
    crate::util::wait_for("the opener to be called", || record.exists());
    let args: Vec<String> = std::fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let key = ui.url.split("key=").nth(1).unwrap();
    assert!(
        !args.iter().any(|a| a.contains(key)),
        "the key is on the opener's command line: {args:?}"
    );
    assert_eq!(args.len(), 1, "{args:?}");
    (ui, std::path::PathBuf::from(&args[0]))
}

#[tokio::test]
async fn the_browser_is_opened_through_a_private_redirect_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (ui, file) = ui_opening(dir.path());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600, "{}", file.display());
    assert_eq!(mode(file.parent().unwrap()), 0o700, "{}", file.display());
    let text = std::fs::read_to_string(&file).unwrap();
    let refresh = format!("http-equiv=\"refresh\" content=\"0; url={}\"", ui.url);
    assert!(text.contains(&refresh), "the file leads to the page: {text}");
    // It leads to the page, once; then the file with the key is gone.
    let mut http = ui.http();
    http.login().await;
    assert_eq!(http.get("/").await.status, StatusCode::OK);
    crate::util::wait_for("the redirect file to go", || !file.exists());
}

/// The redirect file in a real browser: Chromium opens it as the person's browser would, and
/// lands on the page with a session, the key gone from the address bar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_given_the_redirect_file_lands_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let (ui, file) = ui_opening(dir.path());
    let browser = super::browser::Browser::start(dir.path()).await;
    browser.goto(&format!("file://{}", file.display())).await;
    // The upload's input is the runs page's: the session holds after the refresh.
    browser.test_element("file", crate::util::BROWSER_STEP).await;
    let url = browser.client.current_url().await.unwrap();
    assert_eq!((url.path(), url.query()), ("/", None), "{url}");
    assert_eq!(url.port(), Some(ui.port));
    browser.close().await;
}
