//! How to read a guest file beyond what can be detected (the flags' `--encoding`, `--sheet`,
//! `--map`, …), and the cells fixed on the page put over it.

use encoding_rs::Encoding;

use super::header::Target;

/// How to read the file, beyond what can be detected.
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    /// `--encoding`, when detection gets it wrong.
    pub encoding: Option<&'static Encoding>,
    /// `--delimiter`, when sniffing gets it wrong.
    pub delimiter: Option<u8>,
    /// `--map` column assignments.
    pub map: Vec<(String, Target)>,
    /// `--sheet` of a workbook.
    pub sheet: Option<String>,
    /// The file is a results file of an earlier run (`--retry-from`).
    pub previous_results: bool,
    /// `--header-row`: the header's row number; otherwise it is found among the first rows.
    pub header_row: Option<u64>,
    /// `--limit`: read only this many data rows.
    pub limit: Option<u64>,
    /// The columns a results file of this tool puts in front of the input's own (the results
    /// writer's), so that they can be told from the input's own columns.
    pub result_columns: &'static [&'static str],
    /// The input is a stream (stdin, a pipe, a FIFO): rows may trickle in, so less is read
    /// ahead to detect the format. Set by [`Input::open`].
    pub stream: bool,
    /// Cells fixed on the page (`ui`), put over the file's own as its records are read: the
    /// person's file is never modified, and row numbers stay the sheet's.
    pub edits: Vec<CellEdit>,
    /// Rows left out on the page (their sheet's row numbers): not read, as if the person had
    /// deleted them from the file, while the other rows keep their numbers.
    pub skip: Vec<u64>,
}

/// One fixed cell: the value read instead of the file's at the sheet's row `row` (as results
/// number it) and the header's column `column` (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellEdit {
    /// The sheet's row number.
    pub row: u64,
    /// The column's position in the header.
    pub column: usize,
    /// The value to read.
    pub value: String,
}
