//! `tallyfy-guests man`: the manual page (`cli::man`) on stdout.

use std::io::Write;

use crate::error::{Exit, RunError};

/// Writes the manual page to stdout.
pub fn run() -> Result<Exit, RunError> {
    let mut out = Vec::new();
    crate::cli::man::render(&mut out).map_err(|e| RunError::io("cannot write the manual page", e))?;
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| RunError::io("cannot write to stdout", e))?;
    Ok(Exit::Success)
}
