//! The one reader of a results file before a run (issue 31): read once, as a stream, it yields
//! everything set-up asks of a file given to `--retry-from`, to `undo`, or as a mirror's input:
//! whether it is whole (and why not), the organizations its rows were made in, its row count,
//! its SHA-256 and its format. The run's own streaming read of its rows (`Input`) is the only
//! other pass over the file: it reads the cells to act on, which this does not keep.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::whole::{Found, pass};

/// What one pass over a results file found.
#[derive(Debug)]
pub struct Verified {
    /// `Ok(complete)` when the file proves itself whole (`complete`: its run read its whole
    /// input, not cut by `--limit`), else why not, in words (see `whole::incomplete`).
    pub whole: Result<bool, String>,
    /// The organizations its rows were made in (`result_org`, trimmed, none empty); `None`
    /// when it has no `result_org` column (an earlier version's file) or is not a results file.
    pub orgs: Option<BTreeSet<String>>,
    /// Its rows as a standard CSV reader sees them (an earlier version's trailer is not a row),
    /// up to the first that cannot be read.
    pub rows: u64,
    /// The SHA-256 of its bytes, in lowercase hex.
    pub sha256: String,
    /// How it was read.
    pub format: ResultsFormat,
}

/// How a results file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsFormat {
    /// Text split by this delimiter (the input's, as the header line says).
    Csv(u8),
    /// The Results sheet of the tool's own .xlsx results.
    Workbook,
}

/// Reads the results file `path` once, as a stream (memory does not grow with the file; a
/// workbook, bounded as every workbook input is, is read whole); `Err` when it cannot be read
/// at all. `row_column` and `status_column` name `result_row` and `result_status`.
pub fn verify(path: &Path, row_column: &str, status_column: &str) -> Result<Verified, String> {
    let cannot = |e: std::io::Error| format!("it cannot be read ({})", crate::words::io_words(&e));
    let hasher = Arc::new(Mutex::new(Sha256::new()));
    let mut file = Hashing {
        inner: std::fs::File::open(path).map_err(cannot)?,
        hasher: Arc::clone(&hasher),
    };
    let mut start = Vec::new();
    (&mut file).take(8).read_to_end(&mut start).map_err(cannot)?;
    let mut found = Found::default();
    let (format, whole) = if super::workbook::looks_like_workbook(&start) {
        file.read_to_end(&mut start).map_err(cannot)?;
        let whole = results_sheet_as_csv(start)
            .and_then(|csv| pass(csv.as_slice(), b',', row_column, status_column, &mut found));
        (ResultsFormat::Workbook, whole)
    } else {
        // Decoded as the run's own reading decodes it (`decode`), without saying it twice.
        let bytes: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(start).chain(file));
        let (decoded, _, _) = super::decode::decoding(bytes, None, super::decode::SAMPLE_BYTES).map_err(cannot)?;
        let mut text = BufReader::new(decoded);
        let mut header = Vec::new();
        text.read_until(b'\n', &mut header).map_err(cannot)?;
        let delimiter = delimiter(&String::from_utf8_lossy(&header));
        let whole = pass(
            std::io::Cursor::new(header).chain(&mut text),
            delimiter,
            row_column,
            status_column,
            &mut found,
        );
        // The hash is of every byte, also those after a row that could not be read.
        std::io::copy(&mut text, &mut std::io::sink()).map_err(cannot)?;
        (ResultsFormat::Csv(delimiter), whole)
    };
    let sha256 = hasher
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Verified {
        whole,
        orgs: found.orgs,
        rows: found.rows,
        sha256,
        format,
    })
}

/// A reader that hashes every byte it reads, into a hasher the caller keeps.
struct Hashing<R> {
    inner: R,
    hasher: Arc<Mutex<Sha256>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.lock().unwrap_or_else(|p| p.into_inner()).update(&buf[..n]);
        Ok(n)
    }
}

/// Results files use their input's delimiter: the header line says which.
fn delimiter(header_line: &str) -> u8 {
    [b',', b';', b'\t', b'|']
        .into_iter()
        .max_by_key(|&d| header_line.bytes().filter(|&b| b == d).count())
        .unwrap_or(b',')
}

/// The Results sheet of the tool's own .xlsx results, as CSV text, so that the same checks
/// read it. Read through the workbook input's own guards (zip size, cells, text).
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

/// Whether an earlier results file is a whole account of its run: `Ok(complete)` when every row
/// carries the same `result_of` (stamped only by a run that read its whole input and gave every
/// row its result), the file holds exactly as many rows as it counts, each row number once, and
/// none newer than the run's end; or, for an earlier version's file, when it ends with the
/// `end_of_results` trailer under the same checks. `complete` is false when that input was cut
/// on purpose by `--limit`. Else why not, in words. Read by `verify`, the one reader of a
/// results file (its other facts are there too). `row_column` and `status_column` name
/// `result_row` and `result_status`.
pub fn incomplete(path: &Path, row_column: &str, status_column: &str) -> Result<bool, String> {
    verify(path, row_column, status_column)?.whole
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One read gives every fact set-up needs, and they agree with the file: its proof, its
    /// organizations, its rows, its hash and its delimiter; the same file saved by Excel as
    /// UTF-16 text still is.
    #[test]
    fn one_read_gives_the_proof_the_organizations_the_rows_the_hash_and_the_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let of = "2 rows, finished 2026-01-01T00:00:10Z by run 0123456789abcdef: the whole input";
        let text = format!(
            "result_row;result_status;result_org;result_of;email\n2;created;org-a;{of};a@x.com\n3;created; ORG-B ;{of};b@x.com\n"
        );
        std::fs::write(&path, &text).unwrap();
        let verified = verify(&path, "result_row", "result_status").unwrap();
        assert_eq!(verified.whole, Ok(true));
        let orgs: Vec<&str> = verified.orgs.iter().flatten().map(String::as_str).collect();
        assert_eq!(orgs, ["ORG-B", "org-a"]);
        assert_eq!(verified.rows, 2);
        assert_eq!(verified.format, ResultsFormat::Csv(b';'));
        let expected: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(verified.sha256, expected);

        // Excel's "Unicode text": UTF-16LE with its mark, tab-delimited.
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(text.replace(';', "\t").encode_utf16().flat_map(u16::to_le_bytes));
        std::fs::write(&path, &utf16).unwrap();
        let verified = verify(&path, "result_row", "result_status").unwrap();
        assert_eq!((verified.whole, verified.rows), (Ok(true), 2));
        assert_eq!(verified.format, ResultsFormat::Csv(b'\t'));

        // An earlier version's file: its trailer is not a row, and it names no organization.
        std::fs::write(
            &path,
            "result_row,result_status,result_message,email\n2,created,,a\nend,end_of_results,the run finished at 2025-01-01T00:00:00Z with a result for each of its 1 rows: the whole input,\n",
        )
        .unwrap();
        let verified = verify(&path, "result_row", "result_status").unwrap();
        assert_eq!((verified.whole, verified.rows, verified.orgs), (Ok(true), 1, None));

        let missing = verify(&dir.path().join("none.csv"), "result_row", "result_status").unwrap_err();
        assert!(missing.contains("cannot be read"), "{missing}");
    }
}
