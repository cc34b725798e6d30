//! Spreadsheets as people really have them, and what the tool says about them: title rows above
//! the header, European column names, an email column the tool cannot name, trying a few rows.

use crate::util::{Workspace, bin, expect_exit};

#[test]
fn a_workbook_with_title_rows_above_its_header_imports_with_no_flags() {
    let ws = Workspace::empty();
    let path = ws.path("march.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Guests for the March onboarding").unwrap();
    sheet.write_string(1, 0, "Exported 2026-03-01").unwrap();
    for (col, title) in ["Email", "First Name", "Company"].into_iter().enumerate() {
        sheet.write_string(3, col as u16, title).unwrap();
    }
    sheet.write_string(4, 0, "ana@example.org").unwrap();
    sheet.write_string(4, 1, "Ana").unwrap();
    sheet.write_string(5, 0, "ben@example.org").unwrap();
    book.save(&path).unwrap();
    let stderr = expect_exit(ws.cmd().arg("import").arg(&path), 0);
    assert!(
        stderr.contains("the header is row 4; the 2 rows above it are ignored"),
        "{stderr}"
    );
    let rows = ws.results("march.results.csv");
    let got: Vec<(u64, &str)> = rows.iter().map(|r| (r.result_row, r.result_status.as_str())).collect();
    assert_eq!(got, [(5, "created"), (6, "created")], "the sheet's own row numbers");
    assert_eq!(
        ws.sandbox.guest("ana@example.org").unwrap().first_name.as_deref(),
        Some("Ana")
    );
}

#[test]
fn german_and_french_exports_import_with_no_flags() {
    let ws = Workspace::empty();
    let german = ws.write(
        "kunden.csv",
        "E-Mail-Adresse;Vorname;Nachname;Firma;Telefon;Zeitzone\n\
         jürgen@example.de;Jürgen;Groß;Müller GmbH;+49 89 2180 0;Europe/Berlin\n",
    );
    let french = ws.write(
        "clients.csv",
        "Courriel,Prénom,Nom,Société,Téléphone,Fuseau horaire\n\
         helene@example.fr,Hélène,Dupont,Café SARL,+33 1 23 45 67 89,Europe/Paris\n",
    );
    expect_exit(ws.cmd().arg("import").arg(&german), 0);
    expect_exit(ws.cmd().arg("import").arg(&french), 0);
    let jurgen = ws.sandbox.guest("jürgen@example.de").unwrap();
    assert_eq!(
        (
            jurgen.first_name.as_deref(),
            jurgen.last_name.as_deref(),
            jurgen.company_name.as_deref(),
            jurgen.phone_1.as_deref(),
            jurgen.timezone.as_deref()
        ),
        (
            Some("Jürgen"),
            Some("Groß"),
            Some("Müller GmbH"),
            Some("+49 89 2180 0"),
            Some("Europe/Berlin")
        )
    );
    let helene = ws.sandbox.guest("helene@example.fr").unwrap();
    assert_eq!(
        (
            helene.first_name.as_deref(),
            helene.last_name.as_deref(),
            helene.company_name.as_deref(),
            helene.phone_1.as_deref(),
            helene.timezone.as_deref()
        ),
        (
            Some("Hélène"),
            Some("Dupont"),
            Some("Café SARL"),
            Some("+33 1 23 45 67 89"),
            Some("Europe/Paris")
        )
    );
}

#[test]
fn an_email_column_with_an_unknown_name_is_named_with_the_map_to_use() {
    let ws = Workspace::empty();
    let file = ws.write(
        "crm.csv",
        "Kontakt,Name\nana@example.org,Ana\nben@example.org,Ben\n,Nobody\n",
    );
    let stderr = expect_exit(bin().args(["import", "--dry-run"]).arg(&file), 2);
    assert!(
        stderr.contains(r#"`Kontakt` holds email addresses: pass --map "Kontakt=email""#),
        "{stderr}"
    );
    // Which works.
    expect_exit(
        bin().args(["import", "--dry-run", "--map", "Kontakt=email"]).arg(&file),
        1,
    );
    // With nothing that looks like an address, the columns are listed instead.
    let none = ws.write("none.csv", "Name,Town\nAna,Graz\n");
    let stderr = expect_exit(bin().args(["import", "--dry-run"]).arg(&none), 2);
    assert!(stderr.contains("no email column: the header row has"), "{stderr}");
}

#[test]
fn limit_processes_only_the_first_rows_and_header_row_picks_the_header() {
    let ws = Workspace::empty();
    let mut csv = String::from("email\n");
    for i in 0..20 {
        csv.push_str(&format!("row{i}@example.org\n"));
    }
    let file = ws.write("guests.csv", &csv);
    expect_exit(ws.cmd().args(["import", "--limit", "5"]).arg(&file), 0);
    let rows = ws.results("guests.results.csv");
    assert_eq!(rows.len(), 5);
    assert_eq!(rows.last().unwrap().result_row, 6);
    assert_eq!(ws.sandbox.guests().len(), 5);

    let titled = ws.write(
        "titled.csv",
        "email is below,\nnotes,\nemail,first_name\nann@example.org,Ann\n",
    );
    expect_exit(ws.cmd().args(["import", "--header-row", "3"]).arg(&titled), 0);
    let rows = ws.results("titled.results.csv");
    assert_eq!((rows[0].result_row, rows[0].result_status.as_str()), (4, "created"));
    let stderr = expect_exit(ws.cmd().args(["import", "--header-row", "0"]).arg(&titled), 2);
    assert!(stderr.contains("is not a row number"), "{stderr}");
}

#[test]
fn a_european_excel_file_gets_results_excel_opens_right_and_they_read_back() {
    let ws = Workspace::empty();
    // What Excel on Windows saves as "CSV" in Europe: `;` and Windows-1252.
    let (bytes, _, _) =
        encoding_rs::WINDOWS_1252.encode("E-Mail;Vorname;Notiz\nrene@example.fr;René;=wichtig\nbad;Zoë;\n");
    let file = ws.path("kunden.csv");
    std::fs::write(&file, &bytes).unwrap();
    expect_exit(ws.cmd().arg("import").arg(&file), 1);
    let results = std::fs::read(ws.path("kunden.results.csv")).unwrap();
    assert!(results.starts_with(b"\xEF\xBB\xBF"), "a byte order mark for Excel");
    let text = String::from_utf8(results).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .starts_with("\u{feff}result_row;result_status;result_message;"),
        "{text}"
    );
    assert!(text.contains("René") && text.contains("Zoë"), "{text}");
    let rows = ws.results("kunden.results.csv");
    assert_eq!(rows[0].cell("Notiz"), "'=wichtig");
    assert_eq!(rows[1].result_status, "invalid");
    // The results file is itself valid input: the failed row re-runs, the rest are copied.
    expect_exit(
        ws.cmd()
            .arg("import")
            .arg("--retry-from")
            .arg(ws.path("kunden.results.csv")),
        1,
    );
    let again = ws.results("kunden.retry.results.csv");
    assert_eq!(
        again.iter().map(|r| r.result_status.as_str()).collect::<Vec<_>>(),
        ["created", "invalid"]
    );
    assert_eq!(ws.sandbox.guests().len(), 1);
}

#[test]
fn messages_speak_the_files_language_and_rephrase_known_refusals() {
    let ws = Workspace::empty();
    let file = ws.write(
        "guests.csv",
        "Email,Phone 1,Time Zone,Members\n\
         long@example.org,+1 (555) 123-4567 ext. 89,,\n\
         tz@example.org,,Asia/Tokio,\n\
         member@example.org,,,9999\n",
    );
    expect_exit(ws.cmd().arg("import").arg(&file), 1);
    let rows = ws.results("guests.results.csv");
    let messages: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.result_status.as_str(), r.result_message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            ("invalid", "Phone 1 is 25 characters long (at most 20)"),
            (
                "invalid",
                "Time Zone \"Asia/Tokio\" is not a known time zone: did you mean Asia/Tokyo?"
            ),
            (
                "invalid",
                "member 9999 is not in this organization: fix the member ids in this row"
            ),
        ]
    );
}

/// The binary under a pseudo-terminal (util-linux `script`), answering `answer` to whatever it
/// asks; the typescript goes to the workspace. `None` where `script` is not installed.
#[cfg(target_os = "linux")]
fn on_a_terminal(ws: &Workspace, args: &str, answer: &str) -> Option<(i32, String)> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    Command::new("script").arg("--version").output().ok()?;
    let binary = assert_cmd::cargo::cargo_bin!("tallyfy-guests");
    let mut script = Command::new("script");
    for var in tallyfy_guests::config::ENV_VARS {
        script.env_remove(var);
    }
    let mut child = script
        .env(crate::util::LOCK_DIR_ENV, crate::util::lock_dir_of(&ws.sandbox))
        .env("TALLYFY_BASE_URL", ws.sandbox.base_url())
        .env("TALLYFY_ORG_ID", ws.sandbox.org())
        .env("TALLYFY_ACCESS_TOKEN", ws.sandbox.token())
        .current_dir(ws.dir())
        .args(["-q", "-e", "-c", &format!("{} {args}", binary.display())])
        .arg(ws.path("typescript"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    Some((
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

#[cfg(target_os = "linux")]
#[test]
fn an_interactive_run_asks_once_naming_the_organization_and_never_otherwise() {
    let ws = Workspace::empty();
    ws.write("guests.csv", "email\nann@example.org\nben@example.org\n");
    let Some((code, screen)) = on_a_terminal(&ws, "import guests.csv", "n\n") else {
        return; // no `script` here to make a terminal with
    };
    assert!(
        screen.contains("Create 2 guests in Sandbox Organization (5a4db0c5a4db0c5a4db0c5a4db0c5a4d)? "),
        "{screen}"
    );
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("nothing was sent"), "{screen}");
    assert_eq!(ws.sandbox.stats().posts, 0);
    assert!(!ws.path("guests.results.csv").exists());

    let (code, screen) = on_a_terminal(&ws, "import guests.csv", "y\n").unwrap();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(ws.sandbox.guests().len(), 2);

    // --yes skips it; so does a dry run; and without a terminal it is never asked.
    ws.write("more.csv", "email\ncat@example.org\n");
    let (code, screen) = on_a_terminal(&ws, "import --yes more.csv", "").unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("[y/N]"), "{screen}");
    let (_, screen) = on_a_terminal(&ws, "import --dry-run more.csv", "").unwrap();
    assert!(!screen.contains("[y/N]"), "{screen}");
    let (code, screen) = on_a_terminal(&ws, "import --sandbox more.csv", "").unwrap();
    assert!(!screen.contains("[y/N]"), "the built-in sandbox is nobody's: {screen}");
    assert_eq!(code, 0, "{screen}");
    let stderr = expect_exit(ws.cmd().arg("import").arg(ws.path("more.csv")), 0);
    assert!(!stderr.contains("[y/N]"), "{stderr}");
}

#[cfg(target_os = "linux")]
#[test]
fn undo_and_on_missing_say_what_they_remove_before_removing_it() {
    let ws = Workspace::empty();
    ws.write("guests.csv", "email\nann@example.org\nben@example.org\n");
    expect_exit(ws.cmd().args(["import", "guests.csv"]), 0);
    let Some((code, screen)) = on_a_terminal(&ws, "undo guests.results.csv", "n\n") else {
        return; // no `script` here to make a terminal with
    };
    assert!(
        screen.contains("Delete 2 guests from Sandbox Organization (5a4db0c5a4db0c5a4db0c5a4db0c5a4d)? "),
        "{screen}"
    );
    assert_eq!(code, 3, "{screen}");
    assert_eq!((ws.sandbox.stats().deletes, ws.sandbox.guests().len()), (0, 2));

    ws.write("one.csv", "email\nann@example.org\n");
    let args = "import --on-missing delete --max-missing 1 --report-missing missing.csv one.csv";
    let (code, screen) = on_a_terminal(&ws, args, "n\n").unwrap();
    assert!(
        screen.contains("Guests not in the file will be deleted: 1 of them (at most 1)."),
        "{screen}"
    );
    assert_eq!(code, 3, "{screen}");
    assert_eq!(ws.sandbox.guests().len(), 2, "nothing deleted");

    let (code, screen) = on_a_terminal(&ws, "undo guests.results.csv", "y\n").unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(ws.sandbox.guests().is_empty());
}

#[test]
fn the_template_imports_cleanly_as_csv_and_as_a_workbook() {
    let ws = Workspace::empty();
    for name in ["guests.csv", "guests.xlsx"] {
        expect_exit(ws.cmd().args(["template", name]), 0);
        let dry = expect_exit(ws.cmd().args(["import", "--dry-run", name]), 0);
        assert!(dry.contains("2 rows: 2 would_create"), "{name}: {dry}");
    }
    expect_exit(ws.cmd().args(["import", "guests.xlsx"]), 0);
    let ana = ws.sandbox.guest("ana.silva@example.com").unwrap();
    assert_eq!(ana.phone_1.as_deref(), Some("+351 21 000 0000"));
    // To stdout, the CSV.
    let output = ws.cmd().arg("template").output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.lines().nth(1).unwrap().starts_with("email,first_name,last_name"),
        "{text}"
    );
}

#[test]
fn xlsx_results_hold_every_row_and_a_summary_sheet() {
    use calamine::Reader;
    let ws = Workspace::empty();
    let file = ws.write(
        "guests.csv",
        "email,first_name,phone_1\nann@example.org,Ann,+44 20 7946 0958\nbad,Bad,\nANN@example.org,Dup,\n",
    );
    expect_exit(ws.cmd().args(["import", "--results", "results.xlsx"]).arg(&file), 1);
    assert!(
        !ws.path(".results.xlsx.rows.csv").exists(),
        "the rows file goes once the workbook is made"
    );
    let mut book = calamine::open_workbook_auto(ws.path("results.xlsx")).unwrap();
    assert_eq!(book.sheet_names(), ["Results", "Summary"]);
    let results = book.worksheet_range("Results").unwrap();
    let cell = |row: u32, col: u32| results.get_value((row, col)).map(|v| v.to_string()).unwrap_or_default();
    assert_eq!(cell(0, 1), "result_status");
    let statuses: Vec<String> = (1..4).map(|row| cell(row, 1)).collect();
    assert_eq!(statuses, ["created", "invalid", "duplicate"]);
    assert_eq!(cell(1, 15), "+44 20 7946 0958", "values as they are, no formula guard");
    let summary = book.worksheet_range("Summary").unwrap();
    let lines: Vec<String> = summary
        .rows()
        .map(|row| row.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("="))
        .collect();
    assert!(lines.contains(&"created=1".to_string()), "{lines:?}");
    assert!(lines.contains(&"invalid=1".to_string()), "{lines:?}");
    assert!(
        lines.contains(&"organization=Sandbox Organization (5a4db0c5a4db0c5a4db0c5a4db0c5a4d)".to_string()),
        "{lines:?}"
    );
    // The reason is a note on the status and on the offending cell (the email `bad`).
    let mut zip = zip::ZipArchive::new(std::fs::File::open(ws.path("results.xlsx")).unwrap()).unwrap();
    let mut comments = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/comments1.xml").unwrap(), &mut comments).unwrap();
    assert!(comments.contains(r#"<comment ref="B3""#), "{comments}");
    assert!(comments.contains(r#"<comment ref="N3""#), "{comments}");
    assert!(comments.contains("has no @"), "{comments}");
}
