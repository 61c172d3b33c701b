//! The operator console: static files from `console/` at the workspace root,
//! embedded at build time (see `build.rs`), served with a strict
//! Content-Security-Policy so no inline script or style can run. Every
//! console URL (`/`, `/enroll`, `/o/{orgId}/…`) answers the same HTML shell;
//! the console's own router picks the screen. It holds no product logic:
//! the console calls the JSON API like any integrator.

use std::sync::Arc;

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use latchkey_core::Latchkey;
use tower_http::set_header::SetResponseHeaderLayer;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

pub fn routes() -> Router<Arc<Latchkey>> {
    Router::new()
        .route("/", get(shell))
        .route("/enroll", get(shell))
        .route("/o/{orgId}", get(shell))
        .route("/o/{orgId}/{*screen}", get(shell))
        .route("/assets/{*path}", get(asset))
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        // Enrolment URLs carry a secret token: never leak it in a Referer.
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

/// The HTML shell. Never cached: it names the scripts of this build.
async fn shell() -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        embedded::INDEX_HTML,
    )
        .into_response()
}

/// A script, stylesheet or image. Revalidated on every use (`no-cache` with
/// an ETag), so an upgraded server never runs stale console code.
async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, content_type, etag, bytes)) = embedded::ASSETS.iter().find(|(p, ..)| *p == path)
    else {
        return crate::error::not_found().await.into_response();
    };
    let cache = [(CACHE_CONTROL, "no-cache"), (ETAG, *etag)];
    let fresh = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == *etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(CONTENT_TYPE, *content_type)], *bytes).into_response()
}
