//! Terminal habits (issue 26): messages in the tool's own words, flag errors, and how the tool
//! talks on a terminal and in a log.

use crate::util::{Workspace, bin, expect_exit};

#[test]
fn validation_messages_are_the_tools_own_words_and_name_invisible_characters() {
    let ws = Workspace::empty();
    let file = ws.write(
        "guests.csv",
        "email,timezone\nann\u{200B}@example.com,Europe/Paris\nben@example..com,\ncleo@example.com,Paris\n",
    );
    expect_exit(ws.cmd().args(["import", "--dry-run"]).arg(&file), 1);
    let rows = ws.results("guests.dry-run.csv");
    let messages: Vec<&str> = rows.iter().map(|r| r.result_message.as_str()).collect();
    assert!(
        messages[0].contains("a zero-width space (U+200B) at character 4"),
        "{messages:?}"
    );
    assert!(messages[1].contains("two dots in a row"), "{messages:?}");
    assert!(messages[2].contains("did you mean Europe/Paris?"), "{messages:?}");
    for message in messages {
        for word in ["sub-domain", "Invalid character", "Sub-domain", ".)"] {
            assert!(!message.contains(word), "library words leak: {message}");
        }
    }
}

#[test]
fn limit_zero_is_a_flag_error() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@example.com\n");
    let stderr = expect_exit(ws.cmd().args(["import", "--limit", "0"]).arg(&file), 2);
    assert!(stderr.contains("1 or more"), "{stderr}");
    assert!(!stderr.contains("no guest rows"), "{stderr}");
    assert!(!ws.path("guests.results.csv").exists());
    expect_exit(bin().args(["import", "--limit", "1", "--dry-run"]).arg(&file), 0);
}
