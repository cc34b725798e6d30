//! Locks by the real file and by organization (issue 22, principle 5): a results file reached
//! through a symlink is the same file, and two runs never delete or disable in one
//! organization at once.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::util::{Workspace, expect_exit, slow};

/// `count` new guests, one per line.
fn emails(count: usize) -> String {
    let mut csv = String::from("email\n");
    for i in 0..count {
        csv.push_str(&format!("locked{i}@example.org\n"));
    }
    csv
}

/// Waits (bounded) until `ready` holds, or fails saying `what`.
fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) for `child` to end and returns its exit code.
fn finish(mut child: Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the first run did not end");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The workspace's per-user lock directory (`XDG_RUNTIME_DIR`), for both runs.
fn runtime(ws: &Workspace) -> std::path::PathBuf {
    let dir = ws.path("run");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn with_runtime(mut cmd: Command, dir: &Path) -> Command {
    cmd.env("XDG_RUNTIME_DIR", dir);
    cmd
}

#[cfg(unix)]
#[test]
fn a_results_file_reached_through_a_symlink_is_locked_as_the_file_itself() {
    let ws = Workspace::new(slow(Duration::from_millis(100)));
    let run = runtime(&ws);
    let file = ws.write("guests.csv", &emails(16));
    std::fs::create_dir_all(ws.path("elsewhere")).unwrap();
    let link = ws.path("elsewhere/link.csv");
    std::os::unix::fs::symlink(ws.path("results.csv"), &link).unwrap();
    std::fs::write(ws.path("results.csv"), "").unwrap();
    // Through the link first, then by the real name; and the other way round.
    for (first, second) in [(&link, &ws.path("results.csv")), (&ws.path("results.csv"), &link)] {
        let start = ws.sandbox.stats().posts;
        let mut cmd = with_runtime(ws.process(), &run);
        cmd.args(["-q", "import", "--concurrency", "1", "--results"])
            .arg(first)
            .arg(&file);
        let child = cmd.spawn().unwrap();
        wait_for("the first run never took its lock", || {
            ws.path(".results.csv.lock").exists()
        });
        let stderr = expect_exit(
            ws.cmd()
                .env("XDG_RUNTIME_DIR", &run)
                .args(["import", "--results"])
                .arg(second)
                .arg(&file),
            3,
        );
        assert!(stderr.contains("another run is in progress on"), "{stderr}");
        assert!(
            stderr.contains(&format!("pid {}", child.id())),
            "names the run: {stderr}"
        );
        assert_eq!(finish(child), Some(0));
        let text = std::fs::read_to_string(ws.path("results.csv")).unwrap();
        // Every create the sandbox saw is one of the first run's: the refused run sent none
        // (counted once both are done, so the first run's pace does not matter).
        let created = crate::util::parse_result_rows(&text)
            .iter()
            .filter(|row| row.result_status == "created")
            .count() as u64;
        assert_eq!(
            ws.sandbox.stats().posts - start,
            created,
            "the refused run created nothing"
        );
        // The header, one row per input row, none torn, and the trailer of a whole run.
        assert_eq!(text.lines().count(), 18, "one row per input row, none torn: {text}");
        assert_eq!(crate::util::parse_result_rows(&text).len(), 16, "{text}");
        assert!(crate::util::trailer(&text).is_some(), "{text}");
    }
    assert!(link.is_symlink(), "the link is kept");
}

#[test]
fn two_runs_never_delete_in_one_organization_at_once() {
    let ws = Workspace::new(slow(Duration::from_millis(100)));
    let run = runtime(&ws);
    let file = ws.write("guests.csv", &emails(12));
    expect_exit(ws.cmd().args(["import", "--concurrency", "12"]).arg(&file), 0);
    std::fs::copy(ws.path("guests.results.csv"), ws.path("copy.results.csv")).unwrap();
    let mut cmd = with_runtime(ws.process(), &run);
    cmd.args(["-q", "undo", "--yes", "--concurrency", "1", "guests.results.csv"]);
    let first = cmd.spawn().unwrap();
    let org_lock = || {
        std::fs::read_dir(run.join("tallyfy-guests"))
            .map(|dir| {
                dir.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("org-"))
            })
            .unwrap_or(false)
    };
    wait_for("the undo never took the organization's lock", org_lock);
    let before = ws.sandbox.stats().deletes;
    // Another undo, with its own results, and a mirror of the same organization.
    let undo = expect_exit(
        ws.cmd()
            .env("XDG_RUNTIME_DIR", &run)
            .args(["undo", "--yes", "copy.results.csv"]),
        3,
    );
    let mirror = expect_exit(
        ws.cmd()
            .env("XDG_RUNTIME_DIR", &run)
            .args(["import", "--on-missing", "delete", "--max-missing", "100"])
            .args(["--report-missing", "missing.csv", "--results", "mirror.csv"])
            .arg(ws.write("few.csv", &emails(2))),
        3,
    );
    for stderr in [&undo, &mirror] {
        assert!(stderr.contains("another run is acting on organization"), "{stderr}");
        assert!(
            stderr.contains(&format!("pid {}", first.id())),
            "names the run: {stderr}"
        );
        assert!(stderr.contains(", results "), "names its results: {stderr}");
    }
    assert!(
        ws.sandbox.stats().deletes <= before + 1,
        "the refused runs deleted nothing"
    );
    assert_eq!(finish(first), Some(0));
    assert!(ws.sandbox.guests().is_empty(), "the first undo did its work");
    // Once it is done, the organization is free again.
    expect_exit(
        ws.cmd()
            .env("XDG_RUNTIME_DIR", &run)
            .args(["undo", "--yes", "copy.results.csv"]),
        0,
    );
}
