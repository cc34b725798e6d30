//! Undo takes back only what that run created (issue 22, principle 3): not another
//! organization's guests, not a guest a hand-edited row claims, no request for an email that is
//! not an address (`..` must never become `GET …/organizations/{org}/`), not a guest someone has
//! used since (unless `--include-used`), and not `already_gone` for a guest the API's read lag
//! hides for a moment after the import.

use std::time::Duration;

use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::{FaultOptions, SandboxOptions};

use crate::util::{Workspace, against, expect_exit, spawn};

/// A guest that existed long before any import.
fn old_guest(i: usize) -> Guest {
    Guest {
        email: format!("old{i}@corp.com"),
        first_name: Some(format!("Old{i}")),
        created_at: Some("2024-01-01T00:00:00Z".into()),
        ..Guest::default()
    }
}

fn emails(ws: &Workspace) -> Vec<String> {
    let mut emails: Vec<String> = ws.sandbox.guests().into_iter().map(|g| g.email).collect();
    emails.sort();
    emails
}

fn status_of<'a>(rows: &'a [crate::util::ResultRow], email: &str) -> &'a crate::util::ResultRow {
    rows.iter()
        .find(|r| r.cell("email") == email)
        .unwrap_or_else(|| panic!("no row for {email}"))
}

/// Results made in organization A, undone with organization B configured, used to delete B's
/// guests (same emails, same ids). Now set-up refuses: nothing is sent to B.
#[test]
fn undo_with_another_organizations_results_deletes_nothing() {
    let a = Workspace::empty();
    let file = a.write("guests.csv", "email\nann@corp.com\nben@corp.com\ncat@corp.com\n");
    expect_exit(a.cmd().args(["import", "--yes"]).arg(&file), 0);
    let b = spawn(SandboxOptions {
        org: "b".repeat(32),
        guests: ["ann", "ben", "cat"]
            .iter()
            .map(|name| Guest {
                email: format!("{name}@corp.com"),
                ..Guest::default()
            })
            .collect(),
        ..SandboxOptions::default()
    });
    let stderr = expect_exit(
        against(&b)
            .current_dir(a.dir())
            .args(["undo", "--yes", "guests.results.csv"]),
        2,
    );
    assert!(
        stderr.contains(&format!("was made in organization {}", a.sandbox.org())),
        "{stderr}"
    );
    assert_eq!(b.guests().len(), 3, "B's guests are all there");
    assert_eq!(b.stats().requests, 0, "nothing was sent to B");

    // Results of an older version record no organization: refused, saying so.
    let text = std::fs::read_to_string(a.path("guests.results.csv")).unwrap();
    let mut old = String::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split(',').collect();
        if cells[0] != "end" {
            old.push_str(&[&cells[..6], &cells[10..]].concat().join(","));
            old.push('\n');
        }
    }
    a.write("old.results.csv", &old);
    let stderr = expect_exit(a.cmd().args(["undo", "--yes", "old.results.csv"]), 2);
    assert!(stderr.contains("older version"), "{stderr}");
    assert_eq!(a.sandbox.guests().len(), 3);
}

/// A spreadsheet fill-down turns `exists` rows into `created`: those guests existed before the
/// import (their `created_at` is before the run), so undo leaves them and says so.
#[test]
fn a_hand_edited_status_deletes_nothing_that_existed_before() {
    let ws = Workspace::new(SandboxOptions {
        guests: (0..3).map(old_guest).collect(),
        ..SandboxOptions::default()
    });
    let file = ws.write(
        "guests.csv",
        "email\nold0@corp.com\nold1@corp.com\nold2@corp.com\nnew0@corp.com\nnew1@corp.com\n",
    );
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
    // Filled down from the last row: its status and its answer time (`result_at`, column 10).
    let text = std::fs::read_to_string(ws.path("guests.results.csv")).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let source = records[5].clone();
    assert_eq!(source[1], "created");
    for record in &mut records[1..4] {
        assert_eq!(record[1], "exists");
        record[1] = "created".into();
        record[9] = source[9].clone();
    }
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for record in &records {
        writer.write_record(record).unwrap();
    }
    ws.write(
        "guests.results.csv",
        &String::from_utf8(writer.into_inner().unwrap()).unwrap(),
    );
    expect_exit(ws.cmd().args(["undo", "--yes", "guests.results.csv"]), 0);
    assert_eq!(emails(&ws), ["old0@corp.com", "old1@corp.com", "old2@corp.com"]);
    let rows = ws.results("guests.undo.csv");
    for i in 0..3 {
        let row = status_of(&rows, &format!("old{i}@corp.com"));
        assert_eq!(row.result_status, "not_created_here", "{row:?}");
        assert!(
            row.result_message.contains("2024-01-01T00:00:00Z"),
            "{}",
            row.result_message
        );
    }
    assert_eq!(status_of(&rows, "new0@corp.com").result_status, "deleted");
}

/// `..` and `.` as emails (a hand edit, a formula) used to become `GET` and `DELETE
/// …/organizations/{org}/`. An email cell that is not an address sends no request at all.
#[test]
fn dot_emails_send_no_request() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@corp.com\nben@corp.com\n");
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
    let text = std::fs::read_to_string(ws.path("guests.results.csv")).unwrap();
    let edited = text.replace(",ann@corp.com", ",..").replace(",ben@corp.com", ",.");
    ws.write("guests.results.csv", &edited);
    let sent = ws.sandbox.request_log().len();
    expect_exit(ws.cmd().args(["undo", "--yes", "guests.results.csv"]), 0);
    let log = ws.sandbox.request_log();
    assert_eq!(log[sent..], [] as [String; 0], "no request at all");
    let rows = ws.results("guests.undo.csv");
    assert!(
        rows.iter()
            .all(|r| r.result_status == "not_created_here" && r.result_message.contains("not a valid email")),
        "{rows:?}"
    );
    assert_eq!(ws.sandbox.guests().len(), 2);
}

/// A guest who signed in after the import, or has tasks assigned, is kept (`used_since`);
/// `--include-used` takes them too. Tallyfy's refusal to disable a guest with open tasks is
/// reported on the row with its words, and not retried.
#[test]
fn a_guest_used_since_is_kept_unless_include_used() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nsigned@corp.com\nbusy@corp.com\nidle@corp.com\n");
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
    let later = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    ws.sandbox.use_guest("signed@corp.com", Some(&later), None).unwrap();
    ws.sandbox.use_guest("busy@corp.com", None, Some(2)).unwrap();

    expect_exit(ws.cmd().args(["undo", "--yes", "guests.results.csv"]), 0);
    let rows = ws.results("guests.undo.csv");
    let signed = status_of(&rows, "signed@corp.com");
    assert_eq!(signed.result_status, "used_since", "{signed:?}");
    assert!(
        signed.result_message.contains("signed in at"),
        "{}",
        signed.result_message
    );
    let busy = status_of(&rows, "busy@corp.com");
    assert_eq!(busy.result_status, "used_since", "{busy:?}");
    assert!(busy.result_message.contains("2 tasks"), "{}", busy.result_message);
    assert_eq!(status_of(&rows, "idle@corp.com").result_status, "deleted");
    assert_eq!(emails(&ws), ["busy@corp.com", "signed@corp.com"]);

    // Disabling a guest with open tasks: Tallyfy refuses, the row says so, sent once.
    let stderr = expect_exit(
        ws.cmd()
            .args(["undo", "--yes", "--disable", "--include-used", "guests.results.csv"]),
        1,
    );
    let rows = ws.results("guests.undo.csv");
    let busy = status_of(&rows, "busy@corp.com");
    assert_eq!(busy.result_status, "failed", "{stderr}");
    assert!(
        busy.result_message
            .contains("Tallyfy refuses to disable a guest with incomplete tasks"),
        "{}",
        busy.result_message
    );
    assert_eq!(status_of(&rows, "signed@corp.com").result_status, "disabled");
    let disables = ws
        .sandbox
        .request_log()
        .iter()
        .filter(|line| line.starts_with("DELETE") && line.contains("busy%40corp.com/disable"))
        .count();
    assert_eq!(disables, 1, "the refusal is not retried");

    expect_exit(
        ws.cmd().args(["undo", "--yes", "--include-used", "guests.results.csv"]),
        0,
    );
    assert_eq!(emails(&ws), [] as [String; 0], "taken back with --include-used");
}

/// Under the API's read lag, an undo right after the import used to find nothing and report
/// every guest `already_gone`, deleting none. It waits the lag out, and deletes them all.
#[test]
fn undo_right_after_an_import_under_read_lag_deletes_every_created_guest() {
    let ws = Workspace::new(SandboxOptions {
        faults: FaultOptions {
            read_lag: Duration::from_secs(1),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let mut csv = String::from("email\n");
    for i in 0..12 {
        csv.push_str(&format!("lag{i}@corp.com\n"));
    }
    let file = ws.write("guests.csv", &csv);
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
    assert_eq!(ws.sandbox.guests().len(), 12);
    expect_exit(ws.cmd().args(["undo", "--yes", "guests.results.csv"]), 0);
    assert_eq!(ws.sandbox.guests().len(), 0, "every created guest deleted");
    let rows = ws.results("guests.undo.csv");
    assert!(rows.iter().all(|r| r.result_status == "deleted"), "{rows:?}");
}
