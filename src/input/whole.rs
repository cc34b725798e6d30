//! Whether a results file is whole: the proof that the run which wrote it read its whole input
//! and gave every row its result, read back in one pass of the file's rows. This version proves
//! it with `result_of` on every row (issue 31: a results file holds only rows); earlier
//! versions ended the file with an `end_of_results` trailer record, which is still taken.
//! What the proof is written by is `engine::report::results`; this module only reads it.

use std::collections::BTreeSet;
use std::fmt;
use std::time::SystemTime;

use crate::api::clock::parse_time;

use super::previous::is_trailer;

/// A `result_of` cell: the run's account of the whole file, the same on every row of it
/// (`31 rows, finished 2026-12-07T05:01:02Z by run 5f0c…: the whole input`). Written in words,
/// in one text cell, so that Excel keeps it as it is (no number or date for it to reformat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultOf {
    /// The rows the file holds.
    pub rows: u64,
    /// When the run finished, on the server's clock (RFC 3339 UTC): no row can be newer.
    pub finished: String,
    /// The run's own mark (16 hex digits, made at random by the run): two runs that end in one
    /// second with as many rows still differ, so rows pasted from both are told apart.
    pub run: String,
    /// What the input was: `the whole input`, or cut on purpose by `--limit N`.
    pub input: String,
}

impl fmt::Display for ResultOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows, finished {} by run {}: {}",
            self.rows, self.finished, self.run, self.input
        )
    }
}

impl ResultOf {
    /// Reads a `result_of` cell as `Display` writes it.
    pub fn parse(cell: &str) -> Option<ResultOf> {
        let (rows, rest) = cell.trim().split_once(" rows, finished ")?;
        let (end, input) = rest.split_once(": ")?;
        let (finished, run) = end.split_once(" by run ")?;
        parse_time(finished)?;
        if run.len() != 16 || !run.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(ResultOf {
            rows: rows.parse().ok()?,
            finished: finished.to_string(),
            run: run.to_string(),
            input: input.to_string(),
        })
    }

    /// Whether the input was read whole (not cut on purpose by `--limit`).
    fn complete(&self) -> bool {
        !self.input.contains("--limit")
    }
}

const UNFINISHED: &str = "its rows carry no result_of (nor an end_of_results record), so the run that wrote it did not finish (it was killed or stopped) or wrote it as a stream, or the file was cut";

/// What one pass over a results file's text finds besides its proof: its rows (the trailer of
/// an earlier version is not one) and the organizations its rows were made in.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Rows read, up to the first that cannot be read.
    pub rows: u64,
    /// The `result_org` values (trimmed, none empty); `None` without the result columns.
    pub orgs: Option<BTreeSet<String>>,
}

/// The proof, as `incomplete` says it, of a results file's text (decoded, without a byte order
/// mark) whose cells are split by `delimiter`; what else it holds goes to `found`. Read as CSV,
/// so the same file saved by Excel (CRLF, a byte order mark, quotes changed) is still whole,
/// and a file that ends inside an open quote is not.
pub(super) fn pass(
    text: impl std::io::Read,
    delimiter: u8,
    row_column: &str,
    status_column: &str,
    found: &mut Found,
) -> Result<bool, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text);
    let header = reader
        .headers()
        .map_err(|_| "its header cannot be read".to_string())?
        .clone();
    let column = |name: &str| header.iter().position(|column| column.trim() == name);
    let (Some(at), Some(status_at)) = (column(row_column), column(status_column)) else {
        return Err(format!("it has no {row_column} and {status_column} columns"));
    };
    let org_at = column("result_org");
    if org_at.is_some() {
        found.orgs = Some(BTreeSet::new());
    }
    let mut rows = Rows {
        times: ["result_run_started", "result_at"].map(column),
        of_at: column("result_of"),
        ..Rows::default()
    };
    let message_at = column("result_message");
    let mut trailer: Option<(String, usize)> = None;
    for record in reader.records() {
        let Ok(record) = record else {
            return Err("a row cannot be read (the file was cut or changed by hand)".into());
        };
        let cell = |i: usize| record.get(i).unwrap_or_default().trim().to_string();
        if trailer.is_some() {
            return Err("rows follow its end_of_results record (files joined or changed by hand)".into());
        }
        if is_trailer(&[cell(at), cell(status_at)]) {
            let message = message_at.map(cell).unwrap_or_default();
            // A run's trailer is written after all of its rows (and those it copied from
            // earlier runs), on a server clock that only moves on.
            let ends = rows.times.map(|at| at.map(cell).as_deref().and_then(parse_time));
            if rows.newer_than(ends).is_some() {
                return Err(
                    "its end_of_results record is older than its rows (a trailer copied from another run's file)"
                        .into(),
                );
            }
            trailer = Some((message, rows.numbers.len()));
            continue;
        }
        found.rows += 1;
        if let (Some(orgs), Some(org)) = (found.orgs.as_mut(), org_at.map(cell))
            && !org.is_empty()
        {
            orgs.insert(org);
        }
        rows.add(&cell, at);
    }
    if let Some((message, count)) = trailer {
        if let Some(counted) = rows_counted(&message).filter(|&counted| counted != count as u64) {
            return Err(format!(
                "its end_of_results record counts {counted} rows but it holds {count} (rows were removed or added)"
            ));
        }
        rows.each_once()?;
        return Ok(!message.contains("--limit"));
    }
    rows.proven()
}

/// A results file's rows as far as the proof goes, gathered in the one pass.
#[derive(Default)]
struct Rows {
    /// Where `result_run_started` and `result_at` are.
    times: [Option<usize>; 2],
    /// Where `result_of` is (an earlier version's file has none).
    of_at: Option<usize>,
    /// Each row's `result_row` (0 for a row without a number).
    numbers: Vec<u64>,
    in_order: bool,
    /// The latest start and answer any row records, with its row.
    latest: [Option<(SystemTime, u64)>; 2],
    /// The first row's `result_of`; whether any row's differs from it.
    of: Option<String>,
    of_differs: bool,
}

impl Rows {
    fn add(&mut self, cell: &impl Fn(usize) -> String, at: usize) {
        let number = cell(at).parse::<u64>().unwrap_or(0);
        self.in_order = self.numbers.is_empty() || (self.in_order && self.numbers.last().is_some_and(|&l| number > l));
        self.numbers.push(number);
        for (at, latest) in self.times.iter().zip(self.latest.iter_mut()) {
            if let Some(time) = at.map(cell).as_deref().and_then(parse_time)
                && latest.is_none_or(|(latest, _)| time > latest)
            {
                *latest = Some((time, number));
            }
        }
        let of = self.of_at.map(cell).unwrap_or_default();
        match &self.of {
            None => self.of = Some(of),
            Some(first) => self.of_differs |= *first != of,
        }
    }

    /// A row whose start or answer is later than the run's own (`ends`, in `times` order).
    fn newer_than(&self, ends: [Option<SystemTime>; 2]) -> Option<u64> {
        self.latest
            .iter()
            .zip(ends)
            .find_map(|(latest, end)| match (latest, end) {
                (Some((time, row)), Some(end)) if *time > end => Some(*row),
                _ => None,
            })
    }

    /// A row pasted over another (a spreadsheet's copy and paste, a fill-down) keeps the count
    /// but names one row twice and loses the other, whose guest would look missing to a mirror.
    fn each_once(&self) -> Result<(), String> {
        let mut numbers: Vec<u64> = self.numbers.iter().copied().filter(|&row| row > 0).collect();
        numbers.sort_unstable();
        match numbers.windows(2).find(|pair| pair[0] == pair[1]) {
            Some(pair) => Err(format!(
                "row {} appears more than once (rows were copied over others or changed by hand)",
                pair[0]
            )),
            None => Ok(()),
        }
    }

    /// The proof from `result_of` (a file without a trailer).
    fn proven(mut self) -> Result<bool, String> {
        let of = self.of.take().unwrap_or_default();
        if of.is_empty() && !self.of_differs {
            return Err(self.unfinished());
        }
        if self.of_differs {
            return Err("its rows' result_of differ (rows from another file or an unfinished run were pasted in, or the file was cut or changed by hand)".into());
        }
        let Some(of) = ResultOf::parse(&of) else {
            return Err(format!(
                "its result_of `{of}` is not one tallyfy-guests writes (changed by hand)"
            ));
        };
        let count = self.numbers.len() as u64;
        if of.rows != count {
            return Err(format!(
                "its result_of counts {} rows but it holds {count} (rows were removed or added, or the file was cut)",
                of.rows
            ));
        }
        self.each_once()?;
        let finished = parse_time(&of.finished);
        if let Some(row) = self.newer_than([finished, finished]) {
            return Err(format!(
                "row {row} is newer than the end of the run its result_of names (result_of copied onto another run's rows)"
            ));
        }
        Ok(of.complete())
    }

    /// Why a file with no proof at all is not whole, with the rows it lacks when they show.
    fn unfinished(mut self) -> String {
        if self.in_order {
            return UNFINISHED.into();
        }
        self.numbers.sort_unstable();
        self.numbers.dedup();
        let gaps: Vec<String> = self
            .numbers
            .windows(2)
            .filter(|pair| pair[0] > 0 && pair[1] > pair[0] + 1)
            .take(5)
            .map(|pair| match (pair[0] + 1, pair[1] - 1) {
                (first, last) if first == last => format!("{first}"),
                (first, last) => format!("{first} to {last}"),
            })
            .collect();
        if gaps.is_empty() {
            format!("{UNFINISHED}; its rows are out of order")
        } else {
            format!("{UNFINISHED}; rows {} have no result", gaps.join(", "))
        }
    }
}

/// The number of rows an earlier version's trailer message counts ("... each of its 2650 rows
/// ...").
fn rows_counted(message: &str) -> Option<u64> {
    let before = &message[..message.find(" rows")?];
    let digits = before.rsplit(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::verified::incomplete;
    use std::path::Path;

    /// `incomplete` of `text`, written to a file in `dir`.
    fn check(dir: &Path, text: &str) -> Result<bool, String> {
        let path = dir.join("r.csv");
        std::fs::write(&path, text).unwrap();
        incomplete(&path, "result_row", "result_status")
    }

    #[test]
    fn result_of_reads_back_what_it_writes() {
        let of = ResultOf {
            rows: 31,
            finished: "2026-12-07T05:01:02Z".into(),
            run: "00ff00ff00ff00ff".into(),
            input: "the input was cut on purpose by --limit 31".into(),
        };
        assert_eq!(ResultOf::parse(&of.to_string()), Some(of.clone()));
        assert!(!of.complete());
        assert_eq!(ResultOf::parse("31"), None);
        let written = of.to_string();
        assert_eq!(ResultOf::parse(&written.replacen("31", "x", 1)), None);
        assert_eq!(ResultOf::parse(&written.replace(" by run 00ff00ff00ff00ff", "")), None);
    }

    #[test]
    fn a_file_is_whole_when_every_row_carries_the_same_result_of_and_agrees_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = |text: &str| check(dir.path(), text);
        let header = "result_row,result_status,result_at,result_of,email\n";
        let of = "\"2 rows, finished 2026-01-01T00:00:10Z by run 0123456789abcdef: the whole input\"";
        let row = |n: u32, at: &str| format!("{n},created,{at},{of},r{n}@x.com\n");
        let two = format!("{header}{}{}", row(2, "2026-01-01T00:00:05Z"), row(3, ""));
        assert_eq!(file(&two), Ok(true));
        assert_eq!(
            file(&two.replace("the whole input", "the input was cut on purpose by --limit 2")),
            Ok(false)
        );
        // As Excel saves it: a byte order mark, CRLF, every cell quoted.
        let mut excel = String::from("\u{feff}");
        for record in csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(two.as_bytes())
            .records()
        {
            let cells: Vec<String> = record.unwrap().iter().map(|c| format!("\"{c}\"")).collect();
            excel.push_str(&(cells.join(",") + "\r\n"));
        }
        assert_eq!(file(&excel), Ok(true));
        let killed = file(&format!("{header}2,created,,,a\n3,created,,,b\n")).unwrap_err();
        assert!(killed.contains("carry no result_of"), "{killed}");
        let cut = file(&format!("{header}{}", row(2, ""))).unwrap_err();
        assert!(cut.contains("counts 2 rows but it holds 1"), "{cut}");
        let torn = file(&format!("{header}{}3,crea", row(2, ""))).unwrap_err();
        assert!(torn.contains("result_of differ"), "{torn}");
        let pasted = file(&format!("{header}{}{}", row(2, ""), row(2, ""))).unwrap_err();
        assert!(pasted.contains("row 2 appears more than once"), "{pasted}");
        // Another run that ended in the same second with as many rows.
        let other_run = row(3, "").replace("0123456789abcdef", "fedcba9876543210");
        let joined = file(&format!("{header}{}{other_run}", row(2, ""))).unwrap_err();
        assert!(joined.contains("result_of differ"), "{joined}");
        let newer = file(&format!("{header}{}{}", row(2, ""), row(3, "2026-01-01T00:00:11Z"))).unwrap_err();
        assert!(newer.contains("row 3 is newer than the end of the run"), "{newer}");
        let forged = file(&two.replace("2 rows, finished", "two rows, finished")).unwrap_err();
        assert!(forged.contains("not one tallyfy-guests writes"), "{forged}");
    }

    #[test]
    fn an_earlier_versions_file_is_whole_when_it_ends_with_its_trailer() {
        let dir = tempfile::tempdir().unwrap();
        let file = |text: &str| check(dir.path(), text);
        let header = "result_row,result_status,result_message,email\n";
        let end = "end,end_of_results,the run finished at 2025-01-01T00:00:00Z with a result for each of its 2 rows: the whole input,\n";
        assert_eq!(
            file(&format!("{header}2,created,,a@x.com\n3,failed,,b@x.com\n{end}")),
            Ok(true)
        );
        let limited = end.replace("the whole input", "the input was cut on purpose by --limit 2");
        assert_eq!(
            file(&format!("{header}2,created,,a\n3,failed,,b\n{limited}")),
            Ok(false)
        );
        // As Excel saves it: a byte order mark, CRLF, every cell quoted.
        let excel = format!("\u{feff}{header}2,created,,a@x.com\n3,failed,,b@x.com\n{end}")
            .lines()
            .map(|line| {
                line.split(',')
                    .map(|cell| format!("\"{cell}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join("\r\n");
        assert_eq!(file(&excel.replacen("\"\u{feff}", "\u{feff}\"", 1)), Ok(true));
        let torn = file(&format!("{header}2,created,,a@x.com\n3,fai")).unwrap_err();
        assert!(torn.contains("carry no result_of"), "{torn}");
        let open_quote = file(&format!("{header}2,created,\"oops,a@x.com\n3,failed,,b@x.com\n{end}")).unwrap_err();
        assert!(open_quote.contains("carry no result_of"), "{open_quote}");
        let pasted = file(&format!("{header}2,created,,a@x.com\n2,created,,a@x.com\n{end}")).unwrap_err();
        assert!(pasted.contains("row 2 appears more than once"), "{pasted}");
        let cut = file(&format!("{header}2,created,,a@x.com\n{end}")).unwrap_err();
        assert!(cut.contains("counts 2 rows but it holds 1"), "{cut}");
        let why = file(&format!(
            "{header}2,created,,a\n5,created,,d\n3,created,,b\n9,created,,e\n"
        ))
        .unwrap_err();
        assert!(why.contains("rows 4, 6 to 8 have no result"), "{why}");
    }
}
