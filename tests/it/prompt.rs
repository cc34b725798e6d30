//! The interactive question (issue 23 part 7), asked under a real pseudo-terminal: it comes
//! after the guest list is read and the file planned, gives the real counts and, when creates
//! are paced, how long they take; a `n` sends and writes nothing.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tallyfy_guests::sandbox::SandboxOptions;

use crate::util::{GENEROUS, POLL, Workspace, generated_guests};

/// How long the question is looked at before it is answered: a bar that redraws over the
/// question (its own tick is a few times a second) has long erased it by then. Only a wrong
/// tool fails for it, never a slow machine: a right one shows the question however long.
const LOOKED_AT: Duration = Duration::from_millis(1500);

/// Runs `cmd` with its stdin, stdout and stderr on a new 80×24 pseudo-terminal, answers
/// `answer` once `[y/N]` shows (after `at_question` is given all the terminal showed until a
/// person had looked at it for `LOOKED_AT`), and returns the exit code and everything the
/// terminal showed.
fn on_a_terminal(cmd: std::process::Command, answer: &str) -> (Option<i32>, String) {
    on_a_terminal_looking(cmd, answer, |_| {})
}

fn on_a_terminal_looking(
    cmd: std::process::Command,
    answer: &str,
    at_question: impl FnOnce(&[u8]),
) -> (Option<i32>, String) {
    let (code, shown, _) = on_a_terminal_timed(cmd, answer, at_question);
    (code, shown)
}

/// As `on_a_terminal_looking`, with when each piece of what the terminal showed came: the
/// offset in the text where each piece ends, and the time it was read.
fn on_a_terminal_timed(
    mut cmd: std::process::Command,
    answer: &str,
    at_question: impl FnOnce(&[u8]),
) -> (Option<i32>, String, Vec<(usize, SystemTime)>) {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors, which are owned from here on.
    let opened = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // the parent's copies of the terminal's slave end: EOF comes when the child exits
    let mut writer = std::fs::File::from(master.try_clone().unwrap());
    let shown = Arc::new(Mutex::new(Vec::new()));
    let reader = std::thread::spawn({
        let shown = shown.clone();
        let mut master = std::fs::File::from(master);
        move || {
            let mut buffer = [0u8; 4096];
            let mut pieces = Vec::new();
            // EIO once the child's end is closed.
            while let Ok(n @ 1..) = master.read(&mut buffer) {
                let mut shown = shown.lock().unwrap();
                shown.extend_from_slice(&buffer[..n]);
                pieces.push((shown.len(), SystemTime::now()));
            }
            pieces
        }
    });
    let text = || String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    let deadline = Instant::now() + GENEROUS;
    while !text().contains("[y/N]") {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("no question was asked: {}", text());
        }
        std::thread::sleep(POLL);
    }
    std::thread::sleep(LOOKED_AT);
    at_question(&shown.lock().unwrap());
    writer.write_all(format!("{answer}\n").as_bytes()).unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end after the answer: {}", text());
        }
        std::thread::sleep(POLL);
    };
    let pieces = reader.join().unwrap();
    (status.code(), text(), pieces)
}

#[test]
fn the_question_comes_after_planning_with_the_real_counts_and_no_sends_nothing() {
    let existing = generated_guests(3);
    let ws = Workspace::new(SandboxOptions {
        guests: existing.clone(),
        ..SandboxOptions::default()
    });
    let mut csv = String::from("email,first_name\n");
    for guest in &existing {
        csv.push_str(&format!("{},Old\n", guest.email));
    }
    csv.push_str("new1@example.com,New\nnot-an-email,Bad\nnew2@example.com,New\nnew1@example.com,Again\n,NoEmail\n");
    let file = ws.write("guests.csv", &csv);
    // An earlier run's results at the same path stay as they were after a `n`.
    let results = ws.write("guests.results.csv", "earlier results\n");
    let mut cmd = ws.process();
    cmd.args(["import", "--invite-rate", "1/min"]).arg(&file);
    let (code, shown) = on_a_terminal(cmd, "n");
    assert_eq!(code, Some(3), "{shown}");
    let org = ws.sandbox.org();
    assert!(
        shown.contains(&format!(
            "Create 2 guests in Sandbox Organization ({org})? 3 already exist, 1 row repeats an earlier row, 2 rows need fixing (see the results). Each new guest is emailed an invitation. At --invite-rate 1/1m the 2 creates take about 1 min: done about "
        )),
        "{shown}"
    );
    let stats = ws.sandbox.stats();
    assert_eq!((stats.posts, stats.puts, stats.deletes), (0, 0, 0), "nothing sent");
    assert_eq!(ws.sandbox.guests().len(), 3);
    assert_eq!(std::fs::read_to_string(&results).unwrap(), "earlier results\n");
}

/// Under a slow invite pace the heartbeat gives the rate in rows an hour (not `0.0 rows/s`) and
/// an ETA from the pace: the creates to come times the spacing, the same at every beat.
#[test]
fn a_slowly_paced_run_says_rows_an_hour_and_a_steady_eta() {
    let ws = Workspace::empty();
    let mut csv = String::from("email\n");
    for i in 0..4 {
        csv.push_str(&format!("slow{i}@example.org\n"));
    }
    let file = ws.write("guests.csv", &csv);
    let stderr = crate::util::expect_exit(
        ws.cmd()
            .args([
                "import",
                "--invite-rate",
                "1/1500ms",
                "--heartbeat",
                "1s",
                "--concurrency",
                "1",
            ])
            .arg(&file),
        0,
    );
    let beats: Vec<&str> = stderr.lines().filter(|l| l.contains("progress: ")).collect();
    assert!(!beats.is_empty(), "{stderr}");
    assert!(beats.iter().all(|l| l.contains(" rows/h")), "{stderr}");
    // One create a 1.5 s window (and its twentieth): whatever is left is a few of them.
    assert!(
        beats.iter().all(|l| [
            "about 0s left",
            "about 1s left",
            "about 2s left",
            "about 3s left",
            "about 4s left",
            "about 5s left"
        ]
        .iter()
        .any(|left| l.contains(left))),
        "{stderr}"
    );
}

/// At a terminal, with the progress bar drawn while the file is read and planned, the question
/// is on the screen (as a terminal emulator renders the bytes) for as long as the tool waits for
/// the answer, and `n` sends nothing (issue 32: the bar's redraw used to wipe it).
#[test]
fn the_question_stays_on_the_screen_while_the_answer_is_awaited() {
    let ws = Workspace::empty();
    let mut csv = String::from("email,first_name\n");
    for i in 0..14 {
        csv.push_str(&format!("messy{i}@corp.com,Messy {i}\n"));
    }
    let file = ws.write("messy.csv", &csv);
    let mut cmd = ws.process();
    cmd.args(["import"]).arg(&file).env("TERM", "xterm-256color");
    let (code, shown) = on_a_terminal_looking(cmd, "n", |bytes| {
        let mut screen = vt100::Parser::new(24, 80, 0);
        screen.process(bytes);
        let text = screen.screen().contents();
        assert!(text.contains("[y/N]"), "the question is on the screen:\n{text}");
        assert!(text.contains("Create 14 guests"), "all of it:\n{text}");
        assert!(!text.contains("0/14 rows"), "no bar over it:\n{text}");
    });
    assert_eq!(code, Some(3), "{shown}");
    let stats = ws.sandbox.stats();
    assert_eq!((stats.posts, stats.puts, stats.deletes), (0, 0, 0), "nothing sent");
}

/// Whether the guest list was read with its task statistics (`with=stats`).
fn listed_with_stats(sandbox: &tallyfy_guests::sandbox::Sandbox) -> bool {
    sandbox.request_log().iter().any(|line| {
        let (path, query) = line.split_once('?').unwrap_or((line, ""));
        line.starts_with("GET ") && path.ends_with("/guests") && query.contains("with=stats")
    })
}

/// Issue 30 point 2: the question of `--on-missing delete` counts the guests it would delete
/// and those it keeps for their work (tasks, known only from the list read with statistics,
/// which is asked for then and only then); `--on-missing disable` counts the guests it would
/// disable; a `n` sends nothing either way.
#[test]
fn the_mirror_question_counts_the_guests_it_deletes_and_those_kept_for_their_work() {
    use tallyfy_guests::api::{Guest, GuestStats};
    let guest = |email: &str, tasks: u64| Guest {
        email: email.into(),
        stats: (tasks > 0).then(|| GuestStats {
            assigned_tasks: Some(tasks),
            ..GuestStats::default()
        }),
        ..Guest::default()
    };
    let ws = Workspace::new(SandboxOptions {
        guests: vec![
            guest("named@corp.com", 0),
            guest("idle1@corp.com", 0),
            guest("busy1@corp.com", 2),
            guest("idle2@corp.com", 0),
            guest("busy2@corp.com", 1),
        ],
        ..SandboxOptions::default()
    });
    let file = ws.write("crm.csv", "email\nnamed@corp.com\n");
    let mirror = |how: &str| {
        let mut cmd = ws.process();
        cmd.args(["import", "--on-missing", how, "--max-missing", "100%"])
            .args(["--report-missing", "missing.csv"])
            .arg(&file);
        cmd
    };

    let (code, shown) = on_a_terminal(mirror("delete"), "n");
    assert_eq!(code, Some(3), "{shown}");
    assert!(
        shown.contains(
            "Guests not in the file will be deleted: 2 of them (at most 100%, 5 of the organization's guests); 2 more, with tasks assigned or who have signed in, are kept as in_use."
        ),
        "{shown}"
    );
    assert!(listed_with_stats(&ws.sandbox), "the counts come from the statistics");

    let before = ws.sandbox.request_log().len();
    let (code, shown) = on_a_terminal(mirror("disable"), "n");
    assert_eq!(code, Some(3), "{shown}");
    assert!(
        shown.contains(
            "Guests not in the file will be disabled: 4 of them (at most 100%, 5 of the organization's guests)."
        ),
        "{shown}"
    );
    let disable_run = ws.sandbox.request_log().split_off(before);
    assert!(
        !disable_run.iter().any(|line| line.contains("with=stats")),
        "a disable needs no statistics: {disable_run:?}"
    );

    let stats = ws.sandbox.stats();
    assert_eq!((stats.posts, stats.puts, stats.deletes), (0, 0, 0), "nothing sent");
    assert_eq!(ws.sandbox.guests().len(), 5);
    assert!(ws.sandbox.guests().iter().all(|g| g.disabled_at.is_none()));
}

/// Issue 32: at a terminal, the question's finish, every ETA the progress bar draws and the
/// summary's `estimated_finish` are one time (±5 % of the plan), at the cap's own pace: 35
/// creates, `--invite-rate` at the sandbox's cap of 10 a 10 s window (three windows after the
/// first ten), and the run keeps it with no 429.
#[test]
fn the_question_the_bars_eta_and_the_summary_give_one_finish_at_the_cap() {
    const CAP: &str = "10/10s";
    let ws = Workspace::new(SandboxOptions {
        faults: tallyfy_guests::sandbox::FaultOptions {
            invite_cap: Some(CAP.parse().unwrap()),
            ..Default::default()
        },
        ..SandboxOptions::default()
    });
    let mut csv = String::from("email,first_name\n");
    for i in 0..35 {
        csv.push_str(&format!("window{i:02}@corp.com,Window {i}\n"));
    }
    let file = ws.write("window.csv", &csv);
    let summary = ws.path("summary.json");
    let mut cmd = ws.process();
    cmd.args(["import", "--invite-rate", CAP, "--summary-json"])
        .arg(&summary)
        .arg(&file)
        .env("TERM", "xterm-256color");
    let mut answered = None;
    let (code, shown, pieces) = on_a_terminal_timed(cmd, "y", |_| answered = Some(SystemTime::now()));
    let answered = answered.unwrap();
    assert_eq!(code, Some(0), "{shown}");
    let stats = ws.sandbox.stats();
    assert_eq!((stats.created, stats.invite_capped), (35, 0), "{stats:?}");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let promised: SystemTime = humantime::parse_rfc3339(summary["estimated_finish"].as_str().unwrap()).unwrap();
    assert_eq!(summary["pace"], "--invite-rate 10/10s");
    // The plan's length, from the question to its promised finish.
    let asked = pieces
        .iter()
        .find(|(end, _)| shown[..*end].contains("[y/N]"))
        .map(|(_, at)| *at)
        .unwrap();
    let plan = promised.duration_since(asked).unwrap().as_secs_f64();
    assert!(plan > 30.0, "three windows: {plan} s");
    let off = |at: SystemTime| match at.duration_since(promised) {
        Ok(later) => later.as_secs_f64(),
        Err(earlier) => earlier.duration().as_secs_f64(),
    };
    // The question's finish, as its clock says it (to the second), later by as long as the
    // answer took: the plan starts at the yes.
    let (_, after) = shown.split_once("done about ").expect("the question says when");
    let said = chrono::NaiveTime::parse_from_str(&after[..8], "%H:%M:%S").unwrap();
    let pondered = chrono::Duration::from_std(answered.duration_since(asked).unwrap()).unwrap();
    let promised_local: chrono::DateTime<chrono::Local> = promised.into();
    let said_off = (promised_local.time() - (said + pondered)).num_milliseconds().abs() as f64 / 1000.0;
    assert!(
        said_off <= 0.05 * plan,
        "the question said {said} ({pondered} before the yes), the summary {promised_local}"
    );
    // Every ETA the bar drew once the creates were going: when it was shown, plus the ETA.
    let mut etas = 0;
    for (at, _) in shown.match_indices("ETA ") {
        let Some(seconds) = shown[at + 4..].split(' ').next().and_then(|eta| eta.strip_suffix('s')) else {
            continue;
        };
        let Ok(seconds) = seconds.parse::<u64>() else { continue };
        let (_, drawn) = pieces.iter().find(|(end, _)| *end >= at + 4).unwrap();
        if *drawn < asked {
            continue; // the bar before the question: the file being read
        }
        let finish = *drawn + Duration::from_secs(seconds);
        assert!(
            off(finish) <= 0.05 * plan,
            "the bar's ETA {seconds}s at {drawn:?} is off the promise by {} s of {plan} s",
            off(finish)
        );
        etas += 1;
    }
    assert!(etas >= 10, "the bar was drawn as the run went: {shown}");
    // And the run kept its promise.
    let took = summary["elapsed_seconds"].as_f64().unwrap();
    assert!(
        took <= plan * 1.10 + LOOKED_AT.as_secs_f64(),
        "took {took} s of {plan} s"
    );
}

/// Issue 32 point 2, at the terminal: a plan of hours (31 creates, at Tallyfy's cap as assumed)
/// says after the yes how to leave the job to cron or a timer instead, with the command that
/// continues it (`--retry-from` its results, `--yes`, the run's other options, no token).
#[test]
fn a_plan_of_hours_says_after_the_yes_how_to_leave_it_to_cron() {
    let ws = Workspace::empty();
    let mut csv = String::from("email\n");
    for i in 0..31 {
        csv.push_str(&format!("hours{i:02}@corp.com\n"));
    }
    let file = ws.write("hours.csv", &csv);
    let results = ws.path("hours.results.csv");
    let mut cmd = ws.process();
    cmd.args(["import", "--on-existing", "update", "--results"])
        .arg(&results)
        .arg(&file);
    let (code, shown) = on_a_terminal(cmd, "y");
    assert_eq!(code, Some(0), "{shown}");
    let flat: String = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("the 31 creates take about 1 h 3 min: done about "),
        "the question: {flat}"
    );
    let command = format!(
        "until it exits 0: tallyfy-guests import --retry-from {} --on-existing update --yes",
        results.display()
    );
    assert!(
        flat.contains("The creates take about 1 h 3 min. To leave the job running unattended instead, stop it (Ctrl-C"),
        "{flat}"
    );
    assert!(flat.contains(&command), "{flat}");
    assert!(!flat.contains(ws.sandbox.token()), "no token on it");
}
