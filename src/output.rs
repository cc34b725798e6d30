//! CSV output shared by export and results: spreadsheet formula neutralisation and files that
//! appear under their final name only when complete.

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

/// Excel, LibreOffice and Google Sheets run a cell starting with one of these as a formula
/// (OWASP "CSV injection"). A leading `'` makes them show the text instead.
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell, prefixed with `'` when a spreadsheet would read it as a formula. A cell that
/// already starts with `'` gets one more, so that [`unneutralize`] restores every value exactly.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_TRIGGERS) || cell.starts_with('\'') {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Excel reads a CSV as UTF-8 only when it starts with this.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV writer for our output; `excel` adds a byte order mark and CRLF line ends, so Excel
/// opens accents correctly. Rows may differ in length (a ragged input row is carried as it was).
pub fn csv_writer<W: io::Write>(mut out: W, excel: bool) -> io::Result<csv::Writer<W>> {
    let mut builder = csv::WriterBuilder::new();
    builder.flexible(true);
    if excel {
        out.write_all(UTF8_BOM)?;
        builder.terminator(csv::Terminator::CRLF);
    }
    Ok(builder.from_writer(out))
}

/// Undoes [`neutralize`], so that our own output is valid input again. A lone leading `'` that
/// protects nothing (`'abc` typed by a person) is left alone.
pub fn unneutralize(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_TRIGGERS) || rest.starts_with('\'') => rest,
        _ => cell,
    }
}

/// Checks, before anything is sent, that a file can be written at `path`: it is not a folder,
/// its folder exists, and new files can be made there. `flag` names the option in the message.
pub fn check_writable(path: &Path, flag: &str) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("{flag} {shown} is a folder: give a file name"));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "{flag} {shown}: the folder {} does not exist (create it, or choose another path)",
            dir.display()
        ));
    }
    // A device, FIFO or other special file already there is written in place, not beside.
    if path.exists() && !path.is_file() {
        return Ok(());
    }
    tempfile::Builder::new()
        .prefix(".tallyfy-guests-check-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| {
            format!(
                "{flag} {shown}: cannot create files in {} ({})",
                dir.display(),
                crate::error::io_words(&e)
            )
        })
}

/// A file written beside its destination under a temporary name and renamed into place by
/// [`AtomicFile::commit`]. Dropped without a commit, it disappears: a failed run never leaves a
/// file that looks complete.
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<Self> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // The temporary name means nothing to a person: an error names the destination.
        let temp = tempfile::Builder::new()
            .prefix(".tallyfy-guests-")
            .suffix(".partial")
            .tempfile_in(dir)
            .map_err(|e| io::Error::new(e.kind(), crate::error::io_words(&e)))?;
        Ok(AtomicFile {
            temp,
            path: path.to_path_buf(),
        })
    }

    pub fn writer(&mut self) -> &mut std::fs::File {
        self.temp.as_file_mut()
    }

    /// Flushes to disk and renames into place.
    pub fn commit(self) -> io::Result<()> {
        self.temp.as_file().sync_all()?;
        self.temp
            .persist(&self.path)
            .map_err(|e| io::Error::new(e.error.kind(), crate::error::io_words(&e.error)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralized_and_restored() {
        for cell in ["=SUM(A1)", "+1 212 555", "-2", "@cmd", "\tx", "\rx"] {
            let safe = neutralize(cell);
            assert_eq!(safe, format!("'{cell}"));
            assert_eq!(unneutralize(&safe), cell);
        }
        for cell in ["plain", "", "a=b", "1+1", "O'Neil"] {
            assert_eq!(neutralize(cell), cell);
            assert_eq!(unneutralize(cell), cell);
        }
        for cell in ["'quoted", "'=x", "''"] {
            assert_eq!(unneutralize(&neutralize(cell)), cell, "{cell}");
        }
        assert_eq!(unneutralize("'typed by a person"), "'typed by a person");
    }

    #[test]
    fn an_uncommitted_file_never_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        {
            let mut file = AtomicFile::create(&path).unwrap();
            io::Write::write_all(file.writer(), b"half").unwrap();
        }
        assert!(!path.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary file left behind"
        );
        let mut file = AtomicFile::create(&path).unwrap();
        io::Write::write_all(file.writer(), b"whole").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "whole");
    }
}
