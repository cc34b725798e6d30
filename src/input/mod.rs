//! Input: the guest file's bytes → numbered records with their header mapping. A malformed
//! record is still a record (with a problem), so every row gets a result; only a file that
//! cannot be read at all is an error.

mod header;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

pub use header::{Field, FieldMap, HeaderError, map_header};

/// Where the guests come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
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

    pub fn display(&self) -> String {
        match self {
            Source::Stdin => "stdin".into(),
            Source::File(path) => path.display().to_string(),
        }
    }
}

/// A file that cannot be imported at all (exit 2; nothing is sent).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {name}: {error}")]
    Unreadable { name: String, error: io::Error },
    #[error("{0} is empty: expected a header row with an `email` column, then one guest per row")]
    Empty(String),
    #[error("{0} has a header row but no guest rows")]
    HeaderOnly(String),
    #[error("{name}: {error}")]
    Header { name: String, error: HeaderError },
}

/// How many records a file holds after its header (for a progress bar's ETA); a quick pass
/// that parses quoting but decodes nothing.
pub fn count_records(path: &Path) -> io::Result<u64> {
    let file = File::open(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(BufReader::new(file));
    let mut record = csv::ByteRecord::new();
    let mut count = 0;
    while reader.read_byte_record(&mut record).map_err(io::Error::other)? {
        count += 1;
    }
    Ok(count)
}

/// One data record. `row` is its spreadsheet row number: the header is row 1, the first record
/// row 2, counting records rather than lines (a quoted cell may span lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord {
    /// 0-based position among the records.
    pub index: u64,
    pub row: u64,
    pub cells: Vec<String>,
    /// Why the record itself is malformed (wrong number of cells, bytes that are not text).
    pub problem: Option<String>,
}

/// An open guest file: its header, its mapping, and an iterator over its records.
pub struct Input {
    pub name: String,
    pub header: Vec<String>,
    pub map: FieldMap,
    /// Columns that are not guest fields; they are carried into the results file.
    pub other_columns: Vec<String>,
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: csv::ByteRecord,
    peeked: Option<InputRecord>,
    next_index: u64,
    done: bool,
}

impl Input {
    pub fn open(source: &Source) -> Result<Input, InputError> {
        let name = source.display();
        let reader: Box<dyn Read + Send> = match source {
            Source::Stdin => Box::new(io::stdin()),
            Source::File(path) => {
                let file = File::open(path).map_err(|error| InputError::Unreadable {
                    name: name.clone(),
                    error,
                })?;
                Box::new(BufReader::with_capacity(1 << 16, file))
            }
        };
        Input::from_reader(reader, name)
    }

    /// Reads the header and the first record, so that a file with nothing to import is an error
    /// before anything is sent.
    pub fn from_reader(reader: Box<dyn Read + Send>, name: String) -> Result<Input, InputError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(reader);
        let mut first = csv::ByteRecord::new();
        let unreadable = |e: csv::Error, name: &str| InputError::Unreadable {
            name: name.to_string(),
            error: io::Error::other(e),
        };
        if !reader.read_byte_record(&mut first).map_err(|e| unreadable(e, &name))? {
            return Err(InputError::Empty(name));
        }
        let mut header: Vec<String> = first
            .iter()
            .map(|cell| String::from_utf8_lossy(cell).trim().to_string())
            .collect();
        if let Some(cell) = header.first_mut() {
            *cell = cell.trim_start_matches('\u{feff}').to_string();
        }
        let (map, other_columns) = map_header(&header).map_err(|error| InputError::Header {
            name: name.clone(),
            error,
        })?;
        let mut input = Input {
            name,
            header,
            map,
            other_columns,
            reader,
            record: csv::ByteRecord::new(),
            peeked: None,
            next_index: 0,
            done: false,
        };
        input.peeked = input.read();
        if input.peeked.is_none() {
            return Err(InputError::HeaderOnly(input.name));
        }
        Ok(input)
    }

    fn read(&mut self) -> Option<InputRecord> {
        if self.done {
            return None;
        }
        let index = self.next_index;
        let row = index + 2;
        let (cells, problem) = match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                return None;
            }
            Ok(true) => decode(&self.record, self.header.len()),
            Err(e) => {
                // The csv parser only fails on I/O; nothing after this point can be trusted.
                self.done = true;
                (
                    Vec::new(),
                    Some(format!("the file could not be read past this row: {e}")),
                )
            }
        };
        self.next_index += 1;
        Some(InputRecord {
            index,
            row,
            cells,
            problem,
        })
    }
}

impl Iterator for Input {
    type Item = InputRecord;

    fn next(&mut self) -> Option<InputRecord> {
        self.peeked.take().or_else(|| self.read())
    }
}

fn decode(record: &csv::ByteRecord, expected: usize) -> (Vec<String>, Option<String>) {
    let mut problems = Vec::new();
    let cells: Vec<String> = record
        .iter()
        .map(|cell| match std::str::from_utf8(cell) {
            Ok(text) => text.to_string(),
            Err(_) => {
                if problems.is_empty() {
                    problems.push("contains bytes that are not UTF-8 text (save the file as UTF-8 CSV)".to_string());
                }
                String::from_utf8_lossy(cell).into_owned()
            }
        })
        .collect();
    if cells.len() != expected {
        problems.push(format!(
            "has {} cells but the header has {expected} (a stray delimiter or an unclosed quote?)",
            cells.len()
        ));
    }
    (cells, (!problems.is_empty()).then(|| problems.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &[u8]) -> Result<Input, InputError> {
        Input::from_reader(Box::new(io::Cursor::new(text.to_vec())), "test.csv".into())
    }

    #[test]
    fn rows_count_records_not_lines() {
        let input = open(b"\xef\xbb\xbfEmail,Notes\r\na@x.com,\"two\r\nlines\"\r\n\r\nb@x.com,x\r\n").unwrap();
        assert_eq!(input.header, ["Email", "Notes"]);
        let records: Vec<_> = input.collect();
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].row, records[0].cells[1].as_str()), (2, "two\r\nlines"));
        assert_eq!((records[1].row, records[1].cells[0].as_str()), (3, "b@x.com"));
    }

    #[test]
    fn malformed_records_are_records_with_a_problem() {
        let records: Vec<_> = open(b"email,name\na@x.com,A,extra\nb@x.com\nc@\xff.com,C\n")
            .unwrap()
            .collect();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[0].problem.as_deref(),
            Some("has 3 cells but the header has 2 (a stray delimiter or an unclosed quote?)")
        );
        assert!(records[1].problem.as_deref().unwrap().starts_with("has 1 cells"));
        assert!(records[2].problem.as_deref().unwrap().contains("not UTF-8"));
        assert_eq!(records[2].cells[0], "c@\u{fffd}.com");
    }

    #[test]
    fn files_with_nothing_to_import_are_errors() {
        assert!(matches!(open(b""), Err(InputError::Empty(_))));
        assert!(matches!(open(b"email,name\n"), Err(InputError::HeaderOnly(_))));
        let err = open(b"name\nx\n").err().unwrap();
        assert!(err.to_string().starts_with("test.csv: no email column"), "{err}");
    }
}
