//! The guest as this tool sees it, decoded leniently from every payload variant the API is
//! known to send, and the create body. Wire-level quirks stay in here and `lenient.rs`.

use serde::{Deserialize, Serialize};

use super::lenient;

/// A guest of the organization, flattened: names from the top level or `details`, status and
/// contact fields from `details`, timestamps normalised to `YYYY-MM-DDTHH:MM:SSZ` when they
/// parse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guest {
    /// Opaque: an integer in newer payloads, a string code in older ones.
    pub id: String,
    /// The guest's email, which identifies it in the API.
    pub email: String,
    /// First name (top level, or in `details` in older payloads).
    pub first_name: Option<String>,
    /// Last name (top level, or in `details` in older payloads).
    pub last_name: Option<String>,
    /// `active` or `disabled` (may be null right after a create).
    pub status: Option<String>,
    /// First phone number, as stored.
    pub phone_1: Option<String>,
    /// Second phone number, as stored.
    pub phone_2: Option<String>,
    /// Company name.
    pub company_name: Option<String>,
    /// IANA time zone name.
    pub timezone: Option<String>,
    /// Member user ids associated with the guest.
    pub associated_members: Vec<u64>,
    /// When the guest was created.
    pub created_at: Option<String>,
    /// When the guest last used Tallyfy.
    pub last_accessed_at: Option<String>,
    /// The guest's last known IP address.
    pub last_known_ip: Option<String>,
    /// The guest's last known country.
    pub last_known_country: Option<String>,
    /// When the guest was disabled (`details.disabled_at`).
    pub disabled_at: Option<String>,
    /// The guest's link into Tallyfy.
    pub link: Option<String>,
    /// Present only when asked for with `with=stats`.
    pub stats: Option<GuestStats>,
}

/// Task statistics (`with=stats`); older payloads name two of them differently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestStats {
    /// Tasks assigned to the guest.
    pub assigned_tasks: Option<u64>,
    /// Tasks the guest completed.
    pub tasks_completed: Option<u64>,
    /// When the guest last completed a task.
    pub last_task_completed_at: Option<String>,
    /// One-off tasks the guest completed.
    pub one_off_tasks_completed: Option<u64>,
    /// When the guest last completed a one-off task.
    pub last_one_off_task_completed_at: Option<String>,
}

/// One page of the guest list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The guests on this page, in server order.
    pub guests: Vec<Guest>,
    /// Where this page stands in the list.
    pub pagination: Pagination,
}

/// `links` is an object with optional `next`/`previous`, or `[]` on a single page, or null.
fn links<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Links, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Object(map) => Links {
            next: lenient::text_of(&map, "next"),
            previous: lenient::text_of(&map, "previous"),
        },
        _ => Links::default(),
    })
}

/// `meta.pagination`, trusted over what we asked for (the server may cap `per_page`).
///
/// The walk reads `total`, `per_page` and `total_pages`. `count`, `current_page` and `links`
/// are not read: they are kept because they are the fields whose shapes vary (`links` as `[]`,
/// `{}` or null; numbers as strings), and decoding them leniently, with tests, is how a page in
/// any documented shape is known to decode; they also show in a page's `Debug` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Pagination {
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    /// Guests in the whole list, as the server counts them.
    pub total: u64,
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    /// Guests on this page.
    pub count: u64,
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    /// The page size the server used (it may cap what was asked).
    pub per_page: u64,
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    /// This page's number, from 1.
    pub current_page: u64,
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    /// Pages in the whole list, as the server counts them.
    pub total_pages: u64,
    #[serde(default, deserialize_with = "links")]
    /// Links to the neighbouring pages, when given.
    pub links: Links,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
/// `meta.pagination.links`: `[]`, `{}`, null or an object, all read the same.
pub struct Links {
    /// The next page's URL.
    pub next: Option<String>,
    /// The previous page's URL.
    pub previous: Option<String>,
}

/// Member ids as files write them: `1001;1002` (empty for none). The one formatter for
/// export, results messages and the missing-guests report; validation reads it back.
pub fn join_members(members: &[u64]) -> String {
    members.iter().map(u64::to_string).collect::<Vec<_>>().join(";")
}

/// The body of a create. Only keys the API knows: it silently drops unknown ones (there is no
/// `phone` key), so a typo here would lose data without an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewGuest {
    /// The email to create (required).
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// First name, at most 200 characters.
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Last name, at most 200 characters.
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// First phone, at most 20 characters.
    pub phone_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Second phone, at most 20 characters.
    pub phone_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Company name, at most 200 characters.
    pub company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// IANA time zone name.
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    /// Member user ids to associate.
    pub associated_members: Vec<u64>,
}

/// `{"data": ...}`: the Fractal envelope of one item.
#[derive(Deserialize)]
pub(crate) struct ItemEnvelope {
    pub data: Guest,
}

/// `{"data": {"id": ..., "created_at": ...}}`: of a create's answer only the new guest's id and
/// creation time are used, so only they are decoded (the rest is skipped without being kept: a
/// whole guest was 6 % of an import's CPU).
#[derive(Deserialize)]
pub(crate) struct CreatedEnvelope {
    pub data: CreatedId,
}

/// The id and creation time in a create's answer. The creation time is the database's own
/// clock: `undo` later proves a guest is the one created by comparing it with what it reads
/// back, on that one clock (never against the `Date` header, which a proxy may set).
#[derive(Deserialize)]
pub(crate) struct CreatedId {
    #[serde(default, deserialize_with = "lenient::id")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    created_at: Option<String>,
    #[serde(default)]
    details: Option<CreatedDetails>,
}

/// Older payloads keep `created_at` inside `details`.
#[derive(Deserialize)]
struct CreatedDetails {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    created_at: Option<String>,
}

/// What a create's answer says of the new guest: its id (empty when the answer held none) and
/// its creation time on the server's database clock, when the answer gave one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewGuestId {
    /// The guest's id, opaque.
    pub id: String,
    /// RFC 3339 UTC, normalized as every timestamp read is.
    pub created_at: Option<String>,
}

impl CreatedId {
    /// The id, and the creation time as the server wrote it (normalized), if given.
    pub(crate) fn into_new_guest_id(self) -> NewGuestId {
        let created_at = self
            .created_at
            .or(self.details.and_then(|details| details.created_at))
            .filter(|text| !text.trim().is_empty())
            .map(normalize_timestamp);
        NewGuestId {
            id: self.id,
            created_at,
        }
    }
}

/// `{"data": [...], "meta": {"pagination": ...}}`. A list without `meta` is one whole page.
#[derive(Deserialize)]
pub(crate) struct ListEnvelope {
    #[serde(default)]
    data: Vec<Guest>,
    #[serde(default)]
    meta: Option<Meta>,
}

/// A list's `meta`: its pagination, if it has any (the guest and member lists share it).
#[derive(Deserialize)]
pub(crate) struct Meta {
    #[serde(default)]
    pagination: Option<Pagination>,
}

impl Meta {
    /// The pagination of a page of `count` items with this `meta`: a list without one is one
    /// whole page.
    pub(crate) fn pagination(meta: Option<Meta>, count: u64) -> Pagination {
        meta.and_then(|meta| meta.pagination).unwrap_or(Pagination {
            total: count,
            count,
            per_page: count,
            current_page: 1,
            total_pages: 1,
            links: Links::default(),
        })
    }
}

impl From<ListEnvelope> for Page {
    fn from(envelope: ListEnvelope) -> Self {
        let pagination = Meta::pagination(envelope.meta, envelope.data.len() as u64);
        Page {
            guests: envelope.data,
            pagination,
        }
    }
}

#[derive(Deserialize)]
struct RawGuest {
    #[serde(default, deserialize_with = "lenient::id")]
    id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    link: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    last_accessed_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    last_known_ip: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    last_known_country: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    created_at: Option<String>,
    #[serde(default)]
    details: Option<RawDetails>,
    #[serde(default)]
    stats: Option<RawStats>,
}

#[derive(Deserialize, Default)]
struct RawDetails {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    phone_1: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    phone_2: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    company_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    timezone: Option<String>,
    #[serde(default, deserialize_with = "lenient::member_ids")]
    associated_members: Vec<u64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    created_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    last_accessed_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    disabled_at: Option<String>,
}

#[derive(Deserialize)]
struct RawStats {
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    assigned_tasks: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    active_tasks: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    tasks_completed: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    completed_tasks: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    last_task_completed_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    one_off_tasks_completed: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    last_one_off_task_completed_at: Option<String>,
}

impl<'de> Deserialize<'de> for Guest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawGuest::deserialize(d)?;
        let details = raw.details.unwrap_or_default();
        Ok(Guest {
            id: raw.id,
            email: raw.email.unwrap_or_default(),
            first_name: raw.first_name.or(details.first_name),
            last_name: raw.last_name.or(details.last_name),
            status: details.status,
            phone_1: details.phone_1,
            phone_2: details.phone_2,
            company_name: details.company_name,
            timezone: details.timezone,
            associated_members: details.associated_members,
            created_at: raw.created_at.or(details.created_at).map(normalize_timestamp),
            last_accessed_at: raw
                .last_accessed_at
                .or(details.last_accessed_at)
                .map(normalize_timestamp),
            last_known_ip: raw.last_known_ip,
            last_known_country: raw.last_known_country,
            disabled_at: details.disabled_at.map(normalize_timestamp),
            link: raw.link,
            stats: raw.stats.map(|stats| GuestStats {
                assigned_tasks: stats.assigned_tasks.or(stats.active_tasks),
                tasks_completed: stats.tasks_completed.or(stats.completed_tasks),
                last_task_completed_at: stats.last_task_completed_at.map(normalize_timestamp),
                one_off_tasks_completed: stats.one_off_tasks_completed,
                last_one_off_task_completed_at: stats.last_one_off_task_completed_at.map(normalize_timestamp),
            }),
        })
    }
}

/// `2025-01-15 10:30:00` (Laravel's default, UTC) and RFC 3339 both become
/// `2025-01-15T10:30:00Z`; anything else is kept as sent rather than lost.
pub fn normalize_timestamp(text: String) -> String {
    use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
    if let Ok(parsed) = DateTime::parse_from_rfc3339(&text) {
        return parsed.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Secs, true);
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S") {
        return naive.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn guest(value: serde_json::Value) -> Guest {
        serde_json::from_value::<ItemEnvelope>(json!({ "data": value }))
            .unwrap()
            .data
    }

    fn page(value: serde_json::Value) -> Page {
        serde_json::from_value::<ListEnvelope>(value).unwrap().into()
    }

    #[test]
    fn id_as_integer_or_string_code() {
        assert_eq!(guest(json!({"id": 42, "email": "a@x.com"})).id, "42");
        assert_eq!(
            guest(json!({"id": "guest_code_abc123", "email": "a@x.com"})).id,
            "guest_code_abc123"
        );
        // Beyond 2^64 the digits are kept (never `1e40`), from the wire and from a `Value` alike.
        let big = "10000000000000000000000000000000000000000";
        let wire = format!(r#"{{"data": {{"id": {big}, "email": "a@x.com"}}}}"#);
        assert_eq!(serde_json::from_str::<ItemEnvelope>(&wire).unwrap().data.id, big);
        let created = format!(r#"{{"data": {{"id": {big}}}}}"#);
        assert_eq!(serde_json::from_str::<CreatedEnvelope>(&created).unwrap().data.id, big);
        let listed =
            format!(r#"{{"data": [{{"id": {big}, "email": "a@x.com"}}, {{"id": "c\u00e9", "email": "b@x.com"}}]}}"#);
        let listed: Page = serde_json::from_str::<ListEnvelope>(&listed).unwrap().into();
        assert_eq!(
            (listed.guests[0].id.as_str(), listed.guests[1].id.as_str()),
            (big, "cé")
        );
        for (id, expected) in [
            (json!(null), ""),
            (json!(""), ""),
            (json!([1]), ""),
            (json!(-7), "-7"),
            (json!(true), "true"),
        ] {
            assert_eq!(guest(json!({"id": id, "email": "a@x.com"})).id, expected, "{id}");
        }
    }

    #[test]
    fn names_at_top_level_win_over_details() {
        let both = guest(json!({"email": "a@x.com", "first_name": "Top", "last_name": null,
            "details": {"first_name": "Inner", "last_name": "Collaborator"}}));
        assert_eq!(both.first_name.as_deref(), Some("Top"));
        assert_eq!(both.last_name.as_deref(), Some("Collaborator"));
        let legacy = guest(json!({"email": "a@x.com", "details": {"first_name": "External"}}));
        assert_eq!(legacy.first_name.as_deref(), Some("External"));
    }

    #[test]
    fn unknown_fields_and_odd_types_are_ignored() {
        let g = guest(json!({"id": 1, "email": "a@x.com", "brand_new_field": {"x": [1, 2]},
            "details": {"phone_1": 5551234, "status": null, "associated_members": [1001, "1005", "x", null],
                        "disabled_on": null, "cadence_days": "7", "image_url": {}},
            "stats": {"active_tasks": 2, "completed_tasks": "5", "mystery": true}}));
        assert_eq!(g.phone_1.as_deref(), Some("5551234"));
        assert_eq!(g.status, None);
        assert_eq!(g.associated_members, vec![1001, 1005]);
        let stats = g.stats.unwrap();
        assert_eq!((stats.assigned_tasks, stats.tasks_completed), (Some(2), Some(5)));
    }

    #[test]
    fn newer_stats_names() {
        let g = guest(
            json!({"email": "a@x.com", "stats": {"assigned_tasks": 3, "tasks_completed": 1,
            "last_task_completed_at": "2025-01-15 10:30:00", "one_off_tasks_completed": 0}}),
        );
        let stats = g.stats.unwrap();
        assert_eq!(stats.assigned_tasks, Some(3));
        assert_eq!(stats.last_task_completed_at.as_deref(), Some("2025-01-15T10:30:00Z"));
        assert_eq!(stats.one_off_tasks_completed, Some(0));
    }

    #[test]
    fn timestamps_in_both_forms() {
        let g = guest(json!({"email": "a@x.com", "created_at": "2025-01-10T08:30:00Z",
            "last_accessed_at": "2025-01-15 10:30:00", "details": {"disabled_at": "yesterday"}}));
        assert_eq!(g.created_at.as_deref(), Some("2025-01-10T08:30:00Z"));
        assert_eq!(g.last_accessed_at.as_deref(), Some("2025-01-15T10:30:00Z"));
        assert_eq!(g.disabled_at.as_deref(), Some("yesterday"));
        assert_eq!(
            normalize_timestamp("2025-01-10T10:30:00+02:00".into()),
            "2025-01-10T08:30:00Z"
        );
    }

    #[test]
    fn links_in_every_shape() {
        let with = |links: serde_json::Value| {
            page(json!({"data": [], "meta": {"pagination": {"total": 0, "total_pages": 1, "links": links}}}))
                .pagination
                .links
        };
        assert_eq!(with(json!([])), Links::default());
        assert_eq!(with(json!({})), Links::default());
        assert_eq!(with(json!(null)), Links::default());
        assert_eq!(with(json!({"next": null, "previous": null})), Links::default());
        let next = with(json!({"next": "https://x/api?page=2"}));
        assert_eq!(next.next.as_deref(), Some("https://x/api?page=2"));
        let missing = page(json!({"data": [], "meta": {"pagination": {"total": 0}}}));
        assert_eq!(missing.pagination.links, Links::default());
    }

    #[test]
    fn pagination_numbers_as_strings_and_list_without_meta() {
        let p = page(json!({"data": [{"id": 1, "email": "a@x.com"}],
            "meta": {"pagination": {"total": "250", "count": 1, "per_page": "100", "current_page": 1, "total_pages": 3}}}));
        assert_eq!(
            (p.pagination.total, p.pagination.per_page, p.pagination.total_pages),
            (250, 100, 3)
        );
        let bare = page(json!({"data": [{"id": "a", "email": "a@x.com"}, {"id": "b", "email": "b@x.com"}]}));
        assert_eq!((bare.pagination.total, bare.pagination.total_pages), (2, 1));
    }

    #[test]
    fn create_body_sends_only_known_keys() {
        let body = NewGuest {
            email: "a@x.com".into(),
            phone_1: Some("+1 212".into()),
            associated_members: vec![1001],
            ..NewGuest::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"email": "a@x.com", "phone_1": "+1 212", "associated_members": [1001]})
        );
    }
}
