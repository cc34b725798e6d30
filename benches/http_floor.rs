//! The HTTP stack's own cost, the yardstick for case 1's CPU per row: the creates the import
//! would send for the same file, from a bare loop with no reading of answers beyond the body,
//! no results, no pacing. Once with reqwest (the client the tool is built on, set up as the
//! tool sets it up), once with hyper-util's pooled client (the core reqwest wraps, without its
//! layers), and once with hyper's HTTP/1 connections alone (no pool, no tower layers, no URL
//! parsed again per request). It runs as a child process, measured as the tool is.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tallyfy_guests::api::NewGuest;

/// Set (to `STACK:CONCURRENCY:FILE`) when the harness runs itself as the floor's child process.
pub const ENV: &str = "TALLYFY_BENCH_HTTP_FLOOR";

/// The HTTP clients measured.
#[derive(Clone, Copy)]
pub enum Stack {
    Reqwest,
    /// hyper-util's pooled client: what reqwest wraps, without its layers.
    HyperUtil,
    Hyper,
}

impl Stack {
    fn name(self) -> &'static str {
        match self {
            Stack::Reqwest => "reqwest",
            Stack::HyperUtil => "hyper-util",
            Stack::Hyper => "hyper",
        }
    }
}

/// The command that runs the floor for `file` (a guest file of the harness) in a child process;
/// the sandbox's settings are added by the caller.
pub fn command(stack: Stack, concurrency: usize, file: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the harness knows its path"));
    command.env(ENV, format!("{}:{concurrency}:{}", stack.name(), file.display()));
    command
}

/// In the child: sends every row of the file as a create and exits; panics on any answer but
/// a 2xx (the sandbox must be empty).
pub fn run_child(spec: &str) {
    let mut parts = spec.splitn(3, ':');
    let (stack, concurrency, file) = (
        parts.next().unwrap(),
        parts.next().unwrap().parse::<usize>().unwrap(),
        parts.next().unwrap(),
    );
    let bodies = Arc::new(bodies(Path::new(file)));
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    let url = format!(
        "{}/organizations/{}/guests",
        env("TALLYFY_BASE_URL"),
        env("TALLYFY_ORG_ID")
    );
    let auth = format!("Bearer {}", env("TALLYFY_ACCESS_TOKEN"));
    // One thread, as the import's network side.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    runtime.block_on(async {
        // One client shared by the workers, as the tool has one: building a reqwest client
        // loads the system's certificate store, which a client per worker would pay 64 times.
        let client = reqwest_client();
        let pooled = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(concurrency)
            .build_http::<http_body_util::Full<bytes::Bytes>>();
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (bodies, next, url, auth) = (bodies.clone(), next.clone(), url.clone(), auth.clone());
                match stack {
                    "reqwest" => tokio::spawn(with_reqwest(client.clone(), bodies, next, url, auth)),
                    "hyper-util" => tokio::spawn(with_hyper_util(pooled.clone(), bodies, next, url, auth)),
                    "hyper" => tokio::spawn(with_hyper(bodies, next, url, auth)),
                    other => panic!("unknown stack {other}"),
                }
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
    });
}

/// Each row's create body, as the tool makes it (`NewGuest`).
fn bodies(file: &Path) -> Vec<bytes::Bytes> {
    let mut reader = csv::Reader::from_path(file).unwrap();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            let text = |i: usize| Some(record[i].to_string()).filter(|t| !t.is_empty());
            let guest = NewGuest {
                email: record[0].to_string(),
                first_name: text(1),
                last_name: text(2),
                company_name: text(3),
                phone_1: text(4),
                phone_2: None,
                timezone: text(5),
                associated_members: record[6].split(';').map(|id| id.parse().unwrap()).collect(),
            };
            serde_json::to_vec(&guest).unwrap().into()
        })
        .collect()
}

/// The next row for a worker to send, until there are none.
fn take(bodies: &[bytes::Bytes], next: &AtomicUsize) -> Option<bytes::Bytes> {
    bodies.get(next.fetch_add(1, Ordering::Relaxed)).cloned()
}

/// reqwest as `api::Client::new` sets it up: default headers, timeouts, no redirects.
fn reqwest_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("accept", "application/json".parse().unwrap());
    headers.insert("x-tallyfy-client", "APIClient".parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .user_agent("tallyfy-guests/bench")
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// One worker on the shared reqwest client.
async fn with_reqwest(
    client: reqwest::Client,
    bodies: Arc<Vec<bytes::Bytes>>,
    next: Arc<AtomicUsize>,
    url: String,
    auth: String,
) {
    let url = reqwest::Url::parse(&url).unwrap();
    while let Some(body) = take(&bodies, &next) {
        let response = client
            .post(url.clone())
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.bytes().await.unwrap();
    }
}

/// hyper-util's pooled client, shared by the workers: reqwest's own core.
async fn with_hyper_util(
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
    bodies: Arc<Vec<bytes::Bytes>>,
    next: Arc<AtomicUsize>,
    url: String,
    auth: String,
) {
    let uri: hyper::Uri = url.parse().unwrap();
    while let Some(body) = take(&bodies, &next) {
        // hyper-util's client adds the Host header itself.
        let request = create(hyper::Request::post(uri.clone()), &auth, body);
        read_whole(client.request(request).await.unwrap()).await;
    }
}

/// One HTTP/1 connection per worker, straight on hyper.
async fn with_hyper(bodies: Arc<Vec<bytes::Bytes>>, next: Arc<AtomicUsize>, url: String, auth: String) {
    let uri: hyper::Uri = url.parse().unwrap();
    let authority = uri.authority().unwrap().to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    while let Some(body) = take(&bodies, &next) {
        sender.ready().await.unwrap();
        let request = create(
            hyper::Request::post(uri.clone()).header("host", &authority),
            &auth,
            body,
        );
        read_whole(sender.send_request(request).await.unwrap()).await;
    }
}

/// A create as the tool sends it: its headers and the row's body.
fn create(
    request: hyper::http::request::Builder,
    auth: &str,
    body: bytes::Bytes,
) -> hyper::Request<http_body_util::Full<bytes::Bytes>> {
    request
        .header("accept", "application/json")
        .header("x-tallyfy-client", "APIClient")
        .header("user-agent", "tallyfy-guests/bench")
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(body))
        .unwrap()
}

/// Checks a 2xx and reads the whole answer, as the tool does.
async fn read_whole(response: hyper::Response<hyper::body::Incoming>) {
    use http_body_util::BodyExt;
    assert!(response.status().is_success(), "{}", response.status());
    response.into_body().collect().await.unwrap();
}
