//! A real headless Chromium driven over WebDriver, for the page's tests: Debian's `chromium`
//! and `chromium-driver` (`scripts/test` installs them), chromedriver started on a free loopback
//! port per test, its own profile and downloads folder in the test's temp dir, every wait
//! bounded. A machine without them fails the test loudly: CI always has them, so a silent skip
//! would only hide a broken page.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Longest wait for chromedriver to say which port it serves, and for a session to open.
const START: Duration = crate::util::BROWSER_STEP;
/// Longest single WebDriver command: page loads and scripts are bounded by the session's own
/// timeouts ([`BROWSER_STEP`](crate::util::BROWSER_STEP)), and this is above them.
const COMMAND: Duration = crate::util::BROWSER_STEP.saturating_add(Duration::from_secs(30));

/// Browsers run one at a time: each is a handful of processes, the machine has two cores shared
/// with the rest of the suite, and a starved browser turns bounded waits into flaky failures.
static ONE_AT_A_TIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// A headless Chromium session: dropped, it kills chromedriver's whole process group
/// (chromedriver and the browser it started), so a failed test leaves nothing running.
pub struct Browser {
    pub client: Client,
    driver: Child,
    downloads: PathBuf,
    _permit: tokio::sync::SemaphorePermit<'static>,
}

/// The first of `names` found on PATH, then in /usr/bin and /usr/lib/chromium.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/bin".into(), "/usr/lib/chromium".into()]);
    let dirs: Vec<PathBuf> = dirs.collect();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn missing(what: &str) -> ! {
    panic!(
        "{what} not found: the browser tests need Debian's chromium and chromium-driver \
         (`scripts/test` installs them, or `apt-get install -y chromium chromium-driver`). They are not \
         skipped, so a machine without a browser cannot pass the page's tests unseen."
    )
}

/// Starts chromedriver with `--port=0` in its own process group and returns it with the port
/// it reports on stdout ("ChromeDriver was started successfully on port N.").
fn start_driver(log: &Path) -> (Child, u16) {
    let program = find_program(&["chromedriver"]).unwrap_or_else(|| missing("chromedriver"));
    let mut command = Command::new(program);
    command
        .args(["--port=0", &format!("--log-path={}", log.display())])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // Its own group, so Drop can end the browser it starts too, whatever state the test is in.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut driver = command.spawn().expect("chromedriver starts");
    let mut stdout = driver.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = String::new();
        let mut buffer = [0u8; 1024];
        let mut sent = false;
        // Read to the end, so a chatty driver never blocks on a full pipe.
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 {
                break;
            }
            if sent {
                continue;
            }
            seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
            if let Some(port) = reported_port(&seen) {
                sent = tx.send(Ok(port)).is_ok();
            }
        }
        if !sent {
            let _ = tx.send(Err(seen));
        }
    });
    match rx.recv_timeout(START) {
        Ok(Ok(port)) => (driver, port),
        Ok(Err(output)) => panic!("chromedriver ended without serving: {output}"),
        Err(_) => {
            kill_group(&mut driver);
            panic!("chromedriver did not report its port within {START:?}")
        }
    }
}

/// The port in chromedriver's "started successfully on port N." line.
fn reported_port(output: &str) -> Option<u16> {
    let rest = &output[output.find("started successfully on port ")? + 29..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    // The line is whole once a character follows the digits ('.' today).
    (rest.len() > digits.len()).then(|| digits.parse().ok()).flatten()
}

fn kill_group(driver: &mut Child) {
    // The group chromedriver leads (process_group(0) above): chromedriver and its browser.
    let group = driver.id() as libc::pid_t;
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
    let _ = driver.wait();
}

impl Browser {
    /// A new headless session whose profile, downloads and driver log live under `dir`.
    pub async fn start(dir: &Path) -> Browser {
        // The other browser tests run first, one at a time: a few whole jobs' worth.
        let permit = tokio::time::timeout(crate::util::GENEROUS * 5, ONE_AT_A_TIME.acquire())
            .await
            .expect("another browser test held the browser too long")
            .unwrap();
        let chromium =
            find_program(&["chromium", "chromium-browser", "google-chrome"]).unwrap_or_else(|| missing("chromium"));
        let profile = dir.join("browser-profile");
        let downloads = dir.join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let (mut driver, port) = start_driver(&dir.join("chromedriver.log"));
        let capabilities = json!({
            "browserName": "chrome",
            "timeouts": {
                "pageLoad": crate::util::BROWSER_STEP.as_millis() as u64,
                "script": crate::util::BROWSER_STEP.as_millis() as u64,
                "implicit": 0,
            },
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1280,900", "--no-first-run", "--no-default-browser-check",
                    "--disable-extensions", "--disable-background-networking", "--disable-sync",
                    "--password-store=basic", "--use-mock-keychain",
                ],
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                },
            },
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut builder = ClientBuilder::new(connector);
        builder.capabilities(capabilities);
        let url = format!("http://127.0.0.1:{port}");
        let session = builder.connect(&url);
        let client = match tokio::time::timeout(START, session).await {
            Ok(Ok(client)) => client,
            failed => {
                kill_group(&mut driver);
                let log = std::fs::read_to_string(dir.join("chromedriver.log")).unwrap_or_default();
                let tail: String = log.lines().rev().take(30).collect::<Vec<_>>().join("\n");
                panic!("no browser session: {failed:?}\nchromedriver log, last lines first:\n{tail}")
            }
        };
        Browser {
            client,
            driver,
            downloads,
            _permit: permit,
        }
    }

    pub async fn goto(&self, url: &str) {
        bounded("goto", self.client.goto(url)).await;
    }

    /// The element `[data-test="name"]` (the page's test contract), waited for up to `limit`.
    pub async fn test_element(&self, name: &str, limit: Duration) -> fantoccini::elements::Element {
        let selector = format!("[data-test=\"{name}\"]");
        let client = self.client.clone();
        poll(&format!("an element {selector}"), limit, || {
            let (client, selector) = (client.clone(), selector.clone());
            async move { client.find(Locator::Css(&selector)).await.ok() }
        })
        .await
    }

    /// Clicks `[data-test="name"]` once it is there.
    pub async fn click(&self, name: &str, limit: Duration) {
        let element = self.test_element(name, limit).await;
        bounded(&format!("click {name}"), element.click()).await;
    }

    /// Runs `script` (a function body that `return`s JSON) in the page.
    pub async fn script(&self, script: &str) -> Value {
        bounded("script", self.client.execute(script, vec![])).await
    }

    /// The page's text, for failure messages.
    pub async fn page_text(&self) -> String {
        let text = self.script("return document.body ? document.body.innerText : ''").await;
        text.as_str().unwrap_or_default().chars().take(3000).collect()
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        bounded("screenshot", self.client.screenshot()).await
    }

    /// The first file to finish downloading whose name ends with `suffix`, waited for up to
    /// `limit` (Chromium writes `*.crdownload` until the file is whole).
    pub async fn downloaded(&self, suffix: &str, limit: Duration) -> PathBuf {
        let downloads = self.downloads.clone();
        poll(&format!("a download ending {suffix}"), limit, || {
            let downloads = downloads.clone();
            async move {
                std::fs::read_dir(&downloads)
                    .ok()?
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .find(|path| path.to_string_lossy().ends_with(suffix))
            }
        })
        .await
    }

    /// Ends the session (the browser quits) and chromedriver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = tokio::time::timeout(START, client.close()).await;
        kill_group(&mut self.driver);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.driver.try_wait().ok().flatten().is_none() {
            kill_group(&mut self.driver);
        }
    }
}

/// A WebDriver command, bounded by [`COMMAND`], that must succeed.
pub async fn bounded<T, E: std::fmt::Debug>(what: &str, command: impl Future<Output = Result<T, E>>) -> T {
    match tokio::time::timeout(COMMAND, command).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e:?}"),
        Err(_) => panic!("{what}: no answer within {COMMAND:?}"),
    }
}

/// Calls `check` every 100 ms until it gives a value, for at most `limit`; panics naming `what`
/// it waited for.
pub async fn poll<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Ok(Some(value)) = tokio::time::timeout(left.max(Duration::from_millis(1)), check()).await {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("waited {limit:?} for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
