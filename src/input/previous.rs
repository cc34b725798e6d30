//! `--retry-from`: a results file read as input. Its `result_*` columns are the previous run's
//! account of each row and come off every record; the rest are the original columns, so the
//! file is itself a guest file. Cells arrive here already decoded (the formula guard off), so
//! a copied row is written back exactly as it was.

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

    /// Takes the previous result (in `RESULT_COLUMNS` order) out of a record's cells, leaving
    /// the original cells.
    pub fn split(&self, cells: &mut Vec<String>) -> Vec<String> {
        let previous = self
            .positions
            .iter()
            .map(|at| {
                at.and_then(|i| cells.get_mut(i))
                    .map(std::mem::take)
                    .unwrap_or_default()
            })
            .collect();
        let mut index = 0;
        cells.retain(|_| {
            index += 1;
            !self.positions.contains(&Some(index - 1))
        });
        previous
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn result_columns_come_off() {
        let header = strings(&["result_row", "result_status", "result_message", "Email", "Notes"]);
        let (columns, original) = PreviousColumns::find(&header).unwrap();
        assert_eq!(original, ["Email", "Notes"]);
        let mut cells = strings(&["7", "failed", "=boom", "a@x.com", "+44"]);
        let previous = columns.split(&mut cells);
        assert_eq!(previous, ["7", "failed", "", "", "", "=boom"]);
        assert_eq!(cells, ["a@x.com", "+44"]);
        assert!(PreviousColumns::find(&strings(&["email", "result_status"])).is_none());
    }
}
