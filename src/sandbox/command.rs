//! `tallyfy-guests sandbox`: serve the emulator until Ctrl-C, printing how to point the tool at it.

use std::io::Write;

use super::{FaultOptions, OAuthOptions, Sandbox, SandboxOptions, load_guests, sample_guests};
use crate::cli::SandboxArgs;
use crate::config::parse_org;
use crate::error::{RunError, shutdown_signal};

pub async fn run(args: SandboxArgs) -> Result<(), RunError> {
    let guests = match (&args.guests, args.empty) {
        (Some(path), _) => {
            let file = std::fs::File::open(path).map_err(|e| {
                RunError::Usage(format!(
                    "cannot open --guests {}: {}",
                    path.display(),
                    crate::words::io_words(&e)
                ))
            })?;
            load_guests(std::io::BufReader::new(file))
                .map_err(|e| RunError::Usage(format!("--guests {}: {e}", path.display())))?
        }
        (None, true) => Vec::new(),
        (None, false) => sample_guests(),
    };
    if args.token.trim().is_empty() {
        return Err(RunError::Usage("--token must not be empty".into()));
    }
    let count = guests.len();
    let oauth = OAuthOptions {
        client_id: args.client_id,
        client_secret: args.client_secret,
        lifetime: args.token_lifetime,
        uses: args.token_uses,
    };
    let options = SandboxOptions {
        port: args.port,
        org: parse_org(&args.org)?,
        token: args.token,
        guests,
        per_page_cap: u64::from(args.per_page_cap),
        legacy: args.legacy,
        faults: FaultOptions {
            latency: args.latency,
            error_rate: args.error_rate,
            drop_rate: args.drop_rate,
            commit_fail_rate: args.commit_fail_rate,
            create_error_rate: args.create_error_rate,
            burst_limit: args.burst_limit,
            invite_cap: args.invite_cap,
            other_writer_rate: args.other_writer_rate,
            read_lag: args.read_lag,
            revoke_token_after: None,
            seed: args.seed,
        },
        oauth: oauth.clone(),
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start(options).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => RunError::Usage(format!(
            "port {} is in use: pass --port 0 to pick a free one",
            args.port
        )),
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
