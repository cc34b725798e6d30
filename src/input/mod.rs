//! Input: a guest file as people really have it (CSV or TSV in any common encoding and
//! delimiter, or an Excel/OpenDocument workbook) → numbered records with a header mapping. A
//! malformed record is still a record, with its problem, so every row gets a result; only a file
//! that cannot be read at all is an error.

mod aliases;
mod cells;
mod decode;
mod detect;
mod error;
mod field;
mod format;
mod header;
mod hints;
mod options;
mod previous;
mod records;
mod rows;
mod sniff;
mod text;
mod verified;
mod whole;
mod workbook;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::files::output::unneutralize;
pub use cells::Cells;
pub use decode::{Detected, parse_label as parse_encoding};
use detect::find_header;
pub use encoding_rs::Encoding;
pub use error::InputError;
pub use field::Field;
pub use format::Format;
pub use header::{FieldMap, HeaderError, Target, map_header, normalize as normalize_header, parse_mapping};
pub use hints::Hint;
pub use options::{CellEdit, InputOptions};
use previous::PreviousColumns;
pub use previous::is_trailer;
use records::{CELL_CAP, wrong_width};
use rows::Records;
pub use text::{count_records, estimate_lines};
use text::{open_text, text_cells};
pub use verified::incomplete as incomplete_results;
pub use verified::{ResultsFormat, Verified, verify as verify_results};
pub use whole::ResultOf;
pub use workbook::MAX_WORKBOOK;

/// Where the guests come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `-`: standard input.
    Stdin,
    /// A file (or a FIFO, device or link) at this path.
    File(PathBuf),
}

impl Source {
    /// `-` is stdin.
    pub fn from_arg(arg: &Path) -> Source {
        if arg.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::File(arg.to_path_buf())
        }
    }

    /// The path, when it is a regular file (or a link to one): a file that can be read twice,
    /// to count or hash it. A pipe, FIFO or device can be read only once.
    pub fn regular_file(&self) -> Option<&Path> {
        match self {
            Source::File(path) if std::fs::metadata(path).is_ok_and(|meta| meta.is_file()) => Some(path),
            _ => None,
        }
    }

    /// The argument it was given as: its path, or `-` for stdin.
    pub fn arg(&self) -> &Path {
        match self {
            Source::Stdin => Path::new("-"),
            Source::File(path) => path,
        }
    }

    /// How the source is named in messages.
    pub fn display(&self) -> String {
        match self {
            Source::Stdin => "stdin".into(),
            Source::File(path) => path.display().to_string(),
        }
    }
}

impl InputRecord {
    /// Roughly what the record holds in memory, to bound what waits between threads.
    pub fn memory(&self) -> usize {
        let previous = self.previous.iter().map(|c| c.len() + 24).sum::<usize>();
        let cells = self.cells.text_len() + 4 * self.cells.len();
        128 + cells + previous + self.problem.as_ref().map_or(0, String::len)
    }
}

/// One data record. `row` is its spreadsheet row number: in a text file the header is row 1
/// and records (not lines: a quoted cell may span lines) are counted from 2; in a workbook it
/// is the sheet's own row number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord {
    /// 0-based position among the records.
    pub index: u64,
    /// The record's spreadsheet row number.
    pub row: u64,
    /// The record's cells, decoded (the formula guard off).
    pub cells: Cells,
    /// With `--retry-from`: the earlier run's result cells, in `InputOptions::result_columns`
    /// order.
    pub previous: Vec<String>,
    /// Why the record itself is malformed (cell count, cut cells, bytes that are not text).
    pub problem: Option<String>,
}

/// An open guest file: its header, mapping and format, and an iterator over its records.
pub struct Input {
    /// How the source is named in messages.
    pub name: String,
    /// The header's column names (without result columns).
    pub header: Vec<String>,
    /// Which columns hold which guest fields.
    pub map: FieldMap,
    /// Columns that are not imported; they are carried into the results file.
    pub other_columns: Vec<String>,
    /// Those of them that look like a guest field, each with the `--map` that would take it.
    pub hints: Vec<Hint>,
    /// How the file was read.
    pub format: Format,
    /// Read from a pipe, FIFO or stdin: rows may arrive slowly, and there is no second reading.
    pub stream: bool,
    /// The file's SHA-256 when set-up has already read it whole (a results file, verified in
    /// one pass), so that nothing reads it again to hash it.
    pub sha256: Option<String>,
    /// Cells a record should have: the header's, result columns included.
    width: usize,
    /// Where the `result_*` columns are, in a results file of this tool.
    previous: Option<PreviousColumns>,
    /// Hand those columns to the caller (`--retry-from`); otherwise they are dropped, so a
    /// results file read as plain input gets one new set of them, never two.
    keep_previous: bool,
    records: Records,
    peeked: Option<InputRecord>,
    next_index: u64,
    done: bool,
    /// A read error ended the records before the end of the file, or the file ended inside a
    /// quoted cell (a cut file, or a writer that died mid-row): either way the rows read are not
    /// the whole input.
    read_failed: bool,
    /// Rows above the header (title rows), which text row numbers count.
    skipped: u64,
    /// `--limit`: data rows to read at most.
    limit: Option<u64>,
    /// Cells fixed on the page, by row.
    edits: std::collections::HashMap<u64, Vec<(usize, String)>>,
    /// Rows left out on the page, by row.
    skip: std::collections::HashSet<u64>,
}

impl Input {
    /// Opens `source` and reads its header and first record.
    pub fn open(source: &Source, options: &InputOptions) -> Result<Input, InputError> {
        let name = source.display();
        let reader: Box<dyn Read + Send> = match source {
            Source::Stdin => Box::new(io::stdin()),
            Source::File(path) => {
                let file = File::open(path).map_err(|error| InputError::Unreadable {
                    name: name.clone(),
                    error,
                })?;
                Box::new(file)
            }
        };
        let stream = source.regular_file().is_none();
        let options = InputOptions {
            stream,
            ..options.clone()
        };
        let mut input = Input::from_reader(reader, name, &options)?;
        input.stream = stream;
        Ok(input)
    }

    /// Reads the header and the first record, so that a file with nothing to import is an error
    /// before anything is sent.
    pub fn from_reader(
        mut reader: Box<dyn Read + Send>,
        name: String,
        options: &InputOptions,
    ) -> Result<Input, InputError> {
        let unreadable = |error: io::Error| InputError::Unreadable {
            name: name.clone(),
            error,
        };
        let mut start = Vec::new();
        (&mut reader).take(8).read_to_end(&mut start).map_err(unreadable)?;
        let reader: Box<dyn Read + Send> = Box::new(io::Cursor::new(start.clone()).chain(reader));
        if start.is_empty() {
            return Err(InputError::Empty(name));
        }
        let (header, mut records, format, first_at) = if workbook::looks_like_workbook(&start) {
            workbook::open(reader, &name, options)?
        } else {
            open_text(reader, &name, options)?
        };
        let (header, skipped, header_at) =
            find_header(header, first_at, &mut records, options).map_err(|error| InputError::Header {
                name: name.clone(),
                error,
            })?;
        if skipped > 0 {
            let rows = if skipped == 1 { "row" } else { "rows" };
            tracing::info!("{name}: the header is row {header_at}; the {skipped} {rows} above it are ignored");
        }
        let width = header.len();
        let (header, previous) = match PreviousColumns::find(&header, options.result_columns) {
            Some((columns, original)) => {
                if !options.previous_results {
                    tracing::info!(
                        "{name} is a results file of this tool: its result_* columns are replaced by this run's"
                    );
                }
                (original, Some(columns))
            }
            None if options.previous_results => return Err(InputError::NotResults(name.clone())),
            None => (header, None),
        };
        let (map, other_columns) = map_header(&header, &options.map).map_err(|error| InputError::Header {
            name: name.clone(),
            error,
        })?;
        let hints = hints::unmapped(&header, &map);
        let mut input = Input {
            name,
            header,
            map,
            other_columns,
            hints,
            format,
            stream: false,
            sha256: None,
            width,
            previous,
            keep_previous: options.previous_results,
            records,
            peeked: None,
            next_index: 0,
            done: false,
            read_failed: false,
            skipped,
            limit: options.limit,
            edits: options.edits.iter().fold(Default::default(), |mut edits, edit| {
                let cells: &mut Vec<(usize, String)> = edits.entry(edit.row).or_default();
                cells.push((edit.column, edit.value.clone()));
                edits
            }),
            skip: options.skip.iter().copied().collect(),
        };
        input.peeked = input.read();
        if input.peeked.is_none() {
            return Err(InputError::HeaderOnly(input.name));
        }
        Ok(input)
    }

    /// Rows left to read, when it is known without reading them (a workbook).
    pub fn known_rows(&self) -> Option<u64> {
        let rows = match &self.records {
            Records::Sheet(rows) => {
                // The .xlsx results' trailer row is not a row to import.
                let trailer = self
                    .previous
                    .as_ref()
                    .zip(rows.as_slice().last())
                    .is_some_and(|(columns, last)| {
                        columns.trailer_at(|i| {
                            let cell = last.cells.iter().find(|(col, _)| *col as usize == i);
                            cell.map(|(_, text)| text.clone()).unwrap_or_default()
                        })
                    });
                Some(rows.len() as u64 + u64::from(self.peeked.is_some()) - u64::from(trailer))
            }
            Records::Text(_) => None,
        };
        rows.map(|rows| self.limit.map_or(rows, |limit| rows.min(limit)))
    }

    /// Data rows of this input's file at `path`, counted by reading it again in the same
    /// encoding and delimiter (the header and any title rows above it are not rows); `None` for
    /// a workbook, or when the file cannot be read again.
    pub fn count_rows(&self, path: &Path) -> Option<u64> {
        let Format::Text { encoding, delimiter } = &self.format else {
            return None;
        };
        let records = count_records(path, encoding.encoding, *delimiter).ok()?;
        // A results file's trailer is not a row.
        let trailer = u64::from(self.previous.is_some() && previous::ends_with_trailer(path, *delimiter));
        Some(records.saturating_sub(1 + self.skipped + trailer))
    }

    /// How a results file for this input should look: its delimiter, and a byte order mark when
    /// it had one or was not UTF-8 (`--excel` forces the mark and CRLF). A workbook gets `,` with the mark and CRLF.
    pub fn results_style(&self, excel: bool) -> crate::files::output::CsvStyle {
        match &self.format {
            Format::Text { encoding, delimiter } => crate::files::output::CsvStyle::like_input(
                *delimiter,
                encoding.reason == decode::Reason::Bom,
                encoding.encoding == encoding_rs::UTF_8,
                excel,
            ),
            // A workbook's rows go back to Excel: with the byte order mark (and CRLF) that make
            // Excel read UTF-8 (`Müller`, not `MÃ¼ller`), as `--excel` gives a CSV input.
            Format::Workbook { .. } => crate::files::output::CsvStyle::new(true),
        }
    }

    /// Whether this results file's header has the result column `name` (one of
    /// `InputOptions::result_columns`).
    pub fn has_result_column(&self, name: &str) -> bool {
        self.previous.as_ref().is_some_and(|columns| columns.has(name))
    }

    /// `--limit`, if any.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// Whether the records ended at the end of the file (not at a read error, nor inside an
    /// unclosed quote).
    pub fn read_to_end(&self) -> bool {
        !self.read_failed
    }

    /// The next record; a results file's trailer (`result_row` = `end`) is not a record, and
    /// is passed over wherever a results file is read (`--retry-from`, plain input, undo).
    fn read(&mut self) -> Option<InputRecord> {
        loop {
            let record = self.read_one()?;
            if self.previous.is_some() && previous::is_trailer(&record.previous_cells) {
                self.next_index -= 1;
                continue;
            }
            let mut record = record;
            // A results file keeps the row numbers of the first run's spreadsheet, through
            // any number of rounds (as `--retry-from` and as plain input), so that messages
            // ("duplicate of row 3") and a person's notes still point at the same rows.
            if let Some(row) = record.previous_cells.first().and_then(|cell| cell.trim().parse().ok()) {
                record.row = row;
            }
            if self.skip.contains(&record.row) {
                continue;
            }
            if !self.keep_previous {
                record.previous_cells.clear();
            }
            if let Some(edits) = self.edits.get(&record.row) {
                record.cells = record
                    .cells
                    .iter()
                    .enumerate()
                    .map(|(column, cell)| match edits.iter().find(|(at, _)| *at == column) {
                        Some((_, value)) => value.as_str(),
                        None => cell,
                    })
                    .collect();
            }
            return Some(record.into_record());
        }
    }

    fn read_one(&mut self) -> Option<Unsplit> {
        if self.done || self.limit.is_some_and(|limit| self.next_index >= limit) {
            return None;
        }
        let index = self.next_index;
        let expected = self.width;
        let (row, cells, problem) = match &mut self.records {
            Records::Sheet(rows) => {
                let sheet_row = rows.next()?;
                let row = sheet_row.row;
                let cut: Vec<String> = sheet_row
                    .cut
                    .iter()
                    .map(|col| format!("cell {} is longer than {} KiB and was cut", col + 1, CELL_CAP / 1024))
                    .collect();
                // Filled out to the header's width; cells past it are extra cells. Decoded
                // once, here, as text cells are (the formula guard off).
                let cells: Cells = sheet_row.expand(expected).iter().map(|c| unneutralize(c)).collect();
                let mut problems = cut;
                if cells.len() != expected {
                    problems.push(wrong_width(cells.len(), expected));
                }
                (row, cells, (!problems.is_empty()).then(|| problems.join("; ")))
            }
            Records::Text(reader) => match reader.next_record() {
                Ok(Some(raw)) => {
                    // Only the last record can end inside quotes: what it swallowed is unread.
                    self.read_failed |= raw.unclosed_quote;
                    let (cells, problem) = text_cells(raw, expected);
                    (index + 2 + self.skipped, cells, problem)
                }
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    // Nothing after a read error can be trusted; this row says where it stopped.
                    self.done = true;
                    self.read_failed = true;
                    (
                        index + 2,
                        Cells::default(),
                        Some(format!(
                            "the file could not be read past this row: {}",
                            crate::words::io_words(&e)
                        )),
                    )
                }
            },
        };
        self.next_index += 1;
        // The cells arrive decoded: every value downstream (validation, dedupe, the results
        // file's copy of the row) is the value itself, and the results writer guards it again.
        let (cells, previous_cells) = match &self.previous {
            Some(columns) => columns.split(cells),
            None => (cells, Vec::new()),
        };
        Some(Unsplit {
            index,
            row,
            cells,
            previous_cells,
            problem,
        })
    }
}

/// A record with its result cells still attached, before the trailer is told apart.
struct Unsplit {
    index: u64,
    row: u64,
    cells: Cells,
    previous_cells: Vec<String>,
    problem: Option<String>,
}

impl Unsplit {
    fn into_record(self) -> InputRecord {
        InputRecord {
            index: self.index,
            row: self.row,
            cells: self.cells,
            previous: self.previous_cells,
            problem: self.problem,
        }
    }
}

impl Iterator for Input {
    type Item = InputRecord;

    fn next(&mut self) -> Option<InputRecord> {
        self.peeked.take().or_else(|| self.read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &[u8]) -> Result<Input, InputError> {
        Input::from_reader(
            Box::new(io::Cursor::new(text.to_vec())),
            "test.csv".into(),
            &InputOptions::default(),
        )
    }

    #[test]
    fn rows_count_records_not_lines() {
        let input = open(b"\xef\xbb\xbfEmail,Notes\r\na@x.com,\"two\r\nlines\"\r\n\r\nb@x.com,x\r\n").unwrap();
        assert_eq!(input.header, ["Email", "Notes"]);
        let records: Vec<_> = input.collect();
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].row, &records[0].cells[1]), (2, "two\r\nlines"));
        assert_eq!((records[1].row, &records[1].cells[0]), (3, "b@x.com"));
    }

    #[test]
    fn the_xlsx_results_trailer_row_is_not_counted() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("Results").unwrap();
        let rows = [
            ["result_row", "result_status", "email"],
            ["2", "invalid", "bad"],
            ["3", "created", "a@x.com"],
            ["end", "end_of_results", ""],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
        let bytes = book.save_to_buffer().unwrap();
        let options = InputOptions {
            previous_results: true,
            result_columns: &["result_row", "result_status"],
            ..InputOptions::default()
        };
        let input = Input::from_reader(Box::new(io::Cursor::new(bytes)), "r.xlsx".into(), &options).unwrap();
        assert_eq!(input.known_rows(), Some(2));
        assert_eq!(input.count(), 2);
    }

    /// The total a progress bar and `--max-errors 5%` use is the rows the run will read: quotes
    /// are those of the file's own delimiter (after a `;`, not only after a `,`), the file is
    /// decoded as it was the first time, and title rows and the header are not rows.
    #[test]
    fn a_files_rows_are_counted_as_the_run_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        // As Excel saves a sheet with a title row: every row as wide as the widest.
        let text = "Gästeliste März;\r\nE-Mail;Notiz\r\na@x.com;\"zwei\r\nZeilen\"\r\n\r\nb@x.com;\"drei\nganze\nZeilen\"\r\nc@x.com;x\r\n";
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        for (name, bytes) in [("utf8.csv", text.as_bytes().to_vec()), ("utf16.csv", utf16)] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let input = Input::open(&Source::File(path.clone()), &InputOptions::default()).unwrap();
            assert_eq!(input.header, ["E-Mail", "Notiz"], "{name}");
            let counted = input.count_rows(&path);
            let read = input.count() as u64;
            assert_eq!((counted, read), (Some(3), 3), "{name}");
        }
    }

    #[test]
    fn edits_are_read_over_the_files_cells_by_sheet_row() {
        let options = InputOptions {
            edits: vec![
                CellEdit {
                    row: 4,
                    column: 0,
                    value: "fixed@x.com".into(),
                },
                CellEdit {
                    row: 9,
                    column: 0,
                    value: "nowhere@x.com".into(),
                },
            ],
            ..InputOptions::default()
        };
        // A title row above the header: row numbers are the sheet's, so row 4 is b's.
        let text = b"Guests\nemail,name\na@x.com,A\nb@x,B\n".to_vec();
        let input = Input::from_reader(Box::new(io::Cursor::new(text)), "t.csv".into(), &options).unwrap();
        let records: Vec<_> = input.collect();
        assert_eq!(
            (records[1].row, &records[1].cells[0], &records[1].cells[1]),
            (4, "fixed@x.com", "B")
        );
        assert_eq!(&records[0].cells[0], "a@x.com");
    }

    #[test]
    fn rows_left_out_are_not_read_and_the_others_keep_their_numbers() {
        let options = InputOptions {
            skip: vec![4],
            ..InputOptions::default()
        };
        let text = b"Guests\nemail,name\na@x.com,A\nops@x.com,B\nc@x.com,C\n".to_vec();
        let input = Input::from_reader(Box::new(io::Cursor::new(text)), "t.csv".into(), &options).unwrap();
        let rows: Vec<(u64, String)> = input.map(|r| (r.row, r.cells[0].to_string())).collect();
        assert_eq!(rows, [(3, "a@x.com".to_string()), (5, "c@x.com".to_string())]);
    }

    #[test]
    fn malformed_records_are_records_with_a_problem() {
        let records: Vec<_> = open(b"email,name\na@x.com,A,extra\nb@x.com\nc@x.com,C\x00\n")
            .unwrap()
            .collect();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[0].problem.as_deref(),
            Some("has 3 cells but the header has 2 (a stray delimiter or an unclosed quote?)")
        );
        assert!(records[1].problem.as_deref().unwrap().starts_with("has 1 cells"));
        assert_eq!(records[2].problem.as_deref(), Some("contains a NUL byte"));
    }

    #[test]
    fn files_with_nothing_to_import_are_errors() {
        assert!(matches!(open(b""), Err(InputError::Empty(_))));
        assert!(matches!(open(b"email,name\n"), Err(InputError::HeaderOnly(_))));
        let err = open(b"name\nx\n").err().unwrap();
        assert!(err.to_string().starts_with("test.csv: no email column"), "{err}");
        let png = [b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice(), &[0u8; 200]].concat();
        assert!(matches!(open(&png), Err(InputError::Binary(_))));
    }

    #[test]
    fn the_format_is_reported() {
        let input = open(b"email;name\na@x.com;Ren\xe9\n").unwrap();
        assert_eq!(
            input.format.to_string(),
            "text in windows-1252 (not valid UTF-8, read as Windows-1252), delimited by `;`"
        );
        let records: Vec<_> = input.collect();
        assert_eq!(&records[0].cells[1], "René");
    }
}
