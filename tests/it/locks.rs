//! Locks by the real file and by organization (issue 22, principle 5; issue 30, point 3): a
//! results file reached through a symlink is the same file, two runs never write to one
//! organization at once (whatever host reached it, whichever session started them), and a lock
//! folder or lock file someone else planted is refused (exit 2), never followed nor trusted.

use std::path::{Path, PathBuf};
use std::process::Child;

use crate::util::{LOCK_DIR_ENV, Workspace, expect_exit, lock_dir_of, wait_for};

/// `count` new guests, one per line.
fn emails(count: usize) -> String {
    let mut csv = String::from("email\n");
    for i in 0..count {
        csv.push_str(&format!("locked{i}@example.org\n"));
    }
    csv
}

/// Waits (bounded) for `child` to end and returns its exit code.
fn finish(mut child: Child) -> Option<i32> {
    crate::util::wait_exit(&mut child).code()
}

#[cfg(unix)]
#[test]
fn a_results_file_reached_through_a_symlink_is_locked_as_the_file_itself() {
    let ws = Workspace::empty();
    std::fs::create_dir_all(ws.path("elsewhere")).unwrap();
    let link = ws.path("elsewhere/link.csv");
    std::os::unix::fs::symlink(ws.path("results.csv"), &link).unwrap();
    std::fs::write(ws.path("results.csv"), "").unwrap();
    // Through the link first, then by the real name; and the other way round.
    for (round, (first, second)) in [(&link, &ws.path("results.csv")), (&ws.path("results.csv"), &link)]
        .into_iter()
        .enumerate()
    {
        // New guests each round, so the first run has creates to send (and to hold).
        let file = ws.write("guests.csv", &emails(16).replace("locked", &format!("round{round}-")));
        let start = ws.sandbox.stats().posts;
        let mut cmd = ws.process();
        cmd.args(["-q", "import", "--concurrency", "1", "--results"])
            .arg(first)
            .arg(&file);
        // The first run's writes are held, so it runs (holding its lock) until released.
        ws.sandbox.hold_writes();
        let child = cmd.spawn().unwrap();
        wait_for("the first run sending its first create", || {
            ws.sandbox.stats().posts > start
        });
        assert!(ws.path(".results.csv.lock").exists(), "the first run holds its lock");
        let stderr = expect_exit(ws.cmd().args(["import", "--results"]).arg(second).arg(&file), 3);
        assert!(stderr.contains("another run is in progress on"), "{stderr}");
        assert!(
            stderr.contains(&format!("pid {}", child.id())),
            "names the run: {stderr}"
        );
        ws.sandbox.release_writes();
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
        // The header and one row per input row, none torn; by its real name or through the
        // link, the file is put in order at the end and its rows carry the `result_of` of a
        // whole run (the link stays a link: the file it names is what is written).
        assert_eq!(text.lines().count(), 17, "one row per input row, none torn: {text}");
        assert_eq!(crate::util::parse_result_rows(&text).len(), 16, "{text}");
        assert!(crate::util::result_of(&text).is_some(), "{text}");
    }
    assert!(link.is_symlink(), "the link is kept");
}

/// The sandbox's address as `localhost` instead of `127.0.0.1`: the same organization under
/// another host name.
fn as_localhost(ws: &Workspace) -> String {
    ws.sandbox.base_url().replace("127.0.0.1", "localhost")
}

/// Whether a run holds an organization's lock in `dir` (its lock file is there).
fn org_locked(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|dir| {
            dir.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("org-"))
        })
        .unwrap_or(false)
}

#[test]
fn two_runs_never_delete_in_one_organization_at_once_whatever_host_reached_it() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", &emails(12));
    expect_exit(ws.cmd().args(["import", "--concurrency", "12"]).arg(&file), 0);
    std::fs::copy(ws.path("guests.results.csv"), ws.path("copy.results.csv")).unwrap();
    // The first through `localhost`; the others through `127.0.0.1`.
    let mut cmd = ws.process();
    cmd.env("TALLYFY_BASE_URL", as_localhost(&ws)).args([
        "-q",
        "undo",
        "--yes",
        "--concurrency",
        "1",
        "guests.results.csv",
    ]);
    // Its deletes are held, so it runs (holding the organization) until released.
    let (before, puts) = (ws.sandbox.stats().deletes, ws.sandbox.stats().puts);
    ws.sandbox.hold_writes();
    let first = cmd.spawn().unwrap();
    let locks = lock_dir_of(&ws.sandbox);
    wait_for("the undo sending its first delete", || {
        ws.sandbox.stats().deletes > before
    });
    assert!(org_locked(&locks), "the undo holds the organization's lock");
    // Another undo, with its own results, and a mirror of the same organization.
    let undo = expect_exit(ws.cmd().args(["undo", "--yes", "copy.results.csv"]), 3);
    let mirror = expect_exit(
        ws.cmd()
            .args(["import", "--on-missing", "disable", "--max-missing", "100"])
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
        assert!(stderr.contains("localhost"), "names the host it reached: {stderr}");
    }
    // The first undo deletes one guest at a time, and that one is held: no other came.
    assert_eq!(
        ws.sandbox.stats().deletes,
        before + 1,
        "the refused runs deleted nothing"
    );
    assert_eq!(ws.sandbox.stats().puts, puts, "the refused mirror disabled nothing");
    assert!(!ws.path("mirror.csv").exists(), "the refused mirror wrote no results");
    ws.sandbox.release_writes();
    assert_eq!(finish(first), Some(0));
    assert!(ws.sandbox.guests().is_empty(), "the first undo did its work");
    // Once it is done, the organization is free again.
    expect_exit(ws.cmd().args(["undo", "--yes", "copy.results.csv"]), 0);
}

#[test]
fn an_interactive_session_and_the_same_users_cron_job_meet_one_lock() {
    // No lock folder given: the default, which must not depend on the session's variables.
    let ws = Workspace::empty();
    for dir in ["run", "tmp-a", "tmp-b"] {
        std::fs::create_dir(ws.path(dir)).unwrap();
    }
    let mut interactive = ws.process();
    interactive
        .env_remove(LOCK_DIR_ENV)
        .env("XDG_RUNTIME_DIR", ws.path("run"))
        .env("TMPDIR", ws.path("tmp-a"))
        .args(["-q", "import", "--concurrency", "1", "--results", "a.csv"])
        .arg(ws.write("a.csv.in", &emails(30)));
    // Its creates are held, and its first is sent only once it holds the organization.
    ws.sandbox.hold_writes();
    let first = interactive.spawn().unwrap();
    wait_for("the interactive run sending its first create", || {
        ws.sandbox.stats().posts > 0
    });
    let cron = expect_exit(
        ws.cmd()
            .env_remove(LOCK_DIR_ENV)
            .env_remove("XDG_RUNTIME_DIR")
            .env("TMPDIR", ws.path("tmp-b"))
            .args(["import", "--results", "b.csv"])
            .arg(ws.write("b.csv.in", &emails(4))),
        3,
    );
    assert!(cron.contains("another run is acting on organization"), "{cron}");
    assert!(cron.contains(&format!("pid {}", first.id())), "{cron}");
    assert!(!ws.path("b.csv").exists(), "the refused run wrote nothing");
    ws.sandbox.release_writes();
    assert_eq!(finish(first), Some(0));
    for dir in ["run", "tmp-a", "tmp-b"] {
        let left = std::fs::read_dir(ws.path(dir)).unwrap().count();
        assert_eq!(left, 0, "no lock folder in the session's own {dir}");
    }
}

/// A lock folder for one test, made as `mode` (inside the test's own folder).
#[cfg(unix)]
fn lock_folder(ws: &Workspace, mode: u32) -> PathBuf {
    use std::os::unix::fs::DirBuilderExt;
    let dir = ws.path("locks");
    std::fs::DirBuilder::new().mode(mode).create(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    dir
}

/// An import, a mirror and an undo, each refused with exit 2 by the lock folder `locks`, saying
/// `why`; nothing is created, disabled nor deleted.
#[cfg(unix)]
fn every_writing_run_refuses(ws: &Workspace, locks: &Path, why: &str) {
    let file = ws.write("guests.csv", &emails(3));
    // Guests to mirror and undo, made by a run with a sound lock folder.
    expect_exit(ws.cmd().arg("import").arg(&file), 0);
    let (before, stats) = (ws.sandbox.guests().len(), ws.sandbox.stats());
    let runs: [&[&str]; 3] = [
        &["import", "--results", "again.csv", "guests.csv"],
        &[
            "import",
            "--on-missing",
            "disable",
            "--report-missing",
            "missing.csv",
            "--results",
            "mirror.csv",
            "guests.csv",
        ],
        &["undo", "--yes", "guests.results.csv"],
    ];
    for args in runs {
        let stderr = expect_exit(ws.cmd().env(LOCK_DIR_ENV, locks).args(args), 2);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&locks.display().to_string()),
            "names the folder: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
    assert_eq!(ws.sandbox.guests().len(), before, "nothing was deleted");
    let after = ws.sandbox.stats();
    assert_eq!(
        (after.posts, after.puts, after.deletes),
        (stats.posts, stats.puts, stats.deletes),
        "nothing was created, disabled nor deleted"
    );
}

#[cfg(unix)]
#[test]
fn a_lock_folder_open_to_other_users_is_refused() {
    let ws = Workspace::empty();
    let locks = lock_folder(&ws, 0o755);
    every_writing_run_refuses(&ws, &locks, "open to other users (mode 0755)");
}

#[cfg(unix)]
#[test]
fn a_lock_folder_another_user_made_is_refused() {
    // SAFETY: a plain system call.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: giving a folder to another user needs root (CI runs as root)");
        return;
    }
    let ws = Workspace::empty();
    let locks = lock_folder(&ws, 0o700);
    std::os::unix::fs::chown(&locks, Some(65534), Some(65534)).unwrap();
    every_writing_run_refuses(&ws, &locks, "belongs to another user (uid 65534)");
}

#[cfg(unix)]
#[test]
fn a_symlink_planted_where_the_organization_lock_goes_is_never_followed() {
    let ws = Workspace::empty();
    let locks = lock_folder(&ws, 0o700);
    let target = ws.write("precious.txt", "the victim's own file\n");
    let name: String = (ws.sandbox.org().chars())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    std::os::unix::fs::symlink(&target, locks.join(format!("org-{name}.lock"))).unwrap();
    let file = ws.write("guests.csv", &emails(3));
    let stderr = expect_exit(ws.cmd().env(LOCK_DIR_ENV, &locks).arg("import").arg(&file), 2);
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "the victim's own file\n",
        "the link's target is untouched"
    );
    assert!(ws.sandbox.guests().is_empty(), "nothing was sent");
    assert!(!ws.path("guests.results.csv").exists(), "no results were begun");
}

#[test]
fn a_summary_named_as_the_runs_own_lock_file_is_refused() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", &emails(2));
    // A run first, which makes the lock folder (and its results file, locked by inode there).
    expect_exit(ws.cmd().arg("import").arg(&file), 0);
    let requests = ws.sandbox.stats().requests;
    let in_folder = lock_dir_of(&ws.sandbox).join("summary.json");
    for summary in [ws.path(".guests.results.csv.lock"), in_folder] {
        let stderr = expect_exit(ws.cmd().arg("import").arg("--summary-json").arg(&summary).arg(&file), 2);
        assert!(
            stderr.contains("--summary-json") && stderr.contains("is this run's lock file"),
            "{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(!summary.exists(), "nothing written there");
    }
    assert_eq!(ws.sandbox.stats().requests, requests, "nothing was sent");
}
