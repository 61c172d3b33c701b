//! The one place where a domain [`Error`] becomes an HTTP response: its
//! [`ErrorClass`] picks the status, the body is always
//! `{"error": {"code", "message"}}`. Server-side failures (5xx) are logged
//! here, inside the request's span so the log line carries the request id;
//! their message is already generic (the core logs details, never returns
//! them), so nothing internal leaks to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_core::error::ErrorClass;
use latchkey_core::{Error, ErrorCode};
use serde_json::json;

/// A domain error on its way out as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError(Error::new(code, message))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The status for an error: its class decides, except for
/// `method_not_allowed`, which HTTP clients and proxies expect as 405.
pub fn status_of(e: &Error) -> StatusCode {
    if e.code == ErrorCode::MethodNotAllowed {
        return StatusCode::METHOD_NOT_ALLOWED;
    }
    match e.class() {
        ErrorClass::BadRequest => StatusCode::BAD_REQUEST,
        ErrorClass::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorClass::Forbidden => StatusCode::FORBIDDEN,
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::Conflict => StatusCode::CONFLICT,
        ErrorClass::Gone => StatusCode::GONE,
        ErrorClass::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorClass::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        if status.is_server_error() {
            // Runs inside the request span, which carries the request id.
            tracing::error!(code = %self.0.code, message = %self.0.message, "request failed");
        }
        let body = json!({"error": {"code": self.0.code.as_str(), "message": self.0.message}});
        (status, Json(body)).into_response()
    }
}

/// Unknown route.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

/// Known route, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that method",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_maps_to_a_client_or_server_error_status() {
        for code in ErrorCode::ALL {
            let status = status_of(&Error::new(*code, "x"));
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code}"
            );
        }
    }

    #[test]
    fn classes_map_to_their_documented_statuses() {
        let cases = [
            (ErrorCode::InvalidJson, 400),
            (ErrorCode::InvitationInvalid, 401),
            (ErrorCode::Forbidden, 403),
            (ErrorCode::OrgNotFound, 404),
            (ErrorCode::CeremonyAlreadyUsed, 409),
            (ErrorCode::CeremonyExpired, 410),
            (ErrorCode::PayloadTooLarge, 413),
            (ErrorCode::RateLimited, 429),
            (ErrorCode::ServiceUnavailable, 503),
            (ErrorCode::Internal, 500),
            (ErrorCode::MethodNotAllowed, 405),
            (ErrorCode::UnsupportedMediaType, 400),
        ];
        for (code, status) in cases {
            assert_eq!(status_of(&Error::new(code, "x")).as_u16(), status, "{code}");
        }
    }
}
