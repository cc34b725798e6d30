//! A command that ends at set-up still leaves a true `--summary-json` (monitoring must never read
//! an earlier run's exit code), and a token offered as a flag is pointed at the ways a token is
//! given, never at `--token-url`.

use crate::util::{Workspace, expect_exit};

fn summary(ws: &Workspace) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(ws.path("summary.json")).unwrap()).unwrap()
}

#[test]
fn the_summary_is_rewritten_when_the_command_ends_at_set_up() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@example.org\n");
    expect_exit(
        ws.cmd().args(["import", "--summary-json", "summary.json"]).arg(&file),
        0,
    );
    assert_eq!(summary(&ws)["exit_code"], 0);
    let cases: [(&[&str], &str); 4] = [
        (&["--concurrency", "0"], "--concurrency"),
        (&["--on-existing", "sometimes"], "sometimes"),
        (&["--max-errors=lots"], "lots"),
        (&["--token", "abc"], "TALLYFY_ACCESS_TOKEN"),
    ];
    for (flags, named) in cases {
        let stderr = expect_exit(
            ws.cmd()
                .args(["import", "--summary-json", "summary.json"])
                .args(flags)
                .arg(&file),
            2,
        );
        let written = summary(&ws);
        assert_eq!(written["exit_code"], 2, "{flags:?}: {written}\n{stderr}");
        assert_eq!(written["command"], "import");
        let error = written["error"].as_str().unwrap();
        assert!(error.contains(named), "{flags:?}: {error}");
        assert!(!error.contains("abc"), "the secret stays out of the summary: {error}");
        // Written again from scratch: nothing of the earlier run's account is left.
        assert_eq!(written["created"].as_u64().unwrap_or(0), 0, "{written}");
    }
    // A file that is not there: set-up, exit 2, and said in the summary.
    expect_exit(
        ws.cmd().args(["import", "--summary-json", "summary.json", "gone.csv"]),
        2,
    );
    let written = summary(&ws);
    assert_eq!(written["exit_code"], 2);
    assert!(written["error"].as_str().unwrap().contains("gone.csv"), "{written}");
}

#[test]
fn a_flag_refused_by_clap_never_replaces_a_file_that_is_not_a_summary() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@example.org\n");
    // The input named as the summary by mistake, with a bad flag: the input survives.
    expect_exit(
        ws.cmd()
            .args(["import", "--concurrency", "0", "--summary-json"])
            .arg(&file)
            .arg(&file),
        2,
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "email\nann@example.org\n");
}

#[test]
fn a_token_given_as_a_flag_is_pointed_at_the_ways_a_token_is_given() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@example.org\n");
    for flags in [
        &["--token", "abc"][..],
        &["--api-key", "abc"],
        &["--api-key=abc"],
        &["--token=abc"],
    ] {
        for command in ["import", "export"] {
            let mut cmd = ws.cmd();
            cmd.arg(command).args(flags);
            if command == "import" {
                cmd.arg(&file);
            }
            let stderr = expect_exit(&mut cmd, 2);
            for named in ["TALLYFY_ACCESS_TOKEN", "--token-file", "--token-command"] {
                assert!(stderr.contains(named), "{flags:?}: {stderr}");
            }
            assert!(!stderr.contains("--token-url"), "{flags:?}: {stderr}");
            assert!(!stderr.contains("abc"), "{flags:?}: {stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        }
    }
    let stderr = expect_exit(
        ws.cmd()
            .args(["--log-format", "json", "import", "--token", "abc"])
            .arg(&file),
        2,
    );
    let line: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert!(line["message"].as_str().unwrap().contains("--token-file"), "{line}");
}

#[cfg(unix)]
#[test]
fn a_report_that_cannot_be_written_at_the_end_is_the_summarys_error() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\na@corp.com\n");
    // The missing-guests report is written last, to a FIFO nobody reads: it times out.
    let fifo = ws.path("missing.fifo");
    crate::util::mkfifo(&fifo);
    expect_exit(
        ws.cmd()
            .args([
                "import",
                "--yes",
                "--io-timeout",
                "1s",
                "--summary-json",
                "summary.json",
            ])
            .arg("--report-missing")
            .arg(&fifo)
            .arg(&file),
        1,
    );
    let summary = summary(&ws);
    assert_eq!(summary["exit_code"], 1, "{summary}");
    let error = summary["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {summary}"));
    assert!(error.contains("missing.fifo"), "{error}");
}

/// A `--retry-from` file's hash in the summary is the one set-up's single verified reading
/// took (issue 31: the file is not read again to hash it), and it is the file's true SHA-256.
#[test]
fn a_retried_results_files_hash_is_its_sha256() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\na@corp.com\nnot-an-address\n");
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 1);
    let results = std::fs::read(ws.path("guests.results.csv")).unwrap();
    expect_exit(
        ws.cmd().args([
            "import",
            "--yes",
            "--summary-json",
            "summary.json",
            "--retry-from",
            "guests.results.csv",
        ]),
        1,
    );
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&results)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(summary(&ws)["input_sha256"], digest.as_str());
}
