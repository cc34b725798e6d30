//! `GET /runs/{id}/events`: a run's live updates as Server-Sent Events. The first message is
//! the run's state as it is now (so a page rendered a moment ago learns of a job that ended
//! since, and reloads); then one message per change: a finished row with the counts and the
//! state line, or a new version (a job started or ended), on which the page reloads.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::broadcast::error::RecvError;

use super::app::App;
use super::view::note_json;

/// The run's event stream.
pub(super) async fn events(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    if app.runs.get(&id).is_none() {
        return (StatusCode::NOT_FOUND, "no such run").into_response();
    }
    // Subscribed before the first message is made: no change falls between the two.
    let notes = app.hub.subscribe();
    let first = note_json(&app, &id, app.hub.version(&id), None);
    let first = futures::stream::once(async move { Ok::<Event, Infallible>(Event::default().data(first)) });
    let rest = futures::stream::unfold((notes, app, id), |(mut notes, app, id)| async move {
        loop {
            match notes.recv().await {
                Ok(note) if note.run == id => {
                    let json = note_json(&app, &id, note.version, note.row.as_ref());
                    return Some((Ok(Event::default().data(json)), (notes, app, id)));
                }
                Ok(_) => continue,
                // Too far behind to say row by row: say how things are now.
                Err(RecvError::Lagged(_)) => {
                    let json = note_json(&app, &id, app.hub.version(&id), None);
                    return Some((Ok(Event::default().data(json)), (notes, app, id)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(first.chain(rest))
        .keep_alive(KeepAlive::default())
        .into_response()
}
