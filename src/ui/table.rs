//! What the page shows of a file: the upload's columns and how each is mapped (with the input
//! module's hints for columns that look like a field), a job's results read back for their
//! cells (through the input module, as `--retry-from` reads them: delimiter, encoding and
//! guards undone), and the corrected copy. Reads only; the engine writes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::input::{CellEdit, Field, Input, InputOptions, Source, Target, parse_mapping};

/// Rows shown on a page at most; the downloads hold them all.
pub(super) const SHOWN_ROWS: usize = 10_000;

/// The upload's header and how each column is read.
#[derive(Debug, Clone, Default)]
pub(super) struct Columns {
    /// The header's names.
    pub names: Vec<String>,
    /// The field each column is read as now (`phone_1` for every phone column but the second).
    pub chosen: Vec<Option<&'static str>>,
    /// The field each column was detected as, with no changes.
    pub detected: Vec<Option<&'static str>>,
    /// A column not imported that looks like a field: the line that says so.
    pub hints: Vec<Option<String>>,
    /// The column of each non-phone field.
    pub fields: BTreeMap<&'static str, usize>,
    /// Phone columns, in the order a row's phones are taken from.
    pub phones: Vec<usize>,
    /// How the file was read (`workbook, sheet "Guests"`).
    pub format: String,
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

fn open(path: &Path, options: &InputOptions) -> Result<Input, String> {
    Input::open(&Source::File(path.to_path_buf()), options).map_err(|e| e.to_string())
}

/// Reads the upload's header, once: how it is read with the person's changes, and how the same
/// header maps without them (a workbook is read whole, so a second reading would cost as much
/// memory again).
pub(super) fn columns(upload: &Path, map: &[(String, String)]) -> Result<Columns, String> {
    let options = InputOptions {
        map: targets(map),
        ..InputOptions::default()
    };
    let input = open(upload, &options)?;
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
    let chosen = fields_of(&input.map);
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
                .map(|hint| hint.text.clone())
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
    })
}

/// A job's results, read back.
#[derive(Debug, Clone, Default)]
pub(super) struct Table {
    /// The input's columns.
    pub header: Vec<String>,
    /// The rows, in the file's order (at most `SHOWN_ROWS`).
    pub rows: Vec<TableRow>,
    /// Rows not shown past `SHOWN_ROWS`.
    pub more: u64,
    /// Rows per status, every row counted.
    pub counts: BTreeMap<String, u64>,
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

/// Reads a results file of the engine (a preview, an import's, an undo's).
pub(super) fn results(path: &Path, map: &[(String, String)]) -> Result<Table, String> {
    let options = InputOptions {
        map: targets(map),
        previous_results: true,
        result_columns: &crate::engine::report::results::RESULT_COLUMNS,
        ..InputOptions::default()
    };
    let input = open(path, &options)?;
    let header = input.header.clone();
    let mut rows = Vec::new();
    let mut more = 0;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    // The result cells are read by the engine's names for their places in RESULT_COLUMNS.
    use crate::engine::report::results::{MESSAGE_AT, STATUS_AT};
    for record in input {
        if let Some(status) = record.previous.get(STATUS_AT) {
            *counts.entry(status.clone()).or_default() += 1;
        }
        if rows.len() == SHOWN_ROWS {
            more += 1;
            continue;
        }
        let cell = |i: usize| record.previous.get(i).cloned().unwrap_or_default();
        rows.push(TableRow {
            row: record.row,
            status: cell(STATUS_AT),
            message: cell(MESSAGE_AT),
            cells: record.cells.iter().map(str::to_string).collect(),
        });
    }
    Ok(Table {
        header,
        rows,
        more,
        counts,
    })
}

/// Writes the corrected copy: the upload's header and rows with the edits, as CSV (UTF-8 with
/// a byte order mark and CRLF, for Excel; the formula guard on, as every file the tool writes).
pub(super) fn write_corrected(
    upload: &Path,
    map: &[(String, String)],
    edits: &[CellEdit],
    to: &Path,
) -> Result<(), String> {
    let options = InputOptions {
        map: targets(map),
        edits: edits.to_vec(),
        ..InputOptions::default()
    };
    let input = open(upload, &options)?;
    let mut out = Vec::from(*b"\xEF\xBB\xBF");
    {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(&mut out);
        let guard = |cell: &str| crate::files::output::neutralize(cell).into_owned();
        let header: Vec<String> = input.header.iter().map(|c| guard(c)).collect();
        writer.write_record(&header).map_err(|e| e.to_string())?;
        for record in input {
            let cells: Vec<String> = record.cells.iter().map(guard).collect();
            writer.write_record(&cells).map_err(|e| e.to_string())?;
        }
        writer.flush().map_err(|e| e.to_string())?;
    }
    let temp = to.with_extension("csv.tmp");
    std::fs::write(&temp, out).map_err(|e| e.to_string())?;
    std::fs::rename(&temp, to).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_say_what_is_detected_what_is_chosen_and_what_looks_like_a_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.csv");
        std::fs::write(&path, "E-mail,Vorname,Mob.,Phone,Notes\na@x.com,A,1,2,n\n").unwrap();
        let columns = columns(&path, &[("Notes".into(), "company_name".into())]).unwrap();
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
        assert!(
            columns.hints[2].as_deref().unwrap().contains("--map \"Mob.=phone_"),
            "{:?}",
            columns.hints
        );
        let cells: Vec<String> = ["a@x.com", "A", "1", "", "n"].map(String::from).to_vec();
        assert_eq!(columns.column_of("email", &cells), Some(0));
        assert_eq!(columns.column_of("phone_1", &cells), Some(3));
    }

    #[test]
    fn the_corrected_copy_has_the_edits_and_the_original_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.csv");
        let original = "email,phone\na@x,+44 1\nb@x.com,2\n";
        std::fs::write(&path, original).unwrap();
        let to = dir.path().join("corrected.csv");
        let edit = CellEdit {
            row: 2,
            column: 0,
            value: "a@x.com".into(),
        };
        write_corrected(&path, &[], &[edit], &to).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
        assert_eq!(
            std::fs::read_to_string(&to).unwrap(),
            "\u{feff}email,phone\r\na@x.com,'+44 1\r\nb@x.com,2\r\n"
        );
    }
}
