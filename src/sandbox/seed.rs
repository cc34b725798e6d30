//! Guests a sandbox starts with: read from a CSV in the export format (only `email` required),
//! or the built-in sample of samples/existing-guests.csv.

use std::io::Read;

use crate::api::model::{Guest, GuestStats};
use crate::files::output::unneutralize;

/// The sample the sandbox serves by default, compiled in so `--sandbox` works from anywhere.
pub const SAMPLE_GUESTS_CSV: &str = include_str!("../../samples/existing-guests.csv");

/// The built-in sample guests.
pub fn sample_guests() -> Vec<Guest> {
    load(SAMPLE_GUESTS_CSV.as_bytes()).expect("samples/existing-guests.csv is valid")
}

/// Reads guests from CSV. Header names are matched ignoring case, spaces, `-` and `_`;
/// unknown columns are ignored; formula-neutralised cells (`'+44...`) are restored.
pub fn load(reader: impl Read) -> Result<Vec<Guest>, String> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .iter()
        .map(crate::input::normalize_header)
        .collect();
    if !headers.iter().any(|h| h == "email") {
        return Err("no `email` column in the header row".into());
    }
    let mut guests = Vec::new();
    for (index, record) in csv.records().enumerate() {
        let row = index + 2;
        let record = record.map_err(|e| format!("row {row}: {e}"))?;
        let cell = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .map(|v| unneutralize(v.trim()).to_string())
                .filter(|v| !v.is_empty())
        };
        let count = |name: &str| cell(name).and_then(|v| v.parse().ok());
        let email = cell("email").ok_or_else(|| format!("row {row}: the email is empty"))?;
        let members = cell("associatedmembers").unwrap_or_default();
        let stats = GuestStats {
            assigned_tasks: count("assignedtasks"),
            tasks_completed: count("taskscompleted"),
            last_task_completed_at: cell("lasttaskcompletedat"),
            one_off_tasks_completed: count("oneofftaskscompleted"),
            last_one_off_task_completed_at: cell("lastoneofftaskcompletedat"),
        };
        guests.push(Guest {
            id: cell("id").unwrap_or_default(),
            email,
            first_name: cell("firstname"),
            last_name: cell("lastname"),
            status: cell("status"),
            phone_1: cell("phone1"),
            phone_2: cell("phone2"),
            company_name: cell("companyname"),
            timezone: cell("timezone"),
            associated_members: members
                .split([';', ',', ' '])
                .filter(|v| !v.is_empty())
                .map(|v| v.parse().map_err(|_| format!("row {row}: `{v}` is not a member id")))
                .collect::<Result<_, _>>()?,
            created_at: cell("createdat"),
            last_accessed_at: cell("lastaccessedat"),
            last_known_ip: cell("lastknownip"),
            last_known_country: cell("lastknowncountry"),
            disabled_at: cell("disabledat"),
            link: cell("link"),
            stats: (stats != GuestStats::default()).then_some(stats),
        });
    }
    Ok(guests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_loads() {
        let guests = sample_guests();
        assert!(guests.len() >= 8);
        assert!(guests.iter().all(|g| g.email.contains('@')));
    }

    #[test]
    fn loose_headers_neutralised_cells_and_errors_with_row_numbers() {
        let guests =
            load("E-mail,First Name,Phone_1,Associated Members\na@x.com,Ann,'+44 1,1001;1002\n".as_bytes()).unwrap();
        assert_eq!(guests[0].first_name.as_deref(), Some("Ann"));
        assert_eq!(guests[0].phone_1.as_deref(), Some("+44 1"));
        assert_eq!(guests[0].associated_members, vec![1001, 1002]);
        assert_eq!(
            load("email\na@x.com\n\"\"\n".as_bytes()).unwrap_err(),
            "row 3: the email is empty"
        );
        assert_eq!(
            load("name\nx\n".as_bytes()).unwrap_err(),
            "no `email` column in the header row"
        );
    }
}
