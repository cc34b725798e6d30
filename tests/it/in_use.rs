//! Issue 30, "Mirror never takes work away" and "The sandbox follows the docs": a missing guest
//! with tasks or a sign-in survives `--on-missing delete` (`in_use`) unless `--include-used`;
//! Tallyfy's 403 on disabling a guest with incomplete tasks is reported as that, on its row, sent
//! once; an `enabled` row carries the guest's new link; and nothing ever calls the permanent
//! delete (`DELETE …/guests/{id}/delete`), which the request log proves.

use tallyfy_guests::api::{Guest, GuestStats};
use tallyfy_guests::sandbox::{Sandbox, SandboxOptions};

use crate::util::{Workspace, expect_exit, read_csv};

/// A guest with two open tasks who signed in a minute ago.
fn busy(email: &str) -> Guest {
    let minute_ago = chrono::Utc::now() - chrono::Duration::seconds(60);
    Guest {
        email: email.into(),
        last_accessed_at: Some(minute_ago.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        stats: Some(GuestStats {
            assigned_tasks: Some(2),
            ..GuestStats::default()
        }),
        ..Guest::default()
    }
}

fn plain(email: &str) -> Guest {
    Guest {
        email: email.into(),
        ..Guest::default()
    }
}

/// The organization: one guest the file keeps, one busy and one idle guest it no longer names.
fn org() -> Workspace {
    Workspace::new(SandboxOptions {
        guests: vec![plain("stays@corp.com"), busy("busy@corp.com"), plain("idle@corp.com")],
        ..SandboxOptions::default()
    })
}

/// The missing report's rows, by email: (status, message).
fn missing_rows(ws: &Workspace) -> std::collections::BTreeMap<String, (String, String)> {
    let (header, rows) = read_csv(&std::fs::read_to_string(ws.path("missing.csv")).unwrap());
    let email = header.iter().position(|h| h == "email").unwrap();
    rows.into_iter()
        .map(|row| (row[email].clone(), (row[0].clone(), row[1].clone())))
        .collect()
}

/// No request the sandbox served was the permanent delete.
fn never_permanently_deleted(sandbox: &Sandbox) {
    let log = sandbox.request_log();
    assert!(!log.is_empty());
    let permanent: Vec<&String> = log
        .iter()
        .filter(|line| line.split('?').next().unwrap_or("").ends_with("/delete"))
        .collect();
    assert!(permanent.is_empty(), "{permanent:?}");
}

fn mirror(ws: &Workspace, how: &str) -> assert_cmd::Command {
    let file = ws.write("crm.csv", "email\nstays@corp.com\n");
    let mut cmd = ws.cmd();
    cmd.args(["import", "--yes", "--on-missing", how, "--max-missing", "100%"])
        .args(["--report-missing", "missing.csv"])
        .arg(file);
    cmd
}

#[test]
fn a_guest_with_work_survives_a_mirror_delete_unless_include_used() {
    let ws = org();
    // The dry run reads each guest back with its statistics and says what it would keep.
    let stderr = expect_exit(mirror(&ws, "delete").arg("--dry-run"), 0);
    let rows = missing_rows(&ws);
    assert_eq!(rows["busy@corp.com"].0, "in_use", "{rows:?}\n{stderr}");
    assert_eq!(rows["idle@corp.com"].0, "would_delete", "{rows:?}");
    assert_eq!(ws.sandbox.stats().deletes, 0, "a dry run sends no delete");
    assert!(stderr.contains("1 in_use"), "{stderr}");

    expect_exit(&mut mirror(&ws, "delete"), 0);
    let rows = missing_rows(&ws);
    let (status, message) = &rows["busy@corp.com"];
    assert_eq!(status, "in_use", "{rows:?}");
    assert!(message.contains("2 tasks assigned"), "{message}");
    assert!(message.contains("--include-used"), "{message}");
    assert_eq!(rows["idle@corp.com"].0, "deleted", "{rows:?}");
    assert!(ws.sandbox.guest("busy@corp.com").is_some(), "kept");
    assert!(ws.sandbox.guest("idle@corp.com").is_none(), "deleted");
    let stats_reads = ws
        .sandbox
        .request_log()
        .iter()
        .filter(|line| line.starts_with("GET") && line.contains("busy%40corp.com?with=stats"))
        .count();
    assert!(stats_reads >= 2, "read back with its statistics, dry run and real run");

    // Signed in but no tasks: kept too.
    ws.sandbox.use_guest("busy@corp.com", None, Some(0)).unwrap();
    expect_exit(&mut mirror(&ws, "delete"), 0);
    let (status, message) = &missing_rows(&ws)["busy@corp.com"];
    assert_eq!(status, "in_use");
    assert!(message.contains("signed in at"), "{message}");

    expect_exit(mirror(&ws, "delete").arg("--include-used"), 0);
    assert_eq!(missing_rows(&ws)["busy@corp.com"].0, "deleted");
    assert!(
        ws.sandbox.guest("busy@corp.com").is_none(),
        "deleted with --include-used"
    );
    never_permanently_deleted(&ws.sandbox);
}

#[test]
fn include_used_is_only_for_a_mirror_that_deletes() {
    let ws = org();
    let stderr = expect_exit(mirror(&ws, "disable").arg("--include-used"), 2);
    assert!(stderr.contains("--include-used is for --on-missing delete"), "{stderr}");
    assert_eq!(ws.sandbox.request_log(), [] as [String; 0]);
}

#[test]
fn tallyfys_refusal_to_disable_a_guest_with_tasks_is_reported_as_that() {
    let ws = org();
    let stderr = expect_exit(&mut mirror(&ws, "disable"), 1);
    let rows = missing_rows(&ws);
    let (status, message) = &rows["busy@corp.com"];
    assert_eq!(status, "failed", "{rows:?}");
    assert!(
        message.contains("Tallyfy refuses to disable a guest with incomplete tasks")
            && message.contains("Cannot disable guest with incomplete tasks."),
        "{message}"
    );
    assert!(!stderr.contains("check --org"), "not a permission problem: {stderr}");
    assert!(stderr.contains("incomplete tasks"), "{stderr}");
    assert_eq!(rows["idle@corp.com"].0, "disabled", "the run went on: {rows:?}");
    let disables = ws
        .sandbox
        .request_log()
        .iter()
        .filter(|line| line.starts_with("DELETE") && line.contains("busy%40corp.com/disable"))
        .count();
    assert_eq!(disables, 1, "the refusal is not retried");
    assert_eq!(ws.sandbox.guest("busy@corp.com").unwrap().disabled_at, None);
    never_permanently_deleted(&ws.sandbox);
}

#[test]
fn an_enabled_row_carries_the_guests_new_link() {
    let old_link = "https://go.tallyfy.com/guest/old-link";
    let ws = Workspace::new(SandboxOptions {
        guests: vec![Guest {
            email: "back@corp.com".into(),
            disabled_at: Some("2026-01-01T00:00:00Z".into()),
            status: Some("disabled".into()),
            link: Some(old_link.into()),
            ..Guest::default()
        }],
        ..SandboxOptions::default()
    });
    let file = ws.write("crm.csv", "email\nback@corp.com\n");
    let stderr = expect_exit(
        ws.cmd()
            .args([
                "import",
                "--yes",
                "--on-missing",
                "disable",
                "--report-missing",
                "missing.csv",
            ])
            .arg(&file),
        0,
    );
    let (header, rows) = read_csv(&std::fs::read_to_string(ws.path("crm.results.csv")).unwrap());
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    // `result_link` comes after the other result columns, but for `result_of` (issue 31).
    assert_eq!(header.iter().rfind(|h| h.starts_with("result_")).unwrap(), "result_of");
    assert_eq!(column("result_link") + 1, column("result_of"));
    let row = &rows[0];
    assert_eq!(row[column("result_status")], "enabled", "{row:?}");
    let now = ws.sandbox.guest("back@corp.com").unwrap();
    let new_link = now.link.expect("enabling gives a link");
    assert_ne!(new_link, old_link, "a new link");
    assert_eq!(
        row[column("result_link")],
        new_link,
        "the row carries the guest's link now"
    );
    assert!(row[column("result_message")].contains("new link"), "{row:?}");
    assert!(stderr.contains("1 guest was enabled"), "{stderr}");
    assert!(stderr.contains("their old links no longer work"), "{stderr}");
}

/// An import, its undo (which deletes what it created) and a mirror that deletes: every request
/// the sandbox served is in its log, and none is the permanent delete.
#[test]
fn no_run_calls_the_permanent_delete() {
    let ws = org();
    let file = ws.write(
        "new.csv",
        "email
new1@corp.com
new2@corp.com
",
    );
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
    expect_exit(ws.cmd().args(["undo", "--yes", "new.results.csv"]), 0);
    assert!(
        ws.sandbox.guest("new1@corp.com").is_none(),
        "undo deleted what it created"
    );
    expect_exit(mirror(&ws, "delete").arg("--include-used"), 0);
    assert_eq!(ws.sandbox.guests().len(), 1, "only the guest the file names is left");
    let deletes = ws
        .sandbox
        .request_log()
        .iter()
        .filter(|l| l.starts_with("DELETE"))
        .count();
    assert_eq!(deletes, 4, "{:?}", ws.sandbox.request_log());
    never_permanently_deleted(&ws.sandbox);
}
