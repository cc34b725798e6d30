//! `--results NAME.xlsx`: the results as an Excel workbook for a person (a dry run handed to a
//! colleague): a Results sheet with a frozen, filterable header, every cell text (a phone keeps
//! its `+` and leading zeros), columns wide enough to read, the status coloured by outcome and
//! the reason as a note on every row that needs a person, and a Summary sheet naming the input
//! file, the organization and whether it was a dry run. The rows are
//! written to a CSV beside it as the run goes (so a killed run keeps them) and turned into the
//! workbook when the run ends.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Color, Format, Note, Workbook, XlsxError};

use super::results::{MESSAGE_AT, OF_AT, RESULT_COLUMNS, STATUS_AT};
use super::summary::Summary;
use crate::api::Client;
use crate::engine::outcome::{Status, Tone};
use crate::error::RunError;

/// Whether a results path asks for a workbook.
pub fn wanted(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("xlsx"))
}

/// Where the rows go while the run lasts: `.NAME.rows.csv` beside the workbook.
pub fn rows_path(xlsx: &Path) -> PathBuf {
    let name = xlsx
        .file_name()
        .map_or("results.xlsx".into(), |name| name.to_string_lossy().into_owned());
    xlsx.with_file_name(format!(".{name}.rows.csv"))
}

/// Turns the rows written so far into the workbook at `xlsx`, with the run's summary and the
/// organization (by name when the API gives it), then removes the rows file.
/// `input` is the file the run read, and `dry_run` whether it sent nothing.
pub async fn write(
    rows: &Path,
    xlsx: &Path,
    summary: &Summary,
    client: Option<&Client>,
    input: &str,
    dry_run: bool,
) -> Result<(), RunError> {
    let organization = match client {
        Some(client) => client.organization_label().await,
        None => "none (an offline dry run)".to_string(),
    };
    let organization = organization.as_str();
    let time = |t: Option<std::time::SystemTime>| t.map(crate::api::clock::rfc3339).unwrap_or_default();
    let clock = client.map(|client| client.clock().clone());
    let clock = clock.as_deref();
    let run = RunFacts {
        input: input.to_string(),
        dry_run,
        org: client.map(|client| client.org().to_string()).unwrap_or_default(),
        api: client.map(crate::api::Client::api_host).unwrap_or_default(),
        started: time(clock.and_then(crate::api::clock::ServerClock::started)),
        at: time(clock.and_then(crate::api::clock::ServerClock::latest)),
    };

    let what = || format!("cannot write the results workbook {}", xlsx.display());
    let failed = |e: XlsxError| RunError::io(what(), std::io::Error::other(e.to_string()));
    let mut book = Workbook::new();
    let whole = results_sheet(&mut book, rows).map_err(|e| match e {
        Trouble::Csv(e) => RunError::csv(what(), e),
        Trouble::Xlsx(e) => failed(e),
    })?;
    summary_sheet(&mut book, summary, organization, &run, whole).map_err(failed)?;
    let bytes = book.save_to_buffer().map_err(failed)?;
    let mut file = crate::files::output::AtomicFile::create(xlsx).map_err(|e| RunError::io(what(), e))?;
    std::io::Write::write_all(file.writer(), &bytes).map_err(|e| RunError::io(what(), e))?;
    file.commit().map_err(|e| RunError::io(what(), e))?;
    let _ = std::fs::remove_file(rows);
    Ok(())
}

/// The same workbook made from a finished run's CSV results (any delimiter, a byte order mark
/// or not, the formula guard on), for a face that offers both files of one run (the page):
/// the cells are read back to their values and written as `--results NAME.xlsx` writes them.
pub async fn from_csv(
    results: &Path,
    xlsx: &Path,
    summary: &Summary,
    client: Option<&Client>,
    input: &str,
    dry_run: bool,
) -> Result<(), RunError> {
    let what = || format!("cannot read the results {}", results.display());
    let bytes = std::fs::read(results).map_err(|e| RunError::io(what(), e))?;
    let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    // The results use the input's delimiter: the one right after the first column's name.
    let first = super::results::RESULT_COLUMNS[0].as_bytes();
    let delimiter = text
        .strip_prefix(first)
        .and_then(|rest| rest.first().copied())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text);
    let rows = rows_path(xlsx);
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(&rows)
        .map_err(|e| RunError::csv(format!("cannot write {}", rows.display()), e))?;
    for record in reader.records() {
        let record = record.map_err(|e| RunError::csv(what(), e))?;
        let cells: Vec<&str> = record.iter().map(crate::files::output::unneutralize).collect();
        writer
            .write_record(&cells)
            .map_err(|e| RunError::csv(format!("cannot write {}", rows.display()), e))?;
    }
    writer
        .flush()
        .map_err(|e| RunError::io(format!("cannot write {}", rows.display()), e))?;
    drop(writer);
    write(&rows, xlsx, summary, client, input, dry_run).await
}

/// The run's provenance, as its results' `result_org`, `result_api`, `result_run_started` and
/// `result_at` columns say it, for the Summary sheet.
struct RunFacts {
    input: String,
    dry_run: bool,
    org: String,
    api: String,
    started: String,
    at: String,
}

enum Trouble {
    Csv(csv::Error),
    Xlsx(XlsxError),
}

impl From<csv::Error> for Trouble {
    fn from(e: csv::Error) -> Self {
        Trouble::Csv(e)
    }
}

impl From<XlsxError> for Trouble {
    fn from(e: XlsxError) -> Self {
        Trouble::Xlsx(e)
    }
}

/// The colour of a row that needs a person: its status cell, and the cells its message is about.
const NEEDS_A_PERSON: Color = Color::RGB(0xFFC7CE);

/// The colour of a status's tone: done green, nothing to do grey, a person needed red, later
/// yellow (the page's colours are these too).
fn colour(status: Status) -> Color {
    match status.tone() {
        Tone::Done => Color::RGB(0xC6EFCE),
        Tone::NothingToDo => Color::RGB(0xE7E6E6),
        Tone::NeedsAPerson => NEEDS_A_PERSON,
        Tone::Later => Color::RGB(0xFFEB9C),
    }
}

/// The Results sheet; says whether every row carries its `result_of` (the run was whole).
fn results_sheet(book: &mut Workbook, rows: &Path) -> Result<bool, Trouble> {
    let sheet = book.add_worksheet().set_name("Results")?;
    let bold = Format::new().set_bold();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_path(rows)?;
    let offending = Format::new().set_background_color(NEEDS_A_PERSON);
    let mut header = csv::StringRecord::new();
    let mut width = 0u16;
    // The widest cell of each column, in characters, to size the columns to.
    let mut widths: Vec<usize> = Vec::new();
    let mut last = 0u32;
    // Only a run that finished stamps its rows' `result_of`, all at once.
    let mut whole = true;
    for (row, record) in reader.records().enumerate() {
        let record = record?;
        whole &= row == 0 || record.get(OF_AT).is_some_and(|of| !of.is_empty());
        let row = u32::try_from(row).unwrap_or(u32::MAX);
        last = row;
        width = width.max(u16::try_from(record.len()).unwrap_or(u16::MAX));
        if row == 0 {
            header = record.clone();
        }
        // The header's `result_status` is no status.
        let status = record.get(STATUS_AT).and_then(|status| status.parse::<Status>().ok());
        let message = record.get(MESSAGE_AT).unwrap_or_default();
        let needs_a_person = row > 0 && status.is_some_and(Status::needs_a_person);
        for (col, cell) in record.iter().enumerate() {
            let col_index = col;
            if widths.len() <= col {
                widths.resize(col + 1, 0);
            }
            widths[col] = widths[col].max(cell.chars().count());
            let col = u16::try_from(col).unwrap_or(u16::MAX);
            // Text cells, always: a phone stays `+44 ...`, a `=` is never a formula.
            match (row, col_index, status.map(colour)) {
                (0, _, _) => sheet.write_string_with_format(row, col, cell, &bold)?,
                (_, STATUS_AT, Some(colour)) => {
                    sheet.write_string_with_format(row, col, cell, &Format::new().set_background_color(colour))?
                }
                _ if needs_a_person
                    && col_index >= RESULT_COLUMNS.len()
                    && offends(header.get(col_index), cell, message) =>
                {
                    sheet.write_string_with_format(row, col, cell, &offending)?;
                    sheet.insert_note(row, col, &Note::new(message).set_author("tallyfy-guests"))?
                }
                _ => sheet.write_string(row, col, cell)?,
            };
        }
        if needs_a_person {
            sheet.insert_note(row, STATUS_AT as u16, &Note::new(message).set_author("tallyfy-guests"))?;
        }
    }
    whole &= last > 0;
    sheet.set_freeze_panes(1, 0)?;
    if width > 0 {
        sheet.autofilter(0, 0, last, width - 1)?;
    }
    // Wide enough to read a column's longest cell (and the filter button beside the header),
    // within reason: a long message wraps in the note, not across the screen.
    for (col, chars) in widths.iter().enumerate() {
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        sheet.set_column_width(col, (*chars as f64 + 3.0).clamp(8.0, 60.0))?;
    }
    Ok(whole)
}

/// Whether a row's message is about this cell: it names the cell's column (messages use the
/// file's own column names) or quotes the cell's value.
fn offends(column: Option<&str>, cell: &str, message: &str) -> bool {
    let names_column = column.is_some_and(|name| !name.is_empty() && message.contains(name));
    let quotes_value =
        !cell.is_empty() && (message.contains(&format!("`{cell}`")) || message.contains(&format!("\"{cell}\"")));
    names_column || quotes_value
}

fn summary_sheet(
    book: &mut Workbook,
    summary: &Summary,
    organization: &str,
    run: &RunFacts,
    whole: bool,
) -> Result<(), XlsxError> {
    let sheet = book.add_worksheet().set_name("Summary")?;
    let bold = Format::new().set_bold();
    let finished = chrono::Local::now().format("%Y-%m-%d %H:%M:%S %:z").to_string();
    let facts = [
        ("input", run.input.clone()),
        (
            "dry run",
            if run.dry_run {
                "yes: nothing was sent; the statuses say what a real run would do"
            } else {
                "no: the rows were sent"
            }
            .to_string(),
        ),
        ("organization", organization.to_string()),
        ("result_org", run.org.clone()),
        ("result_api", run.api.clone()),
        ("result_run_started", run.started.clone()),
        ("result_at", run.at.clone()),
        (
            "whole",
            if whole {
                "yes: the input was read to its end and every row has its result (result_of)"
            } else {
                "no: the run stopped before every row had its result"
            }
            .to_string(),
        ),
        ("finished", finished),
        ("rows", summary.rows().to_string()),
        ("input read as", summary.input.clone()),
    ];
    let mut row = 0u32;
    for (name, value) in facts {
        sheet.write_string_with_format(row, 0, name, &bold)?;
        sheet.write_string(row, 1, value)?;
        row += 1;
    }
    row += 1;
    sheet.write_string_with_format(row, 0, "status", &bold)?;
    sheet.write_string_with_format(row, 1, "rows", &bold)?;
    for status in Status::all() {
        row += 1;
        sheet.write_string(row, 0, status.as_str())?;
        sheet.write_number(row, 1, summary.get(status) as f64)?;
    }
    if let Some(reason) = &summary.stopped {
        row += 2;
        sheet.write_string_with_format(row, 0, "stopped early", &bold)?;
        sheet.write_string(row, 1, reason)?;
    }
    sheet.set_column_width(0, 18)?;
    sheet.set_column_width(1, 60)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_is_exactly_the_statuses_that_need_a_person() {
        for status in Status::all() {
            assert_eq!(colour(status) == NEEDS_A_PERSON, status.needs_a_person(), "{status}");
        }
    }
}
