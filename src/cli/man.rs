//! The one manual page (`tallyfy-guests man` writes it), roff made from the same definitions as `--help`
//! (clap_mangen renders the title, name, synopsis and global options; the commands, the
//! environment, files, exit status and examples are written here). No subcommand pages are
//! installed, so none is referred to.

use std::io::Write;

use clap::{Arg, Command};

/// Every environment variable the tool reads, and what for.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("TALLYFY_ORG_ID", "The organization id (32 hex characters), as --org."),
    (
        "TALLYFY_BASE_URL",
        "The API base URL, as --base-url (default https://go.tallyfy.com/api).",
    ),
    (
        "TALLYFY_ACCESS_TOKEN",
        "The access token (a bearer token); never given as a flag.",
    ),
    (
        "TALLYFY_API_TOKEN",
        "The access token, when TALLYFY_ACCESS_TOKEN is not set.",
    ),
    (
        "TALLYFY_CLIENT_ID",
        "OAuth client id for unattended runs, as --client-id.",
    ),
    (
        "TALLYFY_CLIENT_SECRET",
        "OAuth client secret, unless --client-secret-file is given.",
    ),
    ("TALLYFY_TOKEN_URL", "OAuth token endpoint, as --token-url."),
    (
        "TALLYFY_SANDBOX_PID",
        "Printed (not read) by sandbox: the process serving in the background; kill it to stop it.",
    ),
    (
        "RUST_LOG",
        "Log filter, overriding the default (warn,tallyfy_guests=info; error with --quiet).",
    ),
    ("NO_COLOR", "When set and not empty, no colour on a terminal."),
    (
        "TALLYFY_LOCK_DIR",
        "The lock folder instead of /tmp/tallyfy-guests-UID (made if missing, never its parents; used only when it is yours with mode 0700).",
    ),
];

/// The files a run makes besides the ones it is told to write.
const FILES: &[(&str, &str)] = &[
    (
        "NAME.results.csv",
        "Beside the input NAME.csv (or NAME.dry-run.csv for a dry run; NAME.undo.csv for undo) unless --results: one row per input row, each stamped with the same result_of (the rows it holds, when the run finished) once the run accounted for every row.",
    ),
    (
        ".NAME.results.csv.lock",
        "Beside the results file: the lock that keeps a second run from writing it. OS advisory locks, released however a run ends.",
    ),
    (
        "NAME.results.acts.csv",
        "Beside the results file: the acts journal, every delete, disable and enable written before it is sent and again with its answer (undo and --on-missing disable|delete).",
    ),
    (
        "/tmp/tallyfy-guests-UID/",
        "The lock folder of the user with this uid, one for every session (terminal, cron, ssh, the page): locks by the results file's inode and per organization. Refused (exit 2) unless it is that user's own folder with mode 0700.",
    ),
];

/// The date the page's title gives (mandoc's lint wants one it can read): when its text last
/// changed in substance.
const MANUAL_DATE: &str = "2026-12-07";

/// The page, in roff.
pub fn render(out: &mut Vec<u8>) -> std::io::Result<()> {
    use clap::CommandFactory;
    let mut command = super::Cli::command();
    command.build();
    let man = clap_mangen::Man::new(command.clone()).date(MANUAL_DATE);
    let mut generated = Vec::new();
    man.render_title(&mut generated)?;
    man.render_name_section(&mut generated)?;
    man.render_synopsis_section(&mut generated)?;
    man.render_description_section(&mut generated)?;
    // The global options only: each command's come under COMMANDS.
    man.render_options_section(&mut generated)?;
    // clap_mangen separates a flag's help from its possible values by `.br`, an empty line and
    // `.br`, which mandoc's lint reports (a line break beside a paragraph break): one `.sp`.
    let generated = String::from_utf8_lossy(&generated).replace("\n.br\n\n.br\n", "\n.sp\n");
    out.extend_from_slice(generated.as_bytes());
    writeln!(out, ".SH COMMANDS")?;
    for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
        command_section(out, sub)?;
    }
    writeln!(out, ".SH ENVIRONMENT")?;
    for (name, what) in ENVIRONMENT {
        writeln!(out, ".TP\n.B {name}\n{}", text(what))?;
    }
    writeln!(out, ".SH FILES")?;
    for (name, what) in FILES {
        writeln!(out, ".TP\n.I {}\n{}", text(name), text(what))?;
    }
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    exit_status(out)?;
    writeln!(out, ".SH EXAMPLES")?;
    examples(out)?;
    writeln!(
        out,
        ".SH \"SEE ALSO\"\nThe README of tallyfy\\-guests; \\fBtallyfy\\-guests \\fICOMMAND\\fB \\-\\-help\\fR."
    )?;
    Ok(())
}

/// One command: its name and synopsis, what it does, and its options (the global ones left to
/// OPTIONS).
fn command_section(out: &mut Vec<u8>, sub: &Command) -> std::io::Result<()> {
    let mut usage = sub.clone().bin_name(format!("tallyfy-guests {}", sub.get_name()));
    let synopsis = usage.render_usage().to_string();
    let synopsis = synopsis.trim_start_matches("Usage: ");
    writeln!(out, ".SS \"{}\"", text(&format!("tallyfy-guests {}", sub.get_name())))?;
    writeln!(out, ".nf\n\\fB{}\\fR\n.fi", text(synopsis))?;
    if let Some(about) = sub.get_long_about().or(sub.get_about()) {
        writeln!(out, ".PP\n{}", text(&about.to_string()))?;
    }
    let aliases: Vec<&str> = sub.get_visible_aliases().collect();
    if !aliases.is_empty() {
        writeln!(out, ".PP\nAlso: {}.", text(&aliases.join(", ")))?;
    }
    for arg in sub
        .get_arguments()
        .filter(|arg| !arg.is_global_set() && !arg.is_hide_set())
    {
        option(out, arg)?;
    }
    Ok(())
}

fn option(out: &mut Vec<u8>, arg: &Arg) -> std::io::Result<()> {
    let id = arg.get_id().as_str();
    if id == "help" || id == "version" {
        return Ok(());
    }
    let value = arg
        .get_value_names()
        .map(|names| {
            names
                .iter()
                .map(|n| format!(" \\fI{}\\fR", text(n)))
                .collect::<String>()
        })
        .filter(|_| arg.get_action().takes_values())
        .unwrap_or_default();
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("\\fB\\-{short}\\fR"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", text(long)));
    }
    let head = if arg.is_positional() {
        let name = arg
            .get_value_names()
            .and_then(|n| n.first())
            .map_or(id.to_string(), |n| n.to_string());
        format!("\\fI{}\\fR", text(&name))
    } else {
        format!("{}{value}", names.join(", "))
    };
    let mut help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        help.push_str(&format!(" [default: {}]", defaults.join(", ")));
    }
    if let Some(env) = arg.get_env() {
        help.push_str(&format!(" [env: {}]", env.to_string_lossy()));
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() && !arg.is_hide_possible_values_set() {
        help.push_str(&format!(" [values: {}]", values.join(", ")));
    }
    writeln!(out, ".TP\n{head}\n{}", text(&help))
}

/// The exit codes, from the text `--help` shows, as a list.
fn exit_status(out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut codes: Vec<(String, String)> = Vec::new();
    for line in super::help::EXIT_CODES.lines().skip(1) {
        let trimmed = line.trim();
        match trimmed.split_once("  ") {
            Some((code, rest)) if code.len() == 1 && code.chars().all(|c| c.is_ascii_digit()) => {
                codes.push((code.to_string(), rest.trim().to_string()));
            }
            _ => {
                if let Some((_, text)) = codes.last_mut() {
                    text.push(' ');
                    text.push_str(trimmed);
                }
            }
        }
    }
    writeln!(out, "The same for every command:")?;
    for (code, what) in codes {
        writeln!(out, ".TP\n.B {code}\n{}", text(&what))?;
    }
    Ok(())
}

/// The examples of the top-level `--help`, as they are.
fn examples(out: &mut Vec<u8>) -> std::io::Result<()> {
    let overview = super::help::OVERVIEW;
    let examples = overview.split("\n\n").next().unwrap_or_default();
    writeln!(out, ".nf")?;
    for line in examples.lines().skip(1) {
        writeln!(out, "{}", text(line))?;
    }
    writeln!(
        out,
        "eval \"$(tallyfy\\-guests sandbox \\-\\-env)\"     a sandbox in the background"
    )?;
    writeln!(out, ".fi")
}

/// Text as roff: backslashes escaped, hyphens as minus signs (so flags can be copied), and a
/// line that would start with a control character made safe.
fn text(value: &str) -> String {
    let escaped = value.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|line| {
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_safe_roff() {
        assert_eq!(super::text("--env"), "\\-\\-env");
        assert_eq!(super::text(".hidden\n'quote"), "\\&.hidden\n\\&'quote");
        assert_eq!(super::text("a\\b"), "a\\eb");
    }
}
