//! The results file: one row per input record, in input order when the run finishes. Rows reach
//! the disk as they finish (at most about a second later), so a killed run keeps every
//! finished row; the few that finish ahead of a slow one are written out of order and put back
//! in order at the end. A run that read its whole input stamps every row with `result_of` in
//! that last pass (issue 31): the proof that the file is whole is in its rows, not in a record
//! that is not a row.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::RunError;
use crate::files::output::{AtomicFile, CsvStyle, needs_guard, real_path, replaceable};
use crate::input::{Cells, ResultOf};

/// The columns we add in front of the input's own: this writer's, which the input reader is
/// told of so that a results file read back (`--retry-from`, or as plain input) is understood.
/// What a person reads first (the row, what became of it, why) comes first; the technical
/// columns follow.
/// Four say where and when the row was made (`Provenance`), so that a results file moved,
/// renamed or saved by Excel still tells `undo` which organization and run it is from; the next
/// is the guest's creation time as the create's answer gave it, which `undo` compares with the
/// guest it reads back (one clock: the database's own). `result_link` is the guest's new link
/// when the run changed it (an `enabled` row). `result_of` is the run's account of the whole
/// file (see `ResultOf`), written on every row only when the run finished.
pub const RESULT_COLUMNS: [&str; 13] = [
    "result_row",
    "result_status",
    "result_message",
    "result_guest_id",
    "result_http_status",
    "result_attempts",
    "result_org",
    "result_api",
    "result_run_started",
    "result_at",
    "result_created_at",
    "result_link",
    "result_of",
];

/// Where a results row holds its `result_row` (a position in `RESULT_COLUMNS`, for a reader of
/// the rows this writer wrote).
pub const ROW_AT: usize = 0;
/// Where a results row holds its `result_status`.
pub const STATUS_AT: usize = 1;
/// Where a results row holds its `result_message`.
pub const MESSAGE_AT: usize = 2;

/// Where a results row holds its `result_of`.
pub const OF_AT: usize = 12;

/// The `result_row` and `result_status` of the trailer record that earlier versions ended a
/// whole file with (this one writes `result_of` instead); still read as their proof.
pub const TRAILER: (&str, &str) = ("end", "end_of_results");

use crate::api::clock::{ServerClock, rfc3339};
use crate::engine::outcome::{Outcome, Provenance, Status};

/// Where this run's rows are made: the organization, the API host, and the server's clock.
#[derive(Debug, Clone, Default)]
pub struct RunStamp {
    org: String,
    api: String,
    clock: Option<std::sync::Arc<ServerClock>>,
}

impl RunStamp {
    /// The stamp of a run that talks to `client` (an empty one offline).
    pub fn of(client: Option<&crate::api::Client>) -> Self {
        client.map_or_else(RunStamp::default, |client| RunStamp {
            org: client.org().to_string(),
            api: client.api_host(),
            clock: Some(client.clock().clone()),
        })
    }

    /// A row's provenance now: `at` only for a row that sent a request.
    fn now(&self, sent: bool) -> Provenance {
        let time = |t: Option<std::time::SystemTime>| t.map(rfc3339).unwrap_or_default();
        let clock = self.clock.as_deref();
        Provenance {
            org: self.org.clone(),
            api: self.api.clone(),
            run_started: time(clock.and_then(ServerClock::started)),
            at: if sent {
                time(clock.and_then(ServerClock::latest))
            } else {
                String::new()
            },
        }
    }
}

/// The account of one input record: where it is, what became of it, its own cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    /// 0-based position among the records.
    pub index: u64,
    /// Its spreadsheet row number.
    pub row: u64,
    /// What became of it.
    pub outcome: Outcome,
    /// The record's own cells, carried through.
    pub cells: Cells,
    /// Where and when the result was made: an earlier run's for a row copied from its results,
    /// else `None` and stamped with this run's when the row finishes.
    pub provenance: Option<Provenance>,
}

impl RowResult {
    /// A result with no request behind it (yet).
    pub fn new(index: u64, row: u64, status: Status, message: impl Into<String>, cells: Cells) -> Self {
        RowResult {
            index,
            row,
            outcome: Outcome::new().with(status, message),
            cells,
            provenance: None,
        }
    }
}

/// A row finished ahead of an earlier one waits this long for it before going to disk anyway.
const HOLD: Duration = Duration::from_secs(1);

/// Holds formatted rows and hands them to the file only at row boundaries, so a killed run
/// leaves whole rows, never half of one. (csv's writer may flush its own buffer mid-record.)
struct RowSink {
    pending: RefCell<Vec<u8>>,
    out: RefCell<Box<dyn Write + Send>>,
}

impl Write for RowSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.get_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl RowSink {
    fn commit(&self) -> io::Result<()> {
        let mut pending = self.pending.borrow_mut();
        let mut out = self.out.borrow_mut();
        out.write_all(&pending)?;
        out.flush()?;
        pending.clear();
        Ok(())
    }
}

/// Whole rows are handed to the file once this much is pending (and at every tick).
const COMMIT_BYTES: usize = 64 * 1024;

/// A number as a field (empty for none), formatted in `scratch`.
fn number_field(writer: &mut csv::Writer<RowSink>, scratch: &mut String, n: Option<u64>) -> csv::Result<()> {
    use std::fmt::Write as _;
    scratch.clear();
    if let Some(n) = n {
        let _ = write!(scratch, "{n}");
    }
    writer.write_field(scratch.as_bytes())
}

/// A text cell as a field, guarded against formulas unless `raw` (the guard put together in
/// `scratch`, not in a new string).
fn text_field(writer: &mut csv::Writer<RowSink>, scratch: &mut String, cell: &str, raw: bool) -> csv::Result<()> {
    if raw || !needs_guard(cell) {
        return writer.write_field(cell.as_bytes());
    }
    scratch.clear();
    scratch.push('\'');
    scratch.push_str(cell);
    writer.write_field(scratch.as_bytes())
}

/// Writes the results file: whole rows, in input order, at most about a second late.
pub struct ResultsWriter {
    writer: csv::Writer<RowSink>,
    /// `None` for stdout, a device or a FIFO, which are never re-sorted afterwards:
    /// there rows wait for their turn, however long. A regular file is written in place, so a
    /// killed run keeps what it wrote, and put in input order at the end.
    path: Option<PathBuf>,
    raw: bool,
    /// Next index due in input order.
    next: u64,
    /// Finished rows waiting for an earlier one, with when they finished.
    waiting: BTreeMap<u64, (RowResult, Instant)>,
    out_of_order: bool,
    style: CsvStyle,
    last_flush: Instant,
    /// Room to format a number or a guarded cell in, reused row after row.
    scratch: String,
    /// Rows written so far.
    pub written: u64,
    /// Where and when this run's rows are made.
    stamp: RunStamp,
}

impl ResultsWriter {
    /// Creates (truncates) the results file and writes the header: before anything is sent, so
    /// an unwritable path is found at once.
    pub fn create(
        path: Option<&Path>,
        header: &[String],
        raw: bool,
        style: CsvStyle,
        stamp: RunStamp,
    ) -> Result<Self, RunError> {
        let mut full_header: Vec<&str> = RESULT_COLUMNS.to_vec();
        full_header.extend(header.iter().map(String::as_str));
        let cannot = |path: &Path, cause: io::Error| RunError::ResultsFile {
            path: path.to_path_buf(),
            cause,
        };
        // A regular file is written in place and put in order at the end (by a rename); so is
        // the file a symlink names (the link itself stays), so that its rows carry the proof of
        // a whole run too. A device or FIFO is written as a stream, in order, and never replaced.
        let real = path.map(|path| match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => real_path(path),
            _ => path.to_path_buf(),
        });
        let (sink, sortable): (Box<dyn Write + Send>, Option<PathBuf>) = match real.as_deref() {
            Some(path) if replaceable(path) => (
                Box::new(BufWriter::new(
                    crate::files::output::create_file(path).map_err(|e| cannot(path, e))?,
                )),
                Some(path.to_path_buf()),
            ),
            Some(path) => (
                // Never blocking: a FIFO nobody reads stops the run at --io-timeout.
                Box::new(BufWriter::new(
                    crate::files::output::open_in_place(path).map_err(|e| cannot(path, e))?,
                )),
                None,
            ),
            None => (Box::new(io::stdout()), None),
        };
        let sink = RowSink {
            pending: RefCell::new(Vec::with_capacity(COMMIT_BYTES)),
            out: RefCell::new(sink),
        };
        let mut writer =
            crate::files::output::csv_writer(sink, style).map_err(|e| RunError::io("cannot write the results", e))?;
        writer
            .write_record(&full_header)
            .map_err(|e| RunError::csv("cannot write the results", e))?;
        Ok(ResultsWriter {
            writer,
            path: sortable,
            raw,
            next: 0,
            waiting: BTreeMap::new(),
            out_of_order: false,
            style,
            last_flush: Instant::now(),
            scratch: String::new(),
            written: 0,
            stamp,
        })
    }

    /// Takes a finished row: written now if it is next in order, else held briefly.
    pub fn push(&mut self, mut result: RowResult) -> Result<(), RunError> {
        // Stamped as it finishes: `result_at` is the server's time at (about) its last answer.
        if result.provenance.is_none() {
            result.provenance = Some(self.stamp.now(result.outcome.attempts > 0));
        }
        if result.index == self.next {
            self.write(&result)?;
            self.next += 1;
            self.drain_in_order()?;
        } else {
            self.waiting.insert(result.index, (result, Instant::now()));
        }
        if self.last_flush.elapsed() >= HOLD {
            self.tick()?;
        }
        Ok(())
    }

    /// Called at least every second: rows held longer than a second go to disk out of order,
    /// and everything written so far is flushed.
    pub fn tick(&mut self) -> Result<(), RunError> {
        if self.path.is_some() {
            let overdue: Vec<u64> = self
                .waiting
                .iter()
                .filter(|(_, (_, since))| since.elapsed() >= HOLD)
                .map(|(&i, _)| i)
                .collect();
            for index in overdue {
                let (result, _) = self.waiting.remove(&index).expect("listed above");
                self.write(&result)?;
                self.out_of_order = true;
            }
        }
        self.flush()
    }

    /// Writes what is left and puts the file in input order. `whole` is given only when the run
    /// read its whole input and gave every row its result: then every row of a regular file is
    /// stamped with the same `result_of` (the rows' total, when the run finished, and `whole`:
    /// what the input was, e.g. cut by `--limit`), in the one rewrite that a killed run never
    /// finishes (it is renamed into place whole, or not at all). A stream (stdout, a FIFO, a
    /// link) is never rewritten, so its rows carry none: it cannot be proven whole.
    pub fn finish(mut self, whole: Option<&str>) -> Result<u64, RunError> {
        let waiting = std::mem::take(&mut self.waiting);
        for (_, (result, _)) in waiting {
            if result.index != self.next {
                self.out_of_order = true;
            }
            self.next = result.index + 1;
            self.write(&result)?;
        }
        self.flush()?;
        let of = whole.map(|whole| self.result_of(whole).to_string());
        if let Some(path) = &self.path
            && (self.out_of_order || of.is_some())
        {
            rewrite(path, self.style, of.as_deref())?;
        }
        Ok(self.written)
    }

    /// This run's `result_of`: its rows, and when it finished on the server's clock (this
    /// machine's offline), which no row's own time can be later than.
    fn result_of(&self, whole: &str) -> ResultOf {
        let at = self.stamp.now(true).at;
        // Unique enough to tell two runs apart: this process, this moment, this file.
        let mark = format!(
            "{}\n{:?}\n{:?}",
            std::process::id(),
            std::time::SystemTime::now(),
            self.path
        );
        ResultOf {
            rows: self.written,
            run: format!("{:016x}", xxhash_rust::xxh3::xxh3_64(mark.as_bytes())),
            finished: if at.is_empty() {
                rfc3339(std::time::SystemTime::now())
            } else {
                at
            },
            input: whole.to_string(),
        }
    }

    fn drain_in_order(&mut self) -> Result<(), RunError> {
        while let Some((result, _)) = self.waiting.remove(&self.next) {
            self.write(&result)?;
            self.next += 1;
        }
        Ok(())
    }

    fn write(&mut self, result: &RowResult) -> Result<(), RunError> {
        let failed = |e| RunError::csv("cannot write the results file", e);
        // In `RESULT_COLUMNS` order, with no string made per row; numbers are never guarded
        // (they cannot start a formula).
        let outcome = &result.outcome;
        let (writer, scratch, raw) = (&mut self.writer, &mut self.scratch, self.raw);
        number_field(writer, scratch, Some(result.row)).map_err(failed)?;
        writer.write_field(outcome.status.as_str()).map_err(failed)?;
        text_field(writer, scratch, &outcome.message, raw).map_err(failed)?;
        text_field(writer, scratch, &outcome.guest_id, raw).map_err(failed)?;
        number_field(writer, scratch, outcome.http_status.map(u64::from)).map_err(failed)?;
        number_field(writer, scratch, Some(u64::from(outcome.attempts))).map_err(failed)?;
        let provenance = result.provenance.as_ref();
        for cell in [
            provenance.map(|p| &p.org),
            provenance.map(|p| &p.api),
            provenance.map(|p| &p.run_started),
            provenance.map(|p| &p.at),
        ] {
            text_field(writer, scratch, cell.map_or("", String::as_str), raw).map_err(failed)?;
        }
        text_field(writer, scratch, &outcome.created_at, raw).map_err(failed)?;
        text_field(writer, scratch, &outcome.link, raw).map_err(failed)?;
        // `result_of`: stamped at the end, on every row at once, by a run that finished.
        writer.write_field("").map_err(failed)?;
        for cell in result.cells.iter() {
            text_field(writer, scratch, cell, raw).map_err(failed)?;
        }
        self.writer.write_record(None::<&[u8]>).map_err(failed)?;
        // Moves the whole row out of csv's buffer (no I/O); the sink writes whole rows only.
        self.writer
            .flush()
            .map_err(|e| RunError::io("cannot write the results", e))?;
        if self.writer.get_ref().pending.borrow().len() >= COMMIT_BYTES {
            self.writer
                .get_ref()
                .commit()
                .map_err(|e| RunError::io("cannot write the results", e))?;
        }
        self.written += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RunError> {
        self.last_flush = Instant::now();
        self.writer
            .flush()
            .and_then(|()| self.writer.get_ref().commit())
            .map_err(|e| RunError::io("cannot write the results", e))
    }
}

/// Rewrites a results file in `result_row` order, with `of` in every row's `result_of` when
/// given. Rows are only ever a little out of order (by what finished during one slow request),
/// so a heap of the displaced ones is all it holds.
fn rewrite(path: &Path, style: CsvStyle, of: Option<&str>) -> Result<(), RunError> {
    let what = || format!("cannot put {} in order", path.display());
    let mut file = io::BufReader::new(File::open(path).map_err(|e| RunError::io(what(), e))?);
    // The writer below adds its own byte order mark in Excel mode.
    if style.bom
        && io::BufRead::fill_buf(&mut file)
            .map_err(|e| RunError::io(what(), e))?
            .starts_with(crate::files::output::UTF8_BOM)
    {
        io::BufRead::consume(&mut file, crate::files::output::UTF8_BOM.len());
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .delimiter(style.delimiter)
        .from_reader(file);
    let mut sorted = AtomicFile::create(path).map_err(|e| RunError::io(what(), e))?;
    {
        let mut writer = crate::files::output::csv_writer(BufWriter::new(sorted.writer()), style)
            .map_err(|e| RunError::io(what(), e))?;
        let mut records = reader.byte_records();
        if let Some(header) = records.next() {
            let header = header.map_err(|e| RunError::csv(what(), e))?;
            writer
                .write_byte_record(&header)
                .map_err(|e| RunError::csv(what(), e))?;
        }
        let mut heap = BinaryHeap::new();
        let mut next_row = 2u64;
        for record in records {
            let record = record.map_err(|e| RunError::csv(what(), e))?;
            let row: u64 = std::str::from_utf8(&record[ROW_AT])
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            let mut cells: Vec<Vec<u8>> = record.iter().map(<[u8]>::to_vec).collect();
            if let (Some(of), Some(cell)) = (of, cells.get_mut(OF_AT)) {
                *cell = of.as_bytes().to_vec();
            }
            heap.push(Reverse((row, cells)));
            while heap.peek().is_some_and(|Reverse((row, _))| *row <= next_row) {
                let Reverse((row, cells)) = heap.pop().expect("peeked");
                writer.write_record(&cells).map_err(|e| RunError::csv(what(), e))?;
                next_row = next_row.max(row + 1);
            }
        }
        for Reverse((_, cells)) in heap.into_sorted_vec().into_iter().rev() {
            writer.write_record(&cells).map_err(|e| RunError::csv(what(), e))?;
        }
        writer.flush().map_err(|e| RunError::io(what(), e))?;
    }
    sorted.commit().map_err(|e| RunError::io(what(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_positions_are_the_columns_they_name() {
        assert_eq!(RESULT_COLUMNS[ROW_AT], "result_row");
        assert_eq!(RESULT_COLUMNS[STATUS_AT], "result_status");
        assert_eq!(RESULT_COLUMNS[MESSAGE_AT], "result_message");
        assert_eq!(RESULT_COLUMNS[OF_AT], "result_of");
    }

    fn result(index: u64) -> RowResult {
        RowResult::new(
            index,
            index + 2,
            Status::Created,
            "",
            vec![format!("r{index}@x.com")].into(),
        )
    }

    /// A results writer to `path` for an input of one column.
    fn writer(path: &Path, column: &str) -> ResultsWriter {
        ResultsWriter::create(
            Some(path),
            &[column.to_string()],
            false,
            CsvStyle::new(false),
            RunStamp::default(),
        )
        .unwrap()
    }

    fn rows(path: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines()
            .skip(1)
            .map(|line| line.split(',').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn rows_arriving_out_of_order_end_up_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut writer = writer(&path, "email");
        for index in [1, 0, 3, 2, 4] {
            writer.push(result(index)).unwrap();
        }
        assert_eq!(writer.finish(None).unwrap(), 5);
        assert_eq!(rows(&path), ["2", "3", "4", "5", "6"]);
    }

    #[test]
    fn a_row_held_behind_a_slow_one_reaches_the_disk_and_is_sorted_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut writer = writer(&path, "email");
        writer.push(result(0)).unwrap();
        for index in 2..6 {
            writer.push(result(index)).unwrap();
        }
        std::thread::sleep(HOLD + Duration::from_millis(50));
        writer.tick().unwrap();
        assert_eq!(
            rows(&path),
            ["2", "4", "5", "6", "7"],
            "on disk while row 3 is still running"
        );
        writer.push(result(1)).unwrap();
        writer.finish(None).unwrap();
        assert_eq!(rows(&path), ["2", "3", "4", "5", "6", "7"]);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn generated_cells_and_original_cells_are_protected_from_formulas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut writer = writer(&path, "phone");
        let mut row = result(0);
        row.outcome.message = "=cmd".into();
        row.cells = ["+44 20"].into_iter().collect();
        writer.push(row).unwrap();
        writer.finish(None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("2,created,'=cmd,,,0,,,,,,,,'+44 20\n"), "{text}");
    }
}
