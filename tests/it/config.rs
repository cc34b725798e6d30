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

#[test]
fn the_token_comes_from_either_env_name_or_a_command_and_is_never_printed() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@example.org\n");
    let token = ws.sandbox.token().to_string();
    // Tallyfy's own CLI's name for it.
    let first = ws.write("first.csv", "email\nfirst@example.org\n");
    let mut cmd = ws.cmd();
    cmd.env_remove("TALLYFY_ACCESS_TOKEN")
        .env("TALLYFY_API_TOKEN", &token)
        .arg("import")
        .arg(&first);
    crate::util::expect_exit(&mut cmd, 0);
    assert!(
        ws.sandbox.guest("first@example.org").is_some(),
        "reached with that token"
    );
    // Both, and different: an error, not a guess.
    let mut cmd = ws.cmd();
    cmd.env("TALLYFY_API_TOKEN", "another-token")
        .args(["import", "--dry-run"])
        .arg(&file);
    let stderr = crate::util::expect_exit(&mut cmd, 2);
    assert!(stderr.contains("both set, to different tokens"), "{stderr}");
    // A command (a secret manager), with every log level on: the token never shows.
    let mut cmd = ws.cmd();
    cmd.env_remove("TALLYFY_ACCESS_TOKEN")
        .env("RUST_LOG", "trace")
        .arg("import")
        .arg("--token-command")
        .arg(format!("printf '%s\\n' {token}"))
        .arg(&file);
    let output = cmd.output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for stream in [&output.stdout, &output.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(&token),
            "the token was printed"
        );
    }
    assert!(ws.sandbox.guest("ann@example.org").is_some());
    let mut cmd = ws.cmd();
    cmd.env_remove("TALLYFY_ACCESS_TOKEN")
        .args(["import", "--dry-run", "--token-command", "exit 7"])
        .arg(&file);
    let stderr = crate::util::expect_exit(&mut cmd, 2);
    assert!(
        stderr.contains("--token-command did not give a token: it exited with status 7"),
        "{stderr}"
    );
}
