//! The OpenAPI 3.1 document, written by hand in `openapi.json` next to this
//! crate's sources and embedded at build time, so what is served is exactly
//! what was reviewed. Tests check it parses, lists every route and every
//! error code.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// The document as served at `GET /openapi.json`.
pub const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use latchkey_core::ErrorCode;

    #[test]
    fn the_document_lists_every_error_code() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        let listed = &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
            ["code"]["enum"];
        let listed: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
    }
}
