//! The acts journal (issue 22, write ahead): every delete is on disk before it is sent, a run
//! killed mid-mirror leaves each of its deletions recorded and the same command finishes the
//! job, and a journal or report that cannot be written never lets a deletion go unrecorded.

use std::time::Duration;

use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::{FaultOptions, SandboxOptions};

use crate::util::{Workspace, expect_exit, read_csv};

/// An organization of `named + unnamed` guests answering after `latency`, and a file naming
/// the first `named`.
fn organization(named: usize, unnamed: usize, latency: Duration) -> (Workspace, std::path::PathBuf, Vec<String>) {
    let guests: Vec<Guest> = (0..named + unnamed)
        .map(|i| Guest {
            email: format!("g{i:03}@corp.com"),
            id: (1000 + i).to_string(),
            ..Guest::default()
        })
        .collect();
    let ws = Workspace::new(SandboxOptions {
        guests: guests.clone(),
        faults: FaultOptions {
            latency,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let mut csv = String::from("email\n");
    for guest in &guests[..named] {
        csv.push_str(&format!("{}\n", guest.email));
    }
    let file = ws.write("crm.csv", &csv);
    let unnamed = guests[named..].iter().map(|g| g.email.clone()).collect();
    (ws, file, unnamed)
}

const MIRROR: [&str; 7] = [
    "import",
    "--on-missing",
    "delete",
    "--max-missing",
    "100%",
    "--concurrency",
    "4",
];

/// The journal's lines as (email, phase).
fn journal(ws: &Workspace) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(ws.path("crm.results.acts.csv")).unwrap_or_default();
    if text.is_empty() {
        return Vec::new();
    }
    let (header, rows) = read_csv(&text);
    assert_eq!(header, ["time", "act", "email", "guest_id", "phase", "message"]);
    rows.into_iter().map(|row| (row[2].clone(), row[4].clone())).collect()
}

#[test]
fn sigkill_mid_mirror_leaves_every_deletion_recorded_and_the_same_command_finishes() {
    let (ws, file, unnamed) = organization(5, 100, Duration::from_millis(20));
    let mut child = ws
        .process()
        .args(MIRROR)
        .args(["--report-missing", "missing.csv"])
        .arg(&file)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::util::wait_for("the mirror deleting", || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        ws.sandbox.stats().deletes >= 20
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // A delete the sandbox had received before the kill may still be applied (half its latency
    // later): read what is gone once the killed run's connections are closed and no request
    // is in flight.
    crate::util::wait_for("the sandbox done with the killed run", || {
        let stats = ws.sandbox.stats();
        stats.connections == 0 && stats.settled == stats.requests
    });
    let present: std::collections::HashSet<String> = ws.sandbox.guests().into_iter().map(|g| g.email).collect();
    let gone: Vec<&String> = unnamed.iter().filter(|email| !present.contains(*email)).collect();
    // (A delete in flight when the process died may or may not have been applied.)
    assert!(gone.len() >= 10 && gone.len() < 100, "{} deleted", gone.len());
    let lines = journal(&ws);
    for email in &gone {
        assert!(
            lines.contains(&(email.to_string(), "sending".to_string())),
            "{email} was deleted with no line in the journal"
        );
    }

    // The same command again: the rest are deleted, the deleted ones are not missing any more.
    let before = ws.sandbox.stats().deletes;
    expect_exit(
        ws.cmd()
            .args(MIRROR)
            .args(["--report-missing", "missing.csv"])
            .arg(&file),
        0,
    );
    assert_eq!(ws.sandbox.guests().len(), 5, "only the named guests are left");
    assert_eq!(
        ws.sandbox.stats().deletes - before,
        100 - gone.len() as u64,
        "none deleted twice"
    );
    let lines = journal(&ws);
    for email in &unnamed {
        assert!(lines.contains(&(email.clone(), "deleted".to_string())) || gone.contains(&email));
    }
}

#[test]
fn a_journal_that_cannot_be_written_stops_the_run_before_any_delete() {
    let (ws, file, _) = organization(5, 10, Duration::ZERO);
    // Something else holds the journal's name: a folder (a full disk or a read-only mount
    // would fail the same way; root ignores permissions, so a folder stands in).
    std::fs::create_dir(ws.path("crm.results.acts.csv")).unwrap();
    let output = ws
        .cmd()
        .args(MIRROR)
        .args(["--report-missing", "missing.csv"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("acts journal"), "{stderr}");
    assert_eq!(ws.sandbox.stats().deletes, 0, "nothing deleted unrecorded");
    assert_eq!(ws.sandbox.guests().len(), 15);
}

#[test]
fn a_report_that_fails_at_the_end_still_counts_what_was_done_and_exits_non_zero() {
    let (ws, file, _) = organization(5, 40, Duration::from_millis(20));
    std::fs::create_dir(ws.path("out")).unwrap();
    // Its deletes are held until the folder is gone.
    ws.sandbox.hold_writes();
    let child = ws
        .process()
        .args(MIRROR)
        .args(["--report-missing", "out/missing.csv"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once deleting has begun, the report's folder goes away (as a disk fills up, or a share
    // is unmounted): the report cannot be written at the end.
    crate::util::wait_for("the mirror deleting", || ws.sandbox.stats().deletes >= 1);
    assert!(
        ws.path("out/missing.csv").exists(),
        "the report is written before acting"
    );
    std::fs::remove_dir_all(ws.path("out")).unwrap();
    std::fs::write(ws.path("out"), "in the way").unwrap();
    ws.sandbox.release_writes();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(ws.sandbox.guests().len(), 5, "the deletions went ahead\n{stderr}");
    assert!(stderr.contains("40 deleted"), "the summary counts them\n{stderr}");
    let deleted = journal(&ws).iter().filter(|(_, phase)| phase == "deleted").count();
    assert_eq!(deleted, 40, "each is in the journal");
}

#[test]
fn a_report_path_that_cannot_be_written_stops_the_mirror_before_its_first_delete() {
    let (ws, file, _) = organization(5, 10, Duration::ZERO);
    // The report's name is a folder: setup refuses it, or the write ahead of acting fails.
    std::fs::create_dir(ws.path("missing.csv")).unwrap();
    let output = ws
        .cmd()
        .args(MIRROR)
        .args(["--report-missing", "missing.csv"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(ws.sandbox.stats().deletes, 0, "{stderr}");
}

/// `--report-missing` or `--summary-json` naming the journal's own path (`crm.results.acts.csv`
/// beside `crm.results.csv`) used to be accepted: the report, written by a rename, replaced the
/// journal after the deletions, and every line recording them was gone. Now set-up refuses it,
/// and an earlier run's journal is kept as it was.
#[test]
fn a_report_or_summary_named_like_the_journal_is_refused_before_any_delete() {
    let (ws, file, _) = organization(5, 10, Duration::ZERO);
    let earlier =
        "time,act,email,guest_id,phase,message\n2026-01-01T00:00:00.000Z,delete,old@corp.com,1,deleted,deleted\n";
    ws.write("crm.results.acts.csv", earlier);
    for clash in [
        ["--report-missing", "crm.results.acts.csv"],
        ["--summary-json", "crm.results.acts.csv"],
    ] {
        let mut cmd = ws.cmd();
        cmd.args(MIRROR).args(clash);
        if clash[0] != "--report-missing" {
            cmd.args(["--report-missing", "missing.csv"]);
        }
        let stderr = expect_exit(cmd.arg(&file), 2);
        assert!(
            stderr.contains(&format!("the acts journal and {} both name", clash[0])),
            "{stderr}"
        );
        assert_eq!(ws.sandbox.stats().deletes, 0, "{stderr}");
        assert_eq!(
            std::fs::read_to_string(ws.path("crm.results.acts.csv")).unwrap(),
            earlier,
            "the journal is untouched"
        );
    }
}
