//! Planning, in input order: what each record becomes once validation and dedupe have seen it
//! (a finished result, a create, or a member update), and the rows `--retry-from` copies.
//! Nothing here sends a change (that is `act`).
//!
//! - `reader`: the file, read, decoded and validated on a thread of its own, in batches.
//! - `prefetch`: the organization's guests (every page) and members, while the file is read.
//! - `dedupe`: each row's email against the rows before it and the existing guests
//!   (`existing`: what the organization holds for each).
//! - `sync`: what a row says about a guest who exists: members to apply, drift to report.

pub(super) mod dedupe;
pub(super) mod existing;
pub(super) mod prefetch;
pub(super) mod reader;
pub(super) mod sync;

use super::options::Options;
use super::outcome::{Outcome, PreviousResult, Status};
use super::report::results::RowResult;
use crate::api::NewGuest;
use crate::input::{Field, FieldMap, InputRecord};
use crate::modes::OnExisting;
use crate::validate;
use dedupe::{Deduper, Seen};
use existing::Existing;
use reader::Parsed;

/// What the pipeline does with a record once dedupe has seen it.
pub(super) enum Plan {
    Done(RowResult),
    Create(InputRecord, NewGuest),
    Update(Box<UpdatePlan>),
}

pub(super) struct UpdatePlan {
    pub(super) result: RowResult,
    pub(super) email: String,
    pub(super) before: Vec<u64>,
    /// The member list to apply, if it changes.
    pub(super) members: Option<Vec<u64>>,
    /// The guest is disabled and back in the file: enable it first (`--on-missing disable`).
    pub(super) enable: bool,
    pub(super) drift_note: String,
}

/// A row of an earlier results file that is not re-run: its account, as it was.
pub(super) fn copied(record: InputRecord, previous: PreviousResult) -> RowResult {
    let row = previous.row.unwrap_or(record.row);
    match previous.status {
        Ok(status) => RowResult {
            index: record.index,
            row,
            outcome: Outcome {
                status,
                guest_id: previous.guest_id,
                http_status: previous.http_status,
                attempts: previous.attempts,
                message: previous.message,
                fields: Vec::new(),
            },
            cells: record.cells,
            // Made by the earlier run: its organization, run and time stay with it.
            provenance: Some(previous.provenance),
        },
        Err(text) => RowResult::new(
            record.index,
            row,
            Status::Invalid,
            format!(
                "result_status `{text}` is not one this tool writes, so it cannot tell whether to re-run the row: set it to failed to re-run it"
            ),
            record.cells,
        ),
    }
}

/// Validation and dedupe, in input order.
pub(super) fn plan(dedupe: &mut Deduper, parsed: Parsed, map: &FieldMap, options: &Options, offline: bool) -> Plan {
    let Parsed {
        mut record,
        valid,
        mentioned,
        previous,
    } = parsed;
    for email in &mentioned {
        dedupe.mention(email);
    }
    match previous {
        // The row keeps the number it has in the original spreadsheet.
        Some(previous) if previous.retried() => record.row = previous.row.unwrap_or(record.row),
        Some(previous) => {
            // A carried-over guest is the first of its email: a re-run duplicate of it is
            // still "duplicate of row N", N its row number in the original spreadsheet.
            if let (Ok(true), Some(email)) = (
                previous.status.as_ref().map(|status| status.carried()),
                map.cell(Field::Email, &record.cells)
                    .filter(|email| !email.trim().is_empty()),
            ) {
                dedupe.check(email, previous.row.unwrap_or(record.row));
            }
            return Plan::Done(copied(record, previous));
        }
        None => {}
    }
    let done = |status, message: String, record: InputRecord| {
        Plan::Done(RowResult::new(record.index, record.row, status, message, record.cells))
    };
    // An invalid row names the fields it is invalid for (a face marks their cells).
    let invalid = |fields: Vec<Field>, message: String, record: InputRecord| {
        let mut result = RowResult::new(record.index, record.row, Status::Invalid, message, record.cells);
        result.outcome.fields = fields;
        Plan::Done(result)
    };
    let members = match valid {
        Ok(members) => members,
        Err(problems) => {
            let message: Vec<&str> = problems.iter().map(|problem| problem.message.as_str()).collect();
            let mut fields: Vec<Field> = Vec::new();
            for field in problems.iter().filter_map(|problem| problem.field) {
                if !fields.contains(&field) {
                    fields.push(field);
                }
            }
            return invalid(fields, message.join("; "), record);
        }
    };
    let email = map.cell(Field::Email, &record.cells).unwrap_or_default();
    // A member's email is refused by the server whatever else the row holds: decided before
    // any request, and before dedupe, so that the row is not the "first" of its email.
    if let Some(refusal) = options.members.get().and_then(|known| known.refuses_email(email)) {
        return invalid(vec![Field::Email], refusal, record);
    }
    let seen = dedupe.check(email, record.row);
    let unknown_members = match seen {
        Seen::New => options.members.get().and_then(|known| known.refuses_ids(&members)),
        _ => None,
    };
    // The guest is made from the cells only for a row that needs one.
    let guest = |record: &InputRecord| validate::guest(record, map, members);
    match seen {
        Seen::DuplicateOf(first) => done(
            Status::Duplicate,
            format!("duplicate of row {first} (same email)"),
            record,
        ),
        Seen::Exists(existing) => {
            let guest = guest(&record);
            existing_row(record, &guest, &existing, options, "already a guest")
        }
        // Member ids that are not members would be refused too: decided before the create.
        Seen::New if unknown_members.is_some() => invalid(
            vec![Field::AssociatedMembers],
            unknown_members.unwrap_or_default(),
            record,
        ),
        Seen::New if options.dry_run => {
            // A plain copy, not a format: this runs for every row of a dry run.
            let message = if offline {
                "would be created (offline: not checked against existing guests)"
            } else {
                "would be created"
            };
            done(Status::WouldCreate, message.to_string(), record)
        }
        Seen::New => {
            let guest = guest(&record);
            Plan::Create(record, guest)
        }
    }
}

/// A row whose guest already exists: `exists`, or an update of its members, with any drift.
/// `how` opens the message: how we know it exists.
pub(super) fn existing_row(
    record: InputRecord,
    guest: &NewGuest,
    existing: &Existing,
    options: &Options,
    how: &str,
) -> Plan {
    let comparison = sync::compare(guest, &existing.profile);
    let drift_note = comparison.drift_note();
    let mut result = RowResult::new(record.index, record.row, Status::Exists, "", record.cells);
    result.outcome.guest_id = existing.id.clone();
    let change = |members: &[u64]| sync::members_change(&comparison.members_before, members);
    // An update to member ids that are not members would be refused: decided before sending,
    // in a dry run as in a real run.
    if options.on_existing == OnExisting::Update
        && let Some(refusal) = comparison
            .members
            .as_deref()
            .and_then(|members| options.members.get()?.refuses_ids(members))
    {
        result.outcome.status = Status::Invalid;
        result.outcome.message = format!("{how}; not updated: {refusal}{drift_note}");
        result.outcome.fields = vec![Field::AssociatedMembers];
        return Plan::Done(result);
    }
    if options.reenable && existing.profile.disabled {
        let members = comparison.members.filter(|_| options.on_existing == OnExisting::Update);
        if options.dry_run {
            let update = members
                .as_deref()
                .map_or(String::new(), |members| format!("; would update: {}", change(members)));
            result.outcome.status = Status::WouldEnable;
            result.outcome.message =
                format!("{how} and disabled; back in the file, so it would be enabled again{update}{drift_note}");
            return Plan::Done(result);
        }
        return Plan::Update(Box::new(UpdatePlan {
            result,
            email: guest.email.trim().to_string(),
            before: comparison.members_before,
            members,
            enable: true,
            drift_note,
        }));
    }
    match (comparison.members, options.on_existing) {
        (None, _) => result.outcome.message = [how, drift_note.as_str()].concat(),
        (Some(members), OnExisting::Skip) => {
            result.outcome.message = format!(
                "{how}; the file's members differ ({}; --on-existing update applies it){drift_note}",
                change(&members)
            );
        }
        (Some(members), OnExisting::Update) if options.dry_run => {
            result.outcome.status = Status::WouldUpdate;
            result.outcome.message = format!("would update: {}{drift_note}", change(&members));
        }
        (Some(members), OnExisting::Update) => {
            return Plan::Update(Box::new(UpdatePlan {
                result,
                email: guest.email.trim().to_string(),
                before: comparison.members_before,
                members: Some(members),
                enable: false,
                drift_note,
            }));
        }
    }
    Plan::Done(result)
}
