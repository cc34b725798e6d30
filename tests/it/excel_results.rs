//! Results a person opens in Excel (issue 23 part 5): a workbook's results CSV opens with the
//! accents right (byte order mark), and the `.xlsx` results keep every cell as text, size their
//! columns to be read, and name the input, the organization and whether it was a dry run.

use calamine::{Data, Reader};

use crate::util::{Workspace, expect_exit, result_rows};

/// A workbook a colleague made: an accented name, a phone with `+`, one with leading zeros.
fn workbook(ws: &Workspace) -> std::path::PathBuf {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (row, cells) in [
        ["email", "first_name", "last_name", "phone_1", "phone_2"],
        ["jurgen@example.org", "Jürgen", "Müller", "+44 20 7946 0958", "00123456"],
        ["not-an-email", "Bad", "Row", "", ""],
    ]
    .iter()
    .enumerate()
    {
        for (col, cell) in cells.iter().enumerate() {
            sheet.write_string(row as u32, col as u16, *cell).unwrap();
        }
    }
    let path = ws.path("guests.xlsx");
    book.save(&path).unwrap();
    path
}

#[test]
fn a_workbooks_results_open_right_in_excel_as_csv_and_as_xlsx() {
    let ws = Workspace::empty();
    let input = workbook(&ws);
    // The default results: a CSV that Excel opens as UTF-8.
    expect_exit(ws.cmd().args(["import", "--dry-run"]).arg(&input), 1);
    let bytes = std::fs::read(ws.path("guests.dry-run.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a byte order mark for Excel");
    let rows = result_rows(&ws.path("guests.dry-run.csv"));
    assert_eq!(rows[0].cell("last_name"), "Müller");

    // The workbook results.
    expect_exit(
        ws.cmd()
            .args(["import", "--dry-run", "--results", "out.xlsx"])
            .arg(&input),
        1,
    );
    let mut book = calamine::open_workbook_auto(ws.path("out.xlsx")).unwrap();
    let results = book.worksheet_range("Results").unwrap();
    let header: Vec<String> = results.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap() as u32;
    for (name, want) in [
        ("phone_1", "+44 20 7946 0958"),
        ("phone_2", "00123456"),
        ("last_name", "Müller"),
    ] {
        assert_eq!(
            results.get_value((1, col(name))),
            Some(&Data::String(want.into())),
            "{name} is text, as it was"
        );
    }
    let summary = book.worksheet_range("Summary").unwrap();
    let facts: std::collections::HashMap<String, String> = summary
        .rows()
        .filter(|row| row.len() >= 2)
        .map(|row| (row[0].to_string(), row[1].to_string()))
        .collect();
    assert!(facts["input"].ends_with("guests.xlsx"), "{facts:?}");
    assert!(facts["dry run"].starts_with("yes"), "{facts:?}");
    assert_eq!(
        facts["organization"],
        format!("Sandbox Organization ({})", ws.sandbox.org())
    );

    // Every column sized to its content: the email column is wider than Excel's default.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(ws.path("out.xlsx")).unwrap()).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut sheet).unwrap();
    let email = col("email") + 1;
    let marker = format!(r#"<col min="{email}" max="{email}" width=""#);
    let at = sheet
        .find(&marker)
        .unwrap_or_else(|| panic!("no width for the email column: {sheet}"));
    let width: f64 = sheet[at + marker.len()..].split('"').next().unwrap().parse().unwrap();
    assert!(width >= 20.0, "the email column is {width} wide");
}
