//! The page's routes (TEAM.md "The page's routes"; the browser and security tests rely on
//! them): the runs list and upload, a run's page, its actions (mapping, fix, send, confirm,
//! stop, undo) and its downloads. Every route is behind `security::guard`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::app::{App, Reached};
use super::runs::{Edit, Meta, RunDir, shown_name, upload_name};
use super::security::Guard;
use super::{actions, page, table, view};
use crate::input::MAX_WORKBOOK;

/// Every route, behind the guard.
pub(super) fn router(app: Arc<App>, guard: Arc<Guard>) -> Router {
    // Uploads are capped as files are (a workbook is read whole, at most MAX_WORKBOOK); a little
    // more for the multipart framing.
    let upload_limit = DefaultBodyLimit::max(usize::try_from(MAX_WORKBOOK + 64 * 1024).unwrap_or(usize::MAX));
    Router::new()
        .route("/", get(home))
        .route("/token", post(token))
        .route("/runs", post(upload).layer(upload_limit))
        .route("/runs/{id}", get(run_page))
        .route("/runs/{id}/events", get(super::events::events))
        .route("/runs/{id}/mapping", post(mapping))
        .route("/runs/{id}/fix", post(fix))
        .route("/runs/{id}/skip", post(skip))
        .route("/runs/{id}/send", post(send))
        .route("/runs/{id}/continue", post(resume))
        .route("/runs/{id}/confirm", post(confirm))
        .route("/runs/{id}/cancel", post(cancel))
        .route("/runs/{id}/stop", post(stop))
        .route("/runs/{id}/undo", post(undo))
        .route("/runs/{id}/delete", get(ask_delete).post(delete))
        .route("/runs/{id}/{file}", get(download))
        .route("/assets/page.css", get(super::assets::css))
        .route("/assets/page.js", get(super::assets::js))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .with_state(app)
        .layer(axum::middleware::from_fn_with_state(guard, super::security::guard))
}

/// A page rendered by its template; a template that fails (it cannot, short of a bug) is a
/// plain 500.
fn html(status: StatusCode, page: &impl askama::Template) -> Response {
    match page.render() {
        Ok(text) => (status, Html(text)).into_response(),
        Err(error) => {
            tracing::error!("cannot render the page: {error}");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be made").into_response()
        }
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    let page = page::Problem {
        text: text.to_string(),
        organization: None,
    };
    html(status, &page)
}

fn to_run(id: &str) -> Response {
    Redirect::to(&format!("/runs/{id}")).into_response()
}

/// The first page; with a refused token, why and the organization id that was typed.
fn home_page(app: &Arc<App>, status: StatusCode, refused: Option<(String, Option<String>)>) -> Response {
    let reached = app.reached();
    let (error, org) = refused.unzip();
    let connect = match (&reached, &app.ask) {
        (None, Some(ask)) => Some(page::Connect {
            ask_org: ask.org.is_none(),
            error,
            org: org.flatten().unwrap_or_default(),
        }),
        _ => None,
    };
    let runs = app
        .runs
        .list()
        .iter()
        .map(|(run, meta)| view::run_line(app, run, meta))
        .collect();
    let home = page::Home {
        organization: reached.map(|r| r.organization),
        connect,
        runs,
    };
    html(status, &home)
}

async fn home(State(app): State<Arc<App>>) -> Response {
    home_page(&app, StatusCode::OK, None)
}

#[derive(Deserialize)]
struct TokenForm {
    token: String,
    #[serde(default)]
    org: Option<String>,
}

/// The token the page asked for: checked with `GET me/organizations`, then kept in memory.
/// The form keeps the organization id typed (never the token), and says whether Tallyfy could
/// not be reached or refused the token.
async fn token(State(app): State<Arc<App>>, Form(form): Form<TokenForm>) -> Response {
    let Some(ask) = app.ask.clone() else {
        return Redirect::to("/").into_response();
    };
    let typed = form.org.map(|o| o.trim().to_string()).filter(|o| !o.is_empty());
    let refuse = |why: String| home_page(&app, StatusCode::BAD_REQUEST, Some((why, typed.clone())));
    let Some(org) = ask.org.clone().or(typed.clone()) else {
        return refuse("Give the organization id (Tallyfy: Settings › Organization).".into());
    };
    let token = form.token.trim().trim_start_matches("Bearer ").trim().to_string();
    let credentials = crate::api::Credentials::Token(crate::secret::Secret::new(&token));
    let api = match crate::config::ApiConfig::new(ask.transport.clone(), &ask.base_url, &org, credentials) {
        Ok(api) => api,
        Err(error) => return refuse(super::words::plain(&error.to_string())),
    };
    let checked = match crate::api::Client::new(&api) {
        Ok(client) => client.organizations().await.map_err(|e| refused(&e)),
        Err(error) => Err(super::words::plain(&error.to_string())),
    };
    match checked {
        Ok(organizations) => {
            let Some((_, name)) = organizations.iter().find(|(id, _)| id.eq_ignore_ascii_case(&api.org)) else {
                return refuse(format!(
                    "Tallyfy accepted the token, but its user is not in organization {}: check the organization id.",
                    api.org
                ));
            };
            let organization = crate::api::organization_label(Some(name), &api.org);
            *app.reach.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Reached { api, organization });
            Redirect::to("/").into_response()
        }
        Err(why) => refuse(why),
    }
}

/// Why a token could not be checked, in the page's words: Tallyfy not reached (nothing is
/// wrong with the token), or the token refused.
fn refused(error: &crate::api::ApiError) -> String {
    use crate::api::ApiErrorKind as K;
    match &error.kind {
        K::Unreachable { host, why } => format!(
            "Tallyfy could not be reached at {host} ({why}). Nothing is wrong with the token as far as anyone knows: check the network, then Connect again."
        ),
        K::Transport(why) => format!("The connection to Tallyfy failed ({why}). Check the network, then Connect again."),
        K::Unauthorized(_) => "Tallyfy did not accept this token: it may be mistyped, expired or revoked. Copy it again from Tallyfy (Settings › Integrations › REST API).".into(),
        K::Forbidden(_) => "Tallyfy accepted the token, but its user may not use this organization: check the organization id.".into(),
        _ => format!("The token could not be checked: {}", super::words::plain(&error.to_string())),
    }
}

/// `POST /runs`: the file, kept in a new run's folder, then its preview started.
async fn upload(State(app): State<Arc<App>>, headers: HeaderMap, mut multipart: Multipart) -> Response {
    let too_big = || {
        message(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the file is larger than {} MiB, the most a file may be: save it as CSV and split it",
                MAX_WORKBOOK / (1024 * 1024)
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_WORKBOOK + 64 * 1024) {
        return too_big();
    }
    if app.reached().is_none() {
        return message(
            StatusCode::CONFLICT,
            "connect to Tallyfy first (the token form on the first page)",
        );
    }
    let (id, run) = match app.runs.create() {
        Ok(created) => created,
        Err(e) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot make the run's folder: {e}"),
            );
        }
    };
    let saved = save_upload(&run, &mut multipart).await;
    let (file, name) = match saved {
        Ok(saved) => saved,
        Err(status) => {
            let _ = std::fs::remove_dir_all(run.path());
            return match status {
                StatusCode::PAYLOAD_TOO_LARGE => too_big(),
                status => message(status, "no file came with the upload: choose a spreadsheet"),
            };
        }
    };
    let meta = Meta {
        id: id.clone(),
        file,
        name,
        uploaded: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        ..Meta::default()
    };
    if let Err(e) = run.save(&meta) {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("The upload could not be kept: {}", crate::words::io_words(&e)),
        );
    }
    if !checkable(&app, &id, &run, &meta) {
        return to_run(&id);
    }
    match actions::preview(&app, &id, &run, &meta) {
        Ok(()) => to_run(&id),
        Err(why) => message(StatusCode::CONFLICT, &why),
    }
}

/// Whether the file can be checked as its columns are mapped now: not when it is no
/// spreadsheet, nor while the email column is not certain (the page asks which it is first).
fn checkable(app: &App, id: &str, run: &RunDir, meta: &Meta) -> bool {
    app.columns(id, run, meta)
        .is_ok_and(|columns| columns.uncertain.is_none())
}

/// Streams the `file` field into the run's folder, counting it against the cap: the name it
/// is kept under, and the person's name for it.
async fn save_upload(run: &RunDir, multipart: &mut Multipart) -> Result<(String, String), StatusCode> {
    use tokio::io::AsyncWriteExt;
    let status = |e: axum::extract::multipart::MultipartError| e.status();
    while let Some(mut field) = multipart.next_field().await.map_err(status)? {
        if field.name() != Some("file") {
            continue;
        }
        let given = field.file_name().unwrap_or("upload").to_string();
        let name = upload_name(&given);
        let path = run.path().join(&name);
        let out = super::runs::private_file(&path).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        let mut out = tokio::fs::File::from_std(out);
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(status)? {
            size += chunk.len() as u64;
            if size > MAX_WORKBOOK {
                return Err(StatusCode::PAYLOAD_TOO_LARGE);
            }
            out.write_all(&chunk)
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        }
        out.flush().await.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        return if size == 0 {
            Err(StatusCode::BAD_REQUEST)
        } else {
            Ok((name, shown_name(&given)))
        };
    }
    Err(StatusCode::BAD_REQUEST)
}

/// The run by id, with its `run.json`, or the 404 page.
fn find(app: &App, id: &str) -> Result<(RunDir, Meta), Box<Response>> {
    let run = app
        .runs
        .get(id)
        .ok_or_else(|| Box::new(message(StatusCode::NOT_FOUND, "no such run")))?;
    let meta = run.meta().map_err(|e| {
        Box::new(message(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot read the run: {e}"),
        ))
    })?;
    Ok((run, meta))
}

fn show(app: &Arc<App>, id: &str, run: &RunDir, meta: &Meta, status: StatusCode, error: Option<String>) -> Response {
    let window = table::Window {
        size: page::PAGE_ROWS,
        ..table::Window::default()
    };
    let page = view::run_page(app, id, run, meta, error, &window);
    render_run(app, meta, &page, status)
}

fn render_run(app: &App, meta: &Meta, page: &page::RunPage, status: StatusCode) -> Response {
    let organization = meta.organization.clone().unwrap_or_else(|| app.organization());
    let view = page::RunView {
        organization: Some(organization),
        page,
    };
    html(status, &view)
}

/// Which rows of the table a run's page shows: `?status=invalid&page=2`.
#[derive(Deserialize, Default)]
struct Rows {
    status: Option<String>,
    page: Option<usize>,
}

async fn run_page(State(app): State<Arc<App>>, Path(id): Path<String>, Query(rows): Query<Rows>) -> Response {
    let (run, meta) = match find(&app, &id) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let window = table::Window {
        filter: rows.status.filter(|s| !s.is_empty()),
        at: rows.page.unwrap_or(1).saturating_sub(1),
        size: page::PAGE_ROWS,
    };
    let page = view::run_page(&app, &id, &run, &meta, None, &window);
    render_run(&app, &meta, &page, StatusCode::OK)
}

/// Whether the run may still change before its import: no job going, nothing sent.
fn changeable(app: &App, id: &str, run: &RunDir) -> Result<(), String> {
    if app.hub.active(id) {
        return Err("a job of this run is going: wait for it to end".into());
    }
    if run.results().exists() {
        return Err("this run's import was sent: upload the file again to change it".into());
    }
    Ok(())
}

/// `POST /runs/{id}/mapping`: the columns as the person chose them (`c0`, `c1`, ... each a
/// field or `ignore`; `apply` = `N=field`, a hint's button, changes one more); those that
/// differ from the detected mapping become the run's `--map`s, every column when the header
/// settled nothing (its guess is the person's choice now).
async fn mapping(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(mut form): Form<HashMap<String, String>>,
) -> Response {
    let (run, mut meta) = match find(&app, &id) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    if let Err(why) = changeable(&app, &id, &run) {
        return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why));
    }
    if let Some((column, field)) = form.remove("apply").as_deref().and_then(|a| a.split_once('=')) {
        form.insert(format!("c{column}"), field.to_string());
    }
    // Another sheet has other columns: the mapping starts again from what is detected there.
    // Cells fixed and rows left out are the old sheet's, so the sheet is chosen before them.
    // The sheet is kept as chosen, so the columns stay that sheet's.
    if let Some(sheet) = form.remove("sheet").filter(|sheet| !sheet.is_empty()) {
        let other = app
            .columns(&id, &run, &meta)
            .is_ok_and(|c| c.sheet.as_ref() != Some(&sheet));
        if other && meta.changed() {
            let why = "The sheet cannot change once cells are fixed or rows left out on this one: upload the file again to import another sheet.";
            return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why.into()));
        }
        meta.sheet = Some(sheet);
        if other {
            meta.map.clear();
            return rerun(&app, &id, &run, &meta);
        }
    }
    // The run's columns as the page read them (once per mapping): what was detected is the
    // same whatever the mapping. A header that settles the email column by itself detects
    // one; one that does not detects nothing, and every column is the person's choice.
    let (names, detected) = match app.columns(&id, &run, &meta) {
        Ok(columns) => (columns.names.clone(), columns.detected.clone()),
        Err(why) => return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why)),
    };
    let settled = detected.iter().any(Option::is_some);
    meta.map = names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let chosen = form.get(&format!("c{i}"))?;
            let was = detected.get(i).copied().flatten().unwrap_or("ignore");
            (!settled || chosen != was).then(|| (name.clone(), chosen.clone()))
        })
        .collect();
    rerun(&app, &id, &run, &meta)
}

/// Saves the run and checks it again.
fn rerun(app: &Arc<App>, id: &str, run: &RunDir, meta: &Meta) -> Response {
    if let Err(e) = run.save(meta) {
        return show(
            app,
            id,
            run,
            meta,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(format!("cannot save: {e}")),
        );
    }
    if !checkable(app, id, run, meta) {
        return to_run(id);
    }
    match actions::preview(app, id, run, meta) {
        Ok(()) => to_run(id),
        Err(why) => show(app, id, run, meta, StatusCode::CONFLICT, Some(why)),
    }
}

/// The corrected copy: the upload with the page's fixes and rows left out, in its own format,
/// written when it is downloaded (not at every fix: a workbook is read whole to write it), one
/// file read at a time as the columns are.
fn corrected(app: &App, id: &str, run: &RunDir, meta: &Meta) {
    // The columns are read (and kept) already: they say whether the file is a workbook.
    let sheet = app
        .columns(id, run, meta)
        .ok()
        .and_then(|columns| columns.sheet.clone());
    let _reading = app.reading.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if meta.changed()
        && let Err(why) = super::corrected::write(&run.upload(meta), sheet.as_deref(), meta, run)
    {
        tracing::warn!("cannot write the corrected copy: {why}");
    }
}

#[derive(Deserialize)]
struct FixForm {
    row: u64,
    field: String,
    value: String,
    /// The message's suggestion, applied with its button instead of the typed value.
    #[serde(default)]
    suggested: Option<String>,
}

/// `POST /runs/{id}/fix`: one offending cell fixed, kept as an edit over the file, and the
/// run checked again by the same dry run.
async fn fix(State(app): State<Arc<App>>, Path(id): Path<String>, Form(form): Form<FixForm>) -> Response {
    let (run, mut meta) = match find(&app, &id) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    // After a send, the rows that still need a person stay fixable; Send sends them.
    let sent = run.results().exists();
    if app.hub.active(&id) {
        let why = "a job of this run is going: wait for it to end".to_string();
        return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why));
    }
    let columns = match app.columns(&id, &run, &meta) {
        Ok(columns) => columns,
        Err(why) => return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why)),
    };
    let source = if sent { run.results() } else { run.preview() };
    let found = table::row(&source, &meta.map, form.row);
    let found = found.as_ref();
    let needs_a_person = found.is_some_and(table::TableRow::needs_a_person);
    if sent && !needs_a_person {
        let why = format!(
            "row {} was sent already: only rows that still need a person can change",
            form.row
        );
        return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why));
    }
    let cells = found.map(|r| r.cells.clone()).unwrap_or_default();
    let Some(column) = columns.column_of(&form.field, &cells) else {
        let why = format!(
            "Row {} has no {} cell to fix: change the columns above if it is in another one.",
            form.row,
            table::field_words(&form.field)
        );
        return show(&app, &id, &run, &meta, StatusCode::BAD_REQUEST, Some(why));
    };
    meta.edit(Edit {
        row: form.row,
        column,
        field: form.field,
        value: form.suggested.unwrap_or(form.value),
    });
    if !sent {
        return rerun(&app, &id, &run, &meta);
    }
    if let Err(e) = run.save(&meta) {
        let why = format!("cannot save: {e}");
        return show(&app, &id, &run, &meta, StatusCode::INTERNAL_SERVER_ERROR, Some(why));
    }
    to_run(&id)
}

#[derive(Deserialize)]
struct SkipForm {
    row: u64,
    /// Put the row back instead.
    #[serde(default)]
    back: bool,
}

/// `POST /runs/{id}/skip`: a row left out of the import (what a message's "remove the row"
/// asks, without leaving the page), or put back; the run is checked again.
async fn skip(State(app): State<Arc<App>>, Path(id): Path<String>, Form(form): Form<SkipForm>) -> Response {
    let (run, mut meta) = match find(&app, &id) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    if let Err(why) = changeable(&app, &id, &run) {
        return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why));
    }
    if run.results().exists() {
        let why = "A row can be left out before the import is sent, not after: fix its cells and Send instead.";
        return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why.into()));
    }
    meta.skip(form.row, !form.back);
    rerun(&app, &id, &run, &meta)
}

/// Orders a job of the run (`actions`): on to its page, or the page with why not.
fn act(app: &Arc<App>, id: &str, what: fn(&Arc<App>, &str, &RunDir, &Meta) -> Result<(), String>) -> Response {
    let (run, meta) = match find(app, id) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    match what(app, id, &run, &meta) {
        Ok(()) => to_run(id),
        Err(why) => show(app, id, &run, &meta, StatusCode::CONFLICT, Some(why)),
    }
}

/// `POST /runs/{id}/send`: the import (or the rows fixed since it) planned, and the engine's
/// question asked.
async fn send(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    act(&app, &id, actions::send)
}

/// `POST /runs/{id}/continue`: the rest of a stopped, capped, failed or interrupted import.
async fn resume(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    act(&app, &id, actions::resume)
}

/// `POST /runs/{id}/undo`: the undo planned, and the engine's question asked.
async fn undo(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    act(&app, &id, actions::undo)
}

/// `POST /runs/{id}/confirm`: yes to the engine's question.
async fn confirm(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    answer(&app, &id, true)
}

/// `POST /runs/{id}/cancel`: no to the engine's question.
async fn cancel(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    answer(&app, &id, false)
}

fn answer(app: &Arc<App>, id: &str, yes: bool) -> Response {
    if app.hub.answer(id, yes) {
        return to_run(id);
    }
    act(app, id, |_, _, _, _| Err("nothing waits for a confirmation".into()))
}

/// `POST /runs/{id}/stop`: the CLI's first Ctrl-C, for this run's job.
async fn stop(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    app.hub.stop(&id);
    to_run(&id)
}

/// `GET /runs/{id}/delete`: the question before a run is deleted (the runs list links here).
async fn ask_delete(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let (_, meta) = match find(&app, &id) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    if app.hub.active(&id) {
        return message(
            StatusCode::CONFLICT,
            "This run is going: stop it, or wait for it to end, before you delete it.",
        );
    }
    let question = page::DeleteQuestion {
        id,
        file: meta.shown().to_string(),
        uploaded: meta.uploaded,
        organization: None,
    };
    html(StatusCode::OK, &question)
}

/// `POST /runs/{id}/delete`: the run and its files removed from this computer (what it
/// imported stays in Tallyfy), never while a job of it is going.
async fn delete(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    // As a job's start: no job of the run can start while its folder goes.
    let ordering = app.hub.ordering();
    let busy = || app.hub.active(&id);
    let deleted = super::retention::delete(&app.runs, &id, &busy);
    drop(ordering);
    match deleted {
        Ok(()) => {
            app.columns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&id);
            Redirect::to("/").into_response()
        }
        Err(super::retention::Refused::Missing) => message(
            StatusCode::NOT_FOUND,
            "This run is not here any more: it was deleted already.",
        ),
        Err(super::retention::Refused::Busy) => message(
            StatusCode::CONFLICT,
            "This run is going: stop it, or wait for it to end, before you delete it.",
        ),
        Err(super::retention::Refused::Io(e)) => message(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("The run's files could not all be deleted ({e}). Try again, or remove its folder yourself."),
        ),
    }
}

/// The run's files: the engine's results as it wrote them (the preview is a dry run's), the
/// corrected copy. Each is saved under the upload's name: `messy.results.xlsx`.
async fn download(State(app): State<Arc<App>>, Path((id, file)): Path<(String, String)>) -> Response {
    let (run, meta) = match find(&app, &id) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    const CSV: &str = "text/csv; charset=utf-8";
    let (path, kind) = match file.as_str() {
        "results.csv" => (run.results(), CSV),
        "results.xlsx" => (
            run.results_xlsx(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "corrected.csv" => (run.corrected(), CSV),
        "corrected.xlsx" => (
            run.corrected_xlsx(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "preview.csv" => (run.preview(), CSV),
        "undo.csv" => (run.undo(), CSV),
        _ => return message(StatusCode::NOT_FOUND, "There is no such file."),
    };
    if file.starts_with("corrected.") {
        corrected(&app, &id, &run, &meta);
    }
    let name = saved_name(meta.shown(), &file);
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, kind.to_string()),
                (header::CONTENT_DISPOSITION, disposition(&name)),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => message(StatusCode::NOT_FOUND, "This run has no such file yet."),
    }
}

/// The name a download is saved under: the upload's stem, then what it is (`messy.results.csv`,
/// `messy.preview.csv`).
fn saved_name(upload: &str, file: &str) -> String {
    let stem = std::path::Path::new(upload)
        .file_stem()
        .map_or("guests".into(), |s| s.to_string_lossy().into_owned());
    format!("{stem}.{file}")
}

/// `attachment` with the name, plain where it is plain ASCII and as RFC 6266's `filename*`
/// (UTF-8, percent-encoded) for every name.
fn disposition(name: &str) -> String {
    let plain: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}
