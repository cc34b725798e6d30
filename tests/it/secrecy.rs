//! The token never shows: not on a rejected token, not at trace level, not in JSON logs.

use tallyfy_guests::sandbox::SandboxOptions;

use crate::util::{bin, generated_guests, spawn};

const WRONG: &str = "wrong-token-s3cr3t-0123456789";
const RIGHT: &str = "right-token-s3cr3t-9876543210";

fn sandbox() -> tallyfy_guests::sandbox::Sandbox {
    spawn(SandboxOptions {
        token: RIGHT.into(),
        guests: generated_guests(5),
        ..SandboxOptions::default()
    })
}

fn run(
    sandbox: &tallyfy_guests::sandbox::Sandbox,
    token: &str,
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> (Option<i32>, String) {
    let mut cmd = bin();
    cmd.env("TALLYFY_BASE_URL", sandbox.base_url())
        .env("TALLYFY_ORG_ID", sandbox.org())
        .env("TALLYFY_ACCESS_TOKEN", token);
    for (key, value) in extra_env {
        cmd.env(key, value);
    }
    let output = cmd.arg("export").args(args).output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), all)
}

#[test]
fn a_rejected_token_is_named_but_never_shown() {
    let sandbox = sandbox();
    for env in [&[][..], &[("RUST_LOG", "trace")][..]] {
        for args in [&[][..], &["--log-format", "json"][..]] {
            let (code, output) = run(&sandbox, WRONG, env, args);
            assert_eq!(code, Some(2), "{output}");
            assert!(output.contains("the access token was rejected (401"), "{output}");
            assert!(
                !output.contains(WRONG) && !output.contains("s3cr3t"),
                "token leaked with {env:?} {args:?}:\n{output}"
            );
        }
    }
}

#[test]
fn a_working_token_is_not_logged_at_trace_level_either() {
    let sandbox = sandbox();
    let (code, output) = run(&sandbox, RIGHT, &[("RUST_LOG", "trace")], &[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("guest00004@"), "the export itself ran");
    assert!(output.contains("TRACE"), "trace logging was on:\n{output}");
    assert!(!output.contains("s3cr3t"), "token leaked at trace level:\n{output}");
}

#[test]
fn the_token_file_works_and_accepts_a_pasted_bearer_prefix() {
    let sandbox = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("Bearer {RIGHT}\n")).unwrap();
    let output = bin()
        .env("TALLYFY_BASE_URL", sandbox.base_url())
        .env("TALLYFY_ORG_ID", sandbox.org())
        .args(["export", "--token-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
