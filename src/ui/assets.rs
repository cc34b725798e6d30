//! The page's stylesheet and script, compiled into the binary: nothing is fetched from outside
//! it (no CDN, so the page works offline and the policy can say `'self'` only).

use axum::http::header;
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("assets/page.css");
const JS: &str = include_str!("assets/page.js");

/// `GET /assets/page.css`.
pub(super) async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

/// `GET /assets/page.js`.
pub(super) async fn js() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], JS).into_response()
}
