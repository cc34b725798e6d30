//! Server answers from outside treated as hostile: absurd numbers, waits of days, lists that
//! repeat or never end, endless bodies, echoed secrets and escape sequences, a 201 without the
//! guest, someone else's guest found by a read-back. None may panic, hang or leak the token.

use std::time::{Duration, Instant};

use tallyfy_guests::sandbox::{FaultOptions, SandboxOptions};

use crate::rogue::{self, Reply};
use crate::util::{
    PROMPTLY, ROGUE_TOKEN, Workspace, against, against_rogue, bin, expect_exit, parse_result_rows, result_rows, spawn,
    write,
};

use crate::hostile::guests_csv;

#[test]
fn absurd_numbers_from_the_server_or_the_user_never_panic() {
    for retry_after in ["1e300", "1e19", "1e17", "Fri, 31 Dec 9999 23:59:59 GMT"] {
        let header = retry_after.to_string();
        let server = rogue::start(move |_| Reply::Json(429, vec![("retry-after", header.clone())], "{}".into()));
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "guests.csv", &guests_csv(3));
        let started = Instant::now();
        let stderr = expect_exit(against_rogue(&server).arg("import").arg(&file), 3);
        assert!(stderr.contains("rate-limited until"), "{retry_after}: {stderr}");
        assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    }
    let stderr = expect_exit(bin().args(["import", "x.csv", "--rate", "1/585y"]), 2);
    assert!(stderr.contains("at most a year"), "{stderr}");
    expect_exit(bin().args(["import", "x.csv", "--max-wait", "600000y"]), 2);
}

#[test]
fn a_503_asking_for_days_stops_the_run_instead_of_sleeping() {
    let server = rogue::start(|_| Reply::Json(503, vec![("retry-after", "999999".into())], "{}".into()));
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(3));
    let started = Instant::now();
    let stderr = expect_exit(
        against_rogue(&server)
            .args(["export", "--output"])
            .arg(dir.path().join("e.csv")),
        3,
    );
    assert!(stderr.contains("longer than --max-wait"), "{stderr}");
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    expect_exit(against_rogue(&server).arg("import").arg(&file), 3);
}

#[test]
fn a_list_that_repeats_or_never_ends_stops_with_an_error_and_no_guest_is_written_twice() {
    // A server that ignores `page`: page 1 every time, claiming 5 pages.
    let server = rogue::start(|request| {
        Reply::Json(
            200,
            vec![],
            rogue::page(1, 100, 500, 5, rogue::page_number(&request.target)),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.csv");
    let stderr = expect_exit(against_rogue(&server).args(["export", "--output"]).arg(&out), 1);
    assert!(stderr.contains("same guests as an earlier page"), "{stderr}");
    assert!(!out.exists(), "no export that looks whole");
    // A server whose total_pages is absurd: the walk stops near what `total` allows.
    let server = rogue::start(|request| {
        let number = rogue::page_number(&request.target);
        Reply::Json(
            200,
            vec![],
            rogue::page(number * 100, 100, 150, 1_000_000_000_000, number),
        )
    });
    let started = Instant::now();
    let stderr = expect_exit(against_rogue(&server).args(["export", "--output"]).arg(&out), 1);
    assert!(stderr.contains("reports 1000000000000 pages"), "{stderr}");
    assert!(server.requests.load(std::sync::atomic::Ordering::Relaxed) < 40);
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
}

#[test]
fn an_endless_answer_is_cut_not_read_into_memory() {
    let server = rogue::start(|_| Reply::Endless);
    let dir = tempfile::tempdir().unwrap();
    let stderr = expect_exit(
        against_rogue(&server)
            .args(["export", "--output"])
            .arg(dir.path().join("e.csv")),
        1,
    );
    assert!(stderr.contains("larger than 8 MiB"), "{stderr}");
}

#[test]
fn server_text_is_scrubbed_of_the_token_and_escapes_and_capped() {
    let server = rogue::start(|request| {
        if request.method == "GET" {
            return Reply::Json(200, vec![], rogue::page(0, 0, 0, 1, 1));
        }
        let message = format!(
            "\u{1b}[31mdenied\u{1b}[0m for {} {}",
            request.authorization,
            "x".repeat(100_000)
        );
        let body = serde_json::json!({"message": "invalid", "errors": {"first_name": [message]}});
        Reply::Json(422, vec![], body.to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(3));
    let summary = dir.path().join("s.json");
    let stderr = expect_exit(
        against_rogue(&server)
            .arg("import")
            .arg("--summary-json")
            .arg(&summary)
            .arg(&file),
        1,
    );
    let results = std::fs::read_to_string(dir.path().join("guests.results.csv")).unwrap();
    for text in [&stderr, &results, &std::fs::read_to_string(&summary).unwrap()] {
        assert!(!text.contains(ROGUE_TOKEN), "the token leaked: {text:.300}");
        assert!(!text.contains('\u{1b}'), "an escape sequence got through");
    }
    let rows = parse_result_rows(&results);
    assert!(rows.iter().all(|r| r.result_status == "conflict"));
    assert!(
        rows[0].result_message.contains("[redacted]"),
        "{}",
        rows[0].result_message
    );
    assert!(
        rows[0].result_message.len() < 1000,
        "a message is capped: {} bytes",
        rows[0].result_message.len()
    );
}

#[test]
fn a_201_without_the_guest_reads_its_id_back() {
    let server = rogue::start(|request| match request.method.as_str() {
        "POST" => Reply::Json(201, vec![], String::new()),
        _ if request.target.contains("/guests/") => Reply::Json(
            200,
            vec![],
            r#"{"data": {"id": 77, "email": "row0@example.org", "first_name": "Row0"}}"#.into(),
        ),
        _ => Reply::Json(200, vec![], rogue::page(0, 0, 0, 1, 1)),
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(1));
    expect_exit(against_rogue(&server).arg("import").arg(&file), 0);
    let rows = result_rows(&dir.path().join("guests.results.csv"));
    assert_eq!(
        (rows[0].result_status.as_str(), rows[0].result_guest_id.as_str()),
        ("created", "77")
    );
    assert!(
        rows[0].result_message.contains("its id was read back"),
        "{}",
        rows[0].result_message
    );
}

#[test]
fn someone_elses_guest_found_by_a_read_back_is_never_taken_for_ours() {
    // Every create fails with a 500 after another writer stored the guest with other details.
    let ws = Workspace::new(SandboxOptions {
        faults: FaultOptions {
            other_writer_rate: 1.0,
            create_error_rate: 1.0,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let file = ws.write("guests.csv", &guests_csv(5));
    expect_exit(ws.cmd().arg("import").arg(&file), 0);
    let rows = result_rows(&ws.path("guests.results.csv"));
    for row in &rows {
        assert_eq!(row.result_status, "exists", "{row:?}");
        assert!(
            row.result_message.contains("first_name: \"Added\" in Tallyfy"),
            "{row:?}"
        );
    }
    // Our own create, answered 502 and not yet readable (a lagging replica), is still ours.
    let lagging = spawn(SandboxOptions {
        faults: FaultOptions {
            commit_fail_rate: 1.0,
            read_lag: Duration::from_millis(400),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let file = ws.write("lag.csv", &guests_csv(5));
    expect_exit(against(&lagging).arg("import").arg(&file), 0);
    let rows = result_rows(&ws.path("lag.results.csv"));
    assert!(rows.iter().all(|r| r.result_status == "created"), "{rows:?}");
    assert_eq!(lagging.guests().len(), 5);
    assert!(lagging.stats().commit_failures >= 5, "the fault fired");
}

#[test]
fn a_storm_of_short_429s_ends_at_max_wait() {
    let server = rogue::start(|_| Reply::Json(429, vec![("retry-after", "1".into())], "{}".into()));
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(2));
    let started = Instant::now();
    let stderr = expect_exit(
        against_rogue(&server).args(["import", "--max-wait", "3s"]).arg(&file),
        3,
    );
    assert!(stderr.contains("longer than --max-wait"), "{stderr}");
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
}

/// A members list page of `count` members from `first`, with the pagination numbers given.
fn members_page(first: u64, count: u64, total: u64, total_pages: u64, current: u64) -> String {
    let members: Vec<String> = (first..first + count)
        .map(|i| format!(r#"{{"id": {i}, "email": "m{i}@example.org", "status": "active"}}"#))
        .collect();
    format!(
        r#"{{"data": [{}], "meta": {{"pagination": {{"total": {total}, "count": {count}, "per_page": 3, "current_page": {current}, "total_pages": {total_pages}, "links": []}}}}}}"#,
        members.join(",")
    )
}

/// An organization with no guests whose members list pages without end: 3 a page, new ones on
/// every page, claiming `total` members in 10^12 pages.
fn endless_members(total: u64) -> rogue::Rogue {
    rogue::start(move |request| {
        let number = rogue::page_number(&request.target);
        let body = if request.target.contains("/users") {
            members_page(number * 3, 3, total, 1_000_000_000_000, number)
        } else {
            rogue::page(0, 0, 0, 1, 1)
        };
        Reply::Json(200, vec![], body)
    })
}

#[test]
fn an_endless_members_list_stops_at_its_bound_and_is_seen_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(3));
    // It claims 3 × 10^12 members: beyond --max-guests, stopped at its first page (exit 2).
    let server = endless_members(3_000_000_000_000);
    let stderr = expect_exit(against_rogue(&server).args(["import", "--yes"]).arg(&file), 2);
    assert!(stderr.contains("more than 1000000 members"), "{stderr}");
    assert!(server.requests.load(std::sync::atomic::Ordering::Relaxed) < 10);
    // A smaller bound the person set holds too.
    let server = endless_members(3_000_000_000_000);
    let stderr = expect_exit(
        against_rogue(&server)
            .args(["import", "--yes", "--max-guests", "5"])
            .arg(&file),
        2,
    );
    assert!(stderr.contains("more than 5 members"), "{stderr}");
    // It claims 30 members but announces 10^12 pages of new ones: stopped near what 30 allow,
    // and the walk is in the log from its first page (a cron run is never silent).
    let server = endless_members(30);
    let stderr = expect_exit(
        against_rogue(&server)
            .args(["import", "--yes", "--heartbeat", "1h"])
            .arg(&file),
        1,
    );
    assert!(stderr.contains("members list cannot be read reliably"), "{stderr}");
    assert!(stderr.contains("reports 1000000000000 pages"), "{stderr}");
    assert!(
        stderr.contains("reading the organization's members: page 1 of"),
        "{stderr}"
    );
    assert!(server.requests.load(std::sync::atomic::Ordering::Relaxed) < 40);
}
