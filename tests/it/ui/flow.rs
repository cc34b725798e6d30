//! The issue's browser scenarios: a person's whole import on the page (upload an xlsx, the
//! preview's exact statuses, an invalid email fixed in place, send and confirm, the counts
//! live, the results download, undo), and Stop mid-run, in a real headless Chromium against
//! the real `ui` binary and an in-process sandbox the test can read.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tallyfy_guests::sandbox::{Sandbox, SandboxOptions};

use super::browser::{Browser, bounded};
use super::server::Ui;
use super::{FIXED_EMAIL, INVALID_ROW, PREVIEW, mixed_rows, seeded, workbook};
use fantoccini::Locator;

/// Longest a preview, an import or an undo of these few rows may take on a busy machine.
pub(super) const JOB: Duration = crate::util::GENEROUS;
/// Longest wait for an element or a page.
pub(super) const STEP: Duration = crate::util::BROWSER_STEP;

/// What the page shows, read in one round trip: the state line, each row's status by sheet
/// row, the counts by status, and whether the marker set by [`Browser::script`] survives (it
/// does not survive a reload).
#[derive(Debug, Default)]
pub(super) struct Shown {
    /// The state line in words (shown when a wait fails).
    #[allow(dead_code, reason = "read through Debug in failure messages")]
    pub state: String,
    /// The state as tests read it (`data-state`), not the words.
    pub data_state: String,
    pub rows: BTreeMap<u64, String>,
    pub counts: BTreeMap<String, u64>,
    pub marked: bool,
    /// The engine's question waits for an answer.
    pub asked: bool,
}

const READ: &str = r#"
const state = document.querySelector('[data-test="state"]');
return {
  state: state ? state.textContent : '',
  data_state: state ? (state.dataset.state || '') : '',
  rows: [...document.querySelectorAll('[data-test="row"]')].map(r => [Number(r.dataset.row), r.dataset.status]),
  counts: [...document.querySelectorAll('[data-test="count"]')].map(c => [c.dataset.status, Number(c.textContent)]),
  marked: window.__tallyfyMarker === true,
  asked: !!document.querySelector('[data-test="confirm"]'),
};"#;

pub(super) async fn shown(browser: &Browser) -> Shown {
    let value = browser.script(READ).await;
    let pairs = |key: &str| value[key].as_array().cloned().unwrap_or_default();
    Shown {
        state: value["state"].as_str().unwrap_or_default().to_string(),
        data_state: value["data_state"].as_str().unwrap_or_default().to_string(),
        rows: pairs("rows")
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_str().unwrap().to_string()))
            .collect(),
        counts: pairs("counts")
            .iter()
            .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_u64().unwrap()))
            .collect(),
        marked: value["marked"] == Value::Bool(true),
        asked: value["asked"] == Value::Bool(true),
    }
}

/// Waits until what the page shows passes `done`, for at most `limit`; the failure names
/// `what` and the page's text and the server's stderr.
pub(super) async fn until(
    browser: &Browser,
    ui: &Ui,
    what: &str,
    limit: Duration,
    done: impl Fn(&Shown) -> bool,
) -> Shown {
    let started = std::time::Instant::now();
    loop {
        let now = shown(browser).await;
        if done(&now) {
            return now;
        }
        if started.elapsed() > limit {
            panic!(
                "waited {limit:?} for {what}; the page shows {now:?}\n--- page text:\n{}\n--- ui stderr:\n{}",
                browser.page_text().await,
                ui.stderr()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(s, n)| (s.to_string(), *n)).collect()
}

/// Every guest of the sandbox's organization as its API lists them, read with a plain HTTP
/// client (not the tool's), sorted by email.
pub(super) async fn listed_guests(sandbox: &Sandbox) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut guests = Vec::new();
    for page in 1.. {
        let url = format!(
            "{}/organizations/{}/guests?page={page}&per_page=100",
            sandbox.base_url(),
            sandbox.org()
        );
        let answer: Value = bounded(
            "list the sandbox's guests",
            client
                .get(url)
                .bearer_auth(sandbox.token())
                .header("X-Tallyfy-Client", "APIClient")
                .timeout(STEP)
                .send(),
        )
        .await
        .json()
        .await
        .unwrap();
        let data = answer["data"].as_array().cloned().unwrap_or_default();
        let last = answer["meta"]["pagination"]["total_pages"].as_u64().unwrap_or(1) <= page;
        guests.extend(data);
        if last {
            break;
        }
    }
    guests.sort_by_key(|g| g["email"].as_str().unwrap_or_default().to_lowercase());
    guests
}

/// Creates the sandbox saw (`POST …/guests`).
pub(super) fn creates(sandbox: &Sandbox) -> usize {
    let log = sandbox.request_log();
    log.iter()
        .filter(|line| line.starts_with("POST ") && line.ends_with("/guests"))
        .count()
}

/// Logs in with line 1's URL and uploads `path` through the file input; returns once the
/// run's page shows the preview finished.
pub(super) async fn upload_and_preview(browser: &Browser, ui: &Ui, path: &std::path::Path) -> Shown {
    browser.goto(&ui.url).await;
    let input = browser.test_element("file", STEP).await;
    bounded("choose the file", input.send_keys(path.to_str().unwrap())).await;
    // The page's script submits on choosing (page.js): wait until the run's page is shown,
    // rather than guessing how long that takes and clicking a submit button meanwhile.
    super::browser::poll("the upload to open the run's page", STEP, || async {
        let url = browser.client.current_url().await.ok()?;
        url.path().starts_with("/runs/").then_some(())
    })
    .await;
    until(browser, ui, "the preview to finish", JOB, |s| {
        s.data_state == "ready" && !s.rows.is_empty()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_previews_fixes_sends_downloads_and_undoes_an_import_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    let before = listed_guests(&sandbox).await;
    let sheet = dir.path().join("guests.xlsx");
    workbook(&sheet, &mixed_rows());
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;

    // The preview: one table row per sheet row, each with its exact would-be status.
    let preview = upload_and_preview(&browser, &ui, &sheet).await;
    let expected: BTreeMap<u64, String> = PREVIEW.iter().map(|(r, s)| (*r, s.to_string())).collect();
    assert_eq!(preview.rows, expected, "{}", browser.page_text().await);
    assert_eq!(
        preview.counts,
        counts(&[("would_create", 3), ("exists", 1), ("duplicate", 1), ("invalid", 1)])
    );
    assert_eq!(creates(&sandbox), 0, "a preview sends no create");
    if std::env::var_os("UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        let png = browser.screenshot().await;
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("ui.png"), png).unwrap();
    }

    // The invalid email fixed in place: Enter re-checks it, and the row becomes would_create.
    let selector = format!("[data-test=\"fix\"][data-row=\"{INVALID_ROW}\"][data-field=\"email\"]");
    let cell = bounded("the invalid email's cell", browser.client.find(Locator::Css(&selector))).await;
    bounded("clear the cell", cell.clear()).await;
    bounded("type the fix", cell.send_keys(&format!("{FIXED_EMAIL}\u{E007}"))).await;
    let fixed = until(&browser, &ui, "the fixed row to be re-checked", JOB, |s| {
        s.data_state == "ready" && s.rows.get(&INVALID_ROW).map(String::as_str) == Some("would_create")
    })
    .await;
    assert_eq!(
        fixed.counts,
        counts(&[("would_create", 4), ("exists", 1), ("duplicate", 1)])
    );
    assert_eq!(creates(&sandbox), 0, "a fix sends no create");

    // Send asks first, naming the organization and the counts; confirm starts the import.
    browser.click("send", STEP).await;
    let question = browser.test_element("confirm", STEP).await;
    // The question: the smallest part of the page around the button that names the
    // organization; it gives the count of creates too.
    let asked = browser
        .script(
            r#"let e = document.querySelector('[data-test="confirm"]');
               while (e.parentElement && !e.innerText.includes('Sandbox Organization')) e = e.parentElement;
               return e.innerText;"#,
        )
        .await;
    let asked = asked.as_str().unwrap_or_default();
    assert!(
        asked.contains("Sandbox Organization"),
        "the question names the organization: {asked}"
    );
    let numbers: Vec<&str> = asked.split(|c: char| !c.is_ascii_digit()).collect();
    assert!(
        numbers.contains(&"4"),
        "the question gives the count of creates, 4: {asked}"
    );
    assert_eq!(creates(&sandbox), 0, "nothing is sent before the confirmation");
    bounded("confirm", question.click()).await;
    let done = until(&browser, &ui, "the import's final counts", JOB, |s| {
        s.data_state == "done" && s.counts == counts(&[("created", 4), ("exists", 1), ("duplicate", 1)])
    })
    .await;
    let mut final_rows = expected.clone();
    for (row, status) in [(2, "created"), (4, "created"), (6, "created"), (7, "created")] {
        final_rows.insert(row, status.to_string());
    }
    assert_eq!(done.rows, final_rows);
    assert_eq!(creates(&sandbox), 4);
    assert!(sandbox.guest(FIXED_EMAIL).is_some(), "the fixed address was imported");

    // The results download: the engine's results file, every row, the fixed cell in it.
    browser.click("results", STEP).await;
    let saved = browser.downloaded(".csv", STEP).await;
    let rows = crate::util::result_rows(&saved);
    let statuses: BTreeMap<u64, String> = rows.iter().map(|r| (r.result_row, r.result_status.clone())).collect();
    assert_eq!(statuses, final_rows);
    let fixed_row = rows.iter().find(|r| r.result_row == INVALID_ROW).unwrap();
    assert_eq!(fixed_row.cell("Email"), FIXED_EMAIL);
    for row in rows.iter().filter(|r| r.result_status == "created") {
        let guest = sandbox.guest(row.cell("Email")).expect("a created row's guest exists");
        assert_eq!(row.result_guest_id, guest.id);
    }

    // Undo, confirmed: the organization is as it was before the import.
    browser.click("undo", STEP).await;
    browser.click("confirm", STEP).await;
    until(&browser, &ui, "the undo to finish", JOB, |s| {
        s.data_state == "done" && s.counts.get("deleted") == Some(&4)
    })
    .await;
    assert_eq!(
        listed_guests(&sandbox).await,
        before,
        "undo leaves the organization as it was"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_on_the_page_sends_no_further_create() {
    const ROWS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(SandboxOptions::default());
    let sheet = dir.path().join("many.xlsx");
    let emails: Vec<String> = (0..ROWS).map(|i| format!("stop{i:02}@example.com")).collect();
    let rows: Vec<[&str; 1]> = emails.iter().map(|e| [e.as_str()]).collect();
    workbook(&sheet, &rows);
    // Creates paced one a 250 ms window, so the run lasts about 10 s and Stop lands mid-run.
    let ui = Ui::start(dir.path(), Some(&sandbox), &["--invite-rate", "1/250ms"]);
    let browser = Browser::start(dir.path()).await;
    let preview = upload_and_preview(&browser, &ui, &sheet).await;
    assert_eq!(preview.counts, counts(&[("would_create", ROWS as u64)]));

    browser.click("send", STEP).await;
    browser.click("confirm", STEP).await;
    browser.test_element("stop", STEP).await;
    // A marker a reload would wipe: the counts that follow arrive live, not by reloading.
    browser.script("window.__tallyfyMarker = true; return null").await;
    let going = until(&browser, &ui, "a few creates, shown live", JOB, |s| {
        s.marked && s.counts.get("created").is_some_and(|n| (3..ROWS as u64).contains(n))
    })
    .await;
    assert_eq!(going.data_state, "running", "{going:?}");

    let at_stop = creates(&sandbox);
    let clicking = std::time::Instant::now();
    browser.click("stop", STEP).await;
    // Creates the pace lets out while the click travels (WebDriver, the page's script, the
    // server) are not after the Stop; on a loaded machine that trip takes a while.
    let during_click = (clicking.elapsed().as_secs_f64() * 4.0).ceil() as usize;
    let stopped = until(&browser, &ui, "the run to say it stopped", JOB, |s| {
        s.data_state == "stopped"
    })
    .await;
    let when_stopped = creates(&sandbox);
    // At most the creates already paced and in flight finish after the click.
    assert!(
        when_stopped <= at_stop + 2 + during_click,
        "{at_stop} creates at Stop, {when_stopped} after ({during_click} paced during the click)"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        creates(&sandbox),
        when_stopped,
        "a create was sent after the run stopped"
    );
    assert!(when_stopped < ROWS, "the run was stopped before its end");
    assert_eq!(sandbox.guests().len(), when_stopped);
    // The page's counts are the sandbox's: every create is a created row, the rest deferred.
    let total: u64 = stopped.counts.values().sum();
    assert_eq!(total, ROWS as u64, "{stopped:?}");
    assert_eq!(
        stopped.counts.get("created"),
        Some(&(when_stopped as u64)),
        "{stopped:?}"
    );
    browser.close().await;
}
