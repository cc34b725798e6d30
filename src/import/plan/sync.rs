//! What a row of the file says about a guest who already exists: the member list to apply
//! (`--on-existing update`: the only field the API can change) and the drift it cannot apply
//! (names, phones, company, time zone), reported and never "fixed" by re-creating the guest.

use super::existing::Profile;
use crate::api::NewGuest;

/// How a row compares with the existing guest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Differences the API cannot apply, one `field: "x" in Tallyfy, "y" in file` each.
    pub drift: Vec<String>,
    /// The file's member list (sorted), when it differs from Tallyfy's. An empty cell in the
    /// file says nothing, so it never clears a guest's members.
    pub members: Option<Vec<u64>>,
    /// Tallyfy's member list, for the message.
    pub members_before: Vec<u64>,
}

impl Comparison {
    pub fn drift_note(&self) -> String {
        if self.drift.is_empty() {
            String::new()
        } else {
            format!(
                "; differs from the file, which the API cannot change: {}",
                self.drift.join("; ")
            )
        }
    }
}

pub fn compare(file: &NewGuest, tallyfy: &Profile) -> Comparison {
    let fields = [
        ("first_name", &file.first_name, &tallyfy.first_name),
        ("last_name", &file.last_name, &tallyfy.last_name),
        ("phone_1", &file.phone_1, &tallyfy.phone_1),
        ("phone_2", &file.phone_2, &tallyfy.phone_2),
        ("company_name", &file.company_name, &tallyfy.company_name),
        ("timezone", &file.timezone, &tallyfy.timezone),
    ];
    let drift = fields
        .into_iter()
        .filter_map(|(name, in_file, in_tallyfy)| {
            let in_file = in_file.as_deref()?.trim();
            (!in_file.is_empty() && in_file != in_tallyfy.trim())
                .then(|| format!("{name}: {in_tallyfy:?} in Tallyfy, {in_file:?} in file"))
        })
        .collect();
    let mut wanted = file.associated_members.clone();
    wanted.sort_unstable();
    wanted.dedup();
    let members = (!wanted.is_empty() && wanted != tallyfy.associated_members).then_some(wanted);
    Comparison {
        drift,
        members,
        members_before: tallyfy.associated_members.clone(),
    }
}

/// `associated_members 1001 → 1001;1002`: a member change, for result messages.
pub fn members_change(before: &[u64], after: &[u64]) -> String {
    format!("associated_members {} → {}", members_text(before), members_text(after))
}

/// `[1001, 1002]` as `1001;1002`, the way the file writes it; `none` for an empty list.
pub fn members_text(members: &[u64]) -> String {
    if members.is_empty() {
        return "none".into();
    }
    crate::api::model::join_members(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_lists_what_differs_and_ignores_what_the_file_leaves_empty() {
        let tallyfy = Profile {
            first_name: "Jon".into(),
            last_name: "Smith".into(),
            timezone: "Europe/Paris".into(),
            associated_members: vec![1001],
            ..Profile::default()
        };
        let file = NewGuest {
            email: "jon@x.com".into(),
            first_name: Some("John".into()),
            last_name: Some(" Smith ".into()),
            company_name: Some("Acme".into()),
            associated_members: vec![1002, 1001, 1002],
            ..NewGuest::default()
        };
        let comparison = compare(&file, &tallyfy);
        assert_eq!(
            comparison.drift,
            [
                r#"first_name: "Jon" in Tallyfy, "John" in file"#,
                r#"company_name: "" in Tallyfy, "Acme" in file"#
            ]
        );
        assert_eq!(comparison.members, Some(vec![1001, 1002]));
        let same = NewGuest {
            associated_members: vec![1001],
            ..NewGuest::default()
        };
        assert_eq!(
            compare(&same, &tallyfy),
            Comparison {
                members_before: vec![1001],
                ..Comparison::default()
            }
        );
        let silent = NewGuest::default();
        assert_eq!(
            compare(&silent, &tallyfy).members,
            None,
            "an empty cell never clears members"
        );
        assert_eq!(members_text(&[1001, 1002]), "1001;1002");
    }
}
