//! `--on-missing`: a nightly CRM sync that mirrors the file, behind its safety rules: exactly
//! the absent guests are disabled (or deleted), one who comes back is enabled again, and a file
//! that would touch more than `--max-missing` touches nothing.

use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::SandboxOptions;

use crate::util::{Workspace, expect_exit, generated_guests, read_csv};

/// Twenty guests in the organization.
fn crm() -> (Workspace, Vec<Guest>) {
    let guests = generated_guests(20);
    let ws = Workspace::new(SandboxOptions {
        guests: guests.clone(),
        ..SandboxOptions::default()
    });
    (ws, guests)
}

/// A CRM export naming these guests.
fn export_of(ws: &Workspace, name: &str, guests: &[&Guest]) -> std::path::PathBuf {
    let mut csv = String::from("email,first_name\n");
    for guest in guests {
        csv.push_str(&format!(
            "{},{}\n",
            guest.email,
            guest.first_name.as_deref().unwrap_or("")
        ));
    }
    ws.write(name, &csv)
}

fn disabled(ws: &Workspace) -> Vec<String> {
    let mut emails: Vec<String> = ws
        .sandbox
        .guests()
        .into_iter()
        .filter(|g| g.disabled_at.is_some())
        .map(|g| g.email)
        .collect();
    emails.sort();
    emails
}

#[test]
fn disable_mirrors_the_file_and_a_guest_who_returns_is_enabled_again() {
    let (ws, guests) = crm();
    // Five guests have left the CRM.
    let (gone, staying) = guests.split_at(5);
    let file = export_of(&ws, "crm.csv", &staying.iter().collect::<Vec<_>>());
    let sync = |ws: &Workspace, file: &std::path::Path| {
        let mut cmd = ws.cmd();
        cmd.args(["import", "--on-missing", "disable", "--max-missing", "30%"])
            .args(["--report-missing", "missing.csv"])
            .arg(file);
        cmd
    };
    // A dry run first: what it would do, in the report, and no write sent.
    expect_exit(sync(&ws, &file).arg("--dry-run"), 0);
    let (_, rows) = read_csv(&std::fs::read_to_string(ws.path("missing.csv")).unwrap());
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|row| row[0] == "would_disable"), "{rows:?}");
    let stats = ws.sandbox.stats();
    assert_eq!((stats.deletes, stats.puts, stats.posts), (0, 0, 0));
    assert!(disabled(&ws).is_empty());

    expect_exit(&mut sync(&ws, &file), 0);
    let mut expected: Vec<String> = gone.iter().map(|g| g.email.clone()).collect();
    expected.sort();
    assert_eq!(disabled(&ws), expected, "exactly the absent guests are disabled");
    let report = std::fs::read_to_string(ws.path("missing.csv")).unwrap();
    let (header, rows) = read_csv(&report);
    assert_eq!(header[..3], ["result_status", "result_message", "id"]);
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|row| row[0] == "disabled"), "{report}");

    // The next night one of them is back in the CRM: enabled again; the others stay disabled
    // without another request.
    let back = &gone[2];
    let mut returning: Vec<&Guest> = staying.iter().collect();
    returning.push(back);
    let file = export_of(&ws, "crm2.csv", &returning);
    expect_exit(&mut sync(&ws, &file), 0);
    let row = ws
        .results("crm2.results.csv")
        .into_iter()
        .find(|row| row.cell("email") == back.email)
        .unwrap();
    assert_eq!(row.result_status, "enabled", "{}", row.result_message);
    expected.retain(|email| email != &back.email);
    assert_eq!(disabled(&ws), expected);
    let (_, rows) = read_csv(&std::fs::read_to_string(ws.path("missing.csv")).unwrap());
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|row| row[1] == "already disabled"), "{rows:?}");
}

#[test]
fn more_absent_guests_than_max_missing_touches_nothing_and_exits_3() {
    let (ws, guests) = crm();
    let file = export_of(&ws, "crm.csv", &guests[5..].iter().collect::<Vec<_>>());
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--on-missing", "delete", "--max-missing", "2"])
            .args(["--report-missing", "missing.csv", "--summary-json", "summary.json"])
            .arg(&file),
        3,
    );
    assert!(
        stderr.contains("5 guests would be deleted, more than --max-missing 2"),
        "{stderr}"
    );
    assert_eq!(ws.sandbox.stats().deletes, 0, "nothing touched");
    assert_eq!(ws.sandbox.guests().len(), 20);
    let (_, rows) = read_csv(&std::fs::read_to_string(ws.path("missing.csv")).unwrap());
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|row| row[0] == "deferred"), "{rows:?}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["exit_code"], 3);
    assert_eq!(summary["missing_done"]["counts"]["deferred"], 5);

    // Within the budget, exactly the five are deleted.
    expect_exit(
        ws.cmd()
            .args(["import", "--on-missing", "delete", "--max-missing", "5"])
            .args(["--report-missing", "missing.csv"])
            .arg(&file),
        0,
    );
    let left: Vec<String> = ws.sandbox.guests().into_iter().map(|g| g.email).collect();
    let expected: Vec<String> = guests[5..].iter().map(|g| g.email.clone()).collect();
    assert_eq!(left, expected);
}

#[test]
fn on_missing_refuses_a_run_that_cannot_see_the_whole_file() {
    let (ws, guests) = crm();
    let file = export_of(&ws, "crm.csv", &guests.iter().collect::<Vec<_>>());
    let stderr = expect_exit(ws.cmd().args(["import", "--on-missing", "delete"]).arg(&file), 2);
    assert!(stderr.contains("--report-missing"), "{stderr}");
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--on-missing", "disable", "--limit", "3"])
            .args(["--report-missing", "missing.csv"])
            .arg(&file),
        2,
    );
    assert!(stderr.contains("--limit"), "{stderr}");
    assert_eq!(ws.sandbox.stats().requests, 0, "nothing sent");
}
