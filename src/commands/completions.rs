//! `tallyfy-guests completions SHELL`: the shell's completion script (`cli::completions`) on
//! stdout.

use std::io::Write;

use crate::cli::CompletionShell;
use crate::error::{Exit, RunError};

/// Writes the completion script for `shell` to stdout.
pub fn run(shell: CompletionShell) -> Result<Exit, RunError> {
    let script = crate::cli::completions::script(shell);
    std::io::stdout()
        .write_all(&script)
        .map_err(|e| RunError::io("cannot write to stdout", e))?;
    Ok(Exit::Success)
}
