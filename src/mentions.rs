//! The addresses a cell mentions: every address-shaped token in it, however it is dressed, for
//! the mirror's presence (issue 30: `--on-missing` deleted guests the file plainly named as
//! `Guest One (a@corp.com)`, `“a@corp.com”`, `SMTP:a@corp.com` or two to a cell). It only finds
//! the tokens, borrowed from the cell; comparing them is `email_key`'s, and it says nothing
//! about whether a token is a valid address (`validate`).
//!
//! Generous on purpose: a token that only looks like an address keeps at most a guest whose
//! email it is, while a missed one deletes a guest. A token is address-shaped when, once its
//! wrapping is stripped, it has exactly one at sign with something on either side. The wrapping:
//! - quotes of any kind (`"`, `“ ”`, `‘ ’`, `« »`, `„`, backticks; `'` only at the ends, as
//!   `o'brien@corp.com` holds one) and brackets of any kind (`<>`, `()`, `[]`, `{}`);
//! - a prefix ending in a colon (`SMTP:`, `smtp:`, `mailto:` from Exchange and AD exports), and
//!   a `?query` after the domain (`mailto:a@corp.com?subject=Hi`);
//! - punctuation that ends a sentence or a list (`a@corp.com:`, `.`, `,`, `;`, `!`, `?`).
//!
//! A cell is split on any separator a list of addresses uses: whitespace (line breaks inside
//! a cell too), `,`, `;`, `|`, and `/` (a token with a slash is also tried whole, as an
//! address may hold one).

/// The at signs an address may be typed with: `@`, and the fullwidth `＠` and small `﹫` of
/// East Asian input methods (NFKC reads both as `@`: `engine::plan::dedupe::compatible`).
const AT_SIGNS: [char; 3] = ['@', '\u{FF20}', '\u{FE6B}'];

/// Whether the cell may hold an address at all: one byte scan, so that the cells of a large
/// file without an at sign (names, phones, dates: nearly all) cost next to nothing. `0xEF`
/// leads the UTF-8 of both wide at signs.
pub fn may_hold_address(cell: &str) -> bool {
    let bytes = cell.as_bytes();
    memchr::memchr(b'@', bytes).is_some() || (memchr::memchr(0xEF, bytes).is_some() && cell.contains(&AT_SIGNS[1..]))
}

/// The address-shaped tokens of `cell`, in order, without their wrapping; none (and no work)
/// for a cell without an at sign.
pub fn addresses(cell: &str) -> impl Iterator<Item = &str> {
    let cell = if may_hold_address(cell) { cell } else { "" };
    cell.split(separates)
        .filter(|token| token.contains(AT_SIGNS))
        .flat_map(|token| {
            let parts = token.contains('/').then(|| token.split('/'));
            std::iter::once(token).chain(parts.into_iter().flatten())
        })
        .filter_map(address_in)
}

/// What separates addresses in a list.
fn separates(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | '|')
}

/// Opens what holds an address, or quotes it: the address starts after the last one.
fn opens(c: char) -> bool {
    matches!(
        c,
        '<' | '(' | '[' | '{' | '（' | '【' | '〈' | '《' | '「' | '『' | '＜' | '［'
    ) || quote(c)
}

/// Closes what holds an address, or quotes it: the address ends before the first one.
fn closes(c: char) -> bool {
    matches!(
        c,
        '>' | ')' | ']' | '}' | '）' | '】' | '〉' | '》' | '」' | '』' | '＞' | '］'
    ) || quote(c)
}

/// Quotes an address cannot hold unquoted (`'` can: `o'brien@corp.com`).
fn quote(c: char) -> bool {
    matches!(
        c,
        '"' | '`' | '“' | '”' | '‘' | '’' | '„' | '‚' | '«' | '»' | '‹' | '›' | '＂'
    )
}

/// Ends a prefix such as `SMTP:` or `mailto:`.
fn colon(c: char) -> bool {
    matches!(c, ':' | '：')
}

/// Wrapping left at either end once the brackets and quotes are cut away.
fn wrapping(c: char) -> bool {
    matches!(c, '\'' | '.' | ',' | ';' | ':' | '!' | '?' | '：' | '。' | '、') || opens(c) || closes(c)
}

/// The address in one token, without its wrapping, if the token is address-shaped.
fn address_in(token: &str) -> Option<&str> {
    let mut signs = token.match_indices(AT_SIGNS);
    let (at, sign) = signs.next()?;
    if signs.next().is_some() {
        return None;
    }
    let before = &token[..at];
    let local = before
        .rfind(|c| opens(c) || colon(c))
        .map_or(before, |cut| &before[cut..])
        .trim_start_matches(wrapping);
    let after = &token[at + sign.len()..];
    let domain = after
        .find(|c| closes(c) || c == '?')
        .map_or(after, |cut| &after[..cut])
        .trim_end_matches(wrapping);
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    // Both parts are slices of the token around the sign: the address is what lies between.
    Some(&token[at - local.len()..at + sign.len() + domain.len()])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn all(cell: &str) -> Vec<&str> {
        addresses(cell).collect()
    }

    #[test]
    fn each_spelling_reads_to_its_addresses() {
        let cases: [(&str, &[&str]); 22] = [
            ("a@corp.com", &["a@corp.com"]),
            ("Guest One (a@corp.com)", &["a@corp.com"]),
            ("a@corp.com (Guest)", &["a@corp.com"]),
            ("\u{201C}a@corp.com\u{201D}", &["a@corp.com"]),
            ("\u{00AB}a@corp.com\u{00BB}", &["a@corp.com"]),
            ("`a@corp.com`", &["a@corp.com"]),
            ("'a@corp.com'", &["a@corp.com"]),
            ("SMTP:a@corp.com", &["a@corp.com"]),
            ("smtp:A@Corp.com", &["A@Corp.com"]),
            ("mailto:a@corp.com?subject=Hi", &["a@corp.com"]),
            ("[a@corp.com]", &["a@corp.com"]),
            ("{a@corp.com}", &["a@corp.com"]),
            ("a@corp.com:", &["a@corp.com"]),
            ("write to a@corp.com!", &["a@corp.com"]),
            ("Name <a@corp.com>", &["a@corp.com"]),
            ("Name<a@corp.com>", &["a@corp.com"]),
            ("a@corp.com b@corp.com", &["a@corp.com", "b@corp.com"]),
            ("a@corp.com\r\nb@corp.com", &["a@corp.com", "b@corp.com"]),
            ("a@corp.com / b@corp.com", &["a@corp.com", "b@corp.com"]),
            (
                "a@corp.com|b@corp.com;c@corp.com\td@corp.com",
                &["a@corp.com", "b@corp.com", "c@corp.com", "d@corp.com"],
            ),
            ("O'Brien (o'brien@corp.com)", &["o'brien@corp.com"]),
            ("g2\u{FF20}corp.com", &["g2\u{FF20}corp.com"]),
        ];
        for (cell, expected) in cases {
            assert_eq!(all(cell), expected, "{cell:?}");
        }
    }

    #[test]
    fn a_slash_splits_but_the_whole_token_is_tried_too() {
        assert_eq!(all("a@corp.com/b@corp.com"), ["a@corp.com", "b@corp.com"]);
        assert_eq!(all("team/a@corp.com"), ["team/a@corp.com", "a@corp.com"]);
    }

    #[test]
    fn tokens_that_are_not_address_shaped_are_not_mentions() {
        for cell in [
            "",
            "no address",
            "@corp.com",
            "a@",
            "a@b@corp.com",
            "(@)",
            "<>@x",
            "\u{201C}@\u{201D}",
        ] {
            assert_eq!(all(cell), Vec::<&str>::new(), "{cell:?}");
        }
        assert!(!may_hold_address("Guest One, Paris"));
        assert!(!may_hold_address("\u{FEFF}BOM but no at sign"));
        assert!(may_hold_address("x\u{FE6B}y"));
    }

    proptest! {
        #[test]
        fn any_cell_reads_without_panic_and_yields_address_shaped_slices(cell in "(?s).{0,40}") {
            for address in addresses(&cell) {
                prop_assert_eq!(address.matches(AT_SIGNS).count(), 1);
                prop_assert!(!address.starts_with(AT_SIGNS) && !address.ends_with(AT_SIGNS));
                prop_assert!(cell.contains(address));
            }
        }

        #[test]
        fn a_dressed_address_is_found_among_others(
            local in "[a-z0-9][a-z0-9._+-]{0,8}",
            domain in "[a-z0-9-]{1,10}\\.[a-z]{2,6}",
            before in prop::sample::select(vec!["", "\"", "\u{201C}", "(", "[", "<", "SMTP:", "mailto:", "Guest One <", "`", "'"]),
            after in prop::sample::select(vec!["", "\"", "\u{201D}", ")", "]", ">", ":", ".", ",", "!", "?subject=x", "'"]),
            separator in prop::sample::select(vec![" ", "\n", " / ", ",", ";", "|", "\t", ", "]),
            other in "[a-z]{1,6}@[a-z]{1,6}\\.com",
        ) {
            let address = format!("{local}@{domain}");
            let cell = format!("{other}{separator}{before}{address}{after}");
            let found = all(&cell);
            prop_assert!(found.contains(&address.as_str()), "{:?} in {:?}", found, cell);
            prop_assert!(found.contains(&other.as_str()), "{:?} in {:?}", found, cell);
        }
    }
}
