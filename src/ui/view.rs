//! What a run's page says, put together from its folder (what the engine left there) and its
//! live job: which job is shown, the state line, the counts, the table with its offending
//! cells, the buttons that apply, the confirmation's wording and the invite pace's timing.
//! Decides nothing the engine decides: it reads the results and the summaries.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::app::App;
use super::jobs::{Kind, Live, Phase, RowUpdate};
use super::page::RunPage;
use super::runs::{Meta, RunDir};
use super::table::{self, Columns, Table, TableRow};
use crate::invite_pace::{creates_take as timing, human, interval as invite_interval};
use crate::rate::Rate;

/// A job's files in the run's folder.
pub(super) fn files(run: &RunDir, kind: Kind) -> (PathBuf, PathBuf) {
    match kind {
        Kind::Preview => (run.preview(), run.preview_summary()),
        Kind::Send => (run.results(), run.summary()),
        Kind::Undo => (run.undo(), run.undo_summary()),
    }
}

/// The job the page shows: the live one, else the furthest one on disk.
pub(super) fn shown(app: &App, id: &str, run: &RunDir) -> (Kind, Option<Live>) {
    match app.hub.live(id) {
        Some(live) => (live.kind, Some(live)),
        None if run.undo().exists() => (Kind::Undo, None),
        None if run.results().exists() => (Kind::Send, None),
        None => (Kind::Preview, None),
    }
}

/// A finished job's account, from its `--summary-json`.
#[derive(Debug, Default)]
pub(super) struct Account {
    /// Why it stopped early, or its error.
    pub stopped: Option<String>,
}

/// Reads a job's summary; `None` when it has none (it never ran, or the server died in it).
pub(super) fn account(path: &std::path::Path) -> Option<Account> {
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Some(Account {
        stopped: value["stopped"]
            .as_str()
            .or(value["error"].as_str())
            .map(str::to_string),
    })
}

fn rows_word(n: u64) -> String {
    if n == 1 { "1 row".into() } else { format!("{n} rows") }
}

/// A local time as people read it on a clock: `14:05`.
fn clock(at: SystemTime) -> String {
    let local: chrono::DateTime<chrono::Local> = at.into();
    local.format("%H:%M").to_string()
}

/// The state line of a live job.
pub(super) fn live_state(live: &Live, organization: &str, rates: &[Rate]) -> String {
    let done = live.done();
    let of = live
        .total
        .map_or(rows_word(done), |total| format!("{done} of {}", rows_word(total)));
    match (live.phase, live.kind) {
        (Phase::Stopping, _) => format!("running: stopping after {of}; requests already sent are finishing"),
        (Phase::Running, Kind::Preview) => {
            format!("running: checking the file against {organization}; nothing is sent ({of} checked)")
        }
        (Phase::Running, kind) => {
            let verb = if kind == Kind::Send {
                "importing into"
            } else {
                "undoing in"
            };
            let mut line = format!("running: {verb} {organization}, {of} done");
            if let Some(left) = eta(live, rates) {
                line.push_str(&format!(", about {} left", human(left)));
            }
            if let Some((until, why)) = &live.waiting {
                line.push_str(&format!("; waiting for the {why} until {}", clock(*until)));
            }
            line
        }
        (Phase::Done | Phase::Stopped, kind) => {
            finished_state(kind, live.stopped.as_deref(), &live.counts, organization)
        }
    }
}

/// Time left: the creates still to come at the invite pace, else the rows left at the pace so far.
fn eta(live: &Live, rates: &[Rate]) -> Option<Duration> {
    if let (Some(creates), Some(every), Kind::Send) = (live.creates, invite_interval(rates), live.kind) {
        let made = live.counts.get("created").copied().unwrap_or(0);
        return Some(every.saturating_mul(u32::try_from(creates.saturating_sub(made)).unwrap_or(u32::MAX)));
    }
    let (total, done) = (live.total?, live.done());
    if done == 0 || done >= total {
        return None;
    }
    let per_row = live.started.elapsed().div_f64(done as f64);
    Some(per_row.mul_f64((total - done) as f64))
}

/// The state line of a finished job.
fn finished_state(kind: Kind, stopped: Option<&str>, counts: &BTreeMap<String, u64>, organization: &str) -> String {
    let listed: Vec<String> = counts.iter().map(|(status, n)| format!("{n} {status}")).collect();
    let listed = listed.join(", ");
    match (stopped, kind) {
        (Some(why), _) => format!("stopped: {why}"),
        (None, Kind::Preview) => format!("done: checked against {organization}, nothing sent yet: {listed}"),
        (None, Kind::Send) => format!("done: imported into {organization}: {listed}"),
        (None, Kind::Undo) => format!("done: undo finished in {organization}: {listed}"),
    }
}

/// Rows per status of a table.
fn counted(table: &Table) -> BTreeMap<String, u64> {
    table.counts.clone()
}

/// The offending fields of a job's rows, kept beside its results.
pub(super) fn fields(run: &RunDir, results: &std::path::Path) -> BTreeMap<u64, Vec<String>> {
    std::fs::read(run.fields(results))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// The whole run page.
pub(super) fn run_page(app: &Arc<App>, id: &str, run: &RunDir, meta: &Meta, error: Option<String>) -> RunPage {
    let organization = app.organization();
    let rates = app.invite_rates.clone();
    let (kind, live) = shown(app, id, run);
    let active = live.as_ref().is_some_and(Live::active);
    let (results, summary) = files(run, kind);
    // While a job runs, its own file is being written: show the file it started from.
    let base = match (kind, active) {
        (Kind::Preview, _) | (Kind::Send, true) => run.preview(),
        (Kind::Undo, true) => run.results(),
        (_, false) => results.clone(),
    };
    let table = table::results(&base, &meta.map).unwrap_or_default();
    let account = (!active).then(|| account(&summary)).flatten();
    let counts = match &live {
        Some(live) => live.counts.clone(),
        None => counted(&table),
    };
    let state = match (&live, &account) {
        (Some(live), _) => live_state(live, &organization, &rates),
        (None, Some(account)) => finished_state(kind, account.stopped.as_deref(), &counts, &organization),
        (None, None) if results.exists() => {
            "stopped: the server ended while this job was going; the results hold the rows it finished".into()
        }
        (None, None) => "stopped: not checked yet; choose “Check again”".into(),
    };
    let finished_ok = !active && account.as_ref().is_some_and(|a| a.stopped.is_none());
    let sent = run.results().exists();
    let columns = (!sent).then(|| app.columns(id, run, meta).ok()).flatten();
    let mut offending: BTreeMap<u64, Vec<String>> = fields(run, &base);
    // Only the rows shown are copied from the job's.
    let shown = || table.rows.iter().map(|row| row.row);
    if active && kind == Kind::Preview {
        offending.extend(app.hub.rows(id, shown()).into_values().map(|r| (r.row, r.fields)));
    }
    let live_rows = match kind {
        Kind::Send | Kind::Undo if active => Some(app.hub.rows(id, shown())),
        _ => None,
    };
    let rows = marked_rows(&table.rows, live_rows.as_ref(), &offending, columns.as_deref());
    let count = |status: &str| counts.get(status).copied().unwrap_or(0);
    let creates = count("would_create");
    let created = count("created");
    let confirming = app.confirming(id);
    let confirm = match confirming {
        Some(Kind::Send) if kind == Kind::Preview && finished_ok => Some(send_question(&counts, &organization, &rates)),
        Some(Kind::Undo) if kind == Kind::Send && finished_ok => Some(format!(
            "Delete the {} guests this import created from {organization}? Each is read back first: one someone has used since (signed in, or with tasks) is kept, and nothing that existed before the import is touched.",
            count("created")
        )),
        _ => None,
    };
    let person = count("invalid") + count("conflict") + count("failed");
    RunPage {
        id: id.to_string(),
        file: meta.shown().to_string(),
        version: app.hub.version(id),
        state,
        live: active,
        error,
        columns: columns.map(|c| (*c).clone()),
        counts: counts.clone().into_iter().collect(),
        timing: (kind == Kind::Preview && !active)
            .then(|| timing(creates, &rates, SystemTime::now()))
            .flatten(),
        can_send: kind == Kind::Preview && finished_ok && !sent && !table.rows.is_empty(),
        confirm,
        can_stop: active,
        can_undo: kind == Kind::Send && finished_ok && created > 0,
        downloads: downloads(id, run, meta),
        needs_person: needs_person(kind, active, person),
        caption: caption(kind, active).to_string(),
        header: table.header.clone(),
        rows,
        more: table.more,
        fixable: kind == Kind::Preview && !active && !sent,
    }
}

/// The rows of a finished import that need a person: how many, and what to do about them.
fn needs_person(kind: Kind, active: bool, person: u64) -> Option<(u64, String)> {
    (kind == Kind::Send && !active && person > 0).then(|| {
        (
            person,
            "They are marked red below with the reason. Fix them in your spreadsheet and upload it again: the guests made now are found and skipped (exists)."
                .to_string(),
        )
    })
}

/// The caption over the table.
fn caption(kind: Kind, active: bool) -> &'static str {
    match (kind, active) {
        (Kind::Preview, _) => "Preview: what the import would do with each row (a dry run; nothing was sent)",
        (Kind::Send, true) => "Import: each row as it is done",
        (Kind::Send, false) => "Results of the import",
        (Kind::Undo, true) => "Undo: each row as it is done",
        (Kind::Undo, false) => "Results of the undo",
    }
}

/// The table's rows: during an import or undo, each with its live status (`pending` until it
/// is done); each with its offending fields and the columns they are in.
fn marked_rows(
    rows: &[TableRow],
    live: Option<&BTreeMap<u64, RowUpdate>>,
    offending: &BTreeMap<u64, Vec<String>>,
    columns: Option<&Columns>,
) -> Vec<(TableRow, Vec<(String, usize)>)> {
    rows.iter()
        .map(|row| {
            let mut row = row.clone();
            if let Some(live) = live {
                match live.get(&row.row) {
                    Some(update) => {
                        row.status = update.status.clone();
                        row.message = update.message.clone();
                    }
                    None => {
                        row.status = "pending".into();
                        row.message = String::new();
                    }
                }
            }
            let marks = offending
                .get(&row.row)
                .into_iter()
                .flatten()
                .filter_map(|field| Some((field.clone(), columns?.column_of(field, &row.cells)?)))
                .collect();
            (row, marks)
        })
        .collect()
}

/// The run's files a person can take away: the corrected copy, the results both ways, the
/// undo's results.
fn downloads(id: &str, run: &RunDir, meta: &Meta) -> Vec<(String, String, Option<&'static str>)> {
    let mut downloads = Vec::new();
    if !meta.edits.is_empty() {
        downloads.push((
            "corrected copy (CSV)".to_string(),
            format!("/runs/{id}/corrected.csv"),
            None,
        ));
    }
    if run.results().exists() {
        downloads.push((
            "results (CSV)".to_string(),
            format!("/runs/{id}/results.csv"),
            Some("results"),
        ));
        if run.results_xlsx().exists() {
            downloads.push(("results (xlsx)".to_string(), format!("/runs/{id}/results.xlsx"), None));
        }
    }
    if run.undo().exists() {
        downloads.push(("undo results (CSV)".to_string(), format!("/runs/{id}/undo.csv"), None));
    }
    downloads
}

/// "Create 12 guests in Acme Ltd (5a4d…)? 11 already exist, 3 rows need fixing ..."
fn send_question(counts: &BTreeMap<String, u64>, organization: &str, rates: &[Rate]) -> String {
    let count = |status: &str| counts.get(status).copied().unwrap_or(0);
    let creates = count("would_create");
    let updates = count("would_update");
    let mut parts = Vec::new();
    if updates > 0 {
        parts.push(format!("update the members of {updates} existing"));
    }
    let mut besides = Vec::new();
    if count("exists") > 0 {
        besides.push(format!("{} already exist", count("exists")));
    }
    if count("duplicate") > 0 {
        let n = count("duplicate");
        besides.push(format!(
            "{} {} an earlier row",
            rows_word(n),
            if n == 1 { "repeats" } else { "repeat" }
        ));
    }
    let fix = count("invalid") + count("conflict");
    if fix > 0 {
        let verb = if fix == 1 {
            "needs fixing and is"
        } else {
            "need fixing and are"
        };
        besides.push(format!("{} {verb} not sent", rows_word(fix)));
    }
    let guests = if creates == 1 {
        "1 guest".to_string()
    } else {
        format!("{creates} guests")
    };
    let also = if parts.is_empty() {
        String::new()
    } else {
        format!(" and {}", parts.join(", "))
    };
    let besides = if besides.is_empty() {
        String::new()
    } else {
        format!(" {}.", besides.join(", "))
    };
    let invites = if creates > 0 {
        " Each new guest is emailed an invitation."
    } else {
        ""
    };
    let timing = timing(creates, rates, SystemTime::now()).map_or(String::new(), |t| format!(" {t}"));
    format!("Create {guests}{also} in {organization}?{besides}{invites}{timing}")
}

/// The runs list's state of a run, from its folder and live job.
pub(super) fn run_line(app: &Arc<App>, run: &RunDir, meta: &Meta) -> super::page::RunLine {
    let (kind, live) = shown(app, &meta.id, run);
    let (results, summary) = files(run, kind);
    let organization = meta.organization.clone().unwrap_or_else(|| app.organization());
    let deletable = !live.as_ref().is_some_and(Live::active);
    let (state, counts) = match live {
        Some(live) => (live_state(&live, &organization, &app.invite_rates), live.counts.clone()),
        None => {
            let table = table::results(&results, &meta.map).unwrap_or_default();
            let counts = counted(&table);
            let state = match account(&summary) {
                Some(account) => finished_state(kind, account.stopped.as_deref(), &counts, &organization),
                None => "stopped: did not finish".into(),
            };
            (state, counts)
        }
    };
    super::page::RunLine {
        id: meta.id.clone(),
        file: meta.shown().to_string(),
        uploaded: meta.uploaded.clone(),
        state,
        counts: counts.into_iter().collect(),
        results: run.results().exists(),
        workbook: run.results_xlsx().exists(),
        deletable,
    }
}

/// The JSON a run's event stream sends: its version, state line, counts and the row changed.
pub(super) fn note_json(app: &Arc<App>, id: &str, version: u64, row: Option<&RowUpdate>) -> String {
    let live = app.hub.live(id);
    let state = live
        .as_ref()
        .map(|live| live_state(live, &app.organization(), &app.invite_rates));
    let counts = live.as_ref().map(|live| live.counts.clone());
    serde_json::json!({
        "version": version,
        "state": state,
        "counts": counts,
        "row": row,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_names_the_organization_and_the_counts() {
        let counts: BTreeMap<String, u64> = [("would_create", 2), ("exists", 11), ("invalid", 3), ("duplicate", 1)]
            .into_iter()
            .map(|(s, n)| (s.to_string(), n))
            .collect();
        assert_eq!(
            send_question(&counts, "Acme Ltd (5a4d)", &[]),
            "Create 2 guests in Acme Ltd (5a4d)? 11 already exist, 1 row repeats an earlier row, 3 rows need fixing and are not sent. Each new guest is emailed an invitation."
        );
    }
}
