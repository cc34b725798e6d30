//! `--retry-from`: a results file read as input. Its `result_*` columns are the previous run's
//! account of each row and come off every record; the rest are the original columns, so the
//! file is itself a guest file. Cells arrive here already decoded (the formula guard off), so
//! a copied row is written back exactly as it was.

use super::Cells;

/// Where the result columns are in a results file's header.
#[derive(Debug, Clone)]
pub(super) struct PreviousColumns {
    names: Vec<String>,
    positions: Vec<Option<usize>>,
}

impl PreviousColumns {
    /// Whether the header has the result column `name`.
    pub(super) fn has(&self, name: &str) -> bool {
        self.names
            .iter()
            .zip(&self.positions)
            .any(|(known, at)| known == name && at.is_some())
    }

    /// Finds the result columns (`names`, as the results writer names them: the row number and
    /// the status first) and returns the header without them; `None` when the file has neither
    /// of the first two (it is not a results file).
    pub(super) fn find(header: &[String], names: &[&str]) -> Option<(PreviousColumns, Vec<String>)> {
        let positions: Vec<Option<usize>> = names
            .iter()
            .map(|name| header.iter().position(|column| column.trim() == *name))
            .collect();
        positions.first().copied().flatten()?;
        positions.get(1).copied().flatten()?;
        let original = header
            .iter()
            .enumerate()
            .filter(|(i, _)| !positions.contains(&Some(*i)))
            .map(|(_, column)| column.clone())
            .collect();
        let names = names.iter().map(|name| name.to_string()).collect();
        Some((PreviousColumns { names, positions }, original))
    }

    /// Whether a row is a results file's trailer, `cell(i)` giving its cell in column `i`.
    pub(super) fn trailer_at(&self, cell: impl Fn(usize) -> String) -> bool {
        let at = |k: usize| self.positions.get(k).copied().flatten().map(&cell).unwrap_or_default();
        is_trailer(&[at(0), at(1)])
    }

    /// Splits a record's cells into the original cells and the previous result (in the order
    /// of the names).
    pub(super) fn split(&self, cells: Cells) -> (Cells, Vec<String>) {
        let previous = self
            .positions
            .iter()
            .map(|at| at.and_then(|i| cells.get(i)).unwrap_or_default().to_string())
            .collect();
        let original = cells
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.positions.contains(&Some(*i)))
            .map(|(_, cell)| cell)
            .collect();
        (original, previous)
    }
}

/// Whether a record's result cells (in `RESULT_COLUMNS` order: the row, then the status) are a
/// results file's trailer: `end`, `end_of_results`.
pub fn is_trailer(previous: &[String]) -> bool {
    matches!(previous, [row, status, ..] if row.trim() == "end" && status.trim() == "end_of_results")
}

/// Whether the file's last line is a trailer record (read from its last few KiB only: a
/// trailer is short), in UTF-8 or as Excel saves it (quoted cells).
pub(super) fn ends_with_trailer(path: &std::path::Path, delimiter: u8) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let length = file.metadata().map_or(0, |m| m.len());
    let mut tail = Vec::new();
    if file.seek(SeekFrom::Start(length.saturating_sub(64 * 1024))).is_err() || file.read_to_end(&mut tail).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&tail);
    let Some(last) = text.lines().rev().find(|line| !line.trim().is_empty()) else {
        return false;
    };
    let cells: Vec<String> = last
        .split(delimiter as char)
        .take(2)
        .map(|cell| cell.trim().trim_matches('"').to_string())
        .collect();
    is_trailer(&cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn result_columns_come_off() {
        let names = [
            "result_row",
            "result_status",
            "result_guest_id",
            "result_http_status",
            "result_attempts",
            "result_message",
        ];
        let header = strings(&["result_row", "result_status", "result_message", "Email", "Notes"]);
        let (columns, original) = PreviousColumns::find(&header, &names).unwrap();
        assert_eq!(original, ["Email", "Notes"]);
        let cells = Cells::from(strings(&["7", "failed", "=boom", "a@x.com", "+44"]));
        let (cells, previous) = columns.split(cells);
        assert_eq!(previous, ["7", "failed", "", "", "", "=boom"]);
        assert_eq!(cells, ["a@x.com", "+44"]);
        assert!(PreviousColumns::find(&strings(&["email", "result_status"]), &names).is_none());
    }
}
