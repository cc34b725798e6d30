//! The real `tallyfy-guests ui` for a test (URL and key read from stdout line 1, killed when
//! dropped), and a plain HTTP client of its routes (TEAM.md "The page's routes") that keeps the
//! key's cookie, sends the page's own `Origin`, and records every answer it got.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use tallyfy_guests::sandbox::Sandbox;

/// Longest wait for the server's first line, and for one HTTP answer.
const START: Duration = crate::util::BROWSER_STEP;

/// A running `ui` process.
pub struct Ui {
    child: Child,
    /// Every line of stdout: the first, then a new link each time a used one is opened again.
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Line 1 as printed: `http://127.0.0.1:PORT/?key=KEY`.
    pub url: String,
    pub port: u16,
    stderr: PathBuf,
}

impl Ui {
    /// `ui --no-open --port 0 --dir DIR/runs` with `args`, against `sandbox` (its URL, org and
    /// token in the environment, as a person configures the CLI) or, with none, the built-in
    /// one (`--sandbox`).
    pub fn start(dir: &Path, sandbox: Option<&Sandbox>, args: &[&str]) -> Ui {
        let command = match sandbox {
            Some(sandbox) => crate::util::process_against(sandbox),
            None => crate::util::process_against_nothing(),
        };
        let builtin = sandbox.is_none().then_some("--sandbox");
        Ui::spawn(dir, command, &[builtin.into_iter().collect(), args.to_vec()].concat())
    }

    /// `command` (the binary with its environment) run as `ui --no-open --port 0 --dir
    /// DIR/runs ARGS`.
    pub fn spawn(dir: &Path, command: std::process::Command, args: &[&str]) -> Ui {
        Ui::launch(dir, command, &[&["--no-open"], args].concat())
    }

    /// `command` run as `ui --port 0 --dir DIR/runs ARGS`: it opens a browser when it sees a
    /// display.
    pub fn launch(dir: &Path, mut command: std::process::Command, args: &[&str]) -> Ui {
        let stderr = dir.join("ui.stderr");
        command
            .args(["ui", "--port", "0", "--dir"])
            .arg(dir.join("runs"))
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let mut child = command.spawn().expect("tallyfy-guests ui starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&lines);
        std::thread::spawn(move || {
            let mut read = std::io::BufReader::new(stdout).lines();
            let first = read.next();
            if let Some(Ok(line)) = &first {
                kept.lock().unwrap().push(line.clone());
            }
            let _ = tx.send(first);
            // Keep the rest, so the server never blocks on a full pipe.
            for line in read.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        let line = match rx.recv_timeout(START) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                let err = std::fs::read_to_string(&stderr).unwrap_or_default();
                panic!("ui printed no first line within {START:?} ({other:?}); stderr:\n{err}")
            }
        };
        let rest = line
            .strip_prefix("http://127.0.0.1:")
            .unwrap_or_else(|| panic!("line 1 is not the page's URL: {line:?}"));
        let (port, key) = rest
            .split_once("/?key=")
            .unwrap_or_else(|| panic!("no key in {line:?}"));
        assert!(key.len() >= 43, "a key of 32 random bytes, URL-safe: {key:?}");
        assert!(
            key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "the key is URL-safe as printed: {key:?}"
        );
        Ui {
            base: format!("http://127.0.0.1:{port}"),
            port: port.parse().unwrap(),
            url: line.clone(),
            child,
            lines,
            stderr,
        }
    }

    /// Stops the server, as a machine going to sleep or a closed terminal does.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The lines the server printed on stdout so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server said on stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// A plain HTTP client of this server, not logged in yet.
    pub fn http(&self) -> Http {
        Http {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(START)
                .build()
                .unwrap(),
            base: self.base.clone(),
            url: self.url.clone(),
            cookie: None,
            seen: Vec::new(),
        }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer, kept whole for the checks that read every answer (the token's absence).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The `/runs/{id}` a 303 points at.
    pub fn run_id(&self) -> String {
        let location = self.header("location");
        let id = location
            .strip_prefix("/runs/")
            .unwrap_or_else(|| panic!("a redirect to a run, not {} {location:?}: {}", self.status, self.text()));
        id.to_string()
    }
}

/// A plain HTTP client of one `ui` server.
pub struct Http {
    client: reqwest::Client,
    pub base: String,
    url: String,
    cookie: Option<String>,
    /// Every answer received, in order.
    pub seen: Vec<Answer>,
}

impl Http {
    /// The client underneath (it follows no redirect), for requests built by hand.
    pub fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// Opens line 1's URL: the key is exchanged for the cookie (303 to `/`), kept from now on.
    pub async fn login(&mut self) {
        let url = self.url.clone();
        let answer = self.send(self.client.get(&url)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        assert!(
            answer.text().contains("http-equiv=\"refresh\" content=\"0; url=/\""),
            "the page moves on to / by itself: {}",
            answer.text()
        );
        let set = answer.header("set-cookie").to_string();
        for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(part), "the key's cookie is {part}: {set}");
        }
        self.cookie = Some(set.split(';').next().unwrap().to_string());
    }

    /// Sends `request` with the cookie (once logged in) and records the answer.
    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> &Answer {
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        let response = request.send().await.expect("the page's server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("a whole answer").to_vec();
        self.seen.push(Answer { status, headers, body });
        self.seen.last().unwrap()
    }

    pub async fn get(&mut self, path: &str) -> &Answer {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// A POST from the page itself: its own `Origin`.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> &Answer {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("origin", self.base.clone())
            .form(fields);
        self.send(request).await
    }

    /// `POST /runs` with `bytes` as the multipart field `file`, from the page's own `Origin`.
    pub async fn upload(&mut self, name: &str, bytes: &[u8]) -> &Answer {
        let (content_type, body) = multipart(name, bytes);
        let request = self
            .client
            .post(format!("{}/runs", self.base))
            .header("origin", self.base.clone())
            .header("content-type", content_type)
            .body(body);
        self.send(request).await
    }

    /// Reads the run's event stream for `how_long` (it never ends by itself) and records what
    /// arrived as one answer.
    pub async fn events(&mut self, id: &str, how_long: Duration) -> String {
        let mut request = self.client.get(format!("{}/runs/{id}/events", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let mut response = request.send().await.expect("the event stream opens");
        let (status, headers) = (response.status(), response.headers().clone());
        let mut body = Vec::new();
        let deadline = tokio::time::Instant::now() + how_long;
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await {
            body.extend_from_slice(&chunk);
        }
        self.seen.push(Answer { status, headers, body });
        self.seen.last().unwrap().text()
    }

    /// The run's page once its `data-state` is one a job ends in (`ready` for a preview,
    /// `done`, `stopped`, `failed`), no question waits, and its state line is not `unlike`
    /// (the state of the job before), within `limit`.
    pub async fn until_finished(&mut self, id: &str, unlike: &str, limit: Duration) -> String {
        self.until(id, limit, |page| {
            let ended = ["ready", "done", "stopped", "failed"].contains(&data_state_of(page).as_str());
            ended && !page.contains("data-test=\"confirm\"") && state_of(page) != unlike
        })
        .await
    }

    /// The run's page once the engine's question waits for an answer (after Send, Continue or
    /// Undo: the job plans first), within `limit`.
    pub async fn until_asked(&mut self, id: &str, limit: Duration) -> String {
        self.until(id, limit, |page| page.contains("data-test=\"confirm\""))
            .await
    }

    /// The run's page once it passes `done`, within `limit`.
    pub async fn until(&mut self, id: &str, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let page = self.get(&format!("/runs/{id}")).await.text();
            if done(&page) {
                return page;
            }
            let state = (data_state_of(&page), state_of(&page));
            assert!(Instant::now() < deadline, "run {id} still {state:?} after {limit:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Http {
    /// Uploads `bytes` as `name`, waits for the preview, sends, confirms the engine's
    /// question, and waits for the import to finish, each step within `limit`; returns the
    /// run's id.
    pub async fn import(&mut self, name: &str, bytes: &[u8], limit: Duration) -> String {
        let id = self.upload(name, bytes).await.run_id();
        let preview = self.until_finished(&id, "", limit).await;
        let answer = self.post_form(&format!("/runs/{id}/send"), &[]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "send: {}", answer.text());
        self.until_asked(&id, limit).await;
        let answer = self.post_form(&format!("/runs/{id}/confirm"), &[]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "confirm: {}", answer.text());
        self.until_finished(&id, &state_of(&preview), limit).await;
        id
    }
}

/// The `data-state` of the page's `data-test="state"` element.
pub fn data_state_of(page: &str) -> String {
    let Some(at) = page.find("data-test=\"state\"") else {
        return String::new();
    };
    let after = &page[at..page[at..].find('>').map_or(page.len(), |i| at + i)];
    after
        .split("data-state=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// Where the run is, as the page says it to machines: the state element's `data-state` and
/// the run's version (which moves when a job starts or ends), as `ready v3`; the words may
/// read the same for two jobs in a row.
pub fn state_of(page: &str) -> String {
    let version = page
        .split("id=\"run\"")
        .nth(1)
        .and_then(|rest| rest.split("data-version=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    format!("{} v{version}", data_state_of(page))
}

/// A multipart/form-data body with one file field named `file`.
pub fn multipart(name: &str, bytes: &[u8]) -> (HeaderValue, Vec<u8>) {
    let boundary = "----tallyfy-guests-test-boundary-7d3f9a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}")).unwrap();
    (content_type, body)
}
