//! What the page shows of a file: the upload's columns and how each is mapped (with the input
//! module's hints for columns that look like a field, and the likeliest email column when the
//! header does not settle it), why a file cannot be imported in the page's words, and a job's
//! results read back for their cells (through the input module, as `--retry-from` reads them:
//! delimiter, encoding and guards undone). Reads only; the engine writes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::input::{Field, HeaderError, Input, InputError, InputOptions, Source, Target, parse_mapping};

/// The upload's header and how each column is read.
#[derive(Debug, Clone, Default)]
pub(super) struct Columns {
    /// The header's names.
    pub names: Vec<String>,
    /// The field each column is read as now (`phone_1` for every phone column but the second).
    pub chosen: Vec<Option<&'static str>>,
    /// The field each column was detected as, with no changes.
    pub detected: Vec<Option<&'static str>>,
    /// A column not imported that looks like a field: what it looks like and the field to
    /// import it as.
    pub hints: Vec<Option<ColumnHint>>,
    /// The column of each non-phone field.
    pub fields: BTreeMap<&'static str, usize>,
    /// Phone columns, in the order a row's phones are taken from.
    pub phones: Vec<usize>,
    /// How the file was read (`workbook, sheet "Guests"`).
    pub format: String,
    /// The sheet read, when the file is a workbook.
    pub sheet: Option<String>,
    /// A workbook's sheets, to choose the guests' among.
    pub sheets: Vec<String>,
    /// The header does not settle which column is the email (none is named so, or two are):
    /// why, in the page's words. The mapping holds the likeliest guess, to be confirmed before
    /// anything is checked.
    pub uncertain: Option<String>,
}

/// A column not imported that looks like a guest field.
#[derive(Debug, Clone)]
pub(super) struct ColumnHint {
    /// What it looks like (`a phone`).
    pub looks_like: &'static str,
    /// The field it would be imported as.
    pub field: &'static str,
}

impl Columns {
    /// The column holding `field` in a row with these `cells` (a row's phones are its first two
    /// non-empty phone cells).
    pub(super) fn column_of(&self, field: &str, cells: &[String]) -> Option<usize> {
        let nth = match field {
            "phone_1" => 0,
            "phone_2" => 1,
            other => return self.fields.get(other).copied(),
        };
        let mut filled = self
            .phones
            .iter()
            .copied()
            .filter(|&c| cells.get(c).is_some_and(|cell| !cell.trim().is_empty()));
        filled.nth(nth).or_else(|| self.phones.get(nth).copied())
    }
}

/// The person's mapping changes as `--map` takes them.
pub(super) fn targets(map: &[(String, String)]) -> Vec<(String, Target)> {
    map.iter()
        .filter_map(|(column, field)| parse_mapping(&format!("{column}={field}")).ok())
        .collect()
}

fn open(path: &Path, options: &InputOptions) -> Result<Input, InputError> {
    Input::open(&Source::File(path.to_path_buf()), options)
}

fn options(map: &[(String, String)], sheet: Option<&str>) -> InputOptions {
    InputOptions {
        map: targets(map),
        sheet: sheet.map(str::to_string),
        ..InputOptions::default()
    }
}

/// A workbook's sheets, in order; none for a text file (or a workbook that cannot be opened:
/// the input says why).
fn sheet_names(upload: &Path) -> Vec<String> {
    use calamine::Reader;
    calamine::open_workbook_auto(upload).map_or_else(|_| Vec::new(), |book| book.sheet_names())
}

/// The upload opened with the person's mapping; when its header leaves the email column
/// unsettled, opened with the likeliest guess instead, with why a person must confirm it and
/// whether the guess is worth showing (a column holding addresses is; the first column, when
/// nothing looks like one, only opens the file).
fn opened(
    upload: &Path,
    map: &[(String, String)],
    sheet: Option<&str>,
) -> Result<(Input, Option<String>, bool), InputError> {
    let error = match open(upload, &options(map, sheet)) {
        Ok(input) => return Ok((input, None, true)),
        Err(InputError::Header { error, name }) => (error, name),
        // No sheet of the workbook names an email column: its first sheet, for the person to
        // choose the guests' sheet and their email column.
        Err(InputError::Workbook { .. }) if sheet.is_none() && sheet_names(upload).len() > 1 => {
            return likeliest_sheet(upload, map);
        }
        Err(other) => return Err(other),
    };
    let (column, field, why) = match &error.0 {
        HeaderError::EmailIn(column) => (
            column.clone(),
            "email",
            format!("No column is named as the email column, but “{column}” holds email addresses. Check the columns below, then choose “Check with these columns”."),
        ),
        HeaderError::Ambiguous { field, first, second } => (
            second.clone(),
            "ignore",
            format!("Both “{first}” and “{second}” could be the {} column. Choose which one is (the other is not imported), then “Check with these columns”.", field_words(field.name())),
        ),
        HeaderError::NoEmail(names) if !names.is_empty() => (
            names[0].clone(),
            "email",
            "No column looks like the email column. Choose the column that holds the guests' email addresses, then “Check with these columns”.".to_string(),
        ),
        _ => return Err(InputError::Header { error: error.0, name: error.1 }),
    };
    let mut guessed = map.to_vec();
    guessed.retain(|(c, _)| *c != column);
    guessed.push((column, field.to_string()));
    let keep = !matches!(error.0, HeaderError::NoEmail(_));
    let input = open(upload, &options(&guessed, sheet))?;
    Ok((input, Some(why), keep))
}

/// No sheet of the workbook names an email column: the first sheet with a column of addresses
/// (else the first that can be read), for the person to confirm or to choose another sheet.
fn likeliest_sheet(upload: &Path, map: &[(String, String)]) -> Result<(Input, Option<String>, bool), InputError> {
    let mut readable = None;
    let mut last = None;
    for name in sheet_names(upload) {
        match opened(upload, map, Some(&name)) {
            Ok((input, _, true)) => return Ok((input, Some(SHEET_WHY.to_string()), true)),
            Ok(found) => readable = readable.or(Some(found)),
            Err(error) => last = Some(error),
        }
    }
    match readable {
        Some((input, _, keep)) => Ok((input, Some(SHEET_WHY.to_string()), keep)),
        None => Err(last.unwrap_or_else(|| InputError::Empty(upload.display().to_string()))),
    }
}

/// Why the page asks for the sheet and the email column.
const SHEET_WHY: &str = "No sheet names an email column. Choose the guests' sheet, and the column that holds their email addresses, then “Check with these columns”.";

/// The fields in a person's words, as the mapping's choices name them.
pub(super) fn field_words(field: &str) -> &'static str {
    match field {
        "email" => "Email",
        "first_name" => "First name",
        "last_name" => "Last name",
        "phone_1" => "Phone",
        "phone_2" => "Second phone",
        "company_name" => "Company",
        "timezone" => "Time zone",
        "associated_members" => "Members (ids)",
        _ => "Not imported",
    }
}

/// What a file that is not a guest list is, by its first bytes: formats people send by mistake.
fn not_a_spreadsheet(upload: &Path) -> Option<&'static str> {
    use std::io::Read;
    let mut start = [0u8; 8];
    let n = std::fs::File::open(upload).and_then(|mut f| f.read(&mut start)).ok()?;
    let start = &start[..n];
    let kinds: [(&[u8], &str); 5] = [
        (&b"%PDF-"[..], "a PDF"),
        (&b"\x89PNG"[..], "a PNG image"),
        (&b"\xFF\xD8\xFF"[..], "a JPEG image"),
        (&b"GIF8"[..], "a GIF image"),
        (&b"{\\rtf"[..], "a Word (RTF) document"),
    ];
    kinds
        .iter()
        .find(|(magic, _)| start.starts_with(magic))
        .map(|(_, what)| *what)
}

/// Why a file cannot be imported, in the page's words: what it is and what to do, without
/// the command line's flags or the server's paths.
fn problem(error: &InputError, file: &str) -> String {
    match error {
        InputError::Binary(_) => format!(
            "“{file}” is not a spreadsheet. Save the guest list as CSV or as an Excel workbook (.xlsx), and upload that."
        ),
        InputError::Empty(_) => {
            format!("“{file}” is empty. A guest list has a header row with an email column, then one guest per row.")
        }
        InputError::HeaderOnly(_) => format!("“{file}” has a header row but no guests under it."),
        InputError::Workbook { reason, .. } => format!(
            "“{file}” cannot be read as a workbook ({}). Save it as CSV and upload that.",
            super::words::plain(reason)
        ),
        InputError::Unreadable { .. } => "The uploaded copy cannot be read. Upload the file again.".to_string(),
        InputError::Header { error, .. } => format!(
            "The header row cannot be used: {}.",
            super::words::plain(&error.to_string())
        ),
        InputError::NotResults(_) => format!("“{file}” is not a guest list."),
    }
}

/// Reads the upload's header, once: how it is read with the person's changes, and how the same
/// header maps without them (a workbook is read whole, so a second reading would cost as much
/// memory again); why it cannot be imported, in the page's words, when it cannot. `file` is
/// the person's name for it (the upload is kept under a name of the tool's).
pub(super) fn columns(
    upload: &Path,
    file: &str,
    map: &[(String, String)],
    sheet: Option<&str>,
) -> Result<Columns, String> {
    if let Some(what) = not_a_spreadsheet(upload) {
        return Err(format!(
            "“{file}” is {what}, not a spreadsheet. Export the guest list as CSV or as an Excel workbook (.xlsx), and upload that."
        ));
    }
    let (input, uncertain, keep_guess) = opened(upload, map, sheet).map_err(|e| problem(&e, file))?;
    let detected = crate::input::map_header(&input.header, &[]).ok();
    let fields_of = |map: &crate::input::FieldMap| -> Vec<Option<&'static str>> {
        (0..input.header.len())
            .map(|column| {
                let phone = map.phone_columns().iter().position(|&c| c == column);
                match phone {
                    Some(0) => Some(Field::Phone1.name()),
                    Some(_) => Some(Field::Phone2.name()),
                    None => Field::all()
                        .find(|&field| map.column(field) == Some(column))
                        .map(Field::name),
                }
            })
            .collect()
    };
    let mut chosen = fields_of(&input.map);
    if !keep_guess {
        // Nothing suggests the email column: the guess only opened the file; the person chooses.
        for field in &mut chosen {
            field.take_if(|f| *f == "email");
        }
    }
    let detected = detected
        .as_ref()
        .map_or_else(|| vec![None; input.header.len()], |(map, _)| fields_of(map));
    let hints = input
        .header
        .iter()
        .map(|name| {
            input
                .hints
                .iter()
                .find(|hint| &hint.column == name)
                .map(|hint| ColumnHint {
                    looks_like: hint.looks_like,
                    field: hint.field.name(),
                })
        })
        .collect();
    let fields = Field::all()
        .filter(|f| !matches!(f, Field::Phone1 | Field::Phone2))
        .filter_map(|f| Some((f.name(), input.map.column(f)?)))
        .collect();
    Ok(Columns {
        names: input.header.clone(),
        chosen,
        detected,
        hints,
        fields,
        phones: input.map.phone_columns().to_vec(),
        format: input.format.to_string(),
        sheets: match &input.format {
            crate::input::Format::Workbook { .. } => sheet_names(upload),
            crate::input::Format::Text { .. } => Vec::new(),
        },
        sheet: match &input.format {
            crate::input::Format::Workbook { sheet } => Some(sheet.clone()),
            crate::input::Format::Text { .. } => None,
        },
        uncertain,
    })
}

/// Which rows of a results file a page shows: those with the status `filter` (every row when
/// none), the rows needing a person first and then in the file's order, page `at` (0-based) of
/// `size` rows.
#[derive(Debug, Clone, Default)]
pub(super) struct Window {
    /// The status the rows are filtered to, as the results write it.
    pub filter: Option<String>,
    /// The page, 0-based (one past the last shows the last).
    pub at: usize,
    /// Rows on a page.
    pub size: usize,
}

/// A job's results, read back: a page of its rows, every row counted.
#[derive(Debug, Clone, Default)]
pub(super) struct Table {
    /// The input's columns.
    pub header: Vec<String>,
    /// The window's rows, in the order shown (only these are held: a big file's rows would
    /// cost the server as much memory as the file, for each page).
    pub rows: Vec<TableRow>,
    /// Rows per status, every row counted.
    pub counts: BTreeMap<String, u64>,
    /// Rows under the window's filter, on every page.
    pub kept: u64,
    /// The page shown (the window's, within the pages there are).
    pub at: usize,
}

/// One row of results.
#[derive(Debug, Clone, Default)]
pub(super) struct TableRow {
    /// The sheet's row number.
    pub row: u64,
    /// Its status.
    pub status: String,
    /// What happened.
    pub message: String,
    /// Its cells, the guard undone.
    pub cells: Vec<String>,
}

impl TableRow {
    /// Its status needs a person (the rows shown first, and the only ones fixable after a send).
    pub(super) fn needs_a_person(&self) -> bool {
        self.status.parse().is_ok_and(crate::engine::Status::needs_a_person)
    }
}

/// Every row of a results file of the engine (a preview, an import's, an undo's), one at a
/// time: its header.
pub(super) fn each(
    path: &Path,
    map: &[(String, String)],
    mut visit: impl FnMut(TableRow),
) -> Result<Vec<String>, String> {
    let options = InputOptions {
        map: targets(map),
        previous_results: true,
        result_columns: &crate::engine::report::results::RESULT_COLUMNS,
        ..InputOptions::default()
    };
    let input = open(path, &options).map_err(|e| e.to_string())?;
    let header = input.header.clone();
    // The result cells are read by the engine's names for their places in RESULT_COLUMNS.
    use crate::engine::report::results::{MESSAGE_AT, STATUS_AT};
    for record in input {
        let cell = |i: usize| record.previous.get(i).cloned().unwrap_or_default();
        visit(TableRow {
            row: record.row,
            status: cell(STATUS_AT),
            message: cell(MESSAGE_AT),
            cells: record.cells.iter().map(str::to_string).collect(),
        });
    }
    Ok(header)
}

/// One row of a results file, by its sheet row number.
pub(super) fn row(path: &Path, map: &[(String, String)], number: u64) -> Option<TableRow> {
    let mut found = None;
    each(path, map, |row| {
        if row.row == number && found.is_none() {
            found = Some(row);
        }
    })
    .ok()?;
    found
}

/// Reads a page of a results file (`window`), and counts every row: the file is read twice,
/// once to count the rows needing a person (they come first), once for the page's rows.
pub(super) fn results(path: &Path, map: &[(String, String)], window: &Window) -> Result<Table, String> {
    let filter = window.filter.as_deref();
    let wanted = |row: &TableRow| filter.is_none_or(|f| row.status == f);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let (mut kept, mut first) = (0u64, 0u64);
    let header = each(path, map, |row| {
        *counts.entry(row.status.clone()).or_default() += 1;
        if wanted(&row) {
            kept += 1;
            first += u64::from(row.needs_a_person());
        }
    })?;
    let size = window.size.max(1) as u64;
    let at = window.at.min(kept.div_ceil(size).max(1) as usize - 1);
    let shown = at as u64 * size..(at as u64 + 1) * size;
    // Each row's place in the order shown: the rows needing a person, then the others.
    let (mut person, mut other) = (0u64, first);
    let mut rows = BTreeMap::new();
    each(path, map, |row| {
        if !wanted(&row) {
            return;
        }
        let place = if row.needs_a_person() { &mut person } else { &mut other };
        if shown.contains(place) {
            rows.insert(*place, row);
        }
        *place += 1;
    })?;
    Ok(Table {
        header,
        rows: rows.into_values().collect(),
        counts,
        kept,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_say_what_is_detected_what_is_chosen_and_what_looks_like_a_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.csv");
        std::fs::write(&path, "E-mail,Vorname,Mob.,Phone,Notes\na@x.com,A,1,2,n\n").unwrap();
        let columns = columns(&path, "g.csv", &[("Notes".into(), "company_name".into())], None).unwrap();
        assert_eq!(columns.names, ["E-mail", "Vorname", "Mob.", "Phone", "Notes"]);
        assert_eq!(
            columns.chosen,
            [
                Some("email"),
                Some("first_name"),
                None,
                Some("phone_1"),
                Some("company_name")
            ]
        );
        assert_eq!(columns.detected[4], None);
        let hint = columns.hints[2].as_ref().unwrap();
        assert_eq!((hint.looks_like, hint.field), ("a phone", "phone_2"));
        let cells: Vec<String> = ["a@x.com", "A", "1", "", "n"].map(String::from).to_vec();
        assert_eq!(columns.column_of("email", &cells), Some(0));
        assert_eq!(columns.column_of("phone_1", &cells), Some(3));
    }

    #[test]
    fn a_page_of_results_holds_only_its_rows_those_needing_a_person_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("preview.csv");
        let header = crate::engine::report::results::RESULT_COLUMNS.join(",");
        let blanks = ",".repeat(crate::engine::report::results::RESULT_COLUMNS.len() - 2);
        let mut text = format!("{header},email\n");
        for row in 2..=11u64 {
            let status = if row % 4 == 0 { "invalid" } else { "would_create" };
            text.push_str(&format!("{row},{status}{blanks},r{row}@example.com\n"));
        }
        std::fs::write(&path, text).unwrap();
        let numbers = |table: &Table| table.rows.iter().map(|r| r.row).collect::<Vec<_>>();
        let window = |filter: Option<&str>, at| Window {
            filter: filter.map(str::to_string),
            at,
            size: 3,
        };
        let first = results(&path, &[], &window(None, 0)).unwrap();
        assert_eq!(numbers(&first), [4, 8, 2], "the rows needing a person first");
        assert_eq!((first.kept, first.at), (10, 0));
        assert_eq!(first.counts["invalid"], 2);
        assert_eq!(first.counts["would_create"], 8);
        assert_eq!(first.header, ["email"]);
        assert_eq!(numbers(&results(&path, &[], &window(None, 1)).unwrap()), [3, 5, 6]);
        let last = results(&path, &[], &window(None, 9)).unwrap();
        assert_eq!((numbers(&last), last.at), (vec![11], 3), "past the end: the last page");
        let invalid = results(&path, &[], &window(Some("invalid"), 0)).unwrap();
        assert_eq!((numbers(&invalid), invalid.kept), (vec![4, 8], 2));
        assert_eq!(row(&path, &[], 7).map(|r| r.status), Some("would_create".into()));
        assert!(row(&path, &[], 12).is_none());
    }
}
