//! `doctor` (also `whoami`): read-only checks of a set-up, one line each, in order, stopping at
//! the first that fails: the configuration, reaching the API, the token, the organization, the
//! guest list, and any rate-limit headers the API sends. The first step of a cron set-up.

use std::io::Write;

use crate::api::{ApiErrorKind, Client, organization_label};
use crate::config::DoctorConfig;
use crate::error::{Exit, RunError};
use crate::logging::Ui;

/// One check and how it went.
#[derive(Debug, serde::Serialize)]
struct Check {
    check: &'static str,
    ok: bool,
    /// Passed, but worth fixing (a token file others can read): `warn` on its own line.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    warn: bool,
    detail: String,
}

/// Runs the checks and prints them (one JSON object with `json`); exit 0 when all pass, 2 not.
pub async fn run(config: DoctorConfig, ui: Ui) -> Result<Exit, RunError> {
    let json = ui.json;
    let mut checks = Vec::new();
    let reach = match config.reach {
        Ok(reach) => reach,
        Err(error) => {
            checks.push(fail("configuration", error.problems().join("; ")));
            return report(checks, json);
        }
    };
    let (api, _sandbox) = crate::connect::online(reach).await?;
    checks.push(pass(
        "configuration",
        format!(
            "token from {}; base URL {}; organization {}",
            config.token_source, api.base_url, api.org
        ),
    ));
    for (check, warning) in config.warnings {
        checks.push(Check {
            check,
            ok: true,
            warn: true,
            detail: warning,
        });
    }
    let client = Client::new(&api)?;
    let host = api.base_url.host_str().unwrap_or("the API").to_string();
    match client.me().await {
        Ok(email) => {
            checks.push(pass("reachable", format!("{host} answered")));
            checks.push(pass("token", format!("accepted: acting as {email}")));
        }
        Err(error) if matches!(error.kind, ApiErrorKind::Unreachable { .. }) => {
            checks.push(fail("reachable", error.to_string()));
            return report(checks, json);
        }
        Err(error) => {
            checks.push(pass("reachable", format!("{host} answered")));
            checks.push(fail("token", error.to_string()));
            return report(checks, json);
        }
    }
    let organization = organization(&client, &api.org).await;
    let found = organization.ok;
    checks.push(organization);
    if !found {
        return report(checks, json);
    }
    match client.list_page(1, 1, false).await {
        Ok(page) => checks.push(pass(
            "guest list",
            format!("readable: {} guests", page.value.pagination.total),
        )),
        Err(error) => {
            checks.push(fail("guest list", error.to_string()));
            return report(checks, json);
        }
    }
    checks.push(pass(
        "rate limits",
        client
            .rate_limit_seen()
            .unwrap_or_else(|| "no rate-limit headers seen (pace creates with --invite-rate 30/h)".into()),
    ));
    report(checks, json)
}

/// The organization check: `org` is one of the token's user's organizations, named.
async fn organization(client: &Client, org: &str) -> Check {
    match client.organizations().await {
        Ok(organizations) => match organizations.iter().find(|(id, _)| id.eq_ignore_ascii_case(org)) {
            Some((id, name)) => pass("organization", organization_label(Some(name), id)),
            None => {
                let theirs: Vec<String> = organizations
                    .iter()
                    .map(|(id, name)| organization_label(Some(name), id))
                    .collect();
                fail(
                    "organization",
                    format!(
                        "{org} is not one of the token's user's organizations ({}): check TALLYFY_ORG_ID",
                        if theirs.is_empty() {
                            "none".to_string()
                        } else {
                            theirs.join(", ")
                        }
                    ),
                )
            }
        },
        Err(error) => fail("organization", error.to_string()),
    }
}

fn pass(check: &'static str, detail: String) -> Check {
    Check {
        check,
        ok: true,
        warn: false,
        detail,
    }
}

fn fail(check: &'static str, detail: String) -> Check {
    Check {
        check,
        ok: false,
        warn: false,
        detail,
    }
}

/// Prints the checks on stdout and turns them into the exit code.
fn report(checks: Vec<Check>, json: bool) -> Result<Exit, RunError> {
    let ok = checks.iter().all(|check| check.ok);
    let text = if json {
        serde_json::json!({"ok": ok, "checks": checks}).to_string()
    } else {
        checks
            .iter()
            .map(|c| {
                let word = match (c.ok, c.warn) {
                    (false, _) => "FAIL",
                    (true, true) => "warn",
                    (true, false) => "ok",
                };
                format!("{word:<5} {}: {}", c.check, c.detail)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    writeln!(std::io::stdout(), "{text}").map_err(|e| RunError::io("cannot write to stdout", e))?;
    Ok(if ok { Exit::Success } else { Exit::Usage })
}
