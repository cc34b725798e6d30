//! Dedupe: each valid row's normalised email against the rows before it (the first valid
//! occurrence wins) and against the organization's existing guests. Emails are held as 128-bit
//! hashes, so memory stays small for large files and large organizations.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_128;

use crate::validate::normalize_email;

fn key(email: &str) -> u128 {
    xxh3_128(normalize_email(email).as_bytes())
}

/// The organization's guests as prefetched: email → guest id.
#[derive(Debug, Default)]
pub struct Existing {
    ids: HashMap<u128, String>,
}

impl Existing {
    pub fn insert(&mut self, email: &str, id: &str) {
        self.ids.insert(key(email), id.to_string());
    }

    pub fn len(&self) -> usize {
        self.ids.len()
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
    existing: Existing,
    /// Normalised email → the row that first had it.
    rows: HashMap<u128, u64>,
}

impl Deduper {
    pub fn new(existing: Existing) -> Self {
        Deduper {
            existing,
            rows: HashMap::new(),
        }
    }

    pub fn check(&mut self, email: &str, row: u64) -> Seen {
        let key = key(email);
        if let Some(&first) = self.rows.get(&key) {
            return Seen::DuplicateOf(first);
        }
        self.rows.insert(key, row);
        match self.existing.ids.get(&key) {
            Some(id) => Seen::Exists(id.clone()),
            None => Seen::New,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_occurrence_wins_ignoring_case_and_spaces() {
        let mut existing = Existing::default();
        existing.insert("Old@X.com", "77");
        let mut dedupe = Deduper::new(existing);
        assert_eq!(dedupe.check("a@x.com", 2), Seen::New);
        assert_eq!(dedupe.check(" A@X.COM ", 3), Seen::DuplicateOf(2));
        assert_eq!(dedupe.check("old@x.com", 4), Seen::Exists("77".into()));
        assert_eq!(dedupe.check("OLD@x.com", 5), Seen::DuplicateOf(4));
    }
}
