//! The guest fields an input file can carry, by the API's names: what a header maps its
//! columns to, `--map` names, and aliases claim.

use std::fmt;

/// The guest fields an input file can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumIter, strum::EnumCount, strum::IntoStaticStr)]
pub enum Field {
    #[strum(serialize = "email")]
    /// The guest's email (required).
    Email,
    #[strum(serialize = "first_name")]
    /// First name.
    FirstName,
    #[strum(serialize = "last_name")]
    /// Last name.
    LastName,
    #[strum(serialize = "phone_1")]
    /// First phone.
    Phone1,
    #[strum(serialize = "phone_2")]
    /// Second phone.
    Phone2,
    #[strum(serialize = "company_name")]
    /// Company name.
    CompanyName,
    #[strum(serialize = "timezone")]
    /// IANA time zone.
    Timezone,
    #[strum(serialize = "associated_members")]
    /// Member ids.
    AssociatedMembers,
}

impl Field {
    /// Every field, in the order the API documents them.
    pub fn all() -> impl Iterator<Item = Field> {
        <Field as strum::IntoEnumIterator>::iter()
    }

    /// The API's name for the field.
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub(super) fn is_phone(self) -> bool {
        matches!(self, Field::Phone1 | Field::Phone2)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
