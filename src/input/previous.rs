//! `--retry-from`: a results file read as input. Its `result_*` columns are the previous run's
//! account of each row and come off every record; the rest are the original columns, so the
//! file is itself a guest file. Our results are written with formula protection, which is
//! undone here so that a copied row is written back exactly as it was.

use crate::output::unneutralize;

/// The columns a results file puts in front of the input's own.
pub const RESULT_COLUMNS: [&str; 6] = [
    "result_row",
    "result_status",
    "result_guest_id",
    "result_http_status",
    "result_attempts",
    "result_message",
];

/// Where the `result_*` columns are in a results file's header.
#[derive(Debug, Clone)]
pub struct PreviousColumns {
    positions: [Option<usize>; 6],
}

impl PreviousColumns {
    /// Finds the result columns and returns the header without them; `None` when the file has
    /// no `result_status` or `result_row` column (it is not a results file).
    pub fn find(header: &[String]) -> Option<(PreviousColumns, Vec<String>)> {
        let positions = RESULT_COLUMNS.map(|name| header.iter().position(|column| column.trim() == name));
        positions[0]?;
        positions[1]?;
        let original = header
            .iter()
            .enumerate()
            .filter(|(i, _)| !positions.contains(&Some(*i)))
            .map(|(_, column)| column.clone())
            .collect();
        Some((PreviousColumns { positions }, original))
    }

    /// Splits a record's cells into the previous result (in `RESULT_COLUMNS` order) and the
    /// original cells.
    pub fn split(&self, cells: Vec<String>) -> (Vec<String>, Vec<String>) {
        let previous = self
            .positions
            .iter()
            .map(|at| {
                at.and_then(|i| cells.get(i))
                    .map_or(String::new(), |c| unneutralize(c).to_string())
            })
            .collect();
        let original = cells
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !self.positions.contains(&Some(*i)))
            .map(|(_, cell)| unneutralize(&cell).to_string())
            .collect();
        (previous, original)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn result_columns_come_off_and_protected_cells_are_restored() {
        let header = strings(&["result_row", "result_status", "result_message", "Email", "Notes"]);
        let (columns, original) = PreviousColumns::find(&header).unwrap();
        assert_eq!(original, ["Email", "Notes"]);
        let (previous, cells) = columns.split(strings(&["7", "failed", "'=boom", "a@x.com", "'+44"]));
        assert_eq!(previous, ["7", "failed", "", "", "", "=boom"]);
        assert_eq!(cells, ["a@x.com", "+44"]);
        assert!(PreviousColumns::find(&strings(&["email", "result_status"])).is_none());
    }
}
