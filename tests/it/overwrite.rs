//! `template` and `export` never destroy a person's file: an existing file is replaced only when
//! the tool wrote it (an export by its header, an unfilled template, a workbook by its marker),
//! else refused (exit 2) naming `--force`; a format the tool does not write is refused by name;
//! `export --output x.xlsx` is a workbook that imports back to the same guests.

use tallyfy_guests::sandbox::{SandboxOptions, sample_guests};

use crate::util::{Workspace, expect_exit};

/// A workbook a person made: one sheet of guests, saved by "Excel".
fn persons_workbook(path: &std::path::Path) {
    let mut book = rust_xlsxwriter::Workbook::new();
    book.set_properties(&rust_xlsxwriter::DocProperties::new().set_author("Maria Ops"));
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "email").unwrap();
    sheet.write_string(1, 0, "precious@example.org").unwrap();
    book.save(path).unwrap();
}

fn refused(stderr: &str) {
    assert!(stderr.contains("refusing to replace it"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
}

#[test]
fn template_and_export_refuse_a_persons_file_and_replace_their_own() {
    let ws = Workspace::new(SandboxOptions {
        guests: sample_guests(),
        ..SandboxOptions::default()
    });
    let book = ws.path("mywork.xlsx");
    persons_workbook(&book);
    let before = std::fs::read(&book).unwrap();
    let sheet = ws.write("mywork.csv", "email,first_name\nprecious@example.org,Pat\n");
    for target in [&book, &sheet] {
        refused(&expect_exit(ws.cmd().arg("template").arg(target), 2));
        refused(&expect_exit(ws.cmd().args(["export", "--output"]).arg(target), 2));
    }
    assert_eq!(
        std::fs::read(&book).unwrap(),
        before,
        "the person's workbook is untouched"
    );
    assert_eq!(
        std::fs::read_to_string(&sheet).unwrap(),
        "email,first_name\nprecious@example.org,Pat\n"
    );

    // The tool's own files are replaced: a template written twice, a nightly export.
    for name in ["t.csv", "t.xlsx"] {
        expect_exit(ws.cmd().arg("template").arg(name), 0);
        expect_exit(ws.cmd().arg("template").arg(name), 0);
    }
    for name in ["guests.csv", "guests.xlsx"] {
        expect_exit(ws.cmd().args(["export", "--output", name]), 0);
        expect_exit(ws.cmd().args(["export", "--output", name]), 0);
    }
    // A template filled in is someone's work now.
    let filled = format!(
        "{}zoe@example.org,Zoe,,,,,,\n",
        std::fs::read_to_string(ws.path("t.csv")).unwrap()
    );
    std::fs::write(ws.path("t.csv"), &filled).unwrap();
    refused(&expect_exit(ws.cmd().args(["template", "t.csv"]), 2));
    // An export is not a template, nor a template an export.
    refused(&expect_exit(ws.cmd().args(["template", "guests.csv"]), 2));
    refused(&expect_exit(ws.cmd().args(["export", "--output", "t.xlsx"]), 2));

    // --force says the file may go.
    expect_exit(ws.cmd().args(["template", "--force"]).arg(&book), 0);
    assert_ne!(std::fs::read(&book).unwrap(), before);
    expect_exit(ws.cmd().args(["export", "--force", "--output"]).arg(&sheet), 0);
    assert!(std::fs::read_to_string(&sheet).unwrap().starts_with("id,email,"));
}

#[test]
fn a_format_the_tool_does_not_write_is_refused_by_name() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@example.org\n");
    for mut cmd in [
        {
            let mut cmd = ws.cmd();
            cmd.args(["export", "--output", "x.ods"]);
            cmd
        },
        {
            let mut cmd = ws.cmd();
            cmd.args(["template", "x.ods"]);
            cmd
        },
        {
            let mut cmd = ws.cmd();
            cmd.args(["import", "--results", "x.ods"]).arg(&file);
            cmd
        },
    ] {
        let stderr = expect_exit(&mut cmd, 2);
        assert!(stderr.contains("not .ods"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    assert!(!ws.path("x.ods").exists());
    assert_eq!(ws.sandbox.stats().posts, 0);
}

#[test]
fn an_export_workbook_imports_back_to_the_same_guests() {
    let guests = sample_guests();
    let ws = Workspace::new(SandboxOptions {
        guests: guests.clone(),
        ..SandboxOptions::default()
    });
    expect_exit(ws.cmd().args(["export", "--output", "guests.xlsx"]), 0);
    let bytes = std::fs::read(ws.path("guests.xlsx")).unwrap();
    assert!(bytes.starts_with(b"PK"), "a workbook, not CSV under an .xlsx name");
    expect_exit(
        ws.cmd()
            .args(["import", "--dry-run", "guests.xlsx", "--results", "back.csv"]),
        0,
    );
    let rows = ws.results("back.csv");
    assert_eq!(rows.len(), guests.len());
    for (row, guest) in rows.iter().zip(&guests) {
        assert_eq!(row.result_status, "exists", "{row:?}");
        assert_eq!(row.result_guest_id, guest.id);
        assert_eq!(row.cell("email"), guest.email);
        // The results guard a leading `+` as every CSV of ours does; the value is the phone.
        let phone = tallyfy_guests::files::output::unneutralize(row.cell("phone_1"));
        assert_eq!(phone, guest.phone_1.as_deref().unwrap_or(""), "{row:?}");
        assert_eq!(row.cell("first_name"), guest.first_name.as_deref().unwrap_or(""));
    }
}
