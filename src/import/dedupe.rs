//! Dedupe: each valid row's normalised email against the rows before it (the first valid
//! occurrence wins) and against the organization's existing guests. One compact table holds
//! both: a 128-bit hash of the email → the existing guest's id and the first row that had it,
//! 32 bytes an email, so a million-guest organization and a million-row file fit in well under
//! 100 MB.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use xxhash_rust::xxh3::xxh3_128;

use crate::validate::normalize_email;

fn key(email: &str) -> u128 {
    xxh3_128(normalize_email(email).as_bytes())
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

/// No existing guest / no row yet.
const NONE: u64 = u64::MAX;
/// Ids that are not plain numbers (older payloads use string codes) are kept aside; the entry
/// holds this bit plus their index.
const TEXT_ID: u64 = 1 << 63;

#[derive(Clone, Copy)]
struct Entry {
    existing: u64,
    first_row: u64,
}

/// The emails seen so far, from the organization and from the file.
#[derive(Default)]
pub struct Emails {
    entries: HashMap<u128, Entry, BuildHasherDefault<KeyHasher>>,
    text_ids: Vec<String>,
}

impl Emails {
    /// Room for `count` more emails at once (the prefetch knows the organization's total).
    pub fn reserve(&mut self, count: usize) {
        self.entries.reserve(count);
    }

    /// Records an existing guest of the organization.
    pub fn insert_existing(&mut self, email: &str, id: &str) {
        let existing = match id.parse::<u64>() {
            Ok(number) if number < TEXT_ID => number,
            _ => {
                self.text_ids.push(id.to_string());
                TEXT_ID | (self.text_ids.len() as u64 - 1)
            }
        };
        self.entries
            .entry(key(email))
            .or_insert(Entry {
                existing: NONE,
                first_row: NONE,
            })
            .existing = existing;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn id(&self, existing: u64) -> String {
        if existing & TEXT_ID != 0 {
            self.text_ids[(existing & !TEXT_ID) as usize].clone()
        } else {
            existing.to_string()
        }
    }
}

/// What dedupe says about a valid row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// First time: create it.
    New,
    /// An earlier row of the file has this email.
    DuplicateOf(u64),
    /// Already a guest, with this id.
    Exists(String),
}

pub struct Deduper {
    emails: Emails,
}

impl Deduper {
    pub fn new(emails: Emails) -> Self {
        Deduper { emails }
    }

    pub fn check(&mut self, email: &str, row: u64) -> Seen {
        let entry = self.emails.entries.entry(key(email)).or_insert(Entry {
            existing: NONE,
            first_row: NONE,
        });
        if entry.first_row != NONE {
            return Seen::DuplicateOf(entry.first_row);
        }
        entry.first_row = row;
        match entry.existing {
            NONE => Seen::New,
            existing => Seen::Exists(self.emails.id(existing)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_occurrence_wins_ignoring_case_and_spaces() {
        let mut emails = Emails::default();
        emails.insert_existing("Old@X.com", "77");
        emails.insert_existing("legacy@x.com", "guest_code_abc");
        let mut dedupe = Deduper::new(emails);
        assert_eq!(dedupe.check("a@x.com", 2), Seen::New);
        assert_eq!(dedupe.check(" A@X.COM ", 3), Seen::DuplicateOf(2));
        assert_eq!(dedupe.check("old@x.com", 4), Seen::Exists("77".into()));
        assert_eq!(dedupe.check("OLD@x.com", 5), Seen::DuplicateOf(4));
        assert_eq!(dedupe.check("legacy@X.com", 6), Seen::Exists("guest_code_abc".into()));
    }

    #[test]
    fn an_entry_stays_small() {
        assert_eq!(std::mem::size_of::<(u128, Entry)>(), 32);
    }
}
