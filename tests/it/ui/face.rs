//! Issue 33's page as a product (points 1-3 and 7), in a real headless Chromium against the
//! real `ui`: an email column the tool does not know by name is chosen on the page, every row
//! needing a person is reachable in a 20,000-row file, every page speaks in a person's words,
//! a suggestion is applied with a click, and the polish (the focus on the next thing to do, a
//! phone's width, the server gone, the connect form).

use std::path::Path;

use fantoccini::Locator;
use tallyfy_guests::engine::Status;
use tallyfy_guests::sandbox::SandboxOptions;

use super::browser::{Browser, bounded, poll};
use super::flow::{JOB, STEP, counts, creates, until, upload_and_preview};
use super::server::Ui;
use super::{EXISTING, INVALID_ROW, PREVIEW, mixed_rows, seeded};

/// Writes `rows` under `header` as an .xlsx, below `titles` (one title row each).
fn sheet<const N: usize>(path: &Path, titles: &[&str], header: [&str; N], rows: &[[&str; N]]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let lines = titles
        .iter()
        .map(|t| vec![*t])
        .chain(std::iter::once(header.to_vec()))
        .chain(rows.iter().map(|r| r.to_vec()));
    for (i, line) in lines.enumerate() {
        for (column, cell) in line.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(i as u32, column as u16, *cell).unwrap();
            }
        }
    }
    book.save(path).unwrap();
}

/// Chooses `path` in the file input (the page's script sends it) and waits for the run's page.
async fn upload(browser: &Browser, ui: &Ui, path: &Path) {
    browser.goto(&ui.url).await;
    let input = browser.test_element("file", STEP).await;
    bounded("choose the file", input.send_keys(path.to_str().unwrap())).await;
    poll("the upload to open the run's page", STEP, || async {
        let url = browser.client.current_url().await.ok()?;
        url.path().starts_with("/runs/").then_some(())
    })
    .await;
}

/// The `data-test` of the focused element (empty when none has one).
async fn focused(browser: &Browser) -> String {
    let value = browser
        .script("const e = document.activeElement; return e ? (e.dataset.test || e.tagName) : ''")
        .await;
    value.as_str().unwrap_or_default().to_string()
}

/// Waits until the focused element is `[data-test=wanted]`.
async fn until_focused(browser: &Browser, wanted: &str) {
    let mut last = String::new();
    for _ in 0..(STEP.as_millis() / 100) {
        last = focused(browser).await;
        if last == wanted {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the focus is on {last:?}, not {wanted:?}: {}",
        browser.page_text().await
    );
}

/// What a person reads on the page holds no flag, no status as the results write it, and no
/// path of the server's: `what` names the page for the failure.
async fn assert_in_words(browser: &Browser, dir: &Path, what: &str) {
    let text = browser.script("return document.body.innerText").await;
    let text = text.as_str().unwrap_or_default();
    assert!(!text.contains("--"), "{what}: a flag on the page:\n{text}");
    for status in Status::all().map(Status::as_str).filter(|s| s.contains('_')) {
        assert!(!text.contains(status), "{what}: {status} on the page:\n{text}");
    }
    let statuses = browser
        .script(
            r#"return [...document.querySelectorAll('[data-test="row"]')]
                 .filter(r => r.querySelector('.status').innerText.trim() === r.dataset.status)
                 .map(r => r.dataset.status);"#,
        )
        .await;
    assert_eq!(statuses, serde_json::json!([]), "{what}: statuses as identifiers");
    let dir = dir.canonicalize().unwrap();
    for path in [dir.to_str().unwrap(), "/tmp/", "/home/", "runs/"] {
        assert!(
            !text.contains(path),
            "{what}: a server path ({path}) on the page:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_column_the_tool_does_not_know_is_chosen_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    let path = dir.path().join("kontakte.xlsx");
    sheet(&path, &[], ["Kontakt", "Vorname", "Nachname", "Firma"], &mixed_rows());
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;
    upload(&browser, &ui, &path).await;

    // Nothing is checked until the person says which column is the email; the likeliest one
    // (it holds addresses) is chosen already, and the button that applies it has the focus.
    let kontakt = browser.test_element("map", STEP).await;
    let select = r#"[data-test="map"][data-column="Kontakt"]"#;
    let chosen = browser
        .script(&format!("return document.querySelector('{select}').value"))
        .await;
    assert_eq!(chosen, "email", "{}", browser.page_text().await);
    drop(kontakt);
    let shown = super::flow::shown(&browser).await;
    assert_eq!(shown.data_state, "stopped");
    assert!(shown.rows.is_empty(), "no preview before the columns are confirmed");
    until_focused(&browser, "remap").await;
    assert_in_words(&browser, dir.path(), "the column step").await;

    browser.click("remap", STEP).await;
    let preview = until(&browser, &ui, "the preview with the chosen column", JOB, |s| {
        s.data_state == "ready" && !s.rows.is_empty()
    })
    .await;
    let expected: std::collections::BTreeMap<u64, String> = PREVIEW.iter().map(|(r, s)| (*r, s.to_string())).collect();
    assert_eq!(preview.rows, expected);
    assert_eq!(creates(&sandbox), 0);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_needing_a_person_is_reachable_in_twenty_thousand() {
    const ROWS: u64 = 20_000;
    const INVALID: u64 = 21;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(SandboxOptions::default());
    let path = dir.path().join("big.csv");
    let mut text = String::from("email,first_name\n");
    // Spread through the file, the last near its end: sheet rows 2 + 977·k.
    let bad: Vec<u64> = (0..INVALID).map(|k| 2 + k * 977 + 40).collect();
    for i in 0..ROWS {
        let row = i + 2;
        if bad.contains(&row) {
            text.push_str(&format!("person{i} at example.com,P{i}\n"));
        } else {
            text.push_str(&format!("person{i}@example.com,P{i}\n"));
        }
    }
    std::fs::write(&path, text).unwrap();
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;
    let preview = upload_and_preview(&browser, &ui, &path).await;
    assert_eq!(
        preview.counts,
        counts(&[("would_create", ROWS - INVALID), ("invalid", INVALID)])
    );

    // The rows needing a person come first, each with its cell to fix.
    let first: Vec<u64> = preview.rows.keys().copied().collect();
    assert!(first.len() < ROWS as usize, "the table is paged");
    let fixes = r#"return [...document.querySelectorAll('[data-test="row"]')].slice(0, 21)
        .map(r => [Number(r.dataset.row), r.dataset.status, !!r.querySelector('[data-test="fix"]')]);"#;
    let top = browser.script(fixes).await;
    let top: Vec<(u64, String, bool)> = serde_json::from_value(top).unwrap();
    assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), bad);
    assert!(top.iter().all(|t| t.1 == "invalid" && t.2), "{top:?}");

    // The count is a filter: it shows exactly as many rows as it says.
    let filter = bounded(
        "the invalid rows' filter",
        browser.client.find(Locator::Css(r#"a.filter[data-filter="invalid"]"#)),
    )
    .await;
    bounded("filter", filter.click()).await;
    let filtered = until(&browser, &ui, "only the invalid rows", STEP, |s| {
        s.rows.len() as u64 == INVALID && s.rows.values().all(|st| st == "invalid")
    })
    .await;
    assert_eq!(filtered.rows.keys().copied().collect::<Vec<_>>(), bad);
    // The header stays in view while the rows scroll.
    let sticky = browser
        .script("return getComputedStyle(document.querySelector('#rows thead th')).position")
        .await;
    assert_eq!(sticky, "sticky");

    // Every row is a page away: the last page holds the file's last row.
    browser
        .goto(&format!(
            "{}?page=100",
            browser
                .client
                .current_url()
                .await
                .unwrap()
                .as_str()
                .split('?')
                .next()
                .unwrap()
        ))
        .await;
    let last = super::flow::shown(&browser).await;
    assert!(last.rows.contains_key(&(ROWS + 1)), "{:?}", last.rows.keys().last());

    // The preview downloads as the results file a dry run writes, under the file's name.
    browser.click("results", STEP).await;
    let saved = browser.downloaded("big.preview.csv", STEP).await;
    let rows = crate::util::result_rows(&saved);
    assert_eq!(rows.len() as u64, ROWS);
    assert_eq!(
        rows.iter().filter(|r| r.result_status == "invalid").count() as u64,
        INVALID
    );
    assert_eq!(creates(&sandbox), 0);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_speaks_in_a_persons_words() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;

    // A PDF is said to be one, not read as a header.
    let pdf = dir.path().join("flyer.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    )
    .unwrap();
    upload(&browser, &ui, &pdf).await;
    let failed = until(&browser, &ui, "the PDF to be refused", STEP, |s| {
        s.data_state == "failed"
    })
    .await;
    assert!(failed.rows.is_empty());
    let text = browser.page_text().await;
    assert!(text.contains("is a PDF, not a spreadsheet"), "{text}");
    assert!(!text.contains("%PDF"), "{text}");
    assert_in_words(&browser, dir.path(), "a PDF's page").await;

    // The preview, and a suggestion applied with a click.
    let path = dir.path().join("messy.xlsx");
    let mut rows: Vec<[&str; 4]> = mixed_rows();
    rows[0][3] = "Asia/Tokio";
    for row in rows.iter_mut().skip(1) {
        row[3] = "";
    }
    sheet(&path, &[], ["Email", "First Name", "Last Name", "Time Zone"], &rows);
    let preview = upload_and_preview(&browser, &ui, &path).await;
    assert_eq!(preview.rows.get(&2).map(String::as_str), Some("invalid"));
    assert_in_words(&browser, dir.path(), "the preview").await;
    browser.goto(&format!("{}/", ui.base)).await;
    assert_in_words(&browser, dir.path(), "the runs list").await;
    browser.client.back().await.unwrap();
    browser.click("suggestion", STEP).await;
    until(&browser, &ui, "the suggestion to be applied", JOB, |s| {
        s.data_state == "ready" && s.rows.get(&2).map(String::as_str) == Some("would_create")
    })
    .await;

    // The results, after the fix of the invalid email.
    let cell = format!(r#"[data-test="fix"][data-row="{INVALID_ROW}"]"#);
    let cell = bounded("the cell", browser.client.find(Locator::Css(&cell))).await;
    bounded("clear", cell.clear()).await;
    bounded("type", cell.send_keys("alan.new@example.com\u{E007}")).await;
    until(&browser, &ui, "the fix", JOB, |s| {
        s.data_state == "ready" && s.rows.values().all(|st| st != "invalid")
    })
    .await;
    browser.click("send", STEP).await;
    browser.click("confirm", STEP).await;
    until(&browser, &ui, "the import", JOB, |s| s.data_state == "done").await;
    assert_in_words(&browser, dir.path(), "the results").await;
    browser.goto(&format!("{}/", ui.base)).await;
    assert_in_words(&browser, dir.path(), "the runs list after the import").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_focus_follows_the_next_step_at_a_phones_width_and_a_gone_server_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    let path = dir.path().join("guests.xlsx");
    super::workbook(&path, &mixed_rows());
    let mut ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;
    bounded("a phone's window", browser.client.set_window_size(390, 844)).await;
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";

    browser.goto(&ui.url).await;
    assert_eq!(browser.script(fits).await, true, "the upload page scrolls sideways");
    upload_and_preview(&browser, &ui, &path).await;
    assert_eq!(browser.script(fits).await, true, "the preview scrolls sideways");

    // The cell to fix has the focus; after the fix, Send; after Send, the confirmation; after
    // it, what follows the import.
    until_focused(&browser, "fix").await;
    let cell = format!(r#"[data-test="fix"][data-row="{INVALID_ROW}"]"#);
    let cell = bounded("the cell", browser.client.find(Locator::Css(&cell))).await;
    bounded("clear", cell.clear()).await;
    bounded("type", cell.send_keys("alan.new@example.com\u{E007}")).await;
    until(&browser, &ui, "the fix", JOB, |s| {
        s.data_state == "ready" && s.rows.get(&INVALID_ROW).map(String::as_str) == Some("would_create")
    })
    .await;
    until_focused(&browser, "send").await;
    browser.click("send", STEP).await;
    until_focused(&browser, "confirm").await;
    assert_eq!(browser.script(fits).await, true, "the question scrolls sideways");
    browser.click("confirm", STEP).await;
    until(&browser, &ui, "the import", JOB, |s| s.data_state == "done").await;
    until_focused(&browser, "undo").await;
    assert_eq!(browser.script(fits).await, true, "the results scroll sideways");

    // The server stops: the page says so.
    ui.kill();
    let banner = browser.test_element("gone", STEP).await;
    let text = bounded("the banner", banner.text()).await;
    assert!(text.contains("stopped"), "{text}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connect_form_keeps_what_was_typed_and_tells_an_unreachable_tallyfy_from_a_refused_token() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(SandboxOptions::default());
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://127.0.0.1:{}/api", closed.local_addr().unwrap().port());
    drop(closed);
    let mut unreachable = crate::util::process_against_nothing();
    unreachable.env("TALLYFY_BASE_URL", &nowhere).env("HOME", dir.path());
    let away = tempfile::tempdir().unwrap();
    let ui = Ui::spawn(away.path(), unreachable, &[]);
    let browser = Browser::start(dir.path()).await;
    for (ui, expected) in [(&ui, "could not be reached")] {
        browser.goto(&ui.url).await;
        let org = browser.test_element("org", STEP).await;
        bounded("type the org", org.send_keys("0123456789abcdef0123456789abcdef")).await;
        let token = browser.test_element("token", STEP).await;
        bounded("type the token", token.send_keys("not-a-token")).await;
        browser.click("connect", STEP).await;
        let problem = browser.test_element("problem", STEP).await;
        let said = bounded("the problem", problem.text()).await;
        assert!(said.contains(expected), "{said}");
        let kept = browser
            .script(r#"return document.querySelector('[data-test="org"]').value"#)
            .await;
        assert_eq!(kept, "0123456789abcdef0123456789abcdef");
    }
    drop(ui);

    // Tallyfy reached, the token refused.
    let mut refusing = crate::util::process_against(&sandbox);
    refusing.env_remove("TALLYFY_ACCESS_TOKEN").env("HOME", dir.path());
    let ui = Ui::spawn(away.path(), refusing, &[]);
    browser.goto(&ui.url).await;
    let token = browser.test_element("token", STEP).await;
    bounded("type the token", token.send_keys("not-the-token")).await;
    browser.click("connect", STEP).await;
    let problem = browser.test_element("problem", STEP).await;
    let said = bounded("the problem", problem.text()).await;
    assert!(said.contains("did not accept this token"), "{said}");
    assert!(!said.contains("--"), "{said}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workbooks_corrected_copy_and_results_keep_its_name_format_and_title_rows() {
    use calamine::{Data, Reader};
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(SandboxOptions::default());
    let path = dir.path().join("messy.xlsx");
    let rows = [
        ["anna@example.de", "Anna", "+49 170 1234567"],
        ["bernd at example.de", "Bernd", "+49 171 7654321"],
        ["carla@example.de", "Carla", ""],
    ];
    sheet(
        &path,
        &["Gästeliste Sommerfest", ""],
        ["E-Mail", "Vorname", "Telefon"],
        &rows,
    );
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;
    let preview = upload_and_preview(&browser, &ui, &path).await;
    // The title rows count: the header is row 3, the guests rows 4 to 6.
    assert_eq!(preview.rows.get(&5).map(String::as_str), Some("invalid"), "{preview:?}");
    let cell = bounded(
        "the cell",
        browser.client.find(Locator::Css(r#"[data-test="fix"][data-row="5"]"#)),
    )
    .await;
    bounded("clear", cell.clear()).await;
    bounded("type", cell.send_keys("bernd@example.de\u{E007}")).await;
    until(&browser, &ui, "the fix", JOB, |s| {
        s.data_state == "ready" && s.rows.get(&5).map(String::as_str) == Some("would_create")
    })
    .await;

    browser.click("corrected", STEP).await;
    let saved = browser.downloaded("messy.corrected.xlsx", STEP).await;
    let mut copy = calamine::open_workbook_auto(&saved).unwrap();
    let name = copy.sheet_names()[0].clone();
    let range = copy.worksheet_range(&name).unwrap();
    let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
    assert_eq!(cell(0, 0), Data::String("Gästeliste Sommerfest".into()));
    assert_eq!(cell(2, 0), Data::String("E-Mail".into()));
    assert_eq!(
        cell(4, 0),
        Data::String("bernd@example.de".into()),
        "the fix, at its row"
    );
    assert_eq!(
        cell(3, 2),
        Data::String("+49 170 1234567".into()),
        "no guard before a phone"
    );

    browser.click("send", STEP).await;
    browser.click("confirm", STEP).await;
    until(&browser, &ui, "the import", JOB, |s| s.data_state == "done").await;
    let xlsx = bounded(
        "the results workbook's link",
        browser.client.find(Locator::Css(r#"a[href$="/results.xlsx"]"#)),
    )
    .await;
    bounded("download", xlsx.click()).await;
    let saved = browser.downloaded("messy.results.xlsx", STEP).await;
    let mut results = calamine::open_workbook_auto(&saved).unwrap();
    let runs = dir.path().join("runs");
    for name in results.sheet_names() {
        let range = results.worksheet_range(&name).unwrap();
        for (_, _, value) in range.used_cells() {
            let text = value.to_string();
            assert!(
                !text.contains(runs.to_str().unwrap()),
                "the results name the server's copy: {text}"
            );
        }
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_row_is_left_out_with_a_click_put_back_and_never_sent() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(SandboxOptions::default());
    let path = dir.path().join("messy.csv");
    // Row 3 is a member's email (the sandbox's default members): it cannot be a guest.
    std::fs::write(
        &path,
        "email,first_name\nanna@example.de,Anna\nops@sandbox.example,Oscar\ncarla@example.de,Carla\n",
    )
    .unwrap();
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;
    let preview = upload_and_preview(&browser, &ui, &path).await;
    assert_eq!(preview.rows.get(&3).map(String::as_str), Some("invalid"), "{preview:?}");

    browser.click("skip", STEP).await;
    let left_out = until(&browser, &ui, "the row left out", JOB, |s| {
        s.data_state == "ready" && !s.rows.is_empty() && !s.rows.contains_key(&3)
    })
    .await;
    assert_eq!(left_out.counts, counts(&[("would_create", 2)]), "{left_out:?}");
    assert_in_words(&browser, dir.path(), "a row left out").await;

    // Put back, it is the member's row again; left out again for the send.
    browser.click("unskip", STEP).await;
    until(&browser, &ui, "the row put back", JOB, |s| {
        s.data_state == "ready" && s.rows.get(&3).map(String::as_str) == Some("invalid")
    })
    .await;
    browser.click("skip", STEP).await;
    until(&browser, &ui, "the row left out again", JOB, |s| {
        s.data_state == "ready" && !s.rows.is_empty() && !s.rows.contains_key(&3)
    })
    .await;

    browser.click("corrected", STEP).await;
    let saved = browser.downloaded("messy.corrected.csv", STEP).await;
    let copy = std::fs::read_to_string(&saved).unwrap();
    assert!(
        copy.contains("anna@example.de") && copy.contains("carla@example.de"),
        "{copy}"
    );
    assert!(
        !copy.contains("ops@sandbox.example"),
        "the row left out is in the copy: {copy}"
    );

    browser.click("send", STEP).await;
    browser.click("confirm", STEP).await;
    let done = until(&browser, &ui, "the import", JOB, |s| s.data_state == "done").await;
    assert_eq!(done.counts, counts(&[("created", 2)]), "{done:?}");
    assert_eq!(creates(&sandbox), 2, "only the rows kept were sent");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_nothing_to_send_says_so_and_offers_no_send() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(seeded(SandboxOptions::default()));
    let path = dir.path().join("known.xlsx");
    super::workbook(&path, &[EXISTING]);
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;
    let preview = upload_and_preview(&browser, &ui, &path).await;
    assert_eq!(preview.counts, counts(&[("exists", 1)]), "{preview:?}");
    let sends = browser
        .script(r#"return document.querySelectorAll('[data-test="send"]').length"#)
        .await;
    assert_eq!(sends, 0, "a Send that would create no guest");
    let text = browser.page_text().await;
    assert!(text.contains("nothing to send"), "{text}");
    assert!(!text.contains("Create 0"), "{text}");
    assert_in_words(&browser, dir.path(), "nothing to send").await;
    browser.close().await;
}

/// Writes a workbook of `sheets`, each a name and its rows (the first row its header).
fn book(path: &Path, sheets: &[(&str, &[&[&str]])]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, rows) in sheets {
        let sheet = book.add_worksheet().set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
    }
    book.save(path).unwrap();
}

/// Chooses `sheet` in the sheet's choice and applies it with the columns' button.
async fn choose_sheet(browser: &Browser, sheet: &str) {
    let choose =
        format!(r#"const s = document.querySelector('[data-test="sheet"]'); s.value = {sheet:?}; return s.value"#);
    assert_eq!(browser.script(&choose).await, sheet);
    browser.click("remap", STEP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guests_sheet_of_a_workbook_is_chosen_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = crate::util::spawn(SandboxOptions::default());
    let ui = Ui::start(dir.path(), Some(&sandbox), &[]);
    let browser = Browser::start(dir.path()).await;

    // No sheet names an email column: the one holding addresses is offered, with its column.
    let path = dir.path().join("kontakte.xlsx");
    let notes: &[&[&str]] = &[&["Bitte nicht löschen"], &["Stand: Juni"]];
    let contacts: &[&[&str]] = &[
        &["Kontakt", "Vorname"],
        &["anna@example.de", "Anna"],
        &["bernd@example.de", "Bernd"],
    ];
    book(&path, &[("Notizen", notes), ("Kontakte", contacts)]);
    upload(&browser, &ui, &path).await;
    let step = until(&browser, &ui, "the column step", STEP, |s| s.data_state == "stopped").await;
    assert!(step.rows.is_empty(), "{step:?}");
    let chosen = browser
        .script(r#"return [document.querySelector('[data-test="sheet"]').value, document.querySelector('[data-test="map"][data-column="Kontakt"]').value]"#)
        .await;
    assert_eq!(chosen, serde_json::json!(["Kontakte", "email"]));
    browser.click("remap", STEP).await;
    let preview = until(&browser, &ui, "the chosen sheet's preview", JOB, |s| {
        s.data_state == "ready" && !s.rows.is_empty()
    })
    .await;
    assert_eq!(preview.counts, counts(&[("would_create", 2)]), "{preview:?}");

    // Two sheets name an email column: the first is read, the person chooses the other.
    let path = dir.path().join("fest.xlsx");
    let team: &[&[&str]] = &[&["Email", "Name"], &["chef@example.de", "Chef"]];
    let guests: &[&[&str]] = &[
        &["E-Mail", "Vorname"],
        &["carla@example.de", "Carla"],
        &["dora@example.de", "Dora"],
        &["emil@example.de", "Emil"],
    ];
    book(&path, &[("Team", team), ("Gäste", guests)]);
    let first = upload_and_preview(&browser, &ui, &path).await;
    assert_eq!(first.counts, counts(&[("would_create", 1)]), "{first:?}");
    choose_sheet(&browser, "Gäste").await;
    let preview = until(&browser, &ui, "the other sheet's preview", JOB, |s| {
        s.data_state == "ready" && s.counts == counts(&[("would_create", 3)])
    })
    .await;
    assert_eq!(preview.rows.keys().copied().collect::<Vec<_>>(), [2, 3, 4]);
    assert_in_words(&browser, dir.path(), "a workbook's sheets").await;

    // Sent, the chosen sheet is what is imported.
    browser.click("send", STEP).await;
    browser.click("confirm", STEP).await;
    let done = until(&browser, &ui, "the import", JOB, |s| s.data_state == "done").await;
    assert_eq!(done.counts, counts(&[("created", 3)]), "{done:?}");
    assert_eq!(creates(&sandbox), 3);
    browser.close().await;
}
