//! `tallyfy-guests sandbox`: serve the emulator until Ctrl-C (or `--for`), printing how to
//! point the tool at it; or start it in the background and print the same lines for `eval`.

use std::io::{BufRead, Read, Write};
use std::time::Duration;

use crate::error::{Exit, RunError, shutdown_signal};
use crate::sandbox::{Sandbox, SandboxOptions};

/// The last line the sandbox prints: once it is out, the sandbox is serving.
const PID_VAR: &str = "TALLYFY_SANDBOX_PID";

/// Serves a sandbox until a signal (or for `stop_after`), printing how to point the tool at it.
pub async fn run(options: SandboxOptions, stop_after: Option<Duration>) -> Result<Exit, RunError> {
    let count = options.guests.len();
    let (port, oauth) = (options.port, options.oauth.clone());
    let sandbox = Sandbox::start(options).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => RunError::PortInUse(port),
        _ => RunError::io("cannot start the sandbox", e),
    })?;
    // stdout: lines a shell can `eval` or `.` (or a test parse); stderr: for people.
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "export TALLYFY_BASE_URL={}\nexport TALLYFY_ORG_ID={}\nexport TALLYFY_ACCESS_TOKEN={}\nexport {PID_VAR}={}",
        shell_word(sandbox.base_url()),
        shell_word(sandbox.org()),
        shell_word(sandbox.token()),
        std::process::id()
    )
    .and_then(|()| stdout.flush())
    .map_err(|e| RunError::io("cannot write to stdout", e))?;
    tracing::info!(
        "sandbox serving {count} guests at {}; Ctrl-C stops it",
        sandbox.base_url()
    );
    let origin = sandbox.base_url().trim_end_matches("/api");
    tracing::info!(
        "OAuth client credentials: TALLYFY_CLIENT_ID={} TALLYFY_CLIENT_SECRET={} (token endpoint {origin}/oauth/token)",
        oauth.client_id,
        oauth.client_secret
    );
    match stop_after {
        Some(after) => {
            tokio::select! {
                _ = shutdown_signal() => {}
                _ = tokio::time::sleep(after) => {}
            }
        }
        None => shutdown_signal().await,
    }
    let stats = sandbox.stats();
    tracing::info!(requests = stats.requests, created = stats.created, "sandbox stopped");
    Ok(Exit::Success)
}

/// Starts the sandbox as a background process (its own process group, so a Ctrl-C at the
/// shell's prompt does not reach it) and prints its lines once it serves, then returns: the
/// child holds neither our stdout nor our stderr, so `eval "$(tallyfy-guests sandbox --env)"`
/// returns at once. A child that fails to start has its error passed on, with its exit code.
/// `program` is this program, as `config` found it.
pub fn detach(program: std::io::Result<std::path::PathBuf>, args: Vec<std::ffi::OsString>) -> Result<Exit, RunError> {
    let exe = program.map_err(|e| RunError::io("cannot find this program to start the sandbox", e))?;
    let mut command = std::process::Command::new(exe);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| RunError::io("cannot start the sandbox", e))?;
    let (stdout, mut stderr) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    // Lines until the pid (the sandbox serves), or the end (it failed): read on a thread so
    // that the wait is bounded.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let last = line.contains(PID_VAR);
            if tx.send(line).is_err() || last {
                return;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let ready = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let last = line.contains(PID_VAR);
                lines.push(line);
                if last {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    if !ready {
        let _ = child.kill();
        let status = child.wait().ok();
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        eprint!("{text}");
        return Ok(match status.and_then(|s| s.code()) {
            Some(2) => Exit::Usage,
            _ => Exit::Problems,
        });
    }
    let mut out = std::io::stdout();
    writeln!(out, "{}", lines.join("\n"))
        .and_then(|()| out.flush())
        .map_err(|e| RunError::io("cannot write to stdout", e))?;
    let pid = child.id();
    tracing::info!("sandbox serving in the background as process {pid}; `kill {pid}` (or `kill ${PID_VAR}`) stops it");
    Ok(Exit::Success)
}

/// A value as one shell word: as it is when it needs no quoting, else in single quotes.
fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_single_shell_words() {
        assert_eq!(
            super::shell_word("http://127.0.0.1:8910/api"),
            "http://127.0.0.1:8910/api"
        );
        assert_eq!(super::shell_word("a b"), "'a b'");
        assert_eq!(super::shell_word("it's"), "'it'\\''s'");
        assert_eq!(super::shell_word(""), "''");
    }
}
