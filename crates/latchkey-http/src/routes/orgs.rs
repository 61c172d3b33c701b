//! The organisation: its public view, its settings (admins), its users
//! (admins), invitations and what a one-time link is for. Role checks live in the core.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use latchkey_core::ids::UserId;
use latchkey_core::model::{OrgSettings, Role, UserStatus};
use latchkey_core::service::{CreatedInvitation, InvitationView, NewInvitation, OrgView, UserView};
use latchkey_core::Latchkey;
use serde::Deserialize;

use super::PageBody;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller, OrgPath, PageParams};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteBody {
    username: String,
    display_name: Option<String>,
    role: Option<Role>,
}

/// The token travels in the body, never in a URL that logs or proxies keep.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectInvitationBody {
    token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserStatusBody {
    status: UserStatus,
}

#[derive(Debug, Deserialize)]
pub struct UserPath {
    #[serde(rename = "orgId")]
    _org_id: String,
    #[serde(rename = "userId")]
    user_id: String,
}

pub async fn get_org(
    State(core): State<Arc<Latchkey>>,
    OrgPath(org): OrgPath,
) -> ApiResult<Json<OrgView>> {
    Ok(Json(core.get_org(&org).await?))
}

pub async fn get_settings(
    State(core): State<Arc<Latchkey>>,
    Caller(p): Caller,
) -> ApiResult<Json<OrgSettings>> {
    Ok(Json(core.settings(&p).await?))
}

pub async fn put_settings(
    State(core): State<Arc<Latchkey>>,
    Caller(p): Caller,
    ApiJson(settings): ApiJson<OrgSettings>,
) -> ApiResult<Json<OrgSettings>> {
    Ok(Json(core.update_settings(&p, settings).await?))
}

pub async fn list_users(
    State(core): State<Arc<Latchkey>>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<PageParams>,
) -> ApiResult<Json<PageBody<UserView>>> {
    let page = q.page()?;
    Ok(Json(PageBody::new(page, core.list_users(&p, page).await?)))
}

pub async fn invite(
    State(core): State<Arc<Latchkey>>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<InviteBody>,
) -> ApiResult<(StatusCode, Json<CreatedInvitation>)> {
    let input = NewInvitation {
        username: body.username,
        display_name: body.display_name,
        role: body.role.unwrap_or(Role::Member),
    };
    let created = core.invite_user(&p.org_id, Some(&p), input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Whose link this is and whether it activates passkeys; redeems nothing.
pub async fn inspect_invitation(
    State(core): State<Arc<Latchkey>>,
    OrgPath(org): OrgPath,
    ApiJson(body): ApiJson<InspectInvitationBody>,
) -> ApiResult<Json<InvitationView>> {
    Ok(Json(core.inspect_invitation(&org, &body.token).await?))
}

pub async fn set_user_status(
    State(core): State<Arc<Latchkey>>,
    Caller(p): Caller,
    ApiPath(path): ApiPath<UserPath>,
    ApiJson(body): ApiJson<UserStatusBody>,
) -> ApiResult<Json<UserView>> {
    let user = UserId::parse(&path.user_id)?;
    Ok(Json(core.set_user_status(&p, &user, body.status).await?))
}
