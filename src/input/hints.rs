//! Which columns that are not imported look like a guest field (`Mob.`, `Given`, `Employer
//! name`), and the exact `--map` that would take each. The run says them in the log before
//! anything is sent and in a dry run's summary, so a phone column with a name nobody listed is
//! noticed before the guests are created without phones (issue 23, part 6). Owns only this
//! guess; which column holds which field is `header`'s.

use super::field::Field;
use super::header::{FieldMap, normalize};

/// One column that looks like a guest field but is not imported, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The column, as the header names it (as in `Input::other_columns`).
    pub column: String,
    /// The line for a person: `column "Mob." looks like a phone but is not imported: add
    /// --map "Mob.=phone_1" to import it`.
    pub text: String,
    /// What the column looks like, for a face with its own words (`a phone`).
    pub looks_like: &'static str,
    /// The field the line offers to import it as (what the `--map` in it names).
    pub field: Field,
}

/// What a header's words suggest it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Phone,
    Email,
    Company,
    Timezone,
    Members,
    FirstName,
    LastName,
    /// `Name`, `Full Name`: the first of first_name, last_name that is free.
    Name,
}

impl Kind {
    /// How the line names what the column looks like.
    fn looks_like(self) -> &'static str {
        match self {
            Kind::Phone => "a phone",
            Kind::Email => "an email",
            Kind::Company => "a company name",
            Kind::Timezone => "a time zone",
            Kind::Members => "member ids",
            Kind::FirstName => "a first name",
            Kind::LastName => "a last name",
            Kind::Name => "a name",
        }
    }

    /// The fields the column could be imported as, the likeliest first.
    fn fields(self) -> &'static [Field] {
        match self {
            Kind::Phone => &[Field::Phone1, Field::Phone2],
            Kind::Email => &[Field::Email],
            Kind::Company => &[Field::CompanyName],
            Kind::Timezone => &[Field::Timezone],
            Kind::Members => &[Field::AssociatedMembers],
            Kind::FirstName => &[Field::FirstName],
            Kind::LastName => &[Field::LastName],
            Kind::Name => &[Field::FirstName, Field::LastName],
        }
    }
}

/// Where a word must appear: anywhere in the normalised header (long words, and the ones
/// compounds hide: `Geschäftstelefon`, `Contactemail`), or at the start of one of its words
/// (short ones, which other words contain: `hotel`, `cancellation`, `username`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Anywhere,
    WordStart,
}

/// The words for each field, the kinds checked in this order (`Company Phone` is a phone,
/// `Employer Name` a company, `Company Email` an email).
const WORDS: &[(&str, Kind, At)] = &[
    ("phone", Kind::Phone, At::Anywhere),
    ("telefon", Kind::Phone, At::Anywhere),
    ("mobile", Kind::Phone, At::Anywhere),
    ("tel", Kind::Phone, At::WordStart),
    ("mob", Kind::Phone, At::WordStart),
    ("cell", Kind::Phone, At::WordStart),
    ("fax", Kind::Phone, At::WordStart),
    ("email", Kind::Email, At::Anywhere),
    ("mail", Kind::Email, At::WordStart),
    ("company", Kind::Company, At::Anywhere),
    ("organisation", Kind::Company, At::Anywhere),
    ("organization", Kind::Company, At::Anywhere),
    ("employer", Kind::Company, At::Anywhere),
    ("firma", Kind::Company, At::WordStart),
    ("zone", Kind::Timezone, At::Anywhere),
    ("tz", Kind::Timezone, At::WordStart),
    ("member", Kind::Members, At::Anywhere),
    ("first", Kind::FirstName, At::WordStart),
    ("given", Kind::FirstName, At::WordStart),
    ("forename", Kind::FirstName, At::Anywhere),
    ("last", Kind::LastName, At::WordStart),
    ("surname", Kind::LastName, At::Anywhere),
    ("name", Kind::Name, At::WordStart),
];

/// Words that say a column is about a field rather than the field itself: exports carry many
/// (HubSpot's `Last Modified Date`, `Company Size`, `Marketing emails opened`; Salesforce's
/// `Mailing City`, `Email Opt Out`), and a hint for each would bury the real ones.
const NOT_THE_FIELD: &[&str] = &[
    "date",
    "login",
    "modified",
    "updated",
    "created",
    "activity",
    "opened",
    "clicked",
    "delivered",
    "bounced",
    "bounce",
    "opt",
    "optout",
    "optin",
    "status",
    "domain",
    "reason",
    "count",
    "size",
    "seen",
    "sent",
    "verified",
    "street",
    "city",
    "zip",
    "postal",
    "state",
    "country",
    "since",
    "type",
    "source",
    "conversion",
    "marketing",
    "mailing",
    "id",
];

/// The header's words, lower case: split at anything not a letter or digit and where a
/// lower-case letter meets a capital (`PhoneNumber2` → `phone`, `number2`).
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if (!c.is_alphanumeric() || (previous_lower && c.is_uppercase())) && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        }
        previous_lower = c.is_lowercase();
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// What the header looks like, if it looks like a guest field at all.
fn kind(name: &str) -> Option<Kind> {
    let key = normalize(name);
    let words = words(name);
    let found = WORDS.iter().find(|(word, _, at)| match at {
        At::Anywhere => key.contains(word),
        At::WordStart => words.iter().any(|w| w.starts_with(word)),
    })?;
    let kind = found.1;
    // A member id column is named by its ids (`Member ID`); elsewhere an id is not the field.
    let about = words
        .iter()
        .any(|w| NOT_THE_FIELD.contains(&w.as_str()) && !(kind == Kind::Members && w == "id"));
    (!about).then_some(kind)
}

/// `--map "Mob.=phone_1"`, quoted for a shell: in single quotes when the name holds a
/// character double quotes would not keep as it is.
fn map_flag(column: &str, field: &str) -> String {
    let value = format!("{column}={field}");
    if value.contains(['"', '$', '`', '\\', '!']) {
        format!("--map '{}'", value.replace('\'', r"'\''"))
    } else {
        format!("--map \"{value}\"")
    }
}

/// `"A"`, `"A" and "B"`, `"A", "B" and "C"`.
fn quoted_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// The hints for `header` as `map` maps it, in column order. A column gets one when it is not
/// imported, `--map ... =ignore` did not leave it out, its name is its own (a `--map` names a
/// column by name) and its words name a field. Each free field is offered once: with no phone
/// mapped, `Mob.` gets phone_1 and a later `Fax` phone_2.
pub(super) fn unmapped(header: &[String], map: &FieldMap) -> Vec<Hint> {
    let mut offered: Vec<Field> = Vec::new();
    let mut phones_offered = 0;
    let mut hints = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let column = name.trim();
        if column.is_empty()
            || map.is_mapped(index)
            || map.is_ignored(index)
            || header.iter().filter(|other| other.trim() == column).count() > 1
        {
            continue;
        }
        let Some(kind) = kind(column) else { continue };
        let free = match kind {
            // A row takes its first two non-empty phones, whatever the columns' fields.
            Kind::Phone => kind.fields().get(map.phone_columns().len() + phones_offered).copied(),
            _ => kind
                .fields()
                .iter()
                .copied()
                .find(|&field| map.column(field).is_none() && !offered.contains(&field)),
        };
        let looks = format!(
            "column \"{column}\" looks like {} but is not imported",
            kind.looks_like()
        );
        let offer = free.unwrap_or(if kind == Kind::Phone {
            Field::Phone2
        } else {
            kind.fields()[0]
        });
        let text = match free {
            Some(field) => {
                if kind == Kind::Phone {
                    phones_offered += 1;
                }
                offered.push(field);
                format!("{looks}: add {} to import it", map_flag(column, field.name()))
            }
            None if kind == Kind::Phone => {
                let phones: Vec<String> = map.phone_columns().iter().map(|&c| map.column_name(c)).collect();
                format!(
                    "{looks}: a guest has two phones, the first two non-empty of {} (add {} to take it before the others)",
                    quoted_list(&phones),
                    map_flag(column, Field::Phone2.name())
                )
            }
            None => {
                let field = kind.fields()[0];
                let from = map.label(field);
                format!(
                    "{looks}: a guest has one {}, taken from \"{from}\" (add {} to take it from \"{column}\" instead)",
                    field.name(),
                    map_flag(column, field.name())
                )
            }
        };
        hints.push(Hint {
            column: name.clone(),
            text,
            looks_like: kind.looks_like(),
            field: offer,
        });
    }
    hints
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::header::{map_header, parse_mapping};

    fn hints(names: &[&str], maps: &[&str]) -> Vec<String> {
        let header: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let maps: Vec<_> = maps.iter().map(|m| parse_mapping(m).unwrap()).collect();
        let (map, _) = map_header(&header, &maps).unwrap();
        unmapped(&header, &map).into_iter().map(|hint| hint.text).collect()
    }

    #[test]
    fn unmapped_columns_that_look_like_fields_get_the_map_that_takes_them() {
        assert_eq!(
            hints(&["Email", "Given", "Mob.", "Employer", "Notes", "Fax"], &[]),
            [
                r#"column "Given" looks like a first name but is not imported: add --map "Given=first_name" to import it"#,
                r#"column "Mob." looks like a phone but is not imported: add --map "Mob.=phone_1" to import it"#,
                r#"column "Fax" looks like a phone but is not imported: add --map "Fax=phone_2" to import it"#,
            ]
        );
        assert_eq!(
            hints(
                &["Email", "Phone", "Mob.", "Employer Name", "TZ (IANA)", "Member ID"],
                &[]
            ),
            [
                r#"column "Mob." looks like a phone but is not imported: add --map "Mob.=phone_2" to import it"#,
                r#"column "Employer Name" looks like a company name but is not imported: add --map "Employer Name=company_name" to import it"#,
                r#"column "TZ (IANA)" looks like a time zone but is not imported: add --map "TZ (IANA)=timezone" to import it"#,
                r#"column "Member ID" looks like member ids but is not imported: add --map "Member ID=associated_members" to import it"#,
            ]
        );
    }

    #[test]
    fn a_second_email_is_said_to_be_ignored_and_why() {
        assert_eq!(
            hints(&["Email", "Private E-mail"], &[]),
            [
                r#"column "Private E-mail" looks like an email but is not imported: a guest has one email, taken from "Email" (add --map "Private E-mail=email" to take it from "Private E-mail" instead)"#
            ]
        );
        assert_eq!(
            hints(&["Email", "Phone", "Mobile", "Fax"], &[]),
            [
                r#"column "Fax" looks like a phone but is not imported: a guest has two phones, the first two non-empty of "Phone" and "Mobile" (add --map "Fax=phone_2" to take it before the others)"#
            ]
        );
    }

    #[test]
    fn mapped_ignored_and_unrelated_columns_get_none() {
        assert!(hints(&["Email", "Mob.", "Notes"], &["Mob.=ignore"]).is_empty());
        assert!(hints(&["Email", "Mob."], &["Mob.=phone_2"]).is_empty());
        assert!(
            hints(
                &[
                    "Email",
                    "Notes",
                    "Hotel",
                    "Username",
                    "Last Modified Date",
                    "Company Size",
                    "Marketing emails opened",
                    "Mailing City",
                    "Email Opt Out",
                    "Company ID",
                    "Member since",
                    "Cancellation",
                ],
                &[]
            )
            .is_empty()
        );
        // Two columns of one name cannot be told apart by a --map: no hint names either.
        assert!(hints(&["Email", "Mob.", "Mob."], &[]).is_empty());
    }

    #[test]
    fn names_outside_double_quotes_are_single_quoted() {
        assert_eq!(map_flag("Tel \"home\"", "phone_1"), r#"--map 'Tel "home"=phone_1'"#);
        assert_eq!(
            map_flag("O'Brien's tel $", "phone_1"),
            r#"--map 'O'\''Brien'\''s tel $=phone_1'"#
        );
        assert_eq!(words("PhoneNumber2 (work)"), ["phone", "number2", "work"]);
    }
}
