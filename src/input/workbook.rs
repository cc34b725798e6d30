//! Excel and OpenDocument workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) via calamine: the first
//! sheet or `--sheet NAME`, cells as the text a person sees: whole numbers without `.0` (phone
//! numbers and ids typed as numbers), dates as ISO text.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{Data, DataRef, Reader, Sheets, open_workbook_auto_from_rs};

use super::error::InputError;
use super::format::Format;
use super::options::InputOptions;
use super::records::CELL_CAP;
use super::rows::{MAX_COLUMNS, Records, SheetRow};

/// A sheet's non-empty rows, in order.
#[derive(Debug)]
pub(super) struct Sheet {
    pub name: String,
    pub rows: Vec<SheetRow>,
}

/// Non-empty cells a sheet may hold: far beyond any guest list, and bounded memory.
pub(super) const MAX_CELLS: u64 = 10_000_000;
/// Text a sheet may hold in all (a cell's shared string can be repeated a million times).
pub(super) const MAX_TEXT: u64 = 256 * 1024 * 1024;
/// What the parts of a zipped workbook (.xlsx, .xlsb, .ods) may expand to, each and together.
pub(super) const MAX_PART: u64 = 128 * 1024 * 1024;
pub(super) const MAX_UNZIPPED: u64 = 256 * 1024 * 1024;
/// Parts in a zipped workbook; a real one has a few dozen.
const MAX_PARTS: usize = 10_000;

/// `PK\x03\x04` (a zip: xlsx, ods) or the OLE header (xls): a workbook whatever its name says.
pub(super) fn looks_like_workbook(start: &[u8]) -> bool {
    start.starts_with(b"PK\x03\x04") || start.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// Reads the sheet named `sheet`, or else the first sheet that has an email header among its
/// first rows (`map` counts, as `--map` gives it): a guest list after a "Read me" sheet is
/// found with no flag, and said in the log. When no sheet has one, the error lists the sheets
/// and names `--sheet`.
pub(super) fn read(bytes: Vec<u8>, sheet: Option<&str>, map: &[(String, super::Target)]) -> Result<Sheet, String> {
    if bytes.starts_with(b"PK") {
        check_zip(&bytes)?;
    }
    let mut workbook =
        open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| format!("cannot open it as a workbook: {e}"))?;
    let names = workbook.sheet_names();
    if let Some(wanted) = sheet {
        let name = names
            .iter()
            .find(|name| name.as_str() == wanted || name.eq_ignore_ascii_case(wanted))
            .cloned()
            .ok_or_else(|| format!("has no sheet `{wanted}`; its sheets are {}", quoted(&names)))?;
        return sheet_rows(&mut workbook, name);
    }
    let first = names.first().cloned().ok_or("has no sheets")?;
    let first = sheet_rows(&mut workbook, first)?;
    if names.len() == 1 || has_email_header(&first, map) {
        return Ok(first);
    }
    for name in &names[1..] {
        let Ok(sheet) = sheet_rows(&mut workbook, name.clone()) else {
            continue;
        };
        if has_email_header(&sheet, map) {
            tracing::info!(
                "reading sheet `{name}`: the first sheet, `{}`, has no email column (--sheet NAME chooses another)",
                first.name
            );
            return Ok(sheet);
        }
    }
    Err(format!(
        "has no sheet with an email column in its first {HEADER_ROWS} rows; its sheets are {}: name the guests' sheet with --sheet NAME (and its email column with --map \"Column=email\")",
        quoted(&names)
    ))
}

/// Rows looked at for an email header when choosing a sheet (as the header search does).
const HEADER_ROWS: usize = 10;

/// Whether one of the sheet's first rows names an email column.
fn has_email_header(sheet: &Sheet, map: &[(String, super::Target)]) -> bool {
    sheet.rows.iter().take(HEADER_ROWS).any(|row| {
        // Header cells sit in the first columns: a row is no wider than its last cell.
        let width = row
            .cells
            .last()
            .map_or(0, |(col, _)| *col as usize + 1)
            .min(MAX_COLUMNS);
        let mut cells = vec![String::new(); width];
        for (col, text) in &row.cells {
            if let Some(slot) = cells.get_mut(*col as usize) {
                *slot = text.trim().to_string();
            }
        }
        super::header::map_header(&cells, map).is_ok()
    })
}

/// Every non-empty row of the sheet `name`.
fn sheet_rows(workbook: &mut Sheets<Cursor<Vec<u8>>>, name: String) -> Result<Sheet, String> {
    let unreadable = |e: &dyn std::fmt::Display| format!("cannot read sheet `{name}`: {e}");
    let mut cells = Cells::default();
    // Excel's formats are read cell by cell; the others (xls, ods) through calamine's range,
    // which their own formats bound (xls: 65,536 × 256; ods: calamine's caps).
    match workbook {
        Sheets::Xlsx(xlsx) => {
            let mut reader = xlsx.worksheet_cells_reader(&name).map_err(|e| unreadable(&e))?;
            while let Some(cell) = reader.next_cell().map_err(|e| unreadable(&e))? {
                let (row, col) = cell.get_position();
                cells.add(row, col, text_of(cell.get_value()))?;
            }
        }
        Sheets::Xlsb(xlsb) => {
            let mut reader = xlsb.worksheet_cells_reader(&name).map_err(|e| unreadable(&e))?;
            while let Some(cell) = reader.next_cell().map_err(|e| unreadable(&e))? {
                let (row, col) = cell.get_position();
                cells.add(row, col, text_of(cell.get_value()))?;
            }
        }
        other => {
            let range = other.worksheet_range(&name).map_err(|e| unreadable(&e))?;
            for (row, col, value) in range.used_cells() {
                let (start_row, start_col) = range.start().unwrap_or((0, 0));
                cells.add(start_row + row as u32, start_col + col as u32, cell_text(value))?;
            }
        }
    }
    Ok(Sheet {
        name,
        rows: cells.rows.into_values().collect(),
    })
}

/// The non-empty cells of a sheet as they are read, within the caps.
#[derive(Default)]
struct Cells {
    rows: BTreeMap<u32, SheetRow>,
    count: u64,
    text: u64,
}

impl Cells {
    fn add(&mut self, row: u32, col: u32, mut text: String) -> Result<(), String> {
        if text.trim().is_empty() {
            return Ok(());
        }
        let entry = self.rows.entry(row).or_insert_with(|| SheetRow {
            row: u64::from(row) + 1,
            ..SheetRow::default()
        });
        if text.len() > CELL_CAP {
            let mut at = CELL_CAP;
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at);
            entry.cut.push(col);
        }
        self.count += 1;
        self.text += text.len() as u64;
        if self.count > MAX_CELLS {
            return Err(format!(
                "holds more than {} million cells: save the guest list as CSV, or split it",
                MAX_CELLS / 1_000_000
            ));
        }
        if self.text > MAX_TEXT {
            return Err(format!(
                "holds more than {} MiB of text: save the guest list as CSV, or split it",
                MAX_TEXT / (1024 * 1024)
            ));
        }
        // Cells come in order within a row in every format; keep them sorted regardless.
        match entry.cells.last() {
            Some((last, _)) if *last >= col => {
                let at = entry.cells.partition_point(|(c, _)| *c < col);
                if entry.cells.get(at).is_some_and(|(c, _)| *c == col) {
                    entry.cells[at].1 = text;
                } else {
                    entry.cells.insert(at, (col, text));
                }
            }
            _ => entry.cells.push((col, text)),
        }
        Ok(())
    }
}

/// A zip bomb is refused before anything unpacks it: every part is inflated once into nothing,
/// counting, and none may pass `MAX_PART`, nor all together `MAX_UNZIPPED` (sizes the zip
/// declares are not trusted).
fn check_zip(bytes: &[u8]) -> Result<(), String> {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive,
        // Not a zip after all: calamine says what it is not.
        Err(_) => return Ok(()),
    };
    if archive.len() > MAX_PARTS {
        return Err(format!(
            "has {} parts inside; a workbook has a few dozen",
            archive.len()
        ));
    }
    let mut total = 0u64;
    for index in 0..archive.len() {
        let Ok(part) = archive.by_index(index) else {
            continue;
        };
        let name = part.name().map(|n| n.into_owned()).unwrap_or_default();
        let size = std::io::copy(&mut part.take(MAX_PART + 1), &mut std::io::sink()).unwrap_or(0);
        total += size;
        if size > MAX_PART || total > MAX_UNZIPPED {
            return Err(format!(
                "unpacks to more than {} MiB (its part `{name}` alone to {} MiB or more): it is not a guest list, or it is a zip bomb",
                MAX_UNZIPPED / (1024 * 1024),
                size / (1024 * 1024)
            ));
        }
    }
    Ok(())
}

/// A streamed cell's text; a long string is cut before it is copied (a shared string may be
/// referenced by a million cells).
fn text_of(value: &DataRef<'_>) -> String {
    match value {
        DataRef::String(text) => prefix(text),
        DataRef::SharedString(text) => prefix(text),
        other => cell_text(&Data::from(other.clone())),
    }
}

/// At most `CELL_CAP` bytes and one more (so that the cut is noticed), on a char boundary.
fn prefix(text: &str) -> String {
    let mut at = text.len().min(CELL_CAP + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text[..at].to_string()
}

/// A workbook is read whole into memory (its format needs it): at most this much of it.
pub const MAX_WORKBOOK: u64 = 256 * 1024 * 1024;

/// Opens a workbook for import: its header (the first non-empty row) and rows.
pub(super) fn open(
    reader: Box<dyn Read + Send>,
    name: &str,
    options: &InputOptions,
) -> Result<(Vec<String>, Records, Format, u64), InputError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_WORKBOOK + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| InputError::Unreadable {
            name: name.to_string(),
            error,
        })?;
    if bytes.len() as u64 > MAX_WORKBOOK {
        return Err(InputError::Workbook {
            name: name.to_string(),
            reason: format!(
                "is larger than {} MiB: save the guest list as CSV, which is read as a stream",
                MAX_WORKBOOK / (1024 * 1024)
            ),
        });
    }
    let sheet = read(bytes, options.sheet.as_deref(), &options.map).map_err(|reason| InputError::Workbook {
        name: name.to_string(),
        reason,
    })?;
    let mut rows = sheet.rows.into_iter();
    let first = rows
        .next()
        .ok_or_else(|| InputError::Empty(format!("{name} (sheet `{}`)", sheet.name)))?;
    let first_at = first.row;
    let mut header = first.expand(0);
    while header.last().is_some_and(|c| c.trim().is_empty()) {
        header.pop();
    }
    let header = header.into_iter().map(|c| c.trim().to_string()).collect();
    Ok((
        header,
        Records::Sheet(rows),
        Format::Workbook { sheet: sheet.name },
        first_at,
    ))
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The text a person sees in the cell.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
        Data::Int(number) => number.to_string(),
        // 4155550134 typed into a cell is stored as 4155550134.0: show it as typed.
        Data::Float(number) if number.fract() == 0.0 && number.abs() < 1e15 => format!("{}", *number as i64),
        Data::Float(number) => number.to_string(),
        Data::Bool(flag) => flag.to_string(),
        Data::DateTime(value) => match value.as_datetime() {
            Some(when) if when.time() == chrono::NaiveTime::MIN => when.date().to_string(),
            Some(when) => when.format("%Y-%m-%dT%H:%M:%S").to_string(),
            None => value.as_f64().to_string(),
        },
        Data::Error(error) => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_people_see_them() {
        assert_eq!(cell_text(&Data::Float(4155550134.0)), "4155550134");
        assert_eq!(cell_text(&Data::Float(1001.0)), "1001");
        assert_eq!(cell_text(&Data::Float(2.5)), "2.5");
        assert_eq!(cell_text(&Data::Int(-3)), "-3");
        assert_eq!(cell_text(&Data::Bool(true)), "true");
        assert_eq!(cell_text(&Data::String("x".into())), "x");
    }

    #[test]
    fn magic_numbers() {
        assert!(looks_like_workbook(b"PK\x03\x04rest"));
        assert!(looks_like_workbook(&[
            0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0
        ]));
        assert!(!looks_like_workbook(b"email,name"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(
            read(b"PK\x03\x04 not really a zip".to_vec(), None, &[])
                .unwrap_err()
                .starts_with("cannot open it as a workbook")
        );
    }
}
