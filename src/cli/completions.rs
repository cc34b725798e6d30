//! The shell completion scripts (`tallyfy-guests completions SHELL` writes one): clap_complete's,
//! with bash's made to complete after a subcommand and to offer file names where a command's
//! first argument is a file.

use super::{Cli, CompletionShell};

/// The completion script for `shell`.
pub fn script(shell: CompletionShell) -> Vec<u8> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let mut command = Cli::command();
    let mut out = Vec::new();
    let name = "tallyfy-guests";
    match shell {
        CompletionShell::Bash => clap_complete::generate(Shell::Bash, &mut command, name, &mut out),
        CompletionShell::Zsh => clap_complete::generate(Shell::Zsh, &mut command, name, &mut out),
        CompletionShell::Fish => clap_complete::generate(Shell::Fish, &mut command, name, &mut out),
        CompletionShell::Elvish => clap_complete::generate(Shell::Elvish, &mut command, name, &mut out),
        CompletionShell::Powershell => clap_complete::generate(Shell::PowerShell, &mut command, name, &mut out),
        CompletionShell::Nushell => {
            clap_complete::generate(clap_complete_nushell::Nushell, &mut command, name, &mut out)
        }
    }
    if shell == CompletionShell::Bash {
        // clap_complete names a hyphenated binary's states `tallyfy__guests…` where it sets
        // them but `tallyfy__subcmd__guests…` where it matches them, so nothing completes after
        // a subcommand; make the two agree.
        let script = String::from_utf8_lossy(&out).replace("tallyfy__subcmd__guests", "tallyfy__guests");
        out = files_for_positionals(&script, &["import", "undo", "template"]).into_bytes();
    }
    out
}

/// clap_complete's bash script offers a command's options where its first positional goes, so
/// `tallyfy-guests import <TAB>` inserts `-`; for `commands` whose positional is a file, offer
/// the options only after a `-`, and file names otherwise.
fn files_for_positionals(script: &str, commands: &[&str]) -> String {
    let mut out = String::with_capacity(script.len());
    let mut section: Option<&str> = None;
    for line in script.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("tallyfy__guests__subcmd__")
            .and_then(|t| t.strip_suffix(')'))
        {
            section = commands.iter().copied().find(|c| *c == name);
        }
        let Some(_) = section else {
            out.push_str(line);
            continue;
        };
        if trimmed.starts_with("if [[ ${cur} == -* || ${COMP_CWORD} -eq") {
            out.push_str(&line.replacen(" || ${COMP_CWORD} -eq 2", "", 1));
        } else if trimmed == r#"COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )"#
            && !line.starts_with("                ")
        {
            // The section's last word: no option was being given a value.
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!(
                "{indent}COMPREPLY=( $(compgen -f -- \"${{cur}}\") )\n{indent}if [[ \"${{BASH_VERSINFO[0]}}\" -ge 4 ]]; then\n{indent}    compopt -o filenames\n{indent}fi\n"
            ));
            section = None;
        } else {
            out.push_str(line);
        }
    }
    out
}
