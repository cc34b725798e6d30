//! The corrected copy: the upload with the cells fixed on the page, in the upload's own format,
//! so it can replace the person's file. A CSV stays a CSV (UTF-8 with a byte order mark and
//! CRLF, for Excel; the formula guard on, as every text file the tool writes). A workbook
//! stays a workbook: every sheet and every row kept where it was (title rows included, so row
//! numbers do not shift), numbers still numbers, the fixed cells typed in as text; a workbook
//! cell holds text as text, so no guard (`'`) is needed before a phone. A row left out on the
//! page is not in a CSV's copy and is emptied in a workbook's (so the rows below keep their
//! numbers). Reads only the upload.

use std::path::{Path, PathBuf};

use calamine::{Data, Reader};

use super::runs::{Meta, RunDir};
use super::table::targets;
use crate::input::{CellEdit, Input, InputOptions, Source};

/// Writes the corrected copy beside the upload (`corrected.xlsx` when it is a workbook whose
/// guests are on `sheet`, else `corrected.csv`) and returns where.
pub(super) fn write(upload: &Path, sheet: Option<&str>, meta: &Meta, run: &RunDir) -> Result<PathBuf, String> {
    let edits = meta.cell_edits();
    if let Some(sheet) = sheet {
        let to = run.corrected_xlsx();
        workbook(upload, sheet, &edits, &meta.skipped, &to)?;
        return Ok(to);
    }
    let options = InputOptions {
        map: targets(&meta.map),
        edits,
        skip: meta.skipped.clone(),
        ..InputOptions::default()
    };
    let input = Input::open(&Source::File(upload.to_path_buf()), &options).map_err(|e| e.to_string())?;
    let to = run.corrected();
    text(input, &to)?;
    Ok(to)
}

/// The CSV: the header and the records as the input reads them, the edits applied.
fn text(input: Input, to: &Path) -> Result<(), String> {
    let mut out = Vec::new();
    {
        // As Excel opens it: a byte order mark, CRLF.
        let style = crate::files::output::CsvStyle::new(true);
        let mut writer = crate::files::output::csv_writer(&mut out, style).map_err(|e| e.to_string())?;
        let guard = |cell: &str| crate::files::output::neutralize(cell).into_owned();
        let header: Vec<String> = input.header.iter().map(|c| guard(c)).collect();
        writer.write_record(&header).map_err(|e| e.to_string())?;
        for record in input {
            let cells: Vec<String> = record.cells.iter().map(guard).collect();
            writer.write_record(&cells).map_err(|e| e.to_string())?;
        }
        writer.flush().map_err(|e| e.to_string())?;
    }
    replace(to, &out)
}

/// The workbook: every sheet's cells where they were, the read sheet's edits over them (by the
/// sheet's row number and the header's column, which is the sheet's: the header is read from
/// column A), its rows left out emptied.
fn workbook(upload: &Path, read: &str, edits: &[CellEdit], skip: &[u64], to: &Path) -> Result<(), String> {
    let mut source = calamine::open_workbook_auto(upload).map_err(|e| e.to_string())?;
    let mut book = rust_xlsxwriter::Workbook::new();
    for name in source.sheet_names() {
        let range = source.worksheet_range(&name).map_err(|e| e.to_string())?;
        let sheet = book.add_worksheet();
        sheet.set_name(&name).map_err(|e| e.to_string())?;
        let (top, left) = range.start().unwrap_or((0, 0));
        for (row, col, value) in range.used_cells() {
            let (row, col) = (top + row as u32, left + col as u32);
            let Ok(col) = u16::try_from(col) else { continue };
            if name == read && skip.contains(&(u64::from(row) + 1)) {
                continue;
            }
            let written = match value {
                Data::Empty | Data::Error(_) => continue,
                Data::Int(n) => sheet.write_number(row, col, *n as f64).map(|_| ()),
                Data::Float(n) => sheet.write_number(row, col, *n).map(|_| ()),
                Data::Bool(b) => sheet.write_boolean(row, col, *b).map(|_| ()),
                Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                    sheet.write_string(row, col, s).map(|_| ())
                }
                Data::DateTime(when) => sheet
                    .write_string(
                        row,
                        col,
                        when.as_datetime().map_or(when.as_f64().to_string(), |d| d.to_string()),
                    )
                    .map(|_| ()),
            };
            written.map_err(|e| e.to_string())?;
        }
        if name == read {
            for edit in edits.iter().filter(|edit| !skip.contains(&edit.row)) {
                let (Ok(row), Ok(col)) = (u32::try_from(edit.row.saturating_sub(1)), u16::try_from(edit.column)) else {
                    continue;
                };
                sheet.write_string(row, col, &edit.value).map_err(|e| e.to_string())?;
            }
        }
    }
    let bytes = book.save_to_buffer().map_err(|e| e.to_string())?;
    replace(to, &bytes)
}

/// Writes `to` whole, by a rename: a download never gets half a file.
fn replace(to: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut temp = to.as_os_str().to_owned();
    temp.push(".tmp");
    std::fs::write(&temp, bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&temp, to).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::runs::Edit;

    /// A run's changes: one cell fixed (column 0) and the rows left out.
    fn meta(row: u64, value: &str, skipped: &[u64]) -> Meta {
        Meta {
            edits: vec![Edit {
                row,
                column: 0,
                field: "email".into(),
                value: value.into(),
            }],
            skipped: skipped.to_vec(),
            ..Meta::default()
        }
    }

    #[test]
    fn a_csvs_corrected_copy_has_the_edits_and_the_original_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::at(dir.path());
        let path = dir.path().join("g.csv");
        let original = "email,phone\na@x,+44 1\nops@x.com,3\nb@x.com,2\n";
        std::fs::write(&path, original).unwrap();
        let to = write(&path, None, &meta(2, "a@x.com", &[3]), &run).unwrap();
        assert_eq!(to, run.corrected());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
        assert_eq!(
            std::fs::read_to_string(&to).unwrap(),
            "\u{feff}email,phone\r\na@x.com,'+44 1\r\nb@x.com,2\r\n"
        );
    }

    #[test]
    fn a_workbooks_corrected_copy_is_a_workbook_with_its_title_rows_and_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::at(dir.path());
        let path = dir.path().join("g.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("Gäste").unwrap();
        sheet.write_string(0, 0, "Gästeliste Sommerfest").unwrap();
        sheet.write_string(2, 0, "E-Mail").unwrap();
        sheet.write_string(2, 1, "Telefon").unwrap();
        sheet.write_string(2, 2, "Tische").unwrap();
        sheet.write_string(3, 0, "anna at example.de").unwrap();
        sheet.write_string(3, 1, "+49 170 1234567").unwrap();
        sheet.write_number(3, 2, 4.0).unwrap();
        sheet.write_string(4, 0, "ops@example.de").unwrap();
        sheet.write_string(5, 0, "carla@example.de").unwrap();
        book.add_worksheet()
            .set_name("Notes")
            .unwrap()
            .write_string(0, 0, "=1+1 is text")
            .unwrap();
        book.save(&path).unwrap();
        let to = write(&path, Some("Gäste"), &meta(4, "anna@example.de", &[5]), &run).unwrap();
        assert_eq!(to, run.corrected_xlsx());
        let mut copy = calamine::open_workbook_auto(&to).unwrap();
        assert_eq!(copy.sheet_names(), ["Gäste", "Notes"]);
        let range = copy.worksheet_range("Gäste").unwrap();
        let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
        assert_eq!(cell(0, 0), Data::String("Gästeliste Sommerfest".into()));
        assert_eq!(cell(3, 0), Data::String("anna@example.de".into()));
        assert_eq!(cell(3, 1), Data::String("+49 170 1234567".into()));
        assert_eq!(cell(3, 2), Data::Float(4.0));
        assert_eq!(cell(4, 0), Data::Empty, "the row left out");
        assert_eq!(cell(5, 0), Data::String("carla@example.de".into()), "at its row");
        // Read again, the copy has the rows the run had, by the same numbers.
        let input = Input::open(&Source::File(to.clone()), &InputOptions::default()).unwrap();
        let rows: Vec<u64> = input.map(|record| record.row).collect();
        assert_eq!(rows, [4, 6]);
        let notes = copy.worksheet_range("Notes").unwrap();
        assert_eq!(notes.get_value((0, 0)), Some(&Data::String("=1+1 is text".into())));
    }
}
