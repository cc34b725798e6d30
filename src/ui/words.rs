//! The engine's messages in a person's words, for every part of the page: without the command
//! line's advice and without the server's paths. A leaf: the page's other modules use it.

/// A message from the engine in a person's words, for the page: without the command line's
/// advice (a `--flag` to pass is a control on the page, or nothing the page can do) and
/// without the server's paths (a run's files are its downloads).
pub(super) fn plain(text: &str) -> String {
    let mut out = String::new();
    for clause in text.split("; ") {
        let mut clause = clause.to_string();
        // "(pass --delimiter)", "(add --map ... instead)": advice for the terminal.
        while let Some(open) = clause.find(" (")
            && let Some(close) = clause[open..].find(')')
            && clause[open..open + close].contains("--")
        {
            clause.replace_range(open..=open + close, "");
        }
        for cut in [
            ": pass --",
            ", or pass --",
            " or pass --",
            ": add --",
            ", pass --",
            " (pass --",
        ] {
            if let Some(at) = clause.find(cut) {
                clause.truncate(at);
            }
        }
        if clause.contains("--") || clause.trim().is_empty() {
            continue;
        }
        let words: Vec<String> = clause
            .split(' ')
            .map(|word| match word.rfind('/') {
                // A path: its file's name only.
                Some(at) if word.starts_with('/') || word.starts_with("`/") => {
                    word[at + 1..].trim_end_matches('`').to_string()
                }
                _ => word.to_string(),
            })
            .collect();
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(&words.join(" "));
    }
    if out.is_empty() {
        "something went wrong; try again".to_string()
    } else {
        out
    }
}
