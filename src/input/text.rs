//! Delimited text: the encoding decoded, the delimiter sniffed, binary files told apart, the
//! header read, and each record's cells as text with every problem of the record.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::records::{CELL_CAP, MAX_CELLS, RECORD_CAP, RawRecord, RecordReader};
use crate::files::output::unneutralize;

use super::cells::Cells;
use super::error::InputError;
use super::format::Format;
use super::header::HeaderError;
use super::options::InputOptions;
use super::records::wrong_width;
use super::rows::Records;
use super::{decode, sniff};
use encoding_rs::Encoding;

/// Bytes looked at to tell a workbook or a binary file from text, and to sniff the delimiter.
const SNIFF_BYTES: u64 = 64 * 1024;

pub(super) fn open_text(
    reader: Box<dyn Read + Send>,
    name: &str,
    options: &InputOptions,
) -> Result<(Vec<String>, Records, Format, u64), InputError> {
    let unreadable = |error: io::Error| InputError::Unreadable {
        name: name.to_string(),
        error,
    };
    let sample_bytes = if options.stream {
        decode::STREAM_SAMPLE_BYTES
    } else {
        decode::SAMPLE_BYTES
    };
    let (mut decoded, encoding) = decode::utf8_reader(reader, options.encoding, sample_bytes).map_err(unreadable)?;
    let mut sample = Vec::new();
    (&mut decoded)
        .take(SNIFF_BYTES)
        .read_to_end(&mut sample)
        .map_err(unreadable)?;
    if is_binary(&sample) {
        return Err(InputError::Binary(name.to_string()));
    }
    let complete = (sample.len() as u64) < SNIFF_BYTES;
    let delimiter = options.delimiter.unwrap_or_else(|| sniff::delimiter(&sample, complete));
    let whole: Box<dyn Read + Send> = Box::new(io::Cursor::new(sample).chain(decoded));
    let mut reader = RecordReader::new(BufReader::with_capacity(64 * 1024, whole), delimiter);
    let header = reader
        .next_record()
        .map_err(unreadable)?
        .ok_or_else(|| InputError::Empty(name.to_string()))?;
    if header.extra_cells > 0 {
        return Err(InputError::Header {
            name: name.to_string(),
            error: HeaderError::TooWide(MAX_CELLS),
        });
    }
    let header = header
        .cells
        .iter()
        .map(|c| String::from_utf8_lossy(c).trim().to_string())
        .collect();
    Ok((
        header,
        Records::Text(Box::new(reader)),
        Format::Text { encoding, delimiter },
        1,
    ))
}

/// Text has almost no control characters; a binary file renamed `.csv` (an image, a PDF) is
/// full of them. A stray NUL in a text file is left to its row.
fn is_binary(sample: &[u8]) -> bool {
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    controls * 10 > sample.len()
}

/// Cells as text, decoded (the one formula guard our own output adds comes off), with every
/// problem of the record.
pub(super) fn text_cells(raw: RawRecord, expected: usize) -> (Cells, Option<String>) {
    let mut problems = Vec::new();
    let nul = raw.cells.iter().any(|cell| cell.contains(&0));
    // The usual record is text throughout, and its buffer becomes the cells as it is.
    let (cells, not_text) = match raw.cells.into_text() {
        Ok(cells) => (cells, false),
        Err(bytes) => (bytes.iter().map(|cell| String::from_utf8_lossy(cell)).collect(), true),
    };
    // Only a cell that opens with a quote can carry the guard: the rest are kept as they are.
    let cells = if cells.iter().any(|cell| cell.starts_with('\'')) {
        cells.iter().map(unneutralize).collect()
    } else {
        cells
    };
    if not_text {
        problems.push("contains bytes that are not valid text in the file's encoding (pass --encoding?)".to_string());
    }
    if nul {
        problems.push("contains a NUL byte".to_string());
    }
    for &index in &raw.oversized {
        problems.push(format!(
            "cell {} is longer than {} KiB and was cut",
            index + 1,
            CELL_CAP / 1024
        ));
    }
    if raw.unclosed_quote {
        problems.push("a quote opened in this row is never closed, so the rest of the file ran into it".to_string());
    }
    if raw.extra_cells > 0 {
        problems.push(format!(
            "the row has {} cells more than the {MAX_CELLS} kept (a run of delimiters?); they were dropped",
            raw.extra_cells
        ));
    }
    if raw.dropped > 0 {
        problems.push(format!(
            "the row is longer than {} MiB and was cut",
            RECORD_CAP / (1024 * 1024)
        ));
    }
    if cells.len() != expected {
        problems.push(wrong_width(cells.len(), expected));
    }
    (cells, (!problems.is_empty()).then(|| problems.join("; ")))
}

/// About how many lines a text file holds, from its size and the lines of its first 64 KiB: a
/// guess for reserving room (never a count: a quoted cell may hold line breaks).
pub fn estimate_lines(path: &Path) -> Option<u64> {
    use std::io::Read;
    let size = std::fs::metadata(path).ok()?.len();
    let mut sample = Vec::with_capacity(1 << 16);
    File::open(path).ok()?.take(1 << 16).read_to_end(&mut sample).ok()?;
    let lines = sample.iter().filter(|&&b| b == b'\n').count() as u64;
    (lines > 0).then(|| size * lines / sample.len() as u64)
}

/// How many records a text file holds, for a progress bar's total and a percentage error budget.
/// The file is read again as it was read the first time: decoded from `encoding`, and its record
/// ends found with `delimiter`'s quoting (a quote opens a cell only at its start, after a
/// delimiter). No cell is kept: csv-core's record parser writes into a scratch buffer.
pub fn count_records(path: &Path, encoding: &'static Encoding, delimiter: u8) -> io::Result<u64> {
    let (decoded, _) = decode::utf8_reader(Box::new(File::open(path)?), Some(encoding), decode::STREAM_SAMPLE_BYTES)?;
    let mut input = BufReader::with_capacity(1 << 16, decoded);
    let mut parser = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let (mut scratch, mut ends) = (vec![0u8; 1 << 16], [0usize; 64]);
    let mut records = 0u64;
    loop {
        let bytes = input.fill_buf()?;
        let (result, read, _, _) = parser.read_record(bytes, &mut scratch, &mut ends);
        input.consume(read);
        match result {
            csv_core::ReadRecordResult::Record => records += 1,
            csv_core::ReadRecordResult::End => return Ok(records),
            // A record longer than the scratch buffer goes on in the next call.
            csv_core::ReadRecordResult::InputEmpty
            | csv_core::ReadRecordResult::OutputFull
            | csv_core::ReadRecordResult::OutputEndsFull => {}
        }
    }
}
