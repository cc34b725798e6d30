//! Whose file is it: `template` and `export` replace an existing file only when this tool wrote
//! it (an export by its header, a CSV template by being the template still, a workbook by the
//! marker in its document properties, unsaved by anyone since), so a person's spreadsheet is
//! never destroyed by a name typed twice; `--force` says it may go. Also the output names whose
//! extension is a format the tool does not write (`x.ods`), refused rather than filled with CSV.

use std::io::Read;
use std::path::Path;

/// Written into every workbook the tool makes (document properties: author, last saved by, and
/// a comment naming the command); a program that saves it again puts its user in "last saved
/// by" and a later modified time.
pub const MARKER: &str = "tallyfy-guests";

/// What the tool writes at a path, which decides what it may replace there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `template`: replaces only a template still as written (CSV) or an unsaved template workbook.
    Template,
    /// `export`: replaces an earlier export (CSV by its header, or an unsaved export workbook).
    Export,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Template => "template",
            Kind::Export => "export",
        }
    }

    /// The comment the workbook carries, which says which command made it.
    pub fn comment(self) -> String {
        format!("written by {MARKER} {}", self.word())
    }
}

/// The document properties that mark a workbook as the tool's own.
pub fn properties(kind: Kind) -> rust_xlsxwriter::DocProperties {
    rust_xlsxwriter::DocProperties::new()
        .set_author(MARKER)
        .set_comment(kind.comment())
}

/// Extensions of formats people give that the tool does not write (it writes CSV, or an Excel
/// workbook for `.xlsx`): writing CSV under one of these names would make a file nothing opens.
const NOT_WRITTEN: [&str; 12] = [
    "ods", "xls", "xlsm", "xlsb", "numbers", "json", "xml", "pdf", "doc", "docx", "html", "parquet",
];

/// Why `path` cannot be written by `flag`: its extension names a format the tool does not write.
pub fn unwritable_format(path: &Path, flag: &str) -> Option<String> {
    let ext = path.extension()?.to_string_lossy().to_lowercase();
    NOT_WRITTEN.contains(&ext.as_str()).then(|| {
        format!(
            "{flag} {}: the tool writes CSV or an Excel workbook (.xlsx), not .{ext}; give a .csv or .xlsx name",
            path.display()
        )
    })
}

/// Whether `path` may be replaced by `kind`: nothing there, not a regular file (a FIFO or a
/// device is written to, not replaced), an empty file, or one the tool wrote as `kind`.
/// `ours` is what the tool writes there as CSV: the template's whole text, which a CSV
/// template must still be, or an export's header line, which a CSV export opens with.
pub fn check(path: &Path, kind: Kind, force: bool, flag: &str, ours: &[u8]) -> Result<(), String> {
    if force {
        return Ok(());
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if !meta.is_file() || meta.len() == 0 {
        return Ok(());
    }
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|file| file.take(1 << 20).read_to_end(&mut head));
    if read.is_err() {
        // Unreadable: the write will say why; there is nothing here to recognise.
        return Ok(());
    }
    let (ours, what) = if head.starts_with(b"PK") {
        (workbook_is_ours(path, kind), "a workbook")
    } else {
        let ours = match kind {
            Kind::Export => csv_is_export(&head, &String::from_utf8_lossy(ours)),
            Kind::Template => same_text(&head, ours),
        };
        (ours, "a file")
    };
    if ours {
        return Ok(());
    }
    let whose = match kind {
        Kind::Export => "not an export this tool wrote",
        Kind::Template => "not an unfilled template this tool wrote",
    };
    Err(format!(
        "{flag} {} already exists and is {what} {whose}: refusing to replace it (it may be someone's work); choose another name, or pass --force to replace it",
        path.display()
    ))
}

/// An export's `header` opens the file (after any byte order mark), whatever the line ends.
fn csv_is_export(head: &[u8], header: &str) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let first = first.trim_end_matches('\r');
    first == header || first.starts_with(&format!("{header},"))
}

/// The same text as `ours`, ignoring a byte order mark and line ends (Excel may add both).
fn same_text(head: &[u8], ours: &[u8]) -> bool {
    let plain = |bytes: &[u8]| -> Vec<u8> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        bytes.iter().copied().filter(|&b| b != b'\r').collect()
    };
    plain(head) == plain(ours)
}

/// The tool's marker for `kind` in the workbook's document properties, and no sign that
/// another program saved it since (Excel and LibreOffice record who last saved it, and when).
fn workbook_is_ours(path: &Path, kind: Kind) -> bool {
    let core = || -> Option<String> {
        let file = std::fs::File::open(path).ok()?;
        let mut zip = zip::ZipArchive::new(file).ok()?;
        let mut entry = zip.by_name("docProps/core.xml").ok()?;
        let mut text = String::new();
        entry.by_ref().take(1 << 20).read_to_string(&mut text).ok()?;
        Some(text)
    };
    let Some(core) = core() else {
        return false;
    };
    let element = |name: &str| -> Option<&str> {
        let open = core.find(&format!("<{name}"))?;
        let start = open + core[open..].find('>')? + 1;
        let end = start + core[start..].find(&format!("</{name}>"))?;
        Some(&core[start..end])
    };
    element("dc:creator") == Some(MARKER)
        && element("dc:description") == Some(kind.comment().as_str())
        && element("cp:lastModifiedBy") == Some(MARKER)
        && element("dcterms:created") == element("dcterms:modified")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_tool_does_not_write_are_named() {
        assert!(
            unwritable_format(Path::new("x.ODS"), "--output")
                .unwrap()
                .contains("not .ods")
        );
        assert!(unwritable_format(Path::new("x.csv"), "--output").is_none());
        assert!(unwritable_format(Path::new("x.xlsx"), "--output").is_none());
        assert!(unwritable_format(Path::new("guests"), "--output").is_none());
    }

    #[test]
    fn an_export_is_known_by_its_header() {
        let header = "id,email,first_name";
        assert!(csv_is_export(
            format!("\u{feff}{header}\r\n1,a@x.com").as_bytes(),
            header
        ));
        assert!(csv_is_export(format!("{header},assigned_tasks\n").as_bytes(), header));
        assert!(!csv_is_export(b"email,first_name\nann@x.com,Ann\n", header));
    }
}
