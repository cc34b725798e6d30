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
use super::page::tone;
use super::runs::{Meta, RunDir};
use super::table::{self, Columns, Table, TableRow};
use crate::engine::{Status, Wait};
use crate::invite_pace::{creates_take as timing, human};

/// A job's files in the run's folder.
pub(super) fn files(run: &RunDir, kind: Kind) -> (PathBuf, PathBuf) {
    match kind {
        Kind::Preview => (run.preview(), run.preview_summary()),
        Kind::Send => (run.results(), run.summary()),
        Kind::Undo => (run.undo(), run.undo_summary()),
    }
}

/// The job the page shows: the live one, else the furthest one on disk.
pub(super) fn shown(app: &App, id: &str, run: &RunDir) -> (Kind, Option<Live>, u64) {
    let (live, version) = app.hub.snapshot(id);
    let kind = match live {
        Some(live) => return (live.kind, Some(live), version),
        None if run.undo().exists() || run.undo_summary().exists() => Kind::Undo,
        None if run.results().exists() => Kind::Send,
        None => Kind::Preview,
    };
    (kind, None, version)
}

/// A finished job's account, from its `--summary-json`.
#[derive(Debug, Default)]
pub(super) struct Account {
    /// Rows per status.
    pub counts: BTreeMap<Status, u64>,
    /// Why it stopped early.
    pub stopped: Option<String>,
    /// The error that ended it.
    pub error: Option<String>,
}

/// Reads a job's summary; `None` when it has none (it never ran, or the server died in it).
pub(super) fn account(path: &std::path::Path) -> Option<Account> {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        counts: BTreeMap<String, u64>,
        stopped: Option<String>,
        error: Option<String>,
    }
    let file: File = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Some(Account {
        counts: file
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .filter_map(|(status, n)| Some((status.parse().ok()?, *n)))
            .collect(),
        stopped: file.stopped,
        error: file.error,
    })
}

/// The machine-readable state of the page (`data-state`): `checking`, `ready` (a preview or
/// a question to confirm), `running`, `stopped`, `done` or `failed`.
pub(super) fn data_state(kind: Kind, phase: Phase, counts: &BTreeMap<Status, u64>) -> &'static str {
    match (phase, kind) {
        (Phase::Checking, _) => "checking",
        (Phase::Asking, _) => "ready",
        (Phase::Running | Phase::Stopping, _) => "running",
        (Phase::Failed, _) => "failed",
        (Phase::Stopped, _) => "stopped",
        (Phase::Done | Phase::Declined, Kind::Preview) => "ready",
        // Rows left for later (the invite cap) make a run that is not done yet.
        (Phase::Done | Phase::Declined, _) if counts.get(&Status::Deferred).is_some_and(|n| *n > 0) => "stopped",
        (Phase::Done | Phase::Declined, _) => "done",
    }
}

/// Where a job on disk ended, as a phase: its account, or none (the server stopped in it).
fn disk_phase(account: Option<&Account>) -> Phase {
    match account {
        None => Phase::Stopped,
        Some(account) if account.error.is_some() => Phase::Failed,
        Some(account) if account.stopped.is_some() => Phase::Stopped,
        Some(_) => Phase::Done,
    }
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
pub(super) fn live_state(live: &Live, organization: &str) -> String {
    let done = live.done();
    let of = live
        .total
        .map_or(rows_word(done), |total| format!("{done} of {}", rows_word(total)));
    match (live.phase, live.kind) {
        (Phase::Stopping, _) => format!("Stopping after {of}: requests already sent are finishing"),
        (Phase::Checking, Kind::Preview) => {
            format!("Checking the file against {organization}; nothing is sent ({of} checked)")
        }
        (Phase::Checking, _) => format!("Reading {organization} to plan what to send; nothing is sent yet"),
        (Phase::Asking, _) => "Waiting for your answer below; nothing is sent until you say yes".to_string(),
        (Phase::Running, kind) => {
            let verb = if kind == Kind::Send {
                "Importing into"
            } else {
                "Undoing in"
            };
            let mut line = format!("{verb} {organization}: {of} done");
            if let Some(left) = eta(live) {
                line.push_str(&format!(", about {} left", human(left)));
            }
            if let Some((until, why)) = &live.waiting {
                let why = match why {
                    Wait::InviteQuota => "Tallyfy's hourly invitation limit",
                    Wait::RateLimit => "Tallyfy's rate limit",
                };
                line.push_str(&format!("; waiting for {why} until {}", clock(*until)));
            }
            // The job is the server's, not the tab's (issue 32, point 2).
            line.push_str(". You may close this page: the job goes on while the tool runs");
            line
        }
        (phase, kind) => finished_state(kind, phase, live.stopped.as_deref(), &live.counts, organization),
    }
}

/// Time left: the confirmed creates not sent yet, from where the run's schedule stands (the
/// model the question's promise came from: a burst up to the cap, then a window at a time),
/// else the rows left at the pace so far.
fn eta(live: &Live) -> Option<Duration> {
    if let (Some(creates), Some(pace), Kind::Send) = (live.creates, &live.pace, live.kind) {
        let schedule = pace.now();
        let now = SystemTime::now();
        let left = creates.saturating_sub(schedule.taken());
        let takes = schedule.finish(left, now).duration_since(now).unwrap_or_default();
        if schedule.pace().known() || !takes.is_zero() {
            return Some(takes);
        }
    }
    let (total, done) = (live.total?, live.done());
    if done == 0 || done >= total {
        return None;
    }
    let per_row = live.started.elapsed().div_f64(done as f64);
    Some(per_row.mul_f64((total - done) as f64))
}

/// The state line of a finished job.
fn finished_state(
    kind: Kind,
    phase: Phase,
    why: Option<&str>,
    counts: &BTreeMap<Status, u64>,
    organization: &str,
) -> String {
    let listed: Vec<String> = counts.iter().map(|(status, n)| format!("{n} {status}")).collect();
    let listed = listed.join(", ");
    let later = counts.get(&Status::Deferred).copied().unwrap_or(0);
    match (phase, kind) {
        (Phase::Failed, _) => format!("Could not finish: {}", why.unwrap_or("the job ended with an error")),
        (Phase::Stopped, Kind::Preview) => "The check stopped before the end: choose “Check again”".to_string(),
        (Phase::Stopped, Kind::Undo) => format!(
            "The undo stopped before the end ({}); Undo again takes back the rest: {listed}",
            why.unwrap_or("the server stopped while it was going")
        ),
        (Phase::Stopped, _) => format!(
            "Stopped before the end ({}): Continue sends the rest of this import: {listed}",
            why.unwrap_or("the server stopped while it was going")
        ),
        (_, Kind::Preview) => format!("Checked against {organization}, nothing sent yet: {listed}"),
        (_, Kind::Send) if later > 0 => format!(
            "Imported into {organization} as far as Tallyfy allowed for now: Continue sends the {} left: {listed}",
            rows_word(later)
        ),
        (_, Kind::Send) => format!("Imported into {organization}: {listed}"),
        (_, Kind::Undo) => format!("Undo finished in {organization}: {listed}"),
    }
}

/// A row's message as the page says it: where the engine tells a terminal to run the same
/// command again, the page has its Continue button (the engine's one wording of the step).
fn row_message(message: &str) -> String {
    crate::engine::NextStep::on_the_page(message)
}

/// Rows per status of a table.
fn counted(table: &Table) -> BTreeMap<Status, u64> {
    table
        .counts
        .iter()
        .filter_map(|(status, n)| Some((status.parse().ok()?, *n)))
        .collect()
}

/// The offending fields of a job's rows, kept beside its results.
pub(super) fn fields(run: &RunDir, results: &std::path::Path) -> BTreeMap<u64, Vec<String>> {
    std::fs::read(run.fields(results))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Where the run is: the job shown, its phase, its counts, why it stopped, and the state
/// (`data-state` and the line in words).
struct Where {
    kind: Kind,
    /// The run's version when `live` was read.
    version: u64,
    live: Option<Live>,
    phase: Phase,
    counts: BTreeMap<Status, u64>,
    why: Option<String>,
}

impl Where {
    /// From the live job, else the job's summary on disk (the whole results are not read).
    fn of(app: &App, id: &str, run: &RunDir) -> Where {
        let (kind, live, version) = shown(app, id, run);
        if let Some(live) = live {
            return Where {
                kind,
                version,
                phase: live.phase,
                counts: live.counts.clone(),
                why: live.stopped.clone(),
                live: Some(live),
            };
        }
        let (_, summary) = files(run, kind);
        let account = account(&summary);
        let phase = disk_phase(account.as_ref());
        let account = account.unwrap_or_default();
        Where {
            kind,
            version,
            live: None,
            phase,
            counts: account.counts,
            why: account.error.or(account.stopped),
        }
    }

    fn data_state(&self) -> &'static str {
        data_state(self.kind, self.phase, &self.counts)
    }

    fn words(&self, organization: &str) -> String {
        match &self.live {
            Some(live) => live_state(live, organization),
            None => finished_state(self.kind, self.phase, self.why.as_deref(), &self.counts, organization),
        }
    }

    fn active(&self) -> bool {
        self.live.as_ref().is_some_and(Live::active)
    }
}

/// What a run offers once its import has results: Continue the rest, Send the rows fixed
/// since, Undo what it created.
#[derive(Debug, Default, Clone, Copy)]
struct Offers {
    resume: bool,
    send_fixes: bool,
    undo: bool,
}

/// The offers of a run whose import was sent, from where it is (`at`).
fn offers(run: &RunDir, meta: &Meta, at: &Where) -> Offers {
    if at.active() || !run.results().exists() {
        return Offers::default();
    }
    let undone = run.undo().exists();
    // The import's own account, whichever job is shown.
    let (phase, counts) = match at.kind {
        Kind::Send => (at.phase, at.counts.clone()),
        _ => {
            let account = account(&run.summary());
            (disk_phase(account.as_ref()), account.unwrap_or_default().counts)
        }
    };
    let count = |status: Status| counts.get(&status).copied().unwrap_or(0);
    let state = data_state(Kind::Send, phase, &counts);
    let unfinished = matches!(state, "stopped" | "failed") || count(Status::Failed) > 0;
    let person = count(Status::Invalid) + count(Status::Conflict);
    // An undo that finished every row took everything back; one refused or stopped can be asked again.
    let undo_done = undone && at.kind == Kind::Undo && at.phase == Phase::Done;
    Offers {
        resume: !undone && unfinished,
        send_fixes: !undone && !unfinished && person > 0,
        undo: !undo_done && (count(Status::Created) > 0 || !meta.segments.is_empty() || unfinished),
    }
}

/// The whole run page.
pub(super) fn run_page(app: &Arc<App>, id: &str, run: &RunDir, meta: &Meta, error: Option<String>) -> RunPage {
    let organization = app.organization();
    let at = Where::of(app, id, run);
    let (kind, active) = (at.kind, at.active());
    let (results, _) = files(run, kind);
    // While a job runs, its own file is being written: show the file it started from.
    let base = match (kind, active) {
        (Kind::Preview, _) => run.preview(),
        (Kind::Send, true) if !run.results().exists() => run.preview(),
        (Kind::Undo, true) => run.results(),
        (_, true) => run.file(meta.segments.last().map_or("results.csv", String::as_str)),
        (_, false) => results.clone(),
    };
    let table = table::results(&base, &meta.map).unwrap_or_default();
    // A send that plans or asks has no rows of its own yet: the counts of the file it shows.
    let planning = kind != Kind::Preview && matches!(at.phase, Phase::Checking | Phase::Asking);
    let counts = match (&at.live, at.counts.is_empty() || planning) {
        (Some(_), false) | (None, false) => at.counts.clone(),
        (_, true) if at.live.is_none() || planning => counted(&table),
        _ => at.counts.clone(),
    };
    let sent = run.results().exists();
    let offers = offers(run, meta, &at);
    let fix_after_send = offers.send_fixes || offers.resume;
    let columns = (!sent || fix_after_send)
        .then(|| app.columns(id, run, meta).ok())
        .flatten();
    let mut offending: BTreeMap<u64, Vec<String>> = fields(run, &base);
    // Only the rows shown are copied from the job's (its results file holds them all).
    let shown = || table.rows.iter().map(|row| row.row);
    if active && kind == Kind::Preview {
        offending.extend(app.hub.rows(id, shown()).into_values().map(|r| (r.row, r.fields)));
    }
    let live_rows = match kind {
        Kind::Send | Kind::Undo if active && !planning => Some(app.hub.rows(id, shown())),
        _ => None,
    };
    let edits = (sent && kind == Kind::Send && !active).then_some(meta.edits.as_slice());
    let rows = marked_rows(&table.rows, live_rows.as_ref(), &offending, columns.as_deref(), edits);
    let count = |status: Status| counts.get(&status).copied().unwrap_or(0);
    let preview_ready = kind == Kind::Preview && at.phase == Phase::Done && !sent;
    let person = count(Status::Invalid) + count(Status::Conflict) + count(Status::Failed);
    RunPage {
        id: id.to_string(),
        file: meta.shown().to_string(),
        version: at.version,
        state: at.words(&organization),
        data_state: at.data_state(),
        live: active,
        error,
        columns: (!sent).then_some(columns.as_ref()).flatten().map(|c| (**c).clone()),
        counts: counts.iter().map(|(s, n)| (s.as_str().to_string(), *n)).collect(),
        timing: preview_ready
            .then(|| timing(count(Status::WouldCreate), &app.invite_rates, SystemTime::now()))
            .flatten(),
        can_send: (preview_ready && !table.rows.is_empty()) || offers.send_fixes,
        confirm: at.live.as_ref().and_then(|live| live.question.clone()),
        can_stop: active && at.phase != Phase::Asking,
        can_continue: offers.resume,
        can_undo: offers.undo,
        downloads: downloads(id, run, meta),
        needs_person: needs_person(kind, active, person),
        caption: caption(kind, active).to_string(),
        header: table.header.clone(),
        rows,
        more: table.more,
        fixable: (kind == Kind::Preview && !active && !sent) || (kind == Kind::Send && fix_after_send),
    }
}

/// The rows of a finished import that need a person: how many, and what to do about them.
fn needs_person(kind: Kind, active: bool, person: u64) -> Option<(u64, String)> {
    (kind == Kind::Send && !active && person > 0).then(|| {
        (
            person,
            "They are marked red below with the reason. Fix the marked cells here and choose Send: only those rows are sent, and no guest is made twice."
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
    edits: Option<&[super::runs::Edit]>,
) -> Vec<(TableRow, Vec<(String, usize)>)> {
    rows.iter()
        .map(|row| {
            let mut row = row.clone();
            row.message = row_message(&row.message);
            // After a send, a cell fixed since shows as fixed (the results hold the sent value).
            for edit in edits.unwrap_or_default().iter().filter(|e| e.row == row.row) {
                if let Some(cell) = row.cells.get_mut(edit.column) {
                    cell.clone_from(&edit.value);
                }
            }
            if let Some(live) = live {
                match live.get(&row.row) {
                    Some(update) => {
                        row.status = update.status.as_str().to_string();
                        row.message = row_message(&update.message);
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

/// The runs list's state of a run, from its live job or its summary (not its results).
pub(super) fn run_line(app: &Arc<App>, run: &RunDir, meta: &Meta) -> super::page::RunLine {
    let at = Where::of(app, &meta.id, run);
    let organization = meta.organization.clone().unwrap_or_else(|| app.organization());
    let deletable = !at.active();
    let offers = offers(run, meta, &at);
    let open = match (offers.resume, offers.send_fixes, offers.undo) {
        (true, _, true) => "Open to continue or undo it",
        (true, _, false) => "Open to continue it",
        (false, true, _) => "Open to fix and send the rest",
        (false, false, true) => "Open to undo it",
        (false, false, false) => "Open",
    };
    super::page::RunLine {
        id: meta.id.clone(),
        file: meta.shown().to_string(),
        uploaded: meta.uploaded.clone(),
        state: at.words(&organization),
        data_state: at.data_state(),
        counts: at.counts.iter().map(|(s, n)| (s.as_str().to_string(), *n)).collect(),
        results: run.results().exists(),
        workbook: run.results_xlsx().exists(),
        deletable,
        open: open.to_string(),
        can_continue: offers.resume,
    }
}

/// The JSON a run's event stream sends: its version, state (`data_state` and the line in
/// words), counts with each status's tone (the engine's, as the page colours it), and the row
/// changed.
pub(super) fn note_json(app: &Arc<App>, id: &str, version: u64, row: Option<&RowUpdate>) -> String {
    let live = app.hub.live(id);
    let state = live.as_ref().map(|live| live_state(live, &app.organization()));
    let data_state = live
        .as_ref()
        .map(|live| data_state(live.kind, live.phase, &live.counts));
    let counts: Option<Vec<serde_json::Value>> = live.as_ref().map(|live| {
        live.counts
            .iter()
            .map(|(status, n)| serde_json::json!({"status": status.as_str(), "tone": tone(status.as_str()), "n": n}))
            .collect()
    });
    let row = row.map(|row| {
        serde_json::json!({
            "row": row.row,
            "status": row.status.as_str(),
            "tone": tone(row.status.as_str()),
            "message": row_message(&row.message),
            "fields": row.fields,
        })
    });
    serde_json::json!({
        "version": version,
        "state": state,
        "data_state": data_state,
        "counts": counts,
        "row": row,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_a_test_reads_follows_the_job() {
        let none = BTreeMap::new();
        let later: BTreeMap<Status, u64> = [(Status::Created, 30), (Status::Deferred, 5)].into();
        assert_eq!(data_state(Kind::Preview, Phase::Checking, &none), "checking");
        assert_eq!(data_state(Kind::Preview, Phase::Done, &none), "ready");
        assert_eq!(data_state(Kind::Send, Phase::Checking, &none), "checking");
        assert_eq!(data_state(Kind::Send, Phase::Asking, &none), "ready");
        assert_eq!(data_state(Kind::Send, Phase::Running, &none), "running");
        assert_eq!(data_state(Kind::Send, Phase::Stopping, &none), "running");
        assert_eq!(data_state(Kind::Send, Phase::Done, &none), "done");
        assert_eq!(data_state(Kind::Send, Phase::Done, &later), "stopped");
        assert_eq!(data_state(Kind::Send, Phase::Stopped, &none), "stopped");
        assert_eq!(data_state(Kind::Undo, Phase::Failed, &none), "failed");
        // The server stopped in a job: no account on disk.
        assert_eq!(disk_phase(None), Phase::Stopped);
    }
}
