//! Records from delimited text with a memory cap: csv-core parses, and this keeps at most
//! `CELL_CAP` bytes of a cell and `RECORD_CAP` bytes of a record, noting what it cut. A 10 MB cell
//! or a file with one unbalanced quote cannot make the reader hold more than that.

use std::io::{self, BufRead};

use super::cells::RawCells;

/// No guest field is longer than 200 characters; a cell past this is bad data, kept short.
pub const CELL_CAP: usize = 16 * 1024;
/// All cells of one record together.
pub const RECORD_CAP: usize = 1024 * 1024;
/// Cells one record may have (Excel's column limit): a megabyte of commas is a million empty
/// cells, and each costs memory however empty it is.
pub const MAX_CELLS: usize = 16_384;

/// One record as raw bytes, and what did not fit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub cells: RawCells,
    /// Cells cut short at `CELL_CAP`, by index.
    pub oversized: Vec<usize>,
    /// Bytes dropped because the record passed `RECORD_CAP`.
    pub dropped: u64,
    /// The last cell opened a quote that the file never closed: it swallowed the rest.
    pub unclosed_quote: bool,
    /// Cells past `MAX_CELLS`, dropped.
    pub extra_cells: u64,
}

pub struct RecordReader<R> {
    input: R,
    parser: csv_core::Reader,
    /// csv-core's output buffer, reused for every field.
    out: Box<[u8; 8 * 1024]>,
    done: bool,
    /// The last record's bytes and cells: the next one is given that much room to start with.
    last_size: (usize, usize),
}

impl<R: BufRead> RecordReader<R> {
    pub fn new(input: R, delimiter: u8) -> Self {
        let parser = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        RecordReader {
            input,
            parser,
            out: Box::new([0; 8 * 1024]),
            done: false,
            last_size: (0, 0),
        }
    }

    /// The next record, or `None` at the end. Blank lines are not records.
    pub fn next_record(&mut self) -> io::Result<Option<RawRecord>> {
        if self.done {
            return Ok(None);
        }
        // Rows of one file are alike: room for a little more than the last one.
        let (bytes, cells) = self.last_size;
        let mut record = RawRecord {
            cells: RawCells::with_capacity((bytes + bytes / 8).min(RECORD_CAP), cells.min(MAX_CELLS)),
            ..RawRecord::default()
        };
        let mut kept = 0usize;
        // The first and last (line ends aside) raw bytes of the cell being read: a cell that
        // opens with a quote and reaches the end of the file without one never closed it.
        let (mut first, mut last) = (None, None);
        loop {
            let input = self.input.fill_buf()?;
            let at_end = input.is_empty();
            let (result, read, written) = self.parser.read_field(input, &mut self.out[..]);
            let raw = &input[..read];
            first = first.or(raw.first().copied());
            last = raw.iter().rev().find(|&&b| b != b'\n' && b != b'\r').copied().or(last);
            self.input.consume(read);
            let cells = &mut record.cells;
            let room = CELL_CAP
                .saturating_sub(cells.open_len())
                .min(RECORD_CAP.saturating_sub(kept));
            let keep = written.min(room);
            cells.open_cell().extend_from_slice(&self.out[..keep]);
            kept += keep;
            if keep < written {
                let index = cells.len();
                if cells.open_len() < CELL_CAP {
                    record.dropped += (written - keep) as u64;
                } else if record.oversized.last() != Some(&index) {
                    record.oversized.push(index);
                }
            }
            match result {
                csv_core::ReadFieldResult::InputEmpty | csv_core::ReadFieldResult::OutputFull => {}
                csv_core::ReadFieldResult::Field { record_end } => {
                    record.unclosed_quote |= at_end && first == Some(b'"') && last != Some(b'"');
                    (first, last) = (None, None);
                    if record.cells.len() < MAX_CELLS {
                        record.cells.end_cell();
                    } else {
                        record.extra_cells += 1;
                        record.cells.discard_open_cell();
                    }
                    if record_end {
                        self.last_size = (record.cells.text_len(), record.cells.len());
                        return Ok(Some(record));
                    }
                }
                csv_core::ReadFieldResult::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &[u8], delimiter: u8) -> Vec<RawRecord> {
        let mut reader = RecordReader::new(io::BufReader::with_capacity(7, text), delimiter);
        std::iter::from_fn(|| reader.next_record().unwrap()).collect()
    }

    fn cells(record: &RawRecord) -> Vec<String> {
        record
            .cells
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    #[test]
    fn quoting_crlf_blank_lines_and_embedded_newlines() {
        let all = records(b"a;\"b;\"\"c\"\"\r\nd\"\r\n\r\n\n e ;f\r\nlast;\"\"", b';');
        assert_eq!(all.len(), 3);
        assert_eq!(cells(&all[0]), ["a", "b;\"c\"\r\nd"]);
        assert_eq!(cells(&all[1]), [" e ", "f"]);
        assert_eq!(cells(&all[2]), ["last", ""]);
    }

    #[test]
    fn a_huge_cell_is_cut_and_noted_and_the_next_record_is_intact() {
        let mut text = b"email,note\nx@y.com,".to_vec();
        text.extend(std::iter::repeat_n(b'z', 10 * 1024 * 1024));
        text.extend(b"\nnext@y.com,ok\n");
        let all = records(&text, b',');
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].cells[1].len(), CELL_CAP);
        assert_eq!(all[1].oversized, vec![1]);
        assert_eq!(cells(&all[2]), ["next@y.com", "ok"]);
    }

    #[test]
    fn an_unclosed_quote_swallows_no_more_than_the_cap() {
        let mut text = b"email,note\na@x.com,\"never closed\n".to_vec();
        for i in 0..200_000 {
            text.extend(format!("row{i}@x.com,fine\n").as_bytes());
        }
        let all = records(&text, b',');
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].cells[1].len(), CELL_CAP);
        assert!(all[1].unclosed_quote);
        assert!(!records(b"a,\"closed\nacross lines\"\r\n", b',')[0].unclosed_quote);
        assert!(!records(b"a,\"closed at the very end\"", b',')[0].unclosed_quote);
    }

    #[test]
    fn a_megabyte_of_commas_keeps_no_more_than_the_cell_cap() {
        let row = ",".repeat(1024 * 1024);
        let all = records(format!("a\n{row}\n").as_bytes(), b',');
        assert_eq!(all[1].cells.len(), MAX_CELLS);
        assert_eq!(all[1].extra_cells, (1024 * 1024 + 1 - MAX_CELLS) as u64);
    }

    #[test]
    fn ten_thousand_columns_stay_under_the_record_cap() {
        let row = vec!["y".repeat(200); 10_000].join(",");
        let all = records(format!("{row}\n{row}\n").as_bytes(), b',');
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].cells.len(), 10_000);
        let kept: usize = all[0].cells.iter().map(<[u8]>::len).sum();
        assert!(kept <= RECORD_CAP);
        assert_eq!(all[0].dropped, (10_000 * 200 - RECORD_CAP) as u64);
    }
}
