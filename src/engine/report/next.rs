//! The one next command a person runs when rows need them: the fix loop's `--retry-from` of
//! this run's results, built from the command line the run was given (its options kept, the
//! input and `--results` replaced), quoted for a shell.

use std::path::Path;

use super::summary::{Next, Summary};
use crate::engine::outcome::Status;

/// The next step after a run whose rows need a person (`invalid`, `conflict`: fix cells;
/// `failed`: run again), also when it stopped early (the retry re-runs the deferred rows too),
/// or `None`: no row needs a person (a stopped run's summary says to run the same command
/// again), it was an undo, or its results went to stdout (nothing to fix in place). `argv` is
/// the job's command line; `file` the input it read.
pub(crate) fn advice(
    summary: &Summary,
    results: Option<&Path>,
    argv: &[String],
    file: &Path,
    undo: bool,
) -> Option<Next> {
    let results = results?;
    if undo {
        return None;
    }
    let rows = |count: u64, what: &str| match count {
        1 => format!("the 1 row marked {what}"),
        n => format!("the {n} rows marked {what}"),
    };
    let to_fix: Vec<String> = [Status::Invalid, Status::Conflict]
        .into_iter()
        .filter(|&status| summary.get(status) > 0)
        .map(|status| rows(summary.get(status), status.as_str()))
        .collect();
    let failed = summary.get(Status::Failed);
    if to_fix.is_empty() && failed == 0 {
        return None;
    }
    let command = command(argv, file, results);
    let shown = quote(&results.display().to_string());
    // What the retry also re-runs: the failed rows (when fixing is the advice) and the deferred.
    let mut again = Vec::new();
    if !to_fix.is_empty() && failed > 0 {
        again.push(format!("{failed} failed"));
    }
    let deferred = summary.get(Status::Deferred);
    if deferred > 0 {
        again.push(format!("{deferred} deferred"));
    }
    let too = match again.is_empty() {
        true => String::new(),
        false => format!(" (it re-runs the {} too)", again.join(" and ")),
    };
    let advice = match to_fix.is_empty() {
        true => format!("re-run {}: {command}{too}", rows(failed, "failed")),
        false => format!("fix {} in {shown}, then run: {command}{too}", to_fix.join(" and ")),
    };
    Some(Next { advice, command })
}

/// `tallyfy-guests ... import --retry-from RESULTS [the run's other options]`: the input (the
/// first argument after `import` that is `file`) and any `--results` or `--retry-from` are
/// replaced, every other option is kept as given.
pub(crate) fn command(argv: &[String], file: &Path, results: &Path) -> String {
    let file = file.to_string_lossy();
    let mut words = vec!["tallyfy-guests".to_string()];
    let mut args = argv.iter().skip(1);
    let mut input_dropped = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--results" | "--retry-from" => {
                args.next();
            }
            _ if arg.starts_with("--results=") || arg.starts_with("--retry-from=") => {}
            "import" if !words.iter().any(|word| word == "import") => {
                words.push(arg.clone());
                words.push("--retry-from".into());
                words.push(quote(&results.to_string_lossy()));
            }
            _ if !input_dropped && words.iter().any(|word| word == "import") && *arg == file => {
                input_dropped = true;
            }
            _ => words.push(quote(arg)),
        }
    }
    words.join(" ")
}

/// `word` as a POSIX shell reads it back: as it is when it has only safe characters, else in
/// single quotes (a `'` inside written `'\''`).
pub(crate) fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_next_command_keeps_the_options_and_replaces_the_input_and_results() {
        let results = Path::new("out dir/guests.results.csv");
        assert_eq!(
            command(
                &argv("/usr/bin/tallyfy-guests -q import guests.csv --on-existing update --results x.csv"),
                Path::new("guests.csv"),
                results
            ),
            "tallyfy-guests -q import --retry-from 'out dir/guests.results.csv' --on-existing update"
        );
        assert_eq!(
            command(
                &argv("tg import --retry-from=a.results.csv --map Mail=email"),
                Path::new("a.results.csv"),
                Path::new("a.retry.results.csv")
            ),
            "tallyfy-guests import --retry-from a.retry.results.csv --map Mail=email"
        );
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn only_rows_that_need_a_person_call_for_a_next_command() {
        let argv = argv("tg import g.csv");
        let file = Path::new("g.csv");
        let results = Some(Path::new("g.results.csv"));
        let mut summary = Summary::default();
        summary.count(Status::Created);
        assert_eq!(advice(&summary, results, &argv, file, false), None);
        summary.count(Status::Invalid);
        summary.count(Status::Invalid);
        let next = advice(&summary, results, &argv, file, false).unwrap();
        assert_eq!(next.command, "tallyfy-guests import --retry-from g.results.csv");
        assert_eq!(
            next.advice,
            "fix the 2 rows marked invalid in g.results.csv, then run: tallyfy-guests import --retry-from g.results.csv"
        );
        assert_eq!(advice(&summary, None, &argv, file, false), None, "results on stdout");
        assert_eq!(advice(&summary, results, &argv, file, true), None, "an undo");
    }
}
