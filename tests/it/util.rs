//! Shared helpers: a sandbox to talk to, the binary pointed at it (or at a misbehaving server),
//! the test's folder (`Workspace`), the suite's named wall-clock bounds and waits for a state,
//! FIFOs, generated guests, CSV and results reading.

use std::time::{Duration, Instant};

use assert_cmd::Command;
use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::{Sandbox, SandboxOptions};

// The suite's only wall-clock bounds (issue 31). No test asserts a speed: each waits for a
// state, and these bounds only turn a hang into a failure. They are generous because the suite
// runs on 2 cores shared with other builds, where a step that takes 50 ms alone can take 100
// times that; a wait that has to end ends long before them.

/// Longest a test waits for a state it expects (a run to start creating, hold its lock, write a
/// line, end), and longest one run of the binary may take.
pub const GENEROUS: Duration = Duration::from_secs(180);

/// Bound for "it ends promptly instead of waiting its far longer limit": a run told to stop (a
/// signal, `--max-wait`, a server asking for days, an invite cap of an hour) must end within it.
/// Far below what the test sets up to be waited out (10 minutes, an hour, days), and far above
/// what a loaded machine needs.
pub const PROMPTLY: Duration = Duration::from_secs(60);

/// Longest one step of a browser test may take: chromedriver or Chromium starting, a page
/// loading, an element appearing, the page's server answering. Chromium is a handful of
/// processes; on 2 busy cores it has taken over 30 s to start, so the bound is far above that.
pub const BROWSER_STEP: Duration = Duration::from_secs(120);

/// How often a wait for a state looks again.
pub const POLL: Duration = Duration::from_millis(20);

/// Waits until `done` holds, at most [`GENEROUS`]; fails naming `what` if it never does.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + GENEROUS;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not after {GENEROUS:?}");
        std::thread::sleep(POLL);
    }
}

/// Waits for `child` to end, at most [`GENEROUS`] (then kills it and fails).
pub fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    ends_within(child, GENEROUS)
}

/// Waits for `child` to end, at most `bound` (then kills it and fails).
pub fn ends_within(child: &mut std::process::Child, bound: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} still running after {bound:?}", child.id());
        }
        std::thread::sleep(POLL);
    }
}

/// The binary with no Tallyfy settings inherited from the developer's environment.
pub fn bin() -> Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("tallyfy-guests");
    for var in tallyfy_guests::config::ENV_VARS
        .into_iter()
        .chain(["RUST_LOG", "NO_COLOR"])
    {
        cmd.env_remove(var);
    }
    cmd.timeout(GENEROUS);
    cmd.env(LOCK_DIR_ENV, fresh_lock_dir());
    // Each run remembers what it learns (the invite cap) in a folder of its own, never $HOME.
    cmd.env(tallyfy_guests::config::STATE_DIR_ENV, fresh_lock_dir().join("state"));
    cmd
}

/// The binary configured, through the environment, to talk to `sandbox`.
pub fn against(sandbox: &Sandbox) -> Command {
    let mut cmd = bin();
    cmd.env(LOCK_DIR_ENV, lock_dir_of(sandbox))
        .env("TALLYFY_BASE_URL", sandbox.base_url())
        .env("TALLYFY_ORG_ID", sandbox.org())
        .env("TALLYFY_ACCESS_TOKEN", sandbox.token());
    cmd
}

pub use tallyfy_guests::config::LOCK_DIR_ENV;

/// The token runs against a misbehaving server are given (tests look for it in what they show).
pub const ROGUE_TOKEN: &str = "rogue-token-0123456789";

/// The binary pointed at a misbehaving server ([`crate::rogue`]), with a lock folder of its own.
pub fn against_rogue(server: &crate::rogue::Rogue) -> Command {
    let mut cmd = bin();
    cmd.env("TALLYFY_BASE_URL", server.base_url())
        .env("TALLYFY_ORG_ID", tallyfy_guests::sandbox::DEFAULT_ORG)
        .env("TALLYFY_ACCESS_TOKEN", ROGUE_TOKEN);
    cmd
}

/// The lock folder of runs against `sandbox`. Every sandbox serves the same organization id, and
/// a machine runs one writing run per organization at a time: tests running side by side must
/// not meet each other's locks, while two runs against one sandbox (one organization) must.
pub fn lock_dir_of(sandbox: &Sandbox) -> std::path::PathBuf {
    test_locks().join(format!("sandbox-{}", sandbox.addr().port()))
}

/// A lock folder of its own, for a run whose server (a misbehaving one, or none) no other run
/// of the test shares.
fn fresh_lock_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    test_locks().join(format!("run-{n}"))
}

/// The folder the test binary's lock folders are made in (each by the run, as the tool makes
/// its own), removed when the test binary exits.
fn test_locks() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    extern "C" fn remove() {
        if let Some(dir) = DIR.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("tallyfy-guests-it-")
            .tempdir()
            .expect("a temp folder for the locks")
            .keep();
        // SAFETY: registers a plain function run once at exit; it only removes our folder.
        unsafe { libc::atexit(remove) };
        dir
    })
}

pub fn spawn(options: SandboxOptions) -> Sandbox {
    Sandbox::spawn(options).expect("sandbox starts")
}

/// `count` distinct, realistic guests with varied optional fields.
pub fn generated_guests(count: usize) -> Vec<Guest> {
    (0..count)
        .map(|i| Guest {
            email: format!("guest{i:05}@example{}.com", i % 7),
            first_name: Some(format!("First{i}")),
            last_name: (i % 3 != 0).then(|| format!("Last{i}")),
            phone_1: (i % 4 == 0).then(|| format!("+1 555 {i:04}")),
            company_name: (i % 5 == 0).then(|| format!("Company {}", i / 5)),
            timezone: (i % 2 == 0).then(|| "Europe/Paris".to_string()),
            associated_members: if i % 6 == 0 { vec![1001, 1003] } else { vec![] },
            ..Guest::default()
        })
        .collect()
}

/// CSV text as header + rows of cells.
pub fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// Runs the command, checks its exit code, and returns its stderr.
pub fn expect_exit(cmd: &mut Command, code: i32) -> String {
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    stderr
}

/// Makes a FIFO at `path` (always inside the test's own folder).
#[cfg(unix)]
pub fn mkfifo(path: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(name.as_ptr(), 0o600) },
        0,
        "mkfifo {}",
        path.display()
    );
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The binary as a plain process with none of the developer's Tallyfy settings, and no
/// terminal to ask on (even when the tests run in one: an import never prompts here).
pub fn process_against_nothing() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tallyfy-guests"));
    for var in tallyfy_guests::config::ENV_VARS
        .into_iter()
        .chain(["RUST_LOG", "NO_COLOR"])
    {
        cmd.env_remove(var);
    }
    cmd.stdin(std::process::Stdio::null());
    cmd.env(LOCK_DIR_ENV, fresh_lock_dir());
    cmd.env(tallyfy_guests::config::STATE_DIR_ENV, fresh_lock_dir().join("state"));
    cmd
}

/// The binary as a plain process, configured for `sandbox`: for runs that are spawned side by
/// side or sent signals.
pub fn process_against(sandbox: &Sandbox) -> std::process::Command {
    let mut cmd = process_against_nothing();
    cmd.env(LOCK_DIR_ENV, lock_dir_of(sandbox))
        .env("TALLYFY_BASE_URL", sandbox.base_url())
        .env("TALLYFY_ORG_ID", sandbox.org())
        .env("TALLYFY_ACCESS_TOKEN", sandbox.token());
    cmd
}

/// Options for an empty sandbox that answers every request after `latency`.
pub fn slow(latency: Duration) -> SandboxOptions {
    SandboxOptions {
        faults: tallyfy_guests::sandbox::FaultOptions {
            latency,
            ..Default::default()
        },
        ..SandboxOptions::default()
    }
}

/// A row of a results file, read by column name rather than position.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ResultRow {
    pub result_row: u64,
    pub result_status: String,
    pub result_guest_id: String,
    pub result_http_status: Option<u16>,
    pub result_attempts: u32,
    pub result_message: String,
    /// Where and when the row was made (the organization, API host, the run's start and the
    /// row's last answer on the server's clock).
    #[serde(default)]
    pub result_org: String,
    #[serde(default)]
    pub result_api: String,
    #[serde(default)]
    pub result_run_started: String,
    #[serde(default)]
    pub result_at: String,
    /// The guest's creation time as the create's answer gave it (database clock).
    #[serde(default)]
    pub result_created_at: String,
    /// The run's account of the whole file, on every row of a run that finished.
    #[serde(default)]
    pub result_of: String,
    /// The input's own columns, by name.
    #[serde(skip)]
    pub cells: std::collections::BTreeMap<String, String>,
}

impl ResultRow {
    /// The input's cell in `column` ("" when the row has none).
    pub fn cell(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", String::as_str)
    }
}

/// Every row of a results file (rows of any width: a malformed input row keeps its cells).
pub fn result_rows(path: &std::path::Path) -> Vec<ResultRow> {
    parse_result_rows(&std::fs::read_to_string(path).unwrap())
}

/// A CSV reader of results text: results use their input's delimiter, which the header line
/// shows, and may open with a byte order mark.
fn results_reader(text: &str) -> csv::Reader<&[u8]> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header = text.lines().next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| header.bytes().filter(|&b| b == d).count())
        .unwrap();
    csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes())
}

/// Every row of results read from text (a results stream), without the trailer record
/// (`end`, `end_of_results`) that earlier versions ended a whole run's file with.
pub fn parse_result_rows(text: &str) -> Vec<ResultRow> {
    let mut reader = results_reader(text);
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(Result::unwrap)
        .filter(|record| record.get(0) != Some("end"))
        .map(|record| {
            let mut row: ResultRow = record.deserialize(Some(&header)).unwrap();
            row.cells = header
                .iter()
                .zip(record.iter())
                .filter(|(name, _)| !name.starts_with("result_"))
                .map(|(name, cell)| (name.to_string(), cell.to_string()))
                .collect();
            row
        })
        .collect()
}

/// The `result_of` that every row of a results file's text carries when the run that wrote it
/// finished (the same on every row); `None` when a row has none or they differ.
pub fn result_of(text: &str) -> Option<String> {
    let rows = parse_result_rows(text);
    let first = rows.first()?.result_of.clone();
    (!first.is_empty() && rows.iter().all(|row| row.result_of == first)).then_some(first)
}

/// One test's world: a folder of its own and a sandbox, with the binary pointed at them and
/// none of the developer's Tallyfy settings.
pub struct Workspace {
    dir: tempfile::TempDir,
    pub sandbox: Sandbox,
}

impl Workspace {
    pub fn new(options: SandboxOptions) -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
            sandbox: spawn(options),
        }
    }

    /// With an empty sandbox.
    pub fn empty() -> Workspace {
        Workspace::new(SandboxOptions::default())
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A path in the workspace's folder.
    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file into the workspace's folder.
    pub fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        write(self.dir.path(), name, text)
    }

    /// The binary, run in the workspace's folder, talking to its sandbox.
    pub fn cmd(&self) -> Command {
        let mut cmd = against(&self.sandbox);
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// The binary as a plain process (to spawn side by side or send signals).
    pub fn process(&self) -> std::process::Command {
        let mut cmd = process_against(&self.sandbox);
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// The rows of a results file in the workspace's folder.
    pub fn results(&self, name: &str) -> Vec<ResultRow> {
        result_rows(&self.path(name))
    }
}

/// The job the CLI would run for `argv` (after `tallyfy-guests`), for the library's engine,
/// pointed at `ws`'s sandbox by flags (the environment is the test binary's own, shared by every
/// test). Every sandbox serves one organization id: each test's jobs lock in a folder of their
/// own (as each run of the binary does), so tests running side by side do not meet.
pub fn library_job(ws: &Workspace, argv: &[&str]) -> tallyfy_guests::config::Job {
    let token = ws.write("token", ws.sandbox.token());
    let token = token.display().to_string();
    let mut args: Vec<&str> = argv.to_vec();
    args.extend([
        "--base-url",
        ws.sandbox.base_url(),
        "--org",
        ws.sandbox.org(),
        "--token-file",
        &token,
    ]);
    let mut job =
        tallyfy_guests::config::job_from_args(&args).unwrap_or_else(|error| panic!("not an import: {argv:?}: {error}"));
    job.lock_dir = ws.path("locks");
    job
}
