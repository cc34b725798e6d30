//! The canonical email key: the one form every comparison of emails goes through (mirror's
//! presence, dedupe within the file and against the organization, undo's check that a guest is
//! still the one created). It owns only the comparison: it never changes what is sent to the API
//! or written to a results file, and it says nothing about whether an address is valid (that is
//! `validate::check_email`). Two cells with one key name the same guest.
//!
//! Why each step (issue 22: a spreadsheet's cell that a person reads as `g2@corp.com` must keep
//! guest `g2@corp.com`, however it was typed, pasted or exported):
//! - invisible characters (format characters such as zero-width spaces and joiners, the word
//!   joiner, a byte order mark left in a cell, bidi marks, soft hyphens) and control characters
//!   (a NUL) are dropped: they come from copying and pasting and no address contains them;
//! - whitespace is dropped anywhere: an address cannot contain it, and a cell `g2 @corp.com` is
//!   a typing slip for that address, not another guest;
//! - `Name <addr>` and `mailto:addr` (with any `?subject=…`) are read to the address, as mail
//!   programs and spreadsheets export contacts that way; surrounding quotes and a trailing `,`
//!   or `;` (a pasted list) are dropped, and so is the dot that ends a fully-qualified domain
//!   (`corp.com.` is `corp.com` in DNS);
//! - Unicode NFC, so `josé` typed with a combining accent (NFD, as macOS file names and some
//!   exports give it) is the same as `josé` with the precomposed letter;
//! - lowercase for the case fold: Tallyfy (and the sandbox) treat emails case-insensitively by
//!   lowercasing the whole address (so a final capital sigma becomes `ς`, issue 30), and the
//!   key folds exactly as far as the server does, the same way. Full Unicode case
//!   folding would go further (`ß` → `ss`) and would call two addresses one guest that the
//!   server keeps apart.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// The canonical key of an email cell. Plain lowercase ASCII addresses (nearly every cell) are
/// returned as they are, without a copy.
pub fn email_key(cell: &str) -> Cow<'_, str> {
    if is_plain(cell) {
        return Cow::Borrowed(cell);
    }
    let visible: String = cell.chars().filter(|&c| !invisible(c)).collect();
    let address = address_of(&visible);
    let trimmed = address.trim_end_matches(['"', '\'', ',', ';', '.']);
    // The whole string lowercased at once, as the server does (`str::to_lowercase`): a
    // capital sigma ending a word is `ς` there (`ΟΔΟΣ@` is guest `οδος@`), where lowercasing
    // each letter alone gives `σ`. NFC again after lowercasing: a lowercase letter may compose
    // differently.
    let nfc: String = trimmed.nfc().collect();
    Cow::Owned(nfc.to_lowercase().nfc().collect())
}

/// Whether two cells name the same guest.
pub fn same_email(a: &str, b: &str) -> bool {
    email_key(a) == email_key(b)
}

/// Lowercase ASCII with nothing the slow path would change: no space, control, bracket, quote,
/// colon, list separator, and no trailing dot.
fn is_plain(cell: &str) -> bool {
    !cell.is_empty()
        && !cell.ends_with('.')
        && cell.bytes().all(|b| {
            b.is_ascii_graphic()
                && !b.is_ascii_uppercase()
                && !matches!(b, b'<' | b'>' | b':' | b'"' | b'\'' | b',' | b';')
        })
}

/// Characters a person cannot see in a cell, or that cannot be in an address: whitespace,
/// controls (NUL included) and format characters (Unicode category Cf: zero-width space,
/// non-joiner and joiner U+200B..U+200D, word joiner U+2060, the byte order mark U+FEFF, bidi
/// marks and embeddings, the soft hyphen, invisible operators, tag characters).
pub(crate) fn invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c,
            '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{0600}'..='\u{0605}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{08E2}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}')
}

/// The address inside `Name <addr>` (the last bracketed part), or after `mailto:` (without its
/// `?query`); the text itself otherwise.
fn address_of(text: &str) -> &str {
    let mut address = text;
    if let Some(open) = address.rfind('<') {
        let inside = &address[open + 1..];
        address = inside.split_once('>').map_or(inside, |(inside, _)| inside);
    }
    // Read until nothing changes, so that the key of a key is itself.
    loop {
        address = address.trim_start_matches(['"', '\'']);
        match address.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => {
                let rest = &address[7..];
                address = rest.split_once('?').map_or(rest, |(address, _)| address);
            }
            _ => return address,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn each_form_reads_to_the_address() {
        let cases = [
            ("g1@corp.com", "g1@corp.com"),
            ("Guest Two <g2@corp.com>", "g2@corp.com"),
            ("\"Two, Guest\" <G2@Corp.com>", "g2@corp.com"),
            ("<g2@corp.com>", "g2@corp.com"),
            ("mailto:g3@corp.com", "g3@corp.com"),
            ("MAILTO:G3@corp.com?subject=Hello", "g3@corp.com"),
            ("mailto:\"mailto:g3@corp.com\"", "g3@corp.com"),
            ("g4\u{200B}@corp.com", "g4@corp.com"),
            ("g4@corp\u{200C}\u{200D}\u{2060}.com", "g4@corp.com"),
            ("\u{FEFF}g5@corp.com", "g5@corp.com"),
            ("g6@corp.com\0", "g6@corp.com"),
            ("jose\u{0301}@corp.com", "jos\u{00E9}@corp.com"),
            ("JOS\u{00C9}@CORP.COM", "jos\u{00E9}@corp.com"),
            ("G7@Corp.COM", "g7@corp.com"),
            ("  g8@corp.com \t", "g8@corp.com"),
            ("\u{00A0}g8@corp.com\u{3000}", "g8@corp.com"),
            ("g9@corp.com.", "g9@corp.com"),
            ("g9@corp.com;", "g9@corp.com"),
            (
                "\u{39F}\u{394}\u{39F}\u{3A3}@corp.com",
                "\u{3BF}\u{3B4}\u{3BF}\u{3C2}@corp.com",
            ),
            (
                "\u{3A3}\u{39F}\u{3A3}\u{391}@corp.com",
                "\u{3C3}\u{3BF}\u{3C3}\u{3B1}@corp.com",
            ),
            ("'g9@corp.com'", "g9@corp.com"),
            ("\u{202A}g9@corp.com\u{202C}", "g9@corp.com"),
            ("", ""),
        ];
        for (cell, key) in cases {
            assert_eq!(email_key(cell), key, "{cell:?}");
        }
    }

    #[test]
    fn plain_addresses_are_not_copied() {
        assert!(matches!(email_key("ann+tag@x-y.example.com"), Cow::Borrowed(_)));
        assert!(matches!(email_key("Ann@x.com"), Cow::Owned(_)));
    }

    #[test]
    fn different_addresses_stay_apart() {
        assert!(!same_email("g1@corp.com", "g2@corp.com"));
        // The server keeps these apart, so the key does too.
        assert!(!same_email("strasse@corp.com", "stra\u{00DF}e@corp.com"));
        assert!(!same_email("jose@corp.com", "jos\u{00E9}@corp.com"));
        assert!(same_email("Guest <g1@corp.com>", "mailto:G1@corp.com"));
    }

    proptest! {
        #[test]
        fn the_key_is_a_fixed_point(cell in "(?s).{0,24}") {
            let once = email_key(&cell).into_owned();
            prop_assert_eq!(email_key(&once), once.as_str());
        }

        #[test]
        fn dressing_an_address_does_not_change_its_key(
            local in "[a-zA-Z0-9._+-]{1,12}",
            domain in "[a-z0-9-]{1,10}\\.[a-z]{2,6}",
            name in "[A-Za-z ]{0,12}",
            junk in prop::sample::select(vec!["", "\u{200B}", "\u{FEFF}", "\0", " ", "\u{2060}", "\u{00AD}"]),
        ) {
            let bare = format!("{local}@{domain}");
            let key = email_key(&bare).into_owned();
            let upper = bare.to_uppercase();
            let dressed = [
                format!("{name} <{bare}>"),
                format!("mailto:{bare}"),
                format!("{junk}{bare}{junk}"),
                format!("{}{junk}{}", &bare[..1], &bare[1..]),
                format!(" {upper} "),
            ];
            for cell in dressed {
                prop_assert_eq!(email_key(&cell), key.as_str(), "{:?}", cell);
            }
        }
    }
}
