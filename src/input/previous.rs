//! `--retry-from`: a results file read as input. Its `result_*` columns are the previous run's
//! account of each row and come off every record; the rest are the original columns, so the
//! file is itself a guest file. Cells arrive here already decoded (the formula guard off), so
//! a copied row is written back exactly as it was.

use super::Cells;

/// Where the result columns are in a results file's header.
#[derive(Debug, Clone)]
pub struct PreviousColumns {
    positions: Vec<Option<usize>>,
}

impl PreviousColumns {
    /// Finds the result columns (`names`, as the results writer names them: the row number and
    /// the status first) and returns the header without them; `None` when the file has neither
    /// of the first two (it is not a results file).
    pub fn find(header: &[String], names: &[&str]) -> Option<(PreviousColumns, Vec<String>)> {
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
        Some((PreviousColumns { positions }, original))
    }

    /// Splits a record's cells into the original cells and the previous result (in the order
    /// of the names).
    pub fn split(&self, cells: Cells) -> (Cells, Vec<String>) {
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

/// Why an earlier results file is not a whole account of its run, if it is not: a finished
/// run's file ends with a whole row and is in input order (`result_row` ascending); a run killed
/// mid-write leaves a torn last row, and one killed with rows in flight leaves them out of order
/// with gaps. `--retry-from` trusts only a whole file: the rows missing from a partial one would
/// silently never be re-run.
/// `row_column` names the column holding each row's number (`result_row`).
pub fn incomplete(path: &std::path::Path, row_column: &str) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        return Some("its last row is cut off (the run that wrote it stopped mid-write)".into());
    }
    // Results files use their input's delimiter: the header line says which.
    let header_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t', b'|']
        .into_iter()
        .max_by_key(|&d| header_line.iter().filter(|&&b| b == d).count())
        .unwrap_or(b',');
    let bytes = bytes.strip_prefix(crate::output::UTF8_BOM).unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let header = reader.headers().ok()?.clone();
    let at = header.iter().position(|column| column.trim() == row_column)?;
    let mut rows = Vec::new();
    let mut in_order = true;
    for record in reader.records() {
        let Ok(record) = record else {
            return Some("a row cannot be read (the file was cut or changed by hand)".into());
        };
        let Some(row) = record.get(at).and_then(|cell| cell.trim().parse::<u64>().ok()) else {
            continue;
        };
        in_order &= rows.last().is_none_or(|&last| row > last);
        rows.push(row);
    }
    if in_order {
        return None;
    }
    rows.sort_unstable();
    rows.dedup();
    let gaps: Vec<String> = rows
        .windows(2)
        .filter(|pair| pair[1] > pair[0] + 1)
        .take(5)
        .map(|pair| match (pair[0] + 1, pair[1] - 1) {
            (first, last) if first == last => format!("{first}"),
            (first, last) => format!("{first} to {last}"),
        })
        .collect();
    Some(if gaps.is_empty() {
        "its rows are out of order, so the run that wrote it did not finish".into()
    } else {
        format!(
            "its rows are out of order and rows {} have no result, so the run that wrote it did not finish",
            gaps.join(", ")
        )
    })
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

    #[test]
    fn a_torn_or_unfinished_results_file_is_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let file = |text: &str| {
            let path = dir.path().join("r.csv");
            std::fs::write(&path, text).unwrap();
            incomplete(&path, "result_row")
        };
        assert_eq!(
            file("result_row,result_status,email\n2,created,a@x.com\n3,failed,b@x.com\n"),
            None
        );
        assert!(
            file("result_row,result_status,email\n2,created,a@x.com\n3,fai")
                .unwrap()
                .contains("cut off")
        );
        let why = file("result_row,result_status,email\n2,created,a\n5,created,d\n3,created,b\n9,created,e\n").unwrap();
        assert!(why.contains("rows 4, 6 to 8 have no result"), "{why}");
    }
}
