//! Configuration errors: exit 2, one line that says what is wrong and how to fix it.

use tallyfy_guests::sandbox::SandboxOptions;

use crate::util::{Workspace, bin, generated_guests};

fn usage_error(cmd: &mut assert_cmd::Command) -> String {
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty());
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn plain_http_is_refused_unless_loopback() {
    let stderr = usage_error(
        bin()
            .env("TALLYFY_ORG_ID", "5a4db0c5a4db0c5a4db0c5a4db0c5a4d")
            .env("TALLYFY_ACCESS_TOKEN", "t")
            .args(["export", "--base-url", "http://example.com"]),
    );
    assert!(stderr.contains("refusing plain http:// to `example.com`"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    let ws = Workspace::new(SandboxOptions {
        guests: generated_guests(2),
        ..SandboxOptions::default()
    });
    let base = format!("http://127.0.0.1:{}/api", ws.sandbox.addr().port());
    let output = ws.cmd().args(["export", "--base-url", &base]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // A trailing slash on the base must not double anything either.
    let output = ws
        .cmd()
        .args(["export", "--base-url", &format!("{base}/")])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn missing_org_and_token_name_the_flag_and_the_variable() {
    let stderr = usage_error(bin().env("TALLYFY_ACCESS_TOKEN", "t").arg("export"));
    assert!(
        stderr.contains("--org") && stderr.contains("TALLYFY_ORG_ID"),
        "{stderr}"
    );
    let stderr = usage_error(
        bin()
            .env("TALLYFY_ORG_ID", "5a4db0c5a4db0c5a4db0c5a4db0c5a4d")
            .arg("export"),
    );
    assert!(
        stderr.contains("TALLYFY_ACCESS_TOKEN") && stderr.contains("--token-file"),
        "{stderr}"
    );
    let stderr = usage_error(bin().env("TALLYFY_ACCESS_TOKEN", "t").args(["export", "--org", "acme"]));
    assert!(stderr.contains("`acme` is not an organization id"), "{stderr}");
    let stderr = usage_error(bin().args(["export", "--sandbox", "--rate", "10/fortnight"]));
    assert!(stderr.contains("10/fortnight"), "{stderr}");
}

#[test]
fn a_wrong_org_or_base_path_is_explained() {
    let ws = Workspace::new(SandboxOptions::default());
    let output = ws
        .cmd()
        .args(["export", "--org", "00000000000000000000000000000000"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "a refused org is configuration to fix");
    assert!(String::from_utf8_lossy(&output.stderr).contains("access to this organization was refused (403"));
    let base = format!("{}/v9", ws.sandbox.base_url());
    let output = ws.cmd().args(["export", "--base-url", &base]).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("check --base-url"));
}
