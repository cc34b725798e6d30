//! The organization's members, read by a dry run and a real run alike: a member's email and a
//! member id that is not a member are decided before any request, so the dry run is the real
//! run, and no create or update is sent that the server would refuse.

use tallyfy_guests::api::Guest;
use tallyfy_guests::sandbox::{FaultOptions, SandboxOptions};

use crate::util::{Workspace, expect_exit};

/// Members 1001 to 1005 (the sandbox's defaults: `support@` is invited, `finance@` disabled),
/// and one existing guest whose members the file changes.
fn workspace(faults: FaultOptions) -> Workspace {
    Workspace::new(SandboxOptions {
        guests: vec![
            Guest {
                email: "kept@example.org".into(),
                associated_members: vec![1001],
                ..Guest::default()
            },
            Guest {
                email: "moved@example.org".into(),
                associated_members: vec![1001],
                ..Guest::default()
            },
        ],
        faults,
        ..SandboxOptions::default()
    })
}

const GUESTS: &str = "email,first_name,associated_members\n\
    new1@example.org,Ann,1001\n\
    OPS@sandbox.example,Oscar,\n\
    support@sandbox.example,Sue,\n\
    finance@sandbox.example,Fin,\n\
    new2@example.org,Bea,1001;9999\n\
    new3@example.org,Cy,9998 9999\n\
    new4@example.org,Di,\n\
    kept@example.org,Ed,1002;9999\n\
    moved@example.org,Flo,1002\n";

#[test]
fn a_dry_run_and_a_real_run_agree_row_by_row_on_members() {
    let ws = workspace(FaultOptions::default());
    let file = ws.write("guests.csv", GUESTS);
    let update = ["--on-existing", "update"];
    let stderr = expect_exit(ws.cmd().arg("import").args(update).arg("--dry-run").arg(&file), 1);
    assert!(stderr.contains("5 organization members fetched"), "{stderr}");
    let dry = ws.results("guests.dry-run.csv");
    assert_eq!(ws.sandbox.stats().posts + ws.sandbox.stats().puts, 0);
    expect_exit(ws.cmd().arg("import").args(update).arg(&file), 1);
    let real = ws.results("guests.results.csv");
    assert_eq!(dry.len(), 9);
    assert_eq!(real.len(), 9);
    let real_word = |status: &str| match status {
        "would_create" => "created".to_string(),
        "would_update" => "updated".to_string(),
        other => other.to_string(),
    };
    for (dry, real) in dry.iter().zip(&real) {
        assert_eq!(dry.result_row, real.result_row);
        assert_eq!(
            real_word(&dry.result_status),
            real.result_status,
            "row {}",
            real.result_row
        );
        if real.result_status == "invalid" {
            assert_eq!(dry.result_message, real.result_message, "row {}", real.result_row);
        }
    }
    let statuses: Vec<&str> = real.iter().map(|r| r.result_status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "created", "invalid", "invalid", "invalid", "invalid", "invalid", "created", "invalid", "updated"
        ]
    );
    assert!(
        real[1]
            .result_message
            .contains("OPS@sandbox.example is a member of this organization (user 1002, active)"),
        "{}",
        real[1].result_message
    );
    assert!(
        real[2].result_message.contains("(user 1004, invited)"),
        "{}",
        real[2].result_message
    );
    assert!(
        real[3].result_message.contains("(user 1005, disabled)"),
        "{}",
        real[3].result_message
    );
    assert!(
        real[4]
            .result_message
            .starts_with("member 9999 is not in this organization"),
        "{}",
        real[4].result_message
    );
    assert!(
        real[5]
            .result_message
            .starts_with("members 9998, 9999 are not in this organization"),
        "{}",
        real[5].result_message
    );
    assert!(
        real[7].result_message.contains("not updated: member 9999"),
        "{}",
        real[7].result_message
    );
    // No refused request was sent: every POST created a guest, the one PUT was applied.
    let stats = ws.sandbox.stats();
    assert_eq!((stats.posts, stats.created, stats.puts), (2, 2, 1), "{stats:?}");
    assert_eq!(ws.sandbox.guest("kept@example.org").unwrap().associated_members, [1001]);
    assert_eq!(
        ws.sandbox.guest("moved@example.org").unwrap().associated_members,
        [1002]
    );
}

#[test]
fn a_token_that_may_not_list_members_is_said_once_and_the_run_carries_on() {
    for status in [403, 401] {
        let ws = workspace(FaultOptions {
            refuse_members: Some(status),
            ..FaultOptions::default()
        });
        let file = ws.write("guests.csv", "email\nnew1@example.org\nops@sandbox.example\n");
        let stderr = expect_exit(ws.cmd().arg("import").arg(&file), 1);
        assert_eq!(
            stderr.matches("the organization's members could not be read").count(),
            1,
            "{stderr}"
        );
        assert!(stderr.contains(&format!("({status}")), "{stderr}");
        let rows = ws.results("guests.results.csv");
        // As before the check existed: the server's own refusal, in plain words.
        assert_eq!(rows[0].result_status, "created");
        assert_eq!(rows[1].result_status, "conflict", "{}", rows[1].result_message);
        assert!(
            rows[1].result_message.contains("belongs to a member"),
            "{}",
            rows[1].result_message
        );
    }
}
