//! The file reader: records are read, decoded and validated on a thread of their own (CPU
//! work that must not hold up the requests) and handed over in batches through a bounded
//! channel, so memory stays flat however large the file is.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::dedupe::{Mention, mention_keys};
use crate::engine::outcome::PreviousResult;
use crate::engine::stop::Stop;
use crate::input::{Field, Input, InputRecord};
use crate::validate::{Problem, check};

/// Rows travel from the reader thread in batches (one wake-up per batch, not per row) ...
const BATCH_ROWS: usize = 256;
/// ... or of at most this many bytes (as `InputRecord::memory` counts them) ...
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// ... and this many batches may wait, which bounds the memory between the two.
const CHANNEL_BATCHES: usize = 8;

/// A record after validation.
pub(crate) struct Parsed {
    pub record: InputRecord,
    /// What validation found: the member ids of a valid row (the guest itself is made from
    /// the cells only for a row that needs one), or every problem of the row.
    pub valid: Result<Vec<u64>, Vec<Problem>>,
    /// The keys of every address the row mentions outside what it imports: every cell with an
    /// at sign, in any column (a second email, a display name, a note), and the email cell too
    /// in a row that is not imported as it stands (invalid, or copied through by
    /// `--retry-from`). Their guests are not missing from the file (issue 30). Computed here,
    /// on the reader's thread, and empty (no allocation) for a row with no such cell.
    pub mentioned: Vec<Mention>,
    /// With `--retry-from`: the earlier run's account of the row.
    pub previous: Option<PreviousResult>,
}

/// Starts reading `input` on a blocking thread; it stops early when `stop` halts reading. The
/// thread's answer says whether every record of the file was read (no halt, no read error).
pub(crate) fn spawn(mut input: Input, stop: Arc<Stop>) -> (mpsc::Receiver<Vec<Parsed>>, JoinHandle<bool>) {
    // Reading and validating is CPU work on a thread of its own; the bounded channel keeps
    // memory flat however large the file is.
    let (tx, rx) = mpsc::channel::<Vec<Parsed>>(CHANNEL_BATCHES);
    let map = input.map.clone();
    // A pipe may deliver rows slowly: do not hold them back waiting for a full batch.
    let batch_rows = if input.stream { 1 } else { BATCH_ROWS };
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(batch_rows);
        let mut batch_bytes = 0usize;
        for mut record in input.by_ref() {
            if stop.reading_halted() {
                tracing::warn!("stopped reading the file before row {}", record.row);
                return false;
            }
            let valid = check(&record, &map);
            let previous = PreviousResult::parse(std::mem::take(&mut record.previous));
            // Rows of an earlier results file are mentioned too: for one that is re-run the
            // mention is harmless, as dedupe still counts its row as the first occurrence.
            let imported = valid.is_ok() && previous.is_none();
            let mentioned = mentions(&record, imported.then(|| map.column(Field::Email)).flatten());
            batch_bytes += record.memory();
            batch.push(Parsed {
                record,
                valid,
                mentioned,
                previous,
            });
            // A batch ends at a number of rows or of bytes, whichever comes first: wide rows
            // (thousands of cells) must not make the batches in the channel gigabytes.
            if batch.len() == batch_rows || batch_bytes >= BATCH_BYTES {
                batch_bytes = 0;
                let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_rows));
                if tx.blocking_send(full).is_err() {
                    return false;
                }
            }
        }
        if !batch.is_empty() && tx.blocking_send(batch).is_err() {
            return false;
        }
        input.read_to_end()
    });
    (rx, reader)
}

/// The keys of the addresses in every cell of a row but `imported_email` (the email cell of a
/// row that is imported: dedupe checks it). Only cells with an at sign are read further, so a
/// row without one costs a byte scan a cell.
fn mentions(record: &InputRecord, imported_email: Option<usize>) -> Vec<Mention> {
    let mut mentions: Vec<Mention> = Vec::new();
    for (column, cell) in record.cells.iter().enumerate() {
        if Some(column) == imported_email || !crate::mentions::may_hold_address(cell) {
            continue;
        }
        let column = column as u32;
        mention_keys(cell, |key| {
            // The same address read two ways (whole, and as a token) is one mention.
            if mentions.last().is_none_or(|last| last.key != key) {
                mentions.push(Mention { key, column });
            }
        });
    }
    mentions
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::input::InputOptions;

    /// Gives its bytes, then fails, as a disk or a network share can.
    struct FailingAfter(std::io::Cursor<Vec<u8>>);

    impl Read for FailingAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(std::io::Error::other("the disk went away")),
                n => Ok(n),
            }
        }
    }

    async fn read_all(input: Input) -> (u64, bool) {
        let (mut rx, reader) = spawn(input, Arc::new(Stop::default()));
        let mut rows = 0;
        while let Some(batch) = rx.recv().await {
            rows += batch.len() as u64;
        }
        (rows, reader.await.unwrap())
    }

    #[tokio::test]
    async fn the_reader_says_whether_it_read_the_whole_file() {
        // Bigger than the sample read to detect the format (1 MiB), so the failure cuts the rows.
        let text: String = std::iter::once("email\n".to_string())
            .chain((0..100_000).map(|i| format!("g{i}@example.com\n")))
            .collect();
        let options = InputOptions::default();
        let whole = Input::from_reader(
            Box::new(std::io::Cursor::new(text.clone().into_bytes())),
            "a".into(),
            &options,
        );
        assert_eq!(read_all(whole.unwrap()).await, (100_000, true));
        let cut = FailingAfter(std::io::Cursor::new(text.into_bytes()));
        let (rows, whole) = read_all(Input::from_reader(Box::new(cut), "b".into(), &options).unwrap()).await;
        assert!(!whole, "a read error is not the end of the file ({rows} rows)");
    }

    #[tokio::test]
    async fn a_file_that_ends_inside_a_quote_is_not_whole() {
        let options = InputOptions::default();
        let open = |text: &str| {
            Input::from_reader(
                Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
                "a".into(),
                &options,
            )
            .unwrap()
        };
        let (rows, whole) = read_all(open("email,name\na@x.com,Ann\nb@x.com,\"Bo\nc@x.com,Cy\n")).await;
        assert_eq!((rows, whole), (2, false), "the open quote swallowed the rest");
        assert_eq!(read_all(open("email,name\na@x.com,\"Ann\nLee\"\n")).await, (1, true));
    }
}
