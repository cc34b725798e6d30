//! `cargo bench`: the release binary against a sandbox process on loopback, so client and server
//! are measured apart (child rusage: CPU time and peak RSS). Prints a Markdown table, one row
//! per case and target; BENCHMARKS.md records a run. `cargo bench -- NAME` runs the cases whose
//! name contains NAME. Case 1 also runs the same creates from the HTTP stack alone
//! (`http_floor`), the yardstick its CPU per row is read against.

#![allow(
    clippy::disallowed_methods,
    reason = "the harness reads its own arguments and environment"
)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod http_floor;
mod ui_memory;

/// The tool's allocator, so that the HTTP floor (run as this binary) is measured like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BIN: &str = env!("CARGO_BIN_EXE_tallyfy-guests");

fn main() {
    if let Ok(spec) = std::env::var(http_floor::ENV) {
        return http_floor::run_child(&spec);
    }
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cases: [(&str, Case); 8] = [
        ("unthrottled", unthrottled),
        ("rate-limited", rate_limited),
        ("unknown-limit", unknown_limit),
        ("dry-run-throughput", dry_run_throughput),
        ("dry-run-memory", dry_run_memory),
        ("export", export),
        ("sandbox", sandbox_capacity),
        ("ui-memory", ui_memory::ui_memory),
    ];
    let mut table = String::from("| case | measured | target | |\n|---|---|---|---|\n");
    for (name, case) in cases {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        eprintln!("running {name} ...");
        for row in case(dir.path()) {
            let _ = writeln!(
                table,
                "| {} | {} | {} | {} |",
                row.case,
                row.measured,
                row.target,
                match row.met {
                    Some(true) => "met",
                    Some(false) => "**missed**",
                    None => "yardstick",
                }
            );
            eprintln!("  {}: {} (target {})", row.case, row.measured, row.target);
        }
    }
    println!("\n{table}");
}

/// A benchmark case: runs in a scratch directory and returns its table rows.
type Case = fn(&Path) -> Vec<Row>;

struct Row {
    case: String,
    measured: String,
    target: String,
    /// `None` for a figure that is only there to read the others by.
    met: Option<bool>,
}

fn row(case: &str, measured: String, target: &str, met: bool) -> Row {
    Row {
        case: case.into(),
        measured,
        target: target.into(),
        met: Some(met),
    }
}

/// A sandbox process; killed when dropped.
struct Sandbox {
    child: Child,
    env: Vec<(String, String)>,
}

impl Sandbox {
    fn start(args: &[&str]) -> Sandbox {
        let mut child = Command::new(BIN)
            // No invite cap: the benchmarks measure the client, not Tallyfy's hourly cap.
            .args([
                "--quiet",
                "sandbox",
                "--foreground",
                "--port",
                "0",
                "--invite-cap",
                "off",
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the sandbox starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let env = (0..3)
            .map(|_| {
                let line = lines.next().expect("sandbox settings").unwrap();
                let line = line.trim_start_matches("export ");
                let (key, value) = line.split_once('=').unwrap();
                (key.to_string(), value.to_string())
            })
            .collect();
        Sandbox { child, env }
    }

    fn base_url(&self) -> &str {
        &self.env[0].1
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client run, measured.
struct Run {
    wall: Duration,
    cpu: Duration,
    max_rss_mb: f64,
    code: i32,
    stderr: String,
}

/// Runs of each client measurement whose median is reported: on this kind of machine (a small
/// VM) one run's CPU time can be a quarter off the next one's.
const RUNS: usize = 3;

/// `runs` runs of `run`, as one with the median wall time, the median CPU time and the largest
/// peak memory.
fn median_of(runs: usize, mut run: impl FnMut() -> Run) -> Run {
    let all: Vec<Run> = (0..runs).map(|_| run()).collect();
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    Run {
        wall: median(all.iter().map(|r| r.wall).collect()),
        cpu: median(all.iter().map(|r| r.cpu).collect()),
        max_rss_mb: all.iter().map(|r| r.max_rss_mb).fold(0.0, f64::max),
        code: all.iter().map(|r| r.code).find(|&code| code != 0).unwrap_or(0),
        stderr: all.into_iter().map(|r| r.stderr).collect(),
    }
}

fn run_client(args: &[&str], sandbox: Option<&Sandbox>) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    measure(cmd, sandbox)
}

/// Runs a client process (the tool, or the HTTP floor) with the sandbox's settings, if any, and
/// no others from this environment.
// The child is reaped by `wait_with_rusage` (wait4), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measure(mut cmd: Command, sandbox: Option<&Sandbox>) -> Run {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped()).env_remove("RUST_LOG");
    for var in tallyfy_guests::config::ENV_VARS {
        cmd.env_remove(var);
    }
    if let Some(sandbox) = sandbox {
        cmd.envs(sandbox.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("the client starts");
    let stderr_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr_pipe).unwrap_or_default());
    let (code, usage) = wait_with_rusage(child.id() as i32);
    let wall = started.elapsed();
    let stderr = reader.join().unwrap();
    let seconds = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Run {
        wall,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        max_rss_mb: usage.ru_maxrss as f64 / 1024.0,
        code,
        stderr,
    }
}

/// Reaps the child and returns its exit code and resource usage (std's `wait` gives no rusage).
fn wait_with_rusage(pid: i32) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: rusage is plain old data that wait4 fills in; pid is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 failed");
    (
        if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        usage,
    )
}

/// The JSON summary event of an import run with `--log-format json`.
fn summary(stderr: &str) -> serde_json::Value {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["message"] == "import finished")
        .unwrap_or_else(|| panic!("no summary in:\n{stderr}"))
}

/// A guest file of `rows` realistic rows (about 100 bytes each).
fn guest_file(dir: &Path, name: &str, rows: usize) -> PathBuf {
    let path = dir.join(name);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(
        out,
        "email,first_name,last_name,company_name,phone_1,timezone,associated_members"
    )
    .unwrap();
    for i in 0..rows {
        writeln!(
            out,
            "guest.{i:07}@example{}.com,First{i},Lastname{i},Company {} Ltd,+1 555 {:04} {:03},Europe/Paris,1001;1002",
            i % 97,
            i % 5000,
            i % 10_000,
            i % 1000
        )
        .unwrap();
    }
    out.flush().unwrap();
    path
}

/// Existing guests for the sandbox, in export format.
fn existing_file(dir: &Path, name: &str, rows: usize) -> PathBuf {
    let path = dir.join(name);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(out, "id,email,first_name,last_name").unwrap();
    for i in 0..rows {
        writeln!(out, "{},guest.{i:07}@example{}.com,First{i},Lastname{i}", i + 1, i % 97).unwrap();
    }
    out.flush().unwrap();
    path
}

fn expect_success(run: &Run, what: &str) {
    assert!(
        run.code == 0,
        "{what} exited {}:\n{}",
        run.code,
        &run.stderr[run.stderr.len().saturating_sub(3000)..]
    );
}

fn unthrottled(dir: &Path) -> Vec<Row> {
    let rows = 20_000;
    let file = guest_file(dir, "unthrottled.csv", rows);
    // Each run against an empty sandbox of its own: a second run would find every guest.
    let empty = || Sandbox::start(&["--empty", "--latency", "20ms"]);
    let import = |file: &Path, concurrency: &str| {
        median_of(RUNS, || {
            let args = [
                "--log-format",
                "json",
                "import",
                file.to_str().unwrap(),
                "--concurrency",
                concurrency,
            ];
            let run = run_client(&args, Some(&empty()));
            expect_success(&run, "the import");
            run
        })
    };
    let run = import(&file, "64");
    let rate = rows as f64 / run.wall.as_secs_f64();
    let cpu_per_row = run.cpu.as_secs_f64() * 1e6 / rows as f64;
    // The same creates from the HTTP stack alone.
    let stacks = [
        http_floor::Stack::Reqwest,
        http_floor::Stack::HyperUtil,
        http_floor::Stack::Hyper,
    ];
    let [reqwest_alone, hyper_util_alone, hyper_alone] = stacks.map(|stack| {
        let run = median_of(RUNS, || {
            let run = measure(http_floor::command(stack, 64, &file), Some(&empty()));
            expect_success(&run, "the HTTP floor");
            run
        });
        run.cpu.as_secs_f64() * 1e6 / rows as f64
    });
    // A small import, as most are: CPU per row there includes start-up and the prefetch.
    let small = 600;
    let file = guest_file(dir, "unthrottled-600.csv", small);
    let run_small = import(&file, "16");
    let small_cpu_per_row = run_small.cpu.as_secs_f64() * 1e6 / small as f64;
    vec![
        row(
            "1. client CPU per row, 600 rows, 20 ms, concurrency 16 (median of 3 runs)",
            format!(
                "{small_cpu_per_row:.1} µs ({:.2} s wall, {:.0} rows/s)",
                run_small.wall.as_secs_f64(),
                small as f64 / run_small.wall.as_secs_f64()
            ),
            "≤ 100 µs",
            small_cpu_per_row <= 100.0,
        ),
        row(
            "1. unthrottled import, 20,000 rows, 20 ms, concurrency 64 (median of 3 runs)",
            format!("{rate:.0} rows/s ({:.1} % of 3,200)", rate / 32.0),
            "≥ 2,880 rows/s (90 %)",
            rate >= 2880.0,
        ),
        row(
            "1. client CPU per row, 20,000 rows (median of 3 runs)",
            format!(
                "{cpu_per_row:.1} µs = {:.2} × reqwest alone (peak RSS {:.0} MB)",
                cpu_per_row / reqwest_alone,
                run.max_rss_mb
            ),
            "≤ 30 µs",
            cpu_per_row <= 30.0,
        ),
        Row {
            case: "1. the same 20,000 creates from the HTTP stack alone (`benches/http_floor.rs`, median of 3 runs)"
                .into(),
            measured: format!(
                "reqwest {reqwest_alone:.1} µs a request; hyper-util's pooled client {hyper_util_alone:.1} µs; hyper's HTTP/1 connections alone {hyper_alone:.1} µs"
            ),
            target: "none: what the CPU per row is read against".into(),
            met: None,
        },
    ]
}

fn limited(dir: &Path, name: &str, rate_flag: bool) -> (f64, u64, u64) {
    let rows = 1_500;
    let file = guest_file(dir, &format!("{name}.csv"), rows);
    let sandbox = Sandbox::start(&["--empty", "--burst-limit", "50/s"]);
    let mut args = vec!["--log-format", "json", "import", file.to_str().unwrap()];
    if rate_flag {
        args.extend(["--rate", "50/s"]);
    }
    let run = run_client(&args, Some(&sandbox));
    expect_success(&run, "the import");
    let summary = summary(&run.stderr);
    let requests = rows as u64 + 1 + summary["rate_limited"].as_u64().unwrap();
    (
        rows as f64 / run.wall.as_secs_f64(),
        summary["rate_limited"].as_u64().unwrap(),
        requests,
    )
}

fn rate_limited(dir: &Path) -> Vec<Row> {
    let (rate, throttled, _) = limited(dir, "rate-limited", true);
    vec![row(
        "2. --rate 50/s against a 50/s limit, 1,500 rows",
        format!("{rate:.2} rows/s ({:.1} %), {throttled} 429s", rate * 2.0),
        "≥ 48.5 rows/s (97 %), 0 429s",
        rate >= 48.5 && throttled == 0,
    )]
}

fn unknown_limit(dir: &Path) -> Vec<Row> {
    let (rate, throttled, requests) = limited(dir, "unknown-limit", false);
    let share = throttled as f64 * 100.0 / requests as f64;
    vec![row(
        "3. unknown 50/s limit, no --rate, 1,500 rows",
        format!(
            "{rate:.2} rows/s ({:.1} %), {throttled} 429s ({share:.1} % of requests)",
            rate * 2.0
        ),
        "≥ 42.5 rows/s (85 %), < 3 % 429s",
        rate >= 42.5 && share < 3.0,
    )]
}

/// Plain `csv::ByteRecord` reading of the same file: the yardstick for case 4.
fn baseline_read(path: &Path) -> Duration {
    let started = Instant::now();
    let mut reader = csv::Reader::from_path(path).unwrap();
    let mut record = csv::ByteRecord::new();
    let mut count = 0u64;
    while reader.read_byte_record(&mut record).unwrap() {
        count += record.len() as u64;
    }
    assert!(count > 0);
    started.elapsed()
}

fn dry_run_throughput(dir: &Path) -> Vec<Row> {
    let rows = 1_000_000;
    let file = guest_file(dir, "million.csv", rows);
    let megabytes = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
    let baseline = (0..3).map(|_| baseline_read(&file)).min().unwrap();
    let results = dir.join("million.results.csv");
    let run = run_client(
        &[
            "--quiet",
            "import",
            "--dry-run",
            file.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ],
        None,
    );
    assert!(run.code == 0, "dry run exited {}: {}", run.code, run.stderr);
    let share = baseline.as_secs_f64() / run.wall.as_secs_f64() * 100.0;
    vec![row(
        &format!("4. offline dry run, 1,000,000 rows ({megabytes:.0} MB)"),
        format!(
            "{:.2} s, {:.0} rows/s = {share:.0} % of csv::ByteRecord ({:.2} s); CPU {:.2} s, peak RSS {:.0} MB",
            run.wall.as_secs_f64(),
            rows as f64 / run.wall.as_secs_f64(),
            baseline.as_secs_f64(),
            run.cpu.as_secs_f64(),
            run.max_rss_mb
        ),
        "≥ 50 % of csv::ByteRecord",
        share >= 50.0,
    )]
}

fn dry_run_memory(dir: &Path) -> Vec<Row> {
    let rows = 1_000_000;
    let file = dir.join("million.csv");
    if !file.exists() {
        guest_file(dir, "million.csv", rows);
    }
    let existing = existing_file(dir, "existing-million.csv", rows);
    let sandbox = Sandbox::start(&["--guests", existing.to_str().unwrap()]);
    let results = dir.join("million-vs-org.results.csv");
    let run = run_client(
        &[
            "--log-format",
            "json",
            "import",
            "--dry-run",
            file.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ],
        Some(&sandbox),
    );
    let summary = summary(&run.stderr);
    assert_eq!(
        summary["exists"].as_u64(),
        Some(rows as u64),
        "every row matched an existing guest"
    );
    vec![row(
        "5. dry run, 1,000,000 rows against 1,000,000 existing guests",
        format!(
            "peak RSS {:.0} MB ({:.1} s, CPU {:.1} s)",
            run.max_rss_mb,
            run.wall.as_secs_f64(),
            run.cpu.as_secs_f64()
        ),
        "≤ 150 MB",
        run.max_rss_mb <= 150.0,
    )]
}

fn export(dir: &Path) -> Vec<Row> {
    let guests = 100_000;
    let existing = existing_file(dir, "export-100k.csv", guests);
    let sandbox = Sandbox::start(&["--guests", existing.to_str().unwrap(), "--latency", "20ms"]);
    let out = dir.join("exported.csv");
    let run = run_client(
        &["--quiet", "export", "--output", out.to_str().unwrap()],
        Some(&sandbox),
    );
    expect_success(&run, "the export");
    let pages = (guests / 100) as f64;
    let rate = pages / run.wall.as_secs_f64();
    vec![
        row(
            "6. export, 100,000 guests, per_page 100, 20 ms, concurrency 8",
            format!(
                "{rate:.0} pages/s ({:.0} % of 400); CPU {:.2} s, peak RSS {:.0} MB",
                rate / 4.0,
                run.cpu.as_secs_f64(),
                run.max_rss_mb
            ),
            "≥ 360 pages/s (90 %)",
            rate >= 360.0,
        ),
        prefetch(dir, &sandbox, guests),
    ]
}

/// The import's prefetch of the same organization: a one-row file whose guest exists, so the
/// run is the walk of every page.
fn prefetch(dir: &Path, sandbox: &Sandbox, guests: usize) -> Row {
    let file = dir.join("one-existing.csv");
    std::fs::write(&file, "email\nguest.0000001@example1.com\n").unwrap();
    let results = dir.join("one-existing.results.csv");
    let args = [
        "--log-format",
        "json",
        "import",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ];
    let run = run_client(&args, Some(sandbox));
    expect_success(&run, "the prefetch");
    assert_eq!(
        summary(&run.stderr)["exists"].as_u64(),
        Some(1),
        "the row's guest was found"
    );
    let rate = (guests / 100) as f64 / run.wall.as_secs_f64();
    row(
        "6. import prefetch of the same 100,000 guests, concurrency 8",
        format!(
            "{rate:.0} pages/s ({:.0} % of 400); CPU {:.2} s, peak RSS {:.0} MB",
            rate / 4.0,
            run.cpu.as_secs_f64(),
            run.max_rss_mb
        ),
        "as export",
        rate >= 360.0,
    )
}

/// Simple requests per second the sandbox serves: a get-by-email loop from 64 connections.
fn sandbox_capacity(_dir: &Path) -> Vec<Row> {
    let sandbox = Sandbox::start(&[]);
    let url = format!(
        "{}/organizations/{}/guests/maria.gonzalez%40acme-logistics.com",
        sandbox.base_url(),
        sandbox.env[1].1
    );
    let token = sandbox.env[2].1.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let served = runtime.block_on(async move {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(3);
        let tasks = (0..64).map(|_| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                let mut served = 0u64;
                while Instant::now() < deadline {
                    let response = client
                        .get(&url)
                        .bearer_auth(&token)
                        .header("X-Tallyfy-Client", "APIClient")
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success());
                    response.bytes().await.unwrap();
                    served += 1;
                }
                served
            })
        });
        futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .sum::<u64>()
    });
    let rate = served as f64 / 3.0;
    vec![row(
        "sandbox capacity (get by email, 64 connections, load generator on the same 2 cores)",
        format!("{rate:.0} requests/s"),
        "≥ 20,000 requests/s",
        rate >= 20_000.0,
    )]
}
