//! `template`: a starter guest sheet to fill in, as CSV or (by the output's name) an Excel
//! workbook: a line saying what to do, the header with every field, and two example rows.
//! It imports as it stands (the line above the header is skipped like any title row).

use std::io::Write;
use std::path::Path;

use crate::error::{Exit, RunError};
use crate::files::output::{AtomicFile, check_writable};
use crate::files::overwrite::{self, Kind};

/// What the sheet says above its header.
const NOTE: &str = "Tallyfy guests: one guest per row. Only email is required. Members are user ids separated by spaces. Replace the two examples with your guests.";

/// Every field an import reads, in the order people fill them in.
pub const HEADER: [&str; 8] = [
    "email",
    "first_name",
    "last_name",
    "company_name",
    "phone_1",
    "phone_2",
    "timezone",
    "associated_members",
];

const EXAMPLES: [[&str; 8]; 2] = [
    [
        "ana.silva@example.com",
        "Ana",
        "Silva",
        "Example Logistics",
        "+351 21 000 0000",
        "",
        "Europe/Lisbon",
        "",
    ],
    [
        "ben.okafor@example.org",
        "Ben",
        "Okafor",
        "",
        "+44 20 7946 0000",
        "+44 7700 900000",
        "Europe/London",
        "",
    ],
];

/// Writes the template to `output` (`.xlsx` makes a workbook), or as CSV to stdout. An existing
/// file is replaced only when it is an unfilled template of ours, or with `force`.
pub fn run(output: Option<&Path>, force: bool) -> Result<Exit, RunError> {
    let Some(path) = output.filter(|path| path.as_os_str() != "-") else {
        let mut stdout = std::io::stdout();
        stdout
            .write_all(&csv_bytes()?)
            .map_err(|e| RunError::io("cannot write to stdout", e))?;
        return Ok(Exit::Success);
    };
    if let Some(problem) = overwrite::unwritable_format(path, "template") {
        return Err(RunError::Setup(vec![problem]));
    }
    check_writable(path, "template").map_err(|problem| RunError::Setup(vec![problem]))?;
    overwrite::check(path, Kind::Template, force, "template", &csv_bytes()?)
        .map_err(|problem| RunError::Setup(vec![problem]))?;
    let xlsx = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("xlsx"));
    let bytes = if xlsx { xlsx_bytes()? } else { csv_bytes()? };
    let what = || format!("cannot write {}", path.display());
    let mut file = AtomicFile::create(path).map_err(|e| RunError::io(what(), e))?;
    file.writer().write_all(&bytes).map_err(|e| RunError::io(what(), e))?;
    file.commit().map_err(|e| RunError::io(what(), e))?;
    tracing::info!(
        "wrote {}: fill it in, then `tallyfy-guests import {} --dry-run`",
        path.display(),
        path.display()
    );
    Ok(Exit::Success)
}

fn csv_bytes() -> Result<Vec<u8>, RunError> {
    let failed = |e: csv::Error| RunError::csv("cannot write the template", e);
    let mut out = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    out.write_record([NOTE]).map_err(failed)?;
    out.write_record(HEADER).map_err(failed)?;
    for example in EXAMPLES {
        // The phones start with `+`: guarded as every CSV of ours is, so a spreadsheet shows
        // them as text; the import takes the guard off again.
        out.write_record(
            example
                .iter()
                .map(|cell| crate::files::output::neutralize(cell).into_owned()),
        )
        .map_err(failed)?;
    }
    out.into_inner()
        .map_err(|e| RunError::io("cannot write the template", e.into_error()))
}

fn xlsx_bytes() -> Result<Vec<u8>, RunError> {
    use rust_xlsxwriter::{Format, Workbook};
    let failed =
        |e: rust_xlsxwriter::XlsxError| RunError::io("cannot write the template", std::io::Error::other(e.to_string()));
    let mut book = Workbook::new();
    book.set_properties(&overwrite::properties(Kind::Template));
    let sheet = book.add_worksheet().set_name("Guests").map_err(failed)?;
    let bold = Format::new().set_bold();
    // Every column is text ("@"), not only the examples: a phone typed later as 01711234567
    // keeps its 0 (not 1711234567, or 4.91E+12 when long), and member ids and time zones stay
    // as typed.
    let text = Format::new().set_num_format("@");
    sheet.write_string(0, 0, NOTE).map_err(failed)?;
    for (col, name) in HEADER.iter().enumerate() {
        sheet
            .write_string_with_format(1, col as u16, *name, &bold)
            .map_err(failed)?;
        sheet.set_column_width(col as u16, 22).map_err(failed)?;
        sheet.set_column_format(col as u16, &text).map_err(failed)?;
    }
    for (row, example) in EXAMPLES.iter().enumerate() {
        for (col, cell) in example.iter().enumerate() {
            // Text cells: a phone stays `+44 ...`, never a number or a formula.
            sheet
                .write_string_with_format(row as u32 + 2, col as u16, *cell, &text)
                .map_err(failed)?;
        }
    }
    sheet.set_freeze_panes(2, 0).map_err(failed)?;
    book.save_to_buffer().map_err(failed)
}
