//! What people and scripts read, pinned: every command's `--help` (at 80 columns), the results header and the
//! human summary. A change to any of them shows up as a snapshot diff to review
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test` to accept).

use crate::util::{Workspace, bin, expect_exit};

fn help(args: &[&str]) -> String {
    // At 80 columns, as a terminal would be: the help wraps to it.
    let output = bin().env("COLUMNS", "80").args(args).arg("--help").output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_help_page() {
    insta::assert_snapshot!("help", help(&[]));
    insta::assert_snapshot!("help_import", help(&["import"]));
    insta::assert_snapshot!("help_undo", help(&["undo"]));
    insta::assert_snapshot!("help_export", help(&["export"]));
    insta::assert_snapshot!("help_sandbox", help(&["sandbox"]));
    insta::assert_snapshot!("help_doctor", help(&["doctor"]));
    insta::assert_snapshot!("help_template", help(&["template"]));
    insta::assert_snapshot!("help_completions", help(&["completions"]));
    insta::assert_snapshot!("help_history", help(&["history"]));
}

#[test]
fn the_results_header_and_the_summary() {
    let ws = Workspace::empty();
    let file = ws.write(
        "guests.csv",
        "email,first_name,Notes\na@example.org,Ann,vip\nA@example.org,Dup,\nnot-an-email,Bad,\n",
    );
    let stderr = expect_exit(ws.cmd().arg("import").arg(&file), 1);
    let results = std::fs::read_to_string(ws.path("guests.results.csv")).unwrap();
    insta::assert_snapshot!("results_header", results.lines().next().unwrap());
    // The summary's own lines, with the timings (which vary) masked; off a terminal each line
    // starts with its time and level, which vary too.
    let summary: Vec<String> = stderr
        .lines()
        .map(|line| line.split_once(" INFO ").map_or(line, |(_, message)| message))
        .skip_while(|line| !line.starts_with("3 rows"))
        .map(|line| {
            line.split(' ')
                .map(|word| {
                    if word.chars().next().is_some_and(|c| c.is_ascii_digit()) && word.contains('.') {
                        "N"
                    } else {
                        word
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
                .replace(&ws.dir().display().to_string(), "DIR")
        })
        .collect();
    insta::assert_snapshot!("summary", summary.join("\n"));
}
