//! What a run's page says, put together from its folder (what the engine left there) and its
//! live job: which job is shown, the state line, the counts, the table with its offending
//! cells, the buttons that apply, the confirmation's wording and the invite pace's timing.
//! Decides nothing the engine decides: it reads the results and the summaries.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::app::App;
use super::jobs::{Kind, LIVE_ROWS, Live, Phase, RowUpdate};
use super::page::{Download, Look, RunPage};
use super::runs::{Meta, RunDir};
use super::table::{self, Columns, Table, TableRow};
use super::words::plain;
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

/// The state line of a finished job, in words (the counts are shown below it, by status).
fn finished_state(
    kind: Kind,
    phase: Phase,
    why: Option<&str>,
    counts: &BTreeMap<Status, u64>,
    organization: &str,
) -> String {
    let count = |status: Status| counts.get(&status).copied().unwrap_or(0);
    let why = why.map(plain);
    let later = count(Status::Deferred);
    match (phase, kind) {
        (Phase::Failed, _) => format!(
            "Could not finish: {}.",
            why.as_deref().unwrap_or("the job ended with an error")
        ),
        (Phase::Stopped, Kind::Preview) => {
            "The check stopped before the end: choose “Check with these columns” to check again.".to_string()
        }
        (Phase::Stopped, Kind::Undo) => format!(
            "The undo stopped before the end ({}): Undo again takes back the rest.",
            why.as_deref().unwrap_or("the server stopped while it was going")
        ),
        (Phase::Stopped, _) => format!(
            "Stopped before the end ({}): Continue sends the rest of this import.",
            why.as_deref().unwrap_or("the server stopped while it was going")
        ),
        (_, Kind::Preview) if count(Status::WouldCreate) + count(Status::WouldUpdate) == 0 => {
            nothing_to_send(organization, count(Status::Invalid) + count(Status::Conflict))
        }
        (_, Kind::Preview) => {
            format!("Checked against {organization}. Nothing has been sent yet: look over the rows, then Send.")
        }
        (_, Kind::Send) if later > 0 => format!(
            "Imported into {organization} as far as Tallyfy allowed for now: Continue sends the {} left.",
            rows_word(later)
        ),
        (_, Kind::Send) => format!("Imported into {organization}."),
        (_, Kind::Undo) => format!("Undo finished in {organization}."),
    }
}

/// A finished preview in which no row would create or update a guest (so Send is not offered,
/// never "Create 0 guests?"): that there is nothing to send, and why.
fn nothing_to_send(organization: &str, fix: u64) -> String {
    let why = if fix > 0 {
        format!(
            "fix or leave out the {} marked below, and it is checked again",
            if fix == 1 { "row" } else { "rows" }
        )
    } else {
        "every guest in the file is in it already".to_string()
    };
    format!("Checked against {organization}. There is nothing to send: {why}.")
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
pub(super) fn run_page(
    app: &Arc<App>,
    id: &str,
    run: &RunDir,
    meta: &Meta,
    error: Option<String>,
    window: &table::Window,
) -> RunPage {
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
    // Only the page's rows are read into memory; every row is counted.
    let table = table::results(&base, &meta.map, window).unwrap_or_default();
    // A send that plans or asks has no rows of its own yet: the counts of the file it shows.
    let planning = kind != Kind::Preview && matches!(at.phase, Phase::Checking | Phase::Asking);
    let counts = if planning || (at.live.is_none() && at.counts.is_empty()) {
        counted(&table)
    } else {
        at.counts.clone()
    };
    let sent = run.results().exists();
    let offers = offers(run, meta, &at);
    let fix_after_send = offers.send_fixes || offers.resume;
    let read = (!sent || fix_after_send).then(|| app.columns(id, run, meta));
    let problem = read.as_ref().and_then(|c| c.as_ref().err().cloned()).filter(|_| !sent);
    let columns = read.and_then(Result::ok);
    let mut offending: BTreeMap<u64, Vec<String>> = fields(run, &base);
    // Only the rows shown are copied from the job's (its results file holds them all).
    let shown = || table.rows.iter().map(|row| row.row);
    if active && kind == Kind::Preview {
        offending.extend(app.hub.rows(id, shown()).into_values().map(|r| (r.row, r.fields)));
    }
    let live_rows = match kind {
        Kind::Send | Kind::Undo if active && !planning => {
            let kept = app.hub.rows(id, shown());
            // Past the rows the job keeps, what it finished is in the file it writes.
            let past = at.live.as_ref().is_some_and(|live| live.done() > LIVE_ROWS as u64);
            Some(if past {
                with_written(kept, &results, &meta.map, shown())
            } else {
                kept
            })
        }
        _ => None,
    };
    let edits = (sent && kind == Kind::Send && !active).then_some(meta.edits.as_slice());
    let rows = marked_rows(&table.rows, live_rows.as_ref(), &offending, columns.as_deref(), edits);
    let count = |status: Status| counts.get(&status).copied().unwrap_or(0);
    let preview_ready = kind == Kind::Preview && at.phase == Phase::Done && !sent;
    let person = count(Status::Invalid) + count(Status::Conflict) + count(Status::Failed);
    let sends = count(Status::WouldCreate) + count(Status::WouldUpdate) > 0;
    let (state, data_state) = state(&at, problem, columns.as_deref(), &organization);
    RunPage {
        id: id.to_string(),
        file: meta.shown().to_string(),
        version: at.version,
        state,
        data_state,
        live: active,
        error,
        columns: (!sent).then_some(columns.as_ref()).flatten().map(|c| (**c).clone()),
        counts: counts.iter().map(|(s, n)| (s.as_str().to_string(), *n)).collect(),
        timing: preview_ready
            .then(|| timing(count(Status::WouldCreate), &app.invite_rates, SystemTime::now()))
            .flatten(),
        can_send: (preview_ready && sends) || offers.send_fixes,
        confirm: at.live.as_ref().and_then(|live| live.question.clone()),
        can_stop: active && at.phase != Phase::Asking,
        can_continue: offers.resume,
        can_undo: offers.undo,
        downloads: downloads(id, run, meta, columns.as_deref()),
        needs_person: needs_person(kind, active, person),
        caption: caption(kind, active).to_string(),
        header: table.header.clone(),
        rows,
        kept: table.kept,
        at: table.at,
        filter: window.filter.clone(),
        fixable: (kind == Kind::Preview && !active && !sent) || (kind == Kind::Send && fix_after_send),
        skipped: meta.skipped.clone(),
        can_skip: kind == Kind::Preview && !active && !sent,
    }
}

/// The page's state, in words and for `data-state`: a file that cannot be imported, and the
/// column step (nothing is checked until the person says which column is the email), come
/// before the job's own.
fn state(at: &Where, problem: Option<String>, columns: Option<&Columns>, organization: &str) -> (String, &'static str) {
    let idle = at.live.is_none() && at.kind == Kind::Preview;
    match problem {
        Some(problem) if idle => (problem, "failed"),
        _ if idle && columns.is_some_and(|c| c.uncertain.is_some()) => (
            "Choose the columns: which one holds the guests' email addresses?".to_string(),
            "stopped",
        ),
        _ => (at.words(organization), at.data_state()),
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
/// The rows a going job keeps (`kept`), with those of the `wanted` (the page's) it finished
/// past them read from the results file it writes (`written`: whole rows, so a row there is
/// finished); a row in neither is not reached yet.
fn with_written(
    mut kept: BTreeMap<u64, RowUpdate>,
    written: &std::path::Path,
    map: &[(String, String)],
    wanted: impl Iterator<Item = u64>,
) -> BTreeMap<u64, RowUpdate> {
    let wanted: std::collections::BTreeSet<u64> = wanted.filter(|row| !kept.contains_key(row)).collect();
    if wanted.is_empty() {
        return kept;
    }
    let _ = table::each(written, map, |row| {
        let Ok(status) = row.status.parse::<Status>() else {
            return;
        };
        if wanted.contains(&row.row) {
            kept.entry(row.row).or_insert(RowUpdate {
                row: row.row,
                status,
                message: row.message,
                fields: Vec::new(),
            });
        }
    });
    kept
}

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
fn downloads(id: &str, run: &RunDir, meta: &Meta, columns: Option<&Columns>) -> Vec<Download> {
    let link = |label: &str, file: &str, test: Option<&'static str>| Download {
        label: label.to_string(),
        href: format!("/runs/{id}/{file}"),
        test,
    };
    let mut downloads = Vec::new();
    // The corrected copy is written when it is downloaded, in the upload's format: a workbook's
    // is a workbook (the columns say which, and an earlier copy while they are being read).
    let workbook = columns.map_or_else(|| run.corrected_xlsx().exists(), |columns| columns.sheet.is_some());
    if meta.changed() {
        if workbook {
            downloads.push(link(
                "your file, corrected (Excel)",
                "corrected.xlsx",
                Some("corrected"),
            ));
        } else {
            downloads.push(link("your file, corrected (CSV)", "corrected.csv", Some("corrected")));
        }
    }
    if run.results().exists() {
        downloads.push(link("results (CSV)", "results.csv", Some("results")));
        if run.results_xlsx().exists() {
            downloads.push(link("results (Excel)", "results.xlsx", None));
        }
    } else if run.preview().exists() {
        downloads.push(link(
            "the preview (CSV, as the results would be)",
            "preview.csv",
            Some("results"),
        ));
    }
    if run.undo().exists() {
        downloads.push(link("the undo's results (CSV)", "undo.csv", None));
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
/// words), counts by status with how each status looks (the engine's tone, an icon and words:
/// the script has none of its own), and the row changed.
pub(super) fn note_json(app: &Arc<App>, id: &str, version: u64, row: Option<&RowUpdate>) -> String {
    let live = app.hub.live(id);
    let state = live.as_ref().map(|live| live_state(live, &app.organization()));
    let data_state = live
        .as_ref()
        .map(|live| data_state(live.kind, live.phase, &live.counts));
    let counts: Option<BTreeMap<&str, u64>> = live
        .as_ref()
        .map(|live| live.counts.iter().map(|(status, n)| (status.as_str(), *n)).collect());
    let shown = |status: &str| {
        let look = Look::of(status);
        serde_json::json!({ "tone": look.tone, "icon": look.icon, "words": look.words })
    };
    let statuses: serde_json::Map<String, serde_json::Value> = counts
        .iter()
        .flatten()
        .map(|(status, _)| *status)
        .chain(row.map(|r| r.status.as_str()))
        .map(|status| (status.to_string(), shown(status)))
        .collect();
    let row = row.map(|row| {
        serde_json::json!({
            "row": row.row,
            "status": row.status.as_str(),
            "message": plain(&row_message(&row.message)),
            "fields": row.fields,
        })
    });
    serde_json::json!({
        "version": version,
        "state": state,
        "data_state": data_state,
        "counts": counts,
        "statuses": statuses,
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

    #[test]
    fn rows_past_those_a_job_keeps_read_their_status_from_its_results_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.csv");
        let header = crate::engine::report::results::RESULT_COLUMNS.join(",");
        let blanks = ",".repeat(crate::engine::report::results::RESULT_COLUMNS.len() - 3);
        let line = |row: u64, status: &str| format!("{row},{status},m{row}{blanks},r{row}@example.com\n");
        let mut text = format!("{header},email\n");
        for (row, status) in [(2, "created"), (3, "created"), (4, "conflict")] {
            text.push_str(&line(row, status));
        }
        std::fs::write(&path, text).unwrap();
        let kept: BTreeMap<u64, RowUpdate> = [(
            2,
            RowUpdate {
                row: 2,
                status: Status::Failed,
                message: "kept".into(),
                fields: Vec::new(),
            },
        )]
        .into();
        let rows = with_written(kept, &path, &[], 1..=9);
        assert_eq!(rows[&2].message, "kept", "the job's own word first");
        assert_eq!(rows[&3].status, Status::Created);
        assert_eq!((rows[&4].status, rows[&4].message.as_str()), (Status::Conflict, "m4"));
        assert!(!rows.contains_key(&5), "a row not written is not reached yet");
        let none = with_written(BTreeMap::new(), &dir.path().join("missing.csv"), &[], 1..=9);
        assert!(none.is_empty());
        assert!(
            !with_written(BTreeMap::new(), &path, &[], 4..=9).contains_key(&3),
            "only the rows wanted"
        );
    }
}
