//! Runs that stop and are run again: killed midway, interrupted, capped by the invite limit,
//! a token revoked mid-run. Every row is accounted for each time, and a re-run finishes the
//! job without creating anyone twice.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tallyfy_guests::sandbox::{FaultOptions, Sandbox, SandboxOptions};

use crate::import::{faulty, sandbox_emails, scenario, statuses};
use crate::util::{
    PROMPTLY, Workspace, against, expect_exit, parse_result_rows, process_against, result_rows, spawn, wait_for, write,
};

/// The binary against `sandbox` as a child process (to kill or signal), with the same clean
/// environment as every other run.
fn start(sandbox: &Sandbox, args: &[&str]) -> Child {
    process_against(sandbox)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_created(sandbox: &Sandbox, at_least: u64) {
    wait_for("the import creating guests", || sandbox.stats().created >= at_least);
}

/// The `created` rows already on disk in a results file being written (whole lines only).
fn created_on_disk(path: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let whole = text.rfind('\n').map_or("", |end| &text[..=end]);
    if whole.is_empty() {
        return 0;
    }
    parse_result_rows(whole)
        .iter()
        .filter(|r| r.result_status == "created")
        .count()
}

#[test]
fn killed_midway_then_run_again_ends_with_exactly_the_expected_guests() {
    let scenario = scenario(2000);
    let ws = Workspace::new(faulty(scenario.existing.clone(), Duration::from_millis(20)));
    let file = ws.write("guests.csv", &scenario.csv);
    let file_arg = file.to_str().unwrap();

    let mut child = start(&ws.sandbox, &["import", "--concurrency", "8", file_arg]);
    // Killed once finished rows have reached the disk (results are flushed on a tick).
    let results = ws.path("guests.results.csv");
    wait_for("200 created rows on disk", || created_on_disk(&results) >= 200);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();

    // What the killed run wrote is true: every row it calls created is in the organization.
    let partial = result_rows(&ws.path("guests.results.csv"));
    let created_before: Vec<_> = partial.iter().filter(|r| r.result_status == "created").collect();
    assert!(
        created_before.len() >= 200,
        "finished rows reached the disk: {}",
        partial.len()
    );
    assert!(
        created_before
            .iter()
            .all(|r| ws.sandbox.guest(r.cell("email")).is_some())
    );
    assert!(partial.len() < 2000, "the kill came midway");

    expect_exit(ws.cmd().args(["import", "--concurrency", "16"]).arg(&file), 1);
    let got = statuses(&ws.path("guests.results.csv"));
    assert_eq!(got.len(), 2000);
    for (i, (got, want)) in got.iter().zip(&scenario.expected).enumerate() {
        let ok = got == want || (*want == "created" && got == "exists");
        assert!(ok, "row {}: {got}, expected {want}", i + 2);
    }
    assert!(
        got.iter().filter(|s| *s == "exists").count() > 200,
        "the first run's guests now exist"
    );
    assert_eq!(sandbox_emails(&ws.sandbox), scenario.final_emails);
}

#[test]
fn sigint_defers_the_rest_and_a_rerun_completes() {
    let scenario = scenario(1000);
    let ws = Workspace::new(SandboxOptions {
        guests: scenario.existing.clone(),
        faults: FaultOptions {
            latency: Duration::from_millis(20),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let file = ws.write("guests.csv", &scenario.csv);
    let child = start(&ws.sandbox, &["import", file.to_str().unwrap()]);
    wait_for_created(&ws.sandbox, 100);
    let signal = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    // 900 rows at 20 ms each would still take longer than this: it stopped.
    assert!(started.elapsed() < PROMPTLY, "stops promptly: {:?}", started.elapsed());
    // The file has invalid rows: they need a person, so the exit is 1 even though the run was
    // stopped (and its deferred rows are counted too).
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let got = statuses(&ws.path("guests.results.csv"));
    assert_eq!(got.len(), 1000, "every row accounted for");
    let deferred = got.iter().filter(|s| *s == "deferred").count();
    assert!(deferred > 100, "{deferred}");
    let rows = result_rows(&ws.path("guests.results.csv"));
    assert!(
        rows.iter()
            .filter(|r| r.result_status == "deferred")
            .all(|r| r.result_message.contains("interrupted"))
    );
    assert!(
        rows.iter().any(|r| r.result_status == "invalid"),
        "offline verdicts still reached for the rest"
    );

    let output = ws.cmd().arg("import").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(!statuses(&ws.path("guests.results.csv")).iter().any(|s| s == "deferred"));
    assert_eq!(sandbox_emails(&ws.sandbox), scenario.final_emails);
}

pub(crate) fn new_guests_csv(count: usize) -> String {
    let mut csv = String::from("email,first_name\n");
    for i in 0..count {
        csv.push_str(&format!("invitee{i}@example.org,Invitee {i}\n"));
    }
    csv
}

#[test]
fn an_invite_cap_beyond_max_wait_defers_then_a_longer_max_wait_finishes() {
    let options = |cap: &str| SandboxOptions {
        faults: FaultOptions {
            invite_cap: Some(cap.parse().unwrap()),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &new_guests_csv(12));

    // An hour's cap: the window never resets under a slow run, and its wait is far past 1 s.
    let sandbox = spawn(options("5/h"));
    expect_exit(against(&sandbox).args(["import", "--max-wait", "1s"]).arg(&file), 3);
    let got = statuses(&dir.path().join("guests.results.csv"));
    assert_eq!(got.iter().filter(|s| *s == "created").count(), 5);
    assert_eq!(got.iter().filter(|s| *s == "deferred").count(), 7);
    let rows = result_rows(&dir.path().join("guests.results.csv"));
    let deferred = rows.iter().find(|r| r.result_status == "deferred").unwrap();
    assert!(
        deferred.result_message.contains("rate-limited until") && deferred.result_message.contains("Guest Invite"),
        "{}",
        deferred.result_message
    );
    assert_eq!(sandbox.guests().len(), 5);

    // A window of 3 s, each wait within --max-wait 10s: the client waits them out itself.
    let sandbox = spawn(options("5/3s"));
    expect_exit(against(&sandbox).args(["import", "--max-wait", "10s"]).arg(&file), 0);
    assert!(
        statuses(&dir.path().join("guests.results.csv"))
            .iter()
            .all(|s| s == "created")
    );
    assert_eq!(sandbox.guests().len(), 12);
}

#[test]
fn a_token_revoked_mid_run_defers_the_rest() {
    let ws = Workspace::new(SandboxOptions {
        faults: FaultOptions {
            revoke_token_after: Some(12),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let file = ws.write("guests.csv", &new_guests_csv(40));
    let output = ws
        .cmd()
        .args(["import", "--concurrency", "1"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("access token was rejected"), "{stderr}");
    let got = statuses(&ws.path("guests.results.csv"));
    assert_eq!(
        got.iter().filter(|s| *s == "created").count(),
        10,
        "two GETs for the prefetch (guests, members), then 10 creates"
    );
    assert_eq!(got.iter().filter(|s| *s == "deferred").count(), 30);
}

/// Issue 23: after Ctrl-C or SIGTERM no create starts. Creates waiting on the invite pacer are
/// dropped (deferred), not sent: at most the one already on the wire finishes, and every create
/// the server received is a `created` row.
#[cfg(unix)]
#[test]
fn a_signal_under_invite_pacing_sends_no_create_that_was_still_waiting() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let ws = Workspace::empty();
        let file = ws.write("guests.csv", &crate::hostile::guests_csv(30));
        let child = start(
            &ws.sandbox,
            &[
                "import",
                "--invite-rate",
                "1/500ms",
                "--concurrency",
                "8",
                "--results",
                ws.path("r.csv").to_str().unwrap(),
                file.to_str().unwrap(),
            ],
        );
        wait_for_created(&ws.sandbox, 3);
        let at_signal = ws.sandbox.stats().posts;
        unsafe { libc::kill(child.id() as i32, signal) };
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{stderr}");
        let stats = ws.sandbox.stats();
        assert!(
            stats.posts <= at_signal + 1,
            "signal {signal}: {} creates were sent after the signal (at most the one on the wire may finish)",
            stats.posts - at_signal
        );
        let rows = ws.results("r.csv");
        assert_eq!(rows.len(), 30, "every row accounted for");
        let created = rows.iter().filter(|r| r.result_status == "created").count() as u64;
        assert_eq!(
            created, stats.created,
            "every create the server took is recorded: {stderr}"
        );
        assert_eq!(ws.sandbox.guests().len() as u64, created);
        let deferred = rows.iter().filter(|r| r.result_status == "deferred").count() as u64;
        assert_eq!(deferred + created, 30, "the rest are deferred, to send next time");
    }
}

/// A night that stops at the invite cap with rows that need a person: the person's rows win
/// (exit 1, not the 3 a backlog's monitoring tolerates), the summary counts both, and even
/// `--quiet` says so in one line.
#[test]
fn a_run_stopped_at_the_cap_with_invalid_rows_exits_1_and_says_so_when_quiet() {
    let ws = Workspace::new(SandboxOptions {
        faults: FaultOptions {
            invite_cap: Some("5/1h".parse().unwrap()),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let mut csv = new_guests_csv(12);
    csv.push_str("not-an-address,Bad\nalso bad,Worse\n");
    let file = ws.write("guests.csv", &csv);
    let output = ws
        .cmd()
        .args([
            "--quiet",
            "import",
            "--max-wait",
            "1s",
            "--summary-json",
            "summary.json",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let said: Vec<&str> = stderr.lines().collect();
    assert_eq!(said.len(), 1, "one line when quiet: {stderr}");
    assert!(said[0].contains("2 rows need a person"), "{stderr}");
    assert!(
        said[0].contains("7 rows deferred") && said[0].contains("stopped early"),
        "{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["exit_code"], 1, "{summary}");
    assert_eq!(summary["counts"]["invalid"], 2, "{summary}");
    assert_eq!(summary["counts"]["deferred"], 7, "{summary}");
    assert!(summary["stopped"].is_string(), "{summary}");
    assert!(summary["next_command"].is_string(), "{summary}");
}

/// The sandbox behaves like Tallyfy with no cap flags: 30 invites an hour, so guest 31 of a
/// trial gets Tallyfy's own 429 and is deferred (issue 32), with the built-in sandbox and with
/// the `sandbox` command alike.
#[test]
fn the_sandbox_caps_invites_at_30_an_hour_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("email\n");
    for i in 0..31 {
        csv.push_str(&format!("trial{i}@corp.com\n"));
    }
    let file = write(dir.path(), "trial.csv", &csv);
    let check = |results: &std::path::Path| {
        let rows = result_rows(results);
        assert_eq!(rows.iter().filter(|r| r.result_status == "created").count(), 30);
        let deferred: Vec<_> = rows.iter().filter(|r| r.result_status == "deferred").collect();
        assert_eq!(deferred.len(), 1, "guest 31 waits for the next hour");
        assert!(
            deferred[0].result_message.contains("Guest Invite"),
            "{}",
            deferred[0].result_message
        );
    };
    expect_exit(
        crate::util::bin()
            .current_dir(dir.path())
            .args(["import", "--sandbox", "trial.csv"]),
        3,
    );
    check(&dir.path().join("trial.results.csv"));

    // The `sandbox` command, started with no cap flag; and with `--invite-cap off`, no cap.
    for (cap, code) in [(None, 3), (Some("off"), 0)] {
        let mut server = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tallyfy-guests"))
            .args(["--quiet", "sandbox", "--foreground", "--port", "0", "--empty"])
            .args(cap.map(|cap| ["--invite-cap", cap]).into_iter().flatten())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(server.stdout.take().unwrap()));
        let mut cmd = crate::util::bin();
        for _ in 0..3 {
            let line = lines.next().unwrap().unwrap();
            let (key, value) = line.trim_start_matches("export ").split_once('=').unwrap();
            cmd.env(key, value.trim_matches('\''));
        }
        let results = dir.path().join(format!("trial-{code}.results.csv"));
        expect_exit(
            cmd.args(["import", "--yes", "--results"]).arg(&results).arg(&file),
            code,
        );
        server.kill().unwrap();
        server.wait().unwrap();
        if code == 3 {
            check(&results);
        } else {
            assert!(result_rows(&results).iter().all(|r| r.result_status == "created"));
        }
    }
}
