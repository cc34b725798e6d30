//! The data rows an opened guest file hands over, whichever kind it is: text records read as
//! they are needed, or a sheet's rows read whole (each only its non-empty cells).

use std::io::{BufReader, Read};

use super::records::RecordReader;

/// The rows after the header: a text file's, or a sheet's.
pub(super) enum Records {
    Text(Box<RecordReader<BufReader<Box<dyn Read + Send>>>>),
    Sheet(std::vec::IntoIter<SheetRow>),
}

/// Excel's column limit (XFD); no row is ever wider.
pub(super) const MAX_COLUMNS: usize = 16_384;

/// A row of a sheet as it is stored: its non-empty cells only, by column. A sheet is held this
/// way, so a workbook whose cells sit far apart (`A1` and `XFD1048576`) costs two cells, not the
/// seventeen billion between them.
#[derive(Debug, Default)]
pub(super) struct SheetRow {
    /// The row number in the sheet (1-based).
    pub row: u64,
    pub cells: Vec<(u32, String)>,
    /// Cells cut at `CELL_CAP`, by column (0-based).
    pub cut: Vec<u32>,
}

impl SheetRow {
    /// The cells as a row of `width` at least, empty cells filled in; no wider than
    /// `MAX_COLUMNS` (Excel's own limit), whatever the file says.
    pub(super) fn expand(self, width: usize) -> Vec<String> {
        let last = self.cells.last().map_or(0, |(col, _)| *col as usize + 1);
        let mut row = vec![String::new(); last.max(width).min(MAX_COLUMNS)];
        for (col, text) in self.cells {
            if let Some(slot) = row.get_mut(col as usize) {
                *slot = text;
            }
        }
        row
    }
}
