//! Headers and sheets people have: the phone columns they type reach the guests' phones, and a
//! workbook whose guests are on a later sheet (after a "Read me") imports with no flags.

use crate::util::{Workspace, expect_exit};

#[test]
fn the_phone_headers_people_type_reach_the_guests() {
    let ws = Workspace::empty();
    let variants = [
        "Mobile",
        "Mobile Number",
        "Cell",
        "Cell Phone",
        "Phone (work)",
        "Work Phone",
        "Telefon mobil",
        "Handy",
        "Portable",
        "Mobiltelefon",
        "Téléphone portable",
    ];
    for (i, variant) in variants.iter().enumerate() {
        let file = ws.write(
            &format!("g{i}.csv"),
            &format!("Email,{variant}\nperson{i}@example.org,+44 20 7946 {i:04}\n"),
        );
        let stderr = expect_exit(ws.cmd().arg("import").arg(&file), 0);
        assert!(!stderr.contains("not imported"), "{variant}: {stderr}");
        let guest = ws.sandbox.guest(&format!("person{i}@example.org")).unwrap();
        assert_eq!(
            guest.phone_1.as_deref(),
            Some(format!("+44 20 7946 {i:04}").as_str()),
            "{variant}"
        );
    }
}

#[test]
fn guests_on_a_later_sheet_are_found_with_no_flags() {
    let ws = Workspace::empty();
    let path = ws.path("guests.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let readme = book.add_worksheet().set_name("Read me").unwrap();
    readme
        .write_string(0, 0, "Guests for the March event. Fill in the Guests sheet.")
        .unwrap();
    readme.write_string(1, 0, "Names as people spell them.").unwrap();
    let guests = book.add_worksheet().set_name("Guests").unwrap();
    for (col, name) in ["Email", "First Name", "Mobile Number"].iter().enumerate() {
        guests.write_string(0, col as u16, *name).unwrap();
    }
    guests.write_string(1, 0, "ann@example.org").unwrap();
    guests.write_string(1, 1, "Ann").unwrap();
    guests.write_string(1, 2, "+33 6 12 34 56 78").unwrap();
    book.save(&path).unwrap();
    let stderr = expect_exit(ws.cmd().arg("import").arg(&path), 0);
    assert!(stderr.contains("reading sheet `Guests`"), "{stderr}");
    let ann = ws.sandbox.guest("ann@example.org").unwrap();
    assert_eq!(ann.phone_1.as_deref(), Some("+33 6 12 34 56 78"));

    // No sheet with an email column: the error lists the sheets and names --sheet.
    let path = ws.path("notes.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet()
        .set_name("Read me")
        .unwrap()
        .write_string(0, 0, "nothing")
        .unwrap();
    book.add_worksheet()
        .set_name("Notes")
        .unwrap()
        .write_string(0, 0, "Kontakt")
        .unwrap();
    book.save(&path).unwrap();
    let stderr = expect_exit(ws.cmd().arg("import").arg(&path), 2);
    assert!(stderr.contains("`Read me`, `Notes`"), "{stderr}");
    assert!(stderr.contains("--sheet"), "{stderr}");
}

#[test]
fn a_column_that_looks_like_a_field_gets_the_map_that_takes_it() {
    let ws = Workspace::empty();
    let file = ws.write(
        "guests.csv",
        "Email,Given,Mob.,Employer,Notes\nann@example.org,Ann,+44 7700 900123,Acme Ltd,met in March\n",
    );
    let given =
        r#"column "Given" looks like a first name but is not imported: add --map "Given=first_name" to import it"#;
    let mob = r#"column "Mob." looks like a phone but is not imported: add --map "Mob.=phone_1" to import it"#;

    // The dry run says each hint before the run and once more in its summary; `Notes` is no
    // field and stays in the generic warning, alone; `Employer` is a known alias, imported.
    let summary = ws.path("summary.json");
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--dry-run", "--summary-json"])
            .arg(&summary)
            .arg(&file),
        0,
    );
    for hint in [given, mob] {
        assert_eq!(stderr.matches(hint).count(), 2, "{hint}: {stderr}");
    }
    // In the summary, under its heading, in column order (off a terminal each line starts with
    // its time and level).
    let lines: Vec<&str> = stderr.lines().collect();
    let heading = lines
        .iter()
        .position(|line| line.ends_with("not imported, though they look like guest fields:"))
        .expect(&stderr);
    assert!(lines[heading + 1].ends_with(&format!("  {given}")), "{stderr}");
    assert!(lines[heading + 2].ends_with(&format!("  {mob}")), "{stderr}");
    assert!(
        stderr.contains("columns kept in the results but not imported: `Notes`\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("\"Notes\" looks like"), "{stderr}");
    assert!(!stderr.contains("\"Employer\" looks like"), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["unmapped_hints"], serde_json::json!([given, mob]));
    assert!(ws.sandbox.guests().is_empty());

    // Run again with the `--map`s the hints give: the name and phone reach the guest, with the
    // company, and nothing is hinted any more.
    let stderr = expect_exit(
        ws.cmd()
            .args([
                "import",
                "--map",
                "Given=first_name",
                "--map",
                "Mob.=phone_1",
                "--summary-json",
            ])
            .arg(&summary)
            .arg(&file),
        0,
    );
    assert!(!stderr.contains("looks like"), "{stderr}");
    let ann = ws.sandbox.guest("ann@example.org").expect("ann imported");
    assert_eq!(ann.first_name.as_deref(), Some("Ann"));
    assert_eq!(ann.phone_1.as_deref(), Some("+44 7700 900123"));
    assert_eq!(ann.company_name.as_deref(), Some("Acme Ltd"));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["unmapped_hints"], serde_json::json!([]));
}
