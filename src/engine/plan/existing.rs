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
        }
    }
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
