//! Sessions seen from the API: signing out ends the caller's session server-side.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use latchkey_core::Latchkey;

use crate::error::ApiResult;
use crate::extract::Caller;

pub async fn logout(State(core): State<Arc<Latchkey>>, Caller(p): Caller) -> ApiResult<StatusCode> {
    core.logout(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}
