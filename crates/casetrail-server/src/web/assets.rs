//! The stylesheet, script and icon of the UI, compiled into the binary. Pages link
//! them with a version computed from their content at compile time, so a browser
//! may keep them for a year and still never runs a stale copy after an upgrade.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// One stylesheet, kept in five source files: the frame, the log, the entry, the
/// settings, a record's history.
const CSS: &str = concat!(
    include_str!("../../static/css/base.css"),
    "\n",
    include_str!("../../static/css/log.css"),
    "\n",
    include_str!("../../static/css/entry.css"),
    "\n",
    include_str!("../../static/css/settings.css"),
    "\n",
    include_str!("../../static/css/history.css"),
);
const JS: &str = include_str!("../../static/app.js");
const ICON: &str = include_str!("../../static/icon.svg");

/// FNV-1a, computed by the compiler: a content version for cache busting.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const CSS_VERSION: u64 = fnv1a(CSS.as_bytes());
const JS_VERSION: u64 = fnv1a(JS.as_bytes());
const ICON_VERSION: u64 = fnv1a(ICON.as_bytes());

/// `/static/app.css?v=…`
pub fn css_href() -> String {
    format!("/static/app.css?v={CSS_VERSION:016x}")
}

/// `/static/app.js?v=…`
pub fn js_href() -> String {
    format!("/static/app.js?v={JS_VERSION:016x}")
}

/// `/static/icon.svg?v=…`
pub fn icon_href() -> String {
    format!("/static/icon.svg?v={ICON_VERSION:016x}")
}

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/static/app.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/static/app.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .route("/static/icon.svg", get(|| async { asset("image/svg+xml", ICON) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        body,
    )
        .into_response()
}
