//! The two passkey ceremonies: registration (`register/init`,
//! `register/complete`) and authentication (`challenge`, `verify`). Who may
//! register is decided by the core from what the request carries: an
//! invitation token, a session, or nothing (open sign-up).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use latchkey_core::service::{
    CeremonyStart, ChallengeInput, CredentialView, RegisterAuth, RegisterInit, TokenGrant,
    TokenType,
};
use latchkey_core::webauthn::json::{AuthenticationResponseJson, RegistrationResponseJson};
use latchkey_core::Latchkey;
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{auth, bearer_token, user_agent, ApiJson, JsonOrEmpty, OrgPath};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterInitBody {
    username: Option<String>,
    display_name: Option<String>,
    #[serde(alias = "token")]
    invitation_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterCompleteBody {
    ceremony_id: String,
    credential: RegistrationResponseJson,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyBody {
    ceremony_id: String,
    credential: AuthenticationResponseJson,
    token_type: Option<TokenType>,
}

pub async fn register_init(
    State(core): State<Arc<Latchkey>>,
    OrgPath(org): OrgPath,
    headers: HeaderMap,
    JsonOrEmpty(body): JsonOrEmpty<RegisterInitBody>,
) -> ApiResult<Json<CeremonyStart>> {
    // An invitation wins; otherwise a session adds a passkey; otherwise open sign-up.
    let who = match body.invitation_token {
        Some(token) => RegisterAuth::Invitation(token),
        None => match bearer_token(&headers)? {
            Some(token) => RegisterAuth::Session(auth(&core, &org, token).await?),
            None => RegisterAuth::Anonymous,
        },
    };
    let input = RegisterInit {
        username: body.username,
        display_name: body.display_name,
    };
    Ok(Json(core.register_init(&org, who, input).await?))
}

pub async fn register_complete(
    State(core): State<Arc<Latchkey>>,
    OrgPath(org): OrgPath,
    ApiJson(body): ApiJson<RegisterCompleteBody>,
) -> ApiResult<(StatusCode, Json<CredentialView>)> {
    let view = core
        .register_complete(&org, &body.ceremony_id, &body.credential, body.name)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn challenge(
    State(core): State<Arc<Latchkey>>,
    OrgPath(org): OrgPath,
    JsonOrEmpty(input): JsonOrEmpty<ChallengeInput>,
) -> ApiResult<Json<CeremonyStart>> {
    Ok(Json(core.challenge(&org, input).await?))
}

pub async fn verify(
    State(core): State<Arc<Latchkey>>,
    OrgPath(org): OrgPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<VerifyBody>,
) -> ApiResult<Json<TokenGrant>> {
    let token_type = body.token_type.unwrap_or_default();
    let grant = core
        .verify(
            &org,
            &body.ceremony_id,
            &body.credential,
            token_type,
            user_agent(&headers),
        )
        .await?;
    Ok(Json(grant))
}
