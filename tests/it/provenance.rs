//! A results file proves where it came from and that it is whole (issue 22, principle 1): each
//! row records the organization, the API host, the run's start and its own last answer on the
//! server's clock, and only a run that read its whole input and gave every row its result
//! stamps every row with its `result_of` (issue 31; earlier versions ended the file with an
//! `end_of_results` trailer, still taken). `--retry-from` trusts nothing less: the results
//! of a killed run (cut short, torn mid-row, read from a pipe) are refused with the command
//! that continues the job, and `--on-missing` never acts on them.

use tallyfy_guests::sandbox::SandboxOptions;

use crate::util::{Workspace, expect_exit, generated_guests, result_of};

/// An organization of 30 guests, all named in `crm.csv`, with the file imported once (so every
/// row is `exists`): the nightly sync whose results a later `--retry-from` reads.
fn synced() -> (Workspace, String) {
    let guests = generated_guests(30);
    let ws = Workspace::new(SandboxOptions {
        guests: guests.clone(),
        ..SandboxOptions::default()
    });
    let mut csv = String::from("email,first_name\n");
    for guest in &guests {
        csv.push_str(&format!(
            "{},{}\n",
            guest.email,
            guest.first_name.as_deref().unwrap_or("")
        ));
    }
    // One row that fails (a member's email), so that a retry has something to re-run.
    csv.push_str("owner@sandbox.example,Owner\n");
    let file = ws.write("crm.csv", &csv);
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 1);
    let text = std::fs::read_to_string(ws.path("crm.results.csv")).unwrap();
    (ws, text)
}

/// Results text with every row's `result_of` set to `of` (read and written as CSV: the cell
/// holds commas): `""` is what a killed run leaves, which never reached its last pass.
fn with_result_of(text: &str, of: &str) -> String {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for (i, record) in reader.records().enumerate() {
        let mut cells: Vec<String> = record.unwrap().iter().map(str::to_string).collect();
        if i > 0 {
            cells[12] = of.to_string();
        }
        writer.write_record(&cells).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

fn disabled(ws: &Workspace) -> usize {
    ws.sandbox.guests().iter().filter(|g| g.disabled_at.is_some()).count()
}

#[test]
fn every_row_says_where_and_when_it_was_made_and_a_whole_run_stamps_every_row() {
    let ws = Workspace::empty();
    let file = ws.write(
        "guests.csv",
        "email,first_name\na@example.org,Ann\nnot-an-email,Bad\nb@example.org,Bo\n",
    );
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    expect_exit(ws.cmd().args(["import", "--yes"]).arg(&file), 1);
    let rows = ws.results("guests.results.csv");
    assert_eq!(rows.len(), 3, "one row per input row, and nothing else");
    let api = ws
        .sandbox
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches("/api")
        .to_string();
    for row in &rows {
        assert_eq!(
            (row.result_org.as_str(), row.result_api.as_str()),
            (ws.sandbox.org(), api.as_str())
        );
        let started = chrono::DateTime::parse_from_rfc3339(&row.result_run_started).expect("RFC 3339");
        assert!(started >= before, "{}", row.result_run_started);
        assert!(row.result_run_started.ends_with('Z'), "UTC: {}", row.result_run_started);
    }
    let invalid = rows.iter().find(|r| r.result_status == "invalid").unwrap();
    assert_eq!(invalid.result_at, "", "a row that sent no request has no answer time");
    for created in rows.iter().filter(|r| r.result_status == "created") {
        assert!(created.result_at >= created.result_run_started, "{created:?}");
    }
    let text = std::fs::read_to_string(ws.path("guests.results.csv")).unwrap();
    let of = result_of(&text).unwrap_or_else(|| panic!("no result_of in {text}"));
    assert!(
        of.starts_with("3 rows, finished ") && of.ends_with(": the whole input"),
        "{of}"
    );
    // The run's end, on the server's clock: no row of it is later.
    let finished = of["3 rows, finished ".len()..].split(' ').next().unwrap();
    assert!(rows.iter().all(|row| row.result_at.as_str() <= finished), "{of}");

    // The workbook carries the same columns, and its Summary sheet says where and whether whole.
    expect_exit(
        ws.cmd()
            .args(["import", "--yes", "--results", "guests.xlsx"])
            .arg(&file),
        1,
    );
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(ws.path("guests.xlsx")).unwrap();
    let results = book.worksheet_range("Results").unwrap();
    let header: Vec<String> = results.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header[6..10],
        ["result_org", "result_api", "result_run_started", "result_at"]
    );
    assert_eq!(header[12], "result_of");
    assert_eq!(results.rows().count(), 4, "the header and the rows: nothing else");
    assert!(
        results
            .rows()
            .skip(1)
            .all(|row| row[12].to_string().starts_with("3 rows, finished ")),
        "every row carries the run's result_of"
    );
    let summary = book.worksheet_range("Summary").unwrap();
    let facts: Vec<String> = summary
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("="))
        .collect();
    assert!(facts.contains(&format!("result_org={}", ws.sandbox.org())), "{facts:?}");
    assert!(facts.iter().any(|f| f.starts_with("whole=yes")), "{facts:?}");
}

/// The scenario: a killed run's results (rows missing at the end; or torn mid-row),
/// retried with `--on-missing disable`, used to disable every guest the missing rows
/// named. Now it is refused before anything is sent, with the command that continues the job.
#[test]
fn retry_from_a_killed_runs_results_disables_nothing_and_names_the_command_to_run() {
    let (ws, text) = synced();
    let lines: Vec<&str> = text.lines().collect();
    // Rows missing at the end and none stamped, as a run killed two thirds of the way leaves it.
    let killed = ws.write(
        "killed.results.csv",
        &with_result_of(&(lines[..21].join("\n") + "\n"), ""),
    );
    // The whole file cut short: its rows still count 31.
    let cut = ws.write("cut.results.csv", &(lines[..21].join("\n") + "\n"));
    // Torn in the middle of a row.
    let torn_at = text.find(&lines[15][..10]).unwrap() + 5;
    let torn = ws.write("torn.results.csv", &text[..torn_at]);
    // A quote opened and never closed: it swallows the rest of the file, trailer included.
    let open_quote = ws.write("quote.results.csv", &text.replacen(",First3\n", ",\"First3\n", 1));
    for file in [&killed, &cut, &torn, &open_quote] {
        let requests = ws.sandbox.stats().requests;
        let stderr = expect_exit(
            ws.cmd()
                .args(["import", "--yes", "--on-missing", "disable", "--max-missing", "100%"])
                .args(["--report-missing", "missing.csv", "--retry-from"])
                .arg(file),
            2,
        );
        let line = stderr.trim();
        assert_eq!(line.lines().count(), 1, "one line: {stderr}");
        assert!(line.contains("not a whole results file"), "{stderr}");
        // Rows cut off leave fewer than `result_of` counts; a torn row or an open quote leaves
        // a row whose `result_of` is cut off or swallowed.
        // A torn row's `result_of` is cut off; an open quote swallows the rest of the file, or,
        // closed by a later quote, the rows in between.
        let why: &[&str] = if file == &killed {
            &["carry no result_of"]
        } else if file == &cut {
            &["counts 31 rows but it holds 20"]
        } else {
            &["result_of differ", "rows were removed or added"]
        };
        assert!(why.iter().any(|why| line.contains(why)), "{why:?}: {stderr}");
        assert!(
            line.contains("running the original import again with the original input"),
            "{stderr}"
        );
        assert_eq!(
            ws.sandbox.stats().requests,
            requests,
            "nothing sent for {}",
            file.display()
        );
    }
    assert_eq!(disabled(&ws), 0, "no guest the file names is disabled");
}

#[test]
fn retry_from_a_stream_is_refused() {
    let (ws, text) = synced();
    let stderr = expect_exit(
        ws.cmd()
            .args([
                "import",
                "--yes",
                "--on-missing",
                "disable",
                "--report-missing",
                "missing.csv",
            ])
            .args(["--results", "again.csv", "--retry-from", "-"])
            .write_stdin(text),
        2,
    );
    assert!(stderr.contains("read from a stream"), "{stderr}");
    assert_eq!(disabled(&ws), 0);
}

/// The same whole file, opened and saved by Excel (a byte order mark, CRLF, every cell quoted),
/// is still whole: the retry runs and copies its rows.
#[test]
fn a_whole_results_file_saved_by_excel_is_still_accepted() {
    let (ws, text) = synced();
    let mut saved = String::from("\u{feff}");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    for record in reader.records() {
        let cells: Vec<String> = record
            .unwrap()
            .iter()
            .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
            .collect();
        saved.push_str(&cells.join(","));
        saved.push_str("\r\n");
    }
    let file = ws.write("saved.results.csv", &saved);
    expect_exit(
        ws.cmd()
            .args(["import", "--yes", "--results", "again.csv", "--retry-from"])
            .arg(&file),
        1,
    );
    let rows = ws.results("again.csv");
    assert_eq!(rows.len(), 31);
    assert_eq!(rows.iter().filter(|r| r.result_status == "exists").count(), 30);
    assert!(result_of(&std::fs::read_to_string(ws.path("again.csv")).unwrap()).is_some());
}

/// A retry of a run cut by `--limit` reads a whole file of a partial input: guests of the rows
/// never read would look missing, so `--on-missing` leaves every one `deferred`.
#[test]
fn retry_of_a_limited_run_leaves_missing_guests_deferred() {
    let (ws, _) = synced();
    expect_exit(
        ws.cmd().args([
            "import",
            "--yes",
            "--limit",
            "10",
            "--results",
            "first10.csv",
            "crm.csv",
        ]),
        0,
    );
    let text = std::fs::read_to_string(ws.path("first10.csv")).unwrap();
    assert!(result_of(&text).unwrap().ends_with("--limit 10"), "{text}");
    expect_exit(
        ws.cmd()
            .args(["import", "--yes", "--on-missing", "disable", "--max-missing", "100%"])
            .args([
                "--report-missing",
                "missing.csv",
                "--results",
                "again.csv",
                "--retry-from",
                "first10.csv",
            ]),
        3,
    );
    assert_eq!(disabled(&ws), 0);
    let (_, missing) = crate::util::read_csv(&std::fs::read_to_string(ws.path("missing.csv")).unwrap());
    assert_eq!(missing.len(), 20);
    assert!(
        missing
            .iter()
            .all(|row| row[0] == "deferred" && row[1].contains("--limit")),
        "{missing:?}"
    );
}

/// A whole file in which one row was pasted over another (Excel's copy and paste, a fill-down):
/// it still holds the number of rows its result_of counts, but one guest's row is gone, and a retry
/// with `--on-missing disable` used to disable that guest. A row number that appears twice
/// proves the file is not the run's account: refused, nothing sent.
#[test]
fn retry_from_a_file_with_a_row_pasted_over_another_disables_nothing() {
    let (ws, text) = synced();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[7] = lines[5];
    let pasted = ws.write("pasted.results.csv", &(lines.join("\n") + "\n"));
    let requests = ws.sandbox.stats().requests;
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--yes", "--on-missing", "disable", "--max-missing", "100%"])
            .args([
                "--report-missing",
                "missing.csv",
                "--results",
                "again.csv",
                "--retry-from",
            ])
            .arg(&pasted),
        2,
    );
    assert!(
        stderr.contains("not a whole results file") && stderr.contains("appears more than once"),
        "{stderr}"
    );
    assert_eq!(ws.sandbox.stats().requests, requests, "nothing sent");
    assert_eq!(disabled(&ws), 0, "no guest the original file names is disabled");
}

/// A killed run's results given as the plain input of a mirror (not through `--retry-from`) are
/// the same hazard: they used to be read as a guest file, and `--on-missing disable` disabled
/// the guests of every row the killed run never reached. Refused the same way, nothing sent.
#[test]
fn a_killed_runs_results_as_the_input_of_a_mirror_disable_nothing() {
    let (ws, text) = synced();
    let lines: Vec<&str> = text.lines().collect();
    let killed = ws.write(
        "killed.results.csv",
        &with_result_of(&(lines[..21].join("\n") + "\n"), ""),
    );
    let requests = ws.sandbox.stats().requests;
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--yes", "--on-missing", "disable", "--max-missing", "100%"])
            .args(["--report-missing", "missing.csv", "--results", "again.csv"])
            .arg(&killed),
        2,
    );
    assert!(
        stderr.contains("the input") && stderr.contains("is not a whole results file"),
        "{stderr}"
    );
    assert_eq!(ws.sandbox.stats().requests, requests, "nothing sent");
    assert_eq!(disabled(&ws), 0, "no guest the original file names is disabled");
    // The whole file is still a fine input for a mirror: it names every guest.
    let whole = ws.write("whole.results.csv", &text);
    expect_exit(
        ws.cmd()
            .args(["import", "--yes", "--on-missing", "disable", "--max-missing", "100%"])
            .args(["--report-missing", "missing.csv", "--results", "again.csv"])
            .arg(&whole),
        1,
    );
    assert_eq!(disabled(&ws), 0);
}

/// A killed run's rows with the `result_of` of an earlier, whole run of as many rows filled
/// down onto them (as the trailer of such a run was once pasted under them): the count agrees,
/// each row once, one `result_of`; but the rows are newer than the run it names, so refused.
#[test]
fn a_result_of_copied_onto_a_killed_runs_rows_disables_nothing() {
    let (ws, text) = synced();
    let lines: Vec<&str> = text.lines().collect();
    // An earlier whole run of the first 20 guests: its rows count 20.
    let first20 = ws.write("first20.csv", &(lines[..21].join("\n") + "\n"));
    let stamp = |line: &str| line.split(',').nth(8).unwrap_or_default().to_string();
    // Each run starts on a later second than the one before (the server's clock, in seconds).
    let wait_past = |time: &str| {
        while chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string().as_str() <= time {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_past(&stamp(lines[1]));
    expect_exit(
        ws.cmd()
            .args(["import", "--yes", "--results", "first20.results.csv"])
            .arg(&first20),
        0,
    );
    let earlier = std::fs::read_to_string(ws.path("first20.results.csv")).unwrap();
    let earlier_of = result_of(&earlier).unwrap();
    // The later run (the whole crm.csv) killed after 20 rows, and the earlier result_of filled
    // down onto them.
    wait_past(earlier_of["20 rows, finished ".len()..].split(' ').next().unwrap());
    expect_exit(
        ws.cmd().args(["import", "--yes", "--results", "later.csv", "crm.csv"]),
        1,
    );
    let later = std::fs::read_to_string(ws.path("later.csv")).unwrap();
    let later: Vec<&str> = later.lines().collect();
    let forged = ws.write(
        "forged.results.csv",
        &with_result_of(&(later[..21].join("\n") + "\n"), &earlier_of),
    );
    let requests = ws.sandbox.stats().requests;
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--yes", "--on-missing", "disable", "--max-missing", "100%"])
            .args([
                "--report-missing",
                "missing.csv",
                "--results",
                "again.csv",
                "--retry-from",
            ])
            .arg(&forged),
        2,
    );
    assert!(stderr.contains("is newer than the end of the run"), "{stderr}");
    assert_eq!(ws.sandbox.stats().requests, requests, "nothing sent");
    assert_eq!(disabled(&ws), 0);
}

/// Organization A's whole results, retried against organization B with `--on-missing disable`:
/// refused before anything is sent, since B's guests that A's file does not name would look
/// missing (and the retry would carry over A's rows as if they were B's).
#[test]
fn retry_from_another_organizations_results_disables_nothing() {
    let (a, _) = synced();
    let b = crate::util::spawn(SandboxOptions {
        org: "b".repeat(32),
        guests: generated_guests(40).split_off(30),
        ..SandboxOptions::default()
    });
    let stderr = expect_exit(
        crate::util::against(&b).current_dir(a.dir()).args([
            "import",
            "--retry-from",
            "crm.results.csv",
            "--on-missing",
            "disable",
            "--max-missing",
            "100%",
            "--report-missing",
            "missing.csv",
        ]),
        2,
    );
    assert!(
        stderr.contains(&format!("was made in organization {}", a.sandbox.org())),
        "{stderr}"
    );
    assert!(
        stderr.contains("without --retry-from"),
        "names the way to copy guests: {stderr}"
    );
    assert_eq!(b.stats().requests, 0, "nothing was sent to B");
    assert!(b.guests().iter().all(|g| g.disabled_at.is_none()), "none disabled");
}
