//! Shared helpers: a sandbox to talk to, the binary pointed at it, generated guests, CSV reading.

use std::time::Duration;

use assert_cmd::Command;
use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::{Sandbox, SandboxOptions};

/// The binary with no Tallyfy settings inherited from the developer's environment.
pub fn bin() -> Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("tallyfy-guests");
    for var in tallyfy_guests::config::ENV_VARS
        .into_iter()
        .chain(["RUST_LOG", "NO_COLOR"])
    {
        cmd.env_remove(var);
    }
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// The binary configured, through the environment, to talk to `sandbox`.
pub fn against(sandbox: &Sandbox) -> Command {
    let mut cmd = bin();
    cmd.env("TALLYFY_BASE_URL", sandbox.base_url())
        .env("TALLYFY_ORG_ID", sandbox.org())
        .env("TALLYFY_ACCESS_TOKEN", sandbox.token());
    cmd
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

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The binary as a plain process, configured for `sandbox`: for runs that are spawned side by
/// side or sent signals.
pub fn process_against(sandbox: &Sandbox) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tallyfy-guests"));
    for var in tallyfy_guests::config::ENV_VARS
        .into_iter()
        .chain(["RUST_LOG", "NO_COLOR"])
    {
        cmd.env_remove(var);
    }
    cmd.env("TALLYFY_BASE_URL", sandbox.base_url())
        .env("TALLYFY_ORG_ID", sandbox.org())
        .env("TALLYFY_ACCESS_TOKEN", sandbox.token());
    cmd
}

/// An empty sandbox that answers every request after `latency`.
pub fn slow_sandbox(latency: Duration) -> Sandbox {
    spawn(SandboxOptions {
        faults: tallyfy_guests::sandbox::FaultOptions {
            latency,
            ..Default::default()
        },
        ..SandboxOptions::default()
    })
}
