//! Emails compared by their canonical key (issue 22): a guest named in the file under another
//! spelling (NFD accents, invisible characters, `Name <addr>`, `mailto:`) is the same guest, for
//! dedupe and for the mirror's presence.

use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::SandboxOptions;

use crate::util::{Workspace, expect_exit, read_csv};

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
        // The cut row is invalid: a person's row comes before the held-back mirror's stop.
        1,
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

/// Issue 30: the spellings people paste, in the email column of rows that are not imported and
/// in a notes column of rows that are, each for guests of their own.
const PASTED: &str = concat!(
    "email,first_name,notes\n",
    "Guest One (p1@corp.com),One,\n",
    "p2@corp.com (Guest),Two,\n",
    "\u{201C}p3@corp.com\u{201D},Three,\n",
    "SMTP:p4@corp.com,Four,\n",
    "p5@corp.com p6@corp.com,Five and Six,\n",
    "\"p7@corp.com\np8@corp.com\",Seven and Eight,\n",
    "p9@corp.com / p10@corp.com,Nine and Ten,\n",
    "[p11@corp.com],Eleven,\n",
    "p12@corp.com:,Twelve,\n",
    "\u{39F}\u{394}\u{39F}\u{3A3}@corp.com,Odos,\n",
    "new1@corp.com,New,\"also writes as Guest Thirteen (n1@corp.com), \u{2018}n2@corp.com\u{2019}\"\n",
    "new2@corp.com,New,smtp:n3@corp.com|mailto:n4@corp.com?subject=Hi\n",
    "new3@corp.com,New,\"n5@corp.com\nn6@corp.com / [n7@corp.com]; n8@corp.com.\"\n",
);

/// The guests `PASTED` names, every one; `οδος@` is what the server makes of `ΟΔΟΣ@`.
fn pasted_guests() -> Vec<String> {
    let mut emails: Vec<String> = (1..=12).map(|i| format!("p{i}@corp.com")).collect();
    emails.extend((1..=8).map(|i| format!("n{i}@corp.com")));
    emails.push("\u{3BF}\u{3B4}\u{3BF}\u{3C2}@corp.com".into());
    emails
}

/// An organization of the guests `named`, and one the file does not name (`gone@corp.com`).
fn with_one_gone(named: &[String]) -> Workspace {
    let guests = named
        .iter()
        .map(String::as_str)
        .chain(["gone@corp.com"])
        .enumerate()
        .map(|(i, email)| guest(email, &(500 + i).to_string()))
        .collect();
    Workspace::new(SandboxOptions {
        guests,
        ..SandboxOptions::default()
    })
}

/// The guests still there and enabled, sorted.
fn active(ws: &Workspace) -> Vec<String> {
    let mut emails: Vec<String> = ws
        .sandbox
        .guests()
        .into_iter()
        .filter(|g| g.disabled_at.is_none())
        .map(|g| g.email)
        .collect();
    emails.sort();
    emails
}

#[test]
fn every_pasted_spelling_keeps_its_guest_and_only_the_unnamed_one_goes() {
    for how in ["delete", "disable"] {
        let named = pasted_guests();
        let ws = with_one_gone(&named);
        let file = ws.write("pasted.csv", PASTED);
        // The budget lets exactly one guest go: a missed mention would hold the whole run back.
        let stderr = expect_exit(
            ws.cmd()
                .args(["import", "--yes", "--on-missing", how, "--max-missing", "1"])
                .args(["--report-missing", "missing.csv"])
                .arg(&file),
            1,
        );
        // Besides the named guests, the three valid rows' own (created).
        let mut expected = named.clone();
        expected.extend(["new1@corp.com", "new2@corp.com", "new3@corp.com"].map(String::from));
        expected.sort();
        assert_eq!(active(&ws), expected, "--on-missing {how}: only gone@ goes\n{stderr}");
        let gone = ws.sandbox.guests().into_iter().find(|g| g.email == "gone@corp.com");
        match how {
            "delete" => assert!(gone.is_none(), "the unnamed guest is deleted\n{stderr}"),
            _ => assert!(gone.is_some_and(|g| g.disabled_at.is_some()), "disabled\n{stderr}"),
        }
        // The guests the file mentions only where it imports no email are named in the report.
        let (header, rows) = read_csv(&std::fs::read_to_string(ws.path("missing.csv")).unwrap());
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        let kept: Vec<&Vec<String>> = rows.iter().filter(|row| row[at("result_status")] == "exists").collect();
        assert_eq!(
            kept.len(),
            named.len() - 1,
            "all but οδος@ (its row imports it)\n{rows:#?}"
        );
        let n3 = kept.iter().find(|row| row[at("email")] == "n3@corp.com").unwrap();
        assert_eq!(
            n3[at("result_message")],
            "kept: the file mentions it in column \"notes\" (row 13), which is not imported"
        );
        assert!(
            stderr.contains("20 guests kept: the file mentions them only where it imports no email"),
            "{stderr}"
        );
    }
}

#[test]
fn a_second_email_column_of_a_google_contacts_export_keeps_its_guest() {
    let ws = with_one_gone(&["second@corp.com".to_string(), "first@corp.com".to_string()]);
    let file = ws.write(
        "contacts.csv",
        concat!(
            "Name,Given Name,Family Name,E-mail 1 - Type,E-mail 1 - Value,E-mail 2 - Type,E-mail 2 - Value\n",
            "Guest One,Guest,One,* Work,first@corp.com,Home,second@corp.com\n",
        ),
    );
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--yes", "--on-missing", "delete", "--max-missing", "1"])
            .args(["--report-missing", "missing.csv", "--summary-json", "summary.json"])
            .arg(&file),
        0,
    );
    assert_eq!(active(&ws), ["first@corp.com", "second@corp.com"], "{stderr}");
    assert_eq!(ws.sandbox.stats().deletes, 1, "gone@ went\n{stderr}");
    let why = "kept: the file mentions it in column \"E-mail 2 - Value\" (row 2), which is not imported";
    assert!(
        stderr.contains(&format!("guest second@corp.com (500) is {why}")),
        "{stderr}"
    );
    let report = std::fs::read_to_string(ws.path("missing.csv")).unwrap();
    assert!(
        report.contains(&format!("exists,\"{}\",500,second@corp.com", why.replace('"', "\"\""))),
        "{report}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["kept_mentioned"], 1, "{summary}");
    assert_eq!(summary["missing"], 1, "{summary}");
}
