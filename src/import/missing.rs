//! `--report-missing`: the guests present in Tallyfy but named by no row of the file, as a CSV
//! that is itself valid import input. A report only: nothing is ever deleted or disabled.

use std::path::Path;

use super::dedupe::Existing;
use crate::error::RunError;
use crate::output::{AtomicFile, csv_writer, neutralize};

pub const COLUMNS: [&str; 9] = [
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

/// Writes the report and says so; returns how many guests it lists.
pub fn report(path: &Path, missing: &[Existing], raw: bool, excel: bool) -> Result<u64, RunError> {
    write(path, missing, raw, excel)?;
    tracing::info!(
        "{} guests in Tallyfy are not in the file: {}",
        missing.len(),
        path.display()
    );
    Ok(missing.len() as u64)
}

/// Writes the report atomically: a run that fails leaves no half-written report.
pub fn write(path: &Path, missing: &[Existing], raw: bool, excel: bool) -> Result<(), RunError> {
    let what = || format!("cannot write the missing-guests report {}", path.display());
    let mut file = AtomicFile::create(path).map_err(|e| RunError::io(what(), e))?;
    let mut out =
        csv_writer(file.writer(), crate::output::CsvStyle::new(excel)).map_err(|e| RunError::io(what(), e))?;
    let io = |e: csv::Error| RunError::io(what(), e.into());
    out.write_record(COLUMNS).map_err(io)?;
    for guest in missing {
        let profile = &guest.profile;
        let members = crate::api::model::join_members(&profile.associated_members);
        let cells = [
            guest.id.as_str(),
            &profile.email,
            &profile.first_name,
            &profile.last_name,
            &profile.phone_1,
            &profile.phone_2,
            &profile.company_name,
            &profile.timezone,
            &members,
        ];
        if raw {
            out.write_record(cells).map_err(io)?;
        } else {
            out.write_record(cells.iter().map(|cell| neutralize(cell).into_owned()))
                .map_err(io)?;
        }
    }
    out.flush().map_err(|e| RunError::io(what(), e))?;
    drop(out);
    file.commit().map_err(|e| RunError::io(what(), e))
}
