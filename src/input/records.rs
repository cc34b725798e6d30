//! Records from delimited text with a memory cap: csv-core parses, and this keeps at most
//! `CELL_CAP` bytes of a cell and `RECORD_CAP` bytes of a record, noting what it cut. A 10 MB cell
//! or a file with one unbalanced quote cannot make the reader hold more than that.

use std::io::{self, BufRead};

use super::cells::RawCells;

/// No guest field is longer than 200 characters; a cell past this is bad data, kept short.
pub(super) const CELL_CAP: usize = 16 * 1024;
/// All cells of one record together.
pub(super) const RECORD_CAP: usize = 1024 * 1024;
/// Cells one record may have (Excel's column limit): a megabyte of commas is a million empty
/// cells, and each costs memory however empty it is.
pub(super) const MAX_CELLS: usize = 16_384;

/// One record as raw bytes, and what did not fit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct RawRecord {
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

pub(super) struct RecordReader<R> {
    input: R,
    parser: csv_core::Reader,
    /// csv-core's output buffer, reused for every call.
    out: Box<[u8; 8 * 1024]>,
    /// csv-core's field ends of one call, as positions in the record's output so far.
    ends: [usize; 64],
    done: bool,
    /// The last record's bytes and cells: the next one is given that much room to start with.
    last_size: (usize, usize),
}

impl<R: BufRead> RecordReader<R> {
    pub(super) fn new(input: R, delimiter: u8) -> Self {
        let parser = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        RecordReader {
            input,
            parser,
            out: Box::new([0; 8 * 1024]),
            ends: [0; 64],
            done: false,
            last_size: (0, 0),
        }
    }

    /// The next record, or `None` at the end. Blank lines are not records.
    pub(super) fn next_record(&mut self) -> io::Result<Option<RawRecord>> {
        if self.done {
            return Ok(None);
        }
        // Rows of one file are alike: room for a little more than the last one.
        let (bytes, cells) = self.last_size;
        let mut record = Building {
            record: RawRecord {
                cells: RawCells::with_capacity((bytes + bytes / 8).min(RECORD_CAP), cells.min(MAX_CELLS)),
                ..RawRecord::default()
            },
            kept: 0,
        };
        // Where this call's output starts in the record's output (csv-core's ends count from the
        // record's start, across calls).
        let mut base = 0usize;
        loop {
            let input = self.input.fill_buf()?;
            let result = if input.is_empty() {
                self.end_of_input(&mut record, base)
            } else {
                let (result, read, written, ended) = self.parser.read_record(input, &mut self.out[..], &mut self.ends);
                self.input.consume(read);
                record.take(&self.out[..written], &self.ends[..ended], base);
                base += written;
                result
            };
            match result {
                csv_core::ReadRecordResult::Record => {
                    self.last_size = (record.record.cells.text_len(), record.record.cells.len());
                    return Ok(Some(record.record));
                }
                csv_core::ReadRecordResult::End => {
                    self.done = true;
                    return Ok(None);
                }
                csv_core::ReadRecordResult::InputEmpty
                | csv_core::ReadRecordResult::OutputFull
                | csv_core::ReadRecordResult::OutputEndsFull => {}
            }
        }
    }
}

impl<R> RecordReader<R> {
    /// The input is over: a line end is offered first. Inside a quoted cell it is text, so the
    /// quote was never closed, and the cell ends without it; anywhere else it ends the record or
    /// is a blank line, as the end of the input itself would.
    fn end_of_input(&mut self, record: &mut Building, base: usize) -> csv_core::ReadRecordResult {
        let (result, _, written, ended) = self.parser.read_record(b"\n", &mut self.out[..], &mut self.ends);
        if result != csv_core::ReadRecordResult::InputEmpty {
            // A line end outside quotes is never output: only the last cell's end came.
            record.take(&[], &self.ends[..ended], base);
            return result;
        }
        record.record.unclosed_quote = written == 1;
        let (result, _, _, ended) = self.parser.read_record(&[], &mut self.out[..], &mut self.ends);
        record.take(&[], &self.ends[..ended], base + written);
        result
    }
}

/// A record being read, and the bytes of it kept so far.
struct Building {
    record: RawRecord,
    kept: usize,
}

impl Building {
    /// One call's output: `out` from the record's byte `base` on, and the ends of the cells
    /// that closed in it (positions from the record's start).
    fn take(&mut self, out: &[u8], ends: &[usize], base: usize) {
        let mut from = 0;
        for &end in ends {
            let end = end - base;
            self.keep(&out[from..end]);
            self.close_cell();
            from = end;
        }
        self.keep(&out[from..]);
    }

    /// Adds bytes to the open cell, up to `CELL_CAP` for the cell and `RECORD_CAP` for the
    /// record, noting what is cut.
    fn keep(&mut self, bytes: &[u8]) {
        let cells = &mut self.record.cells;
        let room = CELL_CAP
            .saturating_sub(cells.open_len())
            .min(RECORD_CAP.saturating_sub(self.kept));
        let keep = bytes.len().min(room);
        cells.open_cell().extend_from_slice(&bytes[..keep]);
        self.kept += keep;
        if keep < bytes.len() {
            let index = cells.len();
            if cells.open_len() < CELL_CAP {
                self.record.dropped += (bytes.len() - keep) as u64;
            } else if self.record.oversized.last() != Some(&index) {
                self.record.oversized.push(index);
            }
        }
    }

    fn close_cell(&mut self) {
        if self.record.cells.len() < MAX_CELLS {
            self.record.cells.end_cell();
        } else {
            self.record.extra_cells += 1;
            self.record.cells.discard_open_cell();
        }
    }
}

/// The problem of a record whose cells do not match the header's.
pub(super) fn wrong_width(cells: usize, expected: usize) -> String {
    format!("has {cells} cells but the header has {expected} (a stray delimiter or an unclosed quote?)")
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

    /// Whether the last cell's quote was closed is the parser's own state at the end of the
    /// file, not a guess from its first and last bytes.
    #[test]
    fn a_quote_left_open_at_the_end_is_told_from_one_that_was_closed() {
        let last = |text: &[u8]| records(text, b',').pop().unwrap();
        for open in [
            &b"a\n\""[..],
            b"a,\"ends in an escaped quote\"\"",
            b"a,\"two\nlines\r\n",
        ] {
            assert!(last(open).unclosed_quote, "{}", String::from_utf8_lossy(open));
        }
        for closed in [&b"a,\"\" trailing"[..], b"a,\"x\"\n", b"a,b", b"a,\"quoted\"\r\n\r\n"] {
            assert!(!last(closed).unclosed_quote, "{}", String::from_utf8_lossy(closed));
        }
        // What an open quote swallowed is kept as it was, with no line end added.
        assert_eq!(cells(&last(b"a,\"two\nlines\r\n")), ["a", "two\nlines\r\n"]);
        assert_eq!(cells(&last(b"a,\"\" trailing")), ["a", " trailing"]);
    }

    proptest::proptest! {
        /// A record is the same however the input arrives: a byte at a time or all at once.
        #[test]
        fn records_do_not_depend_on_how_the_input_is_buffered(
            text in proptest::collection::vec(
                proptest::sample::select(b"ab,;\"\n\r ".to_vec()), 0..200),
            capacity in 1usize..16,
            delimiter in proptest::sample::select(b",;".to_vec()),
        ) {
            let whole = RecordReader::new(io::BufReader::with_capacity(1 << 16, &text[..]), delimiter);
            let pieces = RecordReader::new(io::BufReader::with_capacity(capacity, &text[..]), delimiter);
            let read = |mut reader: RecordReader<_>| std::iter::from_fn(move || reader.next_record().unwrap()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(read(whole), read(pieces));
        }
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
