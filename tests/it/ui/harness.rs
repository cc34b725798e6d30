//! The browser harness proven on a page of the test's own (no `ui` involved): a failure here
//! is the machine or the harness (chromedriver, Chromium, downloads, screenshots), not the page.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::browser::Browser;

/// The page's own policy (TEAM.md), so the harness is proven under the CSP the page sends:
/// WebDriver's scripts and a same-origin script file still run under it.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const PAGE: &str = r#"<!doctype html><html><head><title>harness</title>
<script src="/app.js" defer></script></head><body>
<input type="file" data-test="file">
<p data-test="state">waiting</p>
<a data-test="results" href="/results.csv">results</a>
</body></html>"#;

/// Says which file was chosen, as the page says what it read.
const SCRIPT: &str = r#"document.querySelector('[data-test=file]').addEventListener('change', e => {
  const f = e.target.files[0];
  document.querySelector('[data-test=state]').textContent = 'chosen ' + f.name + ' ' + f.size;
});"#;

async fn serve() -> std::net::SocketAddr {
    let with_csp = |ty: &'static str, body: &'static str| {
        move || async move {
            (
                [(header::CONTENT_TYPE, ty), (header::CONTENT_SECURITY_POLICY, CSP)],
                body,
            )
                .into_response()
        }
    };
    let app = Router::new()
        .route("/", get(with_csp("text/html; charset=utf-8", PAGE)))
        .route("/app.js", get(with_csp("text/javascript", SCRIPT)))
        .route(
            "/results.csv",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/csv"),
                        (
                            header::CONTENT_DISPOSITION,
                            "attachment; filename=\"harness.results.csv\"",
                        ),
                    ],
                    "email,result_status\na@example.com,created\n",
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_drives_a_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let addr = serve().await;
    let browser = Browser::start(dir.path()).await;
    let wait = crate::util::BROWSER_STEP;
    browser.goto(&format!("http://{addr}/")).await;

    // A file chosen through the file input reaches the page's script.
    let upload = dir.path().join("guests.csv");
    std::fs::write(&upload, "email\nx@example.com\n").unwrap();
    let input = browser.test_element("file", wait).await;
    input.send_keys(upload.to_str().unwrap()).await.unwrap();
    let state = browser.test_element("state", wait).await;
    super::browser::poll("the page to see the chosen file", wait, || {
        let state = state.clone();
        async move { (state.text().await.ok()? == "chosen guests.csv 20").then_some(()) }
    })
    .await;

    // A download lands whole in the test's own folder.
    browser.click("results", wait).await;
    let saved = browser.downloaded("harness.results.csv", wait).await;
    assert_eq!(
        std::fs::read_to_string(saved).unwrap(),
        "email,result_status\na@example.com,created\n"
    );

    // Scripts run in the page under its CSP, and the page's text reads back.
    assert_eq!(browser.script("return document.title").await, "harness");
    assert!(browser.page_text().await.contains("chosen guests.csv"));

    // A screenshot is a PNG.
    assert!(browser.screenshot().await.starts_with(b"\x89PNG\r\n\x1a\n"));
    browser.close().await;
}
