//! Encodings: which one a file is in, and a reader that turns it into UTF-8. A BOM decides
//! (UTF-8, UTF-16 LE/BE); without one, UTF-16 is recognised by its NUL bytes, valid UTF-8 is
//! UTF-8, and anything else is read as Windows-1252, what Excel on Windows writes for "CSV".
//! `--encoding` overrides all of that.

use std::fmt;
use std::io::{self, Read};

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::files::output::UTF8_BOM;

/// How much of the file is looked at to decide.
pub(super) const SAMPLE_BYTES: usize = 1 << 20;

/// The encoding chosen, and why, for the log and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The encoding the file is read in.
    pub encoding: &'static Encoding,
    /// Why that encoding.
    pub reason: Reason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Bom,
    Nuls,
    Valid,
    Fallback,
    Forced,
}

impl fmt::Display for Detected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            Reason::Bom => "byte order mark",
            Reason::Nuls => "no byte order mark; recognised by its zero bytes",
            Reason::Valid => "valid UTF-8",
            Reason::Fallback => "not valid UTF-8, read as Windows-1252",
            Reason::Forced => "--encoding",
        };
        write!(f, "{} ({why})", self.encoding.name())
    }
}

/// Parses an `--encoding` label (any WHATWG label: `utf-8`, `latin1`, `windows-1252`, `utf-16le`,
/// `shift_jis`, ...).
pub fn parse_label(label: &str) -> Result<&'static Encoding, String> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        format!("`{label}` is not an encoding name; try utf-8, windows-1252, latin1, utf-16le or utf-16be")
    })
}

/// Decides the encoding from the start of `reader` and returns a reader of UTF-8 bytes (BOM
/// removed) that still yields the whole input.
/// A stream is judged on less, so that rows that trickle in are not held back for a megabyte.
pub(super) const STREAM_SAMPLE_BYTES: usize = 64 * 1024;

/// `sample_bytes`: how much is read to detect the encoding (`SAMPLE_BYTES` for a file,
/// `STREAM_SAMPLE_BYTES` for a stream).
pub(super) fn utf8_reader(
    reader: Box<dyn Read + Send>,
    forced: Option<&'static Encoding>,
    sample_bytes: usize,
) -> io::Result<(Box<dyn Read + Send>, Detected)> {
    let (decoded, detected, suspect) = decoding(reader, forced, sample_bytes)?;
    if let Some((encoding, word)) = suspect {
        tracing::warn!(
            "the file is not UTF-8 and, read as Windows-1252, has text no one types (`{word}`): it looks like {}; if names look wrong, run it again with --encoding {}",
            encoding.name(),
            encoding.name().to_lowercase()
        );
    }
    Ok((decoded, detected))
}

/// A legacy encoding a fallback's text suggests, with the word that gave it away.
pub(super) type Suspect = (&'static Encoding, String);

/// `utf8_reader` without a word to the person (for a second look at a file whose own reading
/// says it): the reader, the encoding, and the legacy encoding a fallback's text suggests.
pub(super) fn decoding(
    mut reader: Box<dyn Read + Send>,
    forced: Option<&'static Encoding>,
    sample_bytes: usize,
) -> io::Result<(Box<dyn Read + Send>, Detected, Option<Suspect>)> {
    let mut sample = Vec::with_capacity(64 * 1024);
    (&mut reader).take(sample_bytes as u64).read_to_end(&mut sample)?;
    let complete = sample.len() < sample_bytes;
    let detected = match forced {
        Some(encoding) => Detected {
            encoding,
            reason: Reason::Forced,
        },
        None => detect(&sample, complete),
    };
    let suspect = match detected.reason {
        Reason::Fallback => legacy_suspect(&sample),
        _ => None,
    };
    let decoded: Box<dyn Read + Send> = if detected.encoding == UTF_8 {
        // Passed through untouched (only a BOM dropped), so a stray invalid byte later in the
        // file is reported on its own row rather than silently replaced.
        if sample.starts_with(UTF8_BOM) {
            sample.drain(..UTF8_BOM.len());
        }
        Box::new(io::Cursor::new(sample).chain(reader))
    } else {
        let whole = io::Cursor::new(sample).chain(reader);
        Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(detected.encoding))
                .bom_override(true)
                .build(whole),
        )
    };
    Ok((decoded, detected, suspect))
}

fn detect(sample: &[u8], complete: bool) -> Detected {
    let found = |encoding, reason| Detected { encoding, reason };
    if let Some((encoding, _)) = Encoding::for_bom(sample) {
        return found(encoding, Reason::Bom);
    }
    // UTF-16 text without a BOM is mostly ASCII, so every other byte is zero.
    let pairs = sample.len() / 2;
    if pairs >= 2 {
        let zeros_at = |parity: usize| sample.iter().skip(parity).step_by(2).filter(|&&b| b == 0).count();
        let (even, odd) = (zeros_at(0), zeros_at(1));
        if odd * 10 >= pairs * 3 && even * 10 < pairs {
            return found(UTF_16LE, Reason::Nuls);
        }
        if even * 10 >= pairs * 3 && odd * 10 < pairs {
            return found(UTF_16BE, Reason::Nuls);
        }
    }
    match std::str::from_utf8(sample) {
        Ok(_) => found(UTF_8, Reason::Valid),
        // The sample may end inside a character; that is not a reason to give up on UTF-8.
        Err(e) if !complete && e.error_len().is_none() => found(UTF_8, Reason::Valid),
        Err(_) => found(WINDOWS_1252, Reason::Fallback),
    }
}

/// Legacy encodings a file that is not UTF-8 may be in besides Windows-1252: Mac Roman (old Mac
/// Excel's "CSV"), central European and Cyrillic Windows, DOS Cyrillic, KOI8-R.
const LEGACY: [&Encoding; 5] = [
    encoding_rs::MACINTOSH,
    encoding_rs::WINDOWS_1250,
    encoding_rs::WINDOWS_1251,
    encoding_rs::IBM866,
    encoding_rs::KOI8_R,
];

/// When `sample`, read as Windows-1252, holds characters no one types inside a word (`JŸrgen`,
/// `MŸller`: Mac Roman's ü) and another legacy encoding reads it with none: that encoding, and
/// the first word that gave it away.
pub(super) fn legacy_suspect(sample: &[u8]) -> Option<Suspect> {
    let (as_1252, _) = WINDOWS_1252.decode_without_bom_handling(sample);
    let (odd, word) = implausible(&as_1252);
    if odd == 0 {
        return None;
    }
    LEGACY
        .iter()
        .map(|&encoding| (encoding, implausible(&encoding.decode_without_bom_handling(sample).0).0))
        .filter(|&(_, n)| n * 4 < odd)
        .min_by_key(|&(_, n)| n)
        .map(|(encoding, _)| (encoding, word.unwrap_or_default()))
}

/// How many characters of `text` sit where no one types them (a symbol between two letters, or
/// a capital inside a lowercase word), and the first word holding one.
fn implausible(text: &str) -> (usize, Option<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut count = 0;
    let mut first = None;
    for i in 1..chars.len().saturating_sub(1) {
        let (before, c, after) = (chars[i - 1], chars[i], chars[i + 1]);
        if c.is_ascii() {
            continue;
        }
        let odd = (!c.is_alphabetic() && before.is_alphabetic() && after.is_alphabetic())
            || (c.is_uppercase() && before.is_alphabetic() && (before.is_lowercase() || after.is_lowercase()));
        if odd {
            count += 1;
            if first.is_none() {
                let start = chars[..i]
                    .iter()
                    .rposition(|c| !c.is_alphanumeric())
                    .map_or(0, |p| p + 1);
                let end = chars[i..]
                    .iter()
                    .position(|c| !c.is_alphanumeric())
                    .map_or(chars.len(), |p| i + p);
                first = Some(chars[start..end].iter().collect());
            }
        }
    }
    (count, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (String, String) {
        let (mut reader, detected) =
            utf8_reader(Box::new(io::Cursor::new(bytes.to_vec())), None, SAMPLE_BYTES).unwrap();
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        (text, detected.encoding.name().to_string())
    }

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        if bom {
            bytes.extend(if big_endian { [0xFE, 0xFF] } else { [0xFF, 0xFE] });
        }
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        bytes
    }

    #[test]
    fn mac_roman_read_as_windows_1252_is_flagged_with_the_encoding_to_use() {
        let text = "email,first_name,last_name\njurgen@x.de,Jürgen,Müller\nana@x.pt,Ana,Conceição\n";
        let (mac, _, _) = encoding_rs::MACINTOSH.encode(text);
        let (encoding, word) = legacy_suspect(&mac).expect("flagged");
        assert_eq!(encoding.name(), "macintosh");
        assert_eq!(word, "JŸrgen");
        // Real Windows-1252 text, accents, dashes and quotes included, is not flagged.
        let (cp1252, _, _) =
            WINDOWS_1252.encode("email;name\nrene@x.fr;René Müller – “quoted” Ørsted, Œuvre, MÜLLER\n");
        assert_eq!(legacy_suspect(&cp1252), None);
    }

    #[test]
    fn every_encoding_people_have() {
        let text = "email\tfirst_name\nzoe@x.com\tZoë Ångström\n";
        assert_eq!(decode(text.as_bytes()), (text.into(), "UTF-8".into()));
        assert_eq!(
            decode(&[UTF8_BOM, text.as_bytes()].concat()),
            (text.into(), "UTF-8".into())
        );
        assert_eq!(decode(&utf16(text, false, true)), (text.into(), "UTF-16LE".into()));
        assert_eq!(decode(&utf16(text, true, true)), (text.into(), "UTF-16BE".into()));
        assert_eq!(decode(&utf16(text, false, false)), (text.into(), "UTF-16LE".into()));
        let (cp1252, _, _) = WINDOWS_1252.encode("email;name\nrene@x.fr;René Müller – “quoted”\n");
        assert_eq!(
            decode(&cp1252),
            (
                "email;name\nrene@x.fr;René Müller – “quoted”\n".into(),
                "windows-1252".into()
            )
        );
    }

    #[test]
    fn forced_labels() {
        assert_eq!(parse_label("latin1").unwrap().name(), "windows-1252");
        assert_eq!(parse_label(" UTF-16LE ").unwrap(), UTF_16LE);
        assert!(parse_label("klingon").unwrap_err().contains("not an encoding name"));
        let (mut reader, detected) = utf8_reader(
            Box::new(io::Cursor::new(b"caf\xe9".to_vec())),
            Some(WINDOWS_1252),
            SAMPLE_BYTES,
        )
        .unwrap();
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        assert_eq!((text.as_str(), detected.reason), ("café", Reason::Forced));
    }

    #[test]
    fn a_sample_cut_inside_a_character_is_still_utf8() {
        let mut big = "é".repeat(SAMPLE_BYTES / 2 + 1).into_bytes();
        big.insert(0, b'x');
        assert_eq!(detect(&big[..SAMPLE_BYTES], false).encoding, UTF_8);
    }
}
