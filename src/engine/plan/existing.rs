//! An existing guest as the organization holds it (`Existing`: its id and `Profile`), the shape
//! prefetch and dedupe find, planning compares a row with, and the mirror and the missing report
//! act on.

use crate::api::Guest;

/// What Tallyfy holds for an existing guest, as far as a file can disagree with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Profile {
    pub first_name: String,
    pub last_name: String,
    pub phone_1: String,
    pub phone_2: String,
    pub company_name: String,
    pub timezone: String,
    pub associated_members: Vec<u64>,
    /// Kept only for `--report-missing`.
    pub email: String,
    /// The guest is disabled (`details.disabled_at` or status `disabled`).
    pub disabled: bool,
    /// The guest has work (`work`), as far as the list showed it: its task statistics are
    /// listed only when the question counts the guests a mirror's delete would keep.
    pub used: bool,
}

impl Profile {
    /// The profile of a guest read from the API (one found by reading back a create).
    pub(crate) fn of(guest: &Guest) -> Profile {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        let mut members = guest.associated_members.clone();
        members.sort_unstable();
        members.dedup();
        Profile {
            first_name: text(&guest.first_name),
            last_name: text(&guest.last_name),
            phone_1: text(&guest.phone_1),
            phone_2: text(&guest.phone_2),
            company_name: text(&guest.company_name),
            timezone: text(&guest.timezone),
            associated_members: members,
            email: guest.email.clone(),
            disabled: is_disabled(guest),
            used: work(guest).is_some(),
        }
    }
}

/// Work a guest has, which a delete would take away ("detaches the guest from all tasks",
/// Tallyfy's delete-guest page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work<'a> {
    /// Tasks assigned (known only when the guest was read `with=stats`).
    Tasks(u64),
    /// A sign-in on record (`last_accessed_at`), as the API wrote it.
    SignedIn(&'a str),
}

/// The work `guest` has: tasks assigned first, else a sign-in. The one rule the mirror keeps a
/// guest by (`act::mirror`) and the question counts kept guests by.
pub(crate) fn work(guest: &Guest) -> Option<Work<'_>> {
    let tasks = guest.stats.as_ref().and_then(|stats| stats.assigned_tasks).unwrap_or(0);
    if tasks > 0 {
        return Some(Work::Tasks(tasks));
    }
    let signed_in = guest.last_accessed_at.as_deref().filter(|at| !at.trim().is_empty())?;
    Some(Work::SignedIn(signed_in))
}

/// Whether the API says the guest is disabled (either way it can say so).
pub(crate) fn is_disabled(guest: &Guest) -> bool {
    guest.disabled_at.as_deref().is_some_and(|at| !at.trim().is_empty())
        || guest
            .status
            .as_deref()
            .is_some_and(|status| status.eq_ignore_ascii_case("disabled"))
}

/// An existing guest as dedupe found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Existing {
    pub id: String,
    pub profile: Profile,
}
