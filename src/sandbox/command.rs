//! `tallyfy-guests sandbox`: serve the emulator until Ctrl-C, printing how to point the tool at it.

use std::io::Write;

use super::{Sandbox, SandboxOptions};
use crate::error::{RunError, shutdown_signal};

/// Serves a sandbox until a signal, printing how to point the tool at it.
pub async fn run(options: SandboxOptions) -> Result<(), RunError> {
    let count = options.guests.len();
    let (port, oauth) = (options.port, options.oauth.clone());
    let sandbox = Sandbox::start(options).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => RunError::PortInUse(port),
        _ => RunError::io("cannot start the sandbox", e),
    })?;
    // stdout: lines a shell can `eval` or a test can parse; stderr: for people.
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "TALLYFY_BASE_URL={}\nTALLYFY_ORG_ID={}\nTALLYFY_ACCESS_TOKEN={}",
        sandbox.base_url(),
        sandbox.org(),
        sandbox.token()
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
    shutdown_signal().await;
    let stats = sandbox.stats();
    tracing::info!(requests = stats.requests, created = stats.created, "sandbox stopped");
    Ok(())
}
