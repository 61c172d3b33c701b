//! The few server-rendered pages: `/` (what this is) and `/enroll` (the
//! one-time enrolment page), with their script and stylesheet. All are
//! static files embedded at build time; the pages carry a strict
//! Content-Security-Policy, so no inline script or style is possible.

use std::sync::Arc;

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use axum::http::HeaderValue;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use latchkey_core::Latchkey;
use tower_http::set_header::SetResponseHeaderLayer;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("../../assets/index.html");
const ENROLL_HTML: &str = include_str!("../../assets/enroll.html");
const ENROLL_JS: &str = include_str!("../../assets/enroll.js");
const LATCHKEY_CSS: &str = include_str!("../../assets/latchkey.css");

pub fn routes() -> Router<Arc<Latchkey>> {
    Router::new()
        .route("/", get(index))
        .route("/enroll", get(enroll))
        .route("/assets/enroll.js", get(enroll_js))
        .route("/assets/latchkey.css", get(latchkey_css))
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        // The enrolment URL carries a secret token: never leak it in a Referer.
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

async fn enroll() -> impl IntoResponse {
    ([(CACHE_CONTROL, "no-store")], Html(ENROLL_HTML))
}

async fn enroll_js() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
        ENROLL_JS,
    )
}

async fn latchkey_css() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], LATCHKEY_CSS)
}
