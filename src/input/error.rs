//! A guest file that cannot be imported at all (exit 2; nothing is sent), as opposed to a bad
//! record, which is a record with its problem.

use std::io;

use super::header::HeaderError;

/// A file that cannot be imported at all (exit 2; nothing is sent).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {name}: {}", crate::words::io_words(.error))]
    /// The file cannot be read.
    Unreadable {
        /// The file.
        name: String,
        /// Why it cannot be read.
        error: io::Error,
    },
    #[error("{0} is empty: expected a header row with an `email` column, then one guest per row")]
    /// The file is empty.
    Empty(String),
    #[error("{0} has a header row but no guest rows")]
    /// The file has a header and no rows.
    HeaderOnly(String),
    #[error("{name}: {error}")]
    /// The header cannot be mapped to guest fields.
    Header {
        /// The file.
        name: String,
        /// What is wrong with its header.
        error: HeaderError,
    },
    #[error("{0} does not look like a spreadsheet: it holds binary data (save it as CSV, or as .xlsx, .xls or .ods)")]
    /// The file is binary, not a spreadsheet.
    Binary(String),
    #[error("{name} {reason}")]
    /// The workbook cannot be read, and why.
    Workbook {
        /// The file.
        name: String,
        /// Why it cannot be read.
        reason: String,
    },
    #[error("{0} is not a results file of this tool: it has no result_row and result_status columns")]
    /// `--retry-from` was given a file that is not a results file.
    NotResults(String),
}
