//! Planning, in input order: what each record becomes once validation and dedupe have seen it
//! (a finished result, a create, or a member update), and the rows `--retry-from` copies.
//! Nothing here sends a change (that is `act`).
//!
//! - `reader`: the file, read, decoded and validated on a thread of its own, in batches.
//! - `prefetch`: the organization's guests (every page) and members, while the file is read.
//! - `dedupe`: each row's email against the rows before it and the existing guests
//!   (`existing`: what the organization holds for each).
//! - `earlier`: a plain rerun's guests that an earlier run of the job created, kept `created`.
//! - `sync`: what a row says about a guest who exists: members to apply, drift to report.

pub(super) mod dedupe;
pub(crate) mod earlier;
pub(super) mod existing;
pub(super) mod prefetch;
pub(super) mod reader;
pub(super) mod sync;

use std::sync::Arc;

use super::link::Link;
use super::options::Options;
use super::outcome::{PreviousResult, Status};
use super::report::results::RowResult;
use crate::api::{Client, NewGuest};
use crate::input::{Field, FieldMap, InputRecord};
use crate::modes::OnExisting;
use crate::validate;
use dedupe::{Deduper, Seen};
use existing::Existing;
use reader::Parsed;

/// What the pipeline does with a record once dedupe has seen it. A plan that sends holds the
/// client it is sent through (only a `Link::Send` gives one).
pub(super) enum Plan {
    Done(RowResult),
    Create(InputRecord, NewGuest, Arc<Client>),
    Update(Box<UpdatePlan>),
}

/// What becomes of a row whose guest exists: its account as it is, or an update to send.
#[allow(
    clippy::large_enum_variant,
    reason = "held only until it becomes a Plan (as large) or is carried out; boxing the result would cost an allocation per existing guest"
)]
pub(crate) enum Exists {
    Done(RowResult),
    Update(Box<UpdatePlan>),
}

impl From<Exists> for Plan {
    fn from(exists: Exists) -> Self {
        match exists {
            Exists::Done(result) => Plan::Done(result),
            Exists::Update(update) => Plan::Update(update),
        }
    }
}

pub(super) struct UpdatePlan {
    pub(super) client: Arc<Client>,
    pub(super) result: RowResult,
    pub(super) email: String,
    pub(super) before: Vec<u64>,
    pub(super) change: Change,
    pub(super) drift_note: String,
}

/// What an update does to an existing guest.
pub(super) enum Change {
    /// The guest is disabled and back in the file (`--on-missing disable`): enable it, then
    /// apply the member list if it changes.
    Enable(Option<Vec<u64>>),
    /// Apply this member list.
    Members(Vec<u64>),
}

/// Validation and dedupe, in input order.
pub(super) fn plan(dedupe: &mut Deduper, parsed: Parsed, map: &FieldMap, options: &Options, link: &Link) -> Plan {
    let Parsed {
        record,
        valid,
        mentioned,
        previous,
    } = parsed;
    for &mention in &mentioned {
        dedupe.mention(mention, record.row);
    }
    let record = match previous {
        Some(previous) if !previous.retried() => return Plan::Done(carried_over(dedupe, record, previous, map)),
        // The row keeps the number it has in the original spreadsheet.
        Some(previous) => InputRecord {
            row: previous.row.unwrap_or(record.row),
            ..record
        },
        None => record,
    };
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
            let (fields, message) = said(&problems);
            return invalid(fields, message, record);
        }
    };
    let email = map.cell(Field::Email, &record.cells).unwrap_or_default();
    // A member's email is refused by the server whatever else the row holds: decided before
    // any request, and before dedupe, so that the row is not the "first" of its email.
    if let Some(refusal) = options.members.get().and_then(|known| known.refuses_email(email)) {
        // Still a mention: the reader left the email cell of a valid row to dedupe.
        dedupe::mention_keys(email, |key| {
            let column = dedupe::EMAIL_COLUMN;
            dedupe.mention(dedupe::Mention { key, column }, record.row);
        });
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
            match existing_row(record, &guest, &existing, options, link, "already a guest") {
                // A guest this job's earlier run created stays its creation (undo takes it back).
                Exists::Done(result) => Plan::Done(options.earlier.carry(result)),
                update => update.into(),
            }
        }
        // Member ids that are not members would be refused too: decided before the create.
        Seen::New if unknown_members.is_some() => invalid(
            vec![Field::AssociatedMembers],
            unknown_members.unwrap_or_default(),
            record,
        ),
        Seen::New => new_guest(record, link, guest),
    }
}

/// A row whose guest is new: its guest, made from the cells, to create; or what a dry run says.
fn new_guest(record: InputRecord, link: &Link, guest: impl FnOnce(&InputRecord) -> NewGuest) -> Plan {
    match link {
        Link::Send(client) => {
            let guest = guest(&record);
            Plan::Create(record, guest, Arc::clone(client))
        }
        Link::DryRun(client) => {
            // A plain copy, not a format: this runs for every row of a dry run.
            let message = match client {
                None => "would be created (offline: not checked against existing guests)",
                Some(_) => "would be created",
            };
            Plan::Done(RowResult::new(
                record.index,
                record.row,
                Status::WouldCreate,
                message.to_string(),
                record.cells,
            ))
        }
    }
}

/// A row of an earlier results file (`--retry-from`) that is not re-run: carried over as it
/// was. Its guest is still the first of its email, so a re-run duplicate of it is still
/// "duplicate of row N", N its row number in the original spreadsheet.
fn carried_over(dedupe: &mut Deduper, record: InputRecord, previous: PreviousResult, map: &FieldMap) -> RowResult {
    if let (Ok(true), Some(email)) = (
        previous.status.as_ref().map(|status| status.carried()),
        map.cell(Field::Email, &record.cells)
            .filter(|email| !email.trim().is_empty()),
    ) {
        dedupe.check(email, previous.row.unwrap_or(record.row));
    }
    earlier::copied(record, previous)
}

/// An invalid row's problems as its result says them: the fields they are about (each once, in
/// order) and the messages, joined.
fn said(problems: &[validate::Problem]) -> (Vec<Field>, String) {
    let message: Vec<&str> = problems.iter().map(|problem| problem.message.as_str()).collect();
    let mut fields: Vec<Field> = Vec::new();
    for field in problems.iter().filter_map(|problem| problem.field) {
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    (fields, message.join("; "))
}

/// A row whose guest already exists: `exists`, or an update of its members, with any drift.
/// `how` opens the message: how we know it exists.
pub(super) fn existing_row(
    record: InputRecord,
    guest: &NewGuest,
    existing: &Existing,
    options: &Options,
    link: &Link,
    how: &str,
) -> Exists {
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
        return Exists::Done(result);
    }
    if options.reenable && existing.profile.disabled {
        let members = comparison.members.filter(|_| options.on_existing == OnExisting::Update);
        let Link::Send(client) = link else {
            let update = members
                .as_deref()
                .map_or(String::new(), |members| format!("; would update: {}", change(members)));
            result.outcome.status = Status::WouldEnable;
            result.outcome.message =
                format!("{how} and disabled; back in the file, so it would be enabled again{update}{drift_note}");
            return Exists::Done(result);
        };
        return Exists::Update(Box::new(UpdatePlan {
            client: Arc::clone(client),
            result,
            email: guest.email.trim().to_string(),
            before: comparison.members_before,
            change: Change::Enable(members),
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
        (Some(members), OnExisting::Update) => match link {
            Link::DryRun(_) => {
                result.outcome.status = Status::WouldUpdate;
                result.outcome.message = format!("would update: {}{drift_note}", change(&members));
            }
            Link::Send(client) => {
                return Exists::Update(Box::new(UpdatePlan {
                    client: Arc::clone(client),
                    result,
                    email: guest.email.trim().to_string(),
                    before: comparison.members_before,
                    change: Change::Members(members),
                    drift_note,
                }));
            }
        },
    }
    Exists::Done(result)
}
