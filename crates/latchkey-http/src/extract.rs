//! Extractors whose rejections are our JSON errors, never axum's plain text:
//! JSON bodies (`invalid_json`, `unsupported_media_type`, `payload_too_large`),
//! path and query parameters (`invalid_request`), the organisation in the
//! path (`org_not_found`), and the caller's session (`Caller`). They only
//! parse and authenticate; deciding what a caller may do is the core's job.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use latchkey_core::ids::OrgId;
use latchkey_core::model::Page;
use latchkey_core::{ErrorCode, Latchkey, Principal};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};

/// The largest request body any route accepts.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON request body; a missing or foreign content type, a body over the
/// limit, and syntax or shape errors are all reported as our errors.
pub struct ApiJson<T>(pub T);

/// Like [`ApiJson`], but an empty body counts as `T::default()` (`{}`).
pub struct JsonOrEmpty<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        require_json(req.headers())?;
        let body = read_body(req, state).await?;
        parse_json(&body).map(ApiJson)
    }
}

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for JsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let has_type = req.headers().contains_key(CONTENT_TYPE);
        if has_type {
            require_json(req.headers())?;
        }
        let body = read_body(req, state).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonOrEmpty(T::default()));
        }
        if !has_type {
            require_json(&HeaderMap::new())?;
        }
        parse_json(&body).map(JsonOrEmpty)
    }
}

fn require_json(headers: &HeaderMap) -> ApiResult<()> {
    let mime = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json =
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the request body as JSON with Content-Type: application/json",
        ))
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> ApiResult<Bytes> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the request body is larger than {BODY_LIMIT} bytes"),
            )
        } else {
            ApiError::new(ErrorCode::InvalidRequest, "could not read the request body")
        }
    })
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("invalid JSON body: {e}")))
}

/// Path parameters; a malformed one is `invalid_request`.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| ApiPath(t))
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))
    }
}

/// Query parameters; a malformed one is `invalid_request`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| ApiQuery(t))
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))
    }
}

/// The `{orgId}` path parameter; anything that is not an org id is `org_not_found`.
pub struct OrgPath(pub OrgId);

impl<S: Send + Sync> FromRequestParts<S> for OrgPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let ApiPath(params) =
            ApiPath::<HashMap<String, String>>::from_request_parts(parts, state).await?;
        let raw = params.get("orgId").map(String::as_str).unwrap_or_default();
        Ok(OrgPath(OrgId::parse(raw)?))
    }
}

/// The signed-in caller of an org route, from `Authorization: Bearer <session token>`.
pub struct Caller(pub Principal);

impl FromRequestParts<Arc<Latchkey>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, core: &Arc<Latchkey>) -> ApiResult<Self> {
        let OrgPath(org) = OrgPath::from_request_parts(parts, core).await?;
        let token = bearer_token(&parts.headers)?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "sign in first: send Authorization: Bearer <session token>",
            )
        })?;
        auth(core, &org, token).await.map(Caller)
    }
}

/// The bearer token, if the request carries one; another scheme is `invalid_token`.
pub fn bearer_token(headers: &HeaderMap) -> ApiResult<Option<&str>> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default().trim();
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::new(
            ErrorCode::InvalidToken,
            "the Authorization header must be: Bearer <session token>",
        )),
    }
}

/// Establishes the caller from a session token for `org`.
pub async fn auth(core: &Latchkey, org: &OrgId, token: &str) -> ApiResult<Principal> {
    Ok(core.authenticate(org, token).await?)
}

pub fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `?page=&per_page=`: 1-based page (default 1), page size 1 to 100 (default 20).
#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    page: Option<String>,
    per_page: Option<String>,
}

impl PageParams {
    pub const DEFAULT_PER_PAGE: u32 = 20;

    pub fn page(&self) -> ApiResult<Page> {
        let page = parse_bounded("page", self.page.as_deref(), 1, 1, u32::MAX)?;
        let per_page = parse_bounded(
            "per_page",
            self.per_page.as_deref(),
            Self::DEFAULT_PER_PAGE,
            1,
            Page::MAX_PER_PAGE,
        )?;
        Ok(Page { page, per_page })
    }
}

fn parse_bounded(name: &str, raw: Option<&str>, default: u32, lo: u32, hi: u32) -> ApiResult<u32> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.trim().parse::<u32>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("{name} must be a whole number from {lo} to {hi}"),
        )),
    }
}
