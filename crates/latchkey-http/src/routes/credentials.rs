//! Passkey management: the caller's own passkeys, every passkey of the org
//! (admins), rename and delete. Ownership and role checks live in the core.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use latchkey_core::service::CredentialView;
use latchkey_core::Latchkey;
use serde::Deserialize;

use super::PageBody;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller, PageParams};

#[derive(Debug, Deserialize)]
pub struct CredentialPath {
    #[serde(rename = "orgId")]
    _org_id: String,
    #[serde(rename = "credentialId")]
    credential_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    name: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteParams {
    #[serde(rename = "override", default)]
    admin_override: bool,
}

pub async fn list_mine(
    State(core): State<Arc<Latchkey>>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<PageBody<CredentialView>>> {
    let page = q.page()?;
    Ok(Json(PageBody::new(
        page,
        core.list_my_credentials(&p, page).await?,
    )))
}

pub async fn list_all(
    State(core): State<Arc<Latchkey>>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<PageBody<CredentialView>>> {
    let page = q.page()?;
    Ok(Json(PageBody::new(
        page,
        core.list_all_credentials(&p, page).await?,
    )))
}

pub async fn rename(
    State(core): State<Arc<Latchkey>>,
    Caller(p): Caller,
    ApiPath(path): ApiPath<CredentialPath>,
    ApiJson(body): ApiJson<RenameBody>,
) -> ApiResult<Json<CredentialView>> {
    let view = core
        .rename_credential(&p, &path.credential_id, &body.name)
        .await?;
    Ok(Json(view))
}

pub async fn delete(
    State(core): State<Arc<Latchkey>>,
    Caller(p): Caller,
    ApiPath(path): ApiPath<CredentialPath>,
    ApiQuery(q): ApiQuery<DeleteParams>,
) -> ApiResult<StatusCode> {
    core.delete_credential(&p, &path.credential_id, q.admin_override)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
