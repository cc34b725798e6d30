//! Excel and OpenDocument workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) via calamine: the first
//! sheet or `--sheet NAME`, cells as the text a person sees: whole numbers without `.0` (phone
//! numbers and ids typed as numbers), dates as ISO text.

use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};

/// A sheet's non-empty rows, each with its row number in the sheet (1-based).
#[derive(Debug)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<(u64, Vec<String>)>,
}

/// `PK\x03\x04` (a zip: xlsx, ods) or the OLE header (xls): a workbook whatever its name says.
pub fn looks_like_workbook(start: &[u8]) -> bool {
    start.starts_with(b"PK\x03\x04") || start.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

pub fn read(bytes: Vec<u8>, sheet: Option<&str>) -> Result<Sheet, String> {
    let mut workbook =
        open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| format!("cannot open it as a workbook: {e}"))?;
    let names = workbook.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|name| name.as_str() == wanted || name.eq_ignore_ascii_case(wanted))
            .cloned()
            .ok_or_else(|| format!("has no sheet `{wanted}`; its sheets are {}", quoted(&names)))?,
        None => names.first().cloned().ok_or("has no sheets")?,
    };
    let range = workbook
        .worksheet_range(&name)
        .map_err(|e| format!("cannot read sheet `{name}`: {e}"))?;
    let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            (
                first_row + i as u64 + 1,
                cells.iter().map(cell_text).collect::<Vec<_>>(),
            )
        })
        .filter(|(_, cells)| cells.iter().any(|cell| !cell.trim().is_empty()))
        .collect();
    Ok(Sheet { name, rows })
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
            read(b"PK\x03\x04 not really a zip".to_vec(), None)
                .unwrap_err()
                .starts_with("cannot open it as a workbook")
        );
    }
}
