//! `--report-missing`: the guests present in Tallyfy but named by no row of the file, as a CSV
//! that is itself valid import input; with `--on-missing disable|delete`, what was done to each
//! in two columns in front (`result_status`, `result_message`), followed by the guests the file
//! only mentions (a second email column, a note: issue 30), `exists` and why they were kept.

use std::path::Path;

use crate::engine::outcome::{Outcome, Status};
use crate::engine::plan::dedupe::{Mentioned, Presence};
use crate::engine::plan::existing::Existing;
use crate::error::RunError;
use crate::files::output::{AtomicFile, csv_writer, neutralize};

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

/// How many kept guests the log names one by one; the report has them all.
const KEPT_LOGGED: usize = 10;

/// Says which guests are kept only because the file mentions them, and where.
pub(crate) fn log_kept(mentioned: &[Mentioned]) {
    for kept in mentioned.iter().take(KEPT_LOGGED) {
        tracing::warn!("guest {} ({}) is {}", kept.guest.profile.email, kept.guest.id, kept.why);
    }
    if mentioned.len() > KEPT_LOGGED {
        tracing::warn!(
            "... and {} more guests kept because the file mentions them where it imports no email",
            mentioned.len() - KEPT_LOGGED
        );
    }
}

/// Writes the report and says so; returns how many missing guests it lists. `done` holds what
/// `--on-missing` did to each missing guest, in the same order.
pub(crate) fn report(
    path: &Path,
    presence: &Presence,
    done: Option<&[Outcome]>,
    raw: bool,
    excel: bool,
) -> Result<u64, RunError> {
    write(path, presence, done, raw, excel)?;
    let missing = &presence.missing;
    tracing::info!(
        "{} guests in Tallyfy are not in the file: {}",
        missing.len(),
        path.display()
    );
    Ok(missing.len() as u64)
}

/// Writes the report atomically: a run that fails leaves no half-written report. With the
/// mirror's columns (`done`), the guests the file only mentions follow the missing ones.
pub(crate) fn write(
    path: &Path,
    presence: &Presence,
    done: Option<&[Outcome]>,
    raw: bool,
    excel: bool,
) -> Result<(), RunError> {
    let missing = &presence.missing;
    let what = || format!("cannot write the missing-guests report {}", path.display());
    let mut file = AtomicFile::create(path).map_err(|e| RunError::io(what(), e))?;
    let mut out =
        csv_writer(file.writer(), crate::files::output::CsvStyle::new(excel)).map_err(|e| RunError::io(what(), e))?;
    let io = |e: csv::Error| RunError::io(what(), e.into());
    let actions = done.map_or(&[][..], |_| &ACTION_COLUMNS[..]);
    out.write_record(actions.iter().chain(COLUMNS.iter())).map_err(io)?;
    let kept = done
        .map_or(&[][..], |_| presence.mentioned.as_slice())
        .iter()
        .map(|kept| (Some([Status::Exists.as_str(), kept.why.as_str()]), &kept.guest));
    let missing = missing.iter().enumerate().map(|(at, guest)| {
        let action = done.and_then(|done| done.get(at));
        (
            action.map(|outcome| [outcome.status.as_str(), outcome.message.as_str()]),
            guest,
        )
    });
    for (action, guest) in missing.chain(kept) {
        let guest: &Existing = guest;
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
