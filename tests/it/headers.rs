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
