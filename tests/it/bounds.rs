//! Every wait is bounded (issue 22, principle 7) and what the server sends is kept honestly
//! (principle 8): 429 storms end at `--max-wait`, a list that never ends stops at
//! `--max-guests`, FIFOs and token sources time out and yield to signals, a secret echoed in
//! another case is scrubbed, ids beyond 2^64 are kept as their digits.

use std::io::BufRead;
use std::time::Instant;

use crate::hostile::guests_csv;
use crate::rogue::{self, Reply};
use crate::util::{GENEROUS, PROMPTLY, ROGUE_TOKEN, against_rogue, bin, ends_within, expect_exit, result_rows, write};

#[test]
fn a_storm_of_retry_after_zero_ends_within_max_wait() {
    // Every request, the list walk included, is told "429, come back at once".
    let server = rogue::start(|_| Reply::Json(429, vec![("retry-after", "0".into())], "{}".into()));
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(5));
    let started = Instant::now();
    let stderr = expect_exit(
        against_rogue(&server).args(["import", "--max-wait", "2s"]).arg(&file),
        3,
    );
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    assert!(stderr.contains("--max-wait"), "{stderr}");
    // Past the list walk too: a server that answers the list lets the creates meet the storm.
    let server = rogue::start(|request| match request.method.as_str() {
        "GET" => Reply::Json(200, vec![], rogue::page(0, 0, 0, 1, 1)),
        _ => Reply::Json(429, vec![("retry-after", "0".into())], "{}".into()),
    });
    let started = Instant::now();
    let stderr = expect_exit(
        against_rogue(&server).args(["import", "--max-wait", "2s"]).arg(&file),
        3,
    );
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    let rows = result_rows(&dir.path().join("guests.results.csv"));
    assert_eq!(rows.len(), 5, "{stderr}");
    assert!(rows.iter().all(|r| r.result_status == "deferred"), "{rows:?}");
}

#[test]
fn a_token_echoed_in_another_case_is_never_shown_or_stored() {
    let shout = ROGUE_TOKEN.to_uppercase();
    let mixed: String = ROGUE_TOKEN
        .chars()
        .enumerate()
        .map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c })
        .collect();
    // Creates fail with a 500 that echoes the header upper-cased; read-backs with mixed case.
    let server = {
        let (shout, mixed) = (shout.clone(), mixed.clone());
        rogue::start(move |request| match request.method.as_str() {
            "GET" if request.target.contains("/guests?") => Reply::Json(200, vec![], rogue::page(0, 0, 0, 1, 1)),
            "GET" => Reply::Json(500, vec![], format!(r#"{{"message": "upstream said BEARER {mixed}"}}"#)),
            _ => Reply::Json(
                500,
                vec![],
                format!(r#"{{"message": "bad AUTHORIZATION: BEARER {shout}"}}"#),
            ),
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(3));
    let summary = dir.path().join("s.json");
    let output = against_rogue(&server)
        .args(["import", "--max-retries", "0", "--summary-json"])
        .arg(&summary)
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let results = std::fs::read_to_string(dir.path().join("guests.results.csv")).unwrap();
    assert!(
        results.contains("[redacted]"),
        "the echo reached the results: {results}"
    );
    // A 401 that echoes it: the run stops at once, naming no token.
    let denied = {
        let shout = shout.clone();
        rogue::start(move |_| Reply::Json(401, vec![], format!(r#"{{"message": "token {shout} is not valid"}}"#)))
    };
    let refused = against_rogue(&denied).arg("import").arg(&file).output().unwrap();
    let refused = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(refused.contains("[redacted]"), "{refused}");
    let texts = [stderr, results, std::fs::read_to_string(&summary).unwrap(), refused];
    for text in &texts {
        assert!(
            !text.to_lowercase().contains(&ROGUE_TOKEN.to_lowercase()),
            "the token leaked in another case: {text:.600}"
        );
    }
}

#[test]
fn ids_beyond_2_to_the_64_are_kept_as_their_digits() {
    const BIG: &str = "10000000000000000000000000000000000000000";
    const BIGGER: &str = "340282366920938463463374607431768211457";
    let list = format!(
        r#"{{"data": [{{"id": {BIG}, "email": "row0@example.org", "first_name": "Row0"}},
            {{"id": "0042", "email": "old@example.org", "first_name": "Old"}}],
           "meta": {{"pagination": {{"total": 2, "count": 2, "per_page": 100, "current_page": 1, "total_pages": 1}}}}}}"#
    );
    let server = rogue::start(move |request| match request.method.as_str() {
        // The organization's members (users): none.
        "GET" if request.target.contains("/users") => Reply::Json(200, vec![], rogue::page(0, 0, 0, 1, 1)),
        "GET" => Reply::Json(200, vec![], list.clone()),
        _ => Reply::Json(201, vec![], format!(r#"{{"data": {{"id": {BIGGER}, "email": "x"}}}}"#)),
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "guests.csv",
        "email,first_name\nrow0@example.org,Row0\nold@example.org,Old\nnew@example.org,New\n",
    );
    expect_exit(against_rogue(&server).arg("import").arg(&file), 0);
    let rows = result_rows(&dir.path().join("guests.results.csv"));
    let ids: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.result_status.as_str(), r.result_guest_id.as_str()))
        .collect();
    assert_eq!(ids, [("exists", BIG), ("exists", "0042"), ("created", BIGGER)]);
    let out = dir.path().join("export.csv");
    expect_exit(against_rogue(&server).args(["export", "--output"]).arg(&out), 0);
    let export = std::fs::read_to_string(&out).unwrap();
    assert!(export.contains(BIG) && export.contains("0042"), "{export}");
    assert!(!export.contains("e+") && !export.contains("e40"), "{export}");
}

#[test]
fn a_list_that_never_ends_stops_at_max_guests() {
    // A server claiming 3×10¹² guests, every page full of new ones.
    let server = rogue::start(|request| {
        let number = rogue::page_number(&request.target);
        Reply::Json(
            200,
            vec![],
            rogue::page(number * 100, 100, 3_000_000_000_000, 30_000_000_000, number),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.csv");
    let started = Instant::now();
    let stderr = expect_exit(
        against_rogue(&server)
            .args(["export", "--max-guests", "500", "--output"])
            .arg(&out),
        2,
    );
    assert!(
        stderr.contains("more than 500 guests") && stderr.contains("--max-guests"),
        "{stderr}"
    );
    assert!(!out.exists(), "no export that looks whole");
    assert!(server.requests.load(std::sync::atomic::Ordering::Relaxed) < 5);
    // One that claims a modest total but keeps finding more: stopped once it has read past the
    // bound, and the import's look-up of existing guests stops the same way, before any create.
    let server = rogue::start(|request| {
        let number = rogue::page_number(&request.target);
        match request.method.as_str() {
            "GET" => Reply::Json(200, vec![], rogue::page(number * 100, 100, 400, number + 1, number)),
            _ => Reply::Json(500, vec![], "{}".into()),
        }
    });
    let stderr = expect_exit(
        against_rogue(&server)
            .args(["export", "--max-guests", "500", "--output"])
            .arg(&out),
        2,
    );
    assert!(stderr.contains("has more than 500 guests"), "{stderr}");
    let file = write(dir.path(), "guests.csv", &guests_csv(3));
    let stderr = expect_exit(
        against_rogue(&server)
            .args(["import", "--max-guests", "500"])
            .arg(&file),
        2,
    );
    assert!(stderr.contains("more than 500 guests"), "{stderr}");
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    let posts = server.requests.load(std::sync::atomic::Ordering::Relaxed);
    assert!(posts < 40, "{posts} requests");
}

#[cfg(unix)]
use crate::util::mkfifo;

/// A child's stderr, read line by line on a thread of its own (so the child never blocks on a
/// full pipe): the test waits for the line that says the state it needs.
#[cfg(unix)]
struct Lines(std::sync::mpsc::Receiver<String>);

#[cfg(unix)]
impl Lines {
    fn of(child: &mut std::process::Child) -> Lines {
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines(rx)
    }

    /// Waits (at most [`GENEROUS`]) for a line containing `needle`.
    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + GENEROUS;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.0.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(e) => panic!("no line with {needle:?} ({e})"),
            }
        }
    }

    /// Every line still to come, once the child has ended.
    fn rest(self) -> String {
        self.0.iter().collect::<Vec<_>>().join("\n")
    }
}

/// What the binary says (at debug level) once a bounded wait has begun and a signal ends it:
/// the state a signal test waits for, instead of sleeping and hoping the wait has begun.
#[cfg(unix)]
const WAITING: &str = "a signal now ends the wait";

/// The default log filter, plus that line.
#[cfg(unix)]
const LOG_WAITS: &str = "warn,tallyfy_guests=info,tallyfy_guests::files::wait=debug";

#[cfg(unix)]
fn sigterm(child: &std::process::Child) {
    // SAFETY: a plain system call on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
}

#[cfg(unix)]
#[test]
fn outputs_that_nobody_reads_time_out_and_yield_to_sigterm() {
    use crate::util::Workspace;
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", &guests_csv(3));
    // --summary-json, --report-missing and --results, each a FIFO with no reader (the results
    // are opened before anything is sent: a set-up error, exit 2).
    for (flag, name, code) in [
        ("--summary-json", "summary.fifo", 1),
        ("--report-missing", "missing.fifo", 1),
        ("--results", "results.fifo", 2),
    ] {
        let fifo = ws.path(name);
        mkfifo(&fifo);
        let started = Instant::now();
        let stderr = expect_exit(
            ws.cmd()
                .args(["import", "--io-timeout", "2s", flag])
                .arg(&fifo)
                .arg(&file),
            code,
        );
        assert!(started.elapsed() < PROMPTLY, "{flag}: {:?}", started.elapsed());
        assert!(stderr.contains(name), "{flag}: the path is named: {stderr}");
        assert!(stderr.contains("within 2 s (--io-timeout)"), "{flag}: {stderr}");
    }
    // Export's --output too.
    let fifo = ws.path("export.fifo");
    mkfifo(&fifo);
    let stderr = expect_exit(
        ws.cmd().args(["export", "--io-timeout", "1s", "--output"]).arg(&fifo),
        1,
    );
    assert!(stderr.contains("export.fifo"), "{stderr}");
    // SIGTERM while it waits for a reader (bound far away).
    let fifo = ws.path("late.fifo");
    mkfifo(&fifo);
    let mut child = ws
        .process()
        .env("RUST_LOG", LOG_WAITS)
        .args(["import", "--io-timeout", "10m", "--summary-json"])
        .arg(&fifo)
        .arg(&file)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the wait for a reader has begun, SIGTERM ends it (bound far away) at once.
    let lines = Lines::of(&mut child);
    lines.wait_for(WAITING);
    sigterm(&child);
    let code = ends_within(&mut child, PROMPTLY).code();
    let stderr = lines.rest();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("late.fifo") && stderr.contains("signal"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn token_sources_that_never_answer_time_out_and_yield_to_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(1));
    let sandbox = crate::util::spawn(Default::default());
    let cmd = || {
        let mut cmd = bin();
        cmd.env("TALLYFY_BASE_URL", sandbox.base_url())
            .env("TALLYFY_ORG_ID", sandbox.org());
        cmd
    };
    // A token file that is a FIFO nobody writes.
    let fifo = dir.path().join("token.fifo");
    mkfifo(&fifo);
    let started = Instant::now();
    let stderr = expect_exit(
        cmd()
            .args(["import", "--dry-run", "--io-timeout", "2s", "--token-file"])
            .arg(&fifo)
            .arg(&file),
        2,
    );
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    assert!(
        stderr.contains("token.fifo") && stderr.contains("--io-timeout"),
        "{stderr}"
    );
    // A token command that never exits, with a child of its own: both are killed.
    let pid_file = dir.path().join("pid");
    let command = format!("sleep 1000 & echo $! > '{}'; wait", pid_file.display());
    let started = Instant::now();
    let stderr = expect_exit(
        cmd().args(["export", "--io-timeout", "2s", "--token-command", &command]),
        2,
    );
    assert!(started.elapsed() < PROMPTLY, "{:?}", started.elapsed());
    assert!(stderr.contains("--io-timeout"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let gone = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |stat| stat.split_whitespace().nth(2) == Some("Z"))
    };
    crate::util::wait_for(&format!("the token command's sleep {pid} to end"), || gone(pid));
    // SIGTERM while the command runs (bound far away).
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tallyfy-guests"))
        .env_remove("TALLYFY_ACCESS_TOKEN")
        .env("TALLYFY_BASE_URL", sandbox.base_url())
        .env("TALLYFY_ORG_ID", sandbox.org())
        .env("RUST_LOG", LOG_WAITS)
        .args(["export", "--io-timeout", "10m", "--token-command", "sleep 1000"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the wait for the command has begun, SIGTERM ends it (bound far away) at once.
    let lines = Lines::of(&mut child);
    lines.wait_for(WAITING);
    sigterm(&child);
    let code = ends_within(&mut child, PROMPTLY).code();
    let stderr = lines.rest();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("signal"), "{stderr}");
}
