//! Which column holds which guest field. Names match ignoring case and punctuation, and the
//! headers of common exports (Salesforce, HubSpot, Google Contacts, Outlook) are known aliases;
//! `--map "Column=field"` settles anything else. Phones are special: a file may have several
//! (business, mobile, home), and each row gets its first two non-empty ones.

use std::fmt;

use super::Cells;
use super::aliases::{ALIASES, Rank};
use super::field::Field;

/// What `--map "Column=target"` assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Import the column as this field.
    Field(Field),
    /// Never import this column, even if its name looks like a field.
    Ignore,
}

/// Parses one `--map` value.
pub fn parse_mapping(text: &str) -> Result<(String, Target), String> {
    let (column, target) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("`{text}` is not a mapping: write --map \"Column Name=field\""))?;
    let key = normalize(target);
    let target = if key == "ignore" {
        Target::Ignore
    } else {
        let field = Field::all().find(|f| normalize(f.name()) == key).ok_or_else(|| {
            let names: Vec<&str> = Field::all().map(|f| f.name()).collect();
            format!("`{target}` is not a field: use one of {}, or ignore", names.join(", "))
        })?;
        Target::Field(field)
    };
    Ok((column.trim().to_string(), target))
}

/// `E-mail 1 - Value` → `email1value`: case and punctuation do not matter. Shared with the
/// sandbox's reader of guest files.
pub fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A phone cell and the column it came from.
pub(super) type PhoneCell<'a> = (usize, &'a str);

/// Field → column, for one header row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap {
    columns: [Option<usize>; <Field as strum::EnumCount>::COUNT],
    /// Phone columns in the order a row's phones are taken from (phone_1, phone_2, then the
    /// aliases from the most to the least likely).
    phones: Vec<usize>,
    /// The header's names, so that messages say the file's own column (`Phone 1`, `Vorname`).
    names: Vec<String>,
    /// Columns `--map "Column=ignore"` left out: a person decided, so no hint names them.
    ignored: Vec<usize>,
}

impl FieldMap {
    /// The column of a non-phone field.
    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns[field as usize]
    }

    /// The trimmed cell for a non-phone `field`, or `None` when absent or empty.
    pub fn cell<'a>(&self, field: Field, cells: &'a Cells) -> Option<&'a str> {
        non_empty(cells, self.column(field)?)
    }

    /// The row's first two non-empty phones.
    pub fn phones<'a>(&self, cells: &'a Cells) -> (Option<&'a str>, Option<&'a str>) {
        let (one, two) = self.phone_cells(cells);
        (one.map(|(_, cell)| cell), two.map(|(_, cell)| cell))
    }

    /// The row's first two non-empty phones, with the columns they came from.
    pub fn phone_cells<'a>(&self, cells: &'a Cells) -> (Option<PhoneCell<'a>>, Option<PhoneCell<'a>>) {
        let mut found = self
            .phones
            .iter()
            .filter_map(|&column| non_empty(cells, column).map(|cell| (column, cell)));
        (found.next(), found.next())
    }

    /// The phone columns, in the order a row's phones are taken from.
    pub fn phone_columns(&self) -> &[usize] {
        &self.phones
    }

    /// Whether the column is imported as some field.
    pub fn is_mapped(&self, column: usize) -> bool {
        self.columns.contains(&Some(column)) || self.phones.contains(&column)
    }

    /// Whether `--map "Column=ignore"` left the column out.
    pub fn is_ignored(&self, column: usize) -> bool {
        self.ignored.contains(&column)
    }

    /// How messages name a field: the file's own column, else the field.
    pub fn label(&self, field: Field) -> String {
        self.column(field)
            .map_or(field.name().to_string(), |column| self.column_name(column))
    }

    /// The file's name for a column (its number when it has none).
    pub fn column_name(&self, column: usize) -> String {
        match self.names.get(column).map(|name| name.trim()) {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => format!("column {}", column + 1),
        }
    }

    /// `email ← "E-mail Address", phones ← "Business Phone", "Mobile Phone"`, for the log.
    pub fn describe(&self, header: &[String]) -> String {
        let mut parts: Vec<String> = Field::all()
            .filter(|f| !f.is_phone())
            .filter_map(|f| self.column(f).map(|c| format!("{f} ← `{}`", header[c])))
            .collect();
        if !self.phones.is_empty() {
            let phones: Vec<String> = self.phones.iter().map(|&c| format!("`{}`", header[c])).collect();
            parts.push(format!("phones ← {}", phones.join(", ")));
        }
        parts.join("; ")
    }
}

fn non_empty(cells: &Cells, column: usize) -> Option<&str> {
    let cell = cells.get(column)?.trim();
    (!cell.is_empty()).then_some(cell)
}

/// A header that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error(
        "no email column: the header row has {}; name one column `email` or pass --map \"Column=email\"",
        Columns(.0)
    )]
    /// No column is the email; the header's columns are given.
    NoEmail(Vec<String>),
    /// No column is named like an email column, but this one holds email addresses.
    #[error("no column is named as the email column, but `{0}` holds email addresses: pass --map \"{0}=email\"")]
    EmailIn(String),
    /// `--header-row` names a row past the end of the file.
    #[error("--header-row {0} is past the end of the file")]
    NoHeaderRow(u64),
    /// More columns than any spreadsheet has.
    #[error("the header row has more than {0} columns: is the delimiter right? (pass --delimiter)")]
    TooWide(usize),
    #[error("columns `{first}` and `{second}` both map to {field}: pass --map \"{second}=ignore\" (or rename one)")]
    /// Two columns claim one field equally.
    Ambiguous {
        /// The field both claim.
        field: Field,
        /// The first column.
        first: String,
        /// The second column.
        second: String,
    },
    #[error("--map names a column `{0}` that the header row does not have (it has {cols})", cols = Columns(.1))]
    /// `--map` names a column the header does not have (and the header's columns).
    UnknownColumn(String, Vec<String>),
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

/// Maps a header row. `overrides` come from `--map` and beat every alias. The second result
/// lists the columns that are not imported (kept in the results file).
pub fn map_header(header: &[String], overrides: &[(String, Target)]) -> Result<(FieldMap, Vec<String>), HeaderError> {
    let (claims, ignored) = claims(header, overrides)?;
    let mut map = FieldMap {
        names: header.to_vec(),
        ignored,
        ..FieldMap::default()
    };
    for field in Field::all().filter(|f| !f.is_phone()) {
        let mut candidates: Vec<(Rank, usize)> = claims
            .iter()
            .enumerate()
            .filter_map(|(i, claim)| claim.filter(|(f, _)| *f == field).map(|(_, rank)| (rank, i)))
            .collect();
        candidates.sort();
        if let [(rank, first), (next_rank, second), ..] = candidates[..]
            && rank == next_rank
        {
            return Err(HeaderError::Ambiguous {
                field,
                first: header[first].clone(),
                second: header[second].clone(),
            });
        }
        map.columns[field as usize] = candidates.first().map(|&(_, column)| column);
    }
    map.phones = phones(header, &claims)?;
    if map.column(Field::Email).is_none() {
        return Err(HeaderError::NoEmail(header.to_vec()));
    }
    let used: Vec<usize> = map.columns.iter().flatten().chain(&map.phones).copied().collect();
    let others = header
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, name)| name.clone())
        .collect();
    Ok((map, others))
}

/// A column's claim on a field: the field and its rank, `None` for a column that is no field.
type Claim = Option<(Field, Rank)>;

/// Each column's claim (by alias, then `--map`), and the columns `--map` ignores.
fn claims(header: &[String], overrides: &[(String, Target)]) -> Result<(Vec<Claim>, Vec<usize>), HeaderError> {
    let mut claims: Vec<Claim> = Vec::with_capacity(header.len());
    for name in header {
        let key = normalize(name);
        claims.push(
            ALIASES
                .iter()
                .find(|(alias, _, _)| *alias == key)
                .map(|&(_, field, rank)| (field, rank)),
        );
    }
    let mut ignored = Vec::new();
    for (column, target) in overrides {
        let key = normalize(column);
        // The exact name first: `first_name` must not grab a `First Name` column beside it.
        let index = header
            .iter()
            .position(|name| name.trim() == column)
            .or_else(|| header.iter().position(|name| normalize(name) == key))
            .ok_or_else(|| HeaderError::UnknownColumn(column.clone(), header.to_vec()))?;
        claims[index] = match target {
            Target::Field(field) => Some((*field, 0)),
            Target::Ignore => {
                ignored.push(index);
                None
            }
        };
        // An explicit mapping outranks every alias: demote the others claiming that field.
        if let Target::Field(field) = target {
            for (other, claim) in claims.iter_mut().enumerate() {
                if other != index
                    && let Some((claimed, rank)) = claim
                    && claimed == field
                {
                    *rank = (*rank).max(1);
                }
            }
        }
    }
    Ok((claims, ignored))
}

/// The phone columns, in the order their numbers go out.
fn phones(header: &[String], claims: &[Claim]) -> Result<Vec<usize>, HeaderError> {
    // Phones: phone_1 claims first, then phone_2, then the aliases by rank and position.
    let mut phones: Vec<(u8, Rank, usize)> = claims
        .iter()
        .enumerate()
        .filter_map(|(i, claim)| match claim {
            Some((Field::Phone1, rank)) if *rank <= 1 => Some((0, *rank, i)),
            Some((Field::Phone2, rank)) => Some((1, *rank, i)),
            Some((Field::Phone1, rank)) => Some((2, *rank, i)),
            _ => None,
        })
        .collect();
    phones.sort();
    for pair in phones.windows(2) {
        if pair[0].0 < 2 && pair[0].0 == pair[1].0 && pair[0].1 == pair[1].1 {
            let field = if pair[0].0 == 0 { Field::Phone1 } else { Field::Phone2 };
            return Err(HeaderError::Ambiguous {
                field,
                first: header[pair[0].2].clone(),
                second: header[pair[1].2].clone(),
            });
        }
    }
    Ok(phones.into_iter().map(|(_, _, column)| column).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn mapped(names: &[&str]) -> (FieldMap, Vec<String>) {
        map_header(&header(names), &[]).unwrap()
    }

    #[test]
    fn names_match_ignoring_case_and_punctuation() {
        let (map, others) = mapped(&[
            "ID",
            "E-Mail",
            "First Name",
            "last_name",
            "PHONE 1",
            "Company-Name",
            "Notes",
        ]);
        assert_eq!(map.column(Field::Email), Some(1));
        assert_eq!(map.column(Field::FirstName), Some(2));
        assert_eq!(map.column(Field::LastName), Some(3));
        assert_eq!(map.phones, vec![4]);
        assert_eq!(map.column(Field::CompanyName), Some(5));
        assert_eq!(map.column(Field::Timezone), None);
        assert_eq!(others, ["ID", "Notes"]);
    }

    #[test]
    fn phones_are_taken_in_order_of_likelihood_per_row() {
        let names = [
            "First Name",
            "E-mail Address",
            "Home Phone",
            "Business Phone",
            "Mobile Phone",
        ];
        let (map, _) = mapped(&names);
        assert_eq!(map.phones, vec![3, 2, 4]);
        let row = |cells: &[&str]| cells.iter().collect::<Cells>();
        let cells = row(&["Ann", "a@x.com", "", "+1 111", "+1 333"]);
        assert_eq!(map.phones(&cells), (Some("+1 111"), Some("+1 333")));
        let cells = row(&["Ann", "a@x.com", "", "", "+1 333"]);
        assert_eq!(map.phones(&cells), (Some("+1 333"), None));
    }

    #[test]
    fn ambiguity_unknown_columns_and_overrides() {
        let err = map_header(&header(&["email", "First Name", "first_name"]), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "columns `First Name` and `first_name` both map to first_name: pass --map \"first_name=ignore\" (or rename one)"
        );
        let err = map_header(&header(&["name", "phone"]), &[]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("no email column: the header row has `name`, `phone`")
        );
        let overrides = [
            parse_mapping("Contact=email").unwrap(),
            parse_mapping("first_name=ignore").unwrap(),
        ];
        let (map, others) =
            map_header(&header(&["Contact", "First Name", "first_name", "E-mail"]), &overrides).unwrap();
        assert_eq!(
            (map.column(Field::Email), map.column(Field::FirstName)),
            (Some(0), Some(1))
        );
        assert_eq!(others, ["first_name", "E-mail"]);
        let err = map_header(&header(&["email"]), &[parse_mapping("Nope=email").unwrap()]).unwrap_err();
        assert!(err.to_string().starts_with("--map names a column `Nope`"));
    }

    #[test]
    fn mapping_values() {
        assert_eq!(
            parse_mapping("Work E-mail=email").unwrap(),
            ("Work E-mail".into(), Target::Field(Field::Email))
        );
        assert_eq!(
            parse_mapping("a=b=Phone 2").unwrap(),
            ("a=b".into(), Target::Field(Field::Phone2))
        );
        assert!(parse_mapping("x").unwrap_err().contains("--map \"Column Name=field\""));
        assert!(parse_mapping("x=shoe_size").unwrap_err().contains("not a field"));
    }
}
