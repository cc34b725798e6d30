//! Validation: one input record → a `NewGuest`, or every problem of the row together. Limits
//! are the API's documented ones (../shared/tallyfy-api.md), checked here so a bad row costs no
//! request and is reported with its row number.

use std::str::FromStr;

use crate::api::NewGuest;
use crate::input::{Field, FieldMap, InputRecord};

const NAME_MAX: usize = 200;
const PHONE_MAX: usize = 20;

/// One problem of a row: its message, and the field it is about (none for a malformed record,
/// whose cells cannot be trusted to be in their columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field whose cell is wrong.
    pub field: Option<Field>,
    /// What is wrong, in the file's own column names.
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<Option<Field>>, message: String) -> Problem {
        Problem {
            field: field.into(),
            message,
        }
    }
}

/// The record as a guest to create, or the list of its problems.
pub fn validate(record: &InputRecord, map: &FieldMap) -> Result<NewGuest, Vec<String>> {
    let members = check(record, map).map_err(|problems| problems.into_iter().map(|p| p.message).collect::<Vec<_>>())?;
    Ok(guest(record, map, members))
}

/// Every problem of the record together, checked on its own text (nothing is copied: most rows
/// of a dry run never need a `NewGuest`); when there is none, its member ids.
pub fn check(record: &InputRecord, map: &FieldMap) -> Result<Vec<u64>, Vec<Problem>> {
    let mut problems: Vec<Problem> = record.problem.iter().map(|p| Problem::new(None, p.clone())).collect();
    // Cells arrive decoded (`input` took off our formula guard), so they are used as they are.
    let cell = |field: Field| map.cell(field, &record.cells);
    // Messages name the file's own column (`Phone 1`, `Vorname`), not the API's field.
    for field in [Field::FirstName, Field::LastName, Field::CompanyName] {
        too_long(field, || map.label(field), cell(field), NAME_MAX, &mut problems);
    }
    let (phone_1, phone_2) = map.phone_cells(&record.cells);
    // A row's phones are its first two non-empty phone cells, in that order.
    for ((column, value), field) in [phone_1, phone_2]
        .into_iter()
        .flatten()
        .zip([Field::Phone1, Field::Phone2])
    {
        too_long(field, || map.column_name(column), Some(value), PHONE_MAX, &mut problems);
    }
    if let Err(problem) = check_email(cell(Field::Email).unwrap_or_default()) {
        problems.insert(record.problem.is_some() as usize, Problem::new(Field::Email, problem));
    }
    if let Some(zone) = cell(Field::Timezone)
        && chrono_tz::Tz::from_str(zone).is_err()
    {
        let hint = closest_zone(zone).map_or(" (an IANA name such as Europe/Paris)".to_string(), |zone| {
            format!(": did you mean {zone}?")
        });
        problems.push(Problem::new(
            Field::Timezone,
            format!(
                "{} \"{zone}\" is not a known time zone{hint}",
                map.label(Field::Timezone)
            ),
        ));
    }
    let members = cell(Field::AssociatedMembers)
        .map(parse_members)
        .unwrap_or(Ok(Vec::new()))
        .unwrap_or_else(|problem| {
            problems.push(Problem::new(Field::AssociatedMembers, problem));
            Vec::new()
        });
    if problems.is_empty() {
        Ok(members)
    } else {
        Err(problems)
    }
}

/// The guest a record that passed [`check`] describes, with its `members`: its cells copied,
/// once, here.
pub fn guest(record: &InputRecord, map: &FieldMap, members: Vec<u64>) -> NewGuest {
    let cell = |field: Field| map.cell(field, &record.cells).map(str::to_string);
    let (phone_1, phone_2) = map.phone_cells(&record.cells);
    let phone = |found: Option<(usize, &str)>| found.map(|(_, value)| value.to_string());
    NewGuest {
        email: cell(Field::Email).unwrap_or_default(),
        first_name: cell(Field::FirstName),
        last_name: cell(Field::LastName),
        phone_1: phone(phone_1),
        phone_2: phone(phone_2),
        company_name: cell(Field::CompanyName),
        timezone: cell(Field::Timezone),
        associated_members: members,
    }
}

/// Notes a problem of `field` when the value is longer than `max` characters; `label` gives the file's
/// name for the column (made only for a message: most rows need none).
fn too_long(
    field: Field,
    label: impl FnOnce() -> String,
    value: Option<&str>,
    max: usize,
    problems: &mut Vec<Problem>,
) {
    let Some(value) = value else { return };
    // Bytes bound characters from above: only a long cell needs counting.
    let length = if value.len() <= max {
        value.len()
    } else {
        value.chars().count()
    };
    if length > max {
        problems.push(Problem::new(
            field,
            format!("{} is {length} characters long (at most {max})", label()),
        ));
    }
}

/// The known time zone closest to a misspelt one (`Asia/Tokio` → `Asia/Tokyo`, `europe/paris`
/// → `Europe/Paris`), when one is close enough to be what was meant.
fn closest_zone(zone: &str) -> Option<&'static str> {
    let wanted = zone.trim().to_lowercase();
    // A city on its own (`Paris`, `new york`): the zone named after it.
    let city = wanted.replace(' ', "_");
    if let Some(tz) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().contains('/') && tz.name().rsplit('/').next().is_some_and(|c| c.to_lowercase() == city))
    {
        return Some(tz.name());
    }
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| (tz.name(), edit_distance(&wanted, &tz.name().to_lowercase())))
        .filter(|&(_, distance)| distance <= 2.max(wanted.len() / 6))
        .min_by_key(|&(_, distance)| distance)
        .map(|(name, _)| name)
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A strict, practical syntax check: one `@`, no spaces, a dotted domain ending in a real-looking
/// TLD, no trailing dot, no display name or domain literal. Plus-addressing is fine. Every
/// message is the tool's own (never the address library's words), and a character a person
/// cannot see is named with its position, since the cell looks right in any spreadsheet.
pub fn check_email(email: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("email `{email}` {why}"));
    if email.is_empty() {
        return Err("email is empty".into());
    }
    if let Some((at, c)) = email
        .chars()
        .enumerate()
        .find(|&(_, c)| c != ' ' && crate::email_key::invisible(c))
    {
        let email = email.escape_default();
        return Err(format!(
            "email `{email}` contains {} at character {}: delete it and type the address again",
            char_name(c),
            at + 1
        ));
    }
    if email.contains(' ') {
        return bad("contains a space");
    }
    if email.contains('<') || email.contains('>') {
        return bad("has a display name or angle brackets: give the bare address");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("has no @");
    };
    if domain.contains('@') {
        return bad("has more than one @");
    }
    if local.is_empty() {
        return bad("has nothing before the @");
    }
    if domain.starts_with('[') {
        return bad("uses an IP address instead of a domain");
    }
    if domain.ends_with('.') {
        return bad("ends with a dot");
    }
    let tld = domain.rsplit('.').next().unwrap_or_default();
    if !domain.contains('.') || tld.len() < 2 || tld.bytes().all(|b| b.is_ascii_digit()) {
        return bad("needs a domain with a top-level part, like example.com");
    }
    strict_address(email).or_else(|e| bad(&address_problem(email, local, domain, e)))
}

/// The address library's refusal in the tool's words.
fn address_problem(email: &str, local: &str, domain: &str, error: email_address::Error) -> String {
    use email_address::Error as E;
    match error {
        E::LocalPartTooLong => format!("has {} characters before the @ (at most 64)", local.chars().count()),
        E::DomainTooLong => format!("has a domain of {} characters (at most 254)", domain.chars().count()),
        E::SubDomainTooLong => "has a part of its domain longer than 63 characters".into(),
        E::SubDomainEmpty | E::DomainInvalidSeparator => {
            "has two dots in a row, or a dot or hyphen at the start or end of a part of its domain".into()
        }
        E::UnbalancedQuotes => "has a quote with no closing quote".into(),
        _ if local.starts_with('.') || local.ends_with('.') || local.contains("..") => {
            "has a dot at the start or end of the part before the @, or two dots in a row".into()
        }
        _ => match email.chars().enumerate().find(|&(_, c)| !address_char(c)) {
            Some((at, c)) => format!("has `{c}` at character {}, which an address cannot hold", at + 1),
            None => "is not an address a mail server accepts: check it letter by letter".into(),
        },
    }
}

/// Characters an unquoted address may hold (RFC 5322 atext, the dot, the @, and any
/// non-ASCII letter, which internationalised addresses allow).
fn address_char(c: char) -> bool {
    c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.@".contains(c)
}

/// A character a person cannot see, named as a person would look it up.
fn char_name(c: char) -> String {
    let name = match c {
        '\u{200B}' => "a zero-width space",
        '\u{200C}' => "a zero-width non-joiner",
        '\u{200D}' => "a zero-width joiner",
        '\u{2060}' => "a word joiner",
        '\u{FEFF}' => "a byte order mark",
        '\u{00AD}' => "a soft hyphen",
        '\u{00A0}' | '\u{202F}' => "a no-break space",
        '\u{200E}' => "a left-to-right mark",
        '\u{200F}' => "a right-to-left mark",
        '\t' => "a tab",
        '\n' | '\r' => "a line break",
        c if c.is_whitespace() => "a space character",
        c if c.is_control() => "a control character",
        _ => "an invisible character",
    };
    format!("{name} (U+{:04X})", u32::from(c))
}

/// RFC syntax, strictly: a top-level domain required, no display text, no domain literal.
/// The one address rule of the tool, shared with the sandbox's server-side check.
pub fn strict_address(email: &str) -> Result<(), email_address::Error> {
    let options = email_address::Options::default()
        .with_required_tld()
        .without_display_text()
        .without_domain_literal();
    email_address::EmailAddress::parse_with_options(email, options).map(drop)
}

/// `1001; 1002,1003 1004` → ids. Each must be a positive whole number.
fn parse_members(text: &str) -> Result<Vec<u64>, String> {
    text.split([';', ',', ' ', '\t'])
        .filter(|part| !part.is_empty())
        .map(|part| match part.parse::<u64>() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(format!(
                "associated_members `{part}` is not a member id (positive whole numbers separated by ; , or spaces)"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::map_header;

    fn record(header: &[&str], cells: &[&str]) -> (InputRecord, FieldMap) {
        let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        let (map, _) = map_header(&header, &[]).unwrap();
        let cells = cells.iter().map(|s| s.to_string()).collect();
        (
            InputRecord {
                index: 0,
                row: 2,
                cells,
                previous: Vec::new(),
                problem: None,
            },
            map,
        )
    }

    #[test]
    fn emails() {
        for good in [
            "a@x.com",
            "a+tag@x.co.uk",
            "first.last@sub.example.org",
            "o'neil@x.ie",
            "a@xn--bcher-kva.com",
        ] {
            assert_eq!(check_email(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "email is empty"),
            ("a b@x.com", "contains a space"),
            ("Ann <a@x.com>", "contains a space"),
            ("<a@x.com>", "display name"),
            ("a.x.com", "has no @"),
            ("a@b@x.com", "more than one @"),
            ("@x.com", "nothing before"),
            ("a@[192.0.2.1]", "IP address"),
            ("a@x.com.", "ends with a dot"),
            ("a@localhost", "top-level"),
            ("a@x.c", "top-level"),
            ("a@1.2.3.4", "top-level"),
            ("a..b@x.com", "two dots in a row"),
            ("a@x..com", "two dots in a row"),
            ("a(b@x.com", "has `(` at character 2, which an address cannot hold"),
            (
                "an\u{200B}n@x.com",
                "contains a zero-width space (U+200B) at character 3",
            ),
            ("ann@x.com\u{FEFF}", "a byte order mark (U+FEFF) at character 10"),
            ("a\u{00A0}b@x.com", "a no-break space (U+00A0) at character 2"),
        ] {
            let err = check_email(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn a_valid_row_becomes_a_new_guest() {
        let (rec, map) = record(
            &[
                "Email",
                "First Name",
                "Phone 1",
                "Timezone",
                "Associated Members",
                "Notes",
            ],
            &[
                " Ann@X.com ",
                "Ann",
                "+44 20 7946",
                "Europe/Paris",
                "1001; 1002,1003 1004",
                "kept",
            ],
        );
        let guest = validate(&rec, &map).unwrap();
        assert_eq!(guest.email, "Ann@X.com");
        assert_eq!(guest.phone_1.as_deref(), Some("+44 20 7946"));
        assert_eq!(guest.associated_members, vec![1001, 1002, 1003, 1004]);
        assert_eq!(guest.last_name, None);
    }

    #[test]
    fn every_problem_of_a_row_is_reported_together() {
        let long = "x".repeat(201);
        let (rec, map) = record(
            &["email", "first_name", "phone_1", "timezone", "associated_members"],
            &["nope", &long, "+1 (555) 123-4567 ext. 89", "Paris", "1001;abc;0"],
        );
        assert_eq!(
            validate(&rec, &map).unwrap_err(),
            [
                "email `nope` has no @",
                "first_name is 201 characters long (at most 200)",
                "phone_1 is 25 characters long (at most 20)",
                "timezone \"Paris\" is not a known time zone: did you mean Europe/Paris?",
                "associated_members `abc` is not a member id (positive whole numbers separated by ; , or spaces)",
            ]
        );
    }

    #[test]
    fn each_problem_says_which_field_it_is_about() {
        let long = "x".repeat(201);
        let (mut rec, map) = record(
            &[
                "email",
                "first_name",
                "Mobile",
                "Phone",
                "timezone",
                "associated_members",
            ],
            &["nope", &long, "+1 (555) 123-4567 ext. 89", "+1", "Paris", "abc"],
        );
        let fields = |rec: &InputRecord| -> Vec<Option<Field>> {
            check(rec, &map)
                .unwrap_err()
                .into_iter()
                .map(|problem| problem.field)
                .collect()
        };
        // The long phone is the row's second phone (`Phone` comes before `Mobile`).
        assert_eq!(
            fields(&rec),
            [
                Some(Field::Email),
                Some(Field::FirstName),
                Some(Field::Phone2),
                Some(Field::Timezone),
                Some(Field::AssociatedMembers)
            ]
        );
        rec.problem = Some("has 7 cells but the header has 6".into());
        assert_eq!(
            fields(&rec)[..2],
            [None, Some(Field::Email)],
            "a malformed record is about no field"
        );
    }

    #[test]
    fn messages_name_the_files_own_columns_and_suggest_a_time_zone() {
        let (rec, map) = record(
            &["E-Mail", "Phone 1", "Time Zone"],
            &["a@x.com", "+1 (555) 123-4567 ext. 89", "Asia/Tokio"],
        );
        assert_eq!(
            validate(&rec, &map).unwrap_err(),
            [
                "Phone 1 is 25 characters long (at most 20)",
                "Time Zone \"Asia/Tokio\" is not a known time zone: did you mean Asia/Tokyo?",
            ]
        );
        assert_eq!(closest_zone("europe/paris"), Some("Europe/Paris"));
        assert_eq!(closest_zone("Mars/Olympus"), None);
        assert_eq!(closest_zone("Paris"), Some("Europe/Paris"));
        assert_eq!(closest_zone("new york"), Some("America/New_York"));
        assert_eq!(closest_zone("tokyo"), Some("Asia/Tokyo"));
    }

    #[test]
    fn no_message_holds_the_address_librarys_words() {
        let library = ["sub-domain", "Invalid character", "Domain", "local part", ".)"];
        for bad in ["a@x..com", "a@-x.com", "a\"b@x.com", "a;b@x.com", "a..b@x.com"] {
            let message = check_email(bad).unwrap_err();
            let tail = message.trim_start_matches(&format!("email `{bad}` "));
            for word in library {
                assert!(!tail.contains(word), "{bad}: {message}");
            }
        }
    }

    #[test]
    fn a_malformed_record_is_invalid_with_its_other_problems() {
        let (mut rec, map) = record(&["email", "first_name"], &["", "x"]);
        rec.problem = Some("has 3 cells but the header has 2".into());
        assert_eq!(
            validate(&rec, &map).unwrap_err(),
            ["has 3 cells but the header has 2", "email is empty"]
        );
    }
}
