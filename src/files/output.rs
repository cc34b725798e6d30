//! CSV output shared by export and results: spreadsheet formula neutralisation, files that
//! appear under their final name only when complete, and outputs written in place (a FIFO, a
//! device) that never keep a run waiting beyond `--io-timeout` (see `wait`).

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

/// Excel, LibreOffice and Google Sheets run a cell starting with one of these as a formula
/// (OWASP "CSV injection"). A leading `'` makes them show the text instead.
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell, prefixed with `'` when a spreadsheet would read it as a formula. A cell that
/// already starts with `'` gets one more, so that [`unneutralize`] restores every value exactly.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if needs_guard(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Whether a spreadsheet would read the cell as a formula (or it starts with our guard, which
/// is then doubled so that reading it back gives the cell exactly).
pub fn needs_guard(cell: &str) -> bool {
    cell.starts_with(FORMULA_TRIGGERS) || cell.starts_with('\'')
}

/// Excel reads a CSV as UTF-8 only when it starts with this.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How a CSV of ours looks: its delimiter, and whether it opens with a UTF-8 byte order mark
/// (so that Excel reads accents right) and ends lines with CRLF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvStyle {
    /// The cell delimiter.
    pub delimiter: u8,
    /// Open with a UTF-8 byte order mark.
    pub bom: bool,
    /// End lines with CRLF.
    pub crlf: bool,
}

impl CsvStyle {
    /// `,`, no byte order mark, LF: the default; `--excel` adds the mark and CRLF.
    pub fn new(excel: bool) -> Self {
        CsvStyle {
            delimiter: b',',
            bom: excel,
            crlf: excel,
        }
    }

    /// The style of a results file for an input read as `encoding` with `delimiter`: the same
    /// delimiter, so a European Excel file (`;`) gets `;` results, and a byte order mark when the
    /// input had one or was not UTF-8, so Excel opens it with the accents right.
    pub fn like_input(delimiter: u8, had_bom: bool, utf8: bool, excel: bool) -> Self {
        CsvStyle {
            delimiter,
            bom: excel || had_bom || !utf8,
            crlf: excel,
        }
    }
}

/// A CSV writer for our output in `style`. Rows may differ in length (a ragged input row is
/// carried as it was).
pub fn csv_writer<W: io::Write>(mut out: W, style: CsvStyle) -> io::Result<csv::Writer<W>> {
    let mut builder = csv::WriterBuilder::new();
    builder.flexible(true).delimiter(style.delimiter);
    if style.bom {
        out.write_all(UTF8_BOM)?;
    }
    if style.crlf {
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
                crate::words::io_words(&e)
            )
        })
}

/// Whether two paths name one file: by device and inode when both exist (so hard links,
/// symlinks and `./x` beside `x` are caught), else by their absolute paths. Character devices
/// such as `/dev/null` take any number of writers and are never "the same file".
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino() && !x.file_type().is_char_device();
        }
    }
    absolute(a) == absolute(b)
}

/// The path made absolute with its folder resolved (the file itself may not exist yet).
fn absolute(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match (dir.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Every file the tool writes is created with this mode, less the umask: none of them holds a
/// secret, and a results file shared with a colleague should open.
pub const FILE_MODE: u32 = 0o644;

/// Creates (truncates) a file for writing in place, with `FILE_MODE`.
pub fn create_file(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options.open(path)
}

/// Whether an output path may be replaced by renaming a finished file over it: nothing is
/// there yet, or a plain regular file. A device (`/dev/null`), a FIFO, a terminal or a symlink
/// is written in place instead: renaming over it would destroy it (or the link).
pub fn replaceable(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => meta.file_type().is_file(),
        Err(_) => true,
    }
}

/// `path` with every symlink resolved (a link to a link, a link to a file not yet made, a
/// relative link), so that every name of one file gives one path: the lock's, and the file a
/// results file reached through a link is written as.
pub fn real_path(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    // The file is not there yet (or a link points at nothing yet): resolve links by hand,
    // then the folder it is in.
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&path) {
            Ok(target) => {
                path = match path.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                }
            }
            Err(_) => break,
        }
    }
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (std::fs::canonicalize(folder), path.file_name()) {
        (Ok(folder), Some(name)) => folder.join(name),
        _ => path,
    }
}

/// Opens `path` for writing in place (a FIFO, a device, a symlink): never blocking, so a FIFO
/// that nobody has opened for reading yet is tried again until a reader comes, `--io-timeout`
/// passes or a signal arrives (a blocking open waited for ever, deaf to SIGTERM).
pub fn open_in_place(path: &Path) -> io::Result<InPlace> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut waiting = None;
        loop {
            let open = |truncate: bool| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(truncate)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(path)
            };
            // Truncated when it can be (a symlink to a file); a device or FIFO may refuse that.
            match open(true).or_else(|e| if no_reader(&e) { Err(e) } else { open(false) }) {
                Ok(file) => return Ok(InPlace { file }),
                Err(e) if no_reader(&e) => {
                    waiting
                        .get_or_insert_with(crate::files::wait::Waiting::start)
                        .tick(|limit| {
                            format!(
                                "no program opened it for reading within {} (--io-timeout)",
                                crate::files::wait::seconds(limit)
                            )
                        })?;
                }
                Err(e) => return Err(e),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .or_else(|_| std::fs::OpenOptions::new().write(true).open(path))?;
        Ok(InPlace { file })
    }
}

/// `ENXIO`: a FIFO opened for writing without blocking has no reader (yet).
#[cfg(unix)]
fn no_reader(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENXIO)
}

/// An output written in place, opened by [`open_in_place`]: a write that cannot go on (a pipe
/// whose reader stopped reading) waits for room up to `--io-timeout`, or until a signal.
pub struct InPlace {
    file: std::fs::File,
}

impl io::Write for InPlace {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut waiting = None;
        loop {
            match self.file.write(bytes) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let waiting = waiting.get_or_insert_with(crate::files::wait::Waiting::start);
                    let _room = crate::files::wait::until_ready(&self.file, false);
                    waiting.check(|limit| {
                        format!(
                            "nothing read from it for {} (--io-timeout)",
                            crate::files::wait::seconds(limit)
                        )
                    })?;
                }
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// An output file. A path that is [`replaceable`] is written beside its destination under a
/// temporary name and renamed into place by [`AtomicFile::commit`]; dropped without a commit,
/// it disappears, so a failed run never leaves a file that looks complete. Anything else is
/// opened and written in place (through a symlink, into a device or FIFO).
pub struct AtomicFile {
    inner: Inner,
}

enum Inner {
    Temp {
        temp: tempfile::NamedTempFile,
        path: PathBuf,
    },
    InPlace(InPlace),
}

/// An I/O error in plain words; the temporary name means nothing to a person.
fn plain(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), crate::words::io_words(&e))
}

impl AtomicFile {
    /// Opens the output: a temporary file beside `path`, or `path` itself when it is special.
    pub fn create(path: &Path) -> io::Result<Self> {
        if !replaceable(path) {
            return Ok(AtomicFile {
                inner: Inner::InPlace(open_in_place(path).map_err(plain)?),
            });
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".tallyfy-guests-").suffix(".partial");
        // The same mode as every file the tool writes (a temporary file would be 0600).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(FILE_MODE));
        }
        let temp = builder.tempfile_in(dir).map_err(plain)?;
        Ok(AtomicFile {
            inner: Inner::Temp {
                temp,
                path: path.to_path_buf(),
            },
        })
    }

    /// The file to write into.
    pub fn writer(&mut self) -> &mut (dyn io::Write + Send) {
        match &mut self.inner {
            Inner::Temp { temp, .. } => temp.as_file_mut(),
            Inner::InPlace(file) => file,
        }
    }

    /// Flushes to disk and renames into place (or just flushes, written in place).
    pub fn commit(self) -> io::Result<()> {
        match self.inner {
            Inner::Temp { temp, path } => {
                temp.as_file().sync_all().map_err(plain)?;
                temp.persist(&path).map_err(|e| plain(e.error))?;
            }
            Inner::InPlace(mut file) => io::Write::flush(&mut file).map_err(plain)?,
        }
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

    #[cfg(unix)]
    #[test]
    fn special_files_and_links_are_written_in_place_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.csv");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(!replaceable(&link));
        let mut file = AtomicFile::create(&link).unwrap();
        io::Write::write_all(file.writer(), b"new").unwrap();
        file.commit().unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert!(replaceable(&target) && replaceable(&dir.path().join("absent.csv")));
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
