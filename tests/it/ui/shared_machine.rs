//! The page on a machine shared with other users (issue 33 point 6, and point 3's retention),
//! against the real `ui`: idle connections from another process do not starve it and its
//! descriptor limit is raised; its folders and files are its owner's only; an upload named
//! like one of the run's own files stays intact; a run is deleted from the page (never while
//! its job runs) and pruned by `--keep`.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use tallyfy_guests::sandbox::SandboxOptions;

use super::seeded;
use super::server::{Http, Ui, state_of};

/// Longest a preview, an import or an undo of a few rows may take.
const JOB: Duration = crate::util::GENEROUS;

/// Idle connections opened against the page: more than the server may have files open.
const IDLE: usize = 1_200;

/// `command` run under `prlimit`, with the open files limited to `soft` (`hard` at most).
fn limited(command: std::process::Command, soft: u64, hard: u64) -> std::process::Command {
    let mut wrapped = std::process::Command::new("prlimit");
    wrapped
        .arg(format!("--nofile={soft}:{hard}"))
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(std::process::Stdio::null());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(name, value),
            None => wrapped.env_remove(name),
        };
    }
    wrapped
}

/// The test process's own soft limit on open files, raised to its hard one (it opens
/// [`IDLE`] sockets beside what the other tests hold).
fn raise_own_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read or write the one struct they are given.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    limit.rlim_cur
}

/// `(soft, hard)` "Max open files" of process `pid`.
fn open_files_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let mut values = line["Max open files".len()..].split_whitespace();
    (values.next().unwrap().into(), values.next().unwrap().into())
}

/// Whether the server closed `stream` (its answer, if it sent one, read first).
fn closed(stream: &mut std::net::TcpStream) -> bool {
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// `GET /` with the session `cookie`, on a connection of its own; its status and how long it
/// took.
async fn timed_get(base: &str, cookie: &str) -> (StatusCode, Duration) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(crate::util::GENEROUS)
        .build()
        .unwrap();
    let started = Instant::now();
    let answer = client.get(format!("{base}/")).header("cookie", cookie).send().await;
    (answer.expect("the page answers").status(), started.elapsed())
}

#[tokio::test]
async fn idle_connections_from_another_process_leave_the_page_answering() {
    let dir = tempfile::tempdir().unwrap();
    // As many systems start a process: 512 files, up to 1,024 if it asks. The page asks.
    let command = limited(crate::util::process_against_nothing(), 512, 1024);
    let ui = Ui::spawn(dir.path(), command, &["--sandbox"]);
    assert_eq!(
        open_files_limit(ui.pid()),
        ("1024".into(), "1024".into()),
        "the soft limit is raised to the hard one"
    );
    let mut http = ui.http();
    http.login().await;
    let cookie = http.seen[0].header("set-cookie").split(';').next().unwrap().to_string();
    assert!(
        raise_own_limit() > IDLE as u64 + 200,
        "the test needs room for its sockets"
    );

    // Another local user (no key) opens more connections than the server may have files:
    // half send nothing, half one request (refused) and then hold the connection open.
    let request = format!("GET / HTTP/1.1\r\nhost: 127.0.0.1:{}\r\n\r\n", ui.port);
    let mut idle = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", ui.port)).unwrap();
        if i % 2 == 1 {
            let _ = std::io::Write::write_all(&mut stream, request.as_bytes());
        }
        stream.set_nonblocking(true).unwrap();
        idle.push(stream);
    }

    // The person's page answers, a read and a write (the Stop button's kind) alike.
    let (status, took) = timed_get(&ui.base, &cookie).await;
    assert_eq!(status, StatusCode::OK);
    eprintln!("with {IDLE} idle connections open, the page answered in {took:?}");
    let stop = http.post_form("/runs/none/stop", &[]).await;
    assert_eq!(stop.status, StatusCode::SEE_OTHER, "{}", stop.text());
    // Idle ones were closed to make room (most at once, the rest at the header's deadline).
    let mut shed = 0;
    crate::util::wait_for("the idle connections to be shed", || {
        shed = idle.iter_mut().map(closed).filter(|gone| *gone).count();
        shed >= IDLE - 300
    });
    eprintln!("{shed} of {IDLE} idle connections were closed by the server");
    let (status, _) = timed_get(&ui.base, &cookie).await;
    assert_eq!(status, StatusCode::OK, "still answering");
}

/// Uploads `name` with `bytes`, waits for its preview; the run's id and the preview's page.
async fn preview(http: &mut Http, name: &str, bytes: &[u8]) -> (String, String) {
    let id = http.upload(name, bytes).await.run_id();
    let page = http.until_finished(&id, "", JOB).await;
    (id, page)
}

/// Posts `action` (send or undo), confirms it, and waits for the job after `before`.
async fn confirmed(http: &mut Http, id: &str, action: &str, before: &str) -> String {
    asked(http, id, action).await;
    let answer = http.post_form(&format!("/runs/{id}/confirm"), &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "confirm: {}", answer.text());
    http.until_finished(id, before, JOB).await
}

/// Posts `action` (send or undo) and waits for the engine's question (it plans first).
async fn asked(http: &mut Http, id: &str, action: &str) {
    let answer = http.post_form(&format!("/runs/{id}/{action}"), &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{action}: {}", answer.text());
    http.until_asked(id, JOB).await;
}

const GUESTS: &str = "email,first_name\r\nnina.new@example.com,Nina\r\nbad at example.com,Bad\r\n";

#[tokio::test]
async fn uploads_named_like_the_runs_own_files_stay_intact_and_everything_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let mut http = ui.http();
    http.login().await;

    // Named as the corrected copy's temporary file: a fix writes that file.
    let (fixed, page) = preview(&mut http, "corrected.csv.tmp", GUESTS.as_bytes()).await;
    let form = [("row", "3"), ("field", "email"), ("value", "bad.fixed@example.com")];
    let answer = http.post_form(&format!("/runs/{fixed}/fix"), &form).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let page = http.until_finished(&fixed, &state_of(&page), JOB).await;
    assert!(
        page.contains("corrected.csv.tmp"),
        "the page names the file as the person did"
    );

    // Named as the undo's journal: an import and its undo write that file.
    let (undone, page) = preview(&mut http, "undo.acts.csv", GUESTS.as_bytes()).await;
    let page = confirmed(&mut http, &undone, "send", &state_of(&page)).await;
    confirmed(&mut http, &undone, "undo", &state_of(&page)).await;
    assert!(sandbox.stats().created > 0, "the import reached the organization");

    let runs = dir.path().join("runs");
    for id in [&fixed, &undone] {
        let folder = runs.join(id);
        let kept: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .flatten()
            .filter(|e| std::fs::read(e.path()).is_ok_and(|bytes| bytes == GUESTS.as_bytes()))
            .map(|e| e.file_name())
            .collect();
        assert_eq!(kept.len(), 1, "{id}: the upload, intact, once: {kept:?}");
    }
    // Everything the server made is its owner's only: the folders 0700, their files 0600.
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&runs), 0o700);
    let mut files = 0;
    for folder in std::fs::read_dir(&runs).unwrap().flatten().map(|e| e.path()) {
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
        for file in std::fs::read_dir(&folder).unwrap().flatten().map(|e| e.path()) {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
            files += 1;
        }
    }
    assert!(files >= 10, "the runs' files were all looked at ({files})");
}

/// Sets the last change of `folder` and its files `days` ago.
fn age(folder: &Path, days: u64) {
    let then = SystemTime::now() - Duration::from_secs(days * 86_400);
    for entry in std::fs::read_dir(folder).unwrap().flatten() {
        let file = std::fs::File::options().write(true).open(entry.path()).unwrap();
        file.set_modified(then).unwrap();
    }
    std::fs::File::open(folder).unwrap().set_modified(then).unwrap();
}

#[tokio::test]
async fn a_run_is_deleted_from_the_page_but_never_while_its_job_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    // One create an hour: the import creates its first guest, then waits.
    let ui = Ui::start(dir.path(), Some(&sandbox), &["--invite-rate", "1/h"]);
    let mut http = ui.http();
    http.login().await;
    let guests = "email\r\nann.new@example.com\r\nbob.new@example.com\r\n";
    let (id, _) = preview(&mut http, "two.csv", guests.as_bytes()).await;
    asked(&mut http, &id, "send").await;
    let answer = http.post_form(&format!("/runs/{id}/confirm"), &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "confirm: {}", answer.text());
    crate::util::wait_for("the first create", || sandbox.stats().created == 1);
    let folder = dir.path().join("runs").join(&id);

    let link = format!("href=\"/runs/{id}/delete\"");
    assert!(
        !http.get("/").await.text().contains(&link),
        "a going run offers no delete"
    );
    let asked = http.get(&format!("/runs/{id}/delete")).await;
    assert_eq!(asked.status, StatusCode::CONFLICT, "{}", asked.text());
    let answer = http.post_form(&format!("/runs/{id}/delete"), &[]).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.text());
    assert!(answer.text().contains("stop it"), "{}", answer.text());
    assert!(folder.join("run.json").exists(), "a going run is not deleted");

    http.post_form(&format!("/runs/{id}/stop"), &[]).await;
    http.until_finished(&id, "", JOB).await;
    // The list offers a delete once the job ended; it asks first, and asking deletes nothing.
    assert!(
        http.get("/").await.text().contains(&link),
        "an ended run offers a delete"
    );
    let asked = http.get(&format!("/runs/{id}/delete")).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text());
    let question = asked.text();
    assert!(question.contains("Delete the run of two.csv"), "{question}");
    assert!(question.contains("stay in the organization"), "{question}");
    assert!(
        question.contains(&format!("action=\"/runs/{id}/delete\"")),
        "{question}"
    );
    assert!(folder.join("run.json").exists(), "asking deletes nothing");
    // From another site: refused before anything is deleted.
    let request = http
        .client()
        .post(format!("{}/runs/{id}/delete", ui.base))
        .header("origin", "http://evil.example");
    assert_eq!(http.send(request).await.status, StatusCode::FORBIDDEN);
    assert!(folder.exists());

    let answer = http.post_form(&format!("/runs/{id}/delete"), &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(answer.header("location"), "/");
    assert!(!folder.exists(), "the run's folder is gone");
    assert_eq!(std::fs::read_dir(dir.path().join("runs")).unwrap().count(), 0);
    assert_eq!(http.get(&format!("/runs/{id}")).await.status, StatusCode::NOT_FOUND);
    assert!(!http.get("/").await.text().contains(&id), "no longer listed");
    assert_eq!(
        sandbox.stats().created,
        1,
        "what was imported stays in the organization"
    );
}

#[tokio::test]
async fn runs_past_their_retention_are_pruned_when_the_page_starts() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    let (unsent_old, unsent_new, sent_old) = {
        let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
        let mut http = ui.http();
        http.login().await;
        let (a, _) = preview(&mut http, "a.csv", b"email\r\na.new@example.com\r\n").await;
        let (b, _) = preview(&mut http, "b.csv", b"email\r\nb.new@example.com\r\n").await;
        let (c, page) = preview(&mut http, "c.csv", b"email\r\nc.new@example.com\r\n").await;
        confirmed(&mut http, &c, "send", &state_of(&page)).await;
        (a, b, c)
    };
    let runs = dir.path().join("runs");
    age(&runs.join(&unsent_old), 31);
    age(&runs.join(&sent_old), 31);
    let listed = |ids: &[&String]| ids.iter().all(|id| runs.join(id).join("run.json").exists());

    // Without --keep: a preview never sent goes after 30 days unused; a sent run stays.
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    assert!(!runs.join(&unsent_old).exists(), "{}", ui.stderr());
    assert!(listed(&[&unsent_new, &sent_old]));
    drop(ui);

    // With --keep 7d: sent runs too; a run used since stays.
    let ui = Ui::start(dir.path(), Some(&sandbox), &["--keep", "7d"]);
    assert!(!runs.join(&sent_old).exists(), "{}", ui.stderr());
    assert!(listed(&[&unsent_new]));
    assert!(ui.stderr().contains("removed run"), "{}", ui.stderr());
    let mut http = ui.http();
    http.login().await;
    let home = http.get("/").await.text();
    assert!(home.contains(&unsent_new) && !home.contains(&sent_old), "{home}");
}
