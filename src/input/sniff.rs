//! Which delimiter a text file uses, from its first lines: `,` `;` tab or `|`, counted outside
//! quotes. European Excel writes `;`, Excel's "Unicode text" writes tabs.

/// Candidates, in the order that wins a tie.
const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Lines looked at.
const LINES: usize = 20;

/// The delimiter that splits the header and the following lines most consistently. A file with
/// one column (no candidate anywhere) is read as comma-separated.
pub(super) fn delimiter(sample: &[u8], complete: bool) -> u8 {
    let lines = split_lines(sample, complete);
    let Some(header) = lines.first() else { return b',' };
    let mut best = (b',', 0usize, 0usize);
    for candidate in CANDIDATES {
        let expected = count_outside_quotes(header, candidate);
        if expected == 0 {
            continue;
        }
        let agreeing = lines
            .iter()
            .filter(|line| count_outside_quotes(line, candidate) == expected)
            .count();
        if (agreeing, expected) > (best.1, best.2) {
            best = (candidate, agreeing, expected);
        }
    }
    best.0
}

/// Splits at line ends outside quotes; drops a last line the sample may have cut short.
fn split_lines(sample: &[u8], complete: bool) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, &byte) in sample.iter().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                let line = sample[start..i].strip_suffix(b"\r").unwrap_or(&sample[start..i]);
                if !line.is_empty() {
                    lines.push(line);
                }
                start = i + 1;
                if lines.len() == LINES {
                    return lines;
                }
            }
            _ => {}
        }
    }
    if complete && start < sample.len() {
        lines.push(&sample[start..]);
    }
    lines
}

fn count_outside_quotes(line: &[u8], delimiter: u8) -> usize {
    let mut quoted = false;
    line.iter()
        .filter(|&&byte| {
            if byte == b'"' {
                quoted = !quoted;
            }
            byte == delimiter && !quoted
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_consistent_delimiter() {
        assert_eq!(delimiter(b"email,name\na@x.com,Ann\n", true), b',');
        assert_eq!(
            delimiter(
                b"email;name;company\na@x.com;Ann;\"Smith, Jones & Co\"\nb@x.com;Bob;X\n",
                true
            ),
            b';'
        );
        assert_eq!(delimiter(b"email\tname\r\na@x.com\tAnn, Jr.\r\n", true), b'\t');
        assert_eq!(delimiter(b"email|name\na@x.com|Ann\n", true), b'|');
        assert_eq!(delimiter(b"email\na@x.com\n", true), b',');
        assert_eq!(delimiter(b"", true), b',');
    }

    #[test]
    fn quoted_delimiters_and_newlines_do_not_count() {
        let text = b"email;note\na@x.com;\"a, b, c\nd, e\"\nb@x.com;\"x,y\"\n";
        assert_eq!(delimiter(text, true), b';');
        // Commas inside quotes outnumber the real semicolons but never split a line.
        assert_eq!(delimiter(b"\"a,b,c\";x\n\"d,e,f\";y\n", true), b';');
    }

    #[test]
    fn a_cut_last_line_is_ignored() {
        assert_eq!(delimiter(b"email;name\na@x.com;Ann\nb@x.com,b", false), b';');
    }
}
