//! Workflows as people run them over days: the tool's own files read back in (export → import
//! → re-import of the results), another writer in the organization during a run, two runs at
//! once, and the hourly cron recipe at a real organization's size, scaled down in time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::{FaultOptions, Sandbox, SandboxOptions};

use crate::util::{
    PROMPTLY, ResultRow, Workspace, against, expect_exit, generated_guests, result_rows, slow, spawn, wait_for,
};

/// A results file's rows by the input's `email` column (lowercased); checks that it has one
/// set of result columns.
fn by_email(path: &Path) -> BTreeMap<String, ResultRow> {
    let header = std::fs::read_to_string(path).unwrap();
    let header = header.lines().next().unwrap();
    assert_eq!(
        header.matches("result_").count(),
        13,
        "one set of result columns: {header}"
    );
    result_rows(path)
        .into_iter()
        .map(|row| (row.cell("email").to_lowercase(), row))
        .collect()
}

fn empty_sandbox() -> Sandbox {
    spawn(SandboxOptions::default())
}

/// Every guest once, by lowercased email.
fn guests_by_email(sandbox: &Sandbox) -> BTreeMap<String, Guest> {
    let guests = sandbox.guests();
    let map: BTreeMap<String, Guest> = guests.iter().map(|g| (g.email.to_lowercase(), g.clone())).collect();
    assert_eq!(map.len(), guests.len(), "a guest was created twice");
    map
}

fn profile(guest: &Guest) -> [Option<&str>; 6] {
    [
        guest.first_name.as_deref(),
        guest.last_name.as_deref(),
        guest.phone_1.as_deref(),
        guest.phone_2.as_deref(),
        guest.company_name.as_deref(),
        guest.timezone.as_deref(),
    ]
}

#[test]
fn export_import_and_reimports_of_the_results_store_the_original_values() {
    let odd = Guest {
        email: "odd@example.org".into(),
        first_name: Some("=SUM(A1:A2)".into()),
        last_name: Some("-Bo".into()),
        phone_1: Some("+44 20 7946 0958".into()),
        phone_2: Some("'quoted".into()),
        company_name: Some("@handle".into()),
        timezone: Some("Europe/London".into()),
        associated_members: vec![1001],
        ..Guest::default()
    };
    let plain = Guest {
        email: "plain@example.org".into(),
        first_name: Some("Ann".into()),
        ..Guest::default()
    };
    let origin = spawn(SandboxOptions {
        guests: vec![odd.clone(), plain.clone()],
        ..SandboxOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.csv");
    expect_exit(against(&origin).args(["export", "--output"]).arg(&export), 0);

    // Each generation's file is imported into an empty organization, and its results file is
    // the next generation's input: export → results → results of results → ...
    let mut input = export;
    let mut data_columns: Option<Vec<BTreeMap<String, String>>> = None;
    for generation in 1..=3 {
        let target = empty_sandbox();
        expect_exit(against(&target).arg("import").arg(&input), 0);
        let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
        let output = dir.path().join(format!("{stem}.results.csv"));
        let stored = guests_by_email(&target);
        assert_eq!(
            profile(&stored["odd@example.org"]),
            profile(&odd),
            "generation {generation}"
        );
        assert_eq!(stored["odd@example.org"].associated_members, [1001]);
        assert_eq!(profile(&stored["plain@example.org"]), profile(&plain));
        let text = std::fs::read_to_string(&output).unwrap();
        assert!(!text.contains("''+44"), "guarded twice: {text}");
        // The data columns are written identically however many times they go round.
        let header = text.lines().next().unwrap().to_string();
        assert_eq!(
            header.matches("result_").count(),
            13,
            "one set of result columns: {header}"
        );
        let data: Vec<_> = result_rows(&output).into_iter().map(|row| row.cells).collect();
        if let Some(previous) = &data_columns {
            assert_eq!(&data, previous, "generation {generation}");
        }
        data_columns = Some(data);
        input = output;
    }
}

#[test]
fn a_guest_created_by_another_writer_during_the_run_is_an_existing_guest() {
    let ws = Workspace::new(SandboxOptions {
        faults: FaultOptions {
            other_writer_rate: 0.3,
            read_lag: Duration::from_millis(300),
            seed: 5,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let mut csv = String::from("email,first_name,associated_members\n");
    for i in 0..40 {
        csv.push_str(&format!("new{i}@example.org,New{i},1002\n"));
    }
    let file = ws.write("guests.csv", &csv);
    expect_exit(ws.cmd().args(["import", "--on-existing", "update"]).arg(&file), 0);
    let rows = by_email(&ws.path("guests.results.csv"));
    let stored = guests_by_email(&ws.sandbox);
    assert_eq!(stored.len(), 40);
    let elsewhere: Vec<_> = rows
        .iter()
        .filter(|(_, row)| row.result_message.contains("added by someone else"))
        .collect();
    assert!(elsewhere.len() >= 5, "the fault fired: {rows:?}");
    for (email, row) in &rows {
        let (status, message, id) = (&row.result_status, &row.result_message, &row.result_guest_id);
        let guest = &stored[email];
        assert_eq!(id, &guest.id, "{email}");
        assert_eq!(guest.associated_members, [1002], "{email}: members applied either way");
        if message.contains("added by someone else") {
            // Theirs, with their details: reported as drift, members updated as for any guest.
            assert_eq!(status, "updated", "{email}: {message}");
            assert!(message.contains("first_name: \"Added\" in Tallyfy"), "{message}");
        } else {
            assert_eq!(status, "created", "{email}: {message}");
        }
    }
}

#[test]
fn two_overlapping_runs_from_two_machines_create_each_guest_once_and_report_no_conflict() {
    let ws = Workspace::new(slow(Duration::from_millis(15)));
    let mut csv = String::from("email,first_name\n");
    for i in 0..60 {
        csv.push_str(&format!("both{i}@example.org,Both{i}\n"));
    }
    let file = ws.write("guests.csv", &csv);
    // On one machine the second would be refused (`claims.rs`); from two machines (each its own
    // lock folder) both run.
    let runs: Vec<_> = ["a.csv", "b.csv"]
        .iter()
        .map(|name| {
            ws.process()
                .env(crate::util::LOCK_DIR_ENV, ws.path(&format!("{name}.locks")))
                .args(["-q", "import", "--concurrency", "4", "--results"])
                .arg(ws.path(name))
                .arg(&file)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut run in runs {
        assert_eq!(run.wait().unwrap().code(), Some(0));
    }
    let (a, b) = (by_email(&ws.path("a.csv")), by_email(&ws.path("b.csv")));
    assert_eq!(guests_by_email(&ws.sandbox).len(), 60);
    for (email, row_a) in &a {
        let row_b = &b[email];
        let (status_a, status_b) = (&row_a.result_status, &row_b.result_status);
        let (id_a, id_b) = (&row_a.result_guest_id, &row_b.result_guest_id);
        let statuses: BTreeSet<&str> = [status_a.as_str(), status_b.as_str()].into();
        assert!(
            statuses == BTreeSet::from(["created", "exists"]) || statuses == BTreeSet::from(["exists"]),
            "{email}: {status_a} and {status_b}"
        );
        assert_eq!(id_a, id_b, "{email}");
    }
    let created = a
        .values()
        .chain(b.values())
        .filter(|row| row.result_status == "created")
        .count();
    assert_eq!(created, 60, "each guest created by exactly one of the runs");
}

#[test]
fn a_second_run_on_the_same_results_file_is_refused_and_sends_nothing() {
    let ws = Workspace::empty();
    let mut csv = String::from("email\n");
    for i in 0..16 {
        csv.push_str(&format!("slow{i}@example.org\n"));
    }
    let file = ws.write("guests.csv", &csv);
    // The first run's creates are held, so it runs (holding its lock) until released.
    ws.sandbox.hold_writes();
    let mut first = ws
        .process()
        .args(["-q", "import", "--concurrency", "1"])
        .arg(&file)
        .spawn()
        .unwrap();
    let lock = ws.path(".guests.results.csv.lock");
    wait_for("the first run sending its first create", || {
        ws.sandbox.stats().posts > 0
    });
    assert!(lock.exists(), "the first run holds its lock");
    let before = ws.sandbox.stats().requests;
    let summary = ws.path("second.json");
    let stderr = expect_exit(ws.cmd().args(["import", "--summary-json"]).arg(&summary).arg(&file), 3);
    assert!(stderr.contains("another run is in progress on"), "{stderr}");
    assert!(stderr.contains("try again later"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    // The first run's one create is held: nothing else was sent.
    assert_eq!(ws.sandbox.stats().requests, before, "the refused run sent nothing");
    // Its summary says it was refused, so monitoring never reads an earlier run's exit code.
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(written["exit_code"], 3, "{written}");
    assert!(
        written["error"]
            .as_str()
            .unwrap()
            .contains("another run is in progress")
    );
    ws.sandbox.release_writes();
    assert_eq!(crate::util::wait_exit(&mut first).code(), Some(0));
    let rows = by_email(&ws.path("guests.results.csv"));
    assert_eq!(rows.len(), 16);
    assert!(rows.values().all(|row| row.result_status == "created"));
    assert!(!lock.exists(), "the lock file goes with the run");
    // Once the first is done, the same command runs again: nothing left to create.
    expect_exit(ws.cmd().arg("import").arg(&file), 0);
}

#[test]
fn listing_a_large_organization_is_not_paced_at_the_invite_quota() {
    let existing = generated_guests(2000);
    let ws = Workspace::new(SandboxOptions {
        guests: existing.clone(),
        ..SandboxOptions::default()
    });
    let mut csv = String::from("email\n");
    for guest in existing.iter().step_by(50) {
        csv.push_str(&format!("{}\n", guest.email));
    }
    csv.push_str("one@example.org\n");
    let file = ws.write("guests.csv", &csv);
    let started = Instant::now();
    expect_exit(ws.cmd().args(["import", "--invite-rate", "1/h"]).arg(&file), 0);
    // One create at 1/h goes at once; 20 pages and a few reads paced at one an hour would take
    // a day, so ending at all (within a bound far below an hour) proves they are not paced.
    assert!(started.elapsed() < PROMPTLY, "took {:?}", started.elapsed());
    let rows = by_email(&ws.path("guests.results.csv"));
    assert_eq!(rows.values().filter(|row| row.result_status == "created").count(), 1);
    assert_eq!(rows.values().filter(|row| row.result_status == "exists").count(), 40);
}

/// The README's cron recipe, literally, an hour passing on the sandbox's clock: an organization
/// of 2,000 guests, a backlog of new guests larger than the invite cap, member changes for
/// existing guests, and the same command re-run every "hour" until the backlog has drained.
#[test]
fn the_cron_recipe_drains_a_backlog_hour_by_hour_without_creating_anyone_twice() {
    let mut existing = generated_guests(2000);
    for guest in existing.iter_mut().take(10) {
        guest.associated_members = vec![1001];
    }
    let ws = Workspace::new(SandboxOptions {
        guests: existing.clone(),
        faults: FaultOptions {
            // An hour's cap, and an hour passes between runs on the sandbox's clock (the test
            // advances it): a slow run never sees the window reset under it.
            invite_cap: Some("6/h".parse().unwrap()),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let mut csv = String::from("email,associated_members\n");
    for guest in existing.iter().take(10) {
        csv.push_str(&format!("{},1001;1002\n", guest.email));
    }
    for guest in existing.iter().skip(10).step_by(40) {
        csv.push_str(&format!("{},\n", guest.email));
    }
    for i in 0..20 {
        csv.push_str(&format!("backlog{i}@crm.com,1003\n"));
    }
    let file = ws.write("guests.csv", &csv);
    let rows_in_file = csv.lines().count() - 1;
    let results_path = ws.path("guests.results.csv");
    let summary = ws.path("summary.json");
    for hour in 1..=10 {
        let output = ws
            .cmd()
            .args(["--log-format", "json", "import", "--on-existing", "update"])
            .args(["--invite-rate", "30/s", "--max-wait", "0s", "--max-errors", "2%"])
            .arg("--results")
            .arg(&results_path)
            .arg("--summary-json")
            .arg(&summary)
            .arg(&file)
            .output()
            .unwrap();
        let code = output.status.code().unwrap();
        assert!(code == 0 || code == 3, "hour {hour}: exit {code}");
        let rows = by_email(&results_path);
        assert_eq!(rows.len(), rows_in_file, "hour {hour}: every row accounted for");
        let stored = guests_by_email(&ws.sandbox);
        let count = |status: &str| rows.values().filter(|row| row.result_status == status).count();
        assert_eq!(count("conflict") + count("failed") + count("invalid"), 0, "hour {hour}");
        // The results file is the whole job's while it drains: the guests earlier hours created
        // stay `created` in it (so undo of it takes back the whole backlog).
        let created_so_far = count("created");
        assert_eq!(stored.len(), 2000 + created_so_far, "hour {hour}");
        if hour == 1 {
            // The invite cap stops creates, not member updates.
            assert_eq!(count("updated"), 10, "hour 1: {rows:?}");
            assert!(count("deferred") > 0, "hour 1: the cap was hit");
        }
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert_eq!(json["exit_code"], code, "hour {hour}");
        if code == 0 {
            assert_eq!(created_so_far, 20, "the whole backlog, once");
            for i in 0..20 {
                assert_eq!(stored[&format!("backlog{i}@crm.com")].associated_members, [1003]);
            }
            for guest in existing.iter().take(10) {
                assert_eq!(stored[&guest.email.to_lowercase()].associated_members, [1001, 1002]);
            }
            assert!(hour >= 3, "a 20-guest backlog under a cap of 6 an hour takes hours");
            return;
        }
        // The next hour: the cap's window has passed.
        ws.sandbox.advance_clock(Duration::from_secs(3600));
    }
    panic!("the backlog never drained");
}

#[test]
fn a_dry_run_never_replaces_the_results_of_a_real_run() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\na@example.org\n");
    expect_exit(ws.cmd().arg("import").arg(&file), 0);
    let real = std::fs::read_to_string(ws.path("guests.results.csv")).unwrap();
    expect_exit(ws.cmd().args(["import", "--dry-run"]).arg(&file), 0);
    assert_eq!(std::fs::read_to_string(ws.path("guests.results.csv")).unwrap(), real);
    assert_eq!(ws.results("guests.dry-run.csv")[0].result_status, "exists");
}

#[test]
fn set_up_problems_are_found_together_before_anything_is_sent() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\na@example.org\n");
    let missing = ws.path("no-such-folder");
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--summary-json"])
            .arg(missing.join("s.json"))
            .arg("--report-missing")
            .arg(missing.join("m.csv"))
            .arg(&file),
        2,
    );
    assert!(stderr.contains("--summary-json"), "{stderr}");
    assert!(stderr.contains("--report-missing"), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert_eq!(ws.sandbox.stats().requests, 0, "nothing was sent");
    assert!(!ws.path("guests.results.csv").exists(), "nothing was written");

    // Missing credentials and a bad output path, in one report.
    let stderr = expect_exit(
        crate::util::bin()
            .args(["export", "--output"])
            .arg(missing.join("e.csv")),
        2,
    );
    assert!(stderr.contains("no organization id"), "{stderr}");
    assert!(stderr.contains("no access token"), "{stderr}");
    assert!(stderr.contains("--output"), "{stderr}");

    // A host that refuses the connection: exit 2, the host named, no library text.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stderr = expect_exit(
        ws.cmd()
            .env("TALLYFY_BASE_URL", format!("http://127.0.0.1:{port}/api"))
            .args(["import", "--max-retries", "0"])
            .arg(&file),
        2,
    );
    assert!(
        stderr.contains(&format!("could not reach 127.0.0.1:{port}: the connection was refused")),
        "{stderr}"
    );
    assert!(!ws.path("guests.results.csv").exists());
    for text in [stderr.as_str()] {
        for bad in ["os error", "error sending request", "..=", "Some(", ".partial"] {
            assert!(!text.contains(bad), "{bad}: {text}");
        }
    }
    let stderr = expect_exit(crate::util::bin().args(["import", "--concurrency", "0"]).arg(&file), 2);
    assert!(!stderr.contains("..="), "{stderr}");
}
