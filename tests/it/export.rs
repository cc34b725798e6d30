//! `export` end to end: paging under faults, ordering, the atomic output file, formula safety.

use tallyfy_guests::sandbox::{FaultOptions, SandboxOptions};

use crate::util::{Workspace, bin, generated_guests, read_csv};

#[test]
fn every_guest_once_in_server_order_despite_caps_faults_and_429s() {
    let ws = Workspace::new(SandboxOptions {
        guests: generated_guests(1050),
        per_page_cap: 10,
        faults: FaultOptions {
            error_rate: 0.10,
            drop_rate: 0.05,
            // 429s by request number (a burst limit would meet only a fast client); the seeded
            // rates are high enough over ~130 requests that every kind happens whatever order
            // the concurrent pages arrive in (the assertion below checks that it did).
            throttle_every: std::num::NonZeroU64::new(40),
            seed: 4,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let out = ws.path("guests.csv");
    ws.cmd()
        .args(["export", "--concurrency", "8", "--max-retries", "10", "--output"])
        .arg(&out)
        .assert()
        .success();

    let (header, rows) = read_csv(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(header, tallyfy_guests::commands::export::COLUMNS);
    let exported: Vec<(&str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    let expected = ws.sandbox.guests();
    let expected: Vec<(&str, &str)> = expected.iter().map(|g| (g.id.as_str(), g.email.as_str())).collect();
    assert_eq!(exported.len(), 1050);
    assert_eq!(exported, expected, "every guest once, in server order");

    // 1050 / 10 = 105 pages; the faults must really have been exercised for this to mean anything.
    let stats = ws.sandbox.stats();
    assert!(
        stats.server_errors > 0 && stats.drops > 0 && stats.throttled > 0,
        "{stats:?}"
    );
    assert_eq!(stats.posts + stats.puts + stats.deletes, 0, "export must not write");
}

#[test]
fn stats_columns_members_and_formula_neutralisation() {
    let mut guests = generated_guests(3);
    guests[0].first_name = Some("=HYPERLINK(\"http://evil\")".into());
    let ws = Workspace::new(SandboxOptions {
        guests,
        ..SandboxOptions::default()
    });

    let output = ws.cmd().args(["export", "--with-stats"]).output().unwrap();
    assert!(output.status.success());
    let (header, rows) = read_csv(&String::from_utf8(output.stdout).unwrap());
    assert_eq!(header.len(), 21);
    assert_eq!(
        header[16..],
        [
            "assigned_tasks",
            "tasks_completed",
            "last_task_completed_at",
            "one_off_tasks_completed",
            "last_one_off_task_completed_at"
        ]
    );
    assert_eq!(rows[0][2], "'=HYPERLINK(\"http://evil\")");
    assert_eq!(rows[0][5], "'+1 555 0000", "phones starting with + are protected too");
    assert_eq!(rows[0][9], "1001;1003");
    assert_eq!(rows[0][16], "0");

    let raw = ws.cmd().args(["export", "--raw"]).output().unwrap();
    let (_, rows) = read_csv(&String::from_utf8(raw.stdout).unwrap());
    assert_eq!(rows[0][2], "=HYPERLINK(\"http://evil\")");
}

#[test]
fn a_failed_export_leaves_no_file_behind() {
    let ws = Workspace::new(SandboxOptions {
        guests: generated_guests(300),
        per_page_cap: 10,
        faults: FaultOptions {
            error_rate: 1.0,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let out = ws.path("guests.csv");
    let assert = ws
        .cmd()
        .args(["export", "--max-retries", "1", "--output"])
        .arg(&out)
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("HTTP 50"), "{stderr}");
    assert!(
        stderr.contains("Bad Gateway") || stderr.contains("Service Unavailable") || stderr.contains("Gateway Timeout"),
        "{stderr}"
    );
    assert!(stderr.contains("[request id sbx-"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(ws.dir()).unwrap().count(),
        0,
        "neither the file nor a temporary one"
    );
}

#[test]
fn the_built_in_sandbox_needs_no_account() {
    let output = bin().args(["export", "--sandbox"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (_, rows) = read_csv(&String::from_utf8(output.stdout).unwrap());
    let sample = tallyfy_guests::sandbox::sample_guests();
    assert_eq!(rows.len(), sample.len());
    assert_eq!(rows[0][1], sample[0].email);
}

#[test]
fn legacy_payloads_export_the_same_guests() {
    let ws = Workspace::new(SandboxOptions {
        guests: generated_guests(120),
        per_page_cap: 50,
        legacy: true,
        ..SandboxOptions::default()
    });
    let output = ws.cmd().args(["export"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (_, rows) = read_csv(&String::from_utf8(output.stdout).unwrap());
    assert_eq!(rows.len(), 120);
    assert_eq!(rows[1][0], "guest_code_000002");
    assert_eq!(
        (rows[1][2].as_str(), rows[1][3].as_str()),
        ("First1", "Last1"),
        "names from details"
    );
}

/// One slow page holds back the writing of the pages after it, never the asking: while page 2
/// takes its time the walk keeps `--concurrency` requests going for the pages after it, and
/// the file is still in server order.
#[test]
fn a_slow_page_does_not_stop_the_pages_after_it_from_being_asked_for() {
    use std::sync::{Arc, Condvar, Mutex};

    use crate::rogue::{self, Reply};

    let events = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
    let seen = events.clone();
    let server = rogue::start(move |request| {
        let number = rogue::page_number(&request.target);
        let (log, changed) = &*seen;
        log.lock().unwrap().push(format!("ask {number}"));
        changed.notify_all();
        if number == 2 {
            // Page 2 is answered only once the last page has been asked for (or, if the walk
            // waits for it, after PROMPTLY: the assertion below then fails).
            let log = log.lock().unwrap();
            let _ = changed
                .wait_timeout_while(log, crate::util::PROMPTLY, |log| !log.iter().any(|e| e == "ask 12"))
                .unwrap();
        }
        log.lock().unwrap().push(format!("answer {number}"));
        Reply::Json(200, vec![], rogue::page((number - 1) * 100, 100, 1200, 12, number))
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.csv");
    crate::util::against_rogue(&server)
        .args(["export", "--concurrency", "4", "--output"])
        .arg(&out)
        .assert()
        .success();

    let (_, rows) = read_csv(&std::fs::read_to_string(&out).unwrap());
    let emails: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    let expected: Vec<String> = (0..1200).map(|i| format!("g{i}@example.org")).collect();
    assert_eq!(emails, expected, "every guest once, in server order");
    let events = events.0.lock().unwrap();
    let at = |event: &str| {
        events
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("{event}: {events:?}"))
    };
    // Pages 2 to 5 go out together; 6 to 12 only as slots free up, all while 2 is pending.
    for page in 6..=12 {
        assert!(at(&format!("ask {page}")) < at("answer 2"), "page {page}: {events:?}");
    }
}
