//! Spreadsheets as people have them: every encoding and delimiter, the CRM export styles,
//! workbooks, hostile files, and output that Excel opens correctly.

use std::path::{Path, PathBuf};

use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::{Sandbox, SandboxOptions};

use crate::util::{Workspace, against, bin, expect_exit, result_rows, spawn};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Imports `file` into a fresh sandbox; returns the sandbox and the summary on stderr.
fn import(file: &Path, extra: &[&str]) -> (Sandbox, String) {
    let sandbox = spawn(SandboxOptions::default());
    let stderr = expect_exit(against(&sandbox).arg("import").args(extra).arg(file), 0);
    (sandbox, stderr)
}

fn names(guest: &Guest) -> (&str, &str) {
    (
        guest.first_name.as_deref().unwrap_or(""),
        guest.last_name.as_deref().unwrap_or(""),
    )
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
    for unit in text.encode_utf16() {
        bytes.extend(if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    bytes
}

#[test]
fn every_encoding_and_delimiter_decodes_to_the_same_guests() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        ("zoe@example.org", "Zoë", "Ångström"),
        ("rene@example.fr", "René", "Müller-Lüdenscheidt"),
    ];
    let text = |delimiter: &str| {
        let mut text = format!("email{delimiter}first_name{delimiter}last_name\r\n");
        for (email, first, last) in rows {
            text.push_str(&format!("{email}{delimiter}{first}{delimiter}{last}\r\n"));
        }
        text
    };
    let semicolons = text(";");
    let (cp1252, _, _) = encoding_rs::WINDOWS_1252.encode(&semicolons);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "utf8.csv",
            text(",").into_bytes(),
            "UTF-8 (valid UTF-8), delimited by `,`",
        ),
        (
            "utf8-bom.csv",
            [b"\xEF\xBB\xBF".as_slice(), text(";").as_bytes()].concat(),
            "UTF-8 (byte order mark), delimited by `;`",
        ),
        (
            "utf16le.txt",
            utf16(&text("\t"), false),
            "UTF-16LE (byte order mark), delimited by tab",
        ),
        (
            "utf16be.txt",
            utf16(&text("\t"), true),
            "UTF-16BE (byte order mark), delimited by tab",
        ),
        (
            "cp1252.csv",
            cp1252.into_owned(),
            "windows-1252 (not valid UTF-8, read as Windows-1252), delimited by `;`",
        ),
        (
            "pipes.csv",
            text("|").into_bytes(),
            "UTF-8 (valid UTF-8), delimited by `|`",
        ),
    ];
    for (name, bytes, reported) in cases {
        let file = write(dir.path(), name, &bytes);
        let (sandbox, stderr) = import(&file, &[]);
        assert!(
            stderr.contains(&format!("input read as text in {reported}")),
            "{name}: {stderr}"
        );
        let guests = sandbox.guests();
        for (email, first, last) in rows {
            let guest = guests
                .iter()
                .find(|g| g.email == email)
                .unwrap_or_else(|| panic!("{name}: {email}"));
            assert_eq!(names(guest), (first, last), "{name}");
        }
    }
}

#[test]
fn quoted_delimiters_quotes_newlines_and_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "quoted.csv",
        b"email;company_name;last_name\r\na@example.org;\"Smith; Jones & \"\"Sons\"\"\";\"Two\r\nLines\"\r\n",
    );
    let (sandbox, _) = import(&file, &[]);
    let guest = sandbox.guest("a@example.org").unwrap();
    assert_eq!(guest.company_name.as_deref(), Some("Smith; Jones & \"Sons\""));
    assert_eq!(guest.last_name.as_deref(), Some("Two\r\nLines"));
}

#[test]
fn flags_override_detection() {
    let dir = tempfile::tempdir().unwrap();
    // Valid UTF-8 bytes that were really written as Windows-1252 text? Force it.
    let file = write(
        dir.path(),
        "forced.csv",
        "Mail Adresse|Vorname\nhans@example.de|JÃ¼rgen\n".as_bytes(),
    );
    let (sandbox, stderr) = import(
        &file,
        &[
            "--encoding",
            "windows-1252",
            "--delimiter",
            "|",
            "--map",
            "Mail Adresse=email",
            "--map",
            "Vorname=first_name",
        ],
    );
    assert!(stderr.contains("windows-1252 (--encoding)"), "{stderr}");
    assert_eq!(
        sandbox.guest("hans@example.de").unwrap().first_name.as_deref(),
        Some("JÃƒÂ¼rgen")
    );
    let err = expect_exit(
        bin().args(["import", "--dry-run", "--encoding", "klingon"]).arg(&file),
        2,
    );
    assert!(err.contains("not an encoding name"), "{err}");
    let err = expect_exit(bin().args(["import", "--dry-run", "--map", "Nope=email"]).arg(&file), 2);
    assert!(err.contains("--map names a column `Nope`"), "{err}");
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/exports").join(name)
}

/// (sample, email, first, last, company, phone_1, phone_2)
const EXPORTS: [(&str, &str, &str, &str, &str, &str, &str); 6] = [
    (
        "salesforce.csv",
        "isabelle.dubois@dubois-freres.fr",
        "Isabelle",
        "Dubois",
        "Dubois Frères SA",
        "+33 4 72 00 00 00",
        "+33 6 11 22 33 44",
    ),
    (
        "hubspot.csv",
        "tomas@herrera-logistica.mx",
        "Tomás",
        "Herrera",
        "Herrera Logística",
        "+52 55 1234 5678",
        "",
    ),
    (
        "google-contacts.csv",
        "soren@nordlys.dk",
        "Søren",
        "Kierkegaard",
        "Nordlys ApS",
        "+45 20 12 34 56",
        "+45 33 12 34 56",
    ),
    (
        "outlook.csv",
        "f.lefevre@atelier-lefevre.fr",
        "Françoise",
        "Lefèvre",
        "Atelier Lefèvre",
        "+33 6 98 76 54 32",
        "",
    ),
    (
        "excel-european.csv",
        "renee.dupont@exemple.fr",
        "Renée",
        "Dupont",
        "Café de la Paix; Paris",
        "+33 1 40 07 36 36",
        "",
    ),
    (
        "excel-unicode-text.txt",
        "olga.ivanova@volga-tech.ru",
        "Ольга",
        "Иванова",
        "Волга Тех",
        "+7 495 123 45 67",
        "",
    ),
];

#[test]
fn crm_and_excel_exports_import_with_no_options() {
    for (file, email, first, last, company, phone_1, phone_2) in EXPORTS {
        let (sandbox, _) = import(&sample(file), &[]);
        let guest = sandbox
            .guest(email)
            .unwrap_or_else(|| panic!("{file}: {email} not imported"));
        assert_eq!(names(&guest), (first, last), "{file}");
        assert_eq!(guest.company_name.as_deref(), Some(company), "{file}");
        assert_eq!(guest.phone_1.as_deref().unwrap_or(""), phone_1, "{file}");
        assert_eq!(guest.phone_2.as_deref().unwrap_or(""), phone_2, "{file}");
        assert!(sandbox.guests().len() >= 2, "{file}");
    }
}

#[test]
fn an_xlsx_workbook_imports_with_numbers_and_dates_as_people_see_them() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let ws = Workspace::empty();
    let path = ws.path("guests.xlsx");
    let mut workbook = Workbook::new();
    let notes = workbook.add_worksheet().set_name("Notes").unwrap();
    notes.write_string(0, 0, "nothing to import here").unwrap();
    let sheet = workbook.add_worksheet().set_name("Guests").unwrap();
    for (col, title) in ["Email", "First Name", "Phone", "Associated Members", "Met On"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *title).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    sheet.write_string(1, 0, "kim@example.org").unwrap();
    sheet.write_string(1, 1, "Kim").unwrap();
    sheet.write_number(1, 2, 4155550134.0).unwrap();
    sheet.write_number(1, 3, 1002.0).unwrap();
    sheet
        .write_datetime_with_format(1, 4, ExcelDateTime::from_ymd(2025, 3, 14).unwrap(), &date)
        .unwrap();
    sheet.write_string(3, 0, "lee@example.org").unwrap(); // a blank row 3 in between
    sheet.write_string(3, 1, "Lée").unwrap();
    sheet.write_string(4, 0, "not an email").unwrap();
    workbook.save(&path).unwrap();

    let stderr = expect_exit(ws.cmd().args(["import", "--sheet", "guests"]).arg(&path), 1);
    assert!(stderr.contains("input read as workbook, sheet `Guests`"), "{stderr}");
    let kim = ws.sandbox.guest("kim@example.org").unwrap();
    assert_eq!(
        (kim.phone_1.as_deref(), kim.associated_members.as_slice()),
        (Some("4155550134"), &[1002][..])
    );
    assert_eq!(
        ws.sandbox.guest("lee@example.org").unwrap().first_name.as_deref(),
        Some("Lée")
    );
    let rows = result_rows(&ws.path("guests.results.csv"));
    let summary: Vec<(u64, &str)> = rows.iter().map(|r| (r.result_row, r.result_status.as_str())).collect();
    assert_eq!(
        summary,
        [(2, "created"), (4, "created"), (5, "invalid")],
        "sheet row numbers"
    );
    assert_eq!(rows[0].cell("Met On"), "2025-03-14", "dates as ISO text");

    let err = expect_exit(bin().args(["import", "--dry-run", "--sheet", "Nope"]).arg(&path), 2);
    assert!(
        err.contains("has no sheet `Nope`; its sheets are `Notes`, `Guests`"),
        "{err}"
    );
}

#[test]
fn hostile_files_never_crash_and_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let mut huge = b"email,notes\nbig@example.org,".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    huge.extend(b"\nfine@example.org,ok\n");
    let wide = {
        let header: Vec<String> = std::iter::once("email".to_string())
            .chain((1..10_000).map(|i| format!("c{i}")))
            .collect();
        let row: Vec<String> = std::iter::once("w@example.org".to_string())
            .chain((1..10_000).map(|i| i.to_string()))
            .collect();
        format!("{}\n{}\n", header.join(","), row.join(","))
    };
    // (file, bytes, exit code, text expected in the results or on stderr)
    let cases: Vec<(&str, Vec<u8>, i32, &str)> = vec![
        (
            "ragged.csv",
            b"email,first_name\na@example.org\nb@example.org,B,extra\n".to_vec(),
            1,
            "has 3 cells but the header has 2",
        ),
        (
            "unbalanced.csv",
            b"email,first_name\nu@example.org,\"never closed\nv@example.org,V\n".to_vec(),
            1,
            "is never closed",
        ),
        (
            "nul.csv",
            b"email,first_name\nn@example.org,N\x00ul\nok@example.org,Ok\n".to_vec(),
            1,
            "contains a NUL byte",
        ),
        ("huge.csv", huge, 1, "cell 2 is longer than 16 KiB and was cut"),
        ("wide.csv", wide.into_bytes(), 0, "would_create"),
        (
            "binary.csv",
            [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8, 1, 2, 3, 4, 5].repeat(100)].concat(),
            2,
            "does not look like a spreadsheet",
        ),
        (
            "fake.xlsx.csv",
            b"PK\x03\x04 definitely not a zip".to_vec(),
            2,
            "cannot open it as a workbook",
        ),
        (
            "header-only.csv",
            b"email\n".to_vec(),
            2,
            "has a header row but no guest rows",
        ),
        ("empty.csv", Vec::new(), 2, "is empty"),
    ];
    for (name, bytes, code, expected) in cases {
        let file = write(dir.path(), name, &bytes);
        let output = bin()
            .args(["import", "--dry-run", "--results", "-"])
            .arg(&file)
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(code), "{name}: {all}");
        assert!(
            all.contains(expected),
            "{name}: expected `{expected}` in\n{}",
            &all[..all.len().min(2000)]
        );
        assert!(!all.contains("panicked"), "{name}");
    }
}

#[test]
fn excel_output_has_a_bom_and_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "g.csv",
        "email,first_name\nzoe@example.org,Zoë\n".as_bytes(),
    );
    let sandbox = spawn(SandboxOptions::default());
    expect_exit(against(&sandbox).args(["import", "--excel"]).arg(&file), 0);
    let results = std::fs::read(dir.path().join("g.results.csv")).unwrap();
    assert!(results.starts_with(b"\xEF\xBB\xBFresult_row,"), "{results:?}");
    let text = String::from_utf8(results).unwrap();
    // The last row ends the CRLF way too, and the rows are all there is (no trailer record).
    assert!(text.ends_with(",Zoë\r\n"), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    let export = dir.path().join("export.csv");
    expect_exit(
        against(&sandbox).args(["export", "--excel", "--output"]).arg(&export),
        0,
    );
    let exported = std::fs::read(&export).unwrap();
    assert!(exported.starts_with(b"\xEF\xBB\xBFid,email,"));
    assert_eq!(
        exported.windows(2).filter(|w| w == b"\r\n").count(),
        2,
        "two records, CRLF each"
    );
    // Our own Excel-style output reads back as input.
    let sandbox = spawn(SandboxOptions::default());
    expect_exit(against(&sandbox).arg("import").arg(&export), 0);
    assert_eq!(
        sandbox.guest("zoe@example.org").unwrap().first_name.as_deref(),
        Some("Zoë")
    );
}
