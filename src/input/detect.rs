//! Finding the header: the first row is not always it (a title, an export date, blank cells
//! above). The first of the first rows that names an email column is; `--header-row` names it
//! outright; and when none does, the error says which column holds email addresses.

use super::header::{HeaderError, map_header};
use super::options::InputOptions;
use super::rows::Records;

/// Rows looked at for the header, when the first row is not it (a title, a date, blank cells).
const HEADER_SEARCH: usize = 10;

/// The header row, how many rows above it were skipped, and its row number: row
/// `--header-row`, else the first row that names an email column among the first
/// `HEADER_SEARCH`. When none does, the error says which column holds email addresses, if one
/// does. `first_at` is the first row's number (a sheet's first rows may be empty).
pub(super) fn find_header(
    first: Vec<String>,
    first_at: u64,
    records: &mut Records,
    options: &InputOptions,
) -> Result<(Vec<String>, u64, u64), HeaderError> {
    let (mut header, mut at, mut skipped) = (first, first_at, 0);
    if let Some(wanted) = options.header_row {
        while at < wanted {
            (at, header) = next_row(records, at).ok_or(HeaderError::NoHeaderRow(wanted))?;
            skipped += 1;
        }
        return Ok((header, skipped, at));
    }
    let maps = |row: &[String]| !matches!(map_header(row, &options.map), Err(HeaderError::NoEmail(_)));
    let mut seen = Vec::new();
    loop {
        if maps(&header) {
            return Ok((header, skipped, at));
        }
        seen.push(header);
        if seen.len() >= HEADER_SEARCH {
            break;
        }
        let Some(next) = next_row(records, at) else { break };
        (at, header) = next;
        skipped += 1;
    }
    let header = &seen[0];
    Err(match email_column(header, &seen[1..]) {
        Some(column) => HeaderError::EmailIn(column),
        None => HeaderError::NoEmail(header.clone()),
    })
}

/// The next row's number and cells as text, for the header search; `at` is the last row's.
fn next_row(records: &mut Records, at: u64) -> Option<(u64, Vec<String>)> {
    match records {
        Records::Text(reader) => reader.next_record().ok().flatten().map(|raw| {
            let cells = raw
                .cells
                .iter()
                .map(|cell| String::from_utf8_lossy(cell).trim().to_string())
                .collect();
            (at + 1, cells)
        }),
        Records::Sheet(rows) => rows.next().map(|row| {
            let at = row.row;
            let mut cells: Vec<String> = row.expand(0).into_iter().map(|c| c.trim().to_string()).collect();
            while cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            (at, cells)
        }),
    }
}

/// The column of `header` whose cells in `rows` look like email addresses (most of its
/// non-empty ones), for an error that says which `--map` to use.
fn email_column(header: &[String], rows: &[Vec<String>]) -> Option<String> {
    let looks_like = |cell: &str| {
        let cell = cell.trim();
        cell.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !cell.contains(' '))
    };
    (0..header.len())
        .filter(|&column| !header[column].is_empty())
        .map(|column| {
            let cells: Vec<&str> = rows
                .iter()
                .filter_map(|row| row.get(column).map(String::as_str))
                .filter(|cell| !cell.trim().is_empty())
                .collect();
            let emails = cells.iter().filter(|cell| looks_like(cell)).count();
            (column, emails, cells.len())
        })
        .filter(|&(_, emails, cells)| emails > 0 && emails * 2 > cells)
        .max_by_key(|&(_, emails, _)| emails)
        .map(|(column, _, _)| header[column].clone())
}
