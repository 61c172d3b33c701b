//! Operational and discovery routes: the token keys (`/.well-known/jwks.json`),
//! liveness (`/healthz`: the process answers) and readiness (`/readyz`: the
//! database answers too, so a load balancer stops sending traffic to a node
//! that lost it).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use latchkey_core::{ErrorCode, Latchkey};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};

pub async fn jwks(State(core): State<Arc<Latchkey>>) -> Json<Value> {
    Json(core.jwks())
}

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(core): State<Arc<Latchkey>>) -> ApiResult<Json<Value>> {
    let store = core.store();
    store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            "the database is not reachable",
        )
    })?;
    Ok(Json(
        json!({"status": "ready", "database": store.backend()}),
    ))
}
