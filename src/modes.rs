//! How an import treats what it finds: value types chosen on the command line and used by the
//! import itself (a leaf, so the import never needs the flags' module to name them).

/// `--on-existing`: what to do with a row whose guest already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[allow(missing_docs, reason = "clap would print variant docs as a list under --help")]
pub enum OnExisting {
    // Leave it (`exists`), reporting drift.
    Skip,
    // Replace its `associated_members` when the file's differ (`updated`).
    Update,
}

/// `--max-errors N` or `N%`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ErrorBudget {
    /// At most this many failed rows.
    Rows(u64),
    /// At most this percentage of the rows failed.
    Percent(f64),
}

impl ErrorBudget {
    /// Parses `5` or `2%`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let invalid =
            || format!("`{text}` is not an error budget: write a number of rows such as 5, or a percentage such as 2%");
        match text.strip_suffix('%') {
            Some(percent) => match percent.trim().parse::<f64>() {
                Ok(value) if (0.0..=100.0).contains(&value) => Ok(ErrorBudget::Percent(value)),
                _ => Err(invalid()),
            },
            None => text.parse().map(ErrorBudget::Rows).map_err(|_| invalid()),
        }
    }

    /// The most failed rows allowed, given the rows in the input.
    pub fn allowed(self, rows: u64) -> u64 {
        match self {
            ErrorBudget::Rows(rows) => rows,
            ErrorBudget::Percent(percent) => (rows as f64 * percent / 100.0).floor() as u64,
        }
    }
}
