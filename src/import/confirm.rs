//! The one question an interactive import asks: before the first invitation goes out, which
//! organization (by name, so a wrong one is noticed) and how many guests. Never asked when
//! stdin or stderr is not a terminal (cron, CI, a pipe), on a dry run, against the built-in
//! sandbox, or with `--yes`.

use std::io::{BufRead, IsTerminal, Write};

use crate::api::Client;
use crate::error::RunError;
use crate::modes::Removal;

/// Asks, when there is someone to ask and a `client` to invite through; a refusal is
/// `RunError::Declined` (nothing sent).
/// `undo` says how an undo takes guests away; `also` is what else the run will do, said in the
/// question (`--on-missing delete`: guests not in the file are deleted).
pub async fn before_inviting(
    client: Option<&Client>,
    rows: Option<u64>,
    undo: Option<Removal>,
    also: Option<String>,
) -> Result<(), RunError> {
    match client {
        Some(client) if interactive() && !confirmed(client, rows, undo, also).await? => Err(RunError::Declined),
        _ => Ok(()),
    }
}

/// Whether a person is there to answer: stdin and stderr are both terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks `Create up to N guests in ‹org name› (‹org id›)? [y/N]`; only `y` or `yes` goes on.
/// (`Delete up to N guests from ‹org›? …` for an undo.)
pub async fn confirmed(
    client: &Client,
    rows: Option<u64>,
    undo: Option<Removal>,
    also: Option<String>,
) -> Result<bool, RunError> {
    let org = match client.organization_name().await {
        Some(name) => format!("{name} ({})", client.org()),
        None => client.org().to_string(),
    };
    let count = match rows {
        Some(1) => "up to 1 guest".to_string(),
        Some(rows) => format!("up to {rows} guests"),
        None => "the guests of this file".to_string(),
    };
    let question = match undo {
        None => format!(
            "Create {count} in {org}? Each new guest is emailed an invitation.{} [y/N] ",
            also.map_or(String::new(), |also| format!(" {also}"))
        ),
        Some(Removal::Delete) => {
            format!(
                "Delete {count} from {org}? Only those the results say were created; deleting cannot be undone. [y/N] "
            )
        }
        Some(Removal::Disable) => format!("Disable {count} in {org}? Only those the results say were created. [y/N] "),
    };
    let answer = tokio::task::spawn_blocking(move || {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(question.as_bytes());
        let _ = stderr.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await
    .map_err(|e| RunError::io("cannot read the answer", std::io::Error::other(e)))?
    .map_err(|e| RunError::io("cannot read the answer", e))?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}
