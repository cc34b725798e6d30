//! The nightly sync: `--on-existing update` and drift, `--report-missing`, `--retry-from`,
//! `--max-errors`, `--summary-json`, and OAuth client credentials with a token that dies
//! mid-run.

use std::path::Path;

use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::{FaultOptions, OAuthOptions, SandboxOptions};

use crate::util::{Workspace, bin, expect_exit, read_csv, result_rows};

fn existing(i: usize, members: Vec<u64>) -> Guest {
    Guest {
        id: (500 + i).to_string(),
        email: format!("member{i}@crm.com"),
        first_name: Some(format!("First{i}")),
        last_name: Some(format!("Last{i}")),
        company_name: Some("Old Co".into()),
        associated_members: members,
        ..Guest::default()
    }
}

/// Results rows as (the file's `email`, status, message).
fn statuses(results: &Path) -> Vec<(String, String, String)> {
    result_rows(results)
        .into_iter()
        .map(|r| (r.cell("email").to_string(), r.result_status, r.result_message))
        .collect()
}

#[test]
fn update_changes_exactly_the_members_that_changed_and_reports_drift() {
    // Guests 0-5 exist; 0-2 get other members in the file, 3 gets a new name, 4 is as it was,
    // 5 is not in the file at all, and two rows are new.
    let guests: Vec<Guest> = (0..6).map(|i| existing(i, vec![1001])).collect();
    let ws = Workspace::new(SandboxOptions {
        guests: guests.clone(),
        ..SandboxOptions::default()
    });
    let file = ws.path("crm.csv");
    let mut csv = String::from("email,first_name,last_name,company_name,associated_members\n");
    for i in 0..3 {
        csv.push_str(&format!("member{i}@crm.com,First{i},Last{i},Old Co,1001;1002\n"));
    }
    csv.push_str("MEMBER3@crm.com,Jonathan,Last3,New Co,1001\n");
    csv.push_str("member4@crm.com,First4,,,\n");
    csv.push_str("new1@crm.com,New,One,,1003\nnew2@crm.com,New,Two,,\n");
    std::fs::write(&file, csv).unwrap();
    let missing = ws.path("missing.csv");
    let results = ws.path("crm.results.csv");

    // A dry run says what would happen and changes nothing.
    let mut dry = ws.cmd();
    dry.args(["import", "--dry-run", "--on-existing", "update"]).arg(&file);
    expect_exit(&mut dry, 0);
    // Into a file of its own, so it never replaces the account of a real run.
    let planned: Vec<String> = statuses(&ws.path("crm.dry-run.csv"))
        .into_iter()
        .map(|(_, s, _)| s)
        .collect();
    assert_eq!(
        planned,
        [
            "would_update",
            "would_update",
            "would_update",
            "exists",
            "exists",
            "would_create",
            "would_create"
        ]
    );
    assert_eq!(ws.sandbox.stats().puts + ws.sandbox.stats().posts, 0);

    let mut cmd = ws.cmd();
    cmd.args(["import", "--on-existing", "update", "--report-missing"])
        .arg(&missing)
        .arg(&file);
    expect_exit(&mut cmd, 0);

    let rows = statuses(&results);
    let by_email = |email: &str| rows.iter().find(|(e, _, _)| e.eq_ignore_ascii_case(email)).unwrap();
    for i in 0..3 {
        let (_, status, message) = by_email(&format!("member{i}@crm.com"));
        assert_eq!(status, "updated");
        assert!(message.contains("associated_members 1001 → 1001;1002"), "{message}");
        let guest = ws.sandbox.guest(&format!("member{i}@crm.com")).unwrap();
        assert_eq!(guest.associated_members, vec![1001, 1002]);
    }
    let (_, status, message) = by_email("member3@crm.com");
    assert_eq!(status, "exists");
    assert!(
        message.contains(r#"first_name: "First3" in Tallyfy, "Jonathan" in file"#)
            && message.contains(r#"company_name: "Old Co" in Tallyfy, "New Co" in file"#),
        "{message}"
    );
    let (_, status, message) = by_email("member4@crm.com");
    assert_eq!((status.as_str(), message.as_str()), ("exists", "already a guest"));
    assert_eq!(by_email("new1@crm.com").1, "created");
    assert_eq!(by_email("new2@crm.com").1, "created");
    assert_eq!(
        ws.sandbox.stats().puts,
        3,
        "one PUT per changed member list, none for the rest"
    );
    // Guests whose members did not change kept them; nothing was re-created.
    for before in &guests[3..6] {
        let guest = ws.sandbox.guest(&before.email).unwrap();
        assert_eq!(
            (guest.id.as_str(), guest.associated_members.as_slice()),
            (before.id.as_str(), &[1001][..])
        );
    }
    assert_eq!(
        ws.sandbox.guest("member3@crm.com").unwrap().first_name.as_deref(),
        Some("First3")
    );

    // Only guest 5 is missing from the file, and the sandbox lost nothing.
    let (header, missing_rows) = read_csv(&std::fs::read_to_string(&missing).unwrap());
    assert_eq!(header[..2], ["id", "email"]);
    assert_eq!(missing_rows.len(), 1, "{missing_rows:?}");
    assert_eq!(missing_rows[0][..4], ["505", "member5@crm.com", "First5", "Last5"]);
    assert_eq!(ws.sandbox.guests().len(), 8);
    assert_eq!(ws.sandbox.stats().deletes, 0);
}

#[test]
fn retry_from_reruns_what_did_not_succeed_and_carries_the_rest() {
    let ws = Workspace::new(SandboxOptions {
        guests: vec![existing(0, vec![])],
        ..SandboxOptions::default()
    });
    let previous = ws.path("guests.results.csv");
    std::fs::write(
        &previous,
        "result_row,result_status,result_guest_id,result_http_status,result_attempts,result_message,email,first_name,notes\n\
         2,created,901,201,1,created,done@crm.com,Done,'=keep me\n\
         3,failed,,502,3,not created: HTTP 502,failed@crm.com,Failed,x\n\
         4,invalid,,,0,email `bad` is not valid,bad,Bad,y\n\
         7,deferred,,,0,not created: the run stopped,later@crm.com,Later,z\n\
         8,exists,500,,0,already a guest,member0@crm.com,First0,\n\
         end,end_of_results,,,,the run finished with a result for each of its 5 rows: the whole input,,,\n",
    )
    .unwrap();
    let mut cmd = ws.cmd();
    cmd.args(["import", "--retry-from"]).arg(&previous);
    expect_exit(&mut cmd, 1);
    let results = ws.path("guests.retry.results.csv");
    let (header, _) = read_csv(&std::fs::read_to_string(&results).unwrap());
    assert_eq!(header[13..], ["email", "first_name", "notes"]);
    let rows = result_rows(&results);
    let summary: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|r| (r.result_row, r.result_status.as_str(), r.cell("email")))
        .collect();
    assert_eq!(
        summary,
        [
            (2, "created", "done@crm.com"),
            (3, "created", "failed@crm.com"),
            (4, "invalid", "bad"),
            (7, "created", "later@crm.com"),
            (8, "exists", "member0@crm.com"),
        ]
    );
    // Carried-over rows are the earlier account, unchanged; only the two re-run rows were sent.
    let first = &rows[0];
    assert_eq!(
        (
            first.result_status.as_str(),
            first.result_guest_id.as_str(),
            first.result_http_status,
            first.result_attempts,
            first.result_message.as_str()
        ),
        ("created", "901", Some(201), 1, "created")
    );
    assert_eq!(first.cell("notes"), "'=keep me");
    // The invalid row was validated again from its cells (still invalid: the tool's own words).
    assert_eq!(rows[2].result_message, "email `bad` has no @");
    assert_eq!(ws.sandbox.stats().posts, 2);
    assert!(
        ws.sandbox.guest("done@crm.com").is_none(),
        "a copied row is not sent again"
    );
    assert!(ws.sandbox.guest("failed@crm.com").is_some() && ws.sandbox.guest("later@crm.com").is_some());

    // A file that is not a results file is a clear usage error.
    let plain = ws.write("plain.csv", include_str!("../../samples/guests.csv"));
    let mut wrong = ws.cmd();
    wrong.args(["import", "--retry-from"]).arg(&plain);
    let stderr = expect_exit(&mut wrong, 2);
    assert!(stderr.contains("is not a results file"), "{stderr}");
}

#[test]
fn max_errors_stops_a_run_that_keeps_failing() {
    let ws = Workspace::new(SandboxOptions {
        faults: FaultOptions {
            create_error_rate: 1.0,
            ..FaultOptions::default()
        },
        ..SandboxOptions::default()
    });
    let file = ws.path("many.csv");
    let csv: String = std::iter::once("email\n".to_string())
        .chain((0..200).map(|i| format!("g{i}@crm.com\n")))
        .collect();
    std::fs::write(&file, csv).unwrap();
    let mut cmd = ws.cmd();
    cmd.args([
        "import",
        "--max-errors",
        "5",
        "--max-retries",
        "0",
        "--concurrency",
        "2",
    ])
    .arg(&file);
    // Failed rows need a person: exit 1, though the run also stopped (and deferred the rest).
    let stderr = expect_exit(&mut cmd, 1);
    assert!(stderr.contains("more than --max-errors allows"), "{stderr}");
    let rows = statuses(&ws.path("many.results.csv"));
    let failed = rows.iter().filter(|(_, s, _)| s == "failed").count();
    let deferred = rows.iter().filter(|(_, s, _)| s == "deferred").count();
    assert_eq!(rows.len(), 200, "every row accounted for");
    assert!(
        (6..=8).contains(&failed),
        "stops soon after the sixth failure: {failed}"
    );
    assert_eq!(failed + deferred, 200);
    assert!(ws.sandbox.stats().posts <= 8, "{:?}", ws.sandbox.stats());

    let mut percent = ws.cmd();
    percent
        .args(["import", "-", "--max-errors", "5%"])
        .write_stdin("email\na@b.co\n");
    let stderr = expect_exit(&mut percent, 2);
    assert!(stderr.contains("--max-errors N% needs a file"), "{stderr}");
}

/// The documented `--summary-json` fields and their JSON types (README: "Summary file").
const SUMMARY_FIELDS: [(&str, &str); 32] = [
    ("tool", "string"),
    ("version", "string"),
    ("command", "string"),
    ("started_at", "string"),
    ("finished_at", "string"),
    ("input", "string"),
    ("input_sha256", "string"),
    ("input_format", "string"),
    ("results", "string"),
    ("dry_run", "bool"),
    ("on_existing", "string"),
    ("rows", "number"),
    ("counts", "object"),
    ("missing", "null"),
    ("kept_mentioned", "null"),
    ("missing_done", "null"),
    ("elapsed_seconds", "number"),
    ("rows_per_second", "number"),
    ("estimated_finish", "null"),
    ("pace", "string"),
    ("requests", "number"),
    ("latency_ms", "object"),
    ("paused_seconds", "number"),
    ("retries", "number"),
    ("rate_limited", "number"),
    ("reconciliations", "number"),
    ("stopped", "null"),
    ("unmapped_hints", "array"),
    ("next_command", "null"),
    ("exit_code", "number"),
    ("error", "null"),
    ("token_renewals", "number"),
];

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[test]
fn client_credentials_survive_a_token_that_dies_mid_run_and_the_summary_has_every_field() {
    let ws = Workspace::new(SandboxOptions {
        oauth: OAuthOptions {
            client_secret: "s3cret-client-value".into(),
            uses: Some(15),
            ..OAuthOptions::default()
        },
        ..SandboxOptions::default()
    });
    let file = ws.path("nightly.csv");
    let csv: String = std::iter::once("email,first_name\n".to_string())
        .chain((0..60).map(|i| format!("night{i}@crm.com,N{i}\n")))
        .collect();
    std::fs::write(&file, &csv).unwrap();
    let summary_path = ws.path("summary.json");
    let output = bin()
        .env("TALLYFY_BASE_URL", ws.sandbox.base_url())
        .env("TALLYFY_ORG_ID", ws.sandbox.org())
        .env("TALLYFY_CLIENT_ID", "sandbox-client")
        .env("TALLYFY_CLIENT_SECRET", "s3cret-client-value")
        .env("RUST_LOG", "trace")
        .args(["--log-format", "json", "import", "--concurrency", "4", "--summary-json"])
        .arg(&summary_path)
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(ws.sandbox.guests().len(), 60, "every row created");
    assert!(
        ws.sandbox.tokens_issued() >= 4,
        "tokens renewed: {}",
        ws.sandbox.tokens_issued()
    );
    let results = std::fs::read_to_string(ws.path("nightly.results.csv")).unwrap();
    let summary_text = std::fs::read_to_string(&summary_path).unwrap();
    for text in [stderr.as_ref(), results.as_str(), summary_text.as_str()] {
        assert!(!text.contains("s3cret-client-value"), "the client secret leaked");
        assert!(!text.contains("sbx-oauth-token"), "an access token leaked");
    }

    let summary: serde_json::Value = serde_json::from_str(&summary_text).unwrap();
    let object = summary.as_object().unwrap();
    for (field, kind) in SUMMARY_FIELDS {
        let value = object
            .get(field)
            .unwrap_or_else(|| panic!("no `{field}` in {summary_text}"));
        assert_eq!(json_type(value), kind, "`{field}` in {summary_text}");
    }
    assert_eq!(
        object.len(),
        SUMMARY_FIELDS.len(),
        "undocumented fields in {summary_text}"
    );
    assert_eq!(summary["rows"], 60);
    assert_eq!(summary["counts"]["created"], 60);
    let counted: u64 = summary["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, 60);
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(summary["version"], env!("CARGO_PKG_VERSION"));
    assert!(summary["token_renewals"].as_u64().unwrap() >= 3);
    assert!(summary["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert!(summary["latency_ms"]["p95"].as_f64() >= summary["latency_ms"]["p50"].as_f64());
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(csv.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(summary["input_sha256"], digest.as_str());

    // Wrong client credentials: a clear error, exit 2, and still a summary for monitoring.
    let mut wrong = bin();
    wrong
        .env("TALLYFY_BASE_URL", ws.sandbox.base_url())
        .env("TALLYFY_ORG_ID", ws.sandbox.org())
        .env("TALLYFY_CLIENT_ID", "sandbox-client")
        .env("TALLYFY_CLIENT_SECRET", "not-the-secret")
        .args(["import", "--summary-json"])
        .arg(&summary_path)
        .arg(&file);
    let stderr = expect_exit(&mut wrong, 2);
    assert!(
        stderr.contains("could not obtain an access token") && !stderr.contains("not-the-secret"),
        "{stderr}"
    );
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    assert_eq!(summary["exit_code"], 2);
    assert!(summary["error"].as_str().unwrap().contains("invalid_client"));
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let output = bin().args(["completions", shell]).output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        let script = String::from_utf8(output.stdout).unwrap();
        // Every shell's script knows the import flags (fish spells them `-l retry-from`).
        assert!(
            script.contains("on-existing") && script.contains("retry-from"),
            "{shell}"
        );
    }
}
