//! What kind of file a guest file turned out to be (text in an encoding and delimiter, or a
//! workbook's sheet), for the log and the summary.

use std::fmt;

use super::decode::Detected;

/// What kind of file it turned out to be, for the log and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Delimited text: its encoding and delimiter.
    Text {
        /// The encoding, and why.
        encoding: Detected,
        /// The delimiter.
        delimiter: u8,
    },
    /// A workbook: the sheet read.
    Workbook {
        /// The sheet read.
        sheet: String,
    },
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Text { encoding, delimiter } => {
                let delimiter = match delimiter {
                    b'\t' => "tab".to_string(),
                    other => format!("`{}`", *other as char),
                };
                write!(f, "text in {encoding}, delimited by {delimiter}")
            }
            Format::Workbook { sheet } => write!(f, "workbook, sheet `{sheet}`"),
        }
    }
}
