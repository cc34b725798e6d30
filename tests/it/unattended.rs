//! Runs with nobody watching (cron): a heartbeat so a working job can be told from a hung one,
//! and, with `--log-format json`, nothing on stderr but JSON lines.

use crate::util::{Workspace, expect_exit};

#[test]
fn a_paced_run_off_a_terminal_says_how_it_is_going() {
    let ws = Workspace::empty();
    let mut csv = String::from("email\n");
    for i in 0..6 {
        csv.push_str(&format!("paced{i}@example.org\n"));
    }
    let file = ws.write("guests.csv", &csv);
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--invite-rate", "2/s", "--heartbeat", "1s"])
            .arg(&file),
        0,
    );
    let beats: Vec<&str> = stderr.lines().filter(|l| l.contains("progress: ")).collect();
    assert!(!beats.is_empty(), "{stderr}");
    assert!(beats[0].contains(" of 6 rows"), "{stderr}");
    assert!(beats.iter().any(|l| l.contains("created")), "{stderr}");
    // Off with 0.
    let again = ws.write("again.csv", "email\nlater@example.org\n");
    let stderr = expect_exit(ws.cmd().args(["import", "--heartbeat", "0s"]).arg(&again), 0);
    assert!(!stderr.contains("progress: "), "{stderr}");
}

#[test]
fn with_json_logs_every_stderr_line_is_json_even_a_usage_error() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@example.org\nbad\n");
    for args in [
        vec!["--log-format", "json", "import", "--heartbeat", "1s"],
        vec!["--log-format", "json", "import", "--concurrency", "0"],
        vec!["--log-format", "json", "import", "--no-such-flag"],
        vec![
            "--log-format",
            "json",
            "import",
            "--summary-json",
            "/no/such/folder/s.json",
        ],
    ] {
        let output = ws.cmd().args(&args).arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.trim().is_empty(), "{args:?}");
        for line in stderr.lines() {
            let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
            assert!(parsed.is_ok(), "{args:?}: not JSON: {line}");
        }
    }
}

#[cfg(unix)]
#[test]
fn every_file_written_has_one_mode_and_the_summary_can_go_to_stdout() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@example.org\n");
    let output = ws
        .cmd()
        .args(["-q", "import", "--summary-json", "-", "--report-missing", "missing.csv"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["counts"]["created"], 1);
    expect_exit(ws.cmd().args(["export", "--output", "export.csv"]), 0);
    expect_exit(ws.cmd().args(["template", "template.xlsx"]), 0);
    let mode = |name: &str| std::fs::metadata(ws.path(name)).unwrap().permissions().mode() & 0o777;
    let modes: Vec<u32> = ["guests.results.csv", "missing.csv", "export.csv", "template.xlsx"]
        .iter()
        .map(|name| mode(name))
        .collect();
    assert!(modes.iter().all(|&m| m == modes[0]), "{modes:?}");
    assert_eq!(
        modes[0] & 0o044,
        0o044,
        "readable by others, as a file to share: {:o}",
        modes[0]
    );
    // Both on stdout cannot be.
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "-", "--summary-json", "-"])
            .write_stdin("email\nx@example.org\n"),
        2,
    );
    assert!(stderr.contains("both want stdout"), "{stderr}");
}

/// What bash would offer for `words` (the last one being completed), using the script the
/// binary prints; `None` where there is no bash.
fn bash_completes(ws: &Workspace, words: &[&str]) -> Option<String> {
    let output = ws.cmd().args(["completions", "bash"]).output().unwrap();
    let script = ws.write("completion.bash", &String::from_utf8(output.stdout).unwrap());
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _tallyfy__guests tallyfy-guests \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[*]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1
    );
    let output = std::process::Command::new("bash")
        .args(["-c", &program])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[test]
fn bash_completes_the_flags_and_values_of_a_subcommand() {
    let ws = Workspace::empty();
    let Some(values) = bash_completes(&ws, &["tallyfy-guests", "import", "--on-existing", ""]) else {
        return; // no bash here
    };
    assert_eq!(values, "skip update");
    let flags = bash_completes(&ws, &["tallyfy-guests", "import", "--ra"]).unwrap();
    assert_eq!(flags, "--rate --raw");
}

#[test]
fn the_manual_page_is_roff_for_the_command_with_each_subcommand_in_it() {
    let ws = Workspace::empty();
    let output = ws.cmd().arg("man").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let roff = String::from_utf8(output.stdout).unwrap();
    assert!(roff.contains(".TH tallyfy-guests 1"), "{roff:.200}");
    // One page (issue 26): each subcommand a part of it, not a page of its own.
    assert_eq!(roff.matches(".TH ").count(), 1);
    for sub in ["import", "export", "doctor", "sandbox", "template"] {
        assert!(roff.contains(&format!(".SS \"tallyfy\\-guests {sub}\"")), "{sub}");
    }
    assert!(roff.contains("invite\\-rate"), "the flags are in it");
    let page = ws.write("tallyfy-guests.1", &roff);
    // Where groff is installed, it reads the page without a complaint.
    if let Ok(groff) = std::process::Command::new("groff")
        .args(["-man", "-T", "utf8", "-z", "-ww"])
        .arg(&page)
        .output()
    {
        assert!(groff.status.success());
        assert!(groff.stderr.is_empty(), "{}", String::from_utf8_lossy(&groff.stderr));
    }
}
