//! Latchkey's HTTP layer: the axum router over the core service. It owns
//! routing, extraction, the mapping of domain errors to HTTP (in
//! [`error`]), the OpenAPI document and the serving of the operator
//! console. It must not hold product rules: handlers extract, authorize,
//! make one core call and map the result. Storage is reached only through
//! the core.

pub mod error;
pub mod extract;
pub mod openapi;
pub mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, Request};
use axum::routing::{get, patch, post};
use axum::Router;
use latchkey_core::Latchkey;
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{Level, Span};

use crate::routes::{console, credentials, orgs, sessions, webauthn, wellknown};

/// The whole HTTP application, state applied, ready to serve.
pub fn router(core: Arc<Latchkey>) -> Router {
    Router::new()
        .merge(api_routes())
        .merge(console::routes())
        .route("/.well-known/jwks.json", get(wellknown::jwks))
        .route("/openapi.json", get(openapi::openapi))
        .route("/healthz", get(wellknown::healthz))
        .route("/readyz", get(wellknown::readyz))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(NewRequestId))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(SetResponseHeaderLayer::if_not_present(
                    X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                // Responses carry tokens and one-time links: no cache may keep them.
                .layer(SetResponseHeaderLayer::if_not_present(
                    CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                )),
        )
        .with_state(core)
}

/// A request id for requests that come without one: `req_` and a random
/// tail drawn without a system call (a UUID v4 cost a `getrandom` per
/// request).
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = format!("req_{}", latchkey_core::random::id_tail());
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The JSON API under `/api/v1/organizations/{orgId}`.
fn api_routes() -> Router<Arc<Latchkey>> {
    const ORG: &str = "/api/v1/organizations/{orgId}";
    let r = |path: &str| format!("{ORG}{path}");
    Router::new()
        .route(&r("/webauthn/register/init"), post(webauthn::register_init))
        .route(
            &r("/webauthn/register/complete"),
            post(webauthn::register_complete),
        )
        .route(&r("/webauthn/challenge"), post(webauthn::challenge))
        .route(&r("/webauthn/verify"), post(webauthn::verify))
        .route(&r("/webauthn/credentials"), get(credentials::list_mine))
        .route(&r("/webauthn/credentials/all"), get(credentials::list_all))
        .route(
            &r("/webauthn/credentials/{credentialId}"),
            patch(credentials::rename).delete(credentials::delete),
        )
        .route(&r("/sessions/logout"), post(sessions::logout))
        .route(ORG, get(orgs::get_org))
        .route(
            &r("/settings"),
            get(orgs::get_settings).put(orgs::put_settings),
        )
        .route(&r("/users"), get(orgs::list_users))
        .route(&r("/users/invitations"), post(orgs::invite))
        .route(
            &r("/users/invitations/inspect"),
            post(orgs::inspect_invitation),
        )
        .route(&r("/users/{userId}"), patch(orgs::set_user_status))
}

/// One span per request, carrying the request id. Only the path is logged:
/// query strings can hold one-time enrolment tokens.
fn request_span<B>(req: &Request<B>) -> Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
}
