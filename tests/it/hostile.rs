//! Every path, stream, number and server answer from outside treated as hostile: special files
//! given as outputs, streams given as input, second names for the input, torn results files,
//! absurd numbers, endless or repeating answers, echoed secrets, full disks and hang-ups. None
//! may destroy a file, lose a row, panic or hang.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use tallyfy_guests::sandbox::{DEFAULT_ORG, FaultOptions, SandboxOptions};

use crate::rogue::{self, Reply};
use crate::util::{against, bin, expect_exit, process_against, read_csv, slow_sandbox, spawn, write};

fn guests_csv(rows: usize) -> String {
    let mut csv = String::from("email,first_name\n");
    for i in 0..rows {
        csv.push_str(&format!("row{i}@example.org,Row{i}\n"));
    }
    csv
}

/// The binary pointed at a misbehaving server, with a token worth stealing.
const ROGUE_TOKEN: &str = "rogue-token-0123456789";

fn against_rogue(server: &rogue::Rogue) -> assert_cmd::Command {
    let mut cmd = bin();
    cmd.env("TALLYFY_BASE_URL", server.base_url())
        .env("TALLYFY_ORG_ID", DEFAULT_ORG)
        .env("TALLYFY_ACCESS_TOKEN", ROGUE_TOKEN);
    cmd
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

/// A character device node (major, minor) inside the test's own folder; `false` when this
/// machine does not let us make one (not root).
#[cfg(unix)]
fn mknod_char(path: &Path, major: u32, minor: u32) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let dev = libc::makedev(major, minor);
    unsafe { libc::mknod(name.as_ptr(), libc::S_IFCHR | 0o666, dev) == 0 }
}

#[cfg(unix)]
fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).unwrap().file_type().is_fifo()
}

#[cfg(unix)]
#[test]
fn special_files_and_links_given_as_outputs_are_written_in_place_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let sandbox = spawn(SandboxOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(30));
    // A FIFO as the results: read by another thread, and still a FIFO afterwards.
    let fifo = dir.path().join("results.fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    // A symlink as the summary: the link stays, its target gets the JSON.
    let target = write(dir.path(), "summary-target.json", "old");
    let link = dir.path().join("summary.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    expect_exit(
        against(&sandbox)
            .args(["import", "--results"])
            .arg(&fifo)
            .arg("--summary-json")
            .arg(&link)
            .arg(&file),
        0,
    );
    let (_, rows) = read_csv(&reader.join().unwrap());
    assert_eq!(rows.len(), 30);
    assert!(
        rows.iter().enumerate().all(|(i, r)| r[0] == (i + 2).to_string()),
        "in order"
    );
    assert!(is_fifo(&fifo), "the FIFO was replaced");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(json["rows"], 30);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary or lock files left: {leftovers:?}");

    // A null device as results and summary (as root only): still a device afterwards.
    let null = dir.path().join("null");
    if mknod_char(&null, 1, 3) {
        expect_exit(
            against(&sandbox)
                .args(["import", "--results"])
                .arg(&null)
                .arg("--summary-json")
                .arg(&null)
                .arg(&file),
            0,
        );
        assert!(std::fs::symlink_metadata(&null).unwrap().file_type().is_char_device());
        expect_exit(against(&sandbox).args(["export", "--output"]).arg(&null), 0);
        assert!(std::fs::symlink_metadata(&null).unwrap().file_type().is_char_device());
    }
}

#[cfg(unix)]
#[test]
fn a_stream_is_read_once_and_every_row_gets_a_result() {
    let sandbox = spawn(SandboxOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("guests.fifo");
    mkfifo(&fifo);
    let rows = 5000;
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut out = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            out.write_all(guests_csv(rows).as_bytes()).unwrap();
        })
    };
    let results = dir.path().join("results.csv");
    let summary = dir.path().join("summary.json");
    expect_exit(
        against(&sandbox)
            .args(["import", "--max-errors", "5", "--concurrency", "32", "--results"])
            .arg(&results)
            .arg("--summary-json")
            .arg(&summary)
            .arg(&fifo),
        0,
    );
    writer.join().unwrap();
    let (_, got) = read_csv(&std::fs::read_to_string(&results).unwrap());
    assert_eq!(got.len(), rows, "no row lost");
    assert!(got.iter().all(|r| r[1] == "created"));
    assert_eq!(sandbox.guests().len(), rows);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["rows"], rows);
    assert!(json["input_sha256"].is_null(), "a stream is not read twice to hash it");
    // A percentage budget needs a row count, which a stream cannot give: said before anything.
    let fifo2 = dir.path().join("again.fifo");
    mkfifo(&fifo2);
    let writer = {
        let fifo = fifo2.clone();
        std::thread::spawn(move || {
            let mut out = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            // The reader gives up early: a broken pipe here is expected.
            let _ = out.write_all(guests_csv(10).as_bytes());
        })
    };
    let stderr = expect_exit(
        against(&sandbox)
            .args(["import", "--max-errors", "5%", "--results"])
            .arg(dir.path().join("r2.csv"))
            .arg(&fifo2),
        2,
    );
    assert!(stderr.contains("is a stream"), "{stderr}");
    writer.join().unwrap();
}

#[test]
fn a_second_name_for_the_input_is_never_an_output() {
    let sandbox = spawn(SandboxOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let text = guests_csv(3);
    let file = write(dir.path(), "guests.csv", &text);
    let hard = dir.path().join("hard-link.csv");
    std::fs::hard_link(&file, &hard).unwrap();
    let stderr = expect_exit(against(&sandbox).args(["import", "--results"]).arg(&hard).arg(&file), 2);
    assert!(stderr.contains("is the input file"), "{stderr}");
    let stderr = expect_exit(
        against(&sandbox)
            .args(["import", "--summary-json"])
            .arg(dir.path().join("./guests.csv"))
            .arg(&file),
        2,
    );
    assert!(stderr.contains("--summary-json"), "{stderr}");
    let out = dir.path().join("same.csv");
    let stderr = expect_exit(
        against(&sandbox)
            .args(["import", "--results"])
            .arg(&out)
            .arg("--report-missing")
            .arg(&out)
            .arg(&file),
        2,
    );
    assert!(stderr.contains("both name"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "the input is untouched");
    assert_eq!(sandbox.stats().requests, 0);
}

#[test]
fn retry_from_refuses_a_results_file_that_is_not_whole() {
    let sandbox = spawn(SandboxOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let torn = write(
        dir.path(),
        "torn.results.csv",
        "result_row,result_status,result_guest_id,result_http_status,result_attempts,result_message,email\n2,created,1,201,1,created,a@example.org\n3,deferred,,,0,not created,b@exam",
    );
    let stderr = expect_exit(against(&sandbox).arg("import").arg("--retry-from").arg(&torn), 2);
    assert!(stderr.contains("cut off"), "{stderr}");
    assert!(stderr.contains("run the original import command again"), "{stderr}");
    let gaps = write(
        dir.path(),
        "gaps.results.csv",
        "result_row,result_status,result_guest_id,result_http_status,result_attempts,result_message,email\n2,created,1,201,1,created,a@example.org\n5,created,2,201,1,created,d@example.org\n3,failed,,500,1,x,b@example.org\n",
    );
    let stderr = expect_exit(against(&sandbox).arg("import").arg("--retry-from").arg(&gaps), 2);
    assert!(stderr.contains("rows 4 have no result"), "{stderr}");
    // A lock file left behind by a killed run marks its results as unfinished.
    let killed = write(
        dir.path(),
        "killed.results.csv",
        "result_row,result_status,result_guest_id,result_http_status,result_attempts,result_message,email\n2,failed,,500,1,x,a@example.org\n",
    );
    write(dir.path(), ".killed.results.csv.lock", "pid 1, started long ago");
    let stderr = expect_exit(against(&sandbox).arg("import").arg("--retry-from").arg(&killed), 2);
    assert!(stderr.contains("did not finish"), "{stderr}");
    assert_eq!(sandbox.stats().requests, 0);
}

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
        assert!(started.elapsed() < Duration::from_secs(20));
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
    assert!(started.elapsed() < Duration::from_secs(20));
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
    assert!(started.elapsed() < Duration::from_secs(20));
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
    let (_, rows) = read_csv(&results);
    assert!(rows.iter().all(|r| r[1] == "conflict"));
    assert!(rows[0][5].contains("[redacted]"), "{}", rows[0][5]);
    assert!(
        rows[0][5].len() < 1000,
        "a message is capped: {} bytes",
        rows[0][5].len()
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
    let (_, rows) = read_csv(&std::fs::read_to_string(dir.path().join("guests.results.csv")).unwrap());
    assert_eq!((rows[0][1].as_str(), rows[0][2].as_str()), ("created", "77"));
    assert!(rows[0][5].contains("its id was read back"), "{}", rows[0][5]);
}

#[test]
fn someone_elses_guest_found_by_a_read_back_is_never_taken_for_ours() {
    // Every create fails with a 500 after another writer stored the guest with other details.
    let sandbox = spawn(SandboxOptions {
        faults: FaultOptions {
            other_writer_rate: 1.0,
            create_error_rate: 1.0,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(5));
    expect_exit(against(&sandbox).arg("import").arg(&file), 0);
    let (_, rows) = read_csv(&std::fs::read_to_string(dir.path().join("guests.results.csv")).unwrap());
    for row in &rows {
        assert_eq!(row[1], "exists", "{row:?}");
        assert!(row[5].contains("first_name: \"Added\" in Tallyfy"), "{row:?}");
    }
    // Our own create, answered 502 and not yet readable (a lagging replica), is still ours.
    let sandbox = spawn(SandboxOptions {
        faults: FaultOptions {
            commit_fail_rate: 1.0,
            read_lag: Duration::from_millis(400),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let file = write(dir.path(), "lag.csv", &guests_csv(5));
    expect_exit(against(&sandbox).arg("import").arg(&file), 0);
    let (_, rows) = read_csv(&std::fs::read_to_string(dir.path().join("lag.results.csv")).unwrap());
    assert!(rows.iter().all(|r| r[1] == "created"), "{rows:?}");
    assert_eq!(sandbox.guests().len(), 5);
}

#[cfg(unix)]
#[test]
fn a_full_disk_stops_the_run_with_a_true_summary() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    if !mknod_char(&full, 1, 7) {
        return; // not root: no device node to stand in for a full disk
    }
    let sandbox = spawn(SandboxOptions::default());
    let file = write(dir.path(), "guests.csv", &guests_csv(50));
    let summary = dir.path().join("s.json");
    let stderr = expect_exit(
        against(&sandbox)
            .args(["import", "--results"])
            .arg(&full)
            .arg("--summary-json")
            .arg(&summary)
            .arg(&file),
        3,
    );
    assert!(stderr.contains("the disk is full"), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["rows"], 50, "every row read is counted");
    assert_eq!(json["exit_code"], 3);
    assert!(json["stopped"].as_str().unwrap().contains("disk is full"), "{json}");
}

#[cfg(unix)]
#[test]
fn a_hang_up_stops_the_run_like_sigterm() {
    let sandbox = slow_sandbox(Duration::from_millis(100));
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(200));
    let summary = dir.path().join("s.json");
    let child = process_against(&sandbox)
        .args(["-q", "import", "--concurrency", "2", "--summary-json"])
        .arg(&summary)
        .arg(&file)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sandbox.stats().posts < 4 {
        assert!(Instant::now() < deadline, "the run never started creating");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let (_, rows) = read_csv(&std::fs::read_to_string(dir.path().join("guests.results.csv")).unwrap());
    assert_eq!(rows.len(), 200, "every row accounted for");
    assert!(rows.iter().any(|r| r[1] == "deferred"));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert!(json["stopped"].as_str().unwrap().contains("SIGHUP"), "{json}");
}

#[cfg(unix)]
#[test]
fn token_files_are_bounded_checked_and_forgiving() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = spawn(SandboxOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(1));
    let token = write(dir.path(), "token", &format!("bearer {}\n", sandbox.token()));
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = against(&sandbox);
    cmd.env_remove("TALLYFY_ACCESS_TOKEN")
        .args(["import", "--token-file"])
        .arg(&token)
        .arg(&file);
    let stderr = expect_exit(&mut cmd, 0);
    assert!(stderr.contains("can be read by other users"), "{stderr}");
    let huge = write(dir.path(), "huge", &"x".repeat(1 << 20));
    let mut cmd = against(&sandbox);
    cmd.env_remove("TALLYFY_ACCESS_TOKEN")
        .args(["import", "--token-file"])
        .arg(&huge)
        .arg(&file);
    let stderr = expect_exit(&mut cmd, 2);
    assert!(stderr.contains("larger than 16 KiB"), "{stderr}");
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
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
}

/// The binary, configured for `sandbox`, as a child process that can be sent signals.
#[cfg(unix)]
fn spawn_against(sandbox: &tallyfy_guests::sandbox::Sandbox, args: &[&str], arg: &Path) -> std::process::Child {
    process_against(sandbox)
        .args(args)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn an_interrupted_export_leaves_no_temporary_file() {
    let sandbox = spawn(SandboxOptions {
        guests: crate::util::generated_guests(3000),
        per_page_cap: 10,
        faults: FaultOptions {
            latency: Duration::from_millis(100),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.csv");
    let child = spawn_against(&sandbox, &["export", "--concurrency", "1", "--output"], &out);
    let deadline = Instant::now() + Duration::from_secs(30);
    while sandbox.stats().gets < 3 {
        assert!(Instant::now() < deadline, "the export never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[cfg(unix)]
#[test]
fn an_interrupted_dry_run_stops_reading_a_stream_that_never_ends() {
    let sandbox = spawn(SandboxOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("endless.fifo");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut out = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            // Enough at once for the reader to sniff the format, then rows for up to a minute,
            // or until the reader goes away.
            let _ = out.write_all(guests_csv(5000).as_bytes());
            for i in 0..60_000 {
                if out.write_all(format!("row{i}@example.org\n").as_bytes()).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let results = dir.path().join("r.csv");
    let child = spawn_against(
        &sandbox,
        &["import", "--dry-run", "--results", results.to_str().unwrap()],
        &fifo,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(&results).map_or(0, |m| m.len()) < 1000 {
        assert!(Instant::now() < deadline, "the dry run never wrote a row");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopped = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stopped.elapsed() < Duration::from_secs(5), "{:?}", stopped.elapsed());
    let (_, rows) = read_csv(&std::fs::read_to_string(&results).unwrap());
    assert!(!rows.is_empty() && rows.iter().all(|r| r[1] == "would_create"));
    writer.join().unwrap();
}
