//! Emails compared by their canonical key (issue 22): a guest named in the file under another
//! spelling (NFD accents, invisible characters, `Name <addr>`, `mailto:`) is the same guest, for
//! dedupe and for the mirror's presence.

use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::SandboxOptions;

use crate::util::{Workspace, expect_exit};

fn guest(email: &str, id: &str) -> Guest {
    Guest {
        email: email.into(),
        id: id.into(),
        ..Guest::default()
    }
}

/// The organization: ten guests the file names, in nine spellings, and three it does not.
const NAMED: [&str; 10] = [
    "g1@corp.com",
    "g2@corp.com",
    "g3@corp.com",
    "g4@corp.com",
    "g5@corp.com",
    "g6@corp.com",
    "jos\u{e9}@corp.com",
    "g7@corp.com",
    "g8@corp.com",
    "g9@corp.com",
];
const UNNAMED: [&str; 3] = ["left1@corp.com", "left2@corp.com", "left3@corp.com"];

/// The same guests as a CRM export, a mail program and a copy-paste write them.
const SPELLINGS: &str = concat!(
    "email,first_name\n",
    "g1@corp.com,One\n",
    "Guest Two <g2@corp.com>,Two\n",
    "mailto:g3@corp.com,Three\n",
    "g4\u{200B}@corp.com,Four\n",
    "\u{FEFF}g5@corp.com,Five\n",
    "g6@corp.com\u{0},Six\n",
    "jose\u{301}@corp.com,Jos\u{e9}\n",
    "G7@CORP.COM,Seven\n",
    "\"  g8@corp.com  \",Eight\n",
    "g9@corp.com.,Nine\n",
);

fn organization() -> Workspace {
    let guests = NAMED
        .iter()
        .chain(&UNNAMED)
        .enumerate()
        .map(|(i, email)| guest(email, &(100 + i).to_string()))
        .collect();
    Workspace::new(SandboxOptions {
        guests,
        ..SandboxOptions::default()
    })
}

fn left(ws: &Workspace) -> Vec<String> {
    let mut emails: Vec<String> = ws.sandbox.guests().into_iter().map(|g| g.email).collect();
    emails.sort();
    emails
}

#[test]
fn the_nine_spellings_of_named_guests_keep_them_when_the_mirror_deletes() {
    let ws = organization();
    let file = ws.write("crm.csv", SPELLINGS);
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--on-missing", "delete", "--max-missing", "100%"])
            .args(["--report-missing", "missing.csv"])
            .arg(&file),
        1,
    );
    let mut expected: Vec<String> = NAMED.iter().map(|e| e.to_string()).collect();
    expected.sort();
    assert_eq!(left(&ws), expected, "only the unnamed guests go\n{stderr}");
    assert_eq!(ws.sandbox.stats().deletes, 3);
    // The file's rows are still judged as they stand: what is sent does not change.
    let rows = ws.results("crm.results.csv");
    let invalid = rows.iter().filter(|row| row.result_status == "invalid").count();
    assert!(invalid >= 6, "{rows:#?}");
    assert_eq!(ws.sandbox.stats().posts, 0, "nothing created from a respelt row");
}

#[test]
fn a_guest_matched_by_reading_back_under_another_spelling_is_kept() {
    // The server folds accents: `jose@` is taken by `josé@`, and reading `jose@` back finds him.
    let ws = Workspace::new(SandboxOptions {
        guests: vec![guest("jos\u{e9}@corp.com", "700"), guest("gone@corp.com", "701")],
        faults: tallyfy_guests::sandbox::FaultOptions {
            fold_accents: true,
            ..Default::default()
        },
        ..SandboxOptions::default()
    });
    let file = ws.write("crm.csv", "email\njose@corp.com\n");
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--on-missing", "delete", "--max-missing", "100%"])
            .args(["--report-missing", "missing.csv"])
            .arg(&file),
        0,
    );
    let rows = ws.results("crm.results.csv");
    assert_eq!(rows[0].result_status, "exists", "{rows:#?}");
    assert_eq!(rows[0].result_guest_id, "700");
    assert_eq!(left(&ws), ["jos\u{e9}@corp.com"], "the matched guest stays\n{stderr}");
}

#[test]
fn a_file_that_ends_inside_an_open_quote_deletes_nothing() {
    let ws = organization();
    // A CRM export cut in the middle of a row: the quote opened on g4's row swallows the rest.
    let mut text = String::from("email,first_name\ng1@corp.com,One\ng4@corp.com,\"Four\n");
    for email in NAMED.iter().skip(4) {
        text.push_str(&format!("{email},Named\n"));
    }
    let file = ws.write("cut.csv", &text);
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--on-missing", "delete", "--max-missing", "100%"])
            .args(["--report-missing", "missing.csv"])
            .arg(&file),
        3,
    );
    assert_eq!(ws.sandbox.stats().deletes, 0, "nothing deleted\n{stderr}");
    assert_eq!(ws.sandbox.guests().len(), NAMED.len() + UNNAMED.len());
    let report = std::fs::read_to_string(ws.path("missing.csv")).unwrap();
    assert!(report.contains("deferred"), "{report}");
}

/// An address typed by an East Asian input method in fullwidth forms (`＠`, `ｇ`) reads as the
/// guest's address: the row with `g2＠corp.com` (invalid: no ASCII @) and the one with
/// `ｇ3@corp.com` (valid, another address to the server) used to leave their guests missing,
/// and the mirror deleted them. They keep them now; only the unnamed guest goes.
#[test]
fn fullwidth_spellings_keep_their_guests() {
    let ws = Workspace::new(SandboxOptions {
        guests: vec![
            guest("g1@corp.com", "101"),
            guest("g2@corp.com", "102"),
            guest("g3@corp.com", "103"),
            guest("left@corp.com", "104"),
        ],
        ..SandboxOptions::default()
    });
    let file = ws.write(
        "crm.csv",
        "email\ng1@corp.com\ng2\u{FF20}corp.com\n\u{FF47}3@corp.com\n",
    );
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--on-missing", "delete", "--max-missing", "100%"])
            .args(["--report-missing", "missing.csv"])
            .arg(&file),
        1,
    );
    let left = left(&ws);
    for kept in ["g1@corp.com", "g2@corp.com", "g3@corp.com"] {
        assert!(left.contains(&kept.to_string()), "{kept} deleted: {left:?}\n{stderr}");
    }
    assert!(!left.contains(&"left@corp.com".to_string()), "{left:?}");
    assert_eq!(ws.sandbox.stats().deletes, 1, "{stderr}");
}
