//! `undo`: an import taken back from its own results file, as a person would after importing the
//! wrong file: the organization ends exactly as it was, guests it did not create are untouched,
//! and a guest that changed hands in between is left alone.

use std::collections::BTreeSet;

use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::{FaultOptions, SandboxOptions};

use crate::util::{Workspace, expect_exit, generated_guests};

/// Ten guests already in the organization; the file names five of them and 45 new ones.
fn world(faults: FaultOptions) -> (Workspace, std::path::PathBuf) {
    let ws = Workspace::new(SandboxOptions {
        guests: generated_guests(10),
        faults,
        ..SandboxOptions::default()
    });
    let mut csv = String::from("email,first_name,phone_1\n");
    for i in 0..5 {
        csv.push_str(&format!("{},Existing,\n", generated_guests(10)[i * 2].email));
    }
    for i in 0..45 {
        csv.push_str(&format!("new{i}@wrong-file.com,New{i},+49 30 {i:04}\n"));
    }
    let file = ws.write("wrong.csv", &csv);
    (ws, file)
}

/// The organization as (id, email) pairs.
fn org(ws: &Workspace) -> BTreeSet<(String, String)> {
    ws.sandbox
        .guests()
        .into_iter()
        .map(|g: Guest| (g.id, g.email))
        .collect()
}

fn statuses(ws: &Workspace, results: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for row in ws.results(results) {
        *counts.entry(row.result_status).or_default() += 1;
    }
    counts
}

#[test]
fn an_import_taken_back_leaves_the_organization_exactly_as_it_was() {
    let (ws, file) = world(FaultOptions::default());
    let before = org(&ws);
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
    assert_eq!(ws.sandbox.guests().len(), 55);
    // Someone deletes one of the new guests by hand before the undo.
    ws.sandbox.remove_by_hand("new7@wrong-file.com", false).unwrap();

    // A dry run reads but sends no write.
    let writes = |ws: &Workspace| {
        let stats = ws.sandbox.stats();
        (stats.deletes, stats.posts, stats.puts)
    };
    let writes_before = writes(&ws);
    expect_exit(ws.cmd().args(["undo", "--dry-run", "wrong.results.csv"]), 0);
    assert_eq!(writes(&ws), writes_before, "a dry run sends no write");
    let planned = statuses(&ws, "wrong.undo-dry-run.csv");
    assert_eq!(planned.get("would_delete"), Some(&44));
    assert_eq!(planned.get("already_gone"), Some(&1));
    assert_eq!(planned.get("not_created_here"), Some(&5));

    expect_exit(ws.cmd().args(["undo", "--yes", "wrong.results.csv"]), 0);
    assert_eq!(
        org(&ws),
        before,
        "exactly the guests that were there before, with their ids"
    );
    let rows = ws.results("wrong.undo.csv");
    assert_eq!(rows.len(), 50, "one result row per row");
    for row in &rows {
        let expected = match row.cell("email") {
            "new7@wrong-file.com" => "already_gone",
            email if email.starts_with("new") => "deleted",
            _ => "not_created_here",
        };
        assert_eq!(
            row.result_status, expected,
            "row {}: {}",
            row.result_row, row.result_message
        );
    }
    // The rows keep the spreadsheet's numbers, and the data columns come through unchanged.
    assert_eq!(rows[5].result_row, 7);
    assert_eq!(rows[5].cell("phone_1"), "'+49 30 0000");

    // Run again: nothing left to take back, nothing sent but reads.
    let deletes = ws.sandbox.stats().deletes;
    expect_exit(ws.cmd().args(["undo", "--yes", "wrong.results.csv"]), 0);
    assert_eq!(ws.sandbox.stats().deletes, deletes);
    assert_eq!(statuses(&ws, "wrong.undo.csv").get("already_gone"), Some(&45));
}

#[test]
fn a_guest_added_again_since_is_left_alone_and_disable_keeps_the_others() {
    let (ws, file) = world(FaultOptions::default());
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
    // Someone removes a new guest and adds one with the same email: not the guest we created.
    let ours = ws.sandbox.remove_by_hand("new3@wrong-file.com", true).unwrap();
    let theirs = ws.sandbox.guest("new3@wrong-file.com").unwrap();
    assert_ne!(ours.id, theirs.id);

    let stderr = expect_exit(
        ws.cmd().args([
            "--log-format",
            "json",
            "undo",
            "--disable",
            "--yes",
            "wrong.results.csv",
        ]),
        0,
    );
    // Monitoring reads one event with the counts.
    let summary: serde_json::Value = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["message"] == "undo finished")
        .unwrap_or_else(|| panic!("no summary event in {stderr}"));
    assert_eq!(
        (summary["disabled"].as_u64(), summary["changed_since"].as_u64()),
        (Some(44), Some(1))
    );
    let rows = ws.results("wrong.undo.csv");
    let new3 = rows.iter().find(|r| r.cell("email") == "new3@wrong-file.com").unwrap();
    assert_eq!(new3.result_status, "changed_since", "{}", new3.result_message);
    assert!(new3.result_message.contains(&theirs.id), "{}", new3.result_message);
    assert_eq!(ws.sandbox.guest("new3@wrong-file.com").unwrap().disabled_at, None);
    assert_eq!(statuses(&ws, "wrong.undo.csv").get("disabled"), Some(&44));
    // Disabled, not deleted: every guest is still there; the old ones untouched.
    assert_eq!(ws.sandbox.guests().len(), 55);
    for guest in ws.sandbox.guests() {
        let ours = guest.email.starts_with("new") && guest.email != "new3@wrong-file.com";
        assert_eq!(guest.disabled_at.is_some(), ours, "{}", guest.email);
    }
}

#[test]
fn the_workbook_results_of_an_import_undo_it_too() {
    let (ws, file) = world(FaultOptions::default());
    let before = org(&ws);
    expect_exit(ws.cmd().args(["import", "--results", "wrong.xlsx"]).arg(&file), 0);
    assert_eq!(ws.sandbox.guests().len(), 55);
    expect_exit(ws.cmd().args(["undo", "wrong.xlsx"]), 0);
    assert_eq!(org(&ws), before);
    assert_eq!(statuses(&ws, "wrong.undo.csv").get("deleted"), Some(&45));
}

#[test]
fn an_undo_against_a_faulty_api_still_converges() {
    let faults = FaultOptions {
        error_rate: 0.15,
        drop_rate: 0.05,
        commit_fail_rate: 0.3,
        seed: 5,
        ..FaultOptions::default()
    };
    let (ws, file) = world(faults);
    let before = org(&ws);
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
    let failures_before = ws.sandbox.stats().commit_failures;
    expect_exit(ws.cmd().args(["undo", "--yes", "wrong.results.csv"]), 0);
    assert!(
        ws.sandbox.stats().commit_failures > failures_before,
        "some deletes were applied and their answers lost"
    );
    assert_eq!(org(&ws), before);
    // A delete whose answer was lost, sent again and answered "missing", was ours: `deleted`.
    let counts = statuses(&ws, "wrong.undo.csv");
    assert_eq!(counts.get("deleted"), Some(&45), "{counts:?}");
}

/// Rewrites a results file record by record (the header first), as a person's edit would.
fn rewrite(path: &std::path::Path, edit: impl Fn(&[String], Vec<String>) -> Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|record| record.unwrap().iter().map(str::to_string).collect())
        .collect();
    let header = records[0].clone();
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for record in records {
        writer.write_record(edit(&header, record)).unwrap();
    }
    std::fs::write(path, writer.into_inner().unwrap()).unwrap();
}

/// A results file as an earlier version wrote it: without the `result_created_at` column.
fn without_created_at(path: &std::path::Path) {
    rewrite(path, |header, record| {
        let at = header.iter().position(|cell| cell == "result_created_at").unwrap();
        record
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, cell)| cell)
            .collect()
    });
}

#[test]
fn undo_through_a_server_whose_date_header_is_off_takes_back_exactly_the_runs_guests() {
    // A proxy or front end whose clock runs 5 s ahead of (or behind) the database's.
    for skew in [5, -5] {
        let (ws, file) = world(FaultOptions {
            date_skew_seconds: skew,
            ..FaultOptions::default()
        });
        let before = org(&ws);
        expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
        // The create's own answer is recorded: the database's clock, nothing else.
        for row in ws.results("wrong.results.csv") {
            let made = row.result_created_at.as_str();
            match row.result_status.as_str() {
                "created" => {
                    let guest = ws.sandbox.guest(row.cell("email")).unwrap();
                    assert_eq!(Some(made), guest.created_at.as_deref(), "row {}", row.result_row);
                }
                _ => assert_eq!(made, "", "row {}", row.result_row),
            }
        }
        expect_exit(ws.cmd().args(["undo", "--yes", "wrong.results.csv"]), 0);
        assert_eq!(org(&ws), before, "skew {skew}: exactly the run's guests are gone");
        let counts = statuses(&ws, "wrong.undo.csv");
        assert_eq!(
            (counts.get("deleted"), counts.get("not_created_here")),
            (Some(&45), Some(&5)),
            "skew {skew}: {counts:?}"
        );
    }
}

#[test]
fn results_of_an_earlier_version_are_undone_within_the_documented_slack() {
    let (ws, file) = world(FaultOptions {
        date_skew_seconds: 5,
        ..FaultOptions::default()
    });
    let before = org(&ws);
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
    without_created_at(&ws.path("wrong.results.csv"));
    expect_exit(ws.cmd().args(["undo", "--yes", "wrong.results.csv"]), 0);
    assert_eq!(org(&ws), before);
    assert_eq!(statuses(&ws, "wrong.undo.csv").get("deleted"), Some(&45));
}

#[test]
fn a_guest_whose_creation_time_is_not_the_recorded_one_is_kept_and_the_undo_says_why() {
    let ws = Workspace::empty();
    let file = ws.write("few.csv", "email\na@corp.com\nb@corp.com\n");
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 0);
    // The row's recorded creation time was changed (a pasted row, an edit): not provable.
    rewrite(&ws.path("few.results.csv"), |header, mut record| {
        let column = |name: &str| header.iter().position(|cell| cell == name).unwrap();
        if record.get(column("email")).map(String::as_str) == Some("a@corp.com") {
            record[column("result_created_at")] = "2020-01-01T00:00:00Z".into();
        }
        record
    });
    let stderr = expect_exit(ws.cmd().args(["undo", "--yes", "few.results.csv"]), 1);
    assert!(stderr.contains("not provably the guest"), "{stderr}");
    let counts = statuses(&ws, "few.undo.csv");
    assert_eq!(counts.get("unproven"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("deleted"), Some(&1), "{counts:?}");
    assert!(ws.sandbox.guest("a@corp.com").is_some(), "the unproven guest is kept");
}
