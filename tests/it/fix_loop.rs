//! The fix loop (issue 23, part 3): a person fixes cells in the results file and runs
//! `--retry-from` on it. Every row that did not succeed is read again from the file's current
//! cells; rows that succeeded are carried over, never re-sent; `result_row` keeps the first
//! run's row numbers through any number of rounds, as input too.

use crate::util::{Workspace, expect_exit};

/// What a round's rows say: (row, status, email).
fn rows_of(ws: &Workspace, name: &str) -> Vec<(u64, String, String)> {
    ws.results(name)
        .iter()
        .map(|r| (r.result_row, r.result_status.clone(), r.cell("email").to_string()))
        .collect()
}

#[test]
fn fixed_cells_in_csv_results_are_created_on_retry_and_row_numbers_survive_every_round() {
    let ws = Workspace::empty();
    // A title row above the header: the spreadsheet's rows are 3 to 6, while the results
    // file's own lines are 2 to 5, so renumbering would show.
    let file = ws.write(
        "guests.csv",
        "Guests for March\nemail,first_name\n\
         ann@example.com,Ann\n\
         bad-email,Bob\n\
         ann@example.com,Ann again\n\
         cy@example.com,Cy\n",
    );
    expect_exit(ws.cmd().arg("import").arg(&file), 1);
    let first = ws.results("guests.results.csv");
    assert_eq!(
        first
            .iter()
            .map(|r| (r.result_row, r.result_status.as_str()))
            .collect::<Vec<_>>(),
        [(3, "created"), (4, "invalid"), (5, "duplicate"), (6, "created")]
    );
    assert_eq!(first[2].result_message, "duplicate of row 3 (same email)");
    assert_eq!(ws.sandbox.stats().posts, 2);

    // The person fixes the email cell in the results file (its trailer stays) ...
    let results = ws.path("guests.results.csv");
    let text = std::fs::read_to_string(&results).unwrap();
    assert!(text.contains(",bad-email,"), "{text}");
    std::fs::write(&results, text.replace(",bad-email,", ",bob@example.com,")).unwrap();
    // ... and runs --retry-from on it: the fixed row is created, the rest carried over.
    expect_exit(ws.cmd().args(["import", "--retry-from"]).arg(&results), 0);
    let second = ws.results("guests.retry.results.csv");
    assert_eq!(
        rows_of(&ws, "guests.retry.results.csv"),
        [
            (3, "created".into(), "ann@example.com".into()),
            (4, "created".into(), "bob@example.com".into()),
            (5, "duplicate".into(), "ann@example.com".into()),
            (6, "created".into(), "cy@example.com".into()),
        ]
    );
    assert_eq!(second[2].result_message, "duplicate of row 3 (same email)");
    // A carried-over row is the first run's account, provenance and all; it is not re-sent.
    assert_eq!(second[0].result_at, first[0].result_at);
    assert_eq!(second[0].result_guest_id, first[0].result_guest_id);
    assert_eq!(ws.sandbox.stats().posts, 3, "only the fixed row was sent");
    assert!(ws.sandbox.guest("bob@example.com").is_some());

    // A second round, on the retry's own results: the numbers hold, nothing is re-sent.
    expect_exit(
        ws.cmd()
            .args(["import", "--retry-from"])
            .arg(ws.path("guests.retry.results.csv")),
        0,
    );
    let third = ws.results("guests.retry.retry.results.csv");
    assert_eq!(third.iter().map(|r| r.result_row).collect::<Vec<_>>(), [3, 4, 5, 6]);
    assert_eq!(third[2].result_message, "duplicate of row 3 (same email)");
    assert_eq!(ws.sandbox.stats().posts, 3);

    // The results given as plain input keep their numbers too.
    expect_exit(
        ws.cmd()
            .arg("import")
            .arg(ws.path("guests.retry.results.csv"))
            .args(["--results", "plain.csv"]),
        0,
    );
    let plain = ws.results("plain.csv");
    assert_eq!(
        plain
            .iter()
            .map(|r| (r.result_row, r.result_status.as_str()))
            .collect::<Vec<_>>(),
        [(3, "exists"), (4, "exists"), (5, "duplicate"), (6, "exists")]
    );
    assert_eq!(plain[2].result_message, "duplicate of row 3 (same email)");
}

#[test]
fn a_run_with_rows_to_fix_ends_with_the_one_next_command_and_it_works_when_pasted() {
    let ws = Workspace::empty();
    // A name with a space: the command must be quoted for a shell to be pasted as it is.
    let file = ws.write(
        "my guests.csv",
        "email,first_name\nann@example.com,Ann\nbad-email,Bob\nbad-too,Bo\n",
    );
    let stderr = expect_exit(
        ws.cmd()
            .arg("import")
            .arg(&file)
            .args(["--on-existing", "update", "--summary-json", "summary.json"]),
        1,
    );
    let results = ws.path("my guests.results.csv");
    let command = format!(
        "tallyfy-guests import --retry-from '{}' --on-existing update --summary-json summary.json",
        results.display()
    );
    let advice = format!(
        "next: fix the 2 rows marked invalid in '{}', then run: {command}",
        results.display()
    );
    assert!(stderr.trim_end().ends_with(&advice), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["next_command"], serde_json::json!(command));

    // The person fixes the cells and pastes the command: the rows are created, nothing is left.
    let text = std::fs::read_to_string(&results).unwrap();
    std::fs::write(
        &results,
        text.replace(",bad-email,", ",bob@example.com,")
            .replace(",bad-too,", ",bo@example.com,"),
    )
    .unwrap();
    let bin = ws.path("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(
        assert_cmd::cargo::cargo_bin!("tallyfy-guests"),
        bin.join("tallyfy-guests"),
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut pasted = assert_cmd::Command::new("sh");
    for var in tallyfy_guests::config::ENV_VARS {
        pasted.env_remove(var);
    }
    pasted
        .env("PATH", path)
        .env(crate::util::LOCK_DIR_ENV, crate::util::lock_dir_of(&ws.sandbox))
        .env("TALLYFY_BASE_URL", ws.sandbox.base_url())
        .env("TALLYFY_ORG_ID", ws.sandbox.org())
        .env("TALLYFY_ACCESS_TOKEN", ws.sandbox.token())
        .current_dir(ws.dir())
        .timeout(crate::util::GENEROUS)
        .args(["-c", &command]);
    let stderr = expect_exit(&mut pasted, 0);
    assert!(!stderr.contains("next:"), "nothing needs a person now: {stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["next_command"], serde_json::Value::Null);
    assert_eq!(
        rows_of(&ws, "my guests.retry.results.csv"),
        [
            (2, "created".into(), "ann@example.com".into()),
            (3, "created".into(), "bob@example.com".into()),
            (4, "created".into(), "bo@example.com".into()),
        ]
    );
}

/// `path`'s sheets, every cell as the text it shows, for a test to edit and write back.
fn sheets_of(path: &std::path::Path) -> Vec<(String, Vec<Vec<String>>)> {
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto(path).unwrap();
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).unwrap();
            let rows = range
                .rows()
                .map(|row| row.iter().map(|cell| cell.to_string()).collect())
                .collect();
            (name, rows)
        })
        .collect()
}

#[test]
fn fixed_cells_in_xlsx_results_are_created_on_retry_with_their_row_numbers() {
    let ws = Workspace::empty();
    let file = ws.write(
        "guests.csv",
        "Guests for March\nemail,first_name\n\
         ann@example.com,Ann\n\
         bad-email,Bob\n\
         ann@example.com,Ann again\n",
    );
    let stderr = expect_exit(
        ws.cmd()
            .arg("import")
            .arg(&file)
            .args(["--results", "guests.results.xlsx"]),
        1,
    );
    let xlsx = ws.path("guests.results.xlsx");
    assert!(
        stderr.contains("next: fix the 1 row marked invalid in guests.results.xlsx, then run: tallyfy-guests import --retry-from guests.results.xlsx"),
        "{stderr}"
    );
    // The person fixes the cell in Excel: the same sheets, written anew.
    let mut sheets = sheets_of(&xlsx);
    assert_eq!(sheets[0].0, "Results");
    let results = &mut sheets[0].1;
    let email = results[0].iter().position(|h| h == "email").unwrap();
    let bad = results.iter().position(|row| row[email] == "bad-email").unwrap();
    results[bad][email] = "bob@example.com".into();
    // Only rows: each carries the run's `result_of`, which proves the sheet whole.
    let of = results[0].iter().position(|h| h == "result_of").unwrap();
    assert_eq!(results.len(), 4, "the header and one row per input row");
    assert!(
        results[1..]
            .iter()
            .all(|row| row[of] == results[1][of] && row[of].starts_with("3 rows, finished ")),
        "{results:?}"
    );
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, rows) in &sheets {
        let sheet = book.add_worksheet().set_name(name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
    }
    book.save(&xlsx).unwrap();

    expect_exit(ws.cmd().args(["import", "--retry-from"]).arg(&xlsx), 0);
    assert_eq!(
        rows_of(&ws, "guests.retry.results.csv"),
        [
            (3, "created".into(), "ann@example.com".into()),
            (4, "created".into(), "bob@example.com".into()),
            (5, "duplicate".into(), "ann@example.com".into()),
        ]
    );
    assert_eq!(
        ws.results("guests.retry.results.csv")[2].result_message,
        "duplicate of row 3 (same email)"
    );
    assert_eq!(ws.sandbox.stats().posts, 2, "only the fixed row was sent again");

    // A workbook whose Results sheet lost a row is not whole.
    sheets[0].1.pop();
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, rows) in &sheets {
        let sheet = book.add_worksheet().set_name(name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
    }
    let cut = ws.path("cut.results.xlsx");
    book.save(&cut).unwrap();
    let stderr = expect_exit(ws.cmd().args(["import", "--retry-from"]).arg(&cut), 2);
    assert!(stderr.contains("counts 3 rows but it holds 2"), "{stderr}");
}
