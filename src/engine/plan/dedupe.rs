//! Dedupe: each valid row's canonical email (`crate::email_key`) against the rows before it (the first valid
//! occurrence wins) and against the organization's existing guests. One compact table holds
//! both: a 128-bit hash of the email → the existing guest's id, its profile (packed into one
//! shared string, for drift and `--on-existing update`) and the first row that had it, 32 bytes
//! an email, so a million-guest organization and a million-row file fit in about 100 MB.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use xxhash_rust::xxh3::xxh3_128;

use super::existing::{Existing, Profile, is_disabled, work};
use crate::api::Guest;
use crate::email_key::email_key;
use crate::input::{Field, FieldMap};

/// The email's key: the hash of its canonical form (`crate::email_key`: NFC, lowercase,
/// invisible characters dropped, `Name <addr>` and `mailto:` read), so that a cell naming a
/// guest under another spelling still finds it. Plain lowercase ASCII (almost every email) is
/// hashed as it is, without a copy.
fn key(email: &str) -> u128 {
    xxh3_128(email_key(email).as_bytes())
}

/// Keys are already uniform hashes: hashing them again would only cost time.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// No existing guest.
const NONE: u64 = u64::MAX;
/// Ids that are not plain numbers (older payloads use string codes) are kept aside; the entry
/// holds this bit plus their index.
const TEXT_ID: u64 = 1 << 63;
/// No row of the file has this email yet.
const NO_ROW: u32 = u32::MAX;
/// Only rows that were not imported (invalid, or copied through by `--retry-from`) named this
/// existing guest: it is in the file, but a later valid row is still its first occurrence.
const MENTIONED: u32 = u32::MAX - 1;
/// Row numbers are kept in 32 bits (a 4-billion-row file is out of reach of a spreadsheet).
const MAX_ROW: u64 = MENTIONED as u64 - 1;
/// The column of a mention that is the row's email cell, whichever column the file has it in.
pub(crate) const EMAIL_COLUMN: u32 = u32::MAX;
/// The existing guest has no profile stored (every field empty).
const NO_PROFILE: u32 = u32::MAX;
/// A typical stored profile (names, a phone, a company, a time zone); only a guess for
/// reserving, pages never touched are not memory in use.
const PROFILE_BYTES: usize = 48;
/// Separates the fields of a stored profile; it cannot occur in a sensible name or phone.
const UNIT: char = '\x1f';

#[derive(Clone, Copy)]
struct Entry {
    existing: u64,
    first_row: u32,
    profile: u32,
}

impl Entry {
    const EMPTY: Entry = Entry {
        existing: NONE,
        first_row: NO_ROW,
        profile: NO_PROFILE,
    };
}

/// The emails seen so far, from the organization and from the file, and the existing guests'
/// profiles packed into one string (a few dozen bytes a guest, no allocation each).
#[derive(Default)]
pub(crate) struct Emails {
    entries: HashMap<u128, Entry, BuildHasherDefault<KeyHasher>>,
    text_ids: Vec<String>,
    profiles: String,
    starts: Vec<usize>,
    /// Keep existing guests' emails too (for `--report-missing`).
    keep_emails: bool,
}

impl Emails {
    pub(crate) fn new(keep_emails: bool) -> Self {
        Emails {
            keep_emails,
            ..Emails::default()
        }
    }

    /// Room for `count` more emails at once (the prefetch knows the organization's total).
    pub(crate) fn reserve(&mut self, count: usize) {
        self.entries.reserve(count);
        // Reserved once rather than grown by doubling: a doubling copies the whole profile
        // string, and the old and new copies together would set the run's peak memory.
        self.starts.reserve(count);
        self.profiles.reserve(count * PROFILE_BYTES);
    }

    /// Room for `count` more rows of the file (their emails only: rows keep no profile).
    pub(crate) fn reserve_rows(&mut self, count: usize) {
        self.entries.reserve(count);
    }

    /// Records an existing guest of the organization.
    pub(crate) fn insert_existing(&mut self, guest: &Guest) {
        // Kept as a number only when it prints back the same ("0042" and "+7" stay text).
        let existing = match guest.id.parse::<u64>() {
            Ok(number) if number < TEXT_ID && number.to_string() == guest.id => number,
            _ => {
                self.text_ids.push(guest.id.clone());
                TEXT_ID | (self.text_ids.len() as u64 - 1)
            }
        };
        let profile = self.store_profile(guest);
        let entry = self.entries.entry(key(&guest.email)).or_insert(Entry::EMPTY);
        entry.existing = existing;
        entry.profile = profile;
    }

    fn store_profile(&mut self, guest: &Guest) -> u32 {
        let text = |value: &Option<String>| value.as_deref().unwrap_or("").replace(UNIT, " ");
        let mut members: Vec<u64> = guest.associated_members.clone();
        members.sort_unstable();
        members.dedup();
        let members: Vec<String> = members.iter().map(u64::to_string).collect();
        let email = if self.keep_emails { guest.email.as_str() } else { "" };
        let fields = [
            text(&guest.first_name),
            text(&guest.last_name),
            text(&guest.phone_1),
            text(&guest.phone_2),
            text(&guest.company_name),
            text(&guest.timezone),
            members.join(","),
            email.replace(UNIT, " "),
            if is_disabled(guest) { "1".into() } else { String::new() },
            if work(guest).is_some() {
                "1".into()
            } else {
                String::new()
            },
        ];
        if fields.iter().all(String::is_empty) || self.starts.len() >= NO_PROFILE as usize {
            return NO_PROFILE;
        }
        self.starts.push(self.profiles.len());
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.profiles.push(UNIT);
            }
            self.profiles.push_str(field);
        }
        (self.starts.len() - 1) as u32
    }

    fn profile(&self, index: u32) -> Profile {
        if index == NO_PROFILE {
            return Profile::default();
        }
        let start = self.starts[index as usize];
        let end = self
            .starts
            .get(index as usize + 1)
            .copied()
            .unwrap_or(self.profiles.len());
        let mut fields = self.profiles[start..end].split(UNIT).map(str::to_string);
        let mut next = || fields.next().unwrap_or_default();
        Profile {
            first_name: next(),
            last_name: next(),
            phone_1: next(),
            phone_2: next(),
            company_name: next(),
            timezone: next(),
            associated_members: next().split(',').filter_map(|id| id.parse().ok()).collect(),
            email: next(),
            disabled: next() == "1",
            used: next() == "1",
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn existing(&self, entry: &Entry) -> Existing {
        let id = if entry.existing & TEXT_ID != 0 {
            self.text_ids[(entry.existing & !TEXT_ID) as usize].clone()
        } else {
            entry.existing.to_string()
        };
        Existing {
            id,
            profile: self.profile(entry.profile),
        }
    }
}

/// What dedupe says about a valid row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// First time: create it.
    New,
    /// An earlier row of the file has this email.
    DuplicateOf(u64),
    /// Already a guest.
    Exists(Box<Existing>),
}

/// A mention of an existing guest by the file: the row and column where it was first seen.
#[derive(Clone, Copy)]
pub(crate) struct Mention {
    pub key: u128,
    pub column: u32,
}

/// The keys of every address a cell mentions (`crate::mentions`): the cell read whole (as
/// `email_key` reads `Name <addr>`, `mailto:`), each part of a `,`/`;` list, each
/// address-shaped token, and the address each of those reads as in compatibility forms.
pub(crate) fn mention_keys(cell: &str, mut each: impl FnMut(u128)) {
    let mut one = |text: &str| {
        each(key(text));
        if let Some(folded) = compatible(text) {
            each(key(&folded));
        }
    };
    one(cell);
    if cell.contains([',', ';']) {
        cell.split([',', ';']).for_each(&mut one);
    }
    crate::mentions::addresses(cell)
        .filter(|&address| address != cell)
        .for_each(one);
}

/// The existing guests the file does not import a row for: those it does not name at all
/// (missing), and those it only mentions (kept, and said why).
pub(crate) struct Presence {
    pub missing: Vec<Existing>,
    pub mentioned: Vec<Mentioned>,
}

/// An existing guest the file mentions only where it imports no email: kept by the mirror.
pub(crate) struct Mentioned {
    pub guest: Existing,
    /// Where the file mentions it, for the report and the log.
    pub why: String,
}

pub(crate) struct Deduper {
    emails: Emails,
    /// Where the file first mentioned each existing guest that no imported row names yet
    /// (row, column): at most one entry a mentioned guest.
    mentioned_at: HashMap<u128, (u32, u32), BuildHasherDefault<KeyHasher>>,
}

impl Deduper {
    pub(crate) fn new(emails: Emails) -> Self {
        Deduper {
            emails,
            mentioned_at: HashMap::default(),
        }
    }

    pub(crate) fn check(&mut self, email: &str, row: u64) -> Seen {
        // The guest the cell reads as is named too, whatever becomes of the row.
        if let Some(folded) = compatible(email) {
            self.mention(
                Mention {
                    key: key(&folded),
                    column: EMAIL_COLUMN,
                },
                row,
            );
        }
        let entry = self.emails.entries.entry(key(email)).or_insert(Entry::EMPTY);
        if entry.first_row < MENTIONED {
            return Seen::DuplicateOf(u64::from(entry.first_row));
        }
        entry.first_row = row.min(MAX_ROW) as u32;
        let entry = *entry;
        match entry.existing {
            NONE => Seen::New,
            _ => Seen::Exists(Box::new(self.emails.existing(&entry))),
        }
    }

    /// A cell of row `row` mentions this key: an existing guest with it is not missing from
    /// the file (whatever else the row says, however the cell was imported, or not).
    pub(crate) fn mention(&mut self, mention: Mention, row: u64) {
        if let Some(entry) = self.emails.entries.get_mut(&mention.key)
            && entry.first_row == NO_ROW
        {
            entry.first_row = MENTIONED;
            self.mentioned_at
                .insert(mention.key, (row.min(MAX_ROW) as u32, mention.column));
        }
    }

    /// Whether a row was matched to this entry's guest by id.
    fn matched(&self, entry: &Entry, kept: &KeptIds) -> bool {
        if entry.existing & TEXT_ID != 0 {
            kept.texts
                .contains(&self.emails.text_ids[(entry.existing & !TEXT_ID) as usize])
        } else {
            kept.numbers.contains(&entry.existing)
        }
    }

    /// The missing guests (`missing`) and those the file mentions only where it imports no
    /// email (`map` names their columns).
    pub(crate) fn presence(&self, kept: &KeptIds, map: &FieldMap) -> Presence {
        let mut mentioned: Vec<(&u128, &Entry)> = self
            .emails
            .entries
            .iter()
            .filter(|(_, entry)| entry.existing != NONE && entry.first_row == MENTIONED)
            .filter(|(_, entry)| !self.matched(entry, kept))
            .collect();
        mentioned.sort_by_key(|(_, entry)| entry.profile);
        let mentioned = mentioned
            .into_iter()
            .map(|(key, entry)| {
                let (row, column) = self.mentioned_at.get(key).copied().unwrap_or((0, EMAIL_COLUMN));
                Mentioned {
                    guest: self.emails.existing(entry),
                    why: why_kept(map, row, column),
                }
            })
            .collect();
        Presence {
            missing: self.missing(kept),
            mentioned,
        }
    }

    /// The existing guests no row of the file named, nor was matched to by id (a read-back
    /// that found the guest under another spelling), in the order the API listed them.
    pub(crate) fn missing(&self, kept: &KeptIds) -> Vec<Existing> {
        let mut missing: Vec<&Entry> = self
            .emails
            .entries
            .values()
            .filter(|entry| entry.existing != NONE && entry.first_row == NO_ROW)
            .filter(|entry| !self.matched(entry, kept))
            .collect();
        missing.sort_by_key(|entry| entry.profile);
        missing.into_iter().map(|entry| self.emails.existing(entry)).collect()
    }
}

/// Why a guest the file only mentions is kept: where the file mentions it (the file's own
/// column name), and why that does not import it.
fn why_kept(map: &FieldMap, row: u32, column: u32) -> String {
    let email = map.column(Field::Email);
    let column = match column {
        EMAIL_COLUMN => email,
        column => Some(column as usize),
    };
    let Some(column) = column else {
        return format!("kept: row {row} of the file mentions it");
    };
    let name = map.column_name(column);
    if Some(column) == email {
        format!("kept: the file names it in column \"{name}\" (row {row}), in a row or a spelling that is not imported")
    } else if map.is_mapped(column) {
        format!("kept: the file mentions it in column \"{name}\" (row {row}), which is not imported as an email")
    } else {
        format!("kept: the file mentions it in column \"{name}\" (row {row}), which is not imported")
    }
}

/// The address a cell reads as when it is typed in compatibility forms (NFKC): the fullwidth
/// letters and `＠` of an East Asian input method, a ligature, a superscript. Such a cell names
/// that address's guest for the mirror's presence only: it is never the key of dedupe, since
/// the server keeps the two spellings apart. `None` when there is nothing to fold.
fn compatible(email: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    if email.is_ascii() {
        return None;
    }
    let folded: String = email.nfkc().collect();
    (email_key(&folded) != email_key(email)).then_some(folded)
}

/// The ids of the guests the rows were matched to (exists, updated, enabled, created, found by
/// reading back, or copied from an earlier run's results): such a guest is in the file whatever
/// its email looks like there, or on the server. Numbers are kept as numbers (a 16-byte slot a
/// row: a million-row mirror holds about 20 MB here), other ids as text.
#[derive(Default)]
pub(crate) struct KeptIds {
    numbers: std::collections::HashSet<u64>,
    texts: std::collections::HashSet<String>,
}

impl KeptIds {
    /// Notes a row's guest id (nothing for an empty one).
    pub(crate) fn keep(&mut self, id: &str) {
        let id = id.trim();
        match id.parse::<u64>() {
            Ok(number) if number < TEXT_ID => {
                self.numbers.insert(number);
            }
            _ if id.is_empty() => {}
            _ => {
                self.texts.insert(id.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest(email: &str, id: &str) -> Guest {
        Guest {
            email: email.into(),
            id: id.into(),
            ..Guest::default()
        }
    }

    /// Row 1's column 0 mentions whatever `cell` mentions.
    fn mention(dedupe: &mut Deduper, cell: &str) {
        mention_keys(cell, |key| dedupe.mention(Mention { key, column: 0 }, 1));
    }

    #[test]
    fn first_occurrence_wins_ignoring_case_and_spaces() {
        let mut emails = Emails::default();
        emails.insert_existing(&guest("Old@X.com", "77"));
        emails.insert_existing(&guest("legacy@x.com", "guest_code_abc"));
        let mut dedupe = Deduper::new(emails);
        let exists = |id: &str| {
            Seen::Exists(Box::new(Existing {
                id: id.into(),
                profile: Profile::default(),
            }))
        };
        assert_eq!(dedupe.check("a@x.com", 2), Seen::New);
        assert_eq!(dedupe.check(" A@X.COM ", 3), Seen::DuplicateOf(2));
        assert_eq!(dedupe.check("old@x.com", 4), exists("77"));
        assert_eq!(dedupe.check("OLD@x.com", 5), Seen::DuplicateOf(4));
        assert_eq!(dedupe.check("legacy@X.com", 6), exists("guest_code_abc"));
    }

    #[test]
    fn profiles_come_back_as_stored_and_missing_guests_in_list_order() {
        let mut emails = Emails::new(true);
        for i in 0..5 {
            emails.insert_existing(&Guest {
                first_name: Some(format!("F{i}")),
                timezone: (i % 2 == 0).then(|| "Europe/Paris".into()),
                associated_members: vec![1003, 1001, 1003],
                ..guest(&format!("g{i}@x.com"), &i.to_string())
            });
        }
        let mut dedupe = Deduper::new(emails);
        let Seen::Exists(found) = dedupe.check("G2@x.com", 2) else {
            panic!("g2 exists")
        };
        assert_eq!(found.id, "2");
        assert_eq!(found.profile.first_name, "F2");
        assert_eq!(found.profile.timezone, "Europe/Paris");
        assert_eq!(found.profile.associated_members, vec![1001, 1003]);
        assert_eq!(found.profile.email, "g2@x.com");
        mention(&mut dedupe, "g4@x.com");
        // A row that was only mentioned does not make a later valid row a duplicate.
        assert!(matches!(dedupe.check("g4@x.com", 9), Seen::Exists(_)));
        let missing: Vec<String> = dedupe
            .missing(&KeptIds::default())
            .into_iter()
            .map(|g| g.profile.email)
            .collect();
        assert_eq!(missing, ["g0@x.com", "g1@x.com", "g3@x.com"]);
        // A guest a row was matched to by id is kept, whatever its email.
        let mut kept = KeptIds::default();
        kept.keep("1");
        kept.keep("");
        let missing: Vec<String> = dedupe.missing(&kept).into_iter().map(|g| g.id).collect();
        assert_eq!(missing, ["0", "3"]);
        mention(&mut dedupe, "Guest Zero <G0@x.com>; mailto:g3@x.com");
        assert_eq!(dedupe.missing(&kept).len(), 0, "a cell listing addresses names each");
    }

    #[test]
    fn a_guest_only_mentioned_is_kept_and_said_where_until_a_row_imports_it() {
        let mut emails = Emails::new(true);
        for (i, email) in ["second@x.com", "later@x.com", "gone@x.com"].iter().enumerate() {
            emails.insert_existing(&guest(email, &i.to_string()));
        }
        let mut dedupe = Deduper::new(emails);
        let header: Vec<String> = ["email", "E-mail 2 - Value"].map(String::from).into();
        let (map, _) = crate::input::map_header(&header, &[]).unwrap();
        mention_keys("Second (SECOND@x.com); later@x.com", |key| {
            dedupe.mention(Mention { key, column: 1 }, 7)
        });
        // A later row imports `later@`: it is in the file, not only mentioned.
        assert!(matches!(dedupe.check("later@x.com", 8), Seen::Exists(_)));
        let presence = dedupe.presence(&KeptIds::default(), &map);
        let missing: Vec<String> = presence.missing.into_iter().map(|g| g.profile.email).collect();
        assert_eq!(missing, ["gone@x.com"]);
        let kept: Vec<(String, String)> = presence
            .mentioned
            .into_iter()
            .map(|kept| (kept.guest.profile.email, kept.why))
            .collect();
        assert_eq!(
            kept,
            [(
                "second@x.com".to_string(),
                "kept: the file mentions it in column \"E-mail 2 - Value\" (row 7), which is not imported".to_string()
            )]
        );
    }

    #[test]
    fn an_entry_stays_small() {
        assert_eq!(std::mem::size_of::<(u128, Entry)>(), 32);
    }
}
