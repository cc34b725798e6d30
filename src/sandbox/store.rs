//! The sandbox's data: the organization's guests in server order, its members, and the
//! server-side validation of creates and updates with the documented limits. No HTTP here.

use std::collections::HashMap;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::api::model::Guest;

/// A member (user) of the organization: guests cannot use a member's email, and
/// `associated_members` must name members. `GET organizations/{org}/users` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's user id.
    pub id: u64,
    /// The member's email.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// `admin`, `standard` or `light`.
    pub role: String,
    /// `active`, `invited` or `disabled`: the list returns all three.
    pub status: String,
}

impl Member {
    /// An active standard member.
    pub fn new(id: u64, email: &str) -> Self {
        Member {
            id,
            email: email.into(),
            first_name: String::new(),
            last_name: String::new(),
            role: "standard".into(),
            status: "active".into(),
        }
    }
}

/// The default members, documented in the README so samples can refer to them: one of each
/// role, and one invited and one disabled (still members: their emails cannot be guests).
pub fn default_members() -> Vec<Member> {
    [
        (1001, "owner", "Olivia", "Owner", "admin", "active"),
        (1002, "ops", "Oscar", "Ops", "standard", "active"),
        (1003, "sales", "Sam", "Sales", "standard", "active"),
        (1004, "support", "Sue", "Support", "light", "invited"),
        (1005, "finance", "Fin", "Finance", "standard", "disabled"),
    ]
    .into_iter()
    .map(|(id, name, first, last, role, status)| Member {
        id,
        email: format!("{name}@sandbox.example"),
        first_name: first.into(),
        last_name: last.into(),
        role: role.into(),
        status: status.into(),
    })
    .collect()
}

/// A field and its message, as a 422 lists them.
pub(super) type Problems = Vec<(String, String)>;

/// Why a create was refused.
#[derive(Debug)]
pub(super) enum CreateError {
    Invalid(Problems),
}

pub(super) struct Store {
    guests: Vec<Guest>,
    /// Lowercased email → index in `guests`. Emails are unique ignoring case, as MySQL compares.
    by_email: HashMap<String, usize>,
    members: Vec<Member>,
    next_id: u64,
    /// Compare emails with their accents folded too (`FaultOptions::fold_accents`).
    fold_accents: bool,
}

impl Store {
    #[cfg(test)]
    pub(super) fn new(guests: Vec<Guest>, members: Vec<Member>) -> Self {
        Store::folding(guests, members, false)
    }

    /// A store that compares emails with their accents folded when `fold_accents` is set.
    pub(super) fn folding(guests: Vec<Guest>, members: Vec<Member>, fold_accents: bool) -> Self {
        let mut store = Store {
            guests: Vec::new(),
            by_email: HashMap::new(),
            members,
            next_id: 1,
            fold_accents,
        };
        for guest in guests {
            store.insert(guest);
        }
        store
    }

    pub(super) fn guests(&self) -> &[Guest] {
        &self.guests
    }

    pub(super) fn members(&self) -> &[Member] {
        &self.members
    }

    /// The key emails are unique by: lowercased, and without accents when folding them. The
    /// whole address is lowercased at once, as the server does (a final `Σ` is `ς`).
    fn key(&self, email: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        if !self.fold_accents {
            return email.to_lowercase();
        }
        let bare: String = email.nfd().filter(|c| !('\u{300}'..='\u{36F}').contains(c)).collect();
        bare.to_lowercase()
    }

    pub(super) fn find(&self, email: &str) -> Option<&Guest> {
        self.by_email.get(&self.key(email)).map(|&i| &self.guests[i])
    }

    fn find_mut(&mut self, email: &str) -> Option<&mut Guest> {
        let index = *self.by_email.get(&self.key(email))?;
        Some(&mut self.guests[index])
    }

    /// Adds a guest as loaded, keeping its id when it has one. A repeated email is skipped.
    pub(super) fn insert(&mut self, mut guest: Guest) -> bool {
        let key = self.key(&guest.email);
        if self.by_email.contains_key(&key) {
            return false;
        }
        match guest.id.parse::<u64>() {
            Ok(id) => self.next_id = self.next_id.max(id + 1),
            Err(_) if guest.id.is_empty() => {
                guest.id = self.next_id.to_string();
                self.next_id += 1;
            }
            Err(_) => {}
        }
        guest.status.get_or_insert_with(|| "active".to_string());
        self.by_email.insert(key, self.guests.len());
        self.guests.push(guest);
        true
    }

    /// Checks a create body as the server does, without storing anything.
    pub(super) fn check_create(&self, body: &Map<String, Value>) -> Result<Guest, CreateError> {
        let mut problems = Problems::new();
        let email = match body.get("email") {
            Some(Value::String(email)) if !email.trim().is_empty() => email.trim().to_string(),
            _ => {
                problems.push(("email".into(), "The email field is required.".into()));
                String::new()
            }
        };
        if !email.is_empty() {
            if !valid_email(&email) {
                problems.push(("email".into(), "The email must be a valid email address.".into()));
            } else if self.find(&email).is_some() {
                problems.push(("email".into(), "The email has already been taken.".into()));
            } else if self.members.iter().any(|m| m.email.eq_ignore_ascii_case(&email)) {
                problems.push((
                    "email".into(),
                    "The email belongs to a member of this organization.".into(),
                ));
            } else if reserved_domain(&email) {
                // The real server checks the domain in DNS (Laravel's `email:dns`), which no
                // reserved name passes; its refusal is worded as a bad address.
                problems.push(("email".into(), "The email must be a valid email address.".into()));
            }
        }
        let mut text = |field: &str, max: usize| string_field(body, field, max, &mut problems);
        let guest = Guest {
            email,
            first_name: text("first_name", 200),
            last_name: text("last_name", 200),
            phone_1: text("phone_1", 20),
            phone_2: text("phone_2", 20),
            company_name: text("company_name", 200),
            timezone: text("timezone", 64),
            status: text("status", 200),
            ..Guest::default()
        };
        text("opportunity_name", 200);
        let urls =
            ["company_url", "contact_url", "image_url", "opportunity_url"].map(|field| (field, text(field, 2000)));
        for (field, value) in urls {
            if value.is_some_and(|value| url::Url::parse(&value).is_err()) {
                problems.push((field.into(), format!("The {} format is invalid.", human(field))));
            }
        }
        if let Some(zone) = &guest.timezone
            && chrono_tz::Tz::from_str(zone).is_err()
        {
            problems.push(("timezone".into(), "The timezone must be a valid zone.".into()));
        }
        let members = self.check_members(body.get("associated_members"), &mut problems);
        if problems.is_empty() {
            Ok(Guest {
                associated_members: members,
                ..guest
            })
        } else {
            Err(CreateError::Invalid(problems))
        }
    }

    /// Stores a checked guest, giving it the next id, its creation time and a guest link.
    pub(super) fn create(&mut self, mut guest: Guest, now: &str) -> Guest {
        guest.id = String::new();
        guest.created_at = Some(now.to_string());
        guest.status = Some("active".into());
        guest.link = Some(new_link());
        self.insert(guest);
        self.guests.last().cloned().expect("just inserted")
    }

    /// Replaces `associated_members`; every other field of the body is ignored, as the API does.
    pub(super) fn update_members(&mut self, email: &str, body: &Map<String, Value>) -> Option<Result<Guest, Problems>> {
        self.find(email)?;
        let mut problems = Problems::new();
        let members = match body.get("associated_members") {
            None => None,
            value => Some(self.check_members(value, &mut problems)),
        };
        if !problems.is_empty() {
            return Some(Err(problems));
        }
        let guest = self.find_mut(email)?;
        if let Some(members) = members {
            guest.associated_members = members;
        }
        Some(Ok(guest.clone()))
    }

    /// Records a guest's use (`Sandbox::use_guest`).
    pub(super) fn touch(
        &mut self,
        email: &str,
        last_accessed_at: Option<&str>,
        assigned_tasks: Option<u64>,
    ) -> Option<Guest> {
        let guest = self.find_mut(email)?;
        if let Some(at) = last_accessed_at {
            guest.last_accessed_at = Some(at.to_string());
        }
        if let Some(tasks) = assigned_tasks {
            guest.stats.get_or_insert_with(Default::default).assigned_tasks = Some(tasks);
        }
        Some(guest.clone())
    }

    /// The guest a path segment names: its email or (as the permanent delete accepts) its id.
    pub(super) fn find_by_email_or_id(&self, segment: &str) -> Option<&Guest> {
        self.find(segment)
            .or_else(|| self.guests.iter().find(|guest| guest.id == segment))
    }

    pub(super) fn delete(&mut self, email: &str) -> Option<Guest> {
        let index = self.by_email.remove(&self.key(email))?;
        let guest = self.guests.remove(index);
        for slot in self.by_email.values_mut() {
            if *slot > index {
                *slot -= 1;
            }
        }
        Some(guest)
    }

    /// Disables (`disabled_at` = now) or re-enables a guest. Enabling gives the guest a new
    /// link, and the old one is no longer theirs (Tallyfy's enable-guest page).
    pub(super) fn set_disabled(&mut self, email: &str, now: Option<&str>) -> Option<Guest> {
        let guest = self.find_mut(email)?;
        guest.disabled_at = now.map(str::to_string);
        guest.status = Some(if now.is_some() { "disabled" } else { "active" }.to_string());
        if now.is_none() {
            guest.link = Some(new_link());
        }
        Some(guest.clone())
    }

    fn check_members(&self, value: Option<&Value>, problems: &mut Problems) -> Vec<u64> {
        let items = match value {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                problems.push((
                    "associated_members".into(),
                    "The associated members must be an array.".into(),
                ));
                return Vec::new();
            }
        };
        let mut ids = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_u64() {
                Some(id) if self.members.iter().any(|m| m.id == id) => ids.push(id),
                Some(_) => problems.push((
                    format!("associated_members.{i}"),
                    format!("The selected associated_members.{i} is invalid."),
                )),
                None => problems.push((
                    format!("associated_members.{i}"),
                    format!("The associated_members.{i} must be an integer."),
                )),
            }
        }
        ids
    }
}

fn string_field(body: &Map<String, Value>, field: &str, max: usize, problems: &mut Problems) -> Option<String> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.chars().count() > max => {
            problems.push((
                field.into(),
                format!("The {} may not be greater than {max} characters.", human(field)),
            ));
            None
        }
        Some(Value::String(text)) if text.is_empty() => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            problems.push((field.into(), format!("The {} must be a string.", human(field))));
            None
        }
    }
}

/// `first_name` → `first name`, as Laravel words its messages.
fn human(field: &str) -> String {
    field.replace('_', " ")
}

/// A fresh, unguessable guest link, as Tallyfy issues one on create and on every enable.
fn new_link() -> String {
    let mut token = [0u8; 16];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut token);
    let hex: String = token.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("https://go.tallyfy.com/guest/{hex}")
}

/// Names reserved by RFC 2606 and RFC 6761 never resolve, so the real server's DNS check of the
/// domain refuses them: `.invalid`, `.test`, `.example`, `.localhost`.
pub(super) fn reserved_domain(email: &str) -> bool {
    let domain = email.rsplit_once('@').map_or("", |(_, domain)| domain);
    let top = domain.trim_end_matches('.').rsplit('.').next().unwrap_or("");
    ["invalid", "test", "example", "localhost"]
        .iter()
        .any(|reserved| top.eq_ignore_ascii_case(reserved))
}

/// RFC syntax with a dotted domain; the real server also checks DNS, which a sandbox cannot.
/// The API's syntax check (the real one adds a DNS lookup of the domain).
pub fn valid_email(email: &str) -> bool {
    crate::validate::strict_address(email).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn problems(store: &Store, value: Value) -> Vec<String> {
        match store.check_create(&body(value)) {
            Ok(_) => vec![],
            Err(CreateError::Invalid(problems)) => problems.into_iter().map(|(f, m)| format!("{f}: {m}")).collect(),
        }
    }

    #[test]
    fn create_validation_follows_the_documented_limits() {
        let mut store = Store::new(vec![], default_members());
        store.create(
            Guest {
                email: "Taken@X.com".into(),
                ..Guest::default()
            },
            "now",
        );
        assert_eq!(problems(&store, json!({})), ["email: The email field is required."]);
        assert_eq!(
            problems(&store, json!({"email": "taken@x.COM"})),
            ["email: The email has already been taken."]
        );
        assert_eq!(
            problems(&store, json!({"email": "owner@sandbox.example"})),
            ["email: The email belongs to a member of this organization."]
        );
        let all = problems(
            &store,
            json!({"email": "nope", "first_name": "x".repeat(201), "phone_1": "1".repeat(21),
            "timezone": "Mars/Olympus", "company_url": "not a url", "associated_members": [1001, 999, "x"], "last_name": 5}),
        );
        assert_eq!(
            all,
            [
                "email: The email must be a valid email address.",
                "first_name: The first name may not be greater than 200 characters.",
                "last_name: The last name must be a string.",
                "phone_1: The phone 1 may not be greater than 20 characters.",
                "company_url: The company url format is invalid.",
                "timezone: The timezone must be a valid zone.",
                "associated_members.1: The selected associated_members.1 is invalid.",
                "associated_members.2: The associated_members.2 must be an integer.",
            ]
        );
        for reserved in ["a@corp.example", "a@x.TEST", "a@host.localhost", "a@nowhere.invalid"] {
            assert_eq!(
                problems(&store, json!({ "email": reserved })),
                ["email: The email must be a valid email address."],
                "{reserved}"
            );
        }
        assert!(
            problems(&store, json!({"email": "a@example.com"})).is_empty(),
            "only the top level is reserved"
        );
        assert!(
            problems(
                &store,
                json!({"email": "a+b@x.com", "first_name": "é".repeat(200), "timezone": "Europe/Paris",
            "associated_members": [1001, 1005], "phone": "dropped silently"})
            )
            .is_empty()
        );
    }

    #[test]
    fn ids_continue_after_loaded_ones_and_delete_keeps_the_index() {
        let loaded = |id: &str, email: &str| Guest {
            id: id.into(),
            email: email.into(),
            ..Guest::default()
        };
        let mut store = Store::new(
            vec![
                loaded("7", "a@x.com"),
                loaded("", "b@x.com"),
                loaded("guest_code_c", "c@x.com"),
            ],
            vec![],
        );
        assert_eq!(store.find("B@X.COM").unwrap().id, "8");
        assert_eq!(store.create(loaded("", "d@x.com"), "now").id, "9");
        assert_eq!(store.delete("a@x.com").unwrap().id, "7");
        assert_eq!(store.find("d@x.com").unwrap().id, "9");
        assert_eq!(store.guests().len(), 3);
        assert!(!store.insert(loaded("", "C@x.com")), "emails are unique ignoring case");
    }
}
