//! The page's routes (TEAM.md "The page's routes"; the browser and security tests rely on
//! them): the runs list and upload, a run's page, its actions (mapping, fix, send, confirm,
//! stop, undo) and its downloads. Every route is behind `security::guard`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, State};
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

fn html(status: StatusCode, title: &str, organization: Option<&str>, body: &str) -> Response {
    (status, Html(page::frame(title, organization, body))).into_response()
}

fn message(status: StatusCode, text: &str) -> Response {
    let body = format!(
        "<p class=\"error\" role=\"alert\">{}</p><p><a href=\"/\">Back to the runs</a></p>",
        page::esc(text)
    );
    html(status, "Problem", None, &body)
}

fn to_run(id: &str) -> Response {
    Redirect::to(&format!("/runs/{id}")).into_response()
}

fn home_page(app: &Arc<App>, status: StatusCode, token_error: Option<&str>) -> Response {
    let reached = app.reached();
    let mut body = String::new();
    match (&reached, &app.ask) {
        (None, Some(ask)) => body.push_str(&page::token_form(ask.org.is_none(), token_error)),
        _ => body.push_str(&page::upload_form()),
    }
    let lines: Vec<page::RunLine> = app
        .runs
        .list()
        .iter()
        .map(|(run, meta)| view::run_line(app, run, meta))
        .collect();
    body.push_str(&page::runs_list(&lines));
    let organization = reached.map(|r| r.organization);
    html(status, "Import guests", organization.as_deref(), &body)
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
async fn token(State(app): State<Arc<App>>, Form(form): Form<TokenForm>) -> Response {
    let Some(ask) = app.ask.clone() else {
        return Redirect::to("/").into_response();
    };
    let org = match ask.org.clone().or(form.org.map(|o| o.trim().to_string())) {
        Some(org) => org,
        None => return home_page(&app, StatusCode::BAD_REQUEST, Some("give the organization id")),
    };
    let token = form.token.trim().trim_start_matches("Bearer ").trim().to_string();
    let credentials = crate::api::Credentials::Token(crate::secret::Secret::new(&token));
    let api = match crate::config::ApiConfig::new(ask.transport.clone(), &ask.base_url, &org, credentials) {
        Ok(api) => api,
        Err(error) => return home_page(&app, StatusCode::BAD_REQUEST, Some(&error.to_string())),
    };
    let checked = match crate::api::Client::new(&api) {
        Ok(client) => client.organizations().await.map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match checked {
        Ok(organizations) => {
            let Some((_, name)) = organizations.iter().find(|(id, _)| id.eq_ignore_ascii_case(&api.org)) else {
                let why = format!("the token works, but its user is not in organization {}", api.org);
                return home_page(&app, StatusCode::BAD_REQUEST, Some(&why));
            };
            let organization = crate::api::organization_label(Some(name), &api.org);
            *app.reach.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Reached { api, organization });
            Redirect::to("/").into_response()
        }
        Err(why) => home_page(
            &app,
            StatusCode::BAD_REQUEST,
            Some(&format!("the token was not accepted: {why}")),
        ),
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
        return message(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot keep the run: {e}"));
    }
    match actions::preview(&app, &id, &run, &meta) {
        Ok(()) => to_run(&id),
        Err(why) => message(StatusCode::CONFLICT, &why),
    }
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
    let page = view::run_page(app, id, run, meta, error);
    let organization = meta.organization.clone().unwrap_or_else(|| app.organization());
    html(status, meta.shown(), Some(&organization), &page::run_page(&page))
}

async fn run_page(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match find(&app, &id) {
        Ok((run, meta)) => show(&app, &id, &run, &meta, StatusCode::OK, None),
        Err(response) => *response,
    }
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
/// field or `ignore`); those that differ from the detected mapping become `--map`s.
async fn mapping(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (run, mut meta) = match find(&app, &id) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    if let Err(why) = changeable(&app, &id, &run) {
        return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why));
    }
    // The run's columns as the page read them (once per mapping): what was detected is the
    // same whatever the mapping.
    let (names, detected) = match app.columns(&id, &run, &meta) {
        Ok(columns) => (columns.names.clone(), columns.detected.clone()),
        Err(_) => Default::default(),
    };
    meta.map = names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let chosen = form.get(&format!("c{i}"))?;
            let was = detected.get(i).copied().flatten().unwrap_or("ignore");
            (chosen != was).then(|| (name.clone(), chosen.clone()))
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
    corrected(run, meta);
    match actions::preview(app, id, run, meta) {
        Ok(()) => to_run(id),
        Err(why) => show(app, id, run, meta, StatusCode::CONFLICT, Some(why)),
    }
}

/// The corrected copy: the upload with the page's edits.
fn corrected(run: &RunDir, meta: &Meta) {
    if !meta.edits.is_empty() {
        let edits = meta.cell_edits();
        if let Err(why) = table::write_corrected(&run.upload(meta), &meta.map, &edits, &run.corrected()) {
            tracing::warn!("cannot write the corrected copy: {why}");
        }
    }
}

#[derive(Deserialize)]
struct FixForm {
    row: u64,
    field: String,
    value: String,
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
    let ready = if sent {
        match app.hub.live(&id).is_some_and(|live| live.active()) {
            true => Err("a job of this run is going: wait for it to end".to_string()),
            false => Ok(()),
        }
    } else {
        changeable(&app, &id, &run)
    };
    if let Err(why) = ready {
        return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why));
    }
    let columns = match app.columns(&id, &run, &meta) {
        Ok(columns) => columns,
        Err(why) => return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why)),
    };
    let source = if sent { run.results() } else { run.preview() };
    let table = table::results(&source, &meta.map).unwrap_or_default();
    let found = table.rows.iter().find(|r| r.row == form.row);
    let needs_a_person = found
        .and_then(|r| r.status.parse::<crate::engine::Status>().ok())
        .is_some_and(crate::engine::Status::needs_a_person);
    if sent && !needs_a_person {
        let why = format!(
            "row {} was sent already: only rows that still need a person can change",
            form.row
        );
        return show(&app, &id, &run, &meta, StatusCode::CONFLICT, Some(why));
    }
    let cells = found.map(|r| r.cells.clone()).unwrap_or_default();
    let Some(column) = columns.column_of(&form.field, &cells) else {
        let why = format!("row {} has no {} cell to fix", form.row, form.field);
        return show(&app, &id, &run, &meta, StatusCode::BAD_REQUEST, Some(why));
    };
    meta.edit(Edit {
        row: form.row,
        column,
        field: form.field,
        value: form.value,
    });
    if !sent {
        return rerun(&app, &id, &run, &meta);
    }
    if let Err(e) = run.save(&meta) {
        let why = format!("cannot save: {e}");
        return show(&app, &id, &run, &meta, StatusCode::INTERNAL_SERVER_ERROR, Some(why));
    }
    corrected(&run, &meta);
    to_run(&id)
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
            "this run is going: stop it, or wait for it to end, before you delete it",
        );
    }
    let body = page::delete_question(&id, meta.shown(), &meta.uploaded);
    html(StatusCode::OK, "Delete a run", None, &body)
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
        Err(super::retention::Refused::Missing) => {
            message(StatusCode::NOT_FOUND, "no such run: it was deleted already")
        }
        Err(super::retention::Refused::Busy) => message(
            StatusCode::CONFLICT,
            "this run is going: stop it, or wait for it to end, before you delete it",
        ),
        Err(super::retention::Refused::Io(e)) => message(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("could not delete the run's files: {e}"),
        ),
    }
}

/// The run's files: the engine's results as it wrote them, the corrected copy.
async fn download(State(app): State<Arc<App>>, Path((id, file)): Path<(String, String)>) -> Response {
    let (run, _) = match find(&app, &id) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let (path, kind) = match file.as_str() {
        "results.csv" => (run.results(), "text/csv; charset=utf-8"),
        "results.xlsx" => (
            run.results_xlsx(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "corrected.csv" => (run.corrected(), "text/csv; charset=utf-8"),
        "preview.csv" => (run.preview(), "text/csv; charset=utf-8"),
        "undo.csv" => (run.undo(), "text/csv; charset=utf-8"),
        _ => return message(StatusCode::NOT_FOUND, "no such file"),
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, kind.to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => message(StatusCode::NOT_FOUND, "this run has no such file yet"),
    }
}
