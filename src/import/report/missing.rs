//! `--report-missing`: the guests present in Tallyfy but named by no row of the file, as a CSV
//! that is itself valid import input; with `--on-missing disable|delete`, what was done to each
//! in two columns in front (`result_status`, `result_message`).

use std::path::Path;

use crate::error::RunError;
use crate::import::outcome::Outcome;
use crate::import::plan::existing::Existing;
use crate::output::{AtomicFile, csv_writer, neutralize};

pub(crate) const COLUMNS: [&str; 9] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "phone_1",
    "phone_2",
    "company_name",
    "timezone",
    "associated_members",
];

/// Written in front of the guests' columns when `--on-missing` acted.
pub(crate) const ACTION_COLUMNS: [&str; 2] = ["result_status", "result_message"];

/// Writes the report and says so; returns how many guests it lists. `done` holds what
/// `--on-missing` did to each guest, in the same order.
pub(crate) fn report(
    path: &Path,
    missing: &[Existing],
    done: Option<&[Outcome]>,
    raw: bool,
    excel: bool,
) -> Result<u64, RunError> {
    write(path, missing, done, raw, excel)?;
    tracing::info!(
        "{} guests in Tallyfy are not in the file: {}",
        missing.len(),
        path.display()
    );
    Ok(missing.len() as u64)
}

/// Writes the report atomically: a run that fails leaves no half-written report.
pub(crate) fn write(
    path: &Path,
    missing: &[Existing],
    done: Option<&[Outcome]>,
    raw: bool,
    excel: bool,
) -> Result<(), RunError> {
    let what = || format!("cannot write the missing-guests report {}", path.display());
    let mut file = AtomicFile::create(path).map_err(|e| RunError::io(what(), e))?;
    let mut out =
        csv_writer(file.writer(), crate::output::CsvStyle::new(excel)).map_err(|e| RunError::io(what(), e))?;
    let io = |e: csv::Error| RunError::io(what(), e.into());
    let actions = done.map_or(&[][..], |_| &ACTION_COLUMNS[..]);
    out.write_record(actions.iter().chain(COLUMNS.iter())).map_err(io)?;
    for (at, guest) in missing.iter().enumerate() {
        let action = done.and_then(|done| done.get(at));
        let action = action.map(|outcome| [outcome.status.as_str(), outcome.message.as_str()]);
        let profile = &guest.profile;
        let members = crate::api::model::join_members(&profile.associated_members);
        let cells = action.iter().flatten().copied().chain([
            guest.id.as_str(),
            &profile.email,
            &profile.first_name,
            &profile.last_name,
            &profile.phone_1,
            &profile.phone_2,
            &profile.company_name,
            &profile.timezone,
            &members,
        ]);
        if raw {
            out.write_record(cells).map_err(io)?;
        } else {
            out.write_record(cells.map(|cell| neutralize(cell).into_owned()))
                .map_err(io)?;
        }
    }
    out.flush().map_err(|e| RunError::io(what(), e))?;
    drop(out);
    file.commit().map_err(|e| RunError::io(what(), e))
}
