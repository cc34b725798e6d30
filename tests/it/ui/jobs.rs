//! A job outlives the tab (issue 32, point 2) and rows are fixed after a send (issue 33,
//! point 1), in a real headless Chromium against the real `ui`: Stop then Continue finishes the
//! job with each guest created once; Undo of a stopped run takes back exactly its creates; a run
//! stopped at the invite cap continues without a new upload; a run cut by a server restart is
//! listed with Continue and finishes; an undo refused while another run holds the organization
//! can be asked again; a row fixed after a send is sent. Every wait is for `data-state`.

use tallyfy_guests::sandbox::{FaultOptions, SandboxOptions};

use super::browser::{Browser, bounded};
use super::flow::{JOB, STEP, Shown, creates, listed_guests, until, upload_and_preview};
use super::server::Ui;
use super::{FIXED_EMAIL, INVALID_ROW, mixed_rows, seeded, workbook};
use fantoccini::Locator;

/// `n` new guests' emails, one a row, as a workbook in `dir`.
fn new_guests(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let sheet = dir.join("new.xlsx");
    let emails: Vec<String> = (0..n).map(|i| format!("job{i:02}@example.com")).collect();
    let rows: Vec<[&str; 1]> = emails.iter().map(|e| [e.as_str()]).collect();
    workbook(&sheet, &rows);
    sheet
}

fn count(shown: &Shown, status: &str) -> u64 {
    shown.counts.get(status).copied().unwrap_or(0)
}

/// Clicks `action` (send, continue, undo), waits for the engine's question and says yes;
/// returns the question's text.
async fn asked_and_confirmed(browser: &Browser, ui: &Ui, action: &str) -> String {
    browser.click(action, STEP).await;
    let asked = until(browser, ui, "the engine's question", crate::util::PROMPTLY, |s| s.asked).await;
    assert!(asked.asked);
    let confirm = browser.test_element("confirm", STEP).await;
    let question = browser
        .script("return document.getElementById('question').innerText")
        .await;
    bounded("confirm", confirm.click()).await;
    question.as_str().unwrap_or_default().to_string()
}

/// Sends the previewed file and stops it once at least 3 guests are created; returns the page
/// once it says the run stopped.
async fn send_and_stop(browser: &Browser, ui: &Ui, rows: u64) -> Shown {
    asked_and_confirmed(browser, ui, "send").await;
    until(browser, ui, "3 creates, live", JOB, |s| {
        s.data_state == "running" && (3..rows).contains(&count(s, "created"))
    })
    .await;
    browser.click("stop", STEP).await;
    until(browser, ui, "the run to stop", JOB, |s| s.data_state == "stopped").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_then_continue_finishes_the_job_with_each_guest_created_once() {
    const ROWS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(SandboxOptions::default());
    let sheet = new_guests(dir.path(), ROWS);
    let ui = Ui::start(dir.path(), Some(&sandbox), &["--invite-rate", "4/s"]);
    let browser = Browser::start(dir.path()).await;
    upload_and_preview(&browser, &ui, &sheet).await;
    let stopped = send_and_stop(&browser, &ui, ROWS as u64).await;
    let made = sandbox.guests().len();
    assert!(made < ROWS, "stopped before the end: {stopped:?}");
    assert_eq!(count(&stopped, "created"), made as u64, "{stopped:?}");

    // Continue: the rest of the same job, asked as a send is, with what is left.
    let question = asked_and_confirmed(&browser, &ui, "continue").await;
    let left = (ROWS - made).to_string();
    assert!(
        question.split(|c: char| !c.is_ascii_digit()).any(|n| n == left),
        "the question counts the {left} creates left: {question}"
    );
    let done = until(&browser, &ui, "the job to finish", JOB, |s| s.data_state == "done").await;
    // A run stopped on request is continued as the CLI continues it: the guests it made are
    // found and skipped (exists), the rest created.
    assert_eq!(count(&done, "created"), (ROWS - made) as u64, "{done:?}");
    assert_eq!(count(&done, "exists"), made as u64, "{done:?}");
    assert_eq!(sandbox.guests().len(), ROWS);
    assert_eq!(creates(&sandbox), ROWS, "each guest was sent once");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_on_a_stopped_run_takes_back_exactly_its_creates() {
    const ROWS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    let before = listed_guests(&sandbox).await;
    let sheet = new_guests(dir.path(), ROWS);
    let ui = Ui::start(dir.path(), Some(&sandbox), &["--invite-rate", "4/s"]);
    let browser = Browser::start(dir.path()).await;
    upload_and_preview(&browser, &ui, &sheet).await;
    let stopped = send_and_stop(&browser, &ui, ROWS as u64).await;
    let made = sandbox.guests().len() - before.len();
    assert!((3..ROWS).contains(&made), "{stopped:?}");

    asked_and_confirmed(&browser, &ui, "undo").await;
    let undone = until(&browser, &ui, "the undo to finish", JOB, |s| s.data_state == "done").await;
    assert_eq!(count(&undone, "deleted"), made as u64, "{undone:?}");
    assert_eq!(
        listed_guests(&sandbox).await,
        before,
        "exactly the run's creates were taken back"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_at_the_invite_cap_continues_without_a_new_upload() {
    const ROWS: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    // A cap of 4 in a window of 2 s, and a page that waits at most 1 s: the confirmed run
    // stops at the cap, as a run with a short --max-wait does at Tallyfy's hour.
    let sandbox = crate::util::spawn(SandboxOptions {
        faults: FaultOptions {
            invite_cap: Some("4/2s".parse().unwrap()),
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let sheet = new_guests(dir.path(), ROWS);
    let ui = Ui::start(dir.path(), Some(&sandbox), &["--max-wait", "1s"]);
    let browser = Browser::start(dir.path()).await;
    upload_and_preview(&browser, &ui, &sheet).await;
    asked_and_confirmed(&browser, &ui, "send").await;
    let capped = until(&browser, &ui, "the run to stop at the cap", JOB, |s| {
        matches!(s.data_state.as_str(), "stopped" | "done")
    })
    .await;
    assert_eq!(capped.data_state, "stopped", "{capped:?}");
    assert!(count(&capped, "deferred") > 0, "{capped:?}");
    assert!(
        !browser.page_text().await.contains("same command"),
        "the page says Continue, not a command"
    );

    // Continue until every row is done: each round takes what the cap's window allows.
    let mut rounds = 0;
    let done = loop {
        rounds += 1;
        assert!(rounds <= 20, "the job did not finish in 20 rounds");
        asked_and_confirmed(&browser, &ui, "continue").await;
        let now = until(&browser, &ui, "the round to end", JOB, |s| {
            matches!(s.data_state.as_str(), "stopped" | "done")
        })
        .await;
        if now.data_state == "done" {
            break now;
        }
    };
    assert_eq!(count(&done, "created"), ROWS as u64, "{done:?}");
    assert_eq!(sandbox.guests().len(), ROWS);
    // No new upload: the home page lists the one run.
    browser.goto(&format!("{}/", ui.base)).await;
    let runs = browser
        .script("return document.querySelectorAll('[data-test=\"run\"]').length")
        .await;
    assert_eq!(runs.as_u64(), Some(1));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_interrupted_by_a_server_restart_is_listed_with_continue_and_finishes() {
    const ROWS: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(SandboxOptions::default());
    let sheet = new_guests(dir.path(), ROWS);
    let first = Ui::start(dir.path(), Some(&sandbox), &["--invite-rate", "3/s"]);
    let browser = Browser::start(dir.path()).await;
    upload_and_preview(&browser, &first, &sheet).await;
    asked_and_confirmed(&browser, &first, "send").await;
    crate::util::wait_for("2 guests made", || sandbox.guests().len() >= 2);
    // The server is killed mid-run (SIGKILL: nothing of it ends cleanly).
    drop(first);
    let made = sandbox.guests().len();
    assert!(made < ROWS, "killed before the end");

    let second = Ui::start(dir.path(), Some(&sandbox), &[]);
    browser.goto(&second.url).await;
    let listed = browser
        .script("return document.querySelector('[data-test=\"run\"] [data-test=\"run-state\"]').dataset.state")
        .await;
    assert_eq!(listed.as_str(), Some("stopped"), "{}", browser.page_text().await);
    let page = browser.page_text().await;
    assert!(!page.contains("open (undo)"), "{page}");
    asked_and_confirmed(&browser, &second, "continue").await;
    let done = until(&browser, &second, "the job to finish", JOB, |s| s.data_state == "done").await;
    // The guests made before the restart are found and skipped, the rest created.
    assert_eq!(
        count(&done, "created") + count(&done, "exists"),
        ROWS as u64,
        "{done:?}"
    );
    assert_eq!(sandbox.guests().len(), ROWS);
    assert_eq!(creates(&sandbox), ROWS, "each guest was sent once");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_refused_while_another_run_holds_the_organization_can_be_asked_again() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(SandboxOptions::default());
    let sheet = new_guests(dir.path(), 3);
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;
    upload_and_preview(&browser, &ui, &sheet).await;
    asked_and_confirmed(&browser, &ui, "send").await;
    until(&browser, &ui, "the import to finish", JOB, |s| s.data_state == "done").await;

    // Another run (the CLI) holds the organization: its create is held by the sandbox.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "email\nother@example.com\n").unwrap();
    sandbox.hold_writes();
    let mut cli = crate::util::process_against(&sandbox)
        .args(["import", "--yes"])
        .arg(&other)
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::util::wait_for("the other run's create to arrive", || sandbox.stats().posts >= 4);
    browser.click("undo", STEP).await;
    let refused = until(&browser, &ui, "the undo to be refused", JOB, |s| {
        s.data_state == "failed"
    })
    .await;
    assert_eq!(sandbox.guests().len(), 3, "nothing was taken back: {refused:?}");

    sandbox.release_writes();
    assert!(crate::util::wait_exit(&mut cli).success());
    asked_and_confirmed(&browser, &ui, "undo").await;
    let undone = until(&browser, &ui, "the undo to finish", JOB, |s| s.data_state == "done").await;
    assert_eq!(count(&undone, "deleted"), 3, "{undone:?}");
    let left: Vec<String> = sandbox.guests().into_iter().map(|g| g.email).collect();
    assert_eq!(left, ["other@example.com"]);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_fixed_after_a_send_is_sent_and_nothing_else_is() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    let sheet = dir.path().join("guests.xlsx");
    workbook(&sheet, &mixed_rows());
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;
    upload_and_preview(&browser, &ui, &sheet).await;
    asked_and_confirmed(&browser, &ui, "send").await;
    let sent = until(&browser, &ui, "the import to finish", JOB, |s| s.data_state == "done").await;
    assert_eq!(count(&sent, "created"), 3, "{sent:?}");
    assert_eq!(count(&sent, "invalid"), 1, "{sent:?}");
    assert_eq!(creates(&sandbox), 3);

    // The invalid row keeps its input after the send; fixed, it is sent by Send.
    let selector = format!("[data-test=\"fix\"][data-row=\"{INVALID_ROW}\"][data-field=\"email\"]");
    let cell = bounded("the invalid email's cell", browser.client.find(Locator::Css(&selector))).await;
    bounded("clear the cell", cell.clear()).await;
    bounded("type the fix", cell.send_keys(&format!("{FIXED_EMAIL}\u{E007}"))).await;
    super::browser::poll("the fix to be kept", STEP, || async {
        let value = browser
            .script(&format!(
                "let e = document.querySelector('{selector}'); return e ? e.value : ''"
            ))
            .await;
        (value.as_str() == Some(FIXED_EMAIL)).then_some(())
    })
    .await;
    asked_and_confirmed(&browser, &ui, "send").await;
    let done = until(&browser, &ui, "the fixed row to be sent", JOB, |s| {
        s.data_state == "done" && count(s, "invalid") == 0
    })
    .await;
    assert_eq!(count(&done, "created"), 4, "{done:?}");
    assert_eq!(done.rows.get(&INVALID_ROW).map(String::as_str), Some("created"));
    assert!(sandbox.guest(FIXED_EMAIL).is_some());
    assert_eq!(creates(&sandbox), 4, "rows already created were not sent again");
    browser.close().await;
}
