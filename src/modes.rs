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

/// `--max-errors N` or `N%` (and `--max-missing`); shown as it is written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ErrorBudget {
    /// At most this many failed rows.
    Rows(u64),
    /// At most this percentage of the rows failed.
    Percent(f64),
}

impl std::fmt::Display for ErrorBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrorBudget::Rows(rows) => write!(f, "{rows}"),
            ErrorBudget::Percent(percent) => write!(f, "{percent}%"),
        }
    }
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

/// `--on-missing`: what an import does with guests in Tallyfy that no row of the file names.
/// Its text (`report`, `disable`, `delete`) is the flag's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, strum::Display)]
#[strum(serialize_all = "snake_case")]
#[allow(missing_docs, reason = "clap would print variant docs as a list under --help")]
pub enum OnMissing {
    // List them in the --report-missing file only.
    Report,
    // Disable them (reversible), and re-enable a disabled guest who is back in the file.
    Disable,
    // Delete them.
    Delete,
}

impl OnMissing {
    /// What is done to a missing guest, if anything.
    pub fn removal(self) -> Option<Removal> {
        match self {
            OnMissing::Report => None,
            OnMissing::Disable => Some(Removal::Disable),
            OnMissing::Delete => Some(Removal::Delete),
        }
    }
}

/// How a guest is taken away: deleted, or disabled (they can no longer sign in; reversible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// `DELETE …/guests/{email}`.
    Delete,
    /// `DELETE …/guests/{email}/disable`.
    Disable,
}

impl Removal {
    /// The verb, for messages: `delete`, `disable`.
    pub fn verb(self) -> &'static str {
        match self {
            Removal::Delete => "delete",
            Removal::Disable => "disable",
        }
    }

    /// What it has done, for messages: `deleted`, `disabled`.
    pub fn done(self) -> &'static str {
        match self {
            Removal::Delete => "deleted",
            Removal::Disable => "disabled",
        }
    }

    /// What a row says when it was left as it was: `not deleted`, `not disabled`.
    pub fn not_done(self) -> &'static str {
        match self {
            Removal::Delete => "not deleted",
            Removal::Disable => "not disabled",
        }
    }
}

/// Parses `--max-missing`: `5` guests or `5%` of the organization's guests.
pub fn parse_missing_budget(text: &str) -> Result<ErrorBudget, String> {
    ErrorBudget::parse(text).map_err(|_| {
        format!(
            "`{}` is not a budget: write a number of guests such as 5, or a percentage of the organization's guests such as 5%",
            text.trim()
        )
    })
}
