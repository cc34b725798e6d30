//! `doctor`: a set-up checked before the first real run, one line a check, exit 2 at the first
//! that fails, and nothing written.

use tallyfy_guests::sandbox::SandboxOptions;

use crate::util::{Workspace, expect_exit};

fn report_lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout).lines().map(str::to_string).collect()
}

#[test]
fn a_good_set_up_passes_every_check_and_names_the_organization() {
    let ws = Workspace::new(SandboxOptions {
        org_name: "Acme Onboarding".into(),
        guests: crate::util::generated_guests(3),
        ..SandboxOptions::default()
    });
    let output = ws.cmd().arg("doctor").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let lines = report_lines(&output.stdout);
    let checks: Vec<&str> = lines.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        checks,
        [
            "ok    configuration",
            "ok    reachable",
            "ok    token",
            "ok    organization",
            "ok    guest list",
            "ok    rate limits"
        ]
    );
    assert!(lines[0].contains("token from TALLYFY_ACCESS_TOKEN"), "{lines:?}");
    assert!(
        lines[3].contains("Acme Onboarding (5a4db0c5a4db0c5a4db0c5a4db0c5a4d)"),
        "{lines:?}"
    );
    assert!(lines[4].contains("readable: 3 guests"), "{lines:?}");
    assert_eq!(ws.sandbox.stats().posts + ws.sandbox.stats().puts, 0, "read only");
    // The alias, and one JSON object for machines.
    let output = ws.cmd().args(["--log-format", "json", "whoami"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["checks"].as_array().unwrap().len(), 6);
}

#[test]
fn a_wrong_token_fails_on_the_token_line_and_a_foreign_org_on_the_organization_line() {
    let ws = Workspace::empty();
    let output = ws
        .cmd()
        .env("TALLYFY_ACCESS_TOKEN", "not-the-token")
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let lines = report_lines(&output.stdout);
    assert_eq!(lines.len(), 3, "stops at the first failure: {lines:?}");
    assert!(
        lines[2].starts_with("FAIL  token: the access token was rejected (401"),
        "{lines:?}"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("not-the-token"));

    let output = ws
        .cmd()
        .env("TALLYFY_ORG_ID", "0123456789abcdef0123456789abcdef")
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let lines = report_lines(&output.stdout);
    let last = lines.last().unwrap();
    assert!(last.starts_with("FAIL  organization:"), "{lines:?}");
    // The sandbox answers 403 for an org it does not serve; either way the line says why.
    let missing = expect_exit(ws.cmd().env_remove("TALLYFY_ORG_ID").arg("doctor"), 2);
    assert!(missing.is_empty(), "the report is on stdout: {missing}");
}
