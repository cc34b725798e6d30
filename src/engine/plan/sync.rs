//! What a row of the file says about a guest who already exists: the member list to apply
//! (`--on-existing update`: the only field the API can change) and the drift it cannot apply
//! (names, phones, company, time zone), reported and never "fixed" by re-creating the guest;
//! and whether a guest holds exactly what a create sent (`holds`). One list of the fields both
//! compare.

use super::existing::Profile;
use crate::api::NewGuest;

/// How a row compares with the existing guest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// Differences the API cannot apply, one `field: "x" in Tallyfy, "y" in file` each.
    pub drift: Vec<String>,
    /// The file's member list (sorted), when it differs from Tallyfy's. An empty cell in the
    /// file says nothing, so it never clears a guest's members.
    pub members: Option<Vec<u64>>,
    /// Tallyfy's member list, for the message.
    pub members_before: Vec<u64>,
}

impl Comparison {
    pub(crate) fn drift_note(&self) -> String {
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

/// The fields a file and a guest can disagree on besides members, side by side: (name, the
/// file's value (missing as empty), the guest's).
fn fields<'a>(file: &'a NewGuest, tallyfy: &'a Profile) -> [(&'static str, &'a str, &'a str); 6] {
    let ours = |value: &'a Option<String>| value.as_deref().unwrap_or("");
    [
        ("first_name", ours(&file.first_name), &tallyfy.first_name),
        ("last_name", ours(&file.last_name), &tallyfy.last_name),
        ("phone_1", ours(&file.phone_1), &tallyfy.phone_1),
        ("phone_2", ours(&file.phone_2), &tallyfy.phone_2),
        ("company_name", ours(&file.company_name), &tallyfy.company_name),
        ("timezone", ours(&file.timezone), &tallyfy.timezone),
    ]
}

/// The file's member list as a `Profile` keeps one: sorted, each id once.
fn members_of(file: &NewGuest) -> Vec<u64> {
    let mut members = file.associated_members.clone();
    members.sort_unstable();
    members.dedup();
    members
}

/// How a row compares with the existing guest. An empty cell says nothing: it is no drift and
/// never clears members.
pub(crate) fn compare(file: &NewGuest, tallyfy: &Profile) -> Comparison {
    let drift = fields(file, tallyfy)
        .into_iter()
        .filter_map(|(name, in_file, in_tallyfy)| {
            let in_file = in_file.trim();
            (!in_file.is_empty() && in_file != in_tallyfy.trim())
                .then(|| format!("{name}: {in_tallyfy:?} in Tallyfy, {in_file:?} in file"))
        })
        .collect();
    let wanted = members_of(file);
    let members = (!wanted.is_empty() && wanted != tallyfy.associated_members).then_some(wanted);
    Comparison {
        drift,
        members,
        members_before: tallyfy.associated_members.clone(),
    }
}

/// Whether the guest holds every field the file sent, exactly (empty and missing alike, unlike
/// `compare`), members included: how a create's read-back tells a guest our own unanswered
/// attempt made from another writer's.
pub(crate) fn holds(sent: &NewGuest, tallyfy: &Profile) -> bool {
    fields(sent, tallyfy)
        .iter()
        .all(|(_, ours, theirs)| ours.trim() == theirs.trim())
        && members_of(sent) == tallyfy.associated_members
}

/// `associated_members 1001 → 1001;1002`: a member change, for result messages.
pub(crate) fn members_change(before: &[u64], after: &[u64]) -> String {
    format!("associated_members {} → {}", members_text(before), members_text(after))
}

/// `[1001, 1002]` as `1001;1002`, the way the file writes it; `none` for an empty list.
pub(crate) fn members_text(members: &[u64]) -> String {
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

    #[test]
    fn a_guest_holds_what_was_sent_only_field_for_field_empty_included() {
        let sent = NewGuest {
            email: "jon@x.com".into(),
            first_name: Some(" Jon ".into()),
            associated_members: vec![1002, 1001, 1002],
            ..NewGuest::default()
        };
        let mut tallyfy = Profile {
            first_name: "Jon".into(),
            associated_members: vec![1001, 1002],
            ..Profile::default()
        };
        assert!(holds(&sent, &tallyfy));
        // A field the file left empty is held empty; `compare` would call this no drift.
        tallyfy.company_name = "Acme".into();
        assert!(!holds(&sent, &tallyfy));
        assert!(compare(&sent, &tallyfy).drift.is_empty());
        tallyfy.company_name.clear();
        tallyfy.associated_members = vec![1001];
        assert!(!holds(&sent, &tallyfy));
    }
}
