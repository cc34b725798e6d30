//! Paths, streams and files from outside treated as hostile: special files given as outputs,
//! streams given as input, second names for the input, torn results files, full disks, signals
//! and token files. None may destroy a file, lose a row, panic or hang. (Hostile servers:
//! `hostile_servers.rs`.)

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use tallyfy_guests::sandbox::{FaultOptions, SandboxOptions};

use crate::util::{
    PROMPTLY, Workspace, against, expect_exit, parse_result_rows, process_against, result_rows, slow, spawn, wait_for,
    write,
};

pub fn guests_csv(rows: usize) -> String {
    let mut csv = String::from("email,first_name\n");
    for i in 0..rows {
        csv.push_str(&format!("row{i}@example.org,Row{i}\n"));
    }
    csv
}

#[cfg(unix)]
use crate::util::mkfifo;

/// A character device node (major, minor) inside the test's own folder; `false` when this
/// machine does not let us make one (not root).
#[cfg(unix)]
fn mknod_char(path: &Path, major: u32, minor: u32) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let dev = libc::makedev(major, minor);
    unsafe { libc::mknod(name.as_ptr(), libc::S_IFCHR | 0o666, dev) == 0 }
}

/// Writes `text` into the FIFO at `path` from a thread of its own, then `trickle` more rows one a
/// millisecond; a reader that goes away ends it quietly.
#[cfg(unix)]
fn feed(path: &Path, text: String, trickle: usize) -> std::thread::JoinHandle<()> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut out = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        if out.write_all(text.as_bytes()).is_err() {
            return;
        }
        for i in 0..trickle {
            if out
                .write_all(format!("later{i}@example.org,Later\n").as_bytes())
                .is_err()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    })
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
    let ws = Workspace::new(SandboxOptions::default());
    let file = ws.write("guests.csv", &guests_csv(30));
    // A FIFO as the results: read by another thread, and still a FIFO afterwards.
    let fifo = ws.path("results.fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    // A symlink as the summary: the link stays, its target gets the JSON.
    let target = ws.write("summary-target.json", "old");
    let link = ws.path("summary.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    expect_exit(
        ws.cmd()
            .args(["import", "--results"])
            .arg(&fifo)
            .arg("--summary-json")
            .arg(&link)
            .arg(&file),
        0,
    );
    let rows = parse_result_rows(&reader.join().unwrap());
    assert_eq!(rows.len(), 30);
    assert!(
        rows.iter().enumerate().all(|(i, r)| r.result_row == i as u64 + 2),
        "in order"
    );
    assert!(is_fifo(&fifo), "the FIFO was replaced");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(json["rows"], 30);
    let leftovers: Vec<_> = std::fs::read_dir(ws.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary or lock files left: {leftovers:?}");

    // A null device as results and summary (as root only): still a device afterwards.
    let null = ws.path("null");
    if mknod_char(&null, 1, 3) {
        expect_exit(
            ws.cmd()
                .args(["import", "--results"])
                .arg(&null)
                .arg("--summary-json")
                .arg(&null)
                .arg(&file),
            0,
        );
        assert!(std::fs::symlink_metadata(&null).unwrap().file_type().is_char_device());
        expect_exit(ws.cmd().args(["export", "--output"]).arg(&null), 0);
        assert!(std::fs::symlink_metadata(&null).unwrap().file_type().is_char_device());
    }
}

#[cfg(unix)]
#[test]
fn a_stream_is_read_once_and_every_row_gets_a_result() {
    let ws = Workspace::new(SandboxOptions::default());
    let fifo = ws.path("guests.fifo");
    mkfifo(&fifo);
    let rows = 5000;
    let writer = feed(&fifo, guests_csv(rows), 0);
    let results = ws.path("results.csv");
    let summary = ws.path("summary.json");
    expect_exit(
        ws.cmd()
            .args(["import", "--max-errors", "5", "--concurrency", "32", "--results"])
            .arg(&results)
            .arg("--summary-json")
            .arg(&summary)
            .arg(&fifo),
        0,
    );
    writer.join().unwrap();
    let got = result_rows(&results);
    assert_eq!(got.len(), rows, "no row lost");
    assert!(got.iter().all(|r| r.result_status == "created"));
    assert_eq!(ws.sandbox.guests().len(), rows);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["rows"], rows);
    assert!(json["input_sha256"].is_null(), "a stream is not read twice to hash it");
    // A percentage budget needs a row count, which a stream cannot give: said before anything.
    let fifo2 = ws.path("again.fifo");
    mkfifo(&fifo2);
    // The reader gives up early: a broken pipe there is expected.
    let writer = feed(&fifo2, guests_csv(10), 0);
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--max-errors", "5%", "--results"])
            .arg(ws.path("r2.csv"))
            .arg(&fifo2),
        2,
    );
    assert!(stderr.contains("is a stream"), "{stderr}");
    writer.join().unwrap();
}

#[test]
fn a_second_name_for_the_input_is_never_an_output() {
    let ws = Workspace::new(SandboxOptions::default());
    let text = guests_csv(3);
    let file = ws.write("guests.csv", &text);
    let hard = ws.path("hard-link.csv");
    std::fs::hard_link(&file, &hard).unwrap();
    let stderr = expect_exit(ws.cmd().args(["import", "--results"]).arg(&hard).arg(&file), 2);
    assert!(stderr.contains("is the input file"), "{stderr}");
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--summary-json"])
            .arg(ws.path("./guests.csv"))
            .arg(&file),
        2,
    );
    assert!(stderr.contains("--summary-json"), "{stderr}");
    let out = ws.path("same.csv");
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--results"])
            .arg(&out)
            .arg("--report-missing")
            .arg(&out)
            .arg(&file),
        2,
    );
    assert!(stderr.contains("both name"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "the input is untouched");
    assert_eq!(ws.sandbox.stats().requests, 0);
}

#[test]
fn retry_from_refuses_a_results_file_that_is_not_whole() {
    let ws = Workspace::new(SandboxOptions::default());
    let torn = write(
        ws.dir(),
        "torn.results.csv",
        "result_row,result_status,result_guest_id,result_http_status,result_attempts,result_message,email\n2,created,1,201,1,created,a@example.org\n3,deferred,,,0,not created,b@exam",
    );
    let stderr = expect_exit(ws.cmd().arg("import").arg("--retry-from").arg(&torn), 2);
    assert!(stderr.contains("carry no result_of"), "{stderr}");
    assert!(stderr.contains("running the original import again"), "{stderr}");
    let gaps = write(
        ws.dir(),
        "gaps.results.csv",
        "result_row,result_status,result_guest_id,result_http_status,result_attempts,result_message,email\n2,created,1,201,1,created,a@example.org\n5,created,2,201,1,created,d@example.org\n3,failed,,500,1,x,b@example.org\n",
    );
    let stderr = expect_exit(ws.cmd().arg("import").arg("--retry-from").arg(&gaps), 2);
    assert!(stderr.contains("rows 4 have no result"), "{stderr}");
    // A lock file left behind by a killed run marks its results as unfinished.
    let killed = write(
        ws.dir(),
        "killed.results.csv",
        "result_row,result_status,result_guest_id,result_http_status,result_attempts,result_message,email\n2,failed,,500,1,x,a@example.org\n",
    );
    ws.write(".killed.results.csv.lock", "pid 1, started long ago");
    let stderr = expect_exit(ws.cmd().arg("import").arg("--retry-from").arg(&killed), 2);
    assert!(stderr.contains("did not finish"), "{stderr}");
    assert_eq!(ws.sandbox.stats().requests, 0);
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
    let ws = Workspace::new(slow(Duration::from_millis(100)));
    let file = ws.write("guests.csv", &guests_csv(200));
    let summary = ws.path("s.json");
    let child = ws
        .process()
        .args(["-q", "import", "--concurrency", "2", "--summary-json"])
        .arg(&summary)
        .arg(&file)
        .spawn()
        .unwrap();
    wait_for("the run creating", || ws.sandbox.stats().posts >= 4);
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let rows = result_rows(&ws.path("guests.results.csv"));
    assert_eq!(rows.len(), 200, "every row accounted for");
    assert!(rows.iter().any(|r| r.result_status == "deferred"));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert!(json["stopped"].as_str().unwrap().contains("SIGHUP"), "{json}");
}

#[cfg(unix)]
#[test]
fn token_files_are_bounded_checked_and_forgiving() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new(SandboxOptions::default());
    let file = ws.write("guests.csv", &guests_csv(1));
    let token = ws.write("token", &format!("bearer {}\n", ws.sandbox.token()));
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = ws.cmd();
    cmd.env_remove("TALLYFY_ACCESS_TOKEN")
        .args(["import", "--token-file"])
        .arg(&token)
        .arg(&file);
    let stderr = expect_exit(&mut cmd, 0);
    assert!(stderr.contains("can be read by other users"), "{stderr}");
    let huge = ws.write("huge", &"x".repeat(1 << 20));
    let mut cmd = ws.cmd();
    cmd.env_remove("TALLYFY_ACCESS_TOKEN")
        .args(["import", "--token-file"])
        .arg(&huge)
        .arg(&file);
    let stderr = expect_exit(&mut cmd, 2);
    assert!(stderr.contains("larger than 16 KiB"), "{stderr}");
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
    let ws = Workspace::new(SandboxOptions {
        guests: crate::util::generated_guests(3000),
        per_page_cap: 10,
        faults: FaultOptions {
            latency: Duration::from_millis(100),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let out = ws.path("export.csv");
    let child = spawn_against(&ws.sandbox, &["export", "--concurrency", "1", "--output"], &out);
    wait_for("the export reading pages", || ws.sandbox.stats().gets >= 3);
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let left: Vec<_> = std::fs::read_dir(ws.dir()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[cfg(unix)]
#[test]
fn an_interrupted_dry_run_stops_reading_a_stream_that_never_ends() {
    let ws = Workspace::new(SandboxOptions::default());
    let fifo = ws.path("endless.fifo");
    mkfifo(&fifo);
    // Enough at once for the reader to sniff the format, then a row a millisecond for at least
    // ten minutes (far past any bound here), or until the reader goes away.
    let writer = feed(&fifo, guests_csv(5000), 600_000);
    let results = ws.path("r.csv");
    let child = spawn_against(
        &ws.sandbox,
        &["import", "--dry-run", "--results", results.to_str().unwrap()],
        &fifo,
    );
    wait_for("the dry run writing rows", || {
        std::fs::metadata(&results).map_or(0, |m| m.len()) >= 1000
    });
    let stopped = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stopped.elapsed() < PROMPTLY, "{:?}", stopped.elapsed());
    let rows = result_rows(&results);
    assert!(!rows.is_empty() && rows.iter().all(|r| r.result_status == "would_create"));
    writer.join().unwrap();
}
