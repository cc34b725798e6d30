//! What a run claims is true (issue 22, principles 5 and 6; issue 30): a guest it calls
//! `created` is its own (two imports into one organization on one machine never run at once),
//! the answers it believes are what they claim, and its counts are true even when its results
//! stream is closed under it.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use tallyfy_guests::sandbox::{FaultOptions, SandboxOptions};

use crate::hostile::guests_csv;
use crate::rogue::{self, Reply};
use crate::util::{Workspace, against_rogue, expect_exit, result_rows, wait_exit, wait_for, write};

/// Rows that send nothing (invalid emails), enough to fill the sample a stream is sniffed on:
/// a run reading a stream that starts (or goes on) with them acts on its rows while the test
/// still holds the stream open.
fn padding() -> String {
    (0..6000).map(|i| format!("padding-{i:05},x\n")).collect()
}

#[test]
fn two_overlapping_imports_on_one_machine_never_run_at_once() {
    // One writing run per organization on a machine: the second import of an overlapping file
    // is refused while the first runs (exit 3, naming it), so only one of them claims a guest.
    let ws = Workspace::empty();
    let overlap = guests_csv(60);
    let second_file = ws.write("second.csv", &overlap);
    // The first reads a stream the test holds open: it makes its 40 guests, then runs (holding
    // the organization) until the test closes the stream, however slow the machine.
    let mut first = ws
        .process()
        .args(["-q", "import", "--results", "a.csv", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = first.stdin.take().unwrap();
    stdin
        .write_all(format!("{}{}", guests_csv(40), padding()).as_bytes())
        .unwrap();
    wait_for("the first import making its guests", || ws.sandbox.guests().len() == 40);
    let stderr = expect_exit(ws.cmd().args(["import", "--results", "b.csv"]).arg(&second_file), 3);
    assert!(stderr.contains("another run is acting on organization"), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.id())), "{stderr}");
    assert!(!ws.path("b.csv").exists(), "the refused import wrote no results");
    drop(stdin);
    assert_eq!(wait_exit(&mut first).code(), Some(1), "the padding rows are invalid");
    // Run again once the first is done: what the first made is `exists`, never `created` twice.
    expect_exit(ws.cmd().args(["import", "--results", "b.csv"]).arg(&second_file), 0);
    let created = |name: &str| -> HashSet<String> {
        result_rows(&ws.path(name))
            .into_iter()
            .filter(|r| r.result_status == "created")
            .map(|r| r.cell("email").to_string())
            .collect()
    };
    let (a, b) = (created("a.csv"), created("b.csv"));
    assert_eq!((a.len(), b.len()), (40, 20), "each made only its own");
    assert!(a.is_disjoint(&b), "no guest claimed by both runs");
    assert_eq!(ws.sandbox.guests().len(), 60);
}

#[test]
fn two_overlapping_imports_from_two_machines_never_both_claim_a_guest() {
    // Two machines share no lock (each has its own lock folder here). Run B reads the
    // organization (empty), then its rows come late: run A, started after it,
    // has created them all by then. Some of B's creates lose their answer at the gateway (never
    // stored: a 502 page); reading back then finds A's guest, holding the very same details. It was there
    // before B's attempt left, so it is not B's: `exists`, never `created` twice.
    let ws = Workspace::new(SandboxOptions {
        faults: FaultOptions {
            latency: Duration::from_millis(5),
            error_rate: 0.15,
            seed: 3,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    // Padding first, so that B starts (and reads the guest list) before the real rows arrive.
    let padding = padding();
    let rows = guests_csv(300);
    let rows = rows.split_once('\n').unwrap().1;
    let file = ws.write("guests.csv", &format!("email,first_name\n{padding}{rows}"));
    let mut b = ws
        .process()
        .args(["import", "--results"])
        .arg(ws.path("b.csv"))
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = b.stdin.take().unwrap();
    stdin
        .write_all(format!("email,first_name\n{padding}").as_bytes())
        .unwrap();
    // B says so once it has the (empty) list; only then does A start.
    let stderr = std::io::BufReader::new(b.stderr.take().unwrap());
    let mut lines = std::io::BufRead::lines(stderr);
    let listed = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("existing guests fetched"));
    assert!(listed, "run B never read the guest list");
    let drain = std::thread::spawn(move || lines.for_each(drop));
    let other_machine = ws.path("other-machine-locks");
    // A only sets the scene (every guest made): retries to spare, so the seeded 502s, which meet
    // whichever requests the machine's timing lines up with them, never fail one of its rows
    // (one did, 2 runs in 8, under load, after 6 attempts).
    expect_exit(
        ws.cmd()
            .env(crate::util::LOCK_DIR_ENV, &other_machine)
            .args(["import", "--max-retries", "20", "--results", "a.csv"])
            .arg(&file),
        1,
    );
    // An hour later on the server's clock (the test advances it; creation times are whole
    // seconds), B's rows arrive.
    ws.sandbox.advance_clock(Duration::from_secs(3600));
    stdin.write_all(rows.as_bytes()).unwrap();
    drop(stdin);
    wait_exit(&mut b);
    drain.join().unwrap();
    let created = |name: &str| -> HashSet<String> {
        result_rows(&ws.path(name))
            .into_iter()
            .filter(|r| r.result_status == "created")
            .map(|r| r.cell("email").to_string())
            .collect()
    };
    let (a, b) = (created("a.csv"), created("b.csv"));
    let both: Vec<_> = a.intersection(&b).collect();
    assert!(both.is_empty(), "{} guests claimed by both runs: {both:?}", both.len());
    let a_rest: Vec<_> = result_rows(&ws.path("a.csv"))
        .into_iter()
        .filter(|r| r.result_status != "created" && r.result_status != "invalid")
        .map(|r| {
            (
                r.result_row,
                r.cell("email").to_string(),
                r.result_status,
                r.result_message,
            )
        })
        .collect();
    assert_eq!(a.len(), 300, "run A created every guest: {a_rest:?}");
    let found_after_a_lost_answer = result_rows(&ws.path("b.csv"))
        .iter()
        .filter(|r| r.result_status == "exists" && r.result_message.contains("added by someone else"))
        .count();
    assert!(found_after_a_lost_answer > 0, "B read back after lost answers");
}

#[test]
fn a_200_html_page_answering_creates_is_never_taken_for_a_guest() {
    // A proxy in front of the API answers every create with its own page. The read-backs find
    // nothing: no row may say `created`, and the exit code says something went wrong.
    let server = rogue::start(|request| match request.method.as_str() {
        "POST" => Reply::Json(
            200,
            vec![("content-type", "text/html".into())],
            "<html><body>Welcome to the portal</body></html>".into(),
        ),
        _ if request.target.contains("/guests/") => {
            Reply::Json(404, vec![], r#"{"error": {"code": "RESOURCE_NOT_FOUND"}}"#.into())
        }
        _ => Reply::Json(200, vec![], rogue::page(0, 0, 0, 1, 1)),
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(2));
    expect_exit(
        against_rogue(&server).args(["import", "--max-retries", "1"]).arg(&file),
        1,
    );
    let rows = result_rows(&dir.path().join("guests.results.csv"));
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.result_status, "failed", "{row:?}");
        assert!(row.result_message.contains("without a guest"), "{row:?}");
    }
}

#[test]
fn a_200_without_the_guest_is_created_only_once_read_back_holding_what_was_sent() {
    // The create did happen; the answer just does not show it. The guest is read back: ours
    // (what we sent) is `created` with its id; someone else's is `exists`.
    let server = rogue::start(|request| match request.method.as_str() {
        "POST" => Reply::Json(200, vec![], r#"{"data": {}}"#.into()),
        _ if request.target.contains("row0%40") => Reply::Json(
            200,
            vec![],
            r#"{"data": {"id": 70, "email": "row0@example.org", "first_name": "Row0"}}"#.into(),
        ),
        _ if request.target.contains("/guests/") => Reply::Json(
            200,
            vec![],
            r#"{"data": {"id": 71, "email": "row1@example.org", "first_name": "Someone"}}"#.into(),
        ),
        _ => Reply::Json(200, vec![], rogue::page(0, 0, 0, 1, 1)),
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(2));
    expect_exit(against_rogue(&server).arg("import").arg(&file), 0);
    let rows = result_rows(&dir.path().join("guests.results.csv"));
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.result_status.as_str(), r.result_guest_id.as_str()))
        .collect();
    assert_eq!(got, [("created", "70"), ("exists", "71")], "{rows:?}");
}

#[test]
fn a_lagging_replica_never_turns_our_own_guests_into_conflicts() {
    // Answers lost after the create was stored, on an API whose reads lag 2 s behind: the
    // second POST is answered "taken" and the read-back must wait the lag out.
    let ws = Workspace::new(SandboxOptions {
        faults: FaultOptions {
            read_lag: Duration::from_secs(2),
            commit_fail_rate: 0.2,
            seed: 5,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let file = ws.write("guests.csv", &guests_csv(300));
    expect_exit(ws.cmd().args(["-q", "import"]).arg(&file), 0);
    let rows = ws.results("guests.results.csv");
    assert_eq!(rows.len(), 300);
    let not_created: Vec<_> = rows.iter().filter(|r| r.result_status != "created").collect();
    assert!(not_created.is_empty(), "{not_created:?}");
    assert!(ws.sandbox.stats().commit_failures > 20, "the fault fired");
    assert_eq!(ws.sandbox.guests().len(), 300);
}

#[test]
fn a_results_stream_closed_by_its_reader_stops_the_run_with_true_counts() {
    // `import --results - | head -1`: the reader goes away after the header.
    let ws = Workspace::new(crate::util::slow(Duration::from_millis(40)));
    let file = ws.write("guests.csv", &guests_csv(200));
    let summary = ws.path("summary.json");
    let mut child = ws
        .process()
        .args(["-q", "import", "--concurrency", "2", "--results", "-", "--summary-json"])
        .arg(&summary)
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.starts_with("result_"), "{first}");
    drop(stdout);
    let status = wait_exit(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("results stream was closed"), "{stderr}");
    let account: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let created = ws.sandbox.guests().len() as u64;
    assert!(
        created < 150,
        "no new request after the stream closed: {created} created"
    );
    assert_eq!(account["counts"]["created"], created, "{account}");
    assert_eq!(account["rows"], 200, "{account}");
    assert_eq!(account["exit_code"], 3, "{account}");
}
