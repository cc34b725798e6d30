//! Which column holds which guest field. Names match ignoring case, spaces, `-` and `_`, so
//! `First Name`, `first-name` and `FIRST_NAME` are all `first_name`.

use std::fmt;

/// The guest fields an input file can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Email,
    FirstName,
    LastName,
    Phone1,
    Phone2,
    CompanyName,
    Timezone,
    AssociatedMembers,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Email,
        Field::FirstName,
        Field::LastName,
        Field::Phone1,
        Field::Phone2,
        Field::CompanyName,
        Field::Timezone,
        Field::AssociatedMembers,
    ];

    /// The API's name for the field.
    pub fn name(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Phone1 => "phone_1",
            Field::Phone2 => "phone_2",
            Field::CompanyName => "company_name",
            Field::Timezone => "timezone",
            Field::AssociatedMembers => "associated_members",
        }
    }

    fn from_header(name: &str) -> Option<Field> {
        let key = normalize(name);
        Field::ALL.into_iter().find(|field| normalize(field.name()) == key)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `First Name` → `firstname`.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '\t'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Field → column index, for one header row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap {
    columns: [Option<usize>; Field::ALL.len()],
}

impl FieldMap {
    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns[field as usize]
    }

    /// The trimmed cell for `field`, or `None` when the column is absent or the cell empty.
    pub fn cell<'a>(&self, field: Field, cells: &'a [String]) -> Option<&'a str> {
        let cell = cells.get(self.column(field)?)?.trim();
        (!cell.is_empty()).then_some(cell)
    }
}

/// A header that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("no email column: the header row has {}; name one column `email`", Columns(.0))]
    NoEmail(Vec<String>),
    #[error("columns `{first}` and `{second}` both map to {field}: rename or remove one")]
    Ambiguous {
        field: Field,
        first: String,
        second: String,
    },
}

struct Columns<'a>(&'a [String]);

impl fmt::Display for Columns<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.0.iter().take(12).map(|c| format!("`{c}`")).collect();
        f.write_str(&shown.join(", "))?;
        if self.0.len() > 12 {
            write!(f, " and {} more", self.0.len() - 12)?;
        }
        Ok(())
    }
}

/// Maps a header row; the second result lists the columns that are not guest fields (kept
/// in the results file, reported once).
pub fn map_header(header: &[String]) -> Result<(FieldMap, Vec<String>), HeaderError> {
    let mut map = FieldMap::default();
    let mut others = Vec::new();
    for (index, name) in header.iter().enumerate() {
        match Field::from_header(name) {
            Some(field) => {
                if let Some(first) = map.columns[field as usize] {
                    return Err(HeaderError::Ambiguous {
                        field,
                        first: header[first].clone(),
                        second: name.clone(),
                    });
                }
                map.columns[field as usize] = Some(index);
            }
            None => others.push(name.clone()),
        }
    }
    if map.column(Field::Email).is_none() {
        return Err(HeaderError::NoEmail(header.to_vec()));
    }
    Ok((map, others))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn names_match_ignoring_case_spaces_dashes_and_underscores() {
        let (map, others) = map_header(&header(&[
            "ID",
            "E-Mail",
            "First Name",
            "last_name",
            "PHONE 1",
            "Company-Name",
            "Notes",
        ]))
        .unwrap();
        assert_eq!(map.column(Field::Email), Some(1));
        assert_eq!(map.column(Field::FirstName), Some(2));
        assert_eq!(map.column(Field::LastName), Some(3));
        assert_eq!(map.column(Field::Phone1), Some(4));
        assert_eq!(map.column(Field::CompanyName), Some(5));
        assert_eq!(map.column(Field::Timezone), None);
        assert_eq!(others, ["ID", "Notes"]);
    }

    #[test]
    fn no_email_or_two_claims_on_one_field_are_errors() {
        let err = map_header(&header(&["name", "phone"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no email column: the header row has `name`, `phone`; name one column `email`"
        );
        let err = map_header(&header(&["email", "First Name", "first_name"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "columns `First Name` and `first_name` both map to first_name: rename or remove one"
        );
    }
}
