//! The organization's members (`GET organizations/{org}/users`, paged like the guest list): what
//! a member looks like on the wire, decoded leniently. A guest cannot use a member's email, and
//! `associated_members` must name members, so the import reads this list before it sends
//! anything (see ../shared/tallyfy-api.md, "Members").

use serde::Deserialize;

use super::lenient;
use super::model::{Meta, Pagination};

/// One member of the organization, as the list gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Member {
    /// The member's user id (an integer; a numeric string is read too).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub id: Option<u64>,
    /// The member's email.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    /// `active`, `invited` or `disabled` (any casing).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
}

/// One page of the members list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberPage {
    /// The members on this page, in server order.
    pub members: Vec<Member>,
    /// Where this page stands in the list.
    pub pagination: Pagination,
}

/// `{"data": [...], "meta": {"pagination": {...}}}`, the guest list's envelope.
#[derive(Deserialize)]
pub(crate) struct MemberEnvelope {
    #[serde(default)]
    data: Vec<serde_json::Value>,
    #[serde(default)]
    meta: Option<Meta>,
}

impl From<MemberEnvelope> for MemberPage {
    fn from(envelope: MemberEnvelope) -> Self {
        // One odd member must not break the page: what does not decode is skipped.
        let members: Vec<Member> = envelope
            .data
            .into_iter()
            .filter_map(|value| serde_json::from_value(value).ok())
            .collect();
        let pagination = Meta::pagination(envelope.meta, members.len() as u64);
        MemberPage { members, pagination }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_decode_leniently() {
        let envelope: MemberEnvelope = serde_json::from_value(json!({"data": [
            {"id": 7, "email": "a@x.com", "role": "Admin", "status": "invited"},
            {"id": "8", "email": "b@x.com"},
            {"id": [1], "email": 5},
        ], "meta": {"pagination": {"total": 3, "per_page": "100", "total_pages": 1, "links": []}}}))
        .unwrap();
        let page = MemberPage::from(envelope);
        assert_eq!(page.members.len(), 3);
        assert_eq!(page.members[0].id, Some(7));
        assert_eq!(page.members[0].status.as_deref(), Some("invited"));
        assert_eq!(page.members[1].id, Some(8));
        assert_eq!(page.members[2].id, None);
        assert_eq!(page.pagination.per_page, 100);
    }
}
