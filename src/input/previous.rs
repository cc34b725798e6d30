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

/// Whether an earlier results file is a whole account of its run: `Ok(complete)` when it ends
/// with the trailer record that only a run which read its whole input and gave every row its
/// result writes, and holds as many rows as the trailer counts (`complete` is false when that
/// input was cut on purpose by `--limit`); else why not, in words. The file is read as CSV, so
/// the same file saved by Excel (CRLF, a byte order mark, quotes changed) is still whole, and a
/// file that ends inside an open quote is not (the quote swallows the trailer).
/// `row_column` names the column holding each row's number (`result_row`).
pub fn incomplete(path: &std::path::Path, row_column: &str, status_column: &str) -> Result<bool, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("it cannot be read ({})", crate::words::io_words(&e)))?;
    // The tool's own .xlsx results: their Results sheet holds the same rows and trailer.
    let bytes = if super::workbook::looks_like_workbook(&bytes) {
        results_sheet_as_csv(bytes)?
    } else {
        bytes
    };
    let bytes = bytes.strip_prefix(crate::output::UTF8_BOM).unwrap_or(&bytes);
    // Results files use their input's delimiter: the header line says which.
    let header_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t', b'|']
        .into_iter()
        .max_by_key(|&d| header_line.iter().filter(|&&b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|_| "its header cannot be read".to_string())?
        .clone();
    let column = |name: &str| header.iter().position(|column| column.trim() == name);
    let (Some(at), Some(status_at)) = (column(row_column), column(status_column)) else {
        return Err(format!("it has no {row_column} and {status_column} columns"));
    };
    let mut rows = Vec::new();
    let mut in_order = true;
    let mut trailer: Option<(String, usize)> = None;
    // The latest start and answer any row records: a run's trailer is written after all of its
    // rows (and after those it copied from earlier runs), on a server clock that only moves on.
    let times = ["result_run_started", "result_at"].map(column);
    let mut latest: [Option<std::time::SystemTime>; 2] = [None, None];
    for record in reader.records() {
        let Ok(record) = record else {
            return Err("a row cannot be read (the file was cut or changed by hand)".into());
        };
        let cell = |i: usize| record.get(i).unwrap_or_default().trim().to_string();
        if trailer.is_some() {
            return Err("rows follow its end_of_results record (files joined or changed by hand)".into());
        }
        if is_trailer(&[cell(at), cell(status_at)]) {
            let message = header
                .iter()
                .position(|column| column.trim() == "result_message")
                .map(cell)
                .unwrap_or_default();
            trailer = Some((message, rows.len()));
            for (at, latest) in times.iter().zip(&latest) {
                let written = at.map(cell).as_deref().and_then(crate::api::clock::parse_time);
                if let (Some(written), Some(latest)) = (written, latest)
                    && latest > &written
                {
                    return Err(
                        "its end_of_results record is older than its rows (a trailer copied from another run's file)"
                            .into(),
                    );
                }
            }
            continue;
        }
        for (at, latest) in times.iter().zip(latest.iter_mut()) {
            if let Some(time) = at.map(cell).as_deref().and_then(crate::api::clock::parse_time) {
                *latest = Some(latest.map_or(time, |latest| latest.max(time)));
            }
        }
        let Ok(row) = cell(at).parse::<u64>() else {
            rows.push(0);
            continue;
        };
        in_order &= rows.last().is_none_or(|&last| row > last);
        rows.push(row);
    }
    if let Some((message, count)) = trailer {
        let counted = rows_counted(&message);
        if counted.is_some_and(|counted| counted != count as u64) {
            return Err(format!(
                "its end_of_results record counts {} rows but it holds {count} (rows were removed or added)",
                counted.unwrap_or_default()
            ));
        }
        // A row pasted over another (a spreadsheet's copy and paste, a fill-down) keeps the
        // count but names one row twice and loses the other: the lost row's guest would look
        // missing to the mirror.
        let mut numbers: Vec<u64> = rows.iter().copied().filter(|&row| row > 0).collect();
        numbers.sort_unstable();
        if let Some(pair) = numbers.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(format!(
                "row {} appears more than once (rows were copied over others or changed by hand)",
                pair[0]
            ));
        }
        return Ok(!message.contains("--limit"));
    }
    let unfinished = "it has no end_of_results record, so the run that wrote it did not finish (it was killed or stopped), or the file was cut";
    if in_order {
        return Err(unfinished.into());
    }
    rows.sort_unstable();
    rows.dedup();
    let gaps: Vec<String> = rows
        .windows(2)
        .filter(|pair| pair[0] > 0 && pair[1] > pair[0] + 1)
        .take(5)
        .map(|pair| match (pair[0] + 1, pair[1] - 1) {
            (first, last) if first == last => format!("{first}"),
            (first, last) => format!("{first} to {last}"),
        })
        .collect();
    Err(if gaps.is_empty() {
        format!("{unfinished}; its rows are out of order")
    } else {
        format!("{unfinished}; rows {} have no result", gaps.join(", "))
    })
}

/// The Results sheet of the tool's own .xlsx results, as CSV text, so that the same checks
/// read it (a workbook that opens and ends with its trailer row is whole). Read through the
/// workbook input's own guards (zip size, cells, text).
fn results_sheet_as_csv(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let sheet = super::workbook::read(bytes, Some("Results"), &[])
        .map_err(|why| format!("it is a workbook that {why} (the tool's .xlsx results have a Results sheet)"))?;
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for row in sheet.rows {
        writer
            .write_record(row.expand(0))
            .map_err(|e| format!("its Results sheet cannot be read ({e})"))?;
    }
    writer
        .into_inner()
        .map_err(|e| format!("its Results sheet cannot be read ({e})"))
}

/// The number of rows a trailer's message counts ("... each of its 2650 rows ...").
fn rows_counted(message: &str) -> Option<u64> {
    let before = &message[..message.find(" rows")?];
    let digits = before.rsplit(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
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
    fn only_a_file_that_ends_with_its_trailer_is_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = |text: &str| {
            let path = dir.path().join("r.csv");
            std::fs::write(&path, text).unwrap();
            incomplete(&path, "result_row", "result_status")
        };
        let header = "result_row,result_status,result_message,email\n";
        let end = "end,end_of_results,the run finished at 2025-01-01T00:00:00Z with a result for each of its 2 rows: the whole input,\n";
        assert_eq!(
            file(&format!("{header}2,created,,a@x.com\n3,failed,,b@x.com\n{end}")),
            Ok(true)
        );
        let limited = end.replace("the whole input", "the input was cut on purpose by --limit 2");
        assert_eq!(
            file(&format!("{header}2,created,,a\n3,failed,,b\n{limited}")),
            Ok(false)
        );
        // As Excel saves it: a byte order mark, CRLF, every cell quoted.
        let excel = format!("\u{feff}{header}2,created,,a@x.com\n3,failed,,b@x.com\n{end}")
            .lines()
            .map(|line| {
                line.split(',')
                    .map(|cell| format!("\"{cell}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join("\r\n");
        assert_eq!(file(&excel.replacen("\"\u{feff}", "\u{feff}\"", 1)), Ok(true));
        let torn = file(&format!("{header}2,created,,a@x.com\n3,fai")).unwrap_err();
        assert!(torn.contains("no end_of_results"), "{torn}");
        let open_quote = file(&format!("{header}2,created,\"oops,a@x.com\n3,failed,,b@x.com\n{end}")).unwrap_err();
        assert!(open_quote.contains("no end_of_results"), "{open_quote}");
        let pasted = file(&format!("{header}2,created,,a@x.com\n2,created,,a@x.com\n{end}")).unwrap_err();
        assert!(pasted.contains("row 2 appears more than once"), "{pasted}");
        let cut = file(&format!("{header}2,created,,a@x.com\n{end}")).unwrap_err();
        assert!(cut.contains("counts 2 rows but it holds 1"), "{cut}");
        let why = file(&format!(
            "{header}2,created,,a\n5,created,,d\n3,created,,b\n9,created,,e\n"
        ))
        .unwrap_err();
        assert!(why.contains("rows 4, 6 to 8 have no result"), "{why}");
    }
}
